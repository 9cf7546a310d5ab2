"""A loss masked by an extra label column (source 001): one-hot digits plus an "is odd" column that multiplies the
categorical CE, so masked rows contribute nothing, not even a gradient."""

from __future__ import annotations

import numpy as np

from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.metric_kernels import parity_accuracy

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


@register_experiment
class Masked(Experiment):
    name = "masked"
    tasks = ("single-label",)
    target_kinds = ("weighted_labels",)
    metrics = ("accuracy", "acc_even", "acc_odd")
    bar_metrics = ("accuracy", "acc_even", "acc_odd")
    figures = ("curves", "metrics", "confusion", "class_counts")
    confusion_split = "train"  # the source's finding is about the training images

    def training_targets(self, ds, variant):
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

    def split_metrics(self, part, threshold, context):
        cols = [c for c in part.columns if c.startswith("p_")]
        return parity_accuracy(part["label"].to_numpy(), part[cols].to_numpy(np.float64).argmax(axis=1))
