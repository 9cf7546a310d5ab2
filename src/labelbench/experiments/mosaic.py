"""Several labels per image (source 000): 4-tile mosaics with a 4-hot target; sigmoid outputs with binary CE
against categorical CE and other multi-label losses."""

from __future__ import annotations

import numpy as np

from labelbench.experiments.base import Experiment, register_experiment
from labelbench.metric_kernels import ASL_METRICS, RANKING_METRICS, multilabel_metrics


@register_experiment
class Mosaic(Experiment):
    name = "mosaic"
    tasks = ("mosaics",)
    metrics = ("exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "map", *RANKING_METRICS, *ASL_METRICS)
    training_metrics = ("exact_match", "hamming_accuracy")
    curve_metrics = ("loss", "exact_match", "val_exact_match")
    bar_metrics = ("exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "map")
    figures = ("curves", "metrics", "examples")

    def training_targets(self, ds, variant):
        return ds.targets().astype(np.float32)

    def split_metrics(self, part, threshold, context):
        cols = [c for c in part.columns if c.startswith("p_")]
        tags = [c.replace("p_", "tag_", 1) for c in cols]
        probs = np.nan_to_num(part[cols].to_numpy(np.float64), nan=0.0)  # a diverged run's NaN outputs say "no"
        return multilabel_metrics(part[tags].to_numpy(np.float64), probs, threshold)

    def figure(self, kind):
        from labelbench.figures import experiments as F

        return F.mosaic_examples if kind == "examples" else super().figure(kind)
