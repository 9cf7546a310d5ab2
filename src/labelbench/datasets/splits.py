"""Seeded train/test assignment shared by every class-labelled reader."""

from __future__ import annotations

import numpy as np


def train_test_column(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """A ``split`` column ("train"/"test"): stratified by class where every class can be, else plain."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    try:
        train_idx, _ = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    except ValueError:  # a class too small to appear in both splits
        train_idx, _ = train_test_split(idx, test_size=test_fraction, random_state=seed)
    split = np.full(len(labels), "test", dtype=object)
    split[train_idx] = "train"
    return split
