"""Build any configured dataset into ``results/data/{name}/``: one entry point for the data rule, which asks the
dataset's source (:mod:`labelbench.datasets.sources`) for everything that differs between sources."""

from __future__ import annotations

import logging
from pathlib import Path

from labelbench.datasets.download import verify_md5
from labelbench.datasets.sources import get_source
from labelbench.datasets.store import CHANGE_CHECKED, SIDECAR, folder_checksums, write_dataset
from labelbench.errors import DataError
from labelbench.io import file_digest, fresh_folder, write_json

log = logging.getLogger("labelbench.datasets")


def user_path(spec: dict) -> str | None:
    """The folder or archive under ``path:`` that the build reads directly (so Snakemake must be told when it
    changes, see :mod:`labelbench.datasets.manifest`), or None (a download, or nothing of the user's)."""
    return get_source(spec["source"]).user_path(spec)


def input_digests(spec: dict, inputs: list[str]) -> dict:
    """What the sidecar records of the build's inputs: each upstream file's md5 (verified here against the
    checksum in effect), the sidecar digest of the dataset it is built from, or the digest of its watched file."""
    source = get_source(spec["source"])
    files = source.remote_files(spec)
    if files:
        return {Path(p).name: verify_md5(p, files.get(Path(p).name, (None, None))[1]) for p in inputs}
    if source.built_from:
        return {source.built_from: file_digest(inputs[0])}
    if source.watched_files(spec):
        return {"csv": file_digest(inputs[0])}
    return {}


def build(name: str, spec: dict, inputs: list[str], out_dir: str | Path, checks: list[str] = ()) -> Path:
    """Build dataset ``name`` described by ``spec`` from ``inputs`` (upstream files, a tile dataset's
    sidecar, or nothing) into ``out_dir``; the sidecar ``dataset.json`` is written last. ``checks`` are the
    reports of the ``check_dataset`` job that found the dataset's files changed (recorded, see
    :func:`labelbench.datasets.store.dataset_change`)."""
    source = get_source(spec["source"])
    out = Path(out_dir)
    log.info("building dataset %r (source %s) into %s", name, source.name, out)
    digests = input_digests(spec, inputs)
    # user_files: what the workflow saw under path: when it planned the build (the rule's params, not a setting)
    params = {k: v for k, v in spec.items() if k not in ("path", "mirror", "url", "user_files")}
    change = {CHANGE_CHECKED: Path(checks[0]).stem if checks else None}

    if source.layout != "arrays":  # NUS-WIDE's folder layout
        from labelbench.datasets import nus

        # built in a new folder that replaces the old one only when complete: nothing of an earlier attempt is reused
        with fresh_folder(out) as staging:
            generated = source.build_folder(spec, inputs, staging)
            summary = nus.check_folder(staging)
            write_json(
                staging / SIDECAR,
                {"format": 1, "layout": source.layout, "source": source.name, "task": "multilabel", "params": params,
                 "inputs": digests, **generated, **summary, **change, **folder_checksums(staging)},
            )
        log.info("dataset %r: %s usable images per split, %d labels", name, summary["usable"], len(summary["labels"]))
        return out

    ds = source.build(spec, inputs)
    if spec.get("complementary"):
        from labelbench.datasets import complementary

        cfg = spec["complementary"]
        ds.samples, q = complementary.add_to(ds.samples, ds.samples["label"].to_numpy(), len(ds.classes),
                                             cfg.get("method", "uniform"), cfg.get("num_cl", 1), cfg.get("seed", 0))
        ds.meta = {**ds.meta, "complementary": {**cfg, "transition": q}}
    counts = ds.samples["split"].value_counts()
    for split in ("train", "test"):
        if not counts.get(split, 0):
            raise DataError(f"dataset {name!r} ({source.name}): its {split!r} split has no images; train and test "
                            f"need at least one each (splits: {counts.to_dict()})")
    write_dataset(out, ds, source=source.name, params=params, inputs=digests, extra=change)
    log.info("dataset %r: %d images of shape %s, classes %s", name, len(ds.images), ds.images.shape[1:],
             ds.classes)
    return out
