"""NUS-WIDE-format multi-label data for PyTorch: annotation JSON + image folder, one loader for the real
subset and the synthetic scenes.

Annotation files look like ``{"samples": [{"image_name": …, "image_labels": [...]}, …], "labels": [...]}``.
Images are checked once when the dataset is opened: a missing or unreadable file is skipped and counted, or
stops the job, as ``on_bad_image`` says. Every image is decoded by :func:`labelbench.images.decode_image`,
as dataset builds and figures decode it.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

# the annotation reader is framework-free (dataset builds use it too); Annotations is re-exported for callers here
from labelbench.datasets.nus import SPLIT_FILES, Annotations, read_annotations  # noqa: F401
from labelbench.errors import DataError
from labelbench.images import decode_image

log = logging.getLogger("labelbench.tagging")


def load_rgb(path: str | Path) -> Image.Image:
    """Any image as upright 8-bit RGB, through :func:`labelbench.images.decode_image` (EXIF orientation, 16-bit
    scaled, transparency on white, palette/grayscale/CMYK converted), as dataset builds and figures decode it."""
    return decode_image(path)


def check_images(
    root: Path, names: list[str], on_bad_image: str = "skip", keep: bool = False
) -> tuple[np.ndarray, list[str], dict[int, Image.Image]]:
    """Indices of the images that open, the names of those that do not (missing or unreadable), and, with
    ``keep``, the decoded RGB images by index: the check decodes each image anyway."""
    good, bad, kept = [], [], {}
    for i, name in enumerate(names):
        try:
            image = load_rgb(root / name)
            if keep:
                kept[i] = image
            good.append(i)
        except DataError as exc:
            if on_bad_image == "fail":
                raise DataError(f"image {root / name} cannot be read ({exc}); set on_bad_image: skip to skip") from exc
            bad.append(name)
    if bad:
        log.warning("skipped %d unreadable or missing image(s) under %s, first: %s", len(bad), root, bad[:5])
    return np.asarray(good, np.int64), bad, kept


class NusWideDataset(Dataset):
    """(uint8 image tensor, 0/1 target vector) pairs of one split; :meth:`subset` restricts it to some samples.

    With ``cache``, every image is decoded once, when the dataset is opened, and kept in memory (3×H×W bytes
    each: 12 kB at 64 px, 150 kB at 224 px); otherwise each access decodes the file again (a default tagging
    job would decode each image 7 times: the check, 5 epochs, the evaluation).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform=None,
        on_bad_image: str = "skip",
        labels: list[str] | None = None,
        cache: bool = False,
    ):
        self.root = Path(root)
        if split not in SPLIT_FILES:
            raise DataError(f"split must be one of {list(SPLIT_FILES)}, got {split!r}")
        self.annotations = read_annotations(self.root / SPLIT_FILES[split], labels)
        self.classes = self.annotations.labels
        self.indices, self.skipped, self.cached = check_images(self.root, self.annotations.names, on_bad_image, cache)
        self.transform = transform

    def subset(self, indices: np.ndarray, transform=None) -> NusWideDataset:
        """The readable samples among ``indices``, with ``transform``, without checking the images again."""
        part = copy.copy(self)
        part.indices = np.intersect1d(self.indices, indices)
        part.transform = transform
        return part

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        k = int(self.indices[i])
        image = self.cached[k] if self.cached else load_rgb(self.root / self.annotations.names[k])
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.from_numpy(self.annotations.targets[k])

    def name(self, i: int) -> str:
        return self.annotations.names[int(self.indices[i])]

    def annotations_image_size(self, i: int) -> int:
        """Width of the image as decoded (upright; boxes in the annotations are in its pixels)."""
        return load_rgb(self.root / self.name(i)).size[0]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def transforms(size: int, augment: dict | None = None):
    """torchvision.transforms.v2 pipelines (train, eval) of one image, ending in a uint8 image tensor: the
    source's resize, flip, colour jitter and affine with the mean colour as fill. ``augment`` sets their
    strength; None = eval only. Scaling and ImageNet normalisation come after batching, in :func:`model_input`."""
    from torchvision.transforms import v2

    # PIL images until the end: measured on 2 cores at 64 px, the source's augmentations on uint8 tensors ran at
    # ~1,800 images/s against ~3,800 on PIL
    evaluation = v2.Compose([v2.Resize((size, size), antialias=True), v2.ToImage()])
    if not augment:
        return evaluation, evaluation
    steps = [v2.Resize((size, size), antialias=True)]
    if augment.get("hflip", True):
        steps.append(v2.RandomHorizontalFlip())
    jitter = augment.get("color_jitter", {})
    if jitter:
        steps.append(v2.ColorJitter(**jitter))
    affine = augment.get("affine")
    if affine:
        fill = tuple(int(m * 255) for m in IMAGENET_MEAN)
        steps.append(v2.RandomAffine(degrees=affine.get("degrees", 0), translate=affine.get("translate"),
                                     scale=affine.get("scale"), fill=fill))
    return v2.Compose([*steps, v2.ToImage()]), evaluation


def model_input(x: torch.Tensor, device: torch.device | str | None = None, channels_last: bool = False) -> torch.Tensor:
    """A uint8 image batch (N×3×H×W, or one 3×H×W image) as the model takes it: moved to ``device``, scaled to
    [0, 1], ImageNet-normalised, channels-last if asked. Done once per batch on the device rather than per image
    in the loader: a quarter of the bytes to copy, one call instead of one per image (measured on 2 cores, 64 px, the
    source's augmentations: the per-image transforms went from ~2,700 to ~3,800 images/s)."""
    from torchvision.transforms.v2 import functional as F

    if device is not None:
        x = x.to(device, non_blocking=True)
    x = F.normalize(F.to_dtype(x, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x
