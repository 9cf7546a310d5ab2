"""A Keras model's weights (and its optimizer's state) as one NumPy ``.npz`` file, for the checkpoints a training
run writes every epoch and the best weights its model selection keeps.

Keras's own ``save_weights`` walks every layer, optimizer and metric object to lay out an HDF5 file; measured on the
default complementary mini-Xception (2 cores, busy), 33 such calls took 40 s of a 198-s job, ~20 % of it: each
epoch's checkpoint and each criterion's new best weights. The arrays themselves are a few MB. ``get_weights`` and the
optimizer's variables, written with ``np.savez``, hold the same values and load back exactly, on every backend, in
milliseconds. Written by hand because no library stores a Keras model's weights and optimizer slots this directly;
the finished model is still saved by Keras (``model.keras``).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from labelbench.io import atomic_path


def save_state(model, path: str | Path, optimizer: bool = True) -> None:
    """Every weight of ``model`` (trainable and not, in ``get_weights`` order) and, with ``optimizer``, every
    variable of its optimizer (iterations, learning rate, moment slots), written atomically to ``path``."""
    arrays = {f"weight{i:04d}": w for i, w in enumerate(model.get_weights())}
    if optimizer:
        arrays.update({f"optimizer{i:04d}": keras.ops.convert_to_numpy(v)
                       for i, v in enumerate(model.optimizer.variables)})
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_state(model, path: str | Path) -> None:
    """Load what :func:`save_state` wrote into ``model`` (and its built optimizer, when the file holds its state);
    refuses a file whose arrays do not match the model's weights in number or shape."""
    with np.load(path) as data:
        weights = [data[k] for k in sorted(k for k in data.files if k.startswith("weight"))]
        slots = [data[k] for k in sorted(k for k in data.files if k.startswith("optimizer"))]
    current = model.get_weights()
    if len(weights) != len(current) or any(w.shape != c.shape for w, c in zip(weights, current, strict=True)):
        raise ValueError(f"{path}: {len(weights)} weight arrays that do not fit this model's {len(current)}")
    model.set_weights(weights)
    if slots:
        variables = model.optimizer.variables
        if len(slots) != len(variables):
            raise ValueError(f"{path}: {len(slots)} optimizer variables, the model's optimizer has {len(variables)}")
        for variable, value in zip(variables, slots, strict=True):
            variable.assign(value)
