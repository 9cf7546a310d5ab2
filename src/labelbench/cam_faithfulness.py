"""Is a map faithful: does the model's score depend on the pixels it highlights? NumPy + SciPy, no framework.

A map says where the evidence is; these measures take pixels away in the map's order and watch the score of the
explained class (a probability in [0, 1]) through ``score(images) -> scores``, a function of an N×H×W×C float
batch in [0, 1] that the caller builds from its model (Keras or PyTorch).

* **Deletion and insertion** (Petsiuk, Das & Saenko, BMVC 2018, "RISE", section 4.1): the pixels ranked by the
  map, most relevant first; deletion replaces the top share f of them with 0 (black), insertion starts from a
  blurred copy of the image and puts the top share back, for f = 0, 1/steps, …, 1. The areas under the two curves
  (trapezoid rule over f): a faithful map gives a small deletion area (the score falls as soon as its pixels go)
  and a large insertion area. pytorch-grad-cam has no such curve (its issue #368), so it is written here, once,
  for both frameworks.
* **ROAD** (Rong, Leemann, Borisov, Kasneci & Kasneci, ICML 2022, "A consistent and efficient evaluation strategy
  for attribution methods"): remove a share of the pixels and fill them by *noisy linear imputation* (each
  removed pixel the weighted mean of its eight neighbours, 1/6 for the four direct and 1/12 for the diagonal
  ones, solved as one sparse linear system, plus Gaussian noise of s.d. 0.01), so that the removal itself
  leaks no shape the model could read. Most relevant first (MoRF) removes the top share of the map, least
  relevant first (LeRF) the bottom share; each is the score after imputation minus the score before. A faithful
  map has MoRF well below 0 and LeRF near 0. PyTorch models use pytorch-grad-cam's ``ROADMostRelevantFirst`` /
  ``ROADLeastRelevantFirst``; :func:`noisy_linear_impute` is the same system written for NumPy (the Keras
  side), and ``tests/test_cam_faithfulness.py`` checks it against pytorch-grad-cam's imputer.

The share removed by ROAD is ``1 - percentile/100`` with pytorch-grad-cam's convention (``percentile=80``
removes 20 %): MoRF keeps the pixels whose map value is below the 80th percentile, LeRF those whose reversed
map (1 - map) is below its 80th percentile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import spsolve

Score = Callable[[np.ndarray], np.ndarray]
#: offsets (row, column) of the eight neighbours and their weights in ROAD's imputation
NEIGHBOUR_WEIGHTS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((0, -1), 1 / 6),
                     ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))
ROAD_PERCENTILE = 80
ROAD_NOISE = 0.01
#: faithfulness columns of the Grad-CAM tables (labelbench.cam_scores.MEASURES)
COLUMNS = ("deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_combined")


def noisy_linear_impute(image: np.ndarray, keep: np.ndarray, noise: float = ROAD_NOISE,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """ROAD's noisy linear imputation of the pixels where ``keep`` (H×W) is False, for an H×W×C image: the
    removed pixels x solve, per channel, x_p = Σ_q w_pq x_q over the neighbours q inside the image, with the
    weights of the neighbours outside the image dropped from the sum; known neighbours move to the right-hand
    side. Then N(0, noise²) is added to the filled pixels (``rng``: a seeded generator; None: no noise)."""
    h, w = keep.shape
    flat_keep = keep.reshape(-1).astype(bool)
    values = image.reshape(h * w, -1).astype(np.float64)
    missing = np.flatnonzero(~flat_keep)
    if not len(missing):
        return image.astype(np.float64).copy()
    index = np.full(h * w, -1)
    index[missing] = np.arange(len(missing))
    rows, cols = np.divmod(missing, w)
    a = sparse.lil_matrix((len(missing), len(missing)))
    b = np.zeros((len(missing), values.shape[1]))
    total = np.ones(len(missing))
    for (dr, dc), weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        total[~inside] -= weight
        neighbour = np.where(inside, r * w + c, 0)
        known = inside & flat_keep[neighbour]
        b[known] -= weight * values[neighbour[known]]
        unknown = inside & ~flat_keep[neighbour]
        a[np.flatnonzero(unknown), index[neighbour[unknown]]] = weight
    a[np.arange(len(missing)), np.arange(len(missing))] = -total
    solution = spsolve(sparse.csc_matrix(a), b).reshape(len(missing), -1)
    out = values.copy()
    out[missing] = solution + (rng.normal(0, noise, solution.shape) if rng is not None and noise else 0.0)
    return out.reshape(image.shape)


def road_keep_mask(cam: np.ndarray, most_relevant_first: bool, percentile: float = ROAD_PERCENTILE) -> np.ndarray:
    """The pixels ROAD keeps (pytorch-grad-cam's RemoveMostRelevantFirst / RemoveLeastRelevantFirst)."""
    ranked = cam if most_relevant_first else 1 - cam
    return ranked < np.percentile(ranked, percentile)


def road_scores(image: np.ndarray, cam: np.ndarray, score: Score, rng: np.random.Generator | None,
                percentile: float = ROAD_PERCENTILE) -> dict[str, float]:
    """ROAD MoRF and LeRF of one map: score after imputation minus score before (``rng`` None: no noise)."""
    filled = [noisy_linear_impute(image, road_keep_mask(cam, first, percentile), rng=rng) for first in (True, False)]
    before, morf, lerf = score(np.stack([image.astype(np.float64), *filled]))
    return _road(before, morf, lerf)


def _road(before: float, morf: float, lerf: float) -> dict[str, float]:
    """MoRF and LeRF changes and pytorch-grad-cam's ROADCombined at one percentile, (LeRF - MoRF) / 2: how much
    more the score falls when the map's top pixels go than when its bottom ones do (higher: more faithful)."""
    return {"road_morf": float(morf - before), "road_lerf": float(lerf - before),
            "road_combined": float((lerf - morf) / 2)}


def _curve_images(image: np.ndarray, cam: np.ndarray, steps: int, blur_sigma: float | None) -> np.ndarray:
    """The 2·(steps + 1) images of the deletion and insertion curves, interleaved (deletion, insertion, …)."""
    h, w = cam.shape
    image = image.astype(np.float64)
    sigma = blur_sigma if blur_sigma is not None else max(1.0, 5 * max(h, w) / 224)
    blurred = gaussian_filter(image, sigma=(sigma, sigma, 0))
    order = np.argsort(-cam.reshape(-1), kind="stable")
    batch = []
    for share in np.linspace(0, 1, steps + 1):
        top = np.zeros(h * w, bool)
        top[order[: int(round(share * h * w))]] = True
        top = top.reshape(h, w, 1)
        batch.append(np.where(top, 0.0, image))
        batch.append(np.where(top, image, blurred))
    return np.stack(batch)


def _areas(scores: np.ndarray, steps: int) -> dict[str, float]:
    shares = np.linspace(0, 1, steps + 1)
    scores = np.asarray(scores, np.float64)
    return {"deletion_auc": float(np.trapezoid(scores[0::2], shares)),
            "insertion_auc": float(np.trapezoid(scores[1::2], shares))}


def deletion_insertion(image: np.ndarray, cam: np.ndarray, score: Score, steps: int = 8,
                       blur_sigma: float | None = None) -> dict[str, float]:
    """Areas under the deletion and insertion curves of one map (``steps`` + 1 points each, one batch of
    2·(steps + 1) images through ``score``). The insertion canvas is the image blurred with a Gaussian of
    ``blur_sigma`` pixels (default 5/224 of the side, RISE's 5 at 224 px)."""
    return _areas(score(_curve_images(image, cam, steps, blur_sigma)), steps)


def faithfulness_many(images: np.ndarray, cams: np.ndarray, score: Callable[[np.ndarray, np.ndarray], np.ndarray],
                      steps: int, rng: np.random.Generator | None) -> list[dict[str, float]]:
    """Deletion/insertion areas and ROAD scores of N maps of N images with one call of ``score(batch, owner)``,
    where ``owner[j]`` is the index of the image (and map, and explained class) that perturbed image j comes
    from: what a framework needs to score a whole table in one pass instead of one small batch per map."""
    per_map = 2 * (steps + 1) + 3
    batch, owner = [], []
    for i, (image, cam) in enumerate(zip(images, cams, strict=True)):
        keeps = [road_keep_mask(cam, first) for first in (True, False)]
        batch += [*_curve_images(image, cam, steps, None), image.astype(np.float64),
                  *(noisy_linear_impute(image, keep, rng=rng) for keep in keeps)]
        owner += [i] * per_map
    if not batch:
        return []
    scores = np.asarray(score(np.stack(batch), np.asarray(owner)), np.float64).reshape(len(images), per_map)
    out = []
    for row in scores:
        curves, (before, morf, lerf) = row[: 2 * (steps + 1)], row[2 * (steps + 1):]
        out.append({**_areas(curves, steps), **_road(before, morf, lerf)})
    return out
