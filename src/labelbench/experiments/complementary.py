"""Learning from complementary labels (source 002): each training image carries a class it is *not*; losses from
the source's and the field's, against ordinary labels; Grad-CAM of both kinds of model, measured."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score

from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.registry_names import uses_complementary_labels
from labelbench.selection import selected_column

DEPTHS = ("shallow", "middle", "deep")


def complementary_targets(ds) -> np.ndarray | None:
    """N×K 0/1 matrix of each image's complementary labels (its ``cl_*`` columns), or None when it has none. Reads
    nothing else of the sample table: the true labels stay unread."""
    cols = [c for c in ds.samples.columns if c.startswith("cl_")]
    if not cols:
        return None
    out = np.zeros((len(ds.samples), len(ds.classes)), np.float32)
    for c in cols:
        out[np.arange(len(ds.samples)), ds.samples[c].to_numpy()] = 1.0
    return out


def variant_seeds(spec: dict, variant: str) -> list[int]:
    """A variant's seeds: its own ``seeds``, or the experiment's."""
    return spec["variants"][variant].get("seeds", spec["seeds"])


@register_experiment
class Complementary(Experiment):
    name = "complementary"
    sources = ("shapes", "cifar10", "mnist", "caltech101", "imagefolder", "digits")
    target_kinds = ("labels", "complementary_labels")
    metrics = ("accuracy",)
    metric_prefixes = ("accuracy_", "cam_", "best_epoch_by_")
    bar_metrics = ("accuracy",)
    curve_metrics = ("loss", "val_loss", "val_scel", "val_ure", "val_oracle_accuracy")
    figures = ("curves", "metrics", "confusion")
    tables = ("gradcam_metrics", "method_ranking")
    metric_tables = ("method_ranking",)
    gradcam = "keras_pairs"
    # a practitioner has complementary labels only: select on them by default, and record the true-label oracle
    selection_criteria = ("loss", "scel", "ure", "oracle_accuracy")
    default_selection = "scel"

    def check(self, key, spec, datasets):
        gradcam = spec.get("gradcam") or {}
        layers = gradcam.get("layers") or {}
        if not layers:
            raise ConfigError(f"{key}.gradcam.layers: expected the name of a layer at one or more of the depths "
                              f"{', '.join(DEPTHS)} (the Grad-CAM figures draw one grid per depth)")
        reference, compare = gradcam.get("reference", "ordinary"), gradcam.get("compare", "pc_sigmoid")
        for role, variant in (("reference", reference), ("compare", compare)):
            if variant not in spec["variants"]:
                raise ConfigError(
                    f"{key}.gradcam.{role}: the Grad-CAM grids compare gradcam.reference ({reference!r}) with "
                    f"gradcam.compare ({compare!r}), but {variant!r} is not a variant; expected one of "
                    f"{sorted(spec['variants'])}"
                )
        if not set(variant_seeds(spec, reference)) & set(variant_seeds(spec, compare)):
            raise ConfigError(
                f"{key}.variants: the Grad-CAM grids draw {reference!r} and {compare!r} of one seed, but they share "
                f"none ({variant_seeds(spec, reference)} and {variant_seeds(spec, compare)}); expected a seed in "
                "common"
            )

    def gradcam_figures(self, spec):
        return [f"gradcam_{d}_{w}" for d in spec["gradcam"]["layers"] for w in ("correct", "misclassified")]

    def training_targets(self, ds, variant):
        if not uses_complementary_labels(variant.get("loss")):
            return np.eye(len(ds.classes), dtype=np.float32)[ds.targets()]
        comp = complementary_targets(ds)
        if comp is None:
            raise ConfigError(
                f"variant with loss {variant['loss']!r} needs complementary labels, but the dataset has none: "
                "add `complementary: {method: uniform}` to its entry under datasets"
            )
        return comp

    def selection_inputs(self, ds):
        comp = complementary_targets(ds)
        if comp is None:
            return {}
        return {"complementary": comp, "transition": (ds.meta.get("complementary") or {}).get("transition")}

    def split_metrics(self, part, threshold, context):
        cols = [c for c in part.columns if c.startswith("p_")]
        labels = part["label"].to_numpy()
        predicted = part[cols].to_numpy(np.float64).argmax(axis=1)
        values = {"accuracy": float(accuracy_score(labels, predicted))}
        for k, c in enumerate(cols):
            hit = labels == k
            values[f"accuracy_{c[2:]}"] = float(np.mean(predicted[hit] == k)) if hit.any() else float("nan")
        # the test predictions of the epoch each selection criterion ranked best (written by the trainer)
        for criterion in self.selection_criteria:
            chosen = [selected_column(criterion, c[2:]) for c in cols]
            if all(c in part for c in chosen) and part[chosen].notna().all().all():
                picked = part[chosen].to_numpy(np.float64).argmax(axis=1)
                values[f"accuracy_by_{criterion}"] = float(accuracy_score(labels, picked))
                values[f"best_epoch_by_{criterion}"] = float(part[selected_column(criterion, "epoch")].iloc[0])
        return values
