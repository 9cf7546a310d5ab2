"""The one interface every framework's trainer implements, and where each framework's trainer lives.

A training job calls ``train_run`` of its experiment's framework (``Experiment.framework``, labelbench.experiments)
with the run's settings, all from the config: :func:`labelbench.scripting.load_trainer` sets the job's environment
first (threads, hidden GPUs, Keras's backend), then imports the module named here. Nothing here imports a framework.
"""

from __future__ import annotations

from typing import Protocol

from labelbench.runs import RunOutputs

#: the module whose ``train_run`` trains an experiment of each framework
TRAINER_MODULES = {"keras": "labelbench.keras.train", "torch": "labelbench.pytorch.train"}


class Trainer(Protocol):
    """Train one run (variant × seed) of ``experiment`` on the dataset in ``dataset_dir`` and write ``outputs``:
    the kept model, the per-epoch history, the predictions of every split it evaluates and ``run.json`` (where it
    ran); resume from ``outputs.checkpoint_dir`` when that holds a checkpoint of this very run. ``backend`` is
    Keras's (tensorflow, jax or torch), None for a framework that has no choice. Returns a few facts of the run
    for the log (e.g. epochs trained)."""

    def __call__(self, dataset_dir: str, outputs: RunOutputs, experiment: str, variant: str, seed: int,
                 model_spec: dict, training: dict, variant_spec: dict, threads: int = 1, device: str = "cpu",
                 backend: str | None = None) -> dict: ...
