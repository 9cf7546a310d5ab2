"""Tagging models: torchvision classifiers by name with a multi-label head, and a small CNN of our own.

Every model returns logits, one per tag. ``weights`` is either a torchvision weights name (``IMAGENET1K_V1``):
fetched and hash-checked through torchvision's weights API and cached under ``$TORCH_HOME/hub/checkpoints``
(offline and not cached, building stops with a message saying where to put the file); or the path of a local
state-dict file, for compute nodes without a network: the state dict of the torchvision model as torchvision
publishes it (its own ImageNet head included, e.g. ResNeXt50's 1000-way ``fc``; that head is replaced by ours
after loading, as with a weights name), loaded with ``weights_only`` (no code runs) and checked key by key.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from labelbench.errors import ConfigError
from labelbench.registry import is_weights_file

log = logging.getLogger("labelbench.tagging")


class SmallCNN(nn.Module):
    """``len(widths)`` blocks of (conv3×3-BN-ReLU)×``convs`` + max-pool, global average pooling, Dropout + Linear.
    Grad-CAM layers are ``blocks.<i>``."""

    def __init__(self, n_outputs: int, widths=(32, 64, 128, 256), convs: int = 2, dropout: float = 0.2):
        super().__init__()
        blocks, c_in = [], 3
        for w in widths:
            layers = []
            for _ in range(convs):
                layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                c_in = w
            blocks.append(nn.Sequential(*layers, nn.MaxPool2d(2)))
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, n_outputs)
        )

    def forward(self, x):
        return self.head(self.blocks(x))


def _weights(name: str, weights: str | None):
    """Resolve ``weights`` (e.g. ``IMAGENET1K_V1`` or ``DEFAULT``) and make sure the file is at hand."""
    if not weights:
        return None
    from torchvision.models import get_model_weights

    try:
        resolved = get_model_weights(name)[weights] if weights != "DEFAULT" else get_model_weights(name).DEFAULT
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"model {name!r} has no weights {weights!r}: {exc}") from exc
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(resolved.url).name
    if not target.is_file():
        try:
            torch.hub.load_state_dict_from_url(resolved.url, progress=True, check_hash=True)
        except Exception as exc:  # noqa: BLE001 - any network failure gets the same advice
            raise ConfigError(
                f"ImageNet weights {name}.{weights} are not cached at {target} and cannot be downloaded ({exc}). "
                f"Download {resolved.url} on a machine with internet and copy it to {target} (TORCH_HOME decides "
                "the folder), or set model.weights: null to train from scratch."
            ) from exc
    return resolved


def load_weights_file(model: nn.Module, name: str, path: str | Path) -> None:
    """Load the state dict saved at ``path`` (``torch.save(model.state_dict())`` of torchvision's ``name``) into
    ``model``, refusing a file that does not fit it: every missing and unexpected key and every shape mismatch is
    named (the first few of each, with their counts). ``weights_only``: a file that pickles anything but tensors
    and containers is refused before anything in it runs."""
    path = Path(path)
    where = f"model.weights: {path}"
    if not path.is_file():
        raise ConfigError(f"{where} does not exist or is not a file; expected a state-dict file of {name}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and tensor errors alike: not a safe state dict
        raise ConfigError(f"{where} is not a state-dict file torch.load reads with weights_only=True ({exc})") from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        what = (f"a dict with keys {list(state)[:5]} whose values are not all tensors" if isinstance(state, dict)
                else f"a {type(state).__name__}")
        raise ConfigError(f"{where} holds {what}, not a state dict (parameter names to tensors); save one with "
                          "torch.save(model.state_dict(), path)")

    def named(kind: str, items: list[str]) -> str:
        return f"{len(items)} {kind} ({', '.join(items[:5])}{', ...' if len(items) > 5 else ''})"

    expected = model.state_dict()
    shapes = [f"{k} is {tuple(v.shape)} in the file, {tuple(expected[k].shape)} in {name}"
              for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    if shapes:
        raise ConfigError(f"{where} does not fit {name}: {named('shape mismatches', shapes)}")
    # load_state_dict's own key check, which knows what a module may lack in older files (BatchNorm's
    # num_batches_tracked); nothing is used unless both lists are empty
    result = model.load_state_dict(state, strict=False)
    problems = [named(kind, keys) for kind, keys in (("missing keys", list(result.missing_keys)),
                                                     ("unexpected keys", list(result.unexpected_keys))) if keys]
    if problems:
        raise ConfigError(f"{where} does not fit {name}: {'; '.join(problems)} (expected the state dict of "
                          f"torchvision's {name}, its ImageNet head included)")
    log.info("weights of %s loaded from %s (%d tensors, every key and shape checked)", name, path, len(state))


def build_model(name: str, n_outputs: int, weights: str | None = None, dropout: float = 0.2, **kwargs) -> nn.Module:
    """``small_cnn`` (kwargs: widths) or any torchvision classification model by name, with ``weights`` (a
    torchvision weights name, or a state-dict file: module docstring), its last layer replaced by
    Dropout(``dropout``) + Linear(n_outputs) as the source does for ResNeXt50."""
    if name == "small_cnn":
        return SmallCNN(n_outputs, dropout=dropout, **kwargs)
    from torchvision.models import get_model, list_models

    if name not in list_models(module=__import__("torchvision").models):
        raise ConfigError(f"model {name!r} is neither small_cnn nor a torchvision classification model")
    if is_weights_file(weights):
        model = get_model(name, weights=None, **kwargs)
        load_weights_file(model, name, weights)
    else:
        model = get_model(name, weights=_weights(name, weights), **kwargs)
    if hasattr(model, "fc") and isinstance(model.fc, nn.Linear):
        model.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(model.fc.in_features, n_outputs))
    elif hasattr(model, "classifier"):
        head = model.classifier
        if isinstance(head, nn.Linear):
            model.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(head.in_features, n_outputs))
        else:
            last = max(i for i, m in enumerate(head) if isinstance(m, nn.Linear))
            head[last] = nn.Linear(head[last].in_features, n_outputs)
    elif hasattr(model, "heads"):  # vision transformers
        model.heads = nn.Sequential(nn.Dropout(dropout), nn.Linear(model.heads[-1].in_features, n_outputs))
    else:
        raise ConfigError(f"model {name!r}: cannot find its classification head (fc, classifier or heads)")
    return model


def resolve_layer(model: nn.Module, name: str) -> nn.Module:
    """A sub-module by dotted name (``layer3``, ``blocks.2``), with an error listing the candidates."""
    modules = dict(model.named_modules())
    if name not in modules:
        top = [n for n in modules if n and "." not in n]
        raise ConfigError(f"layer {name!r} not in the model; top-level layers are {top}")
    return modules[name]
