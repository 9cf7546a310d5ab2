"""What a training job writes, shared by the Keras and the PyTorch side; the framework is imported only when
:func:`load_trainer` is called, so each process loads just one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RunOutputs:
    model: str
    history: str
    predictions: str
    checkpoint_dir: str
    tensorboard_dir: str | None = None


def run_parts(path: str) -> tuple[str, int]:
    """(variant, seed) of a run's file ``…/{experiment}/{variant}/{seed}/<file>``."""
    parts = str(path).replace("\\", "/").split("/")
    return parts[-3], int(parts[-2])


def load_trainer(framework: str, model_spec: dict) -> Callable[..., dict]:
    """``train_run`` of ``framework`` (keras or torch), after setting what its framework needs before import."""
    if framework == "keras":
        from labelbench.scripting import prepare_tensorflow_env

        prepare_tensorflow_env(model_spec)
        from labelbench.keras.train import train_run
    elif framework == "torch":
        from labelbench.pytorch.train import train_run
    else:
        raise ValueError(f"framework must be keras or torch, got {framework!r}")
    return train_run
