"""Learning from complementary labels (source 002): each training image carries a class it is *not*; losses from
the source's and the field's, against ordinary labels; Grad-CAM of both kinds of model, measured."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score

from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.registry_names import uses_complementary_labels

DEPTHS = ("shallow", "middle", "deep")


def variant_seeds(spec: dict, variant: str) -> list[int]:
    """A variant's seeds: its own ``seeds``, or the experiment's."""
    return spec["variants"][variant].get("seeds", spec["seeds"])


@register_experiment
class Complementary(Experiment):
    name = "complementary"
    sources = ("shapes", "cifar10", "mnist", "caltech101", "imagefolder", "digits")
    target_kinds = ("labels", "complementary_labels")
    metrics = ("accuracy",)
    metric_prefixes = ("accuracy_", "cam_")
    bar_metrics = ("accuracy",)
    figures = ("curves", "metrics", "confusion")
    tables = ("gradcam_metrics",)
    gradcam = "keras_pairs"

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
        labels = ds.targets()
        if not uses_complementary_labels(variant.get("loss")):
            return np.eye(len(ds.classes), dtype=np.float32)[labels]
        cols = [c for c in ds.samples.columns if c.startswith("cl_")]
        if not cols:
            raise ConfigError(
                f"variant with loss {variant['loss']!r} needs complementary labels, but the dataset has none: "
                "add `complementary: {method: uniform}` to its entry under datasets"
            )
        out = np.zeros((len(labels), len(ds.classes)), np.float32)
        for c in cols:
            out[np.arange(len(labels)), ds.samples[c].to_numpy()] = 1.0
        return out

    def split_metrics(self, part, threshold, context):
        cols = [c for c in part.columns if c.startswith("p_")]
        labels = part["label"].to_numpy()
        predicted = part[cols].to_numpy(np.float64).argmax(axis=1)
        values = {"accuracy": float(accuracy_score(labels, predicted))}
        for k, c in enumerate(cols):
            hit = labels == k
            values[f"accuracy_{c[2:]}"] = float(np.mean(predicted[hit] == k)) if hit.any() else float("nan")
        return values
