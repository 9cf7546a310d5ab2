"""What a training job writes, shared by the Keras and the PyTorch side; the framework is imported only when
:func:`load_trainer` is called, so each process loads just one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

from labelbench.errors import DeviceError

log = logging.getLogger("labelbench.train")
#: set to 1 to let a job sent to a GPU train on the CPU, with a warning, when its framework sees none (the SLURM
#: test's stand-in GPUs and the GPU-scheduling drill, on machines without a GPU); unset, such a job stops
ALLOW_CPU_FALLBACK = "LABELBENCH_ALLOW_CPU_FALLBACK"


@dataclass
class RunOutputs:
    model: str
    history: str
    predictions: str
    checkpoint_dir: str
    tensorboard_dir: str | None = None
    #: ``run.json``: where and with how many threads the run computed (:func:`write_run_record`)
    run: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where a run computed and with how many threads; both change its numbers, so both are recorded."""

    device: str  #: what the config asked for: cpu or gpu
    device_used: str  #: what the framework computed on: ``cpu``, or ``gpu: <name>``
    threads: int  #: intra-op threads of the framework (and BLAS/OpenMP), from the config
    inter_op_threads: int

    @property
    def kind(self) -> str:
        """``cpu`` or ``gpu``: the ``device`` column of history.csv."""
        return "cpu" if self.device_used == "cpu" else "gpu"


def gpu_missing(framework: str, found: str, install: str) -> None:
    """A job asked for a GPU and ``framework`` sees none: stop with a :class:`DeviceError` naming the framework,
    what it ``found`` (devices, CUDA build) with ``CUDA_VISIBLE_DEVICES``, and how to ``install`` GPU support;
    with :data:`ALLOW_CPU_FALLBACK` = 1 in the environment, log the same as a warning and return (the caller then
    trains on the CPU). Stopping is the default because a run meant for a GPU would otherwise train on the CPU
    unnoticed (Xception at 299 px: days)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    visible = "unset" if visible is None else repr(visible)
    message = (f"device gpu was asked for, but {framework} sees no GPU ({found}; CUDA_VISIBLE_DEVICES {visible}). "
               f"For GPU support {install}; or set device: cpu for this experiment")
    if os.environ.get(ALLOW_CPU_FALLBACK) == "1":
        log.warning("%s. Training on the CPU instead, as %s=1 allows", message, ALLOW_CPU_FALLBACK)
        return
    raise DeviceError(f"{message}. (To train on the CPU anyway, with a warning, set {ALLOW_CPU_FALLBACK}=1.)")


def add_placement_columns(history, placement: Placement):
    """The history table with the ``device`` and ``threads`` columns of the run appended."""
    return history.assign(device=placement.kind, threads=placement.threads)


def write_run_record(path: str | None, *, experiment: str, variant: str, seed: int, framework: str,
                     placement: Placement, versions: dict[str, str]) -> None:
    """``run.json`` beside the run's model: its identity, placement and framework versions (no times, so the
    same config on the CPU writes the same bytes)."""
    if not path:
        return
    from labelbench.io import write_json

    write_json(path, {"experiment": experiment, "variant": variant, "seed": seed, "framework": framework,
                      **asdict(placement), "versions": versions})


def run_parts(path: str) -> tuple[str, int]:
    """(variant, seed) of a run's file ``…/{experiment}/{variant}/{seed}/<file>``."""
    parts = str(path).replace("\\", "/").split("/")
    return parts[-3], int(parts[-2])


def load_trainer(framework: str, model_spec: dict, device: str = "cpu", threads: int = 1) -> Callable[..., dict]:
    """``train_run`` of ``framework`` (keras or torch), after setting what its framework needs before import:
    GPUs hidden when ``device`` is cpu, thread variables set to ``threads`` (see
    :func:`labelbench.scripting.prepare_training_env`)."""
    from labelbench.scripting import prepare_training_env

    if framework not in ("keras", "torch"):
        raise ValueError(f"framework must be keras or torch, got {framework!r}")
    prepare_training_env(framework, model_spec, device, threads)
    if framework == "keras":
        from labelbench.keras.train import train_run
    else:
        from labelbench.pytorch.train import train_run
    return train_run
