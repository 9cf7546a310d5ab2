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
    check_claims(config)


def _splits(spec: dict) -> set[str]:
    """Splits an experiment's evaluation writes: Keras experiments predict train, test and (with a validation
    share) val; the PyTorch experiment test and val."""
    training = spec["training"]
    if spec.get("framework", "keras") == "torch":
        return {"test", "val"} if training.get("validation_fraction", 0.1) > 0 else {"test"}
    return {"train", "test", "val"} if training.get("validation_fraction", 0.0) > 0 else {"train", "test"}


def _check_side(where: str, exp: str, spec: dict, side: dict) -> None:
    from labelbench.metrics import RUN_METRICS, produces_metric

    variant, metric, split = side["variant"], side["metric"], side.get("split", "test")
    if variant not in spec["variants"]:
        raise ConfigError(f"{where}.variant: {variant!r} is not a variant of {exp}; "
                          f"expected one of {sorted(spec['variants'])}")
    if not produces_metric(exp, metric):
        from labelbench.metrics import EXPERIMENT_METRIC_PREFIXES, EXPERIMENT_METRICS

        patterns = [f"{p}*" for p in EXPERIMENT_METRIC_PREFIXES.get(exp, ())]
        raise ConfigError(f"{where}.metric: {exp} writes no metric {metric!r}; expected one of "
                          f"{sorted(EXPERIMENT_METRICS.get(exp, ())) + list(RUN_METRICS) + patterns}")
    splits = {"train"} if metric == "final_loss" else _splits(spec)
    if split not in splits:
        raise ConfigError(f"{where}.split: {exp} writes {metric!r} for no split {split!r}; expected one of "
                          f"{sorted(splits)}")


def check_claims(config: dict) -> None:
    """Every claim names variants, metrics and splits its experiment produces, and claim ids are unique."""
    seen: dict[str, str] = {}
    for exp, spec in config["experiments"].items():
        for i, claim in enumerate(spec.get("claims", [])):
            where = f"experiments.{exp}.claims[{i}]"
            if claim["id"] in seen:
                raise ConfigError(f"{where}.id: {claim['id']!r} is also the id of {seen[claim['id']]}; "
                                  "expected every claim id once")
            seen[claim["id"]] = where
            if claim["kind"] == "effect":
                a = {"split": "test", **claim["a"]}
                _check_side(f"{where}.a", exp, spec, a)
                _check_side(f"{where}.b", exp, spec, {**a, **claim["b"]})
            elif claim["kind"] == "value":
                _check_side(where, exp, spec, claim)
            elif claim["kind"] == "exact" and claim["compute"] == "loss_mean" and not claim.get("loss"):
                raise ConfigError(f"{where}.loss: compute loss_mean needs the name of a registered loss")
            elif claim["kind"] == "speed" and exp != "landmark":
                raise ConfigError(f"{where}.kind: speed claims time the landmark losses; expected them under "
                                  "experiments.landmark")
