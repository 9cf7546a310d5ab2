"""What an experiment is, declared in one place: the registry every other part of labelbench asks.

One framework-free module per experiment (``labelbench.experiments.<name>``) subclasses :class:`Experiment` and
registers itself with :func:`register_experiment`, in the manner of timm's model registry. The config check, the
workflow's rules, the trainers, the evaluation, the figures and the report look an experiment up by name here
instead of branching on it. Adding a study means adding a module (and a notebook and config blocks); nothing
else names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd

from labelbench.errors import ConfigError

_REGISTRY: dict[str, Experiment] = {}


class Experiment:
    """Declarations and hooks of one study. Class attributes declare; methods build targets, evaluate and draw.

    Nothing here imports a deep-learning framework: the trainers take targets, output names and training-metric
    names from here, and the figures and metrics are NumPy/pandas/matplotlib.
    """

    name: ClassVar[str]
    #: which framework trains it: keras or torch
    framework: ClassVar[str] = "keras"
    #: dataset sources it can train on (every variant's dataset is checked at start-up)
    sources: ClassVar[tuple[str, ...]]
    #: what the targets its losses may read look like (see labelbench.registry_names.KERAS_LOSS_TARGETS)
    target_kinds: ClassVar[tuple[str, ...]] = ("labels",)
    #: metrics its evaluation writes for every split (besides labelbench.metrics.RUN_METRICS)
    metrics: ClassVar[tuple[str, ...]] = ()
    #: name patterns of metrics it writes per class or per Grad-CAM setting
    metric_prefixes: ClassVar[tuple[str, ...]] = ()
    #: Keras metrics reported while training (labelbench.keras.metrics.TRAINING_METRICS names)
    training_metrics: ClassVar[tuple[str, ...]] = ()
    #: history columns drawn in the curves figure, and summary metrics in the bar figure (None: every metric)
    curve_metrics: ClassVar[tuple[str, ...]] = ("loss", "val_loss")
    bar_metrics: ClassVar[tuple[str, ...] | None] = None
    #: figures drawn from the stored tables (labelbench.figures.experiments), besides config-dependent ones
    figures: ClassVar[tuple[str, ...]] = ("curves", "metrics")
    #: the split the confusion and class-count figures show
    confusion_split: ClassVar[str] = "test"
    #: tables beyond summary.csv, each made by the rule of that name (results/<experiment>/<table>.csv)
    tables: ClassVar[tuple[str, ...]] = ()
    #: Grad-CAM studies it has: "keras_pairs" (maps of two variants' models, per depth) or "torch_tags"
    gradcam: ClassVar[str | None] = None
    #: ways it can encode the labels for a variant (the variant's ``encoding`` names one; empty: it has one way)
    encodings: ClassVar[tuple[str, ...]] = ()
    #: what its exact claims may compute (labelbench.keras.worked_examples) and the losses a speed claim times
    worked_examples: ClassVar[tuple[str, ...]] = ()
    speed_losses: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------------------------------ config

    def check(self, key: str, spec: dict, datasets: dict) -> None:
        """Checks of this experiment's config block beyond the generic ones (called at start-up)."""

    def figure_kinds(self, spec: dict) -> list[str]:
        """Every figure of the experiment for this config block (``results/<name>/figures/<kind>.png``)."""
        return list(self.figures)

    def gradcam_figures(self, spec: dict) -> list[str]:
        """The Grad-CAM figures of this config block (drawn by the Grad-CAM rules, not from the tables)."""
        return []

    # ------------------------------------------------------------------------------------------ training

    def training_targets(self, ds, variant: dict) -> np.ndarray:
        """Targets as the loss of ``variant`` reads them."""
        raise NotImplementedError(f"{self.name} builds no training targets")

    def output_names(self, ds, variant: dict) -> list[str]:
        """One name per model output column (the predictions table calls them ``p_<name>``)."""
        return list(ds.classes)

    def loss_arguments(self, ds, variant: dict) -> dict:
        """Arguments of the variant's loss that follow from the data and the experiment's label structure (e.g. the
        sizes of the output groups); the config's ``loss_args`` override them."""
        return {}

    def true_label_columns(self, ds, variant: dict) -> dict[str, np.ndarray]:
        """The true labels stored beside a run's predictions (what the evaluation reads)."""
        from labelbench.targets import true_label_columns

        return true_label_columns(ds)

    def sample_weights(self, ds, variant: dict) -> np.ndarray | None:
        """Per-sample loss weights, or None."""
        return None

    # ------------------------------------------------------------------------------------------ evaluation

    def context(self, predictions: pd.DataFrame) -> dict:
        """What evaluating every split needs from the whole predictions table (e.g. thresholds tuned on val)."""
        return {}

    def split_metrics(self, part: pd.DataFrame, threshold: float, context: dict) -> dict[str, float]:
        """Metrics of one split of one run's predictions."""
        raise NotImplementedError(f"{self.name} has no evaluation")

    # ------------------------------------------------------------------------------------------ figures

    def figure(self, kind: str) -> Callable:
        """The drawing function of figure ``kind``: called with keyword arguments ``summary``, ``histories``,
        ``predictions`` (paths), ``dataset_dir`` and ``experiment`` (this one), it returns a matplotlib figure."""
        from labelbench.figures import experiments as F

        common = {"curves": F.curves, "metrics": F.metric_bars, "confusion": F.confusion,
                  "class_counts": F.class_counts}
        if kind not in common:
            raise ValueError(f"{self.name} draws no figure {kind!r}; expected one of {self.figures}")
        return common[kind]


def register_experiment(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator: one instance of ``cls`` under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"experiment {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_experiment(name: str) -> Experiment:
    if name not in _REGISTRY:
        raise ConfigError(f"experiment {name!r} is not registered; expected one of {experiment_names()}")
    return _REGISTRY[name]


def experiment_names() -> list[str]:
    return sorted(_REGISTRY)
