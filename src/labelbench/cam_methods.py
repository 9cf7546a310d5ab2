"""Which class-activation-map (CAM) methods each framework offers, and the combination of a layer's activations
and gradients that the hand-written (Keras) ones compute, in NumPy (no deep-learning framework).

PyTorch models get every method of :data:`TORCH_METHODS` from pytorch-grad-cam's own classes (not written
here). Keras has no such package, so :data:`KERAS_METHODS` are written here as functions of the activations A
(N×H×W×K, channels last) and the gradients G = ∂y_c/∂A of the class score (the logit), which any Keras backend
can hand over; they return N×h×w maps at the layer's size, before upsampling and scaling to [0, 1]:

* Grad-CAM (Selvaraju et al., ICCV 2017): α_k = mean over the positions of G_k; map = ReLU(Σ_k α_k A_k).
* Grad-CAM++ (Chattopadhay, Sarkar, Howlader & Balasubramanian, WACV 2018, eq. 19 with the exponential score):
  a_k(ij) = G² / (2·G² + Σ_ab A_k(ab) · G³ + ε), 0 where G = 0; α_k = Σ_ij a_k(ij) · ReLU(G_k(ij));
  map = ReLU(Σ_k α_k A_k). The closed form uses the first gradient only (the second and third derivatives of
  exp(y_c) are powers of the first), as the paper does. ε = 1e-6 as in pytorch-grad-cam: the paper has none,
  but with small gradients (|G| ~ 1e-3, common) ε is of the size of the other terms and changes the maps, so
  the two implementations agree only with the same ε.
* HiResCAM (Draelos & Carin, 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations"): the
  element-wise product, map = ReLU(Σ_k G_k ⊙ A_k), which for a network ending in global average pooling and one
  dense layer equals what the score sums over the positions.

``tests/test_cam_methods.py`` checks each against pytorch-grad-cam's class on a small torch network, with
the activations and gradients taken from torch.
"""

from __future__ import annotations

import numpy as np

#: the methods of gradcam.methods, their pytorch-grad-cam class and whether Keras has them (written here)
METHODS = {
    "gradcam": "GradCAM",
    "gradcampp": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "scorecam": "ScoreCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
}
TORCH_METHODS = tuple(METHODS)
KERAS_METHODS = ("gradcam", "gradcampp", "hirescam")


def methods_for(framework: str) -> tuple[str, ...]:
    return TORCH_METHODS if framework == "torch" else KERAS_METHODS


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def gradcam_weights(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Grad-CAM's channel weights: the gradients averaged over the positions (N×K)."""
    return grads.mean(axis=(1, 2))


GRADCAMPP_EPS = 1e-6


def gradcampp_weights(acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Grad-CAM++'s channel weights (N×K), eq. 19 of Chattopadhay et al. with the exponential of the score."""
    g2, g3 = grads**2, grads**3
    alphas = g2 / (2 * g2 + acts.sum(axis=(1, 2), keepdims=True) * g3 + GRADCAMPP_EPS)
    alphas = np.where(grads != 0, alphas, 0.0)
    return (alphas * _relu(grads)).sum(axis=(1, 2))


def combine(method: str, acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """The raw map (N×H×W, ≥ 0, at the layer's size) of ``method`` from activations and gradients (N×H×W×K)."""
    if acts.shape != grads.shape or acts.ndim != 4:
        raise ValueError(f"activations {acts.shape} and gradients {grads.shape} must both be N×H×W×K")
    if method == "gradcam":
        return _relu(np.einsum("nhwk,nk->nhw", acts, gradcam_weights(acts, grads)))
    if method == "gradcampp":
        return _relu(np.einsum("nhwk,nk->nhw", acts, gradcampp_weights(acts, grads)))
    if method == "hirescam":
        return _relu((acts * grads).sum(axis=-1))
    raise ValueError(f"CAM method {method!r} is not written for Keras; expected one of {list(KERAS_METHODS)}")


def scale_maps(cams: np.ndarray) -> np.ndarray:
    """Each map divided by its peak (a flat zero map stays zero), as the Grad-CAM tables expect: [0, 1]."""
    peak = cams.reshape(len(cams), -1).max(1)[:, None, None]
    return np.where(peak > 0, cams / np.where(peak > 0, peak, 1), 0.0)
