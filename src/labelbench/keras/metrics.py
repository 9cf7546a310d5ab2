"""Metrics reported while training (the evaluation tables are computed later, without Keras)."""

from keras import ops


def exact_match(y_true, y_pred):
    """1 when every label is right at threshold 0.5, else 0 (the source's "total accuracy")."""
    hit = ops.cast(ops.equal(y_true, ops.cast(y_pred >= 0.5, y_true.dtype)), "float32")
    return ops.min(hit, axis=-1)


def hamming_accuracy(y_true, y_pred):
    """Share of labels right at threshold 0.5 (the source's "binary accuracy")."""
    hit = ops.cast(ops.equal(y_true, ops.cast(y_pred >= 0.5, y_true.dtype)), "float32")
    return ops.mean(hit, axis=-1)


TRAINING_METRICS = {"mosaic": [exact_match, hamming_accuracy], "masked": []}
