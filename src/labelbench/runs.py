"""What a training job writes and how it splits its data, shared by the Keras and the PyTorch side (no framework
imported here)."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np

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
    #: the library that computed the run: Keras's backend (``tensorflow``, ``jax`` or ``torch``) for the Keras
    #: experiments, ``torch`` for the PyTorch one
    backend: str = "tensorflow"

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
    """The history table with the ``device``, ``threads`` and ``backend`` columns of the run appended."""
    return history.assign(device=placement.kind, threads=placement.threads, backend=placement.backend)


def write_run_record(path: str | None, *, experiment: str, variant: str, seed: int, framework: str,
                     placement: Placement, versions: dict[str, str]) -> None:
    """``run.json`` beside the run's model: its identity, placement and framework versions (no times, so the
    same config on the CPU writes the same bytes)."""
    if not path:
        return
    from labelbench.io import write_json

    write_json(path, {"experiment": experiment, "variant": variant, "seed": seed, "framework": framework,
                      **asdict(placement), "versions": versions})


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays over ``n`` training samples, both sorted: the validation share is
    the first ``round(n · fraction)`` (at least one) of a permutation drawn from ``seed``. Both trainers use it,
    so a run's validation images depend on its seed alone."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction))) if fraction > 0 and n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def dataset_needs(loss: str, meta: dict) -> dict:
    """Arguments of ``loss`` that come from its dataset's sidecar (its registry entry's ``needs``),
    where the sidecar has them."""
    from labelbench.registry import loss_needs

    out = {}
    for argument, key in loss_needs(loss).items():
        node = meta
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out[argument] = node
    return out
