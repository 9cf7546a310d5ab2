"""Losses on probabilities (every model here ends in sigmoid or softmax), found by name.

Each takes ``(y_true, y_pred)`` batches and returns one value per sample; Keras averages over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

EPS = 1e-7
LOSSES: dict[str, Callable[..., Callable]] = {}


def register(fn):
    LOSSES[fn.__name__] = fn
    return fn


def get_loss(name: str, **kwargs) -> Callable:
    if name not in LOSSES:
        raise KeyError(f"loss {name!r} is not registered; expected one of {sorted(LOSSES)}")
    loss = LOSSES[name](**kwargs)
    loss.__name__ = name
    return loss


def _clip(p):
    return ops.clip(p, EPS, 1 - EPS)


@register
def bce_sum():
    """Binary cross-entropy summed over the labels (the mosaic source):
    L = -Σ_k [y_k log p_k + (1 - y_k) log(1 - p_k)]."""

    def loss(y_true, y_pred):
        p = _clip(y_pred)
        return -ops.sum(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p), axis=-1)

    return loss


@register
def cce_renorm():
    """The source's categorical CE as the Keras it used computed it on sigmoid outputs: the outputs are
    renormalised to sum 1, then L = -Σ_k y_k log(p_k / Σ_j p_j). On 4-hot targets its minimum is 4·ln 4."""

    def loss(y_true, y_pred):
        q = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        return -ops.sum(y_true * ops.log(_clip(q)), axis=-1)

    return loss


@register
def cce_keras3():
    """The same source line under Keras 3: ``keras.losses.categorical_crossentropy(y, sigmoid_output)``.
    On the TensorFlow backend Keras 3 finds the logits the sigmoid kept on its output and computes softmax
    CE on them, whatever the output activation was."""

    def loss(y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred)

    return loss


@register
def mse():
    """Mean squared error over the labels: L = mean_k (y_k - p_k)²."""

    def loss(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    return loss


@register
def focal(gamma: float = 2.0, alpha: float | None = None):
    """Binary focal loss (Lin et al. 2017) summed over labels:
    L = -Σ_k [α y (1-p)^γ log p + (1-α)(1-y) p^γ log(1-p)] (α = 0.5·2 = no weighting when None)."""

    def loss(y_true, y_pred):
        p = _clip(y_pred)
        a_pos, a_neg = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
        pos = a_pos * y_true * ops.power(1 - p, gamma) * ops.log(p)
        neg = a_neg * (1 - y_true) * ops.power(p, gamma) * ops.log(1 - p)
        return -ops.sum(pos + neg, axis=-1)

    return loss


@register
def asl(gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05):
    """Asymmetric Loss (Ridnik et al. 2021) with its defaults γ+ = 0, γ- = 4, clip m = 0.05:
    p_m = max(p - m, 0); L = -Σ_k [y (1-p)^γ+ log p + (1-y) p_m^γ- log(1 - p_m)]."""

    def loss(y_true, y_pred):
        p = _clip(y_pred)
        p_m = ops.maximum(p - clip, 0.0)
        pos = y_true * ops.power(1 - p, gamma_pos) * ops.log(p)
        neg = (1 - y_true) * ops.power(p_m, gamma_neg) * ops.log(_clip(1 - p_m))
        return -ops.sum(pos + neg, axis=-1)

    return loss


@register
def masked_cce(n_classes: int = 10):
    """The masked source's loss: targets carry one extra column, a 0/1 weight, and
    L = CE(y[:, :n], p) · y[:, n] — rows whose weight is 0 contribute nothing, not even a gradient."""

    def loss(y_true, y_pred):
        labels, weight = y_true[:, :n_classes], y_true[:, n_classes]
        return keras.losses.categorical_crossentropy(labels, y_pred) * weight

    return loss


@register
def cce():
    """Categorical cross-entropy on softmax probabilities: L = -Σ_k y_k log p_k."""

    def loss(y_true, y_pred):
        return -ops.sum(y_true * ops.log(_clip(y_pred)), axis=-1)

    return loss
