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
    input_shape: tuple[int, ...], n_outputs: int, width: float = 1.0, output_activation: str = "sigmoid"
) -> keras.Model:
    """The mosaic source's 13-layer VGG-like net: 4 blocks of 3×(conv-BN-ReLU) at 32/64/128/256×width
    channels, average pooling between blocks, global average pooling, one dense output layer."""
    inputs = keras.Input(input_shape)
    x = inputs
    for block, channels in enumerate((32, 64, 128, 256)):
        if block:
            x = layers.AveragePooling2D(2, name=f"pool{block}")(x)
        for rep in range(3):
            x = layers.Conv2D(max(1, round(channels * width)), 3, padding="same", name=f"conv{block + 1}_{rep + 1}")(x)
            x = layers.BatchNormalization(name=f"bn{block + 1}_{rep + 1}")(x)
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
