"""Presence + coordinates (source 003): targets [presence, x1, y1, ..., xL, yL]; BCE on presence plus an MSE on
the coordinates masked by presence, and the rank-1 slicing pitfall that turns the per-sample BCE into a scalar."""

from __future__ import annotations

import numpy as np

from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.metric_kernels import landmark_metrics
from labelbench.targets import keypoint_names, landmark_targets

WEIGHTINGS = ("none", "empty_down")


@register_experiment
class Landmark(Experiment):
    name = "landmark"
    tasks = ("landmarks",)
    target_kinds = ("keypoint_rows", "labels")
    metrics = ("presence_acc", "presence_auc", "empty_fpr", "empty_mean_p", "kp_error_norm", "kp_error_px")
    training_metrics = ("presence_acc", "kp_error_norm")
    curve_metrics = ("loss", "val_presence_acc", "val_kp_error_norm")
    bar_metrics = ("presence_acc", "presence_auc", "empty_fpr", "kp_error_norm")
    figures = ("curves", "metrics", "examples", "kp_error")
    worked_examples = ("presence_bce", "coordinate_mse", "rank1_bce", "loss_mean")
    speed_losses = ("landmark_rank1_bug", "landmark_masked")

    def training_targets(self, ds, variant):
        return landmark_targets(ds)

    def output_names(self, ds, variant):
        return ["presence", *keypoint_names(ds)]

    def sample_weights(self, ds, variant):
        """``empty_down``: images without an object weigh ``empty_weight``."""
        weighting = variant.get("weighting", "none")
        if weighting == "none":
            return None
        if weighting == "empty_down":
            presence = ds.samples["presence"].to_numpy(np.float32)
            return np.where(presence > 0, 1.0, variant.get("empty_weight", 0.2)).astype(np.float32)
        raise ConfigError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")

    def split_metrics(self, part, threshold, context):
        kp = [c for c in part.columns if c.startswith("p_") and c != "p_presence"]
        return landmark_metrics(
            part["true_presence"].to_numpy(), part["p_presence"].to_numpy(np.float64),
            part[[c.replace("p_", "true_", 1) for c in kp]].to_numpy(np.float64), part[kp].to_numpy(np.float64),
            int(part["image_size"].iloc[0]), threshold,
        )

    def figure(self, kind):
        from labelbench.figures import experiments as F

        draw = {"examples": F.landmark_examples, "kp_error": F.keypoint_error_distribution}
        return draw[kind] if kind in draw else super().figure(kind)
