"""Per-dataset figures: a sample grid with labels, and the label distribution per split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from labelbench.datasets.store import SIDECAR, load_dataset
from labelbench.errors import DataError
from labelbench.figures.common import plt, save
from labelbench.images import decode_image


def _label_text(row: pd.Series, ds) -> str:
    if ds.task == "multilabel":
        return ", ".join(c for c in ds.classes if row[f"tag_{c}"])
    if ds.task == "landmark":
        return "object" if row["presence"] else "empty"
    return ds.classes[int(row["label"])]


def _grid(images: list[np.ndarray], titles: list[str], points: list[np.ndarray | None] | None = None):
    n = len(images)
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if not images:
        axes.flat[0].text(0.5, 0.5, "no readable image", ha="center", va="center")
    for i, (ax, im, title) in enumerate(zip(axes.flat, images, titles, strict=False)):
        gray = im.ndim == 3 and im.shape[-1] == 1
        # only the channel axis is dropped: squeeze() would also drop the sides of a 1×1 image
        ax.imshow(im[..., 0] if gray else im, cmap="gray" if gray else None, interpolation="nearest")
        if points is not None and points[i] is not None:
            ax.scatter(points[i][:, 0] - 0.5, points[i][:, 1] - 0.5, s=12, c="lime", edgecolors="black")
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return fig


def dataset_figures(dataset_dir, samples_png, labels_png, n: int = 16, dpi: int = 110, seed: int = 0) -> None:
    dataset_dir = Path(dataset_dir)
    sidecar = json.loads((dataset_dir / SIDECAR).read_text())
    rng = np.random.default_rng(seed)
    if sidecar.get("layout") == "nuswide":
        _nuswide_figures(dataset_dir, sidecar, samples_png, labels_png, n, dpi, rng)
        return
    ds = load_dataset(dataset_dir, mmap=True)
    idx = np.sort(rng.choice(len(ds.images), size=min(n, len(ds.images)), replace=False))
    rows = ds.samples.iloc[idx]
    points = None
    if ds.task == "landmark":
        kx = sorted(c for c in ds.samples if c.startswith("kp") and c.endswith("_x"))
        points = [
            np.stack([r[kx].to_numpy(float), r[[c[:-1] + "y" for c in kx]].to_numpy(float)], 1)
            if r["presence"] else None
            for _, r in rows.iterrows()
        ]
    fig = _grid([ds.images[i] for i in idx], [_label_text(r, ds) for _, r in rows.iterrows()], points)
    save(fig, samples_png, dpi)

    if ds.task == "multilabel":
        counts = ds.samples.groupby("split")[ds.tag_columns].sum().T
        counts.index = ds.classes
        long = counts.reset_index(names="label").melt(id_vars="label", var_name="split", value_name="count")
    elif ds.task == "landmark":
        long = (
            ds.samples.assign(label=np.where(ds.samples["presence"] > 0, "object", "empty"))
            .groupby(["split", "label"]).size().reset_index(name="count")
        )
    else:
        long = (
            ds.samples.assign(label=[ds.classes[i] for i in ds.samples["label"]])
            .groupby(["split", "label"]).size().reset_index(name="count")
        )
    _bars(long, labels_png, dpi)


def _bars(long: pd.DataFrame, path, dpi: int) -> None:
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * long["label"].nunique() + 2), 3.2))
    sns.barplot(data=long, x="label", y="count", hue="split", ax=ax)
    ax.tick_params(axis="x", rotation=60)
    ax.set_xlabel("")
    fig.tight_layout()
    save(fig, path, dpi)


def _nuswide_figures(dataset_dir, sidecar, samples_png, labels_png, n, dpi, rng) -> None:
    records = []
    for split in ("train", "test"):
        ann = json.loads((dataset_dir / f"small_{split}.json").read_text())
        records += [{**s, "split": split} for s in ann["samples"]]
    skipped = {(split, name) for split, names in (sidecar.get("skipped") or {}).items() for name in names}
    present = [r for r in records if (r["split"], r["image_name"]) not in skipped
               and (dataset_dir / r["image_name"]).is_file()]
    shown = {}
    for i in rng.permutation(len(present)):  # random picks until n decode (the build skipped what it could not)
        if len(shown) == n:
            break
        try:
            shown[i] = np.asarray(decode_image(dataset_dir / present[i]["image_name"]))
        except DataError:
            continue
    images = [shown[i] for i in sorted(shown)]
    titles = [", ".join(present[i]["image_labels"]) for i in sorted(shown)]
    save(_grid(images, titles), samples_png, dpi)
    long = pd.DataFrame(
        [{"label": t, "split": r["split"]} for r in records for t in r["image_labels"]]
    ).groupby(["split", "label"]).size().reset_index(name="count")
    order = long.groupby("label")["count"].sum().sort_values(ascending=False).index
    long["label"] = pd.Categorical(long["label"], categories=order, ordered=True)
    _bars(long.sort_values("label"), labels_png, dpi)
