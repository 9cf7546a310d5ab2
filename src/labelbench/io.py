"""Atomic file output and checksums.

Every file labelbench writes goes through :func:`atomic_path`: the content is written under a temporary
name in the destination folder and renamed into place only when complete, so a killed job never leaves a
file that looks finished, and a failure to write names the file and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labelbench.errors import LabelbenchError

_CHUNK = 1 << 20
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` when the block succeeds.

    ``suffix`` keeps the temporary name's extension for writers that insist on one (``.keras``, ``.npy``).
    """
    final = Path(final)
    suffix = suffix if suffix is not None else "".join(final.suffixes)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".part{suffix}", dir=final.parent)
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a finished file gets the usual permissions
        os.close(fd)
    except OSError as exc:
        raise LabelbenchError(f"cannot write {final}: {exc.strerror or exc}") from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise LabelbenchError(f"cannot write {final}: {_reason(exc, final.parent)}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def fresh_folder(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a new, empty folder beside ``final``; when the block succeeds it takes ``final``'s place (whatever
    ``final`` held is removed), otherwise it is deleted. Every attempt starts from a new folder, so files left by
    an earlier attempt that failed or was killed are never reused; such leftovers are removed first."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f".{final.name}.*.part"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    except OSError as exc:
        raise LabelbenchError(f"cannot write {final}: {exc.strerror or exc}") from exc
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700; a finished folder gets the usual permissions
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabelbenchError(f"cannot write {final}: {_reason(exc, final.parent)}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in final.parent.glob(f".{final.name}.*.part"):
        shutil.rmtree(stale, ignore_errors=True)


def _reason(exc: OSError, folder: Path) -> str:
    """Why a write failed, in words: short writes without an errno (numpy's) on a full disk say so."""
    reason = exc.strerror or str(exc)
    if exc.errno in (None, errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return reason
        if exc.errno is None and free < 1 << 20:
            reason = f"No space left on device ({reason})"
        reason += f"; {free / 1e6:.1f} MB free on the file system holding {folder}"
    return reason


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_table(df, path: str | os.PathLike) -> None:
    """Write a DataFrame as parquet or CSV, chosen by the file's extension."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            raise LabelbenchError(f"cannot write table {path}: expected a .parquet or .csv file name")


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
