"""Helpers for the thin scripts under ``workflow/scripts``."""

from __future__ import annotations

import logging
import os
import sys


def redirect_logs(log_path: str | os.PathLike | None) -> logging.Logger:
    """Send this job's output to ``log_path``: Python's stdout/stderr, the ``labelbench`` logger, and the
    process's file descriptors 1 and 2, so that what native libraries print lands there too."""
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives for the whole job
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        sys.stdout = sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    return logging.getLogger("labelbench")
