"""Readers for the real datasets in their upstream formats, and for the user's own image folders.

Each reader takes the upstream files (downloaded by :mod:`labelbench.datasets.download` or pointed at with a
``path:``) and returns a :class:`~labelbench.datasets.store.Dataset`; nothing here touches the network.
The upstream names and md5s, declared by each source's module (:mod:`labelbench.datasets.sources`), are those
torchvision uses, so an archive torchvision downloaded can be reused.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import pickle
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelbench.datasets.nus import SPLIT_FILES
from labelbench.datasets.splits import train_test_column
from labelbench.datasets.store import Dataset
from labelbench.errors import DataError
from labelbench.images import decode_array

log = logging.getLogger("labelbench.datasets")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


# ------------------------------------------------------------------------------------- archive budgets
#: below this many uncompressed bytes the ratio is not looked at: a small file (an empty one, a short JSON) may
#: compress far better than 200:1 and cannot fill a disk
RATIO_FLOOR_BYTES = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """What one archive may expand to (a dataset's ``archive_limits:``): no member larger than
    ``max_member_bytes`` uncompressed, and no more than ``max_ratio`` uncompressed bytes per compressed byte.

    The upstream archives are far inside both: CIFAR-10's batches are 31 MB at ~1:1, MNIST's largest file 47 MB at
    ~5:1, Caltech101's inner 101_ObjectCategories.tar.gz 131 MB at ~1:1 (JPEGs). A compression bomb (megabytes
    of zeros stored at ~1000:1) is not."""

    max_member_bytes: int = 2 << 30
    max_ratio: float = 200.0

    @classmethod
    def from_spec(cls, spec: dict) -> ArchiveLimits:
        return cls(**(spec.get("archive_limits") or {}))

    def check_member(self, archive, name: str, size: int, compressed: int, so_far: bool = False) -> None:
        """Refuse member ``name`` of ``archive`` before it is read: ``size`` bytes uncompressed from ``compressed``
        (``so_far``: the bytes read until now of a member whose size is not known in advance)."""
        at_least, what = ("at least ", "the rest") if so_far else ("", "it")
        if size > self.max_member_bytes:
            raise DataError(
                f"{archive}: member {name!r} is {at_least}{size:,} bytes uncompressed, over the limit of "
                f"{self.max_member_bytes:,} (archive_limits.max_member_bytes); refused before reading {what}"
            )
        if size > RATIO_FLOOR_BYTES and size > self.max_ratio * compressed:
            ratio = f"{size / compressed:,.0f}:1" if compressed else "from nothing"
            raise DataError(
                f"{archive}: member {name!r} expands {at_least}{ratio} ({size:,} bytes from {compressed:,}), over "
                f"the limit of {self.max_ratio:g}:1 (archive_limits.max_ratio); refused before reading {what} (a "
                "compression bomb?)"
            )


#: the limits of a dataset without ``archive_limits:``
DEFAULT_LIMITS = ArchiveLimits()


class TarBudget:
    """The budget of one tar archive, member by member in the order they are read: each member's size (its header
    states it, and tarfile reads no more), and the sizes of all members so far against the archive's size on
    disk (a tar member has no compressed size of its own)."""

    def __init__(self, archive, compressed: int, limits: ArchiveLimits):
        self.archive, self.compressed, self.limits, self.total = archive, compressed, limits, 0

    def admit(self, member: tarfile.TarInfo) -> None:
        if not member.isfile():
            return
        self.limits.check_member(self.archive, member.name, member.size, self.compressed)
        self.total += member.size
        if self.total > RATIO_FLOOR_BYTES and self.total > self.limits.max_ratio * self.compressed:
            raise DataError(
                f"{self.archive}: its members up to {member.name!r} expand to {self.total:,} bytes from an archive "
                f"of {self.compressed:,} ({self.total / max(self.compressed, 1):,.0f}:1), over the limit of "
                f"{self.limits.max_ratio:g}:1 (archive_limits.max_ratio); refused before reading it (a compression "
                "bomb?)"
            )


def read_gzip(path: Path, limits: ArchiveLimits) -> bytes:
    """The content of the gzip file ``path``, read in pieces and refused as soon as it grows past the limits (a
    gzip file does not state its size reliably)."""
    compressed, total, pieces = path.stat().st_size, 0, []
    with gzip.open(path, "rb") as f:
        while piece := f.read(1 << 20):
            total += len(piece)
            limits.check_member(path, path.name.removesuffix(".gz"), total, compressed, so_far=True)
            pieces.append(piece)
    return b"".join(pieces)


# --------------------------------------------------------------------------------------------- CIFAR-10
CIFAR_BATCHES = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]


def _numpy_global(module: str, name: str):
    """numpy's array-rebuilding functions, found under numpy 2's ``numpy._core`` for pickles that name numpy 1's
    ``numpy.core`` (the real batches were pickled with numpy 1)."""
    import importlib

    for candidate in (module.replace("numpy.core", "numpy._core", 1), module.replace("numpy._core", "numpy.core", 1)):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {module}.{name}")


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (text, 'latin1'), and only that."""
    if encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not allowed in a CIFAR-10 batch")
    return text.encode("latin1")


class CifarUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 python batch and nothing else: dicts, lists, strings and numbers (pickle opcodes that
    call no code) and numpy arrays, rebuilt by numpy's own functions. Every other global a pickle names (a
    function it would call) is refused before anything runs. Written by hand because the standard library has no
    restricted unpickler; this is the ``find_class`` override its documentation describes."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) in self.ALLOWED:
            return _numpy_global(module, name) if "core" in module else getattr(np, name)
        raise pickle.UnpicklingError(
            f"it names {module}.{name}, which a CIFAR-10 batch never holds (only numpy arrays, lists and strings); "
            "refused without running it"
        )


def _unpickle_batch(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict:
    where = f"{archive}: member {member.name}"
    if not member.isfile():
        kind = "a symbolic link" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
        raise DataError(f"{where} is {kind}; expected the pickled batch itself (cifar-10-batches-py layout)")
    try:
        batch = CifarUnpickler(tar.extractfile(member), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataError(f"{where} is not a CIFAR-10 batch: {exc}") from exc
    if not isinstance(batch, dict):
        raise DataError(f"{where}: expected a dict, got {type(batch).__name__}")
    return batch


def _check_batch(archive: Path, name: str, batch: dict) -> tuple[np.ndarray, np.ndarray]:
    where = f"{archive}: {name}"
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DataError(f"{where}: 'data' must be a uint8 array of N×3072 pixels, got {type(data).__name__} {shape}")
    if not isinstance(labels, list) or len(labels) != len(data) or not all(
            isinstance(k, int) and 0 <= k < 10 for k in labels):
        raise DataError(f"{where}: 'labels' must be a list of {len(data)} class indices in 0..9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(labels, np.int64)


def cifar10(archive: str | Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Dataset:
    """CIFAR-10 from ``cifar-10-python.tar.gz`` (pickled batches), read straight from the tarball with
    :class:`CifarUnpickler`, each member within ``limits``."""
    archive = Path(archive)
    batches: dict[str, dict] = {}
    try:
        budget = TarBudget(archive, archive.stat().st_size, limits)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                budget.admit(member)
                name = Path(member.name).name
                if name in CIFAR_BATCHES or name == "batches.meta":
                    batches[name] = _unpickle_batch(archive, tar, member)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{archive} is not a readable CIFAR-10 python archive: {exc}") from exc
    missing = [n for n in [*CIFAR_BATCHES, "batches.meta"] if n not in batches]
    if missing:
        raise DataError(f"{archive} lacks {missing}: expected the cifar-10-batches-py layout")
    classes = batches["batches.meta"].get("label_names")
    if not isinstance(classes, list) or len(classes) != 10 or not all(isinstance(c, str) for c in classes):
        raise DataError(f"{archive}: batches.meta 'label_names' must be a list of 10 class names")
    images, labels, split = [], [], []
    for name in CIFAR_BATCHES:
        x, y = _check_batch(archive, name, batches[name])
        images.append(x)
        labels.append(y)
        split.extend(["test" if name == "test_batch" else "train"] * len(x))
    samples = pd.DataFrame({"split": split, "label": np.concatenate(labels)})
    return Dataset(np.concatenate(images), samples, classes)


# ------------------------------------------------------------------------------------------------ MNIST
def _read_idx(path: Path, expected_dims: int, limits: ArchiveLimits) -> np.ndarray:
    try:
        raw = read_gzip(path, limits)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable gzip file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_dims:
        raise DataError(f"{path} is not an idx file of {expected_dims} dimension(s) of unsigned bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expected_dims))
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * expected_dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} but holds {body.size} bytes")
    return body.reshape(shape)


def mnist(folder: str | Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Dataset:
    """MNIST from the four upstream ``*-idx?-ubyte.gz`` files in ``folder``, each within ``limits``."""
    folder = Path(folder)
    images, labels, split = [], [], []
    for prefix, name in (("train", "train"), ("t10k", "test")):
        x = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 3, limits)
        y = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 1, limits)
        if len(x) != len(y):
            raise DataError(f"{folder}: {len(x)} {name} images but {len(y)} labels")
        images.append(x[..., None])
        labels.append(y.astype(np.int64))
        split += [name] * len(y)
    samples = pd.DataFrame({"split": split, "label": np.concatenate(labels)})
    return Dataset(np.concatenate(images), samples, [str(d) for d in range(10)])


# ------------------------------------------------------------------------------------------- Caltech101
def _caltech_members(archive: Path, limits: ArchiveLimits) -> dict[str, dict[str, bytes]]:
    """{class: {file name: bytes}} from caltech-101.zip (which wraps 101_ObjectCategories.tar.gz) or the
    bare 101_ObjectCategories.tar.gz; every member read is within ``limits``."""

    def from_tar(fileobj, where, compressed: int) -> dict[str, dict[str, bytes]]:
        out: dict[str, dict[str, bytes]] = {}
        budget = TarBudget(where, compressed, limits)
        with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
            for m in tar:
                budget.admit(m)
                parts = Path(m.name).parts
                if m.isfile() and len(parts) >= 3 and parts[-3] == "101_ObjectCategories":
                    out.setdefault(parts[-2], {})[parts[-1]] = tar.extractfile(m).read()
        return out

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                inner = [i for i in zf.infolist() if i.filename.endswith("101_ObjectCategories.tar.gz")]
                if not inner:
                    raise DataError(f"{archive} holds no 101_ObjectCategories.tar.gz")
                limits.check_member(archive, inner[0].filename, inner[0].file_size, inner[0].compress_size)
                data = zf.read(inner[0])
                return from_tar(io.BytesIO(data), f"{archive}: {inner[0].filename}", len(data))
        with open(archive, "rb") as f:
            return from_tar(f, archive, archive.stat().st_size)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{archive} is not a readable Caltech101 archive: {exc}") from exc


def caltech101(
    archive: str | Path,
    classes: list[str],
    size: int,
    max_per_class: dict[str, int] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Dataset:
    """Selected Caltech101 categories, some subsampled (the source keeps 200 airplanes and 200 Motorbikes),
    resized to ``size``², with a seeded stratified train/test split; the archive's members within ``limits``."""
    members = _caltech_members(Path(archive), limits)
    missing = [c for c in classes if c not in members]
    if missing:
        raise DataError(f"{archive} has no categories {missing}; it has e.g. {sorted(members)[:8]}")
    rng = np.random.default_rng(seed)
    images, labels, names = [], [], []
    for k, cls in enumerate(classes):
        files = sorted(members[cls])
        limit = (max_per_class or {}).get(cls)
        if limit and limit < len(files):
            files = sorted(rng.choice(files, size=limit, replace=False).tolist())
        for f in files:
            images.append(decode_array(members[cls][f], size, name=f"{archive}:{cls}/{f}"))
            labels.append(k)
            names.append(f"{cls}/{f}")
    labels = np.asarray(labels, np.int64)
    split = train_test_column(labels, test_fraction, seed)
    samples = pd.DataFrame({"split": split, "label": labels, "file": names})
    return Dataset(np.stack(images), samples, list(classes))


# ------------------------------------------------------------------------------------- the user's images
def imagefolder(
    root: str | Path, size: int, test_fraction: float = 0.2, min_classes: int = 1, seed: int = 0
) -> Dataset:
    """One sub-folder per class, as torchvision's ImageFolder; images resized to ``size``² RGB.

    Stops with an error naming the path for a missing root, a symbolic link inside it, an empty class folder, an
    unreadable image, or fewer than ``min_classes`` classes.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    refuse_links(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < min_classes:
        raise DataError(f"image folder {root} has {len(classes)} class folder(s); at least {min_classes} needed")
    images, labels, names = [], [], []
    for k, cls in enumerate(classes):
        files = sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"class folder {root / cls} holds no images (expected {sorted(IMAGE_SUFFIXES)})")
        for f in files:
            images.append(decode_array(f, size))
            labels.append(k)
            names.append(str(f.relative_to(root)))
    labels = np.asarray(labels, np.int64)
    split = train_test_column(labels, test_fraction, seed)
    samples = pd.DataFrame({"split": split, "label": labels, "file": names})
    return Dataset(np.stack(images), samples, classes)


# ------------------------------------------------------------------------------- folders and archives
def refuse_links(folder: Path) -> None:
    """Refuse a folder that holds a symbolic link, a device or a pipe anywhere inside: a link could lead outside
    it (the folder itself may be a link). Chosen over copying links that stay inside: simpler to state and check."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                raise DataError(f"{path} is a symbolic link; a dataset folder must hold its files, not links to them")
            if not (path.is_dir() or path.is_file()):
                raise DataError(f"{path} is neither a file nor a folder (a device or a pipe)")


def _tar_filter(archive: Path, limits: ArchiveLimits):
    """The standard library's ``data`` filter (no ``..``, nothing outside the destination, no devices), refusing
    absolute names (which it would strip to relative ones), links of any kind and members past the archive's
    budget (:class:`TarBudget`) as well, with the member named. Called on each member before it is written."""
    budget = TarBudget(archive, archive.stat().st_size, limits)

    def refuse(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        if member.name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member.name):
            raise DataError(f"{archive}: member {member.name!r} has an absolute name; archives must hold relative ones")
        if member.issym() or member.islnk():
            kind = "symbolic" if member.issym() else "hard"
            raise DataError(f"{archive}: member {member.name!r} is a {kind} link to {member.linkname!r}; "
                            "archives must hold plain files and folders")
        budget.admit(member)
        try:
            return tarfile.data_filter(member, dest)
        except tarfile.FilterError as exc:
            raise DataError(f"{archive}: member {member.name!r} refused ({exc})") from exc

    return refuse


def check_zip_member(archive: Path, info: zipfile.ZipInfo, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """The tar ``data`` filter's rules, for a zip member: no absolute path or drive letter, no ``..``, no link; and
    its size and compression ratio (the sizes the zip states: zipfile writes no more than ``file_size``) within
    ``limits``."""
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise DataError(f"{archive}: member {name!r} would be written outside the folder it is extracted to")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{archive}: member {name!r} is a symbolic link; archives must hold plain files and folders")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no file type recorded (a plain file)
        raise DataError(f"{archive}: member {name!r} is neither a file nor a folder")
    limits.check_member(archive, name, info.file_size, info.compress_size)


def unpack(source: Path, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Copy a folder, or extract a tar or zip archive, into the empty folder ``dest``, refusing anything that
    would lead outside it or expand past ``limits`` (see :func:`refuse_links`, :func:`_tar_filter`,
    :func:`check_zip_member`)."""
    try:
        if source.is_dir():
            refuse_links(source)
            shutil.copytree(source, dest, dirs_exist_ok=True)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zf:
                for info in zf.infolist():
                    check_zip_member(source, info, limits)
                zf.extractall(dest)
        elif tarfile.is_tarfile(source):
            with tarfile.open(source) as tar:
                tar.extractall(dest, filter=_tar_filter(source, limits))
        else:
            raise DataError(f"{source} is neither a folder nor a tar/zip archive of a NUS-WIDE subset")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{source} is not a readable archive: {exc}") from exc


# -------------------------------------------------------------------------------------------- NUS-WIDE
NUS_SPLITS = SPLIT_FILES


def _annotation_root(folder: Path, source: Path) -> Path:
    """Where the annotation files are: the top of the folder or archive, or a folder directly under it (archives
    often wrap their content in one). Anywhere else is not looked at; two such places are refused."""
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]
    found = [c for c in candidates if (c / NUS_SPLITS["train"]).is_file()]
    if not found:
        raise DataError(
            f"{source} holds no {NUS_SPLITS['train']} at its top or in a folder directly under it (the only places "
            "looked at; see README, Datasets)"
        )
    if len(found) > 1:
        names = [str((c / NUS_SPLITS["train"]).relative_to(folder)) for c in found]
        raise DataError(f"{source} holds two annotation sets, {names[0]} and {names[1]}; keep one")
    root = found[0]
    if not (root / NUS_SPLITS["test"]).is_file():
        where = root.relative_to(folder).as_posix()
        raise DataError(f"{source}: {NUS_SPLITS['test']} is missing beside {NUS_SPLITS['train']} (in {where})")
    return root


def nuswide(source: str | Path, dest: str | Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Put a NUS-WIDE-format subset (``small_train.json``, ``small_test.json`` and the images they name) from a
    folder or a tar/zip archive (its members within ``limits``) into the empty folder ``dest``. The annotation
    files must sit at the top of ``source`` or in one folder directly under it; that folder's content becomes
    ``dest``'s."""
    source, dest = Path(source), Path(dest)
    if not source.exists():
        raise DataError(f"{source} does not exist; expected a folder or a tar/zip archive of a NUS-WIDE subset")
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        unpack(source, staging, limits)
        root = _annotation_root(staging, source)
        for item in root.iterdir():
            os.replace(item, dest / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
