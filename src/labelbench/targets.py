"""Label structures by dataset task (NumPy only): the true-label columns stored beside a run's predictions, and the
landmark rows [presence, x1, y1, …]. What each experiment trains on is its own (labelbench.experiments)."""

from __future__ import annotations

import numpy as np

from labelbench.datasets.store import Dataset


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


def true_label_columns(ds: Dataset) -> dict[str, np.ndarray]:
    """Columns of the true labels, to store beside the predictions."""
    if ds.task == "multilabel":
        return {c: ds.samples[c].to_numpy() for c in ds.tag_columns}
    if ds.task == "landmark":
        y = landmark_targets(ds)
        return {"image_size": np.full(len(y), ds.images.shape[1], np.int64),
                **{f"true_{n}": y[:, i] for i, n in enumerate(["presence", *keypoint_names(ds)])}}
    return {"label": ds.samples["label"].to_numpy()}
