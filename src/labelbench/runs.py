"""What a training job writes, shared by the Keras and the PyTorch side; the framework is imported only when
:func:`load_trainer` is called, so each process loads just one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass


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


def run_parts(path: str) -> tuple[str, int]:
    """(variant, seed) of a run's file ``…/{experiment}/{variant}/{seed}/<file>``."""
    parts = str(path).replace("\\", "/").split("/")
    return parts[-3], int(parts[-2])


def load_trainer(framework: str, model_spec: dict, device: str = "cpu", threads: int = 1,
                 backend: str | None = None) -> Callable[..., dict]:
    """``train_run`` of ``framework`` (keras or torch), after setting what its framework needs before import:
    GPUs hidden when ``device`` is cpu, thread variables set to ``threads``, and for keras ``KERAS_BACKEND`` set to
    ``backend`` (default tensorflow; see :func:`labelbench.scripting.prepare_training_env`)."""
    from labelbench.scripting import prepare_training_env

    if framework not in ("keras", "torch"):
        raise ValueError(f"framework must be keras or torch, got {framework!r}")
    if framework == "torch" and backend not in (None, "torch"):
        raise ValueError(f"backend {backend!r} chooses Keras's backend; the torch framework has none")
    prepare_training_env(framework, model_spec, device, threads, backend or "tensorflow")
    if framework == "keras":
        from labelbench.keras.train import train_run
    else:
        from labelbench.pytorch.train import train_run
    return train_run
