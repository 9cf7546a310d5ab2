"""The user's own landmark data: a folder of images and a CSV of presence and keypoints.

CSV format (header required, one row per image)::

    image,presence,x1,y1,x2,y2,...,xL,yL[,split]

* ``image``: file name relative to the folder (no absolute path, no ``..``, no symbolic link);
* ``presence``: 1 if the object is in the image, 0 if not;
* ``x1 … yL``: keypoints as fractions of the image width (x) and height (y), in [0, 1]; on rows with
  presence 0 they are ignored (write 0 or leave empty);
* ``split`` (optional): ``train`` or ``test``; without it a seeded split holds out ``test_fraction``.

The file may start with a UTF-8 byte-order mark (as spreadsheet programs write it). Each problem stops the build
with an error naming the CSV line: a wrong number of columns, an image outside the folder, a missing or
unreadable image, a presence other than 0/1, a coordinate that is missing or outside [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labelbench.datasets.nus import contained_path
from labelbench.datasets.store import Dataset
from labelbench.datasets.user_csv import read_rows
from labelbench.errors import DataError
from labelbench.images import decode_array


def _header(path: Path, header: list[str]) -> tuple[int, bool]:
    """Number of keypoints and whether a split column is present, after checking the header."""
    cols = [h.strip() for h in header]
    has_split = bool(cols) and cols[-1] == "split"
    coords = cols[2 : len(cols) - has_split]
    expected = [f"{a}{k}" for k in range(1, len(coords) // 2 + 1) for a in "xy"]
    if cols[:2] != ["image", "presence"] or len(coords) < 2 or len(coords) % 2 or coords != expected:
        raise DataError(
            f"{path}, line 1: header {cols} is not image,presence,x1,y1,...,xL,yL[,split] "
            f"(expected e.g. {['image', 'presence', 'x1', 'y1', 'x2', 'y2']})"
        )
    return len(coords) // 2, has_split


def _number(value: str, what: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{where}: {what} {value!r} is not a number") from None


def landmark_csv(
    path: str | Path, size: int, csv_file: str | None = None, test_fraction: float = 0.2, seed: int = 0
) -> Dataset:
    """Read ``csv_file`` (default ``<path>/landmarks.csv``) and the images under ``path`` into a landmark
    dataset: images resized to ``size``², keypoints stored in pixels of the resized image."""
    root = Path(path)
    table = Path(csv_file) if csv_file else root / "landmarks.csv"
    rows = read_rows(table, "landmark CSV", "image,presence,x1,y1,... (see the README)")
    n_kp, has_split = _header(table, rows[0])
    width = len(rows[0])
    images, presence, coords, splits, files = [], [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        where = f"{table}, line {line}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise DataError(f"{where}: {len(row)} columns, expected {width} as in the header")
        image = contained_path(root, row[0].strip(), f"{where}: image")
        if not image.is_file():
            raise DataError(f"{where}: image {image} does not exist")
        p = _number(row[1], "presence", where)
        if p not in (0.0, 1.0):
            raise DataError(f"{where}: presence {row[1]!r} must be 0 or 1")
        xy = np.zeros(2 * n_kp, np.float32)
        if p:
            for j, cell in enumerate(row[2 : 2 + 2 * n_kp]):
                name = rows[0][2 + j].strip()
                value = _number(cell, name, where) if cell.strip() else float("nan")
                if not 0.0 <= value <= 1.0:
                    raise DataError(f"{where}: {name} = {cell!r} is outside [0, 1] (coordinates are fractions)")
                xy[j] = value
        images.append(decode_array(image, size, name=f"{where}: image {image}"))
        files.append(row[0].strip())
        presence.append(p)
        coords.append(xy * size)
        if has_split:
            split = row[-1].strip()
            if split not in ("train", "test"):
                raise DataError(f"{where}: split {split!r} must be train or test")
            splits.append(split)
    if not images:
        raise DataError(f"{table} has a header but no rows")
    presence = np.asarray(presence, np.float32)
    if has_split:
        split_col = np.asarray(splits, dtype=object)
    else:
        rng = np.random.default_rng(seed)
        split_col = np.where(rng.random(len(images)) < test_fraction, "test", "train").astype(object)
    coords = np.stack(coords)
    samples = pd.DataFrame({"split": split_col, "presence": presence})
    for k in range(n_kp):
        samples[f"kp{k}_x"] = coords[:, 2 * k]
        samples[f"kp{k}_y"] = coords[:, 2 * k + 1]
    samples["file"] = files
    return Dataset(np.stack(images), samples, classes=["object"], task="landmark")
