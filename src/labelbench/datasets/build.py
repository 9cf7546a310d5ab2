"""Build any configured dataset into ``results/data/{name}/``: one entry point for the data rule."""

from __future__ import annotations

import logging
from pathlib import Path

from labelbench.datasets import embedded, mosaic, nus, nus_asl, real
from labelbench.datasets.download import verify_md5
from labelbench.datasets.landmark_csv import landmark_csv
from labelbench.datasets.store import CHANGE_CHECKED, SIDECAR, folder_checksums, load_dataset, write_dataset
from labelbench.errors import DataError
from labelbench.io import file_digest, fresh_folder, write_json

log = logging.getLogger("labelbench.datasets")

#: sources that need upstream files (downloaded, or found under ``path:``)
REMOTE_SOURCES = ("cifar10", "mnist", "caltech101", "nuswide")
#: sources built from another configured dataset
DERIVED_SOURCES = {"mosaic": "tiles"}
#: the user's own files: {source: function of the spec giving the files Snakemake should watch}
LOCAL_SOURCES = {"landmark_csv": lambda spec: [spec.get("csv") or f"{spec['path']}/landmarks.csv"],
                 "nuswide_asl": lambda spec: [spec.get("csv") or f"{spec['path']}/{nus_asl.DEFAULT_CSV}"]}
#: sources whose build reads the user's ``path:`` (a folder, or for nuswide an archive too) itself
USER_PATH_SOURCES = ("imagefolder", "landmark_csv", "nuswide_asl", "nuswide")


def user_path(spec: dict) -> str | None:
    """The folder or archive under ``path:`` that the build reads directly (so Snakemake must be told when it
    changes, see :mod:`labelbench.datasets.manifest`), or None: nuswide with a ``url`` reads its download."""
    if spec["source"] not in USER_PATH_SOURCES or not spec.get("path"):
        return None
    if spec["source"] == "nuswide" and real.remote_files("nuswide", spec):
        return None
    return spec["path"]


#: sources written in NUS-WIDE's folder layout rather than as arrays
NUS_LAYOUT = ("nuswide", "nuswide_asl", "shapes_scenes")

_GENERATOR_KEYS = {
    "digits": ("size", "test_fraction", "seed"),
    "shapes": ("classes", "size", "n_train_per_class", "n_test_per_class", "scale", "max_rotation", "seed"),
    "shapes_landmarks": ("shape", "size", "n_train", "n_test", "empty_fraction", "scale", "max_rotation", "seed"),
    "shapes_scenes": (
        "size", "n_train", "n_test", "max_objects", "shape_exponent", "colour_exponent", "jpeg_quality", "seed",
    ),
    "caltech101": ("classes", "size", "max_per_class", "test_fraction", "seed"),
    "imagefolder": ("size", "test_fraction", "min_classes", "seed"),
    "landmark_csv": ("size", "test_fraction", "seed"),
}


def _kwargs(source: str, spec: dict) -> dict:
    return {k: spec[k] for k in _GENERATOR_KEYS.get(source, ()) if k in spec}


def build(name: str, spec: dict, inputs: list[str], out_dir: str | Path, checks: list[str] = ()) -> Path:
    """Build dataset ``name`` described by ``spec`` from ``inputs`` (upstream files, a tile dataset's
    sidecar, or nothing) into ``out_dir``; the sidecar ``dataset.json`` is written last. ``checks`` are the
    reports of the ``check_dataset`` job that found the dataset's files changed (recorded, see
    :func:`labelbench.datasets.store.dataset_change`)."""
    source = spec["source"]
    out = Path(out_dir)
    log.info("building dataset %r (source %s) into %s", name, source, out)
    input_digests = {}
    files = real.remote_files(source, spec) if source in REMOTE_SOURCES else {}
    if files:
        for path in inputs:
            fname = Path(path).name
            input_digests[fname] = verify_md5(path, files.get(fname, (None, None))[1])
    elif source == "mosaic":
        input_digests["tiles"] = file_digest(inputs[0])
    elif source in LOCAL_SOURCES:
        input_digests["csv"] = file_digest(inputs[0])
    # user_files: what the workflow saw under path: when it planned the build (the rule's params, not a setting)
    params = {k: v for k, v in spec.items() if k not in ("path", "mirror", "url", "user_files")}
    change = {CHANGE_CHECKED: Path(checks[0]).stem if checks else None}

    if source in NUS_LAYOUT:
        # built in a new folder that replaces the old one only when complete: nothing of an earlier attempt is reused
        with fresh_folder(out) as staging:
            if source == "shapes_scenes":
                generated = embedded.shapes_scenes(staging, **_kwargs(source, spec))
            elif source == "nuswide_asl":
                generated = nus_asl.nuswide_asl(spec["path"], staging, inputs[0])
            else:
                real.nuswide(inputs[0] if inputs else spec["path"], staging, real.ArchiveLimits.from_spec(spec))
                generated = {}
            summary = nus.check_folder(staging)
            write_json(
                staging / SIDECAR,
                {"format": 1, "layout": "nuswide", "source": source, "task": "multilabel", "params": params,
                 "inputs": input_digests, **generated, **summary, **change, **folder_checksums(staging)},
            )
        log.info("dataset %r: %s usable images per split, %d labels", name, summary["usable"], len(summary["labels"]))
        return out

    if source == "digits":
        ds = embedded.digits(**_kwargs(source, spec))
    elif source == "shapes":
        ds = embedded.shapes(**_kwargs(source, spec))
    elif source == "shapes_landmarks":
        ds = embedded.shapes_landmarks(**_kwargs(source, spec))
    elif source == "mosaic":
        tiles = load_dataset(Path(inputs[0]).parent)
        ds = mosaic.from_tiles(tiles, spec["n_train"], spec["n_test"], spec.get("seed", 0))
    elif source == "cifar10":
        ds = real.cifar10(inputs[0], real.ArchiveLimits.from_spec(spec))
    elif source == "mnist":
        ds = real.mnist(Path(inputs[0]).parent, real.ArchiveLimits.from_spec(spec))
    elif source == "caltech101":
        ds = real.caltech101(inputs[0], **_kwargs(source, spec), limits=real.ArchiveLimits.from_spec(spec))
    elif source == "landmark_csv":
        ds = landmark_csv(spec["path"], csv_file=inputs[0], **_kwargs(source, spec))
    elif source == "imagefolder":
        ds = real.imagefolder(spec["path"], **_kwargs(source, spec))
    else:
        raise DataError(f"dataset {name!r}: unknown source {source!r}")
    if spec.get("complementary"):
        from labelbench.datasets import complementary

        cfg = spec["complementary"]
        ds.samples, q = complementary.add_to(ds.samples, ds.samples["label"].to_numpy(), len(ds.classes),
                                             cfg.get("method", "uniform"), cfg.get("num_cl", 1), cfg.get("seed", 0))
        ds.meta = {**ds.meta, "complementary": {**cfg, "transition": q}}
    counts = ds.samples["split"].value_counts()
    for split in ("train", "test"):
        if not counts.get(split, 0):
            raise DataError(f"dataset {name!r} ({source}): its {split!r} split has no images; train and test need "
                            f"at least one each (splits: {counts.to_dict()})")
    write_dataset(out, ds, source=source, params=params, inputs=input_digests, extra=change)
    log.info("dataset %r: %d images of shape %s, classes %s", name, len(ds.images), ds.images.shape[1:],
             ds.classes)
    return out
