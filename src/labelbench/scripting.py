"""Helpers for the thin scripts under ``workflow/scripts``."""

from __future__ import annotations

import logging
import os
import sys


def redirect_logs(log_path: str | os.PathLike | None) -> logging.Logger:
    """Send this job's stdout, stderr and the ``labelbench`` logger to ``log_path`` (line-buffered)."""
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives for the whole job
        sys.stdout = sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    return logging.getLogger("labelbench")
