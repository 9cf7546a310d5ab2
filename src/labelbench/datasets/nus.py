"""NUS-WIDE's folder layout, read and checked without a framework: the annotation files, the image names they
hold, and which images are usable.

A NUS-WIDE-format dataset is a folder holding ``small_train.json`` and ``small_test.json``, each
``{"samples": [{"image_name": …, "image_labels": [...]}, …], "labels": [...]}``, and the images. An
``image_name`` is a path relative to the folder holding the JSON files (``1_a_m.jpg`` or ``images/1_a_m.jpg``):
an absolute path, a ``..`` part, or a name that reaches outside the folder through a link is refused naming the
sample. The build (:func:`check_folder`) decodes every image once: missing or undecodable ones are skipped and
listed in the sidecar, and a split keeping fewer than :data:`MIN_USABLE_SHARE` of its images, or none, stops
the build naming the split.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from labelbench.errors import DataError

log = logging.getLogger("labelbench.datasets")
SPLIT_FILES = {"train": "small_train.json", "test": "small_test.json"}
#: a split whose usable images (present and decodable) are fewer than this share of the images it lists fails
MIN_USABLE_SHARE = 0.5


def check_relative_name(name: str, where: str) -> None:
    """Refuse a file name that is absolute, carries a drive letter or climbs with ``..``."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.drive or windows.root or ".." in windows.parts:
        raise DataError(
            f"{where}: {name!r} must be a path inside the dataset folder (relative, without '..' or a drive)"
        )


def contained_path(root: Path, name: str, where: str) -> Path:
    """``root / name`` after checking that it stays inside ``root``: relative, no ``..``, and no symbolic link on
    the way (a link could lead outside the folder)."""
    check_relative_name(name, where)
    path = root
    for part in PurePosixPath(name).parts:
        path = path / part
        if path.is_symlink():
            raise DataError(f"{where}: {path} is a symbolic link; the dataset folder must hold the file itself")
    if not path.resolve().is_relative_to(root.resolve()):
        raise DataError(f"{where}: {name!r} resolves to {path.resolve()}, outside the dataset folder {root}")
    return path


@dataclass
class Annotations:
    """One annotation file, checked: names, 0/1 target matrix, and the label list."""

    path: Path
    labels: list[str]
    names: list[str]
    targets: np.ndarray
    objects: list[list[dict]] = field(default_factory=list)


def read_annotations(path: str | Path, labels: list[str] | None = None) -> Annotations:
    """Parse and check one NUS-WIDE annotation file. A tag not in the label list, a sample without tags, an
    ``image_name`` outside the folder, or an empty label list stops with an error naming the file and the
    sample. ``labels`` replaces the file's own list (the test split is read with the training split's)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read the annotation JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list) or "labels" not in data:
        raise DataError(f"{path}: expected an object with a list 'samples' and a list 'labels'")
    labels = list(labels if labels is not None else data["labels"])
    if not labels:
        raise DataError(f"{path}: the label list is empty; expected the tag vocabulary under 'labels'")
    index = {t: k for k, t in enumerate(labels)}
    names, rows, objects = [], [], []
    for i, sample in enumerate(data["samples"]):
        name = sample.get("image_name") if isinstance(sample, dict) else None
        tags = sample.get("image_labels") if isinstance(sample, dict) else None
        where = f"{path}, sample {i} ({name!r})"
        if not name or not isinstance(name, str) or not isinstance(tags, list):
            raise DataError(f"{where}: needs 'image_name' (a file name) and a list 'image_labels'")
        check_relative_name(name, f"{where}: image_name")
        if not tags:
            raise DataError(f"{where}: its label list is empty; every sample needs at least one tag")
        unknown = [t for t in tags if t not in index]
        if unknown:
            raise DataError(f"{where}: tags {unknown} are not in the label list {labels}")
        row = np.zeros(len(labels), np.float32)
        row[[index[t] for t in tags]] = 1
        names.append(name)
        rows.append(row)
        objects.append(sample.get("objects", []))
    targets = np.stack(rows) if rows else np.zeros((0, len(labels)), np.float32)
    return Annotations(path, labels, names, targets, objects)


def _where_else(folder: Path, missing: list[str]) -> str:
    """A hint when missing images exist under another folder (bare names with the images in ``images/``)."""
    name = PurePosixPath(missing[0]).name
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob(name) if p.is_file())
    if found:
        return (f"; {missing[0]!r} exists as {found[0]!r}: image_name is relative to the folder holding "
                f"{SPLIT_FILES['train']}, so write it as {found[0]!r}")
    return ""


def check_folder(folder: str | Path) -> dict:
    """Check a NUS-WIDE-format folder as the build leaves it: both annotation files (the test split read with the
    training split's labels), every ``image_name`` inside the folder, every image decoded once. Returns the
    sidecar's summary: listed and usable images per split, the labels, and the skipped images per split."""
    from labelbench.images import decode_image

    folder = Path(folder)
    summary: dict = {"splits": {}, "usable": {}, "skipped": {}, "labels": None}
    labels = None
    for split, file_name in SPLIT_FILES.items():
        ann = read_annotations(folder / file_name, labels)
        labels = ann.labels
        skipped, reasons = [], []
        for i, name in enumerate(ann.names):
            path = contained_path(folder, name, f"{ann.path}, sample {i} ({name!r}): image_name")
            try:
                decode_image(path)
            except DataError as exc:
                skipped.append(name)
                reasons.append(str(exc))
        listed, usable = len(ann.names), len(ann.names) - len(skipped)
        if skipped:
            log.warning("%s: %d of %d image(s) missing or undecodable, skipped; first: %s", ann.path, len(skipped),
                        listed, reasons[:3])
        if usable == 0 or usable < MIN_USABLE_SHARE * listed:
            raise DataError(
                f"{ann.path}: split {split!r} has {usable} usable image(s) of the {listed} it lists (at least "
                f"{MIN_USABLE_SHARE:.0%} and one are needed); first missing or undecodable: {skipped[:3]}"
                + (_where_else(folder, skipped) if skipped else "")
            )
        summary["splits"][split] = listed
        summary["usable"][split] = usable
        summary["skipped"][split] = skipped
    summary["labels"] = labels
    summary["n"] = sum(summary["usable"].values())
    return summary
