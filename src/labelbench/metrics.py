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
    coverage_error,
    f1_score,
    hamming_loss,
    label_ranking_average_precision_score,
    label_ranking_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from labelbench.errors import DataError

#: metrics whose value is a share, a rate or an area: their intervals are kept inside [0, 1]
UNIT_METRICS = {"exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "samples_f1", "map", "accuracy",
                "acc_even", "acc_odd", "presence_acc", "presence_auc", "empty_fpr", "empty_mean_p", "hamming_loss",
                "diverged", "ranking_loss", "lrap", "cp", "cr", "cf1", "op", "or", "of1"}
UNIT_SUFFIXES = ("_precision", "_recall", "_f1", "_f1_tuned")
#: metrics that cannot be negative but have no upper bound
NONNEGATIVE_METRICS = {"kp_error_px", "kp_error_norm", "skipped_images"}
#: Grad-CAM measures in [-1, 1]: rank correlations and ROAD's changes of a probability
SIGNED_CAM_MEASURES = ("spearman", "road_morf", "road_lerf", "road_combined")
#: at least 1 (every true label is ranked somewhere) and at most the number of labels, which the name does not carry
AT_LEAST_ONE_METRICS = {"coverage_error"}
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
    if metric.startswith("cam_") and any(f"_{m}_" in metric for m in SIGNED_CAM_MEASURES):
        return (-1.0, 1.0)
    if metric in UNIT_METRICS or metric.startswith(("accuracy_", "cam_")) or metric.endswith(UNIT_SUFFIXES):
        return (0.0, 1.0)
    if metric in NONNEGATIVE_METRICS:
        return (0.0, float("inf"))
    if metric in AT_LEAST_ONE_METRICS:
        return (1.0, float("inf"))
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


def evaluate_run(predictions: str, history: str, parquet: str, csv: str, threshold: float = 0.5) -> pd.DataFrame:
    """One run's metrics (:func:`evaluate_predictions`) from its written ``predictions`` and ``history`` files, as
    parquet and CSV. The training job calls it last (rules ``train_keras``/``train_torch``), reading the files
    back so that the metrics are those of the stored predictions, and saving a process per run."""
    from labelbench.io import write_table

    table = evaluate_predictions(pd.read_parquet(predictions), threshold, history=pd.read_csv(history))
    write_table(table, parquet)
    write_table(table, csv)
    return table


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
    with the run's ``history`` its last epoch's training loss (``final_loss``, split ``train``) and, where the
    history records it, the ``backend`` that computed the run as a last column."""
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
    if history is not None and "backend" in history and len(history):
        table["backend"] = str(history["backend"].iloc[-1])
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
    variant's map with the ordinary model's at the deep layer, for each model's predicted class;
    ``cam_deletion_auc_middle_predicted``, the area under its deletion curve), split test, variant = the model
    the row describes. Maps of another method than Grad-CAM are ``cam_<method>_<measure>_<depth>_<target>``."""
    measures = {"agreement": ("spearman", "iou_top20"), "localisation": ("mass_in_mask", "pointing"),
                "faithfulness": ("deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_combined")}
    if "method" not in images:
        images = images.assign(method="gradcam")
    frames = []
    for kind, cols in measures.items():
        part = images[images["kind"] == kind]
        for col in cols:
            if col not in part or not len(part):
                continue
            means = part.groupby(["method", "model", "seed", "depth", "target"])[col].mean().reset_index()
            method = np.where(means["method"] == "gradcam", "", means["method"] + "_")
            frames.append(pd.DataFrame({
                "experiment": experiment, "variant": means["model"], "seed": means["seed"].astype(int),
                "split": "test", "metric": "cam_" + method + col + "_" + means["depth"] + "_" + means["target"],
                "value": means[col].astype(float)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["experiment", "variant", "seed", "split", "metric", "value"])


def write_experiment_table(experiment: str, table: str, metrics: str, config: dict, out: str) -> pd.DataFrame:
    """The ``experiment_table`` job: table ``table`` of ``experiment`` from its long per-run metrics, made by the
    experiment's own :meth:`~labelbench.experiments.Experiment.table` hook."""
    from labelbench.experiments import get_experiment
    from labelbench.io import write_table

    frame = get_experiment(experiment).table(table, pd.read_parquet(metrics), config, experiment)
    write_table(frame, out)
    return frame
