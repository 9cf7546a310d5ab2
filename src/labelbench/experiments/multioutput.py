"""Multi-class, multi-output or multi-label (source 004's distinction, after scikit-learn's): one object per image,
described by three attribute groups — its shape, its colour and its size — and the same images and seeds trained
three ways, by the variant's ``encoding``:

* ``multioutput``: one softmax head per group (``grouped_cce`` with the groups' sizes), a fixed number of answers,
  exactly one per group: the source's "multi-output" problem;
* ``multilabel``: one sigmoid per attribute value over all groups (``bce_sum``), any number of answers;
* ``multiclass``: one softmax over every (shape, colour, size) combination (``grouped_cce`` with one group): one
  answer among many classes, each seen far less often than each attribute value.

All three read the same sigmoid outputs of one model; each is decided by its own rule (multi-label: every value at
``threshold``; multi-output: the most probable value of each group; multi-class: the most probable combination),
and scored by exact match (all three groups right), per-group accuracy and the multi-label metrics over the flat
attribute vector (attribute probabilities: the sigmoids; each group's softmax; the combination softmax's
marginals). The size is small or large: the object's radius (centre to vertex, the shapes' keypoints 0 and 1) below
or above 0.725 of half the image side, the middle of the shapes source's default radius range [0.55, 0.9].
"""

from __future__ import annotations

import itertools

import numpy as np

from labelbench.errors import ConfigError
from labelbench.experiments.base import Experiment, register_experiment
from labelbench.metric_kernels import SHARE, mean_average_precision, multilabel_f1

GROUPS = ("shape", "colour", "size")
SIZES = ("small", "large")
SIZE_THRESHOLD = 0.725
LABEL_LOSSES = ("bce_sum", "focal", "asl", "mse")  # a loss per attribute value: the multi-label encoding's


def _colours() -> list[str]:
    from labelbench.datasets.shapes import COLOURS

    return list(COLOURS)


def group_values(ds) -> dict[str, list[str]]:
    """Every value each group can take, in a fixed order (not only those observed in a split)."""
    return {"shape": list(ds.classes), "colour": _colours(), "size": list(SIZES)}


def attributes(ds) -> dict[str, np.ndarray]:
    """Each image's value index in each group."""
    samples, values = ds.samples, group_values(ds)
    radius = np.hypot(samples["kp1_x"] - samples["kp0_x"], samples["kp1_y"] - samples["kp0_y"])
    relative = radius.to_numpy() / (ds.images.shape[2] / 2)
    colour = {c: i for i, c in enumerate(values["colour"])}
    return {"shape": samples["label"].to_numpy(np.int64),
            "colour": samples["colour"].map(colour).to_numpy(np.int64),
            "size": (relative >= SIZE_THRESHOLD).astype(np.int64)}


def combinations(ds) -> list[tuple[int, int, int]]:
    """Every (shape, colour, size) combination, the multi-class encoding's classes."""
    sizes = [len(v) for v in group_values(ds).values()]
    return list(itertools.product(*(range(k) for k in sizes)))


def _logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@register_experiment
class MultiOutput(Experiment):
    name = "multioutput"
    tasks = ("single-label",)
    #: its groups are the shapes' own attributes (shape, colour, size), in the samples table of that source only
    sources = ("shapes",)
    encodings = ("multioutput", "multilabel", "multiclass")
    metrics = ("exact_match", *(f"acc_{g}" for g in GROUPS), "micro_f1", "macro_f1", "map")
    #: computed here (split_metrics): every attribute right, and each group's accuracy
    metric_ranges = {"exact_match": SHARE, **{f"acc_{g}": SHARE for g in GROUPS}}
    bar_metrics = ("exact_match", *(f"acc_{g}" for g in GROUPS), "macro_f1")
    figures = ("curves", "metrics")

    def check(self, key, spec, datasets):
        low, high = datasets[spec["dataset"]].get("scale", [0.55, 0.9])
        if not low < SIZE_THRESHOLD < high:
            raise ConfigError(f"datasets.{spec['dataset']}.scale: [{low}, {high}] puts every object on one side of "
                              f"the size boundary {SIZE_THRESHOLD}; expected a range around it, e.g. [0.55, 0.9]")
        for v, vspec in spec["variants"].items():
            grouped = vspec.get("encoding") in ("multioutput", "multiclass")
            if grouped != (vspec["loss"] == "grouped_cce") or (not grouped and vspec["loss"] not in LABEL_LOSSES):
                need = "grouped_cce" if grouped else f"one of {list(LABEL_LOSSES)}"
                raise ConfigError(f"{key}.variants.{v}.loss: {vspec['loss']!r} with encoding "
                                  f"{vspec.get('encoding')!r}; expected {need}")

    def output_names(self, ds, variant):
        values = group_values(ds)
        if variant.get("encoding") == "multiclass":
            return ["|".join(values[g][i] for g, i in zip(GROUPS, combo, strict=True)) for combo in combinations(ds)]
        return [f"{g}={v}" for g in GROUPS for v in values[g]]

    def training_targets(self, ds, variant):
        attrs, values = attributes(ds), group_values(ds)
        if variant.get("encoding") == "multiclass":
            index = {combo: i for i, combo in enumerate(combinations(ds))}
            rows = [index[combo] for combo in zip(*(attrs[g] for g in GROUPS), strict=True)]
            return np.eye(len(index), dtype=np.float32)[rows]
        return np.concatenate([np.eye(len(values[g]), dtype=np.float32)[attrs[g]] for g in GROUPS], axis=1)

    def loss_arguments(self, ds, variant):
        if variant.get("encoding") == "multioutput":
            return {"groups": [len(v) for v in group_values(ds).values()]}
        return {}

    def true_label_columns(self, ds, variant):
        attrs = attributes(ds)
        n = len(ds.samples)
        return {"encoding": np.full(n, variant.get("encoding")), "n_shapes": np.full(n, len(ds.classes)),
                **{f"true_{g}": attrs[g] for g in GROUPS}}

    def split_metrics(self, part, threshold, context):
        encoding = part["encoding"].iloc[0]
        sizes = [int(part["n_shapes"].iloc[0]), len(_colours()), len(SIZES)]
        p = part[[c for c in part.columns if c.startswith("p_")]].to_numpy(np.float64)
        truth = np.stack([part[f"true_{g}"].to_numpy(np.int64) for g in GROUPS], axis=1)
        if encoding == "multiclass":
            combo_p = _softmax(_logits(p))
            combos = np.array(list(itertools.product(*(range(k) for k in sizes))))
            chosen = combos[combo_p.argmax(axis=1)]
            probs = [np.stack([combo_p[:, combos[:, j] == v].sum(axis=1) for v in range(k)], axis=1)
                     for j, k in enumerate(sizes)]
            said = [np.eye(k)[chosen[:, j]] for j, k in enumerate(sizes)]
        else:
            bounds = np.cumsum([0, *sizes])
            groups = [p[:, bounds[j]:bounds[j + 1]] for j in range(len(sizes))]
            if encoding == "multioutput":
                probs = [_softmax(_logits(g)) for g in groups]
                said = [np.eye(k)[g.argmax(axis=1)] for g, k in zip(probs, sizes, strict=True)]
            else:  # multilabel: every value decided on its own
                probs = groups
                said = [(g >= threshold).astype(np.float64) for g in groups]
        true_hot = [np.eye(k)[truth[:, j]] for j, k in enumerate(sizes)]
        right = np.stack([np.all(s == t, axis=1) for s, t in zip(said, true_hot, strict=True)], axis=1)
        flat_true, flat_said, flat_p = (np.concatenate(x, axis=1) for x in (true_hot, said, probs))
        return {"exact_match": float(right.all(axis=1).mean()),
                **{f"acc_{g}": float(right[:, j].mean()) for j, g in enumerate(GROUPS)},
                "micro_f1": multilabel_f1(flat_true, flat_said, "micro"),
                "macro_f1": multilabel_f1(flat_true, flat_said, "macro"),
                "map": mean_average_precision(flat_true, np.clip(flat_p, 0, 1))}

