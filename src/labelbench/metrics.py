"""Evaluation metrics on stored predictions (NumPy + scikit-learn; no deep-learning framework).

Inputs are always probabilities (every model here ends in sigmoid or softmax); thresholds apply to them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from labelbench.errors import DataError

#: metrics whose value is a share, a rate or an area: their intervals are kept inside [0, 1]
UNIT_METRICS = {"exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "samples_f1", "map", "accuracy",
                "acc_even", "acc_odd", "presence_acc", "presence_auc", "empty_fpr", "empty_mean_p", "hamming_loss",
                "diverged"}
UNIT_SUFFIXES = ("_precision", "_recall", "_f1", "_f1_tuned")
#: metrics that cannot be negative but have no upper bound
NONNEGATIVE_METRICS = {"kp_error_px", "kp_error_norm", "skipped_images"}
#: every run's: the last epoch's training loss (from history.csv) and, where NaN is recorded, divergence
RUN_METRICS = ("final_loss", "diverged")


def produces_metric(experiment: str, metric: str) -> bool:
    """Whether ``experiment``'s evaluation writes ``metric``."""
    from labelbench.experiments import get_experiment

    exp = get_experiment(experiment)
    return metric in RUN_METRICS or metric in exp.metrics or metric.startswith(exp.metric_prefixes)


def metric_bounds(metric: str) -> tuple[float, float]:
    """The range ``metric`` can take: (0, 1) for shares and areas, (0, inf) for errors and counts, otherwise
    unbounded (a training loss such as the unbiased risk estimator's can be negative)."""
    if metric.startswith("cam_spearman"):
        return (-1.0, 1.0)
    if metric in UNIT_METRICS or metric.startswith(("accuracy_", "cam_")) or metric.endswith(UNIT_SUFFIXES):
        return (0.0, 1.0)
    if metric in NONNEGATIVE_METRICS:
        return (0.0, float("inf"))
    return (float("-inf"), float("inf"))


def _check_multilabel(y_true: np.ndarray, y_prob: np.ndarray) -> None:
    if y_true.shape != y_prob.shape or y_true.ndim != 2:
        raise DataError(f"y_true {y_true.shape} and y_prob {y_prob.shape} must both be N×K")
    if np.nanmin(y_prob) < 0 or np.nanmax(y_prob) > 1:
        raise DataError("y_prob must hold probabilities in [0, 1], not logits")


def exact_match(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Share of samples whose every label is right: mean_i Π_k [ŷ_ik = y_ik], ŷ = p ≥ threshold."""
    _check_multilabel(y_true, y_prob)
    return float(np.mean(np.all((y_prob >= threshold) == (y_true > 0.5), axis=1)))


def hamming_accuracy(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Share of (sample, label) pairs that are right: 1 - Hamming loss."""
    _check_multilabel(y_true, y_prob)
    return float(np.mean((y_prob >= threshold) == (y_true > 0.5)))


def multilabel_f1(y_true: np.ndarray, y_prob: np.ndarray, average: str, threshold: float = 0.5) -> float:
    """F1 with ``average`` in micro / macro / samples; a label with no positives and no predicted positives
    scores 0 (scikit-learn's zero_division=0)."""
    _check_multilabel(y_true, y_prob)
    return float(f1_score(y_true > 0.5, y_prob >= threshold, average=average, zero_division=0))


def mean_average_precision(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Macro average precision over the labels that have at least one positive (AP is undefined without
    one); NaN when no label has a positive."""
    _check_multilabel(y_true, y_prob)
    keep = (y_true > 0.5).any(axis=0)
    if not keep.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(average_precision_score(y_true[:, keep] > 0.5, y_prob[:, keep], average="macro"))


def multilabel_metrics(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return {
        "exact_match": exact_match(y_true, y_prob, threshold),
        "hamming_accuracy": hamming_accuracy(y_true, y_prob, threshold),
        "micro_f1": multilabel_f1(y_true, y_prob, "micro", threshold),
        "macro_f1": multilabel_f1(y_true, y_prob, "macro", threshold),
        "map": mean_average_precision(y_true, y_prob),
    }


def tagging_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, threshold: float | np.ndarray = 0.5
) -> dict[str, float]:
    """The tagging source's nine numbers (micro, macro and samples precision, recall and F1, scikit-learn with
    zero_division=0), plus mAP, Hamming loss and exact match. ``threshold`` may be one value per tag."""
    _check_multilabel(y_true, y_prob)
    truth, said = y_true > 0.5, y_prob >= np.asarray(threshold)
    out = {}
    for average in ("micro", "macro", "samples"):
        p, r, f, _ = precision_recall_fscore_support(truth, said, average=average, zero_division=0)
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    out["map"] = mean_average_precision(y_true, y_prob)
    out["hamming_loss"] = float(hamming_loss(truth, said))
    out["exact_match"] = float(np.mean(np.all(truth == said, axis=1)))
    return out


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """Per-tag threshold maximising that tag's F1 on (validation) data; 0.5 for a tag without positives.
    Ties go to the threshold closest to 0.5."""
    _check_multilabel(y_true, y_prob)
    truth = y_true > 0.5
    said = y_prob[None, :, :] >= grid[:, None, None]  # G×N×K
    tp = (said & truth).sum(1)
    fp = (said & ~truth).sum(1)
    fn = (~said & truth).sum(1)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)  # G×K
    order = np.argsort(np.abs(grid - 0.5), kind="stable")
    best = order[np.argmax(f1[order], axis=0)]
    return np.where(truth.any(0), grid[best], 0.5)


def per_tag_table(y_true: np.ndarray, y_prob: np.ndarray, tags: list[str], threshold=0.5) -> pd.DataFrame:
    """Support, frequency, AP and F1 of every tag."""
    truth, said = y_true > 0.5, y_prob >= np.asarray(threshold)
    _, _, f1, support = precision_recall_fscore_support(truth, said, average=None, zero_division=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ap = [average_precision_score(truth[:, k], y_prob[:, k]) if truth[:, k].any() else np.nan
              for k in range(len(tags))]
    return pd.DataFrame({"tag": tags, "support": support.astype(int), "frequency": truth.mean(0), "ap": ap,
                         "f1": f1})


def parity_accuracy(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy overall and on even and odd digits (NaN where a subset is empty)."""

    def acc(mask):
        return float(accuracy_score(labels[mask], predicted[mask])) if mask.any() else float("nan")

    return {
        "accuracy": acc(np.ones(len(labels), bool)),
        "acc_even": acc(labels % 2 == 0),
        "acc_odd": acc(labels % 2 == 1),
    }


def keypoint_errors(kp_true: np.ndarray, kp_pred: np.ndarray) -> np.ndarray:
    """Per-image mean Euclidean distance between true and predicted keypoints; inputs N×2L as
    [x1, y1, …, xL, yL] (any unit: the result is in the same one)."""
    d = (kp_pred - kp_true).reshape(len(kp_true), -1, 2)
    return np.sqrt((d**2).sum(-1)).mean(-1)


def landmark_metrics(
    presence: np.ndarray, p_presence: np.ndarray, kp_true: np.ndarray, kp_pred: np.ndarray, image_size: int,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Presence accuracy and ROC AUC, false-positive rate on empty images, and the mean keypoint error on
    images that hold an object (normalised coordinates in; pixels = normalised × ``image_size``)."""
    present = presence > 0.5
    said = p_presence >= threshold
    errors = keypoint_errors(kp_true[present], kp_pred[present]) if present.any() else np.array([np.nan])
    both = present.any() and (~present).any()
    return {
        "presence_acc": float(np.mean(said == present)),
        "presence_auc": float(roc_auc_score(present, p_presence)) if both else float("nan"),
        "empty_fpr": float(np.mean(said[~present])) if (~present).any() else float("nan"),
        "empty_mean_p": float(np.mean(p_presence[~present])) if (~present).any() else float("nan"),
        "kp_error_norm": float(np.mean(errors)),
        "kp_error_px": float(np.mean(errors) * image_size),
    }


def prob_columns(predictions: pd.DataFrame) -> list[str]:
    return [c for c in predictions.columns if c.startswith("p_")]


IDENTITY = ("experiment", "variant", "seed")


def run_identity(table: pd.DataFrame) -> tuple[str, str, int]:
    """(experiment, variant, seed) of a run's table (predictions, history), from the columns that carry them."""
    missing = [c for c in IDENTITY if c not in table]
    if missing:
        raise DataError(f"the run's table has no column(s) {missing}; every run's predictions and history carry "
                        f"{list(IDENTITY)}")
    first = table.iloc[0]
    return str(first["experiment"]), str(first["variant"]), int(first["seed"])


def evaluate_predictions(predictions: pd.DataFrame, threshold: float = 0.5,
                         history: pd.DataFrame | None = None) -> pd.DataFrame:
    """The long metrics table (experiment, variant, seed, split, metric, value) of one run: its experiment's
    metrics per split (labelbench.experiments), the share of skipped images and divergence where recorded, and
    with the run's ``history`` its last epoch's training loss (``final_loss``, split ``train``)."""
    from labelbench.experiments import get_experiment

    experiment, variant, seed = run_identity(predictions)
    exp = get_experiment(experiment)
    context = exp.context(predictions)
    rows = []
    for split, part in predictions.groupby("split", sort=True):
        values = exp.split_metrics(part, threshold, context)
        if "skipped_images" in part:
            values["skipped_images"] = float(part["skipped_images"].iloc[0])
        if "diverged" in part:
            values["diverged"] = float(part["diverged"].any())
        rows += [{"split": split, "metric": m, "value": v} for m, v in values.items()]
    if history is not None and len(history) and "loss" in history:
        rows.append({"split": "train", "metric": "final_loss", "value": float(history["loss"].iloc[-1])})
    table = pd.DataFrame(rows)
    table.insert(0, "experiment", experiment)
    table.insert(1, "variant", variant)
    table.insert(2, "seed", seed)
    return table


def summarise(metrics: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sample std and the Student-t interval over seeds (:func:`labelbench.stats.mean_interval`, kept
    inside the range the metric can take), per (experiment, variant, split, metric). With one seed the interval
    is NaN: one run says nothing about the spread."""
    from labelbench.stats import mean_interval

    def agg(part: pd.DataFrame) -> pd.Series:
        est = mean_interval(part["value"], confidence, metric_bounds(part.name[-1]))
        return pd.Series({"mean": est.mean, "std": est.sd, "ci_low": est.low, "ci_high": est.high,
                          "n_seeds": est.n})

    keys = ["experiment", "variant", "split", "metric"]
    out = metrics.groupby(keys, sort=False)[["value"]].apply(agg).reset_index()
    out["n_seeds"] = out["n_seeds"].astype(int)
    return out[[*keys, "mean", "std", "ci_low", "ci_high", "n_seeds"]]


def per_tag_summary(prediction_files: list[str], threshold: float = 0.5, split: str = "test") -> pd.DataFrame:
    """:func:`per_tag_table` of every run's ``split``, averaged over seeds per variant and tag."""
    frames = []
    for path in prediction_files:
        part = pd.read_parquet(path).query("split == @split")
        _, variant, seed = run_identity(part)
        cols = prob_columns(part)
        tags = [c[2:] for c in cols]
        table = per_tag_table(part[[f"tag_{t}" for t in tags]].to_numpy(), part[cols].to_numpy(), tags, threshold)
        frames.append(table.assign(variant=variant, seed=seed))
    runs = pd.concat(frames, ignore_index=True)
    out = runs.groupby(["variant", "tag"], sort=False).agg(
        support=("support", "mean"), frequency=("frequency", "mean"), ap=("ap", "mean"), f1=("f1", "mean"),
        f1_std=("f1", "std"), n_seeds=("seed", "nunique")).reset_index()
    return out


def cam_observations(images: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Per-seed means of the per-image Grad-CAM table (``gradcam_images.parquet``) in the long metrics shape:
    metric ``cam_<measure>_<depth>_<target>`` (e.g. ``cam_spearman_deep_predicted``, the Spearman agreement of a
    variant's map with the ordinary model's at the deep layer, for each model's predicted class), split test,
    variant = the model the row describes."""
    measures = {"agreement": ("spearman", "iou_top20"), "localisation": ("mass_in_mask", "pointing")}
    frames = []
    for kind, cols in measures.items():
        part = images[images["kind"] == kind]
        for col in cols:
            if col not in part or not len(part):
                continue
            means = part.groupby(["model", "seed", "depth", "target"])[col].mean().reset_index()
            frames.append(pd.DataFrame({
                "experiment": experiment, "variant": means["model"], "seed": means["seed"].astype(int),
                "split": "test", "metric": "cam_" + col + "_" + means["depth"] + "_" + means["target"],
                "value": means[col].astype(float)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["experiment", "variant", "seed", "split", "metric", "value"])
