"""tf.data input pipeline: the whole split lives in memory as uint8; batches are cast and scaled in graph."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def make_dataset(
    images: np.ndarray,
    targets: np.ndarray | None,
    batch_size: int,
    shuffle_seed: int | None = None,
    weights: np.ndarray | None = None,
    augment=None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Shuffle (when ``shuffle_seed`` is given, one fixed order per seed), batch, scale to [0, 1], prefetch;
    per-sample ``weights``, when given, ride along as Keras's third element.

    A fixed order per seed makes each epoch repeatable on its own, so a resumed run replays the same
    batches as an uninterrupted one. ``drop_remainder`` leaves out the last, smaller batch (for training, where
    the epoch's order is random, so a different handful of samples sits out each epoch): every batch then has
    one shape, and the training step is traced once, not twice.
    """
    parts = (images,) if targets is None else (images, targets)
    if weights is not None:
        parts = (*parts, weights)
    if shuffle_seed is not None:
        # the epoch's order drawn in NumPy and applied as one gather: no per-element shuffle buffer to fill
        # before the first batch (measured: that fill cost ~10 % of a short epoch's time on 2 cores)
        order = np.random.default_rng(shuffle_seed).permutation(len(images))
        parts = tuple(np.asarray(a)[order] for a in parts)
    ds = tf.data.Dataset.from_tensor_slices(parts)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def scale(x, *rest):
        x = tf.cast(x, tf.float32) / 255.0
        return (x, *rest) if rest else x

    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        # Keras preprocessing layers in graph, their draws fixed by the seeds they were built with. No global
        # tf.random.set_seed here: measured, resetting it every epoch made each epoch of the complementary model
        # ~0.6 s slower (1.1 → 1.8 s on 2 cores) without making the draws any more repeatable.

        def aug(x, *rest):
            return (augment(x, training=True), *rest)

        ds = ds.map(aug, num_parallel_calls=1)  # one call at a time keeps the random draws in order
    return ds.prefetch(tf.data.AUTOTUNE)


def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """``model.predict`` in batches of one shape: the images that fill whole batches, then the rest padded with
    copies of the last image whose outputs are dropped. The prediction step is traced once instead of twice."""
    n_full = len(images) - len(images) % batch_size
    parts = []
    if n_full:
        parts.append(model.predict(make_dataset(images[:n_full], None, batch_size), verbose=0))
    if n_full < len(images):
        tail = images[n_full:]
        padded = np.concatenate([tail, np.repeat(tail[-1:], batch_size - len(tail), axis=0)])
        parts.append(model.predict(make_dataset(padded, None, batch_size), verbose=0)[: len(tail)])
    return np.concatenate(parts)
