"""Metrics of the pipeline's runs: what asks the experiment registry (which metrics an experiment writes, their
ranges), a run's evaluation, the summaries over seeds, the Grad-CAM measures as metrics, the experiments' own
tables. The kernels, each with its range, are in :mod:`labelbench.metric_kernels`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelbench.cam_scores import OBSERVED as CAM_OBSERVED
from labelbench.metric_kernels import MetricSpec, run_identity


def produces_metric(experiment: str, metric: str) -> bool:
    """Whether ``experiment``'s evaluation writes ``metric``."""
    from labelbench.experiments import get_experiment

    return get_experiment(experiment).produces(metric)


def metric_spec(experiment: str, metric: str) -> MetricSpec:
    """Range and direction of ``metric`` as ``experiment`` declares it (:meth:`Experiment.metric_spec`)."""
    from labelbench.experiments import get_experiment

    return get_experiment(experiment).metric_spec(metric)


def evaluate_run(predictions: str, history: str, parquet: str, csv: str, threshold: float = 0.5) -> pd.DataFrame:
    """One run's metrics (:func:`evaluate_predictions`) from its written ``predictions`` and ``history`` files, as
    parquet and CSV. The training job calls it last (rules ``train_keras``/``train_torch``), reading the files
    back so that the metrics are those of the stored predictions, and saving a process per run."""
    from labelbench.io import write_table

    table = evaluate_predictions(pd.read_parquet(predictions), threshold, history=pd.read_csv(history))
    write_table(table, parquet)
    write_table(table, csv)
    return table


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
        experiment, metric = part.name[0], part.name[-1]
        est = mean_interval(part["value"], confidence, metric_spec(experiment, metric).bounds)
        return pd.Series({"mean": est.mean, "std": est.sd, "ci_low": est.low, "ci_high": est.high,
                          "n_seeds": est.n})

    keys = ["experiment", "variant", "split", "metric"]
    out = metrics.groupby(keys, sort=False)[["value"]].apply(agg).reset_index()
    out["n_seeds"] = out["n_seeds"].astype(int)
    return out[[*keys, "mean", "std", "ci_low", "ci_high", "n_seeds"]]


def cam_observations(images: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Per-seed means of the per-image Grad-CAM table (``gradcam_images.parquet``) in the long metrics shape:
    metric ``cam_<measure>_<depth>_<target>`` (e.g. ``cam_spearman_deep_predicted``, the Spearman agreement of a
    variant's map with the ordinary model's at the deep layer, for each model's predicted class;
    ``cam_deletion_auc_middle_predicted``, the area under its deletion curve), split test, variant = the model
    the row describes. Maps of another method than Grad-CAM are ``cam_<method>_<measure>_<depth>_<target>``."""
    if "method" not in images:
        images = images.assign(method="gradcam")
    frames = []
    for kind, cols in CAM_OBSERVED.items():
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
