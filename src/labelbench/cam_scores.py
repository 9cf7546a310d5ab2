"""Grad-CAM maps scored, the same way for both frameworks (NumPy + SciPy; no deep-learning framework).

A map is an H×W array in [0, 1]. :func:`localisation` sets it against a mask of where the object is (an object
mask, or the boxes of the objects that carry a tag); :func:`agreement` compares two maps of one image (two models,
or a model and its weight-randomised copy, the sanity check of Adebayo et al. 2018); :func:`summarise_study`
gives every measure's mean and interval. One set of column names serves the Keras Grad-CAM table
(``gradcam_metrics.csv``) and the PyTorch localisation table (``gradcam_localisation.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from labelbench.metric_kernels import DISTANCE, SHARE, SIGNED, MetricSpec

#: what each kind of row measures, with its range and direction: rank correlations and ROAD's changes of a
#: probability in [-1, 1]; overlaps, masses, hit rates and areas under deletion/insertion curves in [0, 1]; the
#: ratio of the map's mass in the mask to the mask's share of the image from 0 up (1: no better than uniform)
CAM_MEASURES = {
    "agreement": {"spearman": SIGNED, "iou_top20": SHARE},
    "localisation": {"mass_in_mask": SHARE, "mask_share": MetricSpec(0.0, 1.0, None),
                     "ratio": MetricSpec(0.0, DISTANCE.high, True), "pointing": SHARE},
    # ROAD (labelbench.cam_faithfulness): a faithful map's most relevant pixels removed first (MoRF) drop the score
    # most (lower is better), its least relevant ones (LeRF) least (higher is better)
    "faithfulness": {"deletion_auc": MetricSpec(0.0, 1.0, False), "insertion_auc": SHARE,
                     "road_morf": MetricSpec(-1.0, 1.0, False), "road_lerf": SIGNED, "road_combined": SIGNED},
}
MEASURES = {kind: tuple(measures) for kind, measures in CAM_MEASURES.items()}
#: the measures that become per-seed metrics (labelbench.metrics.cam_observations); the mask's own share and the
#: ratio stay in the study table
OBSERVED = {**MEASURES, "localisation": ("mass_in_mask", "pointing")}
BOUNDS = {m: spec.bounds for measures in CAM_MEASURES.values() for m, spec in measures.items()}
#: the name pattern of a Grad-CAM metric (labelbench.metrics.cam_observations):
#: cam_[<method>_]<measure>_<depth>_<target>
CAM_METRIC_PATTERN = r"cam_(?:[a-z0-9]+_)?{measure}_[a-z]+_[a-z]+"


def cam_metric_families() -> dict[str, MetricSpec]:
    """Name patterns and ranges of every Grad-CAM metric :func:`labelbench.metrics.cam_observations` writes."""
    return {CAM_METRIC_PATTERN.format(measure=m): CAM_MEASURES[kind][m] for kind, names in OBSERVED.items()
            for m in names}


def top_share_iou(a: np.ndarray, b: np.ndarray, share: float = 0.2) -> float:
    """IoU of the top ``share`` pixels of two maps."""
    k = max(1, int(round(a.size * share)))
    ta = np.zeros(a.size, bool)
    tb = np.zeros(a.size, bool)
    ta[np.argsort(a.ravel(), kind="stable")[-k:]] = True
    tb[np.argsort(b.ravel(), kind="stable")[-k:]] = True
    return float((ta & tb).sum() / (ta | tb).sum())


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Spearman rank correlation of the pixels and IoU of the top 20 % of two maps (NaN for a flat map, which
    ranks nothing: e.g. all zero after the ReLU)."""
    if a.std() == 0 or b.std() == 0:
        return {"spearman": float("nan"), "iou_top20": float("nan")}
    return {"spearman": float(spearmanr(a.ravel(), b.ravel()).statistic), "iou_top20": top_share_iou(a, b)}


def localisation(cam: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Share of the map's mass inside ``mask`` and the mask's share of the image (what a uniform map would
    score), their ratio (above 1: the map points at the object), and the pointing game (the peak inside)."""
    mask = mask > 0
    total = float(cam.sum())
    share = float(mask.mean())
    if total <= 0:
        return {"mass_in_mask": float("nan"), "mask_share": share, "ratio": float("nan"), "pointing": float("nan")}
    inside = float(cam[mask].sum()) / total
    peak = np.unravel_index(np.argmax(cam), cam.shape)
    return {"mass_in_mask": inside, "mask_share": share, "ratio": inside / share if share else float("nan"),
            "pointing": float(mask[peak])}


def summarise_study(table: pd.DataFrame, keys=("kind", "method", "model", "depth", "target"),
                    confidence: float = 0.95) -> pd.DataFrame:
    """Mean and a t-interval over images and seeds per ``keys`` and measure, kept inside each measure's range
    (:func:`labelbench.stats.mean_interval`: Spearman and ROAD's score changes in [-1, 1], the shares and areas in
    [0, 1], the ratio ≥ 0). A group
    whose maps are all flat stays in the table with n = 0."""
    from labelbench.stats import mean_interval

    bounds = BOUNDS
    keys = [k for k in keys if k in table]
    value_cols = [c for cols in MEASURES.values() for c in cols if c in table]
    long = table.melt(id_vars=[*keys, "seed"], value_vars=value_cols, var_name="metric")
    if "kind" in long:
        long = long[[m in MEASURES[k] for k, m in zip(long["kind"], long["metric"], strict=True)]]

    def agg(part):
        est = mean_interval(part["value"], confidence, bounds[part.name[-1]])
        low, high = (est.mean, est.mean) if est.n == 1 else (est.low, est.high)
        return pd.Series({"mean": est.mean, "ci_low": low, "ci_high": high, "n": est.n})

    return long.groupby([*keys, "metric"], sort=False)[["value"]].apply(agg).reset_index()


def merge_seed_tables(paths) -> pd.DataFrame:
    """The per-seed Grad-CAM tables (``gradcam/seed<N>.parquet``, one job each) as one table, in the order given
    (the reference variant's seeds). An empty seed table (no test image of a class) adds no rows."""
    frames = [pd.read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
