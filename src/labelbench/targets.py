"""What each experiment trains on: inputs and target arrays built from a dataset and a variant (NumPy only).

The label structure lives here: 4-hot vectors for mosaics, one-hot plus a mask column for the masked loss.
"""

from __future__ import annotations

import numpy as np

from labelbench.datasets.store import Dataset
from labelbench.errors import ConfigError
from labelbench.registry_names import COMPLEMENTARY_LOSSES

MASKS = ("odd", "even", "none")


def mask_column(labels: np.ndarray, mask: str) -> np.ndarray:
    """The extra target column of the masked loss: 1 where a row counts, 0 where it is masked out."""
    if mask == "odd":
        return (labels % 2 == 1).astype(np.float32)
    if mask == "even":
        return (labels % 2 == 0).astype(np.float32)
    if mask == "none":
        return np.ones(len(labels), np.float32)
    raise ConfigError(f"mask must be one of {MASKS}, got {mask!r}")


def training_targets(experiment: str, ds: Dataset, variant: dict) -> np.ndarray:
    """Targets as the loss of ``variant`` expects them."""
    if experiment == "mosaic":
        return ds.targets().astype(np.float32)
    if experiment == "masked":
        labels = ds.targets()
        n = (variant.get("loss_args") or {}).get("n_classes", 10)
        if variant.get("loss") == "masked_cce" and len(ds.classes) != n:
            # the config check catches this at start-up where the config fixes the classes (not an imagefolder's)
            raise ConfigError(
                f"masked_cce expects {n} classes (loss_args.n_classes), but the dataset has {len(ds.classes)} "
                f"({ds.classes}); set loss_args: {{n_classes: {len(ds.classes)}}} or use a {n}-class dataset"
            )
        one_hot = np.eye(len(ds.classes), dtype=np.float32)[labels]
        return np.c_[one_hot, mask_column(labels, variant.get("mask") or "odd")]
    if experiment == "landmark":
        return landmark_targets(ds)
    if experiment == "complementary":
        labels = ds.targets()
        if not uses_complementary_labels(variant):
            return np.eye(len(ds.classes), dtype=np.float32)[labels]
        cols = [c for c in ds.samples.columns if c.startswith("cl_")]
        if not cols:
            raise ConfigError(
                f"variant with loss {variant['loss']!r} needs complementary labels, but the dataset has none: "
                "add `complementary: {method: uniform}` to its entry under datasets"
            )
        out = np.zeros((len(labels), len(ds.classes)), np.float32)
        for c in cols:
            out[np.arange(len(labels)), ds.samples[c].to_numpy()] = 1.0
        return out
    raise ConfigError(f"experiment {experiment!r} has no target builder yet")


def uses_complementary_labels(variant: dict) -> bool:
    return variant.get("loss") in COMPLEMENTARY_LOSSES


def keypoint_count(ds: Dataset) -> int:
    return sum(1 for c in ds.samples.columns if c.startswith("kp") and c.endswith("_x"))


def keypoint_names(ds: Dataset) -> list[str]:
    return [f"kp{k}_{axis}" for k in range(keypoint_count(ds)) for axis in "xy"]


def landmark_targets(ds: Dataset) -> np.ndarray:
    """y = [presence, x1, y1, …, xL, yL]: coordinates divided by the image size (so in [0, 1]) and zero
    where no object is present."""
    presence = ds.samples["presence"].to_numpy(np.float32)
    size = np.array([ds.images.shape[2], ds.images.shape[1]] * keypoint_count(ds), np.float32)  # x by W, y by H
    coords = ds.samples[keypoint_names(ds)].to_numpy(np.float32) / size * presence[:, None]
    return np.c_[presence, coords].astype(np.float32)


def output_names(experiment: str, ds: Dataset) -> list[str]:
    """One name per model output column (the predictions table calls them ``p_<name>``)."""
    if experiment == "landmark":
        return ["presence", *keypoint_names(ds)]
    return list(ds.classes)


WEIGHTINGS = ("none", "empty_down")


def sample_weights(experiment: str, ds: Dataset, variant: dict) -> np.ndarray | None:
    """Per-sample loss weights, or None. ``empty_down``: images without an object weigh ``empty_weight``."""
    weighting = variant.get("weighting", "none")
    if weighting == "none":
        return None
    if weighting == "empty_down":
        if "presence" not in ds.samples:
            raise ConfigError(f"weighting 'empty_down' needs a dataset with a presence column ({experiment})")
        presence = ds.samples["presence"].to_numpy(np.float32)
        return np.where(presence > 0, 1.0, variant.get("empty_weight", 0.2)).astype(np.float32)
    raise ConfigError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")


def true_label_columns(ds: Dataset) -> dict[str, np.ndarray]:
    """Columns of the true labels, to store beside the predictions."""
    if ds.task == "multilabel":
        return {c: ds.samples[c].to_numpy() for c in ds.tag_columns}
    if ds.task == "landmark":
        y = landmark_targets(ds)
        return {"image_size": np.full(len(y), ds.images.shape[1], np.int64),
                **{f"true_{n}": y[:, i] for i, n in enumerate(["presence", *keypoint_names(ds)])}}
    return {"label": ds.samples["label"].to_numpy()}
