"""Multi-label losses on logits (the tagging model outputs logits; probabilities are sigmoid(logits)).

Each returns the mean over the batch of a per-sample value, found by name in :data:`LOSSES`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

LOSSES = {}


def register(fn):
    LOSSES[fn.__name__] = fn
    return fn


def get_loss(name: str, **kwargs):
    if name not in LOSSES:
        raise KeyError(f"loss {name!r} is not registered for PyTorch; expected one of {sorted(LOSSES)}")
    return LOSSES[name](**kwargs)


@register
def bce():
    """The source's loss: binary CE on the sigmoid outputs, averaged over every (sample, tag):
    L = -mean_{i,k} [y log σ(z) + (1 - y) log(1 - σ(z))] (computed from logits for stability)."""
    return lambda logits, y: F.binary_cross_entropy_with_logits(logits, y)


@register
def focal(gamma: float = 2.0, alpha: float | None = None):
    """Sigmoid focal loss (Lin et al. 2017) from torchvision.ops, summed over tags, mean over the batch:
    L = -Σ_k α_t (1 - p_t)^γ log p_t, α_t = α for positives and 1 - α for negatives; no weighting when ``alpha``
    is None. The same loss, defaults and reduction as the Keras ``focal`` (tests/test_tagging.py compares them)."""
    weight = -1.0 if alpha is None else alpha  # torchvision's "no weighting"
    return lambda logits, y: sigmoid_focal_loss(logits, y, alpha=weight, gamma=gamma, reduction="sum") / len(y)


@register
def asl(gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05, eps: float = 1e-8):
    """Asymmetric Loss (Ridnik et al. 2021, "Asymmetric Loss For Multi-Label Classification"), summed over tags,
    mean over the batch. p = σ(z), shifted negative probability p_m = max(p - m, 0):
    L = -Σ_k [y (1 - p)^γ+ log p + (1 - y) p_m^γ- log(1 - p_m)]. Written by hand: no packaged library ships it
    (the authors' repository is not on PyPI); the focusing weights carry gradients, as in their default."""

    def loss(logits, y):
        p = torch.sigmoid(logits)
        p_m = (p - clip).clamp(min=0) if clip > 0 else p
        pos = y * (1 - p).pow(gamma_pos) * torch.log(p.clamp(min=eps))
        neg = (1 - y) * p_m.pow(gamma_neg) * torch.log((1 - p_m).clamp(min=eps))
        return -(pos + neg).sum() / len(y)

    return loss
