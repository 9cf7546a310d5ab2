"""Grad-CAM figures from computed maps (matplotlib only; the maps come from the framework's own module)."""

from __future__ import annotations

import numpy as np

from labelbench.figures.common import plt, save


def tag_figure(maps: dict, out: str, dpi: int = 110) -> None:
    """The image with the true tags, then one overlay per most probable tag with the boxes of the objects that
    carry it. ``maps`` is what :func:`labelbench.pytorch.gradcam.tag_maps` returns."""
    image, tags = maps["image"], maps["tags"]
    fig, axes = plt.subplots(1, len(tags) + 1, figsize=(2.6 * (len(tags) + 1), 3.0))
    axes[0].imshow(image)
    axes[0].set_title("true: " + ", ".join(maps["true_tags"]), fontsize=7)
    for ax, tag in zip(axes[1:], tags, strict=True):
        ax.imshow(image)
        ax.imshow(tag["cam"], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        if np.asarray(tag["mask"]).any():
            ax.contour(tag["mask"], levels=[0.5], colors="white", linewidths=1)
        ax.set_title(f"{tag['name']} p={tag['p']:.2f} ({'true' if tag['true'] else 'false'})", fontsize=8,
                     color="green" if tag["true"] else "red")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"Grad-CAM at {maps['layer']}, test image {maps['image_name']}", fontsize=9)
    fig.tight_layout()
    save(fig, out, dpi)
