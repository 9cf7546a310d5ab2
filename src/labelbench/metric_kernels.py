"""Metric kernels on arrays (NumPy + scikit-learn), each declaring the range it can take and whether higher is
better (:data:`KERNEL_METRICS`, filled next to each kernel), and the helpers that read a stored run's identity.

Nothing of the pipeline is imported here (only labelbench's error type), so that experiments, figures and the
statistics can all read it; what asks the experiment registry lives in :mod:`labelbench.metrics`.
Inputs are always probabilities (every model here ends in sigmoid or softmax); thresholds apply to them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    coverage_error,
    f1_score,
    hamming_loss,
    label_ranking_average_precision_score,
    label_ranking_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from labelbench.errors import DataError


@dataclass(frozen=True)
class MetricSpec:
    """The values a metric can take, [``low``, ``high``], and which way is better: True (higher), False (lower) or
    None (not a score: an epoch, a count). Intervals over seeds are kept inside the range
    (:func:`labelbench.stats.mean_interval`)."""

    low: float
    high: float
    higher_is_better: bool | None

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


#: a share, a rate or an area, higher better (accuracy, F1, AP)
SHARE = MetricSpec(0.0, 1.0, True)
#: a share of errors, lower better (Hamming loss, a false-positive rate)
ERROR_SHARE = MetricSpec(0.0, 1.0, False)
#: a distance or a count: never negative, no upper bound, lower better
DISTANCE = MetricSpec(0.0, math.inf, False)
#: a correlation or a change of a probability, higher better
SIGNED = MetricSpec(-1.0, 1.0, True)
#: an epoch number (the first is 1): not a score
EPOCH = MetricSpec(1.0, math.inf, None)

#: every metric a kernel below computes, by the name it is written under
KERNEL_METRICS: dict[str, MetricSpec] = {}


def declare(spec: MetricSpec, *names: str) -> None:
    """Record ``names`` as metrics with range and direction ``spec`` (:data:`KERNEL_METRICS`); a name declared
    twice must be declared alike."""
    for name in names:
        if KERNEL_METRICS.setdefault(name, spec) != spec:
            raise ValueError(f"metric {name!r} is declared as {KERNEL_METRICS[name]} and as {spec}")


#: written for every run by labelbench.metrics.evaluate_predictions: the last epoch's training loss (unbounded: the
#: unbiased risk estimator's can be negative) and whether the run diverged (0/1)
RUN_METRICS = {"final_loss": MetricSpec(-math.inf, math.inf, False), "diverged": ERROR_SHARE}


def _check_multilabel(y_true: np.ndarray, y_prob: np.ndarray) -> None:
    if y_true.shape != y_prob.shape or y_true.ndim != 2:
        raise DataError(f"y_true {y_true.shape} and y_prob {y_prob.shape} must both be N×K")
    if np.nanmin(y_prob) < 0 or np.nanmax(y_prob) > 1:
        raise DataError("y_prob must hold probabilities in [0, 1], not logits")


def exact_match(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Share of samples whose every label is right: mean_i Π_k [ŷ_ik = y_ik], ŷ = p ≥ threshold."""
    _check_multilabel(y_true, y_prob)
    return float(np.mean(np.all((y_prob >= threshold) == (y_true > 0.5), axis=1)))


declare(SHARE, "exact_match")


def hamming_accuracy(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Share of (sample, label) pairs that are right: 1 - Hamming loss."""
    _check_multilabel(y_true, y_prob)
    return float(np.mean((y_prob >= threshold) == (y_true > 0.5)))


declare(SHARE, "hamming_accuracy")


def multilabel_f1(y_true: np.ndarray, y_prob: np.ndarray, average: str, threshold: float = 0.5) -> float:
    """F1 with ``average`` in micro / macro / samples; a label with no positives and no predicted positives
    scores 0 (scikit-learn's zero_division=0)."""
    _check_multilabel(y_true, y_prob)
    return float(f1_score(y_true > 0.5, y_prob >= threshold, average=average, zero_division=0))


declare(SHARE, *(f"{a}_f1" for a in ("micro", "macro", "samples")))


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


declare(SHARE, "map")


#: the ranking metrics of multi-label papers and ASL's six thresholded ones (every multi-label experiment writes them)
RANKING_METRICS = ("coverage_error", "ranking_loss", "lrap")
ASL_METRICS = ("cp", "cr", "cf1", "op", "or", "of1")


def ranking_metrics(y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, float]:
    """scikit-learn's label-ranking metrics, computed on the scores (no threshold): coverage error (how far down
    the ranking one must go to cover every true label; 1 is best), label ranking loss (share of (true, false)
    label pairs ordered wrongly; 0 is best) and label-ranking average precision (LRAP; 1 is best). A sample
    without any true label counts 0 coverage and, in LRAP, 1 (scikit-learn's conventions)."""
    _check_multilabel(y_true, y_prob)
    truth = (y_true > 0.5).astype(int)
    return {
        "coverage_error": float(coverage_error(truth, y_prob)),
        "ranking_loss": float(label_ranking_loss(truth, y_prob)),
        "lrap": float(label_ranking_average_precision_score(truth, y_prob)),
    }


# coverage error: at least 1 (every true label is ranked somewhere), at most the number of labels
declare(MetricSpec(1.0, math.inf, False), "coverage_error")
declare(ERROR_SHARE, "ranking_loss")
declare(SHARE, "lrap")


def asl_metrics(y_true: np.ndarray, y_prob: np.ndarray, threshold: float | np.ndarray = 0.5) -> dict[str, float]:
    """ASL's (Ridnik et al. 2021, ``validate.py`` of Alibaba-MIIL/ASL, after ML-GCN) per-class and overall scores:
    CP and CR, the precision and recall of each class averaged over the classes; CF1 = 2·CP·CR / (CP + CR), the
    harmonic mean of those two averages (not the mean of the per-class F1, which is ``macro_f1``); OP, OR and OF1,
    precision, recall and F1 over all (sample, class) pairs (micro). P and R come from scikit-learn
    (zero_division=0: a class never predicted has precision 0); only CF1's harmonic mean is written here, because
    no library computes F1 from averaged P and R."""
    _check_multilabel(y_true, y_prob)
    truth, said = y_true > 0.5, y_prob >= np.asarray(threshold)
    cp, cr, _, _ = precision_recall_fscore_support(truth, said, average="macro", zero_division=0)
    op, orec, of1, _ = precision_recall_fscore_support(truth, said, average="micro", zero_division=0)
    cf1 = 2 * cp * cr / (cp + cr) if cp + cr > 0 else 0.0
    return {"cp": float(cp), "cr": float(cr), "cf1": float(cf1), "op": float(op), "or": float(orec),
            "of1": float(of1)}


declare(SHARE, *ASL_METRICS)


def multilabel_metrics(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    return {
        "exact_match": exact_match(y_true, y_prob, threshold),
        "hamming_accuracy": hamming_accuracy(y_true, y_prob, threshold),
        "micro_f1": multilabel_f1(y_true, y_prob, "micro", threshold),
        "macro_f1": multilabel_f1(y_true, y_prob, "macro", threshold),
        "map": mean_average_precision(y_true, y_prob),
        **ranking_metrics(y_true, y_prob),
        **asl_metrics(y_true, y_prob, threshold),
    }


def tagging_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, threshold: float | np.ndarray = 0.5
) -> dict[str, float]:
    """The tagging source's nine numbers (micro, macro and samples precision, recall and F1, scikit-learn with
    zero_division=0), plus mAP, Hamming loss, exact match, the ranking metrics and ASL's CP/CR/CF1/OP/OR/OF1.
    ``threshold`` may be one value per tag."""
    _check_multilabel(y_true, y_prob)
    truth, said = y_true > 0.5, y_prob >= np.asarray(threshold)
    out = {}
    for average in ("micro", "macro", "samples"):
        p, r, f, _ = precision_recall_fscore_support(truth, said, average=average, zero_division=0)
        out.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    out["map"] = mean_average_precision(y_true, y_prob)
    out["hamming_loss"] = float(hamming_loss(truth, said))
    out["exact_match"] = float(np.mean(np.all(truth == said, axis=1)))
    out.update(ranking_metrics(y_true, y_prob))
    out.update(asl_metrics(y_true, y_prob, threshold))
    return out


declare(SHARE, *(f"{a}_{m}" for a in ("micro", "macro", "samples") for m in ("precision", "recall")))
declare(ERROR_SHARE, "hamming_loss")


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


declare(SHARE, "accuracy", "acc_even", "acc_odd")


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


declare(SHARE, "presence_acc", "presence_auc")
# the share of empty images called present, and the mean presence probability on them
declare(ERROR_SHARE, "empty_fpr", "empty_mean_p")
declare(DISTANCE, "kp_error_norm", "kp_error_px")


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
