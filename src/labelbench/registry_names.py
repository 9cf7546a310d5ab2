"""The loss and model names a config may use, and the arguments each takes, declared without a framework.

The registries themselves live in :mod:`labelbench.keras.losses`, :mod:`labelbench.keras.models`,
:mod:`labelbench.pytorch.losses` and :mod:`labelbench.pytorch.models`, and importing them loads TensorFlow or
PyTorch (seconds). The config is checked while the workflow is parsed, which must stay fast and load neither,
so the names are written out here; ``tests/test_registry_names.py`` imports the real registries and checks
that this declaration matches them exactly (names and ``inspect.signature`` parameters), so it cannot drift.
"""

from __future__ import annotations

import re

#: Keras losses: {name: keyword arguments of its builder}
KERAS_LOSSES: dict[str, tuple[str, ...]] = {
    "bce_sum": (),
    "cce_renorm": (),
    "cce_keras3": (),
    "mse": (),
    "focal": ("gamma", "alpha"),
    "asl": ("gamma_pos", "gamma_neg", "clip"),
    "masked_cce": ("n_classes",),
    "cce": (),
    "landmark_masked": (),
    "landmark_rank1_bug": (),
    "landmark_unmasked": (),
    "pc_sigmoid": (),
    "scl_nl": (),
    "ure": (),
    "ure_nn": (),
    "fwd": ("transition",),
    "grouped_cce": ("groups",),
    "scl_exp": (),
    "ure_ga": (),
    "dm": (),
    "mcl": ("error",),
}

#: Keras models: {name: builder arguments a config may set} (``input_shape`` and ``n_outputs`` come from the data)
KERAS_MODELS: dict[str, tuple[str, ...]] = {
    "vgg13": ("width", "output_activation", "bn_momentum"),
    "mlp": ("hidden", "output_activation"),
    "landmark_cnn": ("filters", "dense"),
    "mini_xception": ("width", "middle_blocks", "stem_stride", "bn_momentum"),
    "xception": (),
}
#: arguments the Keras trainer fills in itself
KERAS_MODEL_DATA_ARGS = ("input_shape", "n_outputs")

#: PyTorch losses: {name: keyword arguments}
TORCH_LOSSES: dict[str, tuple[str, ...]] = {
    "bce": (),
    "focal": ("gamma", "alpha"),
    "asl": ("gamma_pos", "gamma_neg", "clip", "eps"),
}

#: PyTorch models of our own: {name: builder arguments a config may set}
TORCH_MODELS: dict[str, tuple[str, ...]] = {"small_cnn": ("widths", "convs", "dropout")}
#: arguments a torchvision classifier takes through :func:`labelbench.pytorch.models.build_model`
TORCHVISION_MODEL_ARGS = ("weights", "dropout")
#: torchvision's weights names are enum members in capitals (``IMAGENET1K_V1``, ``DEFAULT``); any other value of
#: ``model.weights`` is the path of a local state-dict file
TORCHVISION_WEIGHTS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def is_weights_file(weights: str | None) -> bool:
    """Whether a ``model.weights`` value names a local state-dict file (rather than torchvision's weights)."""
    return bool(weights) and not TORCHVISION_WEIGHTS_NAME.match(str(weights))
#: ``torchvision.models.list_models(module=torchvision.models)`` of the pinned torchvision
TORCHVISION_MODELS = (
    "alexnet", "convnext_base", "convnext_large", "convnext_small", "convnext_tiny", "densenet121", "densenet161",
    "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
    "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_l",
    "efficientnet_v2_m", "efficientnet_v2_s", "googlenet", "inception_v3", "maxvit_t", "mnasnet0_5",
    "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf", "regnet_x_400mf", "regnet_x_800mf",
    "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf", "regnet_y_32gf", "regnet_y_3_2gf",
    "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf", "resnet101", "resnet152", "resnet18", "resnet34",
    "resnet50", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "squeezenet1_0", "squeezenet1_1", "swin_b",
    "swin_s", "swin_t", "swin_v2_b", "swin_v2_s", "swin_v2_t", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
    "vgg16_bn", "vgg19", "vgg19_bn", "vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32",
    "wide_resnet101_2", "wide_resnet50_2",
)

#: losses that train on complementary labels ("not class k"); every other loss sees the true labels
COMPLEMENTARY_LOSSES = ("pc_sigmoid", "scl_nl", "ure", "ure_nn", "fwd", "scl_exp", "ure_ga", "dm", "mcl")
#: what each Keras loss reads from its targets (declared in its registry entry, labelbench.keras.losses.TARGETS):
#: plain ``labels``, ``weighted_labels`` (one-hot + a 0/1 weight column), ``keypoint_rows`` ([presence, x1, y1,
#: ...]) or ``complementary_labels``
KERAS_LOSS_TARGETS: dict[str, str] = {
    **{name: "labels" for name in ("bce_sum", "cce_renorm", "cce_keras3", "mse", "focal", "asl", "cce", "grouped_cce")},
    "masked_cce": "weighted_labels",
    **{name: "keypoint_rows" for name in ("landmark_masked", "landmark_rank1_bug", "landmark_unmasked")},
    **{name: "complementary_labels" for name in COMPLEMENTARY_LOSSES},
}
def losses(framework: str) -> dict[str, tuple[str, ...]]:
    return KERAS_LOSSES if framework == "keras" else TORCH_LOSSES


def model_arguments(framework: str, name: str) -> tuple[str, ...] | None:
    """The arguments model ``name`` takes from the config, or None when ``framework`` has no such model."""
    if framework == "keras":
        return KERAS_MODELS.get(name)
    if name in TORCH_MODELS:
        return TORCH_MODELS[name]
    return TORCHVISION_MODEL_ARGS if name in TORCHVISION_MODELS else None


def model_names(framework: str) -> list[str]:
    return sorted(KERAS_MODELS) if framework == "keras" else [*TORCH_MODELS, "any torchvision classifier"]


#: what a Keras loss needs from its dataset besides the targets: {loss: {argument: dotted key of the dataset's
#: sidecar (dataset.json) whose value fills the argument when the config does not give it}}
KERAS_LOSS_NEEDS: dict[str, dict[str, str]] = {"fwd": {"transition": "complementary.transition"}}


def uses_complementary_labels(loss: str | None) -> bool:
    """Whether ``loss`` trains on complementary labels ("not class k") rather than the true ones."""
    return loss in COMPLEMENTARY_LOSSES
