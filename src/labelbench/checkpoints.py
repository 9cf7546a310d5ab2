"""What a training checkpoint was made from, so that a rerun resumes only the run that made it (no framework
imported here; both trainers use it).

A checkpoint records its run's *identity* (:func:`run_identity`): the training job's parameters (what
``train_run`` receives), the checksum of its dataset (:func:`dataset_checksum`) and the version of the code the
run depends on (labelbench's and its framework's, as ``run.json`` records them). A rerun resumes a checkpoint only
when the identity it would write is the one recorded; otherwise, or when the checkpoint records none (written
before checkpoints did), the checkpoint is removed and the run starts afresh, with a warning naming what differs
(:func:`resume_or_clear`). So a finished run is always the epochs of one config, never a mixture of two.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from labelbench import __version__
from labelbench.datasets.store import CHANGE_CHECKED, SIDECAR, folder_checksums

log = logging.getLogger("labelbench.train")

#: sidecar entries that change when the same dataset is written again (file sizes and times, the record of the
#: last change check), left out of its checksum
VOLATILE_SIDECAR_KEYS = ("stat", CHANGE_CHECKED)
#: how a key missing on one side of a comparison is shown
UNSET = "unset"


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _sha256(obj) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


def dataset_checksum(dataset_dir: str | os.PathLike) -> str:
    """sha256 of what identifies a dataset's content: its sidecar ``dataset.json`` (which holds the sha256 of every
    file written, and the classes, task, parameters and meta the trainers read) without the entries that change
    when the same dataset is rebuilt (:data:`VOLATILE_SIDECAR_KEYS`). A folder without a sidecar (a tagging
    folder written outside the workflow, in tests) is identified by the sha256 of every file it holds."""
    path = Path(dataset_dir) / SIDECAR
    if path.is_file():
        content = {k: v for k, v in json.loads(path.read_text()).items() if k not in VOLATILE_SIDECAR_KEYS}
    else:
        content = folder_checksums(dataset_dir)["files"]
    return _sha256(content)


def run_identity(params: dict, dataset_dir: str | os.PathLike, versions: dict[str, str]) -> dict:
    """The identity a checkpoint records: ``params`` (the training job's parameters), the ``dataset``'s checksum,
    and ``code``: labelbench's version with the framework ``versions``. As plain JSON (tuples become lists), so a
    recorded identity compares equal to a freshly made one."""
    identity = {"params": params, "dataset": dataset_checksum(dataset_dir),
                "code": {"labelbench": __version__, **versions}}
    return json.loads(_canonical(identity))


def identity_digest(identity: dict) -> str:
    """sha256 of the identity's JSON with sorted keys: two identities are the same run when their digests are."""
    return _sha256(identity)


def _flatten(node, prefix: str = "") -> dict:
    if isinstance(node, dict) and node:
        out = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def differences(recorded: dict, current: dict) -> list[tuple[str, object, object]]:
    """(key, recorded value, current value) for every leaf that differs, keys dotted (``training.learning_rate``;
    the job's parameters without a ``params.`` prefix), sorted; a key one side lacks has the value :data:`UNSET`."""
    def leaves(identity):
        return {k.removeprefix("params."): v for k, v in _flatten(identity).items()}

    old, new = leaves(recorded), leaves(current)
    return [(k, old.get(k, UNSET), new.get(k, UNSET)) for k in sorted(old.keys() | new.keys())
            if _canonical(old.get(k, UNSET)) != _canonical(new.get(k, UNSET))]


def _shown(value) -> str:
    if isinstance(value, str):
        return value if len(value) <= 24 else value[:12] + "…"  # a checksum
    return _canonical(value)


def describe(diffs: list[tuple[str, object, object]]) -> str:
    """``training.learning_rate 0.0005 → 0.02, seed 1 → 2``."""
    return ", ".join(f"{key} {_shown(old)} → {_shown(new)}" for key, old, new in diffs)


def stale_reason(recorded, current: dict) -> str | None:
    """None when a checkpoint that ``recorded`` this identity was made by the run whose identity is ``current``;
    otherwise why not, in words."""
    if not isinstance(recorded, dict) or not recorded:
        return "records no run identity (an older format)"
    if identity_digest(recorded) == identity_digest(current):
        return None
    return f"was made with other settings ({describe(differences(recorded, current))})"


def resume_or_clear(ckpt: str | os.PathLike, state: dict | None, identity: dict) -> bool:
    """Whether to resume the checkpoint in ``ckpt`` whose saved ``state`` (None: there is none) records an
    identity under ``"identity"``: True when it is ``identity``. Otherwise the folder is removed, so that nothing
    of another run (a best epoch's weights, an epoch never completed) is read later, and a stale checkpoint is
    reported as a warning naming what differs."""
    ckpt = Path(ckpt)
    if state is not None:
        reason = stale_reason(state.get("identity"), identity)
        if reason is None:
            return True
        log.warning("checkpoint %s %s: starting afresh", ckpt, reason)
    shutil.rmtree(ckpt, ignore_errors=True)
    return False
