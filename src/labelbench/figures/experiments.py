"""Figures of the experiments, drawn from the stored tables (no deep-learning framework imported).

Every drawing function takes keyword arguments ``experiment`` (the :class:`~labelbench.experiments.Experiment`),
``summary``, ``histories``, ``predictions`` (paths, in the config's order of variants and seeds) and
``dataset_dir``, uses what it needs, and returns a matplotlib figure. Which figures an experiment has, and which
function draws each, is the experiment's declaration (``figures``, ``figure``). Who made a run is read from the
tables' experiment, variant and seed columns, never from a path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import confusion_matrix

from labelbench.datasets.store import load_dataset
from labelbench.figures.common import plt
from labelbench.metric_kernels import prob_columns, run_identity


def _identity(path: str) -> tuple[str, int]:
    """(variant, seed) of a run's predictions, from their columns."""
    _, variant, seed = run_identity(pd.read_parquet(path, columns=["experiment", "variant", "seed"]).head(1))
    return variant, seed


def curves(*, experiment, histories: list[str], **_):
    hist = pd.concat([pd.read_csv(p) for p in histories], ignore_index=True)
    cols = [c for c in experiment.curve_metrics if c in hist] or ["loss"]
    long = hist.melt(id_vars=["variant", "seed", "epoch"], value_vars=cols, var_name="metric")
    grid = sns.relplot(data=long, x="epoch", y="value", hue="variant", col="metric", kind="line",
                       errorbar=("pi", 100), facet_kws={"sharey": False}, height=3, aspect=1.2)
    grid.set_titles("{col_name}")
    grid.figure.suptitle(f"{experiment.name}: per-epoch curves (band: range over seeds)", y=1.03)
    return grid.figure


def metric_bars(*, experiment, summary: str, **_):
    table = pd.read_csv(summary)
    table = table[table["metric"].isin(experiment.bar_metrics or table["metric"].unique())]
    grid = sns.catplot(data=table, x="metric", y="mean", hue="variant", col="split", kind="bar",
                       height=3.2, aspect=1.5, errorbar=None)
    for ax, (_, part) in zip(grid.axes.flat, table.groupby("split", sort=True), strict=False):
        for container, (_, rows) in zip(ax.containers, part.groupby("variant", sort=False), strict=False):
            rows = rows.set_index("metric")
            for bar, label in zip(container, [t.get_text() for t in ax.get_xticklabels()], strict=False):
                if label in rows.index:
                    r = rows.loc[label]
                    x = bar.get_x() + bar.get_width() / 2
                    ax.plot([x, x], [r["ci_low"], r["ci_high"]], color="black", linewidth=1)
    grid.set_titles("{col_name} split")
    grid.figure.suptitle(f"{experiment.name}: mean over seeds with 95 % interval", y=1.03)
    return grid.figure


def _first_run(predictions: list[str]) -> tuple[pd.DataFrame, str, int]:
    """The first run's predictions (the config's first variant, its first seed), its variant and seed."""
    preds = pd.read_parquet(predictions[0])
    _, variant, seed = run_identity(preds)
    return preds, variant, seed


def _example_grid(n: int, available: int, cols_n: int, width: float, height: float):
    """A grid for ``n`` example images, or as many as the test split holds (a small subset may hold fewer): the
    figure, its axes (unused ones blank) and the number of images to draw."""
    n = max(1, min(n, available))
    rows = int(np.ceil(n / cols_n))
    fig, axes = plt.subplots(rows, cols_n, figsize=(width * cols_n, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat, n


def mosaic_examples(*, predictions: list[str], dataset_dir: str, n: int = 12, threshold: float = 0.5, **_):
    preds, variant, seed = _first_run(predictions)
    ds = load_dataset(dataset_dir, mmap=True)
    test = ds.samples.index[ds.samples["split"] == "test"].to_numpy()
    part = preds[preds["split"] == "test"].reset_index(drop=True)
    cols = prob_columns(part)
    fig, axes, n = _example_grid(n, len(part), 4, 3.0, 3.4)
    for ax, i in zip(axes, range(n), strict=False):
        ax.imshow(ds.images[test[part.loc[i, "sample"]]])
        true = {c for c in ds.classes if part.loc[i, f"tag_{c}"]}
        pred = {c[2:] for c in cols if part.loc[i, c] >= threshold}
        ax.set_title(f"true: {', '.join(sorted(true))}\npred: {', '.join(sorted(pred)) or '—'}",
                     fontsize=7, color="green" if true == pred else "red")
        ax.axis("off")
    fig.suptitle(f"test mosaics, {variant} (seed {seed})")
    fig.tight_layout()
    return fig


def _variant_runs(predictions: list[str]) -> dict[str, str]:
    """First seed's predictions of every variant."""
    runs: dict[str, str] = {}
    for p in predictions:
        runs.setdefault(_identity(p)[0], p)
    return runs


def confusion(*, experiment, predictions: list[str], **_):
    split = experiment.confusion_split
    runs = _variant_runs(predictions)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.8), squeeze=False)
    for ax, (variant, path) in zip(axes.flat, runs.items(), strict=True):
        part = pd.read_parquet(path).query("split == @split")
        pred = part[prob_columns(part)].to_numpy().argmax(1)
        cm = confusion_matrix(part["label"], pred, labels=range(len(prob_columns(part))))
        sns.heatmap(cm, annot=True, fmt="d", cbar=False, ax=ax, annot_kws={"fontsize": 6}, cmap="Blues")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{variant} ({split})")
    fig.tight_layout()
    return fig


def class_counts(*, experiment, predictions: list[str], **_):
    split = experiment.confusion_split
    rows = []
    for variant, path in _variant_runs(predictions).items():
        part = pd.read_parquet(path).query("split == @split")
        pred = part[prob_columns(part)].to_numpy().argmax(1)
        k = len(prob_columns(part))
        for kind, values in (("true", part["label"].to_numpy()), ("predicted", pred)):
            counts = np.bincount(values, minlength=k)
            rows += [{"variant": variant, "kind": kind, "class": c, "count": int(counts[c])} for c in range(k)]
    grid = sns.catplot(data=pd.DataFrame(rows), x="class", y="count", hue="kind", col="variant", kind="bar",
                       height=3, aspect=1.2)
    grid.figure.suptitle(f"true vs predicted class counts ({split} split)", y=1.03)
    return grid.figure


def landmark_examples(*, predictions: list[str], dataset_dir: str, n: int = 12, **_):
    """Test images with true (green circles) and predicted (red crosses) keypoints of the first run; the title
    gives the true presence and the predicted probability."""
    preds, v, seed = _first_run(predictions)
    preds = preds.query("split == 'test'").reset_index(drop=True)
    ds = load_dataset(dataset_dir, mmap=True)
    test = ds.samples.index[ds.samples["split"] == "test"].to_numpy()
    size = int(preds["image_size"].iloc[0])
    kp = [c[2:] for c in prob_columns(preds) if c != "p_presence"]
    fig, axes, n = _example_grid(n, len(preds), 6, 2.2, 2.5)
    for ax, i in zip(axes, range(n), strict=False):
        row = preds.loc[i]
        ax.imshow(ds.images[test[row["sample"]]])
        true = row[[f"true_{c}" for c in kp]].to_numpy(float).reshape(-1, 2) * size
        pred = row[[f"p_{c}" for c in kp]].to_numpy(float).reshape(-1, 2) * size
        if row["true_presence"] > 0.5:
            ax.scatter(true[:, 0], true[:, 1], s=30, facecolors="none", edgecolors="lime", linewidths=1.5)
        if row["p_presence"] >= 0.5:
            ax.scatter(pred[:, 0], pred[:, 1], s=30, marker="x", color="red", linewidths=1.5)
        ax.set_title(f"present {int(row['true_presence'])}, p={row['p_presence']:.2f}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"test images, {v} (seed {seed}): true keypoints o, predicted x")
    fig.tight_layout()
    return fig


def keypoint_error_distribution(*, predictions: list[str], **_):
    """Per-image keypoint error (pixels) on test images with an object, every variant, all seeds."""
    from labelbench.metric_kernels import keypoint_errors

    rows = []
    for path in predictions:
        part = pd.read_parquet(path).query("split == 'test' and true_presence > 0.5")
        _, variant, seed = run_identity(pd.read_parquet(path, columns=["experiment", "variant", "seed"]))
        kp = [c[2:] for c in prob_columns(part) if c != "p_presence"]
        true, pred = part[[f"true_{c}" for c in kp]].to_numpy(float), part[[f"p_{c}" for c in kp]].to_numpy(float)
        err = keypoint_errors(true, pred)
        rows.append(pd.DataFrame({"variant": variant, "seed": seed, "error_px": err * part["image_size"].to_numpy()}))
    table = pd.concat(rows, ignore_index=True)
    fig, ax = plt.subplots(figsize=(1.6 * table["variant"].nunique() + 2, 3.6))
    sns.boxplot(data=table, x="variant", y="error_px", ax=ax, showfliers=False)
    ax.set_ylabel("keypoint error on images with an object (px)")
    ax.set_title("keypoint error per test image, all seeds")
    fig.tight_layout()
    return fig


def tag_frequency(*, predictions: list[str], **_):
    """How often each tag occurs in the test split: the imbalance the macro scores pay for."""
    part = pd.read_parquet(predictions[0]).query("split == 'test'")
    tags = [c[4:] for c in part.columns if c.startswith("tag_")]
    counts = pd.DataFrame({"tag": tags, "count": [int(part[f"tag_{t}"].sum()) for t in tags]})
    counts = counts.sort_values("count", ascending=False)
    fig, ax = plt.subplots(figsize=(7, 0.25 * len(tags) + 1))
    sns.barplot(data=counts, y="tag", x="count", ax=ax, color="steelblue")
    ax.set_title(f"tag frequency, test split ({len(part)} images)")
    fig.tight_layout()
    return fig


def tagging_examples(*, predictions: list[str], dataset_dir: str, n: int = 12, threshold: float = 0.5, **_):
    from labelbench.images import decode_image

    preds, variant, seed = _first_run(predictions)
    part = preds.query("split == 'test'").reset_index(drop=True)
    cols = prob_columns(part)
    fig, axes, n = _example_grid(n, len(part), 4, 3.2, 3.6)
    for ax, i in zip(axes, range(n), strict=False):
        ax.imshow(decode_image(f"{dataset_dir}/{part.loc[i, 'image_name']}"))
        true = {c[2:] for c in cols if part.loc[i, f"tag_{c[2:]}"] > 0.5}
        pred = {c[2:] for c in cols if part.loc[i, c] >= threshold}
        ax.set_title(f"true: {', '.join(sorted(true))}\npred: {', '.join(sorted(pred)) or '—'}", fontsize=7,
                     color="green" if true == pred else "red")
        ax.axis("off")
    fig.suptitle(f"test images, {variant} (seed {seed}): true vs predicted tags at {threshold}")
    fig.tight_layout()
    return fig


def per_tag_f1(*, predictions: list[str], threshold: float = 0.5, **_):
    from labelbench.metric_kernels import per_tag_summary

    table = per_tag_summary(predictions, threshold)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.scatterplot(data=table, x="frequency", y="f1", hue="variant", style="variant", ax=ax, s=50)
    ax.set_xscale("log")
    ax.set_xlabel("tag frequency in the test split (log)")
    ax.set_ylabel("F1 at 0.5 (mean over seeds)")
    ax.set_title("per-tag F1 against tag frequency")
    fig.tight_layout()
    return fig
