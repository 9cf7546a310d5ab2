"""Grad-CAM for Keras 3 functional models, and the numbers that replace looking at heatmaps by eye.

Grad-CAM (Selvaraju et al. 2017): for a layer's activations A (H×W×C) and a class score y_c (the logit, before
the softmax), weights α_c = mean over H×W of ∂y_c/∂A, map = ReLU(Σ_c α_c A_c), upsampled to the image and
scaled to [0, 1]. Written here rather than taken from a library: pytorch-grad-cam is PyTorch-only, and the
Keras example is a recipe, not a package; it is a dozen lines on ``tf.GradientTape``.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from labelbench.cam_scores import agreement, localisation


def _score_layer(model):
    """The logits: the layer named ``logits`` when there is one, else the output."""
    names = {layer.name for layer in model.layers}
    return model.get_layer("logits").output if "logits" in names else model.output


def gradcam(model, images: np.ndarray, layer: str, classes: np.ndarray) -> np.ndarray:
    """N×H×W maps in [0, 1] for ``images`` (N×H×W×C, uint8 or float in [0, 1]) and one class index per image."""
    if layer not in {lyr.name for lyr in model.layers}:
        raise ValueError(f"layer {layer!r} is not in model {model.name}; layers: {[lyr.name for lyr in model.layers]}")
    grad_model = keras.Model(model.inputs, [model.get_layer(layer).output, _score_layer(model)])
    x = tf.convert_to_tensor(images, tf.float32)
    if images.dtype == np.uint8:
        x = x / 255.0
    with tf.GradientTape() as tape:
        acts, scores = grad_model(x, training=False)
        tape.watch(acts)
        chosen = tf.gather(scores, tf.convert_to_tensor(classes, tf.int32), axis=1, batch_dims=1)
    grads = tape.gradient(chosen, acts)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * acts, axis=-1))[..., None]
    cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cam.reshape(len(cam), -1).max(1)[:, None, None]
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0)


def randomised_copy(model):
    """The sanity check's model (Adebayo et al. 2018): same architecture, every weight re-initialised."""
    clone = keras.models.clone_model(model)
    clone.build(model.input_shape)
    return clone


def _test_images(dataset_dir: str, n_per_class: int):
    from labelbench.datasets.store import load_dataset

    ds = load_dataset(dataset_dir).split("test")
    labels = ds.targets()
    pick = np.concatenate([np.flatnonzero(labels == k)[:n_per_class] for k in range(len(ds.classes))])
    masks = ds.masks[pick] if ds.masks is not None else None
    return ds, ds.images[pick], labels[pick], masks, pick


def study_table(models: dict[str, dict[int, str]], reference: str, dataset_dir: str, layers: dict[str, str],
                n_per_class: int) -> pd.DataFrame:
    """Long table of per-image Grad-CAM numbers, for every seed and depth, for the true and the predicted class:
    agreement of ``reference`` (the ordinary model) with each other variant and with its weight-randomised copy;
    localisation (mass in mask, pointing game) of every model."""
    _, images, labels, masks, pick = _test_images(dataset_dir, n_per_class)
    rows = []
    for seed, ref_path in models[reference].items():
        ref = keras.models.load_model(ref_path, compile=False)
        keras.utils.set_random_seed(seed)
        loaded = {reference: ref, "randomised": randomised_copy(ref)}
        loaded.update({v: keras.models.load_model(p[seed], compile=False) for v, p in models.items()
                       if v != reference and seed in p})
        preds = {v: m.predict(images / 255.0, verbose=0).argmax(1) for v, m in loaded.items()}
        for depth, layer in layers.items():
            for target in ("true", "predicted"):
                cams = {v: gradcam(m, images, layer, labels if target == "true" else preds[v])
                        for v, m in loaded.items()}
                for i in range(len(images)):
                    base = {"seed": seed, "depth": depth, "layer": layer, "target": target, "image": int(pick[i]),
                            "label": int(labels[i])}
                    for v in loaded:
                        if v != reference:
                            rows.append({**base, "kind": "agreement", "model": v, "with": reference,
                                         **agreement(cams[reference][i], cams[v][i])})
                        if masks is not None:
                            rows.append({**base, "kind": "localisation", "model": v, "with": "",
                                         **localisation(cams[v][i], masks[i])})
    return pd.DataFrame(rows)


def grid_figure(models: dict[str, str], dataset_dir: str, layer: str, depth: str, which: str, n_per_class: int,
                out: str, dpi: int = 110):
    """Original | first model's CAM | second model's CAM for ``n_per_class`` test images per class, all correctly
    classified by both models (``which = correct``) or misclassified by either (``misclassified``); maps for each
    model's predicted class. ``models`` maps two variant names to their model files (reference first)."""
    from labelbench.figures.common import plt, save

    ds, images, labels, _, _ = _test_images(dataset_dir, 10_000)
    loaded = {name: keras.models.load_model(path, compile=False) for name, path in models.items()}
    names = list(loaded)
    preds = {k: m.predict(images / 255.0, verbose=0).argmax(1) for k, m in loaded.items()}
    wrong = (preds[names[0]] != labels) | (preds[names[1]] != labels)
    keep = ~wrong if which == "correct" else wrong
    chosen = np.concatenate([np.flatnonzero(keep & (labels == k))[:n_per_class] for k in range(len(ds.classes))])
    rows = max(1, len(chosen))
    fig, axes = plt.subplots(rows, 3, figsize=(6.6, 2.2 * rows), squeeze=False)
    if len(chosen):
        cams = {k: gradcam(m, images[chosen], layer, preds[k][chosen]) for k, m in loaded.items()}
    for r, i in enumerate(chosen):
        axes[r, 0].imshow(images[i])
        axes[r, 0].set_title(f"true {ds.classes[labels[i]]}", fontsize=7)
        for c, k in enumerate(names, start=1):
            axes[r, c].imshow(images[i])
            axes[r, c].imshow(cams[k][r], cmap="jet", alpha=0.5, vmin=0, vmax=1)
            axes[r, c].set_title(f"{k}: {ds.classes[preds[k][i]]}", fontsize=7,
                                 color="green" if preds[k][i] == labels[i] else "red")
    for ax in axes.flat:
        ax.axis("off")
    if not len(chosen):
        axes[0, 1].text(0.5, 0.5, f"no {which} test images", ha="center", va="center")
    fig.suptitle(f"Grad-CAM at {depth} ({layer}): {names[0]} vs {names[1]}, {which}", fontsize=9)
    fig.tight_layout()
    save(fig, out, dpi)
