"""What a training job writes, shared by the Keras and the PyTorch side (imports no framework)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunOutputs:
    model: str
    history: str
    predictions: str
    checkpoint_dir: str
    tensorboard_dir: str | None = None
