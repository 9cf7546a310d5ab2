"""Downloading with checksums, progress in the log, and no half-written files.

torchvision's own ``download_url`` would do the transfer, but importing torchvision costs seconds and a torch
import in every data job; this module does the same job (same archives, same md5s) with the standard library.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

from labelbench.errors import ChecksumError, DataError
from labelbench.io import atomic_path

log = logging.getLogger("labelbench.download")
_CHUNK = 1 << 16


def md5sum(path: str | Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_md5(path: str | Path, expected: str | None) -> str:
    """Return the file's md5; raise :class:`ChecksumError` naming the file if it is not ``expected``."""
    actual = md5sum(path)
    if expected and actual != expected.lower():
        raise ChecksumError(path, expected.lower(), actual)
    return actual


def download(url: str, dest: str | Path, md5: str | None, timeout: float = 60.0, retries: int = 2) -> Path:
    """Fetch ``url`` to ``dest`` unless a file with the right md5 is already there.

    The bytes go to a temporary file beside ``dest`` and are renamed only after the length announced by the
    server and the md5 both check out, so an interrupted or corrupted transfer never looks finished. Network
    errors are retried ``retries`` times; a checksum mismatch is not (the mirror serves the wrong file).
    """
    dest = Path(dest)
    if dest.is_file():
        try:
            verify_md5(dest, md5)
            log.info("%s already present with the expected checksum", dest)
            return dest
        except ChecksumError as exc:
            log.warning("%s; downloading it again", exc)
    for stale in dest.parent.glob(f".{dest.stem}.*.part*"):  # left by a transfer that was killed
        log.info("removing %s, the partial file of an interrupted download", stale)
        stale.unlink(missing_ok=True)
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        try:
            _fetch(url, dest, md5, timeout)
            return dest
        except http.client.IncompleteRead as exc:
            last_error = DataError(f"truncated transfer of {url}: {exc}")
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt + 1, retries + 1, last_error)
        except (urllib.error.URLError, ConnectionError, TimeoutError, DataError) as exc:
            if isinstance(exc, ChecksumError):
                raise
            last_error = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt + 1, retries + 1, exc)
        time.sleep(min(2**attempt, 5) * 0.2)
    raise DataError(f"could not download {url} to {dest}: {last_error}") from last_error


def _fetch(url: str, dest: Path, md5: str | None, timeout: float) -> None:
    h = hashlib.md5()
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
        total = int(response.headers.get("Content-Length") or 0)
        received, next_report = 0, 0.0
        with open(tmp, "wb") as out:
            while chunk := response.read1(_CHUNK):  # what has arrived, so progress and partial files show
                out.write(chunk)
                out.flush()  # what arrived is on disk (under the temporary name) even if the transfer stalls
                h.update(chunk)
                received += len(chunk)
                if total and received / total >= next_report:
                    log.info("%s: %d / %d bytes (%.0f%%)", dest.name, received, total, 100 * received / total)
                    next_report += 0.1
        if total and received != total:
            raise DataError(f"truncated transfer of {url}: received {received} of {total} bytes")
        actual = h.hexdigest()
        if md5 and actual != md5.lower():
            raise ChecksumError(url, md5.lower(), actual)
        log.info("downloaded %s (%d bytes, md5 %s)", dest, received, actual)
