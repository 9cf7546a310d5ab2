"""Checks of a validated config that JSON Schema cannot express (cross-references between sections)."""

from __future__ import annotations

from labelbench.errors import ConfigError

SINGLE_LABEL = ("shapes", "cifar10", "mnist", "caltech101", "imagefolder", "digits")
#: which dataset sources each experiment can train on
EXPERIMENT_SOURCES = {
    "mosaic": ("mosaic",),
    "masked": SINGLE_LABEL,
    "complementary": SINGLE_LABEL,
    "landmark": ("shapes_landmarks", "landmark_csv"),
    "tagging": ("shapes_scenes", "nuswide"),
}


def check_references(config: dict) -> None:
    """Every experiment's dataset and every mosaic's tile dataset must be defined under ``datasets``."""
    datasets = config["datasets"]
    for name, spec in datasets.items():
        if spec["source"] == "mosaic":
            tiles = spec["tiles"]
            if tiles not in datasets:
                raise ConfigError(
                    f"datasets.{name}.tiles: {tiles!r} is not a dataset in this config; "
                    f"expected one of {sorted(datasets)}"
                )
            if datasets[tiles]["source"] in ("mosaic", "shapes_landmarks", "shapes_scenes", "nuswide"):
                raise ConfigError(
                    f"datasets.{name}.tiles: {tiles!r} has source {datasets[tiles]['source']!r}; "
                    "expected a single-label source (shapes, cifar10, mnist, caltech101, imagefolder, digits)"
                )
    for exp, spec in config["experiments"].items():
        if spec["dataset"] not in datasets:
            raise ConfigError(
                f"experiments.{exp}.dataset: {spec['dataset']!r} is not a dataset in this config; "
                f"expected one of {sorted(datasets)}"
            )
        source = datasets[spec["dataset"]]["source"]
        if source not in EXPERIMENT_SOURCES[exp]:
            raise ConfigError(
                f"experiments.{exp}.dataset: {spec['dataset']!r} has source {source!r}; "
                f"{exp} expects a dataset with source in {list(EXPERIMENT_SOURCES[exp])}"
            )
        for v, vspec in spec["variants"].items():
            if vspec.get("dataset") and vspec["dataset"] not in datasets:
                raise ConfigError(
                    f"experiments.{exp}.variants.{v}.dataset: {vspec['dataset']!r} is not a dataset in this config; "
                    f"expected one of {sorted(datasets)}"
                )
        for i, ref in enumerate(spec.get("reference", [])):
            if ref["variant"] not in spec["variants"]:
                raise ConfigError(
                    f"experiments.{exp}.reference[{i}].variant: {ref['variant']!r} is not a variant of {exp}; "
                    f"expected one of {sorted(spec['variants'])}"
                )


def training_device(config: dict, experiment: str) -> str:
    """Where ``experiment``'s training runs: its own ``device``, else the config's top-level one (cpu or gpu)."""
    return config["experiments"][experiment].get("device") or config.get("device", "cpu")
