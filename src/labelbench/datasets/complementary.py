"""Complementary labels ("this image is *not* class k"), drawn once per dataset and stored with it.

Three ways, as the complementary-label literature and its libraries offer them:

* ``uniform`` — each complementary label uniform over the K-1 other classes (Ishida et al. 2017; the source);
* ``biased`` — through a fixed random transition matrix Q with zero diagonal, Q[y, k] = P(ȳ = k | y)
  (Yu et al. 2018), its rows drawn from a Dirichlet so some wrong classes are named far more often;
* ``num_cl`` > 1 — several distinct complementary labels per image (Feng et al. 2020), uniform.
"""

from __future__ import annotations

import numpy as np

from labelbench.errors import ConfigError

METHODS = ("uniform", "biased")


def transition_matrix(k: int, method: str, rng: np.random.Generator, concentration: float = 1.0) -> np.ndarray:
    """Q (K×K, rows sum to 1, zero diagonal)."""
    if method == "uniform":
        q = np.ones((k, k)) - np.eye(k)
    elif method == "biased":
        q = np.zeros((k, k))
        for y in range(k):
            others = [j for j in range(k) if j != y]
            q[y, others] = rng.dirichlet(np.full(k - 1, concentration))
    else:
        raise ConfigError(f"complementary.method must be one of {METHODS}, got {method!r}")
    return q / q.sum(1, keepdims=True)


def draw(
    labels: np.ndarray, k: int, method: str = "uniform", num_cl: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """N×num_cl complementary labels (never the true one, distinct within a row) and the transition matrix."""
    if k < 2:
        raise ConfigError(f"complementary labels need at least 2 classes, got {k}")
    if not 1 <= num_cl <= k - 1:
        raise ConfigError(f"complementary.num_cl must be in [1, {k - 1}] for {k} classes, got {num_cl}")
    if method == "biased" and num_cl > 1:
        raise ConfigError("complementary.method 'biased' draws one label per image; use num_cl: 1")
    rng = np.random.default_rng(seed)
    q = transition_matrix(k, method, rng)
    labels = np.asarray(labels)
    if num_cl == 1:
        u = rng.random(len(labels))
        cdf = np.cumsum(q[labels], axis=1)
        out = np.minimum((u[:, None] > cdf).sum(1), k - 1)[:, None]
    else:
        keys = rng.random((len(labels), k))
        keys[np.arange(len(labels)), labels] = np.inf  # the true class sorts last
        out = np.sort(np.argsort(keys, axis=1)[:, :num_cl], axis=1)
    return out.astype(np.int64), q


def add_to(samples, labels: np.ndarray, k: int, method: str, num_cl: int, seed: int):
    """The sample table with columns ``cl_0 … cl_{num_cl-1}`` added, and the transition matrix as a list."""
    cl, q = draw(labels, k, method, num_cl, seed)
    samples = samples.copy()
    for j in range(cl.shape[1]):
        samples[f"cl_{j}"] = cl[:, j]
    return samples, q.round(6).tolist()
