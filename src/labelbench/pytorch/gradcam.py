"""Grad-CAM of the tagging model with pytorch-grad-cam, and how much of each map falls on the tagged object.

The synthetic scenes know every object's box, so a map can be scored (labelbench.cam_scores.localisation, the
scoring the Keras Grad-CAM table uses too): the share of its mass inside the boxes of the objects that carry the
tag, set against the share of the image those boxes cover. A ratio well above 1 means the model looks at it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from labelbench.cam_scores import localisation
from labelbench.pytorch.data import NusWideDataset, model_input, transforms
from labelbench.pytorch.models import build_model, resolve_layer


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    spec = {k: v for k, v in state["model_spec"].items() if k not in ("name", "weights")}
    model = build_model(state["model_spec"]["name"], len(state["classes"]), **spec)
    model.load_state_dict(state["model"])
    return model.eval(), state


def cams_for(model, layer: str, x: torch.Tensor, tag_indices: list[int]) -> np.ndarray:
    """One normalised map per requested tag of one image (x: 1×C×H×W), each H×W in [0, 1]."""
    with GradCAM(model=model, target_layers=[resolve_layer(model, layer)]) as cam:
        batch = x.repeat(len(tag_indices), 1, 1, 1)
        return cam(input_tensor=batch, targets=[ClassifierOutputTarget(k) for k in tag_indices])


def tag_boxes_mask(objects: list[dict], tag: str, size: int, scale: float) -> np.ndarray:
    """Union of the boxes of the objects whose shape or colour is ``tag``, at the model's input size."""
    mask = np.zeros((size, size), bool)
    for obj in objects:
        if tag in (obj.get("shape"), obj.get("colour")):
            x0, y0, x1, y1 = (int(round(v * scale)) for v in obj["box"])
            mask[y0:y1, x0:x1] = True
    return mask


def open_test_set(dataset_dir: str | Path, image_size: int) -> NusWideDataset:
    _, evaluation = transforms(image_size)
    return NusWideDataset(dataset_dir, "test", evaluation)


def top_tags(model, x: torch.Tensor, k: int) -> tuple[list[int], np.ndarray]:
    with torch.no_grad():
        probs = torch.sigmoid(model(x))[0].numpy()
    return list(np.argsort(-probs)[:k]), probs


def localisation_table(model_path: str, dataset_dir: str, layer: str, n_images: int, variant: str, seed: int,
                       top_k: int = 3) -> pd.DataFrame:
    """Localisation of the maps of the top-k predicted tags that are true, on the first ``n_images`` test images."""
    model, state = load_model(model_path)
    ds = open_test_set(dataset_dir, state["image_size"])
    rows = []
    for i in range(min(n_images, len(ds))):
        x, y = ds[i]
        x = model_input(x[None])
        tags, probs = top_tags(model, x, top_k)
        tags = [k for k in tags if y[k] > 0.5]
        if not tags:
            continue
        objects = ds.annotations.objects[int(ds.indices[i])]
        scale = state["image_size"] / ds.annotations_image_size(i)
        for k, cam in zip(tags, cams_for(model, layer, x, tags), strict=True):
            mask = tag_boxes_mask(objects, ds.classes[k], state["image_size"], scale)
            rows.append({"variant": variant, "seed": seed, "image": ds.name(i), "tag": ds.classes[k],
                         "p": float(probs[k]), "layer": layer, **localisation(cam, mask)})
    return pd.DataFrame(rows)


def tag_maps(model_path: str, dataset_dir: str, layer: str, index: int, top_k: int) -> dict:
    """Test image ``index``, its true tags, and the Grad-CAM map of each of its ``top_k`` most probable tags with
    the boxes of the objects that carry it (what :func:`labelbench.figures.gradcam.tag_figure` draws)."""
    model, state = load_model(model_path)
    ds = open_test_set(dataset_dir, state["image_size"])
    if index >= len(ds):
        raise IndexError(f"test image {index} asked for, but the test split has {len(ds)} images")
    x, y = ds[index]
    image = x.permute(1, 2, 0).numpy()
    x = model_input(x[None])
    tags, probs = top_tags(model, x, top_k)
    objects = ds.annotations.objects[int(ds.indices[index])]
    scale = state["image_size"] / ds.annotations_image_size(index)
    return {
        "image": image, "image_name": ds.name(index), "layer": layer,
        "true_tags": [ds.classes[k] for k in np.flatnonzero(y.numpy() > 0.5)],
        "tags": [{"name": ds.classes[k], "p": float(probs[k]), "true": bool(y[k] > 0.5), "cam": cam,
                  "mask": tag_boxes_mask(objects, ds.classes[k], state["image_size"], scale)}
                 for k, cam in zip(tags, cams_for(model, layer, x, tags), strict=True)],
    }
