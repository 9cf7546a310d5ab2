"""Grad-CAM figure of one test image of the tagging experiment (imports torch; never TensorFlow)."""

from __future__ import annotations

import numpy as np

from labelbench.figures.common import plt, save
from labelbench.pytorch.data import model_input
from labelbench.pytorch.gradcam import cams_for, load_model, open_test_set, tag_boxes_mask, top_tags


def gradcam_figure(model_path: str, dataset_dir: str, layer: str, index: int, top_k: int, out: str, dpi: int = 110):
    """The image with its tagged objects' boxes, then one Grad-CAM overlay per most probable tag."""
    model, state = load_model(model_path)
    ds = open_test_set(dataset_dir, state["image_size"])
    if index >= len(ds):
        raise IndexError(f"test image {index} asked for, but the test split has {len(ds)} images")
    x, y = ds[index]
    image = x.permute(1, 2, 0).numpy()
    x = model_input(x[None])
    tags, probs = top_tags(model, x, top_k)
    cams = cams_for(model, layer, x, tags)
    objects = ds.annotations.objects[int(ds.indices[index])]
    scale = state["image_size"] / ds.annotations_image_size(index)
    fig, axes = plt.subplots(1, len(tags) + 1, figsize=(2.6 * (len(tags) + 1), 3.0))
    axes[0].imshow(image)
    axes[0].set_title("true: " + ", ".join(ds.classes[k] for k in np.flatnonzero(y.numpy() > 0.5)), fontsize=7)
    for ax, k, cam in zip(axes[1:], tags, cams, strict=True):
        ax.imshow(image)
        ax.imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        mask = tag_boxes_mask(objects, ds.classes[k], state["image_size"], scale)
        if mask.any():
            ax.contour(mask, levels=[0.5], colors="white", linewidths=1)
        truth = "true" if y[k] > 0.5 else "false"
        ax.set_title(f"{ds.classes[k]} p={probs[k]:.2f} ({truth})", fontsize=8, color="green" if y[k] > 0.5 else "red")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"Grad-CAM at {layer}, test image {ds.name(index)}", fontsize=9)
    fig.tight_layout()
    save(fig, out, dpi)
