"""Gradients on whichever backend Keras runs on: ``tf.GradientTape``, ``jax.grad`` or ``torch.autograd``.

``keras.ops`` has no gradient operation, and each backend takes gradients its own way (a tape around eager
calls, a transformation of a pure function, a graph recorded on tensors). Grad-CAM and the tests need gradients
of a scalar with respect to tensors they hold, which all three can give when the function is pure in those
tensors: this is that one function, written per backend. Only the backend in use is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops


def gradients(fn: Callable, values: Sequence, jit: bool = False) -> list:
    """Gradients of the scalar ``fn(*values)`` with respect to each of ``values`` (backend tensors or arrays),
    as backend tensors. ``fn`` must compute from its arguments alone (for a model's weights, through
    ``model.stateless_call``).

    ``jit`` (JAX only): compile the whole gradient computation once. JAX otherwise runs it operation by
    operation, compiling each operation for each new shape, and keeps those compilations for later calls: the
    better choice for many calls on the same shapes (Grad-CAM of many models), while one call on a large graph is
    faster compiled whole (measured, 2 busy cores: a mini-Xception's weight gradients 33 s eager, 11 s jitted).
    """
    values = [ops.convert_to_tensor(v) for v in values]
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        grad = jax.grad(lambda *v: fn(*v), argnums=tuple(range(len(values))))
        return list((jax.jit(grad) if jit else grad)(*values))
    if backend == "torch":
        import torch

        leaves = [v.detach().requires_grad_(True) for v in values]
        with torch.enable_grad():
            total = fn(*leaves)
            return list(torch.autograd.grad(total, leaves, allow_unused=True))
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for v in values:
                tape.watch(v)
            total = fn(*values)
        return tape.gradient(total, values)
    raise NotImplementedError(f"gradients on Keras backend {backend!r}; expected tensorflow, jax or torch")


def to_numpy(x) -> np.ndarray:
    """A backend tensor as a NumPy array (detached from any gradient record)."""
    if keras.backend.backend() == "torch" and hasattr(x, "detach"):
        x = x.detach()
    return np.asarray(ops.convert_to_numpy(x))
