"""Grad-CAM for Keras 3 functional models on any backend, and the numbers that replace looking at heatmaps by eye.

Grad-CAM (Selvaraju et al. 2017): for a layer's activations A (H×W×C) and a class score y_c (the logit, before
the softmax), weights α_c = mean over H×W of ∂y_c/∂A, map = ReLU(Σ_c α_c A_c), upsampled to the image and
scaled to [0, 1]. Written here rather than taken from a library: pytorch-grad-cam is PyTorch-only, and the
Keras example is a recipe for TensorFlow, not a package. The gradient comes from the backend Keras runs on
(``tf.GradientTape``, ``jax.grad`` or ``torch.autograd``: :func:`labelbench.keras.grad.gradients`); how the
layer's activations and gradients combine into a map (Grad-CAM, Grad-CAM++, HiResCAM) is
:func:`labelbench.cam_methods.combine`, framework-free and tested against pytorch-grad-cam; so every backend gives
the same N×H×W maps (tests/test_backends.py compares them). With faithfulness on, each localisation row's map is
also scored by :mod:`labelbench.cam_faithfulness` (ROAD, deletion/insertion).
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import ops

from labelbench.cam_faithfulness import faithfulness_many
from labelbench.cam_methods import combine
from labelbench.cam_scores import agreement, localisation
from labelbench.keras.grad import gradients, to_numpy


def _score_layer(model):
    """The logits: the layer named ``logits`` when there is one, else the output."""
    names = {layer.name for layer in model.layers}
    return model.get_layer("logits").output if "logits" in names else model.output


def gradcam(model, images: np.ndarray, layer: str, classes: np.ndarray, method: str = "gradcam") -> np.ndarray:
    """N×H×W maps in [0, 1] (float32) for ``images`` (N×H×W×C, uint8 or float in [0, 1]) and one class index per
    image, by ``method`` (labelbench.cam_methods.KERAS_METHODS).

    The model is split at ``layer``: ``features`` computes its activations A from the image, ``head`` the scores
    from the image and A (the image too, for any path that bypasses the layer, such as a residual shortcut),
    so the scores are a function of A that every backend can differentiate.
    """
    if layer not in {lyr.name for lyr in model.layers}:
        raise ValueError(f"layer {layer!r} is not in model {model.name}; layers: {[lyr.name for lyr in model.layers]}")
    acts_node = model.get_layer(layer).output
    features = keras.Model(model.inputs, acts_node)
    head = keras.Model([model.inputs[0], acts_node], _score_layer(model))
    x = np.asarray(images, np.float32)
    if images.dtype == np.uint8:
        x = x / np.float32(255)
    x = ops.convert_to_tensor(x)
    picked = ops.convert_to_tensor(np.asarray(classes, np.int32).reshape(-1, 1))
    acts = features(x, training=False)

    def chosen_scores(a):
        return ops.sum(ops.take_along_axis(head([x, a], training=False), picked, axis=1))

    grads = gradients(chosen_scores, [acts])[0]
    raw = combine(method, to_numpy(acts).astype(np.float64), to_numpy(grads).astype(np.float64))
    cam = ops.convert_to_tensor(raw.astype(np.float32)[..., None])
    cam = to_numpy(ops.image.resize(cam, images.shape[1:3], interpolation="bilinear"))[..., 0]
    peak = cam.reshape(len(cam), -1).max(1)[:, None, None]
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0).astype(np.float32)


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


#: pixels a forward pass of the faithfulness scorer takes at once: 512 images at 32 px, 46 at Xception's 299 px
#: (512 at 299 px held ~0.5 GB of input alone, and the paper miniature's Grad-CAM job was killed for memory)
SCORE_PIXELS = 2**22


def _scorer(model, images: np.ndarray, classes: np.ndarray):
    """``score(batch, owner)`` for labelbench.cam_faithfulness: the model's output for the class explained in the
    image each perturbed one comes from, in chunks of at most 512 images and :data:`SCORE_PIXELS` pixels."""

    def score(batch: np.ndarray, owner: np.ndarray) -> np.ndarray:
        chunk = max(1, min(512, SCORE_PIXELS // (batch.shape[1] * batch.shape[2])))
        # convert_to_numpy, not np.asarray: on Keras's torch backend the output is a tensor that requires grad
        out = np.concatenate([ops.convert_to_numpy(model(batch[i:i + chunk].astype(np.float32), training=False))
                              for i in range(0, len(batch), chunk)])
        return out[np.arange(len(out)), classes[owner]]

    return score


def study_table(models: dict[str, dict[int, str]], reference: str, dataset_dir: str, layers: dict[str, str],
                n_per_class: int, methods: tuple[str, ...] = ("gradcam",), with_faithfulness: bool = False,
                steps: int = 8) -> pd.DataFrame:
    """Long table of per-image CAM numbers, for every seed, depth and method, for the true and the predicted class:
    agreement of ``reference`` (the ordinary model) with each other variant and with its weight-randomised copy;
    localisation (mass in mask, pointing game) of every model; with ``with_faithfulness``, the faithfulness of
    every trained model's maps of its predicted class (kind ``faithfulness``: deletion/insertion areas, ROAD).

    The seeds of ``reference`` in order, each computed by :func:`seed_table` alone (the pipeline runs one job per
    seed, side by side, and concatenates them in this order)."""
    frames = [seed_table({v: p[seed] for v, p in models.items() if seed in p}, seed, reference, dataset_dir,
                         layers, n_per_class, methods, with_faithfulness, steps)
              for seed in models[reference]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def seed_table(models: dict[str, str], seed: int, reference: str, dataset_dir: str, layers: dict[str, str],
               n_per_class: int, methods: tuple[str, ...] = ("gradcam",), with_faithfulness: bool = False,
               steps: int = 8) -> pd.DataFrame:
    """The rows of :func:`study_table` for one seed: ``models`` maps each variant to its model file of ``seed``.
    Everything random here (the randomised copy's weights, ROAD's imputation noise) is drawn from ``seed`` alone,
    so a seed's rows are the same whether computed alone or beside other seeds."""
    _, images, labels, masks, pick = _test_images(dataset_dir, n_per_class)
    rows = []
    ref = keras.models.load_model(models[reference], compile=False)
    keras.utils.set_random_seed(seed)
    loaded = {reference: ref, "randomised": randomised_copy(ref)}
    loaded.update({v: keras.models.load_model(p, compile=False) for v, p in models.items() if v != reference})
    preds = {v: m.predict(images / 255.0, verbose=0).argmax(1) for v, m in loaded.items()}
    rng = np.random.default_rng(seed)  # ROAD's imputation noise
    for depth, layer in layers.items():
        for method in methods:
            for target in ("true", "predicted"):
                cams = {v: gradcam(m, images, layer, labels if target == "true" else preds[v], method)
                        for v, m in loaded.items()}
                faithful = {}
                if with_faithfulness and target == "predicted":
                    faithful = {v: faithfulness_many(images / 255.0, cams[v], _scorer(m, images, preds[v]), steps,
                                                     rng)
                                for v, m in loaded.items() if v != "randomised"}
                for i in range(len(images)):
                    base = {"seed": seed, "depth": depth, "layer": layer, "method": method, "target": target,
                            "image": int(pick[i]), "label": int(labels[i])}
                    for v in loaded:
                        if v != reference:
                            rows.append({**base, "kind": "agreement", "model": v, "with": reference,
                                         **agreement(cams[reference][i], cams[v][i])})
                        if masks is not None:
                            rows.append({**base, "kind": "localisation", "model": v, "with": "",
                                         **localisation(cams[v][i], masks[i])})
                        if v in faithful:
                            rows.append({**base, "kind": "faithfulness", "model": v, "with": "",
                                         **faithful[v][i]})
    return pd.DataFrame(rows)


def grid_figure(models: dict[str, str], dataset_dir: str, layer: str, depth: str, which: str, n_per_class: int,
                out: str, dpi: int = 110, method: str = "gradcam"):
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
        cams = {k: gradcam(m, images[chosen], layer, preds[k][chosen], method) for k, m in loaded.items()}
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
    fig.suptitle(f"{method} at {depth} ({layer}): {names[0]} vs {names[1]}, {which}", fontsize=9)
    fig.tight_layout()
    save(fig, out, dpi)
