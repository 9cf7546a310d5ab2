"""Input pipeline for every Keras backend: a NumPy batch iterator (``keras.utils.PyDataset``) over a split held in
memory as uint8, scaled to [0, 1] per batch, optionally augmented by Keras preprocessing layers.

It imports no framework of its own, so it feeds TensorFlow, JAX and PyTorch alike (Keras hands the batches to
``tf.data``, to ``jax.jit`` or to torch as each backend wants them). It replaced a ``tf.data`` pipeline that only
ran on TensorFlow. On TensorFlow ``tf.data`` was not measurably faster, side by side in one run
(``benchmarks/input_pipeline.py``, default sizes, 2 cores shared with other engineers' jobs, load 9-17: NumPy 1.27x
``tf.data``'s images/s, the five rounds' ratios 0.96-1.77; an earlier run under similar load: 0.75x, rounds
0.59-1.89), so TensorFlow uses this one too: one pipeline, one order and one set of augmentation draws everywhere.

Order and augmentation are functions of their seeds alone: an epoch's order is one permutation drawn from its
``shuffle_seed`` (the same as the ``tf.data`` pipeline drew), and batch ``i``'s augmentation draws come from
``(augment_seed, i)``, whatever order, thread or number of times Keras asks for the batch (it asks for the first
two twice on TensorFlow, to learn their shapes). A resumed run therefore replays exactly the batches an
uninterrupted one saw, on every backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _layer_seed(seed: int, batch: int, layer: int) -> int:
    """A well-mixed seed below 2**31 for one layer's draws on one batch."""
    return int(np.random.SeedSequence([seed, batch, layer]).generate_state(1)[0] >> 1)


class Augmenter:
    """Keras random image layers (``RandomFlip``, ``RandomRotation``, ``RandomTranslation``: backend-agnostic in
    Keras 3) applied in order, each drawing from a generator seeded by (seed, batch, layer) instead of its own
    running state: the draws of a batch depend on nothing that happened before it."""

    def __init__(self, layers: list):
        self.layers = layers

    def __call__(self, images: np.ndarray, seed: int, batch: int) -> np.ndarray:
        x = ops.convert_to_tensor(images)
        for k, layer in enumerate(self.layers):
            generator = keras.random.SeedGenerator(_layer_seed(seed, batch, k))
            transformation = layer.get_random_transformation(x, training=True, seed=generator)
            x = layer.transform_images(x, transformation, training=True)
        return np.asarray(ops.convert_to_numpy(x), np.float32)


class Batches(keras.utils.PyDataset):
    """Batches ``(x, y[, w])`` (or ``(x,)`` without targets) of ``images`` scaled to float32 in [0, 1].

    ``shuffle_seed``: the samples in the order of ``np.random.default_rng(shuffle_seed).permutation`` (else as
    stored). ``drop_remainder`` leaves out the last, smaller batch (for training, where the epoch's order is
    random, so a different handful of samples sits out each epoch): every batch then has one shape, which a
    backend that compiles per shape (JAX) compiles once. ``augment`` with ``augment_seed``: see :class:`Augmenter`.
    One worker, no multiprocessing: the batches are cheap next to a training step (measured, see the module).
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray | None, batch_size: int, shuffle_seed: int | None = None,
                 weights: np.ndarray | None = None, augment: Augmenter | None = None, augment_seed: int = 0,
                 drop_remainder: bool = False):
        super().__init__()
        self.images, self.targets, self.weights = images, targets, weights
        self.batch_size, self.augment, self.augment_seed = batch_size, augment, augment_seed
        n = len(images)
        self.order = None if shuffle_seed is None else np.random.default_rng(shuffle_seed).permutation(n)
        self.n_batches = n // batch_size if drop_remainder and n >= batch_size else -(-n // batch_size)

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, i: int):
        if not 0 <= i < self.n_batches:
            raise IndexError(f"batch {i} of {self.n_batches}")
        rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
        index = rows if self.order is None else self.order[rows]
        x = self.images[index].astype(np.float32) / np.float32(255)
        if self.augment is not None:
            x = self.augment(x, self.augment_seed, i)
        if self.targets is None:
            return (x,)
        parts = (x, self.targets[index])
        return parts if self.weights is None else (*parts, self.weights[index])

    def first_batch(self):
        """Batch 0, for building a model's state before training (:func:`labelbench.keras.train.build_state`)."""
        return self[0]


def make_dataset(images: np.ndarray, targets: np.ndarray | None, batch_size: int, shuffle_seed: int | None = None,
                 weights: np.ndarray | None = None, augment: Augmenter | None = None, augment_seed: int = 0,
                 drop_remainder: bool = False) -> Batches:
    """The batches of one pass over ``images`` (see :class:`Batches`); per-sample ``weights``, when given, ride
    along as Keras's third element."""
    return Batches(images, targets, batch_size, shuffle_seed, weights, augment, augment_seed, drop_remainder)


def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's outputs on ``images`` in batches of one shape: the images that fill whole batches, then the rest
    padded with copies of the last image whose outputs are dropped, so the prediction step is traced (or, on JAX,
    compiled) once. Each batch goes straight to Keras's compiled prediction step (``predict_on_batch``) rather
    than through ``model.predict``, which builds a new input pipeline on every call (on TensorFlow a ``tf.data``
    dataset whose element spec it learns by drawing two batches first): ~0.2 s a call, measured on 2 busy cores,
    and a training run calls this once or twice per epoch."""
    if not len(images):
        raise ValueError("predict needs at least one image")
    parts = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        n = len(chunk)
        if n < batch_size:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - n, axis=0)])
        out = model.predict_on_batch(chunk.astype(np.float32) / np.float32(255))
        parts.append(np.asarray(out)[:n])
    return np.concatenate(parts)
