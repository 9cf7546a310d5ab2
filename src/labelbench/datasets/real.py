"""Readers for the real datasets in their upstream formats, and for the user's own image folders.

Each reader takes the upstream files (downloaded by :mod:`labelbench.datasets.download` or pointed at with a
``path:``) and returns a :class:`~labelbench.datasets.store.Dataset`; nothing here touches the network.
The upstream names and md5s are those torchvision uses, so an archive torchvision downloaded can be reused.
"""

from __future__ import annotations

import gzip
import io
import logging
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from labelbench.datasets.splits import train_test_column
from labelbench.datasets.store import Dataset
from labelbench.errors import DataError

log = logging.getLogger("labelbench.datasets")

#: Upstream files of every downloadable source: default mirror and {file name: md5} (torchvision's values).
REMOTE = {
    "cifar10": {
        "mirror": "https://www.cs.toronto.edu/~kriz/",
        "files": {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"},
    },
    "mnist": {
        "mirror": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "caltech101": {
        "mirror": "https://data.caltech.edu/records/mzrjq-6wc02/files/",
        "files": {"caltech-101.zip": "3138e1922a9193bfa496528edbbc45d0"},
    },
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


def remote_files(source: str, spec: dict) -> dict[str, tuple[str, str | None]]:
    """{file name: (url, md5)} for a dataset spec, with the config's ``mirror``/``url``/``md5`` applied."""
    if source == "nuswide":
        if not spec.get("url"):
            return {}
        name = spec.get("filename") or spec["url"].rstrip("/").rsplit("/", 1)[-1]
        return {name: (spec["url"], spec.get("md5"))}
    upstream = REMOTE[source]
    mirror = spec.get("mirror") or upstream["mirror"]
    mirror = mirror if mirror.endswith("/") else mirror + "/"
    checksums = {**upstream["files"], **(spec.get("checksums") or {})}
    return {name: (mirror + name, checksums[name]) for name in upstream["files"]}


# --------------------------------------------------------------------------------------------- CIFAR-10
def cifar10(archive: str | Path) -> Dataset:
    """CIFAR-10 from ``cifar-10-python.tar.gz`` (pickled batches), read straight from the tarball."""
    batches: dict[str, dict] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if name.startswith(("data_batch_", "test_batch")) or name == "batches.meta":
                    batches[name] = pickle.load(tar.extractfile(member), encoding="latin1")  # noqa: S301
    except (tarfile.TarError, EOFError, OSError, pickle.UnpicklingError) as exc:
        raise DataError(f"{archive} is not a readable CIFAR-10 python archive: {exc}") from exc
    train_names = [f"data_batch_{i}" for i in range(1, 6)]
    missing = [n for n in [*train_names, "test_batch", "batches.meta"] if n not in batches]
    if missing:
        raise DataError(f"{archive} lacks {missing}: expected the cifar-10-batches-py layout")
    images, labels, split = [], [], []
    for name in [*train_names, "test_batch"]:
        data = np.asarray(batches[name]["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        images.append(data)
        labels.extend(batches[name]["labels"])
        split.extend(["test" if name == "test_batch" else "train"] * len(data))
    samples = pd.DataFrame({"split": split, "label": np.asarray(labels, np.int64)})
    return Dataset(np.concatenate(images), samples, list(batches["batches.meta"]["label_names"]))


# ------------------------------------------------------------------------------------------------ MNIST
def _read_idx(path: Path, expected_dims: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable gzip file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_dims:
        raise DataError(f"{path} is not an idx file of {expected_dims} dimension(s) of unsigned bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expected_dims))
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * expected_dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} but holds {body.size} bytes")
    return body.reshape(shape)


def mnist(folder: str | Path) -> Dataset:
    """MNIST from the four upstream ``*-idx?-ubyte.gz`` files in ``folder``."""
    folder = Path(folder)
    images, labels, split = [], [], []
    for prefix, name in (("train", "train"), ("t10k", "test")):
        x = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3)
        y = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1)
        if len(x) != len(y):
            raise DataError(f"{folder}: {len(x)} {name} images but {len(y)} labels")
        images.append(x[..., None])
        labels.append(y.astype(np.int64))
        split += [name] * len(y)
    samples = pd.DataFrame({"split": split, "label": np.concatenate(labels)})
    return Dataset(np.concatenate(images), samples, [str(d) for d in range(10)])


# ------------------------------------------------------------------------------------------- Caltech101
def _load_rgb(data: bytes | Path, size: int, name: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"cannot read image {name}: {exc}") from exc


def _caltech_members(archive: Path) -> dict[str, dict[str, bytes]]:
    """{class: {file name: bytes}} from caltech-101.zip (which wraps 101_ObjectCategories.tar.gz) or the
    bare 101_ObjectCategories.tar.gz."""

    def from_tar(fileobj) -> dict[str, dict[str, bytes]]:
        out: dict[str, dict[str, bytes]] = {}
        with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
            for m in tar.getmembers():
                parts = Path(m.name).parts
                if m.isfile() and len(parts) >= 3 and parts[-3] == "101_ObjectCategories":
                    out.setdefault(parts[-2], {})[parts[-1]] = tar.extractfile(m).read()
        return out

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                inner = [n for n in zf.namelist() if n.endswith("101_ObjectCategories.tar.gz")]
                if not inner:
                    raise DataError(f"{archive} holds no 101_ObjectCategories.tar.gz")
                return from_tar(io.BytesIO(zf.read(inner[0])))
        with open(archive, "rb") as f:
            return from_tar(f)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{archive} is not a readable Caltech101 archive: {exc}") from exc


def caltech101(
    archive: str | Path,
    classes: list[str],
    size: int,
    max_per_class: dict[str, int] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Selected Caltech101 categories, some subsampled (the source keeps 200 airplanes and 200 Motorbikes),
    resized to ``size``², with a seeded stratified train/test split."""
    members = _caltech_members(Path(archive))
    missing = [c for c in classes if c not in members]
    if missing:
        raise DataError(f"{archive} has no categories {missing}; it has e.g. {sorted(members)[:8]}")
    rng = np.random.default_rng(seed)
    images, labels, names = [], [], []
    for k, cls in enumerate(classes):
        files = sorted(members[cls])
        limit = (max_per_class or {}).get(cls)
        if limit and limit < len(files):
            files = sorted(rng.choice(files, size=limit, replace=False).tolist())
        for f in files:
            images.append(_load_rgb(members[cls][f], size, f"{archive}:{cls}/{f}"))
            labels.append(k)
            names.append(f"{cls}/{f}")
    labels = np.asarray(labels, np.int64)
    split = train_test_column(labels, test_fraction, seed)
    samples = pd.DataFrame({"split": split, "label": labels, "file": names})
    return Dataset(np.stack(images), samples, list(classes))


# ------------------------------------------------------------------------------------- the user's images
def imagefolder(
    root: str | Path, size: int, test_fraction: float = 0.2, min_classes: int = 1, seed: int = 0
) -> Dataset:
    """One sub-folder per class, as torchvision's ImageFolder; images resized to ``size``² RGB.

    Stops with an error naming the path for a missing root, an empty class folder, an unreadable image, or
    fewer than ``min_classes`` classes.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < min_classes:
        raise DataError(f"image folder {root} has {len(classes)} class folder(s); at least {min_classes} needed")
    images, labels, names = [], [], []
    for k, cls in enumerate(classes):
        files = sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"class folder {root / cls} holds no images (expected {sorted(IMAGE_SUFFIXES)})")
        for f in files:
            images.append(_load_rgb(f, size, str(f)))
            labels.append(k)
            names.append(str(f.relative_to(root)))
    labels = np.asarray(labels, np.int64)
    split = train_test_column(labels, test_fraction, seed)
    samples = pd.DataFrame({"split": split, "label": labels, "file": names})
    return Dataset(np.stack(images), samples, classes)


# -------------------------------------------------------------------------------------------- NUS-WIDE
NUS_SPLITS = {"train": "small_train.json", "test": "small_test.json"}


def nuswide(source: str | Path, out_dir: str | Path) -> dict:
    """Put a NUS-WIDE-format subset (``small_train.json``, ``small_test.json`` and the images they name) into
    ``out_dir``, from a folder or a tar/zip archive, and check that every annotation file parses and that
    every named image exists. Returns a sidecar dict."""
    import json

    source, out = Path(source), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        if source.is_dir():
            shutil.copytree(source, out, dirs_exist_ok=True)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zf:
                zf.extractall(out)
        elif tarfile.is_tarfile(source):
            with tarfile.open(source) as tar:
                tar.extractall(out, filter="data")
        else:
            raise DataError(f"{source} is neither a folder nor a tar/zip archive of a NUS-WIDE subset")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{source} is not a readable archive: {exc}") from exc
    # an archive may wrap everything in one top folder: lift it
    found = sorted(out.rglob(NUS_SPLITS["train"]))
    if not found:
        raise DataError(f"{source} holds no {NUS_SPLITS['train']} (NUS-WIDE annotation JSON)")
    root = found[0].parent
    if root != out:
        for item in root.iterdir():
            shutil.move(str(item), out / item.name)
    summary = {"splits": {}, "labels": None}
    for split, name in NUS_SPLITS.items():
        path = out / name
        try:
            ann = json.loads(path.read_text())
            samples, labels = ann["samples"], ann["labels"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: expected {{'samples': [...], 'labels': [...]}} ({exc})") from exc
        missing = [s["image_name"] for s in samples if not (out / s["image_name"]).is_file()]
        if missing:
            log.warning("%s: %d image(s) missing, e.g. %s", path, len(missing), missing[:5])
        summary["splits"][split] = len(samples)
        summary["labels"] = labels
        summary.setdefault("missing", {})[split] = missing[:20]
    return summary
