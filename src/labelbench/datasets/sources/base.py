"""What a dataset source declares, and the registry that finds one by name (:func:`get_source`).

A source is where a dataset's images come from (``datasets.<name>.source`` in a config): generated here, built from
another dataset, downloaded, or read from the user's files. One module of :mod:`labelbench.datasets.sources` per
source declares everything the rest of the pipeline asks of it — its task and classes, its schema fragment, the
files its build reads (Snakemake's inputs), how its upstream archives are recognised, and its builder — so that a
new source is one new module (or one module of another package, found through the ``labelbench.sources`` entry
point group) and nothing else: :mod:`labelbench.config`, :mod:`labelbench.datasets.build`, the config schema and
``rules/common.smk`` name no source.

Importing this module imports no framework and no image library: the Snakefile asks the registry while the
workflow is parsed. A builder imports its readers when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from labelbench.errors import ConfigError

if TYPE_CHECKING:
    from labelbench.datasets.store import Dataset

#: what an experiment can ask of a dataset (``Experiment.tasks``), in words
TASKS = {
    "single-label": "single-label",
    "mosaics": "multi-label (mosaics)",
    "landmarks": "landmark",
    "tags": "multi-label tagging (NUS-WIDE layout)",
}
#: how a built dataset is stored: arrays (:func:`labelbench.datasets.store.write_dataset`) or NUS-WIDE's folder
#: layout of JPEG files and split JSONs (:mod:`labelbench.datasets.nus`)
LAYOUTS = ("arrays", "nuswide")


class Source:
    """One dataset source. Subclasses set the class attributes and override what differs; register with
    :func:`register_source`."""

    #: the name a config's ``source:`` gives
    name: ClassVar[str]
    #: what its datasets are for (:data:`TASKS`)
    task: ClassVar[str]
    #: the task in words where :data:`TASKS`'s would say too little (e.g. which split of NUS-WIDE)
    description: ClassVar[str | None] = None
    #: its datasets' keys (JSON Schema ``properties``, ``required``; ``$ref`` to the config schema's ``$defs``);
    #: ``source`` is added, and no other key is accepted
    schema: ClassVar[dict] = {}
    #: class count, where the source fixes it
    fixed_classes: ClassVar[int | None] = None
    #: :data:`LAYOUTS`
    layout: ClassVar[str] = "arrays"
    #: upstream files of a downloadable source: {"mirror": base URL, "files": {file name: md5}}
    upstream: ClassVar[dict | None] = None
    #: the key naming another configured dataset this one is built from (a mosaic's ``tiles``)
    built_from: ClassVar[str | None] = None
    #: what its ``path:`` must be, where it has one (said when the path does not exist)
    path_kind: ClassVar[str] = "a folder"
    #: keys passed to the builder as keyword arguments
    builder_keys: ClassVar[tuple[str, ...]] = ()
    #: training images of the whole upstream set (fixed splits), or of all its images when the pipeline splits it
    #: itself (``test_fraction``), where known: used to estimate a job's cost before the data exists
    upstream_training_images: ClassVar[int | None] = None
    upstream_images: ClassVar[int | None] = None

    # ------------------------------------------------------------------------------------- declarations
    @property
    def task_words(self) -> str:
        return self.description or TASKS[self.task]

    def classes(self, spec: dict, datasets: dict) -> int | None:
        """Number of classes of a dataset of this source when the config decides it, else None (an imagefolder's
        folders, a NUS-WIDE subset's labels)."""
        if self.fixed_classes is not None:
            return self.fixed_classes
        return len(spec["classes"]) if spec.get("classes") else None

    def image_side(self, spec: dict, datasets: dict) -> int:
        """Side in pixels of its images, from the config alone (32 when the config does not say)."""
        return spec.get("size", 32)

    def training_images(self, spec: dict) -> int | None:
        """Training images a spec gives, from the config alone, or None when only the data can tell."""
        if spec.get("n_train"):
            return spec["n_train"]
        if spec.get("n_train_per_class"):
            return spec["n_train_per_class"] * len(spec.get("classes", []))
        if self.upstream_training_images:
            return self.upstream_training_images
        if self.upstream_images:
            return max(1, round(self.upstream_images * (1 - spec.get("test_fraction", 0.25))))
        return None

    def builder_args(self, spec: dict) -> dict:
        return {k: spec[k] for k in self.builder_keys if k in spec}

    # ---------------------------------------------------------------------------------- files it reads
    def remote_files(self, spec: dict) -> dict[str, tuple[str, str | None]]:
        """{file name: (url, md5)} it downloads, with the config's ``mirror`` and ``checksums`` applied."""
        if not self.upstream:
            return {}
        mirror = spec.get("mirror") or self.upstream["mirror"]
        mirror = mirror if mirror.endswith("/") else mirror + "/"
        checksums = {**self.upstream["files"], **(spec.get("checksums") or {})}
        return {name: (mirror + name, checksums[name]) for name in self.upstream["files"]}

    def watched_files(self, spec: dict) -> list[str]:
        """The user's file the build reads that Snakemake should watch (a CSV), for a source that downloads nothing
        (:meth:`inputs` gives the downloads or these; the sidecar records the first one's digest as ``csv``)."""
        return []

    def user_path(self, spec: dict) -> str | None:
        """The folder or archive under ``path:`` that the build reads itself (Snakemake is told of its changes
        through :mod:`labelbench.datasets.manifest`), or None."""
        return None

    def inputs(self, spec: dict, downloads: str) -> list[str]:
        """The build's Snakemake inputs other than a dataset it is built from: its upstream files (in
        ``downloads``, or in the user's ``path:`` folder holding them) and its watched files."""
        files = self.remote_files(spec)
        if files and spec.get("path"):
            return [str(Path(spec["path"]) / name) for name in files]
        return [f"{downloads}/{name}" for name in files] or self.watched_files(spec)

    def not_official(self, spec: dict) -> str:
        """Why a spec's data may not be the source's official data ("" when it is), judged by the archives'
        checksums and never by the source's name or format: every file of a downloadable source is verified against
        the checksums in effect before it is read (downloaded or a local copy alike), so the data is the official
        one exactly when those are the upstream md5s (a ``mirror:`` alone changes nothing). A source that downloads
        nothing is not judged here ("")."""
        if not self.upstream:
            return ""
        official = self.upstream["files"]
        return "; ".join(f"{name} has md5 {md5}, not the upstream {official[name]}"
                         for name, (_, md5) in self.remote_files(spec).items() if md5 != official[name])

    # ----------------------------------------------------------------------------------------- checks
    def check(self, key: str, spec: dict, datasets: dict) -> None:
        """Refuse what the schema cannot (``key`` is ``datasets.<name>``): by default, ``checksums`` naming a file
        the source does not have."""
        if spec.get("checksums"):
            upstream = (self.upstream or {}).get("files", {})
            unknown = [f for f in spec["checksums"] if f not in upstream]
            if unknown:
                raise ConfigError(f"{key}.checksums: {unknown} are not files of source {self.name!r}; expected names "
                                  f"among {list(upstream)}")

    def containment_hint(self, inside: str) -> str:
        """What else goes wrong when the results folder lies under this source's ``path:`` at ``inside`` (its
        first part), for the refusal's message."""
        return ""

    # ------------------------------------------------------------------------------------------ build
    def build(self, spec: dict, inputs: list[str]) -> Dataset:
        """The dataset of an ``arrays`` source, from ``inputs`` (:meth:`inputs`, or the sidecar of the dataset it
        is built from)."""
        raise NotImplementedError(f"source {self.name!r} writes the {self.layout} layout")

    def build_folder(self, spec: dict, inputs: list[str], staging: Path) -> dict:
        """Write a ``nuswide``-layout dataset into ``staging``; returns what it generated for the sidecar."""
        raise NotImplementedError(f"source {self.name!r} builds arrays")


_REGISTRY: dict[str, Source] = {}


def register_source(cls: type[Source]) -> type[Source]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    if cls.name in _REGISTRY and type(_REGISTRY[cls.name]) is not cls:
        raise ValueError(f"dataset source {cls.name!r} is registered twice ({type(_REGISTRY[cls.name])} and {cls})")
    if cls.task not in TASKS or cls.layout not in LAYOUTS:
        raise ValueError(f"dataset source {cls.name!r}: task {cls.task!r} or layout {cls.layout!r} is unknown; "
                         f"expected a task among {list(TASKS)} and a layout among {list(LAYOUTS)}")
    if (cls.task == "tags") != (cls.layout == "nuswide"):
        raise ValueError(f"dataset source {cls.name!r}: task {cls.task!r} with layout {cls.layout!r}; tags are read "
                         "from NUS-WIDE's folder layout and every other task from arrays")
    _REGISTRY[cls.name] = cls()
    return cls


def get_source(name: str) -> Source:
    if name not in _REGISTRY:
        raise ConfigError(f"dataset source {name!r} is not registered; expected one of {source_names()}")
    return _REGISTRY[name]


def source_names() -> list[str]:
    return sorted(_REGISTRY)


def sources_for(tasks: tuple[str, ...]) -> list[str]:
    """The registered sources whose datasets have one of ``tasks``."""
    return [name for name in source_names() if _REGISTRY[name].task in tasks]


def download_keys(files: str) -> dict:
    """Schema ``properties`` of a downloadable source's datasets: ``mirror``, ``checksums``, ``path`` (a folder
    already holding ``files``) and ``archive_limits``."""
    return {
        "mirror": {"type": ["string", "null"], "default": None,
                   "description": f"Base URL holding {files} (default torchvision's)."},
        "checksums": {"type": "object", "additionalProperties": {"$ref": "#/$defs/md5"}, "default": {},
                      "description": "md5 of upstream files by name, to override the upstream values (e.g. for a "
                                     "private mirror)."},
        "path": {"type": ["string", "null"], "default": None,
                 "description": f"A folder already holding {files}; nothing is downloaded."},
        "archive_limits": {"$ref": "#/$defs/archive_limits"},
    }
