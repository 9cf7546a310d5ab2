"""Tagging models: torchvision classifiers by name with a multi-label head, and a small CNN of our own.

Every model returns logits, one per tag. ImageNet weights come through torchvision's weights API and are
cached under ``$TORCH_HOME/hub/checkpoints``; offline and not cached, building stops with a message saying
where to put the file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from labelbench.errors import ConfigError


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


def build_model(name: str, n_outputs: int, weights: str | None = None, dropout: float = 0.2, **kwargs) -> nn.Module:
    """``small_cnn`` (kwargs: widths) or any torchvision classification model by name, its last layer replaced
    by Dropout(``dropout``) + Linear(n_outputs) as the source does for ResNeXt50."""
    if name == "small_cnn":
        return SmallCNN(n_outputs, dropout=dropout, **kwargs)
    from torchvision.models import get_model, list_models

    if name not in list_models(module=__import__("torchvision").models):
        raise ConfigError(f"model {name!r} is neither small_cnn nor a torchvision classification model")
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
