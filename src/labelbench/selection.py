"""Model selection criteria: what early stopping and the best epoch watch (``training.selection``), in NumPy.

A practitioner who has only complementary labels has no true label to early-stop on. These criteria are computed
on the validation images after each epoch, from the model's class probabilities p (N×K) and, except for the
oracle, from the validation images' *complementary* labels alone:

* ``loss`` — the variant's own loss on the validation images (Keras's ``val_loss``; its scale differs from one
  loss to the next, and :func:`labelbench.keras.losses.ure` is unbounded below);
* ``scel`` — the surrogate complementary estimation loss (Lin & Lin 2023, "Reduction from Complementary-Label
  Learning to Probability Estimates", PAKDD; libcll's validation default, ``Strategy.compute_scel``): the CE of
  the complementary label under the probabilities of a complementary label the model implies, pᵀQ,
  SCEL = mean_i Σ_j w_ij · -log (p_iᵀQ)_j, with Q the transition matrix the labels were drawn with
  (Q[y, k] = P(ȳ = k | y); uniform: (1 - I)/(K-1)) and w_ij = ȳ_ij / Σ_k ȳ_ik (an image's complementary labels
  share its weight). Under uniform Q it is mean -log(1 - p_ȳ) + log(K-1): SCL-NL's value. Lower is better;
* ``ure`` — the unbiased estimate of the 0-1 risk, i.e. of the error rate 1 − accuracy, from complementary labels
  (Ishida et al. 2019, "Complementary-Label Learning for Arbitrary Losses and Models", Thm. 1, which holds for any
  loss, with Q⁻¹ in place of the uniform case's coefficients as libcll's ``Strategy.compute_ure`` does for CE):
  URE = mean_i Σ_j w_ij Σ_k (Q⁻¹)[j, k] · [argmax_c p_ic ≠ k]. Under uniform Q, (Q⁻¹)[j, k] = 1 - (K-1)[j = k],
  and URE = (K-1) · mean_i Σ_j w_ij [argmax p_i = j]: K-1 times the share of images predicted as a class they
  are said *not* to be. Unbiased, so it can fall below 0 on a finite set. Lower is better;
* ``oracle_accuracy`` — accuracy on the validation images' TRUE labels: what a practitioner with complementary
  labels would not have, reported beside the others as the bound they are measured against. Higher is better.

Ties go to the earliest epoch. No deep-learning framework is imported here.
"""

from __future__ import annotations

import numpy as np

from labelbench.errors import ConfigError

#: criterion -> (history column, "min" or "max")
CRITERIA = {
    "loss": ("val_loss", "min"),
    "scel": ("val_scel", "min"),
    "ure": ("val_ure", "min"),
    "oracle_accuracy": ("val_oracle_accuracy", "max"),
}
#: criteria that read the validation images' true labels
ORACLE = ("oracle_accuracy",)
#: criteria that read the validation images' complementary labels
COMPLEMENTARY = ("scel", "ure")
EPS = 1e-7


def column(criterion: str) -> str:
    """The history column a criterion is recorded in."""
    return CRITERIA[criterion][0]


def selected_column(criterion: str, name: str) -> str:
    """Column of a run's predictions holding, on its test rows, output ``name`` (a class) of the epoch
    ``criterion`` ranked best, or that epoch's number (``name`` = ``epoch``)."""
    return f"sel_{criterion}__{name}"


def better(criterion: str, value: float, best: float | None) -> bool:
    """Whether ``value`` improves on ``best`` (strictly: ties keep the earlier epoch); NaN never does."""
    if value != value:  # NaN
        return False
    if best is None:
        return True
    return value < best if CRITERIA[criterion][1] == "min" else value > best


def _weights(complementary: np.ndarray) -> np.ndarray:
    comp = np.asarray(complementary, np.float64)
    if comp.ndim != 2 or (comp.sum(1) < 1).any():
        raise ValueError("complementary labels must be an N×K 0/1 matrix with at least one label per image")
    return comp / comp.sum(1, keepdims=True)


def _transition(k: int, transition) -> np.ndarray:
    if transition is None:
        return (np.ones((k, k)) - np.eye(k)) / (k - 1)
    q = np.asarray(transition, np.float64)
    if q.shape != (k, k):
        raise ValueError(f"the transition matrix is {q.shape}; expected {(k, k)} for {k} classes")
    return q


def scel(probs: np.ndarray, complementary: np.ndarray, transition=None) -> float:
    """Surrogate complementary estimation loss (module docstring)."""
    p = np.asarray(probs, np.float64)
    implied = p @ _transition(p.shape[1], transition)
    return float(np.mean((_weights(complementary) * -np.log(np.clip(implied, EPS, None))).sum(1)))


def ure_zero_one(probs: np.ndarray, complementary: np.ndarray, transition=None) -> float:
    """Unbiased estimate of the error rate from complementary labels (module docstring)."""
    p = np.asarray(probs, np.float64)
    k = p.shape[1]
    q = _transition(k, transition)
    try:
        q_inv = np.linalg.inv(q)
    except np.linalg.LinAlgError:  # a singular Q (not one the datasets draw): the least-squares inverse
        q_inv = np.linalg.pinv(q)
    wrong = 1.0 - np.eye(k)[p.argmax(1)]  # [argmax p_i != k], N×K
    per_label = wrong @ q_inv.T  # [i, j] = Σ_k Q⁻¹[j, k] · wrong[i, k]
    return float(np.mean((_weights(complementary) * per_label).sum(1)))


def oracle_accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy on the true labels (the oracle)."""
    return float(np.mean(np.asarray(probs).argmax(1) == np.asarray(labels)))


def criterion_values(criteria, probs: np.ndarray, complementary: np.ndarray | None = None, transition=None,
                     labels: np.ndarray | None = None) -> dict[str, float]:
    """The history columns of ``criteria`` other than ``loss`` (which Keras records as ``val_loss``), computed on
    the validation probabilities. Only ``oracle_accuracy`` reads ``labels``."""
    out = {}
    for name in criteria:
        if name == "scel":
            out[column(name)] = scel(probs, complementary, transition)
        elif name == "ure":
            out[column(name)] = ure_zero_one(probs, complementary, transition)
        elif name == "oracle_accuracy":
            out[column(name)] = oracle_accuracy(probs, labels)
        elif name != "loss":
            raise ValueError(f"unknown selection criterion {name!r}; expected one of {list(CRITERIA)}")
    return out


def check_selection(key: str, selection: str, recorded: tuple[str, ...], validation_fraction: float) -> None:
    """Refuse a ``training.selection`` the experiment cannot compute, or one that would select on the test split."""
    if selection not in CRITERIA:
        raise ConfigError(f"{key}: {selection!r} is not a selection criterion; expected one of {list(CRITERIA)}")
    if selection != "loss" and selection not in recorded:
        raise ConfigError(f"{key}: {selection!r} needs what this experiment's validation images do not carry; "
                          f"expected one of {['loss', *[c for c in recorded if c != 'loss']]}")
    if selection != "loss" and not validation_fraction > 0:
        raise ConfigError(f"{key}: {selection!r} is computed on validation images, but training.validation_fraction "
                          "is 0 (the test split would be selected on); set it above 0, e.g. 0.15")
