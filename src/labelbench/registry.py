"""The losses and models a config may name, read from the registries' own declarations without importing a
framework.

The registries are the modules whose builders carry ``@register``: :mod:`labelbench.keras.losses` (each loss with
the targets it reads and what it needs from its dataset, as the decorator's arguments),
:mod:`labelbench.keras.models`, :mod:`labelbench.pytorch.losses`, and PyTorch's own model class ``SmallCNN`` in
:mod:`labelbench.pytorch.models`. Importing them loads TensorFlow or PyTorch (seconds), and the config is checked
while the workflow is parsed, which must stay fast and load neither. So this module reads their source with
:mod:`ast`: each registered builder's name and parameters, and the literal arguments of its decorator. What a loss
is, is written once, where the loss is; ``tests/test_registry.py`` imports the real registries and checks
that what is read here equals them. (No library reads a decorator's arguments without running the module.)
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class LossDeclaration:
    """A registered loss: its keyword arguments, the targets it reads (``labels``, ``weighted_labels``,
    ``keypoint_rows`` or ``complementary_labels``) and what it needs from its dataset ({argument: dotted key of the
    dataset's sidecar that fills it when the config does not})."""

    arguments: tuple[str, ...]
    targets: str = "labels"
    needs: dict[str, str] = field(default_factory=dict)


def _parameters(node: ast.FunctionDef, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    args = node.args
    return tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg not in skip)


def _registered(module: str) -> dict[str, tuple[ast.FunctionDef, dict]]:
    """The functions of ``module`` (a path under labelbench) decorated with ``register`` or ``register(...)``, with
    the decorator's keyword arguments (literals only: anything else is refused, naming the function)."""
    tree = ast.parse((_PACKAGE / module).read_text(encoding="utf-8"), filename=module)
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if isinstance(target, ast.Name) and target.id == "register":
                if call and call.args:
                    raise ValueError(f"{module}: @register of {node.name} takes keyword arguments only (targets=..., "
                                     f"needs=...), so that the config check can read them without importing")
                keywords = {}
                for kw in call.keywords if call else []:
                    try:
                        keywords[kw.arg] = ast.literal_eval(kw.value)
                    except ValueError as err:
                        raise ValueError(f"{module}: @register of {node.name} takes literal arguments only, so "
                                         f"that the config check can read them without importing") from err
                found[node.name] = (node, keywords)
    return found


@functools.cache
def keras_losses() -> dict[str, LossDeclaration]:
    """Every Keras loss, as :mod:`labelbench.keras.losses` registers it."""
    return {name: LossDeclaration(_parameters(node), kw.get("targets", "labels"), dict(kw.get("needs") or {}))
            for name, (node, kw) in _registered("keras/losses.py").items()}


#: arguments the Keras trainer gives every model itself (from the data), before those a config may set
KERAS_MODEL_DATA_ARGS = ("input_shape", "n_outputs")


@functools.cache
def keras_models() -> dict[str, tuple[str, ...]]:
    """Every Keras model with the builder arguments a config may set."""
    return {name: _parameters(node, KERAS_MODEL_DATA_ARGS)
            for name, (node, _) in _registered("keras/models.py").items()}


@functools.cache
def torch_losses() -> dict[str, tuple[str, ...]]:
    """Every PyTorch loss with its keyword arguments."""
    return {name: _parameters(node) for name, (node, _) in _registered("pytorch/losses.py").items()}


@functools.cache
def torch_models() -> dict[str, tuple[str, ...]]:
    """PyTorch's models of our own: ``small_cnn`` (the class ``SmallCNN``) with the arguments a config may set."""
    tree = ast.parse((_PACKAGE / "pytorch/models.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SmallCNN")
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return {"small_cnn": _parameters(init, ("self", "n_outputs"))}


def complementary_losses() -> tuple[str, ...]:
    """The losses that train on complementary labels ("not class k"): those declaring those targets."""
    return tuple(n for n, d in keras_losses().items() if d.targets == "complementary_labels")


def uses_complementary_labels(loss: str | None) -> bool:
    """Whether ``loss`` trains on complementary labels rather than the true ones."""
    return loss in complementary_losses()


def loss_needs(loss: str) -> dict[str, str]:
    """What Keras loss ``loss`` needs from its dataset's sidecar (empty for an unknown or a PyTorch loss)."""
    declared = keras_losses().get(loss)
    return dict(declared.needs) if declared else {}


def losses(framework: str) -> dict[str, tuple[str, ...]]:
    """{loss name: keyword arguments} of ``framework`` (keras or torch)."""
    if framework == "keras":
        return {name: d.arguments for name, d in keras_losses().items()}
    return torch_losses()


#: arguments a torchvision classifier takes through :func:`labelbench.pytorch.models.build_model`
TORCHVISION_MODEL_ARGS = ("weights", "dropout")
#: torchvision's weights names are enum members in capitals (``IMAGENET1K_V1``, ``DEFAULT``); any other value of
#: ``model.weights`` is the path of a local state-dict file
TORCHVISION_WEIGHTS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: ``torchvision.models.list_models(module=torchvision.models)`` of the pinned torchvision: torchvision's own list
#: (reading it needs torch), checked against the installed torchvision by tests/test_registry.py
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


def is_weights_file(weights: str | None) -> bool:
    """Whether a ``model.weights`` value names a local state-dict file (rather than torchvision's weights)."""
    return bool(weights) and not TORCHVISION_WEIGHTS_NAME.match(str(weights))


def model_arguments(framework: str, name: str) -> tuple[str, ...] | None:
    """The arguments model ``name`` takes from the config, or None when ``framework`` has no such model."""
    if framework == "keras":
        return keras_models().get(name)
    if name in torch_models():
        return torch_models()[name]
    return TORCHVISION_MODEL_ARGS if name in TORCHVISION_MODELS else None


def model_names(framework: str) -> list[str]:
    return sorted(keras_models()) if framework == "keras" else [*torch_models(), "any torchvision classifier"]
