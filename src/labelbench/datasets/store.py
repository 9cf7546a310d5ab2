"""The one on-disk dataset format.

A dataset is a folder holding

* ``images.npy``  — uint8 array, N×H×W×C;
* ``samples.parquet`` — one row per image: ``split`` (``train``/``test``), the labels (``label`` for one class
  per image, ``tag_<name>`` 0/1 columns for several), and any per-sample metadata (keypoints ``kp<i>_x``,
  ``kp<i>_y`` in pixels, ``presence``, the source file name, …);
* ``masks.npy`` (optional) — uint8 object masks, N×H×W;
* ``dataset.json`` — the sidecar: classes, task, source, generator parameters, and the sha256 of every
  input the dataset was built from and of every file written. It is written last, so its presence means
  the dataset is complete.

:func:`write_dataset` writes each file atomically; :func:`load_dataset` reads it back and verifies it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labelbench import __version__
from labelbench.errors import ChecksumError, DataError
from labelbench.io import atomic_path, file_digest, write_json, write_text

SIDECAR = "dataset.json"
IMAGES = "images.npy"
SAMPLES = "samples.parquet"
MASKS = "masks.npy"
TASKS = ("multiclass", "multilabel", "landmark")


@dataclass
class Dataset:
    """Images, per-sample table and sidecar of one dataset, in memory."""

    images: np.ndarray
    samples: pd.DataFrame
    classes: list[str]
    task: str = "multiclass"
    masks: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise DataError(f"images must be a uint8 N×H×W×C array, got {self.images.dtype} {self.images.shape}")
        if len(self.samples) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.samples)} rows in the sample table")
        if self.masks is not None and self.masks.shape != self.images.shape[:3]:
            raise DataError(f"masks must be N×H×W = {self.images.shape[:3]}, got {self.masks.shape}")
        if self.task not in TASKS:
            raise DataError(f"task must be one of {TASKS}, got {self.task!r}")
        if "split" not in self.samples:
            raise DataError("the sample table needs a 'split' column (train/test)")

    def split(self, name: str) -> Dataset:
        """The rows of one split, as a new Dataset."""
        idx = np.flatnonzero(self.samples["split"].to_numpy() == name)
        return self.take(idx)

    def take(self, idx: np.ndarray) -> Dataset:
        return Dataset(
            images=np.asarray(self.images[idx]),
            samples=self.samples.iloc[idx].reset_index(drop=True),
            classes=self.classes,
            task=self.task,
            masks=None if self.masks is None else np.asarray(self.masks[idx]),
            meta=self.meta,
        )

    @property
    def tag_columns(self) -> list[str]:
        return [f"tag_{c}" for c in self.classes]

    def targets(self) -> np.ndarray:
        """Labels as an array: class indices (multiclass) or 0/1 matrix (multilabel)."""
        if self.task == "multilabel":
            return self.samples[self.tag_columns].to_numpy(np.float32)
        return self.samples["label"].to_numpy(np.int64)


def write_dataset(out_dir: str | os.PathLike, ds: Dataset, source: str, params: dict, inputs: dict,
                  extra: dict | None = None) -> Path:
    """Write ``ds`` to ``out_dir`` in the on-disk format; ``inputs`` maps input names to their checksums, ``meta``
    adds top-level sidecar entries."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / SIDECAR).unlink(missing_ok=True)  # an old sidecar must not vouch for new arrays
    files = {IMAGES: ds.images, SAMPLES: ds.samples}
    if ds.masks is not None:
        files[MASKS] = ds.masks
    digests = {}
    for name, content in files.items():
        with atomic_path(out / name) as tmp:
            if isinstance(content, pd.DataFrame):
                content.to_parquet(tmp, index=False)
            else:
                np.save(tmp, np.ascontiguousarray(content), allow_pickle=False)
        digests[name] = file_digest(out / name)
    stats = {name: _stat(out / name) for name in files}
    counts = ds.samples["split"].value_counts().to_dict()
    sidecar = {
        "format": 1,
        "labelbench": __version__,
        "source": source,
        "task": ds.task,
        "classes": list(ds.classes),
        "n": int(len(ds.images)),
        "splits": {k: int(v) for k, v in sorted(counts.items())},
        "image_shape": list(ds.images.shape[1:]),
        "params": params,
        "inputs": inputs,
        "files": digests,
        "stat": stats,
        "meta": ds.meta,
        **(extra or {}),
    }
    write_json(out / SIDECAR, sidecar)
    return out


def read_sidecar(dataset_dir: str | os.PathLike) -> dict:
    path = Path(dataset_dir) / SIDECAR
    if not path.is_file():
        raise DataError(f"{path} is missing: the dataset in {dataset_dir} was never finished; rebuild it")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); delete the folder and rebuild it") from exc


def verify_dataset(dataset_dir: str | os.PathLike) -> dict:
    """Check every file of a dataset against the sha256 recorded in its sidecar; return the sidecar."""
    sidecar = read_sidecar(dataset_dir)
    for name, expected in sidecar["files"].items():
        path = Path(dataset_dir) / name
        if not path.is_file():
            raise DataError(f"{path} is missing although {Path(dataset_dir) / SIDECAR} lists it")
        actual = file_digest(path)
        if actual != expected:
            raise ChecksumError(path, expected, actual, algorithm="sha256")
    return sidecar


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def folder_checksums(folder: str | os.PathLike) -> dict:
    """``files`` (sha256) and ``stat`` entries for every file a folder-layout dataset (NUS-WIDE's images and
    annotation JSON) holds, as :func:`write_dataset` records them for its arrays; the sidecar, the dataset's
    figures and hidden temporary files are left out."""
    folder = Path(folder)
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and p.name != SIDECAR and not p.name.startswith(".")
                   and p.relative_to(folder).parts[0] != "figures")
    return {"files": {n: file_digest(folder / n) for n in names}, "stat": {n: _stat(folder / n) for n in names}}


#: the sidecar key naming the last change of a dataset's files that was checked (and led to its rebuild)
CHANGE_CHECKED = "change_checked"


def _fingerprint(entries) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]


def dataset_change(dataset_dir: str | os.PathLike) -> str | None:
    """How a finished dataset's files differ from its sidecar, as a short name, without writing anything: the
    workflow asks this while it is parsed, and a name makes a ``check_dataset`` job (which hashes the files, see
    :func:`check_dataset`) run before the dataset is rebuilt.

    A file whose size or modification time is not the one recorded when it was written, or that is missing, or an
    unreadable sidecar, gives a name derived from what was found. Otherwise the answer is the change the sidecar
    says was checked before the dataset was last built (so the rebuilt dataset asks for the same, finished, check
    and Snakemake sees nothing new), or None: intact and never found changed, or not built yet.
    """
    dataset_dir = Path(dataset_dir)
    path = dataset_dir / SIDECAR
    if not path.is_file():
        return None
    try:
        sidecar = json.loads(path.read_text())
        files, stats = dict(sidecar.get("files", {})), dict(sidecar.get("stat", {}))
    except (OSError, ValueError, TypeError, AttributeError):
        return "unreadable_" + _fingerprint(list(_stat(path)))
    changed = []
    for name in sorted(files):
        f = dataset_dir / name
        actual = _stat(f) if f.is_file() else "missing"
        if actual != stats.get(name):
            changed.append([name, actual])
    if changed:
        return _fingerprint(changed)
    return sidecar.get(CHANGE_CHECKED)


def check_dataset(dataset_dir: str | os.PathLike, report: str | os.PathLike) -> list[str]:
    """Hash every file of a dataset whose files changed (see :func:`dataset_change`) and compare it with the
    sha256 its sidecar recorded; log each difference as a warning and write them all to ``report``. The dataset is
    rebuilt after this check whatever it finds (Snakemake scheduled the rebuild when it saw the change): seeded,
    the rebuild is byte for byte the dataset that was written first. Returns the problems found."""
    dataset_dir = Path(dataset_dir)
    path = dataset_dir / SIDECAR
    problems = []
    try:
        sidecar = json.loads(path.read_text())
        files = dict(sidecar["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{path} is unreadable ({exc})")
        files = {}
    for name, expected in sorted(files.items()):
        f = dataset_dir / name
        if not f.is_file():
            problems.append(f"{f} is missing although {path} lists it")
            continue
        actual = file_digest(f)
        if actual != expected:
            problems.append(f"{f} does not match its sha256 in {path} (expected {expected}, got {actual})")
    log = logging.getLogger("labelbench.datasets")
    for problem in problems:
        log.warning("%s: the dataset will be rebuilt", problem)
    if not problems:
        log.warning("%s: file sizes or times differ from %s but every sha256 matches; the dataset will be rebuilt "
                    "all the same (byte for byte)", dataset_dir, path)
    lines = problems or [f"every file of {dataset_dir} matches its sha256 in {path}"]
    write_text(report, "\n".join(lines) + "\n")
    return problems


def load_dataset(dataset_dir: str | os.PathLike, verify: bool = True, mmap: bool = False) -> Dataset:
    """Read a dataset written by :func:`write_dataset`, verifying its checksums unless told not to."""
    dataset_dir = Path(dataset_dir)
    sidecar = verify_dataset(dataset_dir) if verify else read_sidecar(dataset_dir)
    mode = "r" if mmap else None
    images = np.load(dataset_dir / IMAGES, mmap_mode=mode, allow_pickle=False)
    masks = (
        np.load(dataset_dir / MASKS, mmap_mode=mode, allow_pickle=False) if MASKS in sidecar["files"] else None
    )
    samples = pd.read_parquet(dataset_dir / SAMPLES)
    return Dataset(
        images=images,
        samples=samples,
        classes=sidecar["classes"],
        task=sidecar["task"],
        masks=masks,
        meta=sidecar.get("meta", {}),
    )
