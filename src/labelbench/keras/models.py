"""Model builders, found by name: the config names a model, :func:`build_model` builds it."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

MODELS: dict[str, Callable[..., keras.Model]] = {}


def register(fn):
    MODELS[fn.__name__] = fn
    return fn


def build_model(name: str, input_shape: tuple[int, ...], n_outputs: int, **kwargs) -> keras.Model:
    if name not in MODELS:
        raise KeyError(f"model {name!r} is not registered; expected one of {sorted(MODELS)}")
    return MODELS[name](input_shape=input_shape, n_outputs=n_outputs, **kwargs)


@register
def vgg13(
    input_shape: tuple[int, ...],
    n_outputs: int,
    width: float = 1.0,
    output_activation: str = "sigmoid",
    bn_momentum: float = 0.99,
) -> keras.Model:
    """The mosaic source's 13-layer VGG-like net: 4 blocks of 3×(conv-BN-ReLU) at 32/64/128/256×width
    channels, average pooling between blocks, global average pooling, one dense output layer.

    ``bn_momentum`` 0.99 is Keras's default and the source's; with the default config's ~100 steps an epoch
    the moving statistics lag the batch ones, and test scores (inference mode) trail training by epochs."""
    inputs = keras.Input(input_shape)
    x = inputs
    for block, channels in enumerate((32, 64, 128, 256)):
        if block:
            x = layers.AveragePooling2D(2, name=f"pool{block}")(x)
        for rep in range(3):
            x = layers.Conv2D(max(1, round(channels * width)), 3, padding="same", name=f"conv{block + 1}_{rep + 1}")(x)
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{block + 1}_{rep + 1}")(x)
            x = layers.Activation("relu", name=f"relu{block + 1}_{rep + 1}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="vgg13")


@register
def mlp(
    input_shape: tuple[int, ...], n_outputs: int, hidden: int = 64, output_activation: str = "softmax"
) -> keras.Model:
    """The masked source's MLP: Flatten → Dense(hidden, relu) → Dense(n_outputs, softmax)."""
    inputs = keras.Input(input_shape)
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    outputs = layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="mlp")


@register
def landmark_cnn(
    input_shape: tuple[int, ...], n_outputs: int, filters: tuple[int, ...] = (16, 32, 64), dense: int = 64
) -> keras.Model:
    """A small CNN for presence + keypoints with ``n_outputs`` = 2L + 1: conv-BN-ReLU-pool blocks, flattened
    (global pooling would throw away where things are), one hidden dense layer, then a sigmoid presence unit
    and 2L sigmoid coordinates (targets are normalised to [0, 1]) concatenated as [presence, x1, y1, …]."""
    inputs = keras.Input(input_shape)
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, activation="relu", name="hidden")(x)
    presence = layers.Dense(1, activation="sigmoid", name="presence")(x)
    coords = layers.Dense(n_outputs - 1, activation="sigmoid", name="coords")(x)
    outputs = layers.Concatenate(name="output")([presence, coords])
    return keras.Model(inputs, outputs, name="landmark_cnn")


def _classifier(x, n_outputs):
    """Logits (a Dense layer named ``logits``) and softmax probabilities (``probs``): Grad-CAM differentiates
    the logit, the loss sees the probabilities."""
    logits = layers.Dense(n_outputs, name="logits")(x)
    return layers.Activation("softmax", name="probs")(logits)


@register
def mini_xception(
    input_shape: tuple[int, ...], n_outputs: int, width: float = 0.25, middle_blocks: int = 2, stem_stride: int = 2,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """Xception's design at a size a CPU can train: an entry flow (two plain convolutions, then two
    separable-convolution blocks with strided residual shortcuts), ``middle_blocks`` residual blocks of three
    separable convolutions, and an exit flow (one strided residual block, a separable convolution, global
    average pooling). Channels are Xception's (32/64, 128/256, 728, 1024) times ``width``; ``stem_stride`` 1
    keeps small inputs' maps large enough for Grad-CAM.

    Names for Grad-CAM: ``entry_add_<i>`` (shallow), ``middle_add_<i>`` (middle), ``exit_act`` (deep).

    ``bn_momentum`` 0.9 rather than Keras's 0.99: with a few dozen steps per epoch, 0.99 leaves the moving
    statistics far from the batch ones for many epochs, so validation (inference mode) sits at chance while the
    training loss falls, and early stopping on validation loss keeps the first epoch (measured here: every
    variant at chance after 5 epochs)."""

    def c(n):
        return max(4, round(n * width))

    inputs = keras.Input(input_shape)
    x = layers.Conv2D(c(32), 3, strides=stem_stride, padding="same", use_bias=False, name="entry_conv1")(inputs)
    x = layers.BatchNormalization(momentum=bn_momentum, name="entry_bn1")(x)
    x = layers.Activation("relu", name="entry_act1")(x)
    x = layers.Conv2D(c(64), 3, padding="same", use_bias=False, name="entry_conv2")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="entry_bn2")(x)
    x = layers.Activation("relu", name="entry_act2")(x)
    for i, ch in enumerate((c(128), c(256)), start=1):
        shortcut = layers.Conv2D(ch, 1, strides=2, padding="same", use_bias=False, name=f"entry_short{i}")(x)
        shortcut = layers.BatchNormalization(momentum=bn_momentum, name=f"entry_short_bn{i}")(shortcut)
        if i > 1:
            x = layers.Activation("relu", name=f"entry_pre_act{i}")(x)
        x = layers.SeparableConv2D(ch, 3, padding="same", use_bias=False, name=f"entry_sep{i}a")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"entry_sep_bn{i}a")(x)
        x = layers.Activation("relu", name=f"entry_sep_act{i}")(x)
        x = layers.SeparableConv2D(ch, 3, padding="same", use_bias=False, name=f"entry_sep{i}b")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"entry_sep_bn{i}b")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"entry_pool{i}")(x)
        x = layers.Add(name=f"entry_add_{i}")([x, shortcut])
    mid = c(728)
    x = layers.Conv2D(mid, 1, use_bias=False, name="middle_proj")(x)
    for b in range(1, middle_blocks + 1):
        shortcut = x
        for r in range(3):
            x = layers.Activation("relu", name=f"middle{b}_act{r}")(x)
            x = layers.SeparableConv2D(mid, 3, padding="same", use_bias=False, name=f"middle{b}_sep{r}")(x)
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"middle{b}_bn{r}")(x)
        x = layers.Add(name=f"middle_add_{b}")([x, shortcut])
    shortcut = layers.Conv2D(c(1024), 1, strides=2, padding="same", use_bias=False, name="exit_short")(x)
    shortcut = layers.BatchNormalization(momentum=bn_momentum, name="exit_short_bn")(shortcut)
    x = layers.Activation("relu", name="exit_pre_act")(x)
    x = layers.SeparableConv2D(c(1024), 3, padding="same", use_bias=False, name="exit_sep1")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="exit_bn1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="exit_pool")(x)
    x = layers.Add(name="exit_add")([x, shortcut])
    x = layers.SeparableConv2D(c(1536), 3, padding="same", use_bias=False, name="exit_sep2")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="exit_bn2")(x)
    x = layers.Activation("relu", name="exit_act")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, _classifier(x, n_outputs), name="mini_xception")


@register
def xception(input_shape: tuple[int, ...], n_outputs: int) -> keras.Model:
    """keras.applications.Xception(weights=None) as the source uses it (299×299), with our logits/probs head.
    Its residual adds are named ``add``, ``add_1``, … in the order built (the source's ``add_1`` = shallow,
    ``add_8`` = middle, ``block14_sepconv2_act`` = deep), so build it first in a fresh process."""
    base = keras.applications.Xception(weights=None, include_top=False, input_shape=input_shape, pooling="avg")
    return keras.Model(base.inputs, _classifier(base.output, n_outputs), name="xception")
