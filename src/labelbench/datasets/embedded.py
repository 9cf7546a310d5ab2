"""Datasets that need no network: scikit-learn's bundled digits and the procedural shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from labelbench.datasets import shapes as S
from labelbench.datasets.splits import train_test_column
from labelbench.datasets.store import Dataset
from labelbench.errors import ConfigError
from labelbench.io import atomic_path, write_json


def _resize_stack(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of an N×h×w(×c) uint8 stack with Pillow (no pixel loops in Python)."""
    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR)) for im in images])


def digits(size: int = 28, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 bundled 8×8 digits, resized to ``size``², with a seeded stratified split."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    raw = (bunch.images * (255.0 / 16.0)).round().astype(np.uint8)
    images = _resize_stack(raw, size)[..., None]
    labels = bunch.target.astype(np.int64)
    split = train_test_column(labels, test_fraction, seed)
    samples = pd.DataFrame({"split": split, "label": labels})
    return Dataset(images=images, samples=samples, classes=[str(d) for d in range(10)])


def _check_classes(classes: list[str]) -> list[int]:
    unknown = [c for c in classes if c not in S.SHAPES]
    if unknown:
        raise ConfigError(f"unknown shape classes {unknown}; expected names from {list(S.SHAPES)}")
    return [S.SHAPES.index(c) for c in classes]


def shapes(
    classes: list[str],
    size: int,
    n_train_per_class: int,
    n_test_per_class: int,
    scale: tuple[float, float] = (0.55, 0.9),
    max_rotation: float = 180.0,
    seed: int = 0,
) -> Dataset:
    """One shape per image, balanced classes; with object masks and keypoints (single-label)."""
    idx = _check_classes(classes)
    rng = np.random.default_rng(seed)
    per_split = {"train": n_train_per_class, "test": n_test_per_class}
    labels = np.concatenate([np.repeat(np.arange(len(idx)), k) for k in per_split.values()])
    split = np.concatenate([np.full(len(idx) * k, name, dtype=object) for name, k in per_split.items()])
    order = rng.permutation(len(labels))
    labels, split = labels[order], split[order]
    images, masks, kps, colours = S.render_single(
        rng, np.asarray(idx)[labels], size, tuple(scale), max_rotation
    )
    samples = pd.DataFrame({"split": split, "label": labels, "colour": np.array(list(S.COLOURS))[colours]})
    samples = pd.concat([samples, _keypoint_columns(kps)], axis=1)
    return Dataset(images=images, samples=samples, classes=list(classes), masks=masks)


def _keypoint_columns(kps: np.ndarray) -> pd.DataFrame:
    cols = {}
    for k in range(kps.shape[1]):
        cols[f"kp{k}_x"] = kps[:, k, 0]
        cols[f"kp{k}_y"] = kps[:, k, 1]
    return pd.DataFrame(cols)


def shapes_landmarks(
    shape: str,
    size: int,
    n_train: int,
    n_test: int,
    empty_fraction: float,
    scale: tuple[float, float] = (0.45, 0.8),
    max_rotation: float = 50.0,
    seed: int = 0,
) -> Dataset:
    """Images of which ``empty_fraction`` hold no object; the rest one ``shape`` with its keypoints.

    ``max_rotation`` stays below 60° so a triangle's vertices keep an unambiguous order.
    """
    (k,) = _check_classes([shape])
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    present = rng.random(n) >= empty_fraction
    images, masks, kps, _ = S.render_single(
        rng, np.full(n, k), size, tuple(scale), max_rotation, present=present
    )
    split = np.array(["train"] * n_train + ["test"] * n_test, dtype=object)
    samples = pd.DataFrame({"split": split, "presence": present.astype(np.float32)})
    samples = pd.concat([samples, _keypoint_columns(kps)], axis=1)
    return Dataset(images=images, samples=samples, classes=[shape], task="landmark", masks=masks)


def shapes_scenes(
    out_dir: str | Path,
    size: int,
    n_train: int,
    n_test: int,
    max_objects: int = 3,
    shape_exponent: float = 1.3,
    colour_exponent: float = 1.0,
    jpeg_quality: int = 92,
    seed: int = 0,
) -> dict:
    """Multi-object scenes tagged with shape and colour names, written in NUS-WIDE's layout.

    ``out_dir`` receives one JPEG per scene and ``small_train.json`` / ``small_test.json`` with
    ``{"samples": [{"image_name", "image_labels", "objects"}], "labels": [...]}``; ``objects`` (each shape,
    colour and box) is an addition the NUS-WIDE loader ignores and the localisation table uses. Shape and
    colour frequencies fall off as a power of their rank, so some tags are common and others rare.
    Returns the sidecar dict.
    """
    rng = np.random.default_rng(seed)
    shape_probs = S.zipf_probs(len(S.SHAPES), shape_exponent)
    colour_probs = S.zipf_probs(len(S.COLOURS), colour_exponent)
    n = n_train + n_test
    images, objects = S.render_scenes(rng, n, size, shape_probs, colour_probs, max_objects)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(S.SHAPES) + list(S.COLOURS)
    records = []
    for i in range(n):
        name = f"scene_{i:06d}.jpg"
        with atomic_path(out / name) as tmp:
            Image.fromarray(images[i]).save(tmp, format="JPEG", quality=jpeg_quality)
        tags = sorted({o[0] for o in objects[i]} | {o[1] for o in objects[i]}, key=labels.index)
        records.append(
            {
                "image_name": name,
                "image_labels": tags,
                "objects": [{"shape": s, "colour": c, "box": list(b)} for s, c, b in objects[i]],
            }
        )
    for split, part in (("train", records[:n_train]), ("test", records[n_train:])):
        write_json(out / f"small_{split}.json", {"samples": part, "labels": labels})
    counts = {t: sum(t in r["image_labels"] for r in records) for t in labels}
    return {"labels": labels, "tag_counts": counts, "n": n, "splits": {"train": n_train, "test": n_test}}
