"""Figures of the experiments, drawn from the stored tables (no deep-learning framework imported)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import confusion_matrix

from labelbench.datasets.store import load_dataset
from labelbench.figures.common import plt, save
from labelbench.metrics import prob_columns
from labelbench.runs import run_parts

CURVE_METRICS = {
    "mosaic": ["loss", "exact_match", "val_exact_match"],
    "masked": ["loss", "val_loss"],
    "landmark": ["loss", "val_presence_acc", "val_kp_error_norm"],
    "tagging": ["loss", "val_macro_f1", "val_micro_f1"],
    "complementary": ["loss", "val_loss"],
}
BAR_METRICS = {
    "mosaic": ["exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "map"],
    "masked": ["accuracy", "acc_even", "acc_odd"],
    "landmark": ["presence_acc", "presence_auc", "empty_fpr", "kp_error_norm"],
    "tagging": ["micro_f1", "macro_f1", "samples_f1", "macro_f1_tuned", "map", "exact_match"],
}


def curves(histories: list[str], experiment: str):
    hist = pd.concat([pd.read_csv(p) for p in histories], ignore_index=True)
    cols = [c for c in CURVE_METRICS.get(experiment, ["loss"]) if c in hist]
    long = hist.melt(id_vars=["variant", "seed", "epoch"], value_vars=cols, var_name="metric")
    grid = sns.relplot(data=long, x="epoch", y="value", hue="variant", col="metric", kind="line",
                       errorbar=("pi", 100), facet_kws={"sharey": False}, height=3, aspect=1.2)
    grid.set_titles("{col_name}")
    grid.figure.suptitle(f"{experiment}: per-epoch curves (band: range over seeds)", y=1.03)
    return grid.figure


def metric_bars(summary: str, experiment: str):
    table = pd.read_csv(summary)
    table = table[table["metric"].isin(BAR_METRICS.get(experiment, table["metric"].unique()))]
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
    grid.figure.suptitle(f"{experiment}: mean over seeds with 95 % interval", y=1.03)
    return grid.figure


def _first_seed(predictions: list[str], variant: str | None = None) -> tuple[pd.DataFrame, str]:
    path = next((p for p in predictions if run_parts(p)[0] == variant), predictions[0])
    return pd.read_parquet(path), path


def _example_grid(n: int, available: int, cols_n: int, width: float, height: float):
    """A grid for ``n`` example images, or as many as the test split holds (a small subset may hold fewer): the
    figure, its axes (unused ones blank) and the number of images to draw."""
    n = max(1, min(n, available))
    rows = int(np.ceil(n / cols_n))
    fig, axes = plt.subplots(rows, cols_n, figsize=(width * cols_n, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat, n


def mosaic_examples(predictions: list[str], dataset_dir: str, n: int = 12, threshold: float = 0.5):
    preds, path = _first_seed(predictions, "bce")
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
    variant, seed = run_parts(path)
    fig.suptitle(f"test mosaics, {variant} (seed {seed})")
    fig.tight_layout()
    return fig


def _variant_runs(predictions: list[str]) -> dict[str, str]:
    """First seed's predictions of every variant."""
    runs: dict[str, str] = {}
    for p in predictions:
        runs.setdefault(run_parts(p)[0], p)
    return runs


def confusion(predictions: list[str], split: str = "train"):
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


def class_counts(predictions: list[str], split: str = "train"):
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


def landmark_examples(predictions: list[str], dataset_dir: str, variant: str = "masked", n: int = 12):
    """Test images with true (green circles) and predicted (red crosses) keypoints; the title gives the true
    presence and the predicted probability."""
    preds, path = _first_seed(predictions, variant)
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
    v, seed = run_parts(path)
    fig.suptitle(f"test images, {v} (seed {seed}): true keypoints o, predicted x")
    fig.tight_layout()
    return fig


def keypoint_error_distribution(predictions: list[str]):
    """Per-image keypoint error (pixels) on test images with an object, every variant, all seeds."""
    from labelbench.metrics import keypoint_errors

    rows = []
    for path in predictions:
        variant, seed = run_parts(path)
        part = pd.read_parquet(path).query("split == 'test' and true_presence > 0.5")
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


def tag_frequency(predictions: list[str]):
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


def tagging_examples(predictions: list[str], dataset_dir: str, n: int = 12, threshold: float = 0.5):
    from labelbench.images import decode_image

    path = predictions[0]
    part = pd.read_parquet(path).query("split == 'test'").reset_index(drop=True)
    cols = prob_columns(part)
    fig, axes, n = _example_grid(n, len(part), 4, 3.2, 3.6)
    for ax, i in zip(axes, range(n), strict=False):
        ax.imshow(decode_image(f"{dataset_dir}/{part.loc[i, 'image_name']}"))
        true = {c[2:] for c in cols if part.loc[i, f"tag_{c[2:]}"] > 0.5}
        pred = {c[2:] for c in cols if part.loc[i, c] >= threshold}
        ax.set_title(f"true: {', '.join(sorted(true))}\npred: {', '.join(sorted(pred)) or '—'}", fontsize=7,
                     color="green" if true == pred else "red")
        ax.axis("off")
    variant, seed = run_parts(path)
    fig.suptitle(f"test images, {variant} (seed {seed}): true vs predicted tags at {threshold}")
    fig.tight_layout()
    return fig


def per_tag_f1(predictions: list[str], threshold: float = 0.5):
    from labelbench.metrics import per_tag_summary

    table = per_tag_summary(predictions, threshold)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.scatterplot(data=table, x="frequency", y="f1", hue="variant", style="variant", ax=ax, s=50)
    ax.set_xscale("log")
    ax.set_xlabel("tag frequency in the test split (log)")
    ax.set_ylabel("F1 at 0.5 (mean over seeds)")
    ax.set_title("per-tag F1 against tag frequency")
    fig.tight_layout()
    return fig


def experiment_figure(figure, experiment, summary, histories, predictions, dataset_dir, out, dpi=110):
    if figure == "curves":
        fig = curves(histories, experiment)
    elif figure == "metrics":
        fig = metric_bars(summary, experiment)
    elif figure == "tag_frequency":
        fig = tag_frequency(predictions)
    elif figure == "per_tag_f1":
        fig = per_tag_f1(predictions)
    elif figure == "examples" and experiment == "tagging":
        fig = tagging_examples(predictions, dataset_dir)
    elif figure == "examples" and experiment == "landmark":
        fig = landmark_examples(predictions, dataset_dir)
    elif figure == "examples":
        fig = mosaic_examples(predictions, dataset_dir)
    elif figure == "kp_error":
        fig = keypoint_error_distribution(predictions)
    elif figure == "confusion":
        fig = confusion(predictions, split="test" if experiment == "complementary" else "train")
    elif figure == "class_counts":
        fig = class_counts(predictions)
    else:
        raise ValueError(f"unknown figure {figure!r}")
    save(fig, out, dpi)
