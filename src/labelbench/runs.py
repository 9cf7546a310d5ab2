"""What a training job writes and how it splits its data, shared by the Keras and the PyTorch side (no framework
imported here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


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
    """Arguments of ``loss`` that come from its dataset's sidecar (``labelbench.registry_names.KERAS_LOSS_NEEDS``),
    where the sidecar has them."""
    from labelbench.registry_names import KERAS_LOSS_NEEDS

    out = {}
    for argument, key in KERAS_LOSS_NEEDS.get(loss, {}).items():
        node = meta
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out[argument] = node
    return out
