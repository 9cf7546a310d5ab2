"""Multi-label tagging (source 004) in PyTorch: NUS-WIDE-format images, sigmoid outputs, BCE/ASL/focal; micro,
macro and samples P/R/F1 at 0.5 and with per-tag thresholds tuned on validation; Grad-CAM per tag."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labelbench.experiments.base import Experiment, TorchSplits, register_experiment
from labelbench.metric_kernels import ASL_METRICS, DISTANCE, RANKING_METRICS, SHARE, tagging_metrics, tune_thresholds


def _columns(part):
    probs = [c for c in part.columns if c.startswith("p_")]
    return probs, [c.replace("p_", "tag_", 1) for c in probs]


@register_experiment
class Tagging(Experiment):
    name = "tagging"
    framework = "torch"
    tasks = ("tags",)
    metrics = tuple(f"{a}_{m}" for a in ("micro", "macro", "samples") for m in ("precision", "recall", "f1")) + (
        "map", "hamming_loss", "exact_match", "micro_f1_tuned", "macro_f1_tuned", "samples_f1_tuned",
        "skipped_images", *RANKING_METRICS, *ASL_METRICS)
    #: F1 at the per-tag thresholds tuned on the validation split (split_metrics), and how many images the
    #: trainer skipped as unreadable (a count)
    metric_ranges = {**{f"{a}_f1_tuned": SHARE for a in ("micro", "macro", "samples")}, "skipped_images": DISTANCE}
    curve_metrics = ("loss", "val_macro_f1", "val_micro_f1")
    bar_metrics = ("micro_f1", "macro_f1", "samples_f1", "macro_f1_tuned", "map", "exact_match")
    figures = ("curves", "metrics", "tag_frequency", "examples", "per_tag_f1")
    tables = ("per_tag", "gradcam_localisation")
    gradcam = "torch_tags"

    def torch_datasets(self, dataset_dir: str, training: dict, seed: int) -> TorchSplits:
        """NUS-WIDE-format folders: the training split less a seeded validation part (``validation_fraction``,
        default 0.1), and the test split, each image checked once; training images augmented
        (``training.augment``), all resized to ``training.image_size`` (default 64)."""
        from labelbench.pytorch.data import NusWideDataset, transforms
        from labelbench.runs import validation_split

        root = Path(dataset_dir)
        train_tf, eval_tf = transforms(training.get("image_size", 64), training.get("augment"))
        on_bad, cache = training.get("on_bad_image", "skip"), training.get("cache_images", False)
        full = NusWideDataset(root, "train", on_bad_image=on_bad, cache=cache)
        tr_idx, val_idx = validation_split(len(full.annotations.names), training.get("validation_fraction", 0.1), seed)
        train, val = full.subset(tr_idx, train_tf), full.subset(val_idx, eval_tf)
        test = NusWideDataset(root, "test", eval_tf, on_bad, labels=full.classes, cache=cache)
        return TorchSplits(train, val, test, full.classes, len(full.skipped) + len(test.skipped))

    def gradcam_figures(self, spec):
        return [f"gradcam_{i}" for i in range(spec["gradcam"]["images"])]

    def context(self, predictions):
        """Per-tag thresholds tuned on the validation split, where there is one."""
        val = predictions[predictions["split"] == "val"]
        if not len(val):
            return {}
        probs, tags = _columns(val)
        return {"thresholds": tune_thresholds(val[tags].to_numpy(np.float64), val[probs].to_numpy(np.float64))}

    def split_metrics(self, part, threshold, context):
        probs, tags = _columns(part)
        y, p = part[tags].to_numpy(np.float64), part[probs].to_numpy(np.float64)
        values = tagging_metrics(y, p, threshold)
        if "thresholds" in context:
            tuned = tagging_metrics(y, p, context["thresholds"])
            values.update({f"{a}_f1_tuned": tuned[f"{a}_f1"] for a in ("micro", "macro", "samples")})
        return values

    def figure(self, kind):
        from labelbench.figures import experiments as F

        draw = {"tag_frequency": F.tag_frequency, "examples": F.tagging_examples, "per_tag_f1": F.per_tag_f1}
        return draw[kind] if kind in draw else super().figure(kind)
