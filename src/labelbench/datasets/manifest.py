"""What a dataset's `path:` holds, as one short string Snakemake can compare between runs.

The user's folder (or archive) behind ``path:`` is read by the build job directly, so Snakemake does not see it
change. :func:`path_manifest` walks it and names every entry with its relative path, size and modification time
(nanoseconds); ``rules/common.smk`` passes the result to ``build_dataset`` as a ``params:`` value, and Snakemake
reruns a job whose params changed since it last ran (``--rerun-triggers`` includes ``params`` by default). Chosen
over a manifest file as an input: nothing is written while the workflow is parsed, and an unchanged folder gives
the same string, so nothing reruns.

Only ``stat`` is called (no file is opened or hashed), so it costs about one system call per file. What it sees:
a file added, removed, renamed, or rewritten (its size or modification time changes), a folder added or removed.
What it does not see: an edit that keeps the size and puts the old modification time back (``touch -r``,
``cp -p`` or ``rsync -t`` of a same-size file), or one within a filesystem's time resolution (FAT: 2 s). Such
a change needs ``--forcerun build_dataset``; the sidecar's sha256s cover the built dataset, not the user's
images, so nothing else catches it. The change time (``st_ctime``) would, but it also changes on ``chmod``, when a
backup tool restores access times, and on a new hard link, which the ``nuswide_asl`` build itself makes to each
image: every build would be followed by another.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path


def _entries(root: Path) -> list[list]:
    """[relative path, kind, size, mtime_ns] of everything under ``root``, links and all, without following a link:
    nothing outside the folder is looked at (the builds refuse a link inside an image or NUS-WIDE folder, and one
    leading outside a landmark or ASL folder, naming it). Folders are named without their time: an editor's swap
    file created and deleted changes a folder's time and nothing else, while an added empty class folder changes
    what an ``imagefolder`` build says."""
    entries, stack = [], [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as it:
                items = list(it)
        except OSError as exc:  # unreadable: recorded, so the build (which stops on it) runs and says why
            entries.append([rel, "unreadable", type(exc).__name__, 0])
            continue
        for item in items:
            name = f"{rel}/{item.name}" if rel else item.name
            try:
                st = item.stat(follow_symlinks=False)
            except OSError as exc:
                entries.append([name, "unreadable", type(exc).__name__, 0])
                continue
            if stat.S_ISDIR(st.st_mode):
                entries.append([name, "folder", 0, 0])
                stack.append(name)
            else:
                kind = "file" if stat.S_ISREG(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "other"
                entries.append([name, kind, st.st_size, st.st_mtime_ns])
    return sorted(entries)


def path_manifest(path: str | os.PathLike) -> str:
    """``"<n> files, <bytes> bytes, stat <16 hex>"`` for a folder (every entry under it, see :func:`_entries`)
    or an archive (the file itself), or ``"missing"`` / ``"unreadable"`` (the build then says what is wrong).
    The hex digits are a sha256 of the entries' relative paths, kinds, sizes and modification times; the counts
    are there so that Snakemake's "Params have changed" line shows the user what changed."""
    path = Path(path)
    try:
        st = path.stat()  # the path itself may be a link to the user's folder; what is inside may not
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({type(exc).__name__})"
    if stat.S_ISDIR(st.st_mode):
        entries = _entries(path)
    else:
        entries = [["", "file", st.st_size, st.st_mtime_ns]]
    files = [e for e in entries if e[1] == "file"]
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]
    return f"{len(files)} files, {sum(e[2] for e in files):,} bytes, stat {digest}"
