"""What an experiment is, declared in one place: the registry every other part of labelbench asks.

One framework-free module per experiment (``labelbench.experiments.<name>``) subclasses :class:`Experiment` and
registers itself with :func:`register_experiment`, in the manner of timm's model registry. The config check, the
workflow's rules, the trainers, the evaluation, the figures and the report look an experiment up by name here
instead of branching on it. Adding a study means adding a module (and a notebook and config blocks); nothing
else names it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd

from labelbench.errors import ConfigError
from labelbench.metric_kernels import KERNEL_METRICS, RUN_METRICS, MetricSpec

_REGISTRY: dict[str, Experiment] = {}


class TorchSplits(NamedTuple):
    """What :meth:`Experiment.torch_datasets` gives the PyTorch trainer: three ``torch.utils.data.Dataset`` objects
    whose items are (image tensor, target tensor) and which carry ``annotations``, ``indices`` and ``name(i)``
    (:class:`labelbench.pytorch.data.NusWideDataset`), the class names, and how many images were skipped."""

    train: object
    val: object
    test: object
    classes: list[str]
    skipped: int


class Experiment:
    """Declarations and hooks of one study. Class attributes declare; methods build targets, evaluate and draw.

    Nothing here imports a deep-learning framework: the trainers take targets, output names and training-metric
    names from here, and the figures and metrics are NumPy/pandas/matplotlib.
    """

    name: ClassVar[str]
    #: which framework trains it: keras or torch
    framework: ClassVar[str] = "keras"
    #: the tasks of the datasets it can train on (labelbench.datasets.sources.TASKS; every variant's dataset is
    #: checked at start-up)
    tasks: ClassVar[tuple[str, ...]]
    #: the only sources it accepts among those of its tasks, where it reads more than the task promises (None: all)
    sources: ClassVar[tuple[str, ...] | None] = None
    #: what the targets its losses may read look like (each loss's ``targets`` in labelbench.keras.losses)
    target_kinds: ClassVar[tuple[str, ...]] = ("labels",)
    #: metrics its evaluation writes for every split (besides labelbench.metric_kernels.RUN_METRICS); each has its
    #: range and direction where it is computed: a kernel's in labelbench.metric_kernels.KERNEL_METRICS, one
    #: computed by the experiment itself in ``metric_ranges``
    metrics: ClassVar[tuple[str, ...]] = ()
    metric_ranges: ClassVar[dict[str, MetricSpec]] = {}
    #: metrics it writes per class, per selection criterion or per Grad-CAM setting: a name pattern (a regular
    #: expression the whole name must match) and the range of every metric it matches
    metric_families: ClassVar[dict[str, MetricSpec]] = {}
    #: Keras metrics reported while training (labelbench.keras.metrics.TRAINING_METRICS names)
    training_metrics: ClassVar[tuple[str, ...]] = ()
    #: history columns drawn in the curves figure, and summary metrics in the bar figure (None: every metric)
    curve_metrics: ClassVar[tuple[str, ...]] = ("loss", "val_loss")
    bar_metrics: ClassVar[tuple[str, ...] | None] = None
    #: figures drawn from the stored tables (labelbench.figures.experiments), besides config-dependent ones
    figures: ClassVar[tuple[str, ...]] = ("curves", "metrics")
    #: the split the confusion and class-count figures show
    confusion_split: ClassVar[str] = "test"
    #: tables beyond summary.csv, each made by the rule of that name (results/<experiment>/<table>.csv), or, for
    #: those also in ``metric_tables``, by the ``experiment_table`` rule from the per-run metrics (:meth:`table`)
    tables: ClassVar[tuple[str, ...]] = ()
    metric_tables: ClassVar[tuple[str, ...]] = ()
    #: model-selection criteria (labelbench.selection) recorded on the validation images every epoch, each with its
    #: best epoch's weights and test predictions kept; empty: only the variant's own validation loss, as before
    selection_criteria: ClassVar[tuple[str, ...]] = ()
    #: what early stopping and the best epoch watch when the config's ``training.selection`` is not given
    default_selection: ClassVar[str] = "loss"
    #: Grad-CAM studies it has: "keras_pairs" (maps of two variants' models, per depth) or "torch_tags"
    gradcam: ClassVar[str | None] = None
    #: ways it can encode the labels for a variant (the variant's ``encoding`` names one; empty: it has one way)
    encodings: ClassVar[tuple[str, ...]] = ()
    #: what its exact claims may compute (labelbench.keras.worked_examples) and the losses a speed claim times
    worked_examples: ClassVar[tuple[str, ...]] = ()
    speed_losses: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------------------------------ config

    def accepted_sources(self) -> list[str]:
        """The registered dataset sources it can train on: those of its ``tasks``, narrowed to ``sources``."""
        from labelbench.datasets.sources import sources_for

        return [s for s in sources_for(self.tasks) if self.sources is None or s in self.sources]

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

    def selection(self, training: dict) -> str:
        """The criterion early stopping and the best epoch watch: the config's ``training.selection``, else this
        experiment's default."""
        return training.get("selection") or self.default_selection

    def selection_inputs(self, ds) -> dict:
        """What the complementary-only criteria read from validation images (``complementary_labels``: N×K 0/1 matrix,
        ``transition``: K×K or None), never their true labels; {} when the data have no such labels."""
        return {}

    # ------------------------------------------------------------------------------------------ evaluation

    def context(self, predictions: pd.DataFrame) -> dict:
        """What evaluating every split needs from the whole predictions table (e.g. thresholds tuned on val)."""
        return {}

    def split_metrics(self, part: pd.DataFrame, threshold: float, context: dict) -> dict[str, float]:
        """Metrics of one split of one run's predictions."""
        raise NotImplementedError(f"{self.name} has no evaluation")

    # ------------------------------------------------------------------------------------------ tables

    def metric_spec(self, metric: str) -> MetricSpec:
        """Range and direction of ``metric`` as this experiment writes it: its own declaration, its kernel's, a
        run metric's, or the first family whose pattern matches the whole name. A metric declared nowhere is
        refused, naming it: a range is never guessed from a name."""
        if metric in self.metric_ranges:
            return self.metric_ranges[metric]
        if metric in self.metrics and metric in KERNEL_METRICS:
            return KERNEL_METRICS[metric]
        if metric in RUN_METRICS:
            return RUN_METRICS[metric]
        for pattern, spec in self.metric_families.items():
            if re.fullmatch(pattern, metric):
                return spec
        raise ConfigError(f"experiment {self.name} declares no range for metric {metric!r}: declare it next to the "
                          f"code that computes it (labelbench.metric_kernels.declare for a kernel, the experiment's "
                          f"metric_ranges or metric_families otherwise)")

    def produces(self, metric: str) -> bool:
        """Whether this experiment's evaluation writes ``metric``."""
        return (metric in RUN_METRICS or metric in self.metrics
                or any(re.fullmatch(pattern, metric) for pattern in self.metric_families))

    def torch_datasets(self, dataset_dir: str, training: dict, seed: int) -> TorchSplits:
        """The training, validation and test datasets a PyTorch experiment's trainer reads
        (:func:`labelbench.pytorch.train.train_run`), as the Keras trainer reads its splits through
        :meth:`training_targets` and the other hooks. Only a ``framework = "torch"`` experiment has them."""
        raise ConfigError(f"experiment {self.name} trains with {self.framework}; it builds no PyTorch datasets")

    def table(self, kind: str, metrics: pd.DataFrame, config: dict, name: str) -> pd.DataFrame:
        """Table ``kind`` of ``metric_tables`` from the long per-run metrics of experiment ``name`` in ``config``."""
        raise ValueError(f"{self.name} makes no table {kind!r} from its metrics; expected one of {self.metric_tables}")

    def table_caption(self, kind: str, config: dict, name: str) -> str:
        """One paragraph the report prints above table ``kind`` (what it shows, under which settings)."""
        return ""

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

    def save_figure(self, kind: str, out: str, dpi: int = 110, **inputs) -> None:
        """Draw figure ``kind`` (:meth:`figure`) from ``inputs`` (``summary``, ``histories``, ``predictions``,
        ``dataset_dir``) and save it as a PNG at ``out``: the ``experiment_figure`` job."""
        from labelbench.figures.common import save

        save(self.figure(kind)(experiment=self, **inputs), out, dpi)


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
