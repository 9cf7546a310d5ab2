"""What each experiment trains on: inputs and target arrays built from a dataset and a variant (NumPy only).

The label structure lives here: 4-hot vectors for mosaics, one-hot plus a mask column for the masked loss.
"""

from __future__ import annotations

import numpy as np

from labelbench.datasets.store import Dataset
from labelbench.errors import ConfigError

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
        one_hot = np.eye(len(ds.classes), dtype=np.float32)[labels]
        return np.c_[one_hot, mask_column(labels, variant.get("mask") or "odd")]
    raise ConfigError(f"experiment {experiment!r} has no target builder yet")


def true_label_columns(ds: Dataset) -> dict[str, np.ndarray]:
    """Columns of the true labels, to store beside the predictions."""
    if ds.task == "multilabel":
        return {c: ds.samples[c].to_numpy() for c in ds.tag_columns}
    return {"label": ds.samples["label"].to_numpy()}
