"""ASL's 81-label NUS-WIDE split (Ridnik et al. 2021; Alibaba-MIIL/ASL, MODEL_ZOO.md and issue #20), read into the
NUS-WIDE folder layout that the tagging experiment trains on (:mod:`labelbench.datasets.nus`).

ASL published the split as one CSV, ``nus_wid_data.csv``, beside a folder of the images, because the official
annotations were hard to obtain. Its format, as the readers written for it read it (we could not fetch the file
itself here; the readers are Query2Label's ``nuswide_asl.py``, by the author of ASL issue #44, and others):

* a header row; three columns, in this order: the image's path (relative to the image folder; the name of this
  column is not relied on), ``label`` and ``split``;
* ``label``: the image's tags as a Python-style list of quoted strings, e.g. ``"['clouds', 'sky']"``;
* ``split``: ``train`` or ``val`` (ASL's evaluation split, which becomes our ``test``).

The label list is every tag that occurs, sorted (81 on ASL's file). Rows are refused, naming the CSV line, when
the path is absolute or climbs out of the folder, when the tag list is not a list of quoted names, or when the
split is neither value. A row without tags is skipped and counted (ASL removed such images; a tagging sample needs
a tag). The images are linked (or copied, across file systems) into the dataset folder, so the build reads
nothing outside ``path`` and the dataset folder holds its images; missing or undecodable ones are then skipped by
:func:`labelbench.datasets.nus.check_folder` like any NUS-WIDE subset's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from labelbench.datasets.nus import SPLIT_FILES, check_relative_name, contained_path
from labelbench.datasets.user_csv import read_rows
from labelbench.errors import DataError

log = logging.getLogger("labelbench.datasets")

DEFAULT_CSV = "nus_wid_data.csv"
#: ASL's split names, and ours
SPLITS = {"train": "train", "val": "test"}
#: the folder (inside the dataset folder) the images are put in
IMAGE_DIR = "images"
_TAG = r"""\s*(?:'[^'\\]*'|"[^"\\]*")\s*"""
_TAG_LIST = re.compile(rf"^\[(?:{_TAG}(?:,{_TAG})*)?\]$")
_QUOTED = re.compile(r"""'([^'\\]*)'|"([^"\\]*)\"""")


def parse_tags(text: str, where: str) -> list[str]:
    """``"['clouds', 'sky']"`` → ``['clouds', 'sky']``. Only a list of quoted names is accepted (read with a
    pattern, never evaluated); anything else is refused naming ``where``."""
    text = text.strip()
    if not _TAG_LIST.match(text):
        raise DataError(f"{where}: label {text[:80]!r} is not a list of quoted tag names like ['clouds', 'sky']")
    tags = [a or b for a, b in _QUOTED.findall(text)]
    empty = [t for t in tags if not t.strip()]
    if empty:
        raise DataError(f"{where}: label {text[:80]!r} holds an empty tag name")
    return [t.strip() for t in tags]


def read_split_csv(table: str | Path) -> dict:
    """Read and check ASL's CSV: {"labels": sorted tags, "rows": {split: [(image path, tags)]}, "untagged": n}."""
    table = Path(table)
    rows = read_rows(table, "ASL split CSV", f"{DEFAULT_CSV}: <image path>,label,split")
    header = [h.strip() for h in rows[0]]
    if len(header) != 3 or header[1:] != ["label", "split"]:
        raise DataError(f"{table}, line 1: header {header} is not <image path>,label,split (ASL's nus_wid_data.csv)")
    out: dict = {"rows": {s: [] for s in SPLITS.values()}, "untagged": 0}
    seen, labels = set(), set()
    for line, row in enumerate(rows[1:], start=2):
        where = f"{table}, line {line}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise DataError(f"{where}: {len(row)} columns, expected 3 (<image path>,label,split)")
        name, text, split = row[0].strip(), row[1], row[2].strip()
        check_relative_name(name, f"{where}: image path")
        if not name:
            raise DataError(f"{where}: the image path is empty")
        if split not in SPLITS:
            raise DataError(f"{where}: split {split!r} is neither 'train' nor 'val'")
        if name in seen:
            raise DataError(f"{where}: image {name!r} is listed twice")
        seen.add(name)
        tags = parse_tags(text, where)
        if not tags:
            out["untagged"] += 1
            continue
        labels.update(tags)
        out["rows"][SPLITS[split]].append((name, sorted(set(tags))))
    if not labels:
        raise DataError(f"{table}: no row has a tag; expected rows like 'images/x.jpg,\"['sky']\",train'")
    for split, listed in out["rows"].items():
        if not listed:
            raise DataError(f"{table}: no tagged row of split {split!r}; train and val need at least one each")
    out["labels"] = sorted(labels)
    return out


def _place(src: Path, dest: Path) -> None:
    """A hard link where the file system allows it (no copy of ~200k images), else a copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def nuswide_asl(path: str | Path, dest: str | Path, csv_file: str | Path | None = None) -> dict:
    """Write ASL's split of the images under ``path`` into the empty folder ``dest`` in the NUS-WIDE layout
    (``small_train.json``, ``small_test.json``, ``images/…``). Returns what the sidecar records: the CSV's rows
    per split, the untagged rows skipped and the images not found under ``path``."""
    root, dest = Path(path), Path(dest)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; expected the folder of ASL's NUS-WIDE images")
    table = Path(csv_file) if csv_file else root / DEFAULT_CSV
    split = read_split_csv(table)
    missing = []
    for ours, listed in split["rows"].items():
        samples = []
        for name, tags in listed:
            src = contained_path(root, name, f"{table}: image {name!r}")
            target = f"{IMAGE_DIR}/{name}"
            if src.is_file():
                _place(src, dest / target)
            else:
                missing.append(name)  # listed in the annotations all the same: check_folder counts it as skipped
            samples.append({"image_name": target, "image_labels": tags})
        (dest / SPLIT_FILES[ours]).write_text(json.dumps({"samples": samples, "labels": split["labels"]}),
                                              encoding="utf-8")
    if split["untagged"]:
        log.warning("%s: %d row(s) without a tag skipped", table, split["untagged"])
    return {"asl_split": {"csv_rows": {s: len(r) for s, r in split["rows"].items()},
                          "untagged_skipped": split["untagged"], "missing_images": len(missing)}}
