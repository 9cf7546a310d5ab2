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


def presence_acc(y_true, y_pred):
    """Landmarks: presence right at threshold 0.5."""
    return ops.cast(ops.equal(y_true[:, 0], ops.cast(y_pred[:, 0] >= 0.5, y_true.dtype)), "float32")


def kp_error_norm(y_true, y_pred):
    """Landmarks: mean keypoint distance in units of the image size, on images with an object
    (0 for empty ones, so the epoch mean understates it by the empty share; the evaluation table does not)."""
    d = ops.reshape(y_true[:, 1:] - y_pred[:, 1:], (ops.shape(y_true)[0], -1, 2))
    return ops.mean(ops.sqrt(ops.sum(ops.square(d), axis=-1)), axis=-1) * y_true[:, 0]


#: metrics an experiment may report while training (its ``training_metrics`` names them)
TRAINING_METRICS = {fn.__name__: fn for fn in (exact_match, hamming_accuracy, presence_acc, kp_error_norm)}
