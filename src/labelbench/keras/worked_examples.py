"""The sources' worked examples recomputed by our own loss code, for the ``exact`` claims (``labelbench.claims``).

Each computation takes the source's targets and predictions as printed in the source and returns one number; the
claims job compares it with the source's printed value. Computations are named in the config (``compute``):

* ``presence_bce`` — sample ``index`` of :func:`~labelbench.keras.losses.presence_bce` (the per-sample BCE of the
  presence column, kept rank 2);
* ``coordinate_mse`` — sample ``index`` of :func:`~labelbench.keras.losses.coordinate_mse` without the presence
  mask (Keras's ``mean_squared_error`` over the coordinate columns, as the source printed it);
* ``rank1_bce`` — what the pitfall loss ``landmark_rank1_bug`` adds to each sample besides the masked MSE: the
  batch-level scalar that BCE on rank-1 slices returns, the same for every sample;
* ``loss_mean`` — the batch mean of the registered loss ``loss`` (what Keras reports as the loss).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from labelbench.keras import losses as L


def _per_sample(compute: str, y_true, y_pred, loss: str | None):
    if compute == "presence_bce":
        return L.presence_bce(y_true, y_pred)
    if compute == "coordinate_mse":
        return L.coordinate_mse(y_true, y_pred, masked=False)
    if compute == "rank1_bce":
        return L.get_loss("landmark_rank1_bug")(y_true, y_pred) - L.coordinate_mse(y_true, y_pred)
    if compute == "loss_mean":
        return ops.mean(L.get_loss(loss)(y_true, y_pred))
    raise ValueError(f"compute {compute!r} is not a worked-example computation; expected presence_bce, "
                     "coordinate_mse, rank1_bce or loss_mean")


def compute(claim: dict) -> float:
    """Our number for one ``exact`` claim (float32, as the source computed)."""
    y_true = ops.convert_to_tensor(np.asarray(claim["y_true"], np.float32))
    y_pred = ops.convert_to_tensor(np.asarray(claim["y_pred"], np.float32))
    out = np.asarray(ops.convert_to_numpy(_per_sample(claim["compute"], y_true, y_pred, claim.get("loss"))))
    return float(out if out.ndim == 0 else out[claim.get("index", 0)])


def compute_all(claims: list[dict]) -> dict[str, float]:
    """``{claim id: our number}`` for every ``exact`` claim given."""
    return {c["id"]: compute(c) for c in claims if c["kind"] == "exact"}
