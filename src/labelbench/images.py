"""The one way labelbench turns an image file into pixels: dataset builds, the tagging loader (training and
evaluation) and the figures all call :func:`decode_image`, so a photo looks the same everywhere.

What it does, in order:

* EXIF orientation is applied (``PIL.ImageOps.exif_transpose``): a photo tagged "rotate 90" is turned upright;
* 16-bit and 32-bit grayscale (``I;16*``, ``I``) are scaled by their range to 8 bits: values of a 16-bit image
  are divided by 257 (65535 → 255); an ``I`` or ``F`` image whose values do not fit 0–65535 (0–1 for ``F``) is
  scaled from its own minimum–maximum, since it names no range of its own;
* transparency (``RGBA``, ``LA``, ``PA``, a palette or grayscale image with a transparent colour) is composited on
  a stated background, white (255, 255, 255) unless told otherwise;
* CMYK, YCbCr, grayscale, 1-bit and palette images are converted to RGB with Pillow's conversions (CMYK without
  its ICC profile).

Nothing here imports a deep-learning framework.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from labelbench.errors import DataError

#: the colour transparent pixels are composited on
BACKGROUND = (255, 255, 255)
_HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA = ("RGBA", "LA", "PA", "La", "RGBa")


def _to_8bit(im: Image.Image) -> Image.Image:
    """An 8-bit grayscale image from a 16-bit, 32-bit integer or float one, scaled by its range."""
    values = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16") or (im.mode == "I" and values.size and values.min() >= 0 and values.max() <= 65535):
        scaled = values / 257.0
    elif im.mode == "F" and values.size and values.min() >= 0 and values.max() <= 1:
        scaled = values * 255.0
    else:
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def to_rgb(im: Image.Image, background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    """``im`` (already loaded) as an upright 8-bit RGB image: see the module's description."""
    im = ImageOps.exif_transpose(im)
    if im.mode in _HIGH_DEPTH:
        im = _to_8bit(im)
    if im.mode in _ALPHA or "transparency" in im.info:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return im.convert("RGB")


def decode_image(source: str | os.PathLike | bytes, background: tuple[int, int, int] = BACKGROUND,
                 name: str | None = None) -> Image.Image:
    """Decode a file (path) or its bytes into an upright 8-bit RGB PIL image; transparency on ``background``.

    A file that is missing, not an image, truncated, or large enough to be a decompression bomb stops with a
    :class:`~labelbench.errors.DataError` naming it (``name``, else the path).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "image bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
            with Image.open(handle) as im:
                im.load()
                return to_rgb(im, background)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise DataError(f"cannot read image {label}: {exc}") from exc


def decode_array(source: str | os.PathLike | bytes, size: int | None = None, name: str | None = None) -> np.ndarray:
    """:func:`decode_image` as an H×W×3 uint8 array, resized to ``size``² (bilinear) when given."""
    im = decode_image(source, name=name)
    if size is not None:
        im = im.resize((size, size), Image.BILINEAR)
    return np.asarray(im)
