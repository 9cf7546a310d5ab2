"""Losses on probabilities (every model here ends in sigmoid or softmax), found by name.

Each takes ``(y_true, y_pred)`` batches and returns one value per sample; Keras averages over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from labelbench.errors import RankError

EPS = 1e-7
LOSSES: dict[str, Callable[..., Callable]] = {}
#: what each loss reads from its targets: plain ``labels`` (one- or multi-hot, or any [0, 1] targets),
#: ``weighted_labels`` (one-hot + a 0/1 weight column), ``keypoint_rows`` ([presence, x1, y1, ...]) or
#: ``complementary_labels`` (the classes an image is not)
TARGETS: dict[str, str] = {}
#: what a loss needs from its dataset besides the targets: {argument: dotted key of the dataset's sidecar}
NEEDS: dict[str, dict[str, str]] = {}


def register(targets: str = "labels", needs: dict[str, str] | None = None):
    """Register a loss builder under its function name, declaring the targets it reads and what it needs from the
    dataset (the trainer fills those arguments from the sidecar). Arguments must be literals: labelbench.registry
    reads them from this file without importing it, for the config check."""

    def add(fn):
        LOSSES[fn.__name__] = fn
        TARGETS[fn.__name__] = targets
        NEEDS[fn.__name__] = dict(needs or {})
        return fn

    return add


def get_loss(name: str, **kwargs) -> Callable:
    """The registered loss ``name`` built with ``kwargs``, behind the rank-2 guard."""
    if name not in LOSSES:
        raise KeyError(f"loss {name!r} is not registered; expected one of {sorted(LOSSES)}")
    inner = LOSSES[name](**kwargs)

    def loss(y_true, y_pred):
        require_rank2(y_true, y_pred, name)
        return inner(y_true, y_pred)

    loss.__name__ = name
    return loss


def require_rank2(y_true, y_pred, name: str = "loss") -> None:
    """Refuse rank-1 targets or predictions: a per-sample loss on rank-1 slices silently reduces over the
    batch and returns one scalar that broadcasts back (the landmark source's pitfall)."""
    for what, t in (("y_true", y_true), ("y_pred", y_pred)):
        if len(t.shape) < 2:
            raise RankError(
                f"{name}: {what} has shape {tuple(t.shape)} (rank {len(t.shape)}); expected rank 2, (batch, k). "
                "Slice with [:, :1] or expand_dims rather than [:, 0]."
            )


def _clip(p):
    return ops.clip(p, EPS, 1 - EPS)


@register()
def bce_sum():
    """Binary cross-entropy summed over the labels (the mosaic source):
    L = -Σ_k [y_k log p_k + (1 - y_k) log(1 - p_k)]."""

    def loss(y_true, y_pred):
        p = _clip(y_pred)
        return -ops.sum(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p), axis=-1)

    return loss


@register()
def cce_renorm():
    """The source's categorical CE as the Keras it used computed it on sigmoid outputs: the outputs are
    renormalised to sum 1, then L = -Σ_k y_k log(p_k / Σ_j p_j). On 4-hot targets its minimum is 4·ln 4."""

    def loss(y_true, y_pred):
        q = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        return -ops.sum(y_true * ops.log(_clip(q)), axis=-1)

    return loss


@register()
def cce_keras3():
    """The same source line under Keras 3: ``keras.losses.categorical_crossentropy(y, sigmoid_output)``.
    On the TensorFlow backend Keras 3 finds the logits the sigmoid kept on its output and computes softmax
    CE on them, whatever the output activation was."""

    def loss(y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred)

    return loss


@register()
def mse():
    """Mean squared error over the labels: L = mean_k (y_k - p_k)²."""

    def loss(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    return loss


@register()
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


@register()
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


@register(targets="weighted_labels")
def masked_cce(n_classes: int = 10):
    """The masked source's loss: targets carry one extra column, a 0/1 weight, and
    L = CE(y[:, :n], p) · y[:, n] — rows whose weight is 0 contribute nothing, not even a gradient."""

    def loss(y_true, y_pred):
        labels, weight = y_true[:, :n_classes], y_true[:, n_classes]
        return keras.losses.categorical_crossentropy(labels, y_pred) * weight

    return loss


@register()
def cce():
    """Categorical cross-entropy on softmax probabilities: L = -Σ_k y_k log p_k."""

    def loss(y_true, y_pred):
        return -ops.sum(y_true * ops.log(_clip(y_pred)), axis=-1)

    return loss


@register()
def grouped_cce(groups=None):
    """Categorical CE within each group of output columns, summed over the groups: the columns hold sigmoid
    probabilities p, their logits z = log(p / (1 - p)) are softmaxed group by group, and
    L = -Σ_g Σ_{k ∈ g} y_k log softmax_g(z)_k. ``groups`` lists the groups' sizes in column order (None: one group,
    i.e. plain softmax CE). One group of all the columns is a multi-class softmax over them; several groups are
    one softmax head per group (multi-output). On sigmoid outputs, so that one model serves every encoding."""

    def loss(y_true, y_pred):
        p = _clip(y_pred)
        z = ops.log(p) - ops.log(1 - p)
        sizes = list(groups) if groups else [y_true.shape[-1]]
        total, start = 0.0, 0
        for size in sizes:
            zg, yg = z[:, start:start + size], y_true[:, start:start + size]
            total = total - ops.sum(yg * ops.log_softmax(zg, axis=-1), axis=-1)
            start += size
        return total

    return loss


def _bce(y, p):
    """Per-element binary CE on probabilities, clipped as Keras clips them."""
    p = _clip(p)
    return -(y * ops.log(p) + (1 - y) * ops.log(1 - p))


def presence_bce(y_true, y_pred):
    """Per-sample BCE of the presence column, kept rank 2 by slicing ``[:, :1]``: shape (batch,)."""
    return ops.mean(_bce(y_true[:, :1], y_pred[:, :1]), axis=-1)


def coordinate_mse(y_true, y_pred, masked: bool = True):
    """Per-sample MSE over the coordinate columns, times sign(presence) when ``masked`` (the source's
    ``K.sign(y_true[:, 0]) * mse``): images without an object add nothing."""
    mse = ops.mean(ops.square(y_true[:, 1:] - y_pred[:, 1:]), axis=-1)
    return ops.sign(y_true[:, 0]) * mse if masked else mse


@register(targets="keypoint_rows")
def landmark_masked():
    """Landmark loss of the source, written correctly: targets [presence, x1, y1, …, xL, yL];
    L_i = BCE(presence_i, p_i) + sign(presence_i) · mean_j (c_ij - ĉ_ij)², one value per sample."""

    def loss(y_true, y_pred):
        return presence_bce(y_true, y_pred) + coordinate_mse(y_true, y_pred)

    return loss


@register(targets="keypoint_rows")
def landmark_rank1_bug():
    """The source's pitfall, reproduced on purpose: ``binary_crossentropy(y_true[:, 0], y_pred[:, 0])`` on
    rank-1 slices averages over the *batch* and returns one scalar s = mean_i BCE_i, which then broadcasts
    over the per-sample MSE: L_i = s + sign(presence_i) · MSE_i. Under an unweighted mean this equals the
    correct loss; with per-sample weights each sample's BCE no longer carries its own weight."""

    def loss(y_true, y_pred):
        scalar = keras.losses.binary_crossentropy(y_true[:, 0], y_pred[:, 0])
        return scalar + coordinate_mse(y_true, y_pred)

    return loss


@register(targets="keypoint_rows")
def landmark_unmasked():
    """Presence BCE plus MSE on the coordinates of every image, empty ones included (their targets are 0):
    L_i = BCE_i + mean_j (c_ij - ĉ_ij)²."""

    def loss(y_true, y_pred):
        return presence_bce(y_true, y_pred) + coordinate_mse(y_true, y_pred, masked=False)

    return loss


# --------------------------------------------------------------------- complementary labels
# Targets are ȳ: a 0/1 row marking the class(es) the image is NOT (one, or num_cl of them); p is the softmax
# output. With several complementary labels a loss is averaged over them (weights ȳ_k / Σ ȳ).


def _comp_weights(y_true):
    return y_true / ops.maximum(ops.sum(y_true, axis=-1, keepdims=True), 1.0)


@register(targets="complementary_labels")
def pc_sigmoid():
    """The complementary source's loss: L = 1 / (1 + exp(CE(ȳ, p))) with CE(ȳ, p) = -Σ_k ȳ_k log p_k, i.e.
    p_ȳ / (1 + p_ȳ) for one label: small when the named wrong class gets little probability (its gradient
    vanishes as p_ȳ → 0, which is why it learns slowly)."""

    def loss(y_true, y_pred):
        ce = -ops.sum(_comp_weights(y_true) * ops.log(_clip(y_pred)), axis=-1)
        return 1.0 / (1.0 + ops.exp(ce))

    return loss


@register(targets="complementary_labels")
def scl_nl():
    """SCL-NL (Chou et al. 2020, "Unbiased Risk Estimators Can Mislead: A Case Study of Learning with
    Complementary Labels"): L = -log(1 - p_ȳ)."""

    def loss(y_true, y_pred):
        return -ops.sum(_comp_weights(y_true) * ops.log(_clip(1.0 - y_pred)), axis=-1)

    return loss


def _ure_terms(y_true, y_pred):
    """ℓ_ij = -log p_ij and the per-class parts of Ishida et al.'s estimator."""
    k = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
    nll = -ops.log(_clip(y_pred))
    return k, nll, _comp_weights(y_true)


@register(targets="complementary_labels")
def ure():
    """Unbiased risk estimator (Ishida et al. 2019, "Complementary-Label Learning for Arbitrary Losses and
    Models", Thm. 1, uniform assumption) with CE as ℓ: L = -(K-1) ℓ(p, ȳ) + Σ_j ℓ(p, j), ℓ(p, j) = -log p_j.
    Unbiased, but unbounded below: it goes negative when the model overfits."""

    def loss(y_true, y_pred):
        k, nll, w = _ure_terms(y_true, y_pred)
        return -(k - 1.0) * ops.sum(w * nll, axis=-1) + ops.sum(nll, axis=-1)

    return loss


@register(targets="complementary_labels")
def ure_nn():
    """Ishida et al. 2019 with the non-negative correction: the batch risk is split by class,
    R_j = mean_i ℓ_ij - (K-1) mean_i ȳ_ij ℓ_ij, and each part is clipped at zero: R = Σ_j max(0, R_j).
    A batch-level quantity: every sample in the batch gets the same value (so the batch mean is R)."""

    def loss(y_true, y_pred):
        k, nll, w = _ure_terms(y_true, y_pred)
        parts = ops.mean(nll, axis=0) - (k - 1.0) * ops.mean(w * nll, axis=0)
        return ops.sum(ops.maximum(parts, 0.0)) * ops.ones_like(y_true[:, 0])

    return loss


@register(targets="complementary_labels", needs={"transition": "complementary.transition"})
def fwd(transition=None):
    """Forward correction (Yu et al. 2018, "Learning with Biased Complementary Labels"): the model's class
    probabilities are pushed through the transition matrix Q (Q[y, k] = P(ȳ = k | y), uniform (1 - I)/(K-1)
    unless given) and scored against ȳ: L = -log (pᵀQ)_ȳ."""

    def loss(y_true, y_pred):
        k = y_true.shape[-1]
        q = ops.convert_to_tensor(transition, dtype=y_pred.dtype) if transition is not None else (
            (ops.ones((k, k)) - ops.eye(k)) / (k - 1))
        comp = ops.matmul(y_pred, q)
        return -ops.sum(_comp_weights(y_true) * ops.log(_clip(comp)), axis=-1)

    return loss


@register(targets="complementary_labels")
def scl_exp():
    """SCL-EXP (Chou et al. 2020, "Unbiased Risk Estimators Can Mislead: A Case Study of Learning with
    Complementary Labels", Sec. 4, the surrogate complementary loss with the exponential function):
    L = exp(p_ȳ). Bounded (between 1 and e) and minimised by putting no probability on the named wrong class; its
    gradient p_ȳ·exp(p_ȳ) does not vanish while p_ȳ is large, unlike pc_sigmoid's."""

    def loss(y_true, y_pred):
        return ops.sum(_comp_weights(y_true) * ops.exp(y_pred), axis=-1)

    return loss


@register(targets="complementary_labels")
def ure_ga():
    """Ishida et al. 2019 ("Complementary-Label Learning for Arbitrary Losses and Models", Sec. 4, the gradient
    ascent correction, with β = 0), CE as ℓ. The batch risk of :func:`ure` is split by class,
    R_j = mean_i ℓ_ij - (K-1) mean_i ȳ_ij ℓ_ij (ℓ_ij = -log p_ij; each R_j estimates π_j times the class-j risk,
    which cannot be negative), and
    L = Σ_j R_j when every R_j ≥ 0, else L = -Σ_{j: R_j < 0} R_j.

    In the second case gradient descent on L is gradient *ascent* on the negative class risks: the step raises
    them back towards zero (undoing the overfitting that drove them below it) instead of driving the total risk
    further down, and the classes whose risk is still non-negative take no part in that step. The rule needs the
    whole batch's per-class risks, so, as in :func:`ure_nn`, the batch-level value is returned for every sample:
    Keras's batch mean is L, and its gradient is the gradient of L. The reported value is the total risk in the
    first case and the size of the negative part in the second, so an epoch's mean mixes the two."""

    def loss(y_true, y_pred):
        k, nll, w = _ure_terms(y_true, y_pred)
        parts = ops.mean(nll, axis=0) - (k - 1.0) * ops.mean(w * nll, axis=0)
        negative = ops.cast(parts < 0.0, parts.dtype)
        value = ops.where(ops.max(negative) > 0.0, -ops.sum(parts * negative), ops.sum(parts))
        return value * ops.ones_like(y_true[:, 0])

    return loss


@register(targets="complementary_labels")
def dm():
    """DM (Gao & Zhang 2021, "Discriminative Complementary-Label Learning with Weighted Loss"), in the form of
    the authors' code as libcll carries it: the complementary label is modelled discriminatively as
    q = softmax(1 - p) (a class is named "not" the more, the less probability the model gives it), scored by CE,
    and the loss is weighted by how much probability the named class still gets:
    L = -(1 + (1 - p_ȳ) / (K-1)) · log q_ȳ (the weight is part of the graph, not held constant)."""

    def loss(y_true, y_pred):
        k = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
        log_q = ops.log_softmax(1.0 - y_pred, axis=-1)
        weight = 1.0 + (1.0 - y_pred) / (k - 1.0)
        return -ops.sum(_comp_weights(y_true) * weight * log_q, axis=-1)

    return loss


MCL_ERRORS = ("log", "exp", "mae")


@register(targets="complementary_labels")
def mcl(error: str = "log"):
    """Learning with multiple complementary labels (Feng et al. 2020, "Learning with Multiple Complementary
    Labels", the bounded surrogates of the unbiased risk estimator, MCL-LOG/EXP/MAE): a set Ȳ of s complementary
    labels leaves u = Σ_{k ∉ Ȳ} p_k, the probability the model gives the classes still possible, and
    L = 2(K-1)/s · ψ(u) with ψ(u) = -log u (``log``), exp(-u) (``exp``) or 1 - u (``mae``). With one label and
    ``log`` it is 2(K-1) times SCL-NL; it reads every complementary label of an image at once (``num_cl`` > 1)
    instead of averaging a single-label loss over them."""
    if error not in MCL_ERRORS:
        raise ValueError(f"mcl: error must be one of {MCL_ERRORS}, got {error!r}")

    def loss(y_true, y_pred):
        k = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
        s = ops.maximum(ops.sum(y_true, axis=-1), 1.0)
        u = ops.sum((1.0 - y_true) * y_pred, axis=-1)
        if error == "log":
            psi = -ops.log(_clip(u))
        elif error == "exp":
            psi = ops.exp(-u)
        else:
            psi = 1.0 - u
        return 2.0 * (k - 1.0) / s * psi

    return loss
