"""Checks of a validated config that JSON Schema cannot express: cross-references between sections, names
checked against the loss and model registries, whether each experiment can train on its datasets, and whether
every path the config names stays where it belongs. Before the schema, :func:`check_names` refuses names that are
not plain strings; after it, :func:`normalise_numbers` gives every key the type the schema states.

Everything here runs while the workflow is parsed (``snakemake -n`` refuses a bad config before any job), so it
imports no framework: the registries' names come from :mod:`labelbench.registry`. What the config alone
cannot tell (the classes of an ``imagefolder``) is checked when the dataset is built or first used.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from labelbench import registry as R
from labelbench.cam_methods import methods_for
from labelbench.config_check import name_kind
from labelbench.errors import ConfigError
from labelbench.experiments import experiment_names, get_experiment

SINGLE_LABEL = ("shapes", "cifar10", "mnist", "caltech101", "imagefolder", "digits")
#: the task each source's datasets have, in words
SOURCE_TASKS = {
    **{source: "single-label" for source in SINGLE_LABEL},
    "mosaic": "multi-label (mosaics)",
    "shapes_landmarks": "landmark",
    "landmark_csv": "landmark",
    "shapes_scenes": "multi-label tagging (NUS-WIDE layout)",
    "nuswide": "multi-label tagging (NUS-WIDE layout)",
    "nuswide_asl": "multi-label tagging (ASL's 81-label NUS-WIDE split)",
}
#: fixed class counts of the sources that have them
FIXED_CLASSES = {"digits": 10, "cifar10": 10, "mnist": 10, "shapes_landmarks": 1, "landmark_csv": 1}
#: a mosaic has four quadrants, each a tile of another class (labelbench.datasets.mosaic.QUADRANTS)
MOSAIC_CLASSES = 4
#: the default number of classes of masked_cce (its n_classes argument)
MASKED_CCE_CLASSES = 10
#: sources whose ``path:`` is read, and what it must be
PATH_KINDS = {"nuswide": "a folder or a tar/zip archive", "nuswide_asl": "the folder of ASL's NUS-WIDE images",
              "imagefolder": "a folder", "landmark_csv": "a folder",
              "cifar10": "a folder", "mnist": "a folder", "caltech101": "a folder"}


def _names(items) -> list[str]:
    return sorted(items)


def known_classes(name: str, datasets: dict) -> int | None:
    """Number of classes of dataset ``name`` when the config decides it, else None (an imagefolder's folders,
    a NUS-WIDE subset's label list)."""
    spec = datasets[name]
    source = spec["source"]
    if source in FIXED_CLASSES:
        return FIXED_CLASSES[source]
    if source in ("shapes", "caltech101"):
        return len(spec["classes"])
    if source == "mosaic" and spec.get("tiles") in datasets:
        return known_classes(spec["tiles"], datasets)
    return None


# ------------------------------------------------------------------------------------- before the schema
#: where each kind of name becomes part of a path (under ``results:``)
NAME_FOLDERS = {"dataset": "data/<name>/", "experiment": "<name>/", "variant": "<experiment>/<name>/<seed>/"}


def _path_problem(name: str) -> str | None:
    """Why ``name`` cannot be one part of a path, or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is absolute"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if ".." in name or name in ("", "."):
        return "contains '..'" if ".." in name else "is empty or '.'"
    return None


def _refuse_non_string_keys(node, path: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                where = ".".join(path) if path else "the top level"
                raise ConfigError(
                    f"{where}: {name_kind(path)} {key!r} is not a name but YAML's {type(key).__name__} (unquoted on, "
                    "off, yes, no, true, false in any case are booleans, null and ~ are null, numbers and dates are "
                    "read as such); quote it in the config file"
                )
            _refuse_non_string_keys(value, [*path, key])
    elif isinstance(node, list):
        for item in node:
            _refuse_non_string_keys(item, path)


def check_names(config: dict) -> None:
    """Refuse, before the schema (whose name patterns ignore keys that are not strings and say nothing of paths),
    every mapping key that YAML read as something other than a string, and any dataset, experiment or variant name
    that would lead elsewhere as part of a path (absolute, a separator, ``..``). :mod:`labelbench.config_check`
    refuses the first in a config file with the key's own text; this also covers ``--config`` and any other source.
    """
    _refuse_non_string_keys(config, [])
    names = [(["datasets"], n) for n in config.get("datasets") or {}]
    names += [(["experiments"], n) for n in config.get("experiments") or {}]
    for exp, spec in (config.get("experiments") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("variants"), dict):
            names += [(["experiments", exp, "variants"], v) for v in spec["variants"]]
    results = config.get("results", "results")
    for path, name in names:
        problem = _path_problem(name)
        if problem:
            kind = name_kind(path)
            raise ConfigError(
                f"{'.'.join(path)}: {kind} {name!r} {problem}; {kind} names become folder names "
                f"({results}/{NAME_FOLDERS[kind]}), so they must be plain names (letters, digits and _)"
            )


# ---------------------------------------------------------------------------------------- after the schema
def _resolve(schema: dict, root: dict) -> dict:
    """``schema`` with its local ``$ref`` (``#/$defs/...``) replaced by what it names, its own keys kept."""
    while "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _holds(value, schema: dict, root: dict, validators: dict) -> bool:
    """Whether ``value`` is valid against the sub-schema ``schema`` of ``root`` (an ``if``, an ``anyOf`` branch);
    ``validators`` keeps one per sub-schema (building them is most of the time)."""
    import jsonschema

    if id(schema) not in validators:
        validators[id(schema)] = jsonschema.Draft202012Validator({"$defs": root.get("$defs", {}), **schema})
    return validators[id(schema)].is_valid(value)


def _normalise(value, schema: dict, root: dict, validators: dict):
    schema = _resolve(schema, root)
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, float) and "integer" in types and "number" not in types and value.is_integer():
        value = int(value)
    elif type(value) is int and "number" in types and "integer" not in types:  # not bool, a subclass of int
        value = float(value)
    for sub in schema.get("allOf", []):
        value = _normalise(value, sub, root, validators)
    if "if" in schema:
        branch = schema.get("then") if _holds(value, schema["if"], root, validators) else schema.get("else")
        if branch:
            value = _normalise(value, branch, root, validators)
    for combinator in ("anyOf", "oneOf"):
        chosen = next((sub for sub in schema.get(combinator, []) if _holds(value, sub, root, validators)), None)
        if chosen:
            value = _normalise(value, chosen, root, validators)
    if isinstance(value, dict):
        properties, additional = schema.get("properties", {}), schema.get("additionalProperties")
        for key in value:
            sub = properties.get(key, additional if isinstance(additional, dict) else None)
            if sub:
                value[key] = _normalise(value[key], sub, root, validators)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        value[:] = [_normalise(item, schema["items"], root, validators) for item in value]
    return value


def normalise_numbers(config: dict, schema: str | Path | dict) -> None:
    """Give every value of the validated ``config`` the type the schema states, in place: JSON Schema's
    ``integer`` accepts ``2.0`` (taken as 2) and its ``number`` accepts ``1`` (taken as 1.0, which Keras's
    optimizers want for a learning rate). Run once, right after the schema, so every job reads the normalised
    values; driven by the schema, so a new key needs nothing here."""
    if not isinstance(schema, dict):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ~6x faster on the schema
        schema = yaml.load(Path(schema).read_text(encoding="utf-8"), Loader=loader)
    _normalise(config, schema, schema, {})


def check_references(config: dict) -> None:
    """Refuse, naming the key and what was expected, every config mistake that would otherwise surface inside a
    job: unknown datasets, losses, models or their arguments, experiments given datasets they cannot use, and paths
    that lead where they must not."""
    datasets = config["datasets"]
    check_containment(config)
    for name, spec in datasets.items():
        _check_dataset(name, spec, datasets)
    for exp, spec in config["experiments"].items():
        if exp not in experiment_names():
            raise ConfigError(f"experiments.{exp}: no experiment of that name is registered; expected one of "
                              f"{experiment_names()} (labelbench.experiments)")
        _check_experiment(exp, spec, datasets)
    check_claims(config)


def check_startup(config: dict, schema: str | Path) -> None:
    """Every check the Snakefile makes of a config when it starts, in its order, filling in the schema's defaults
    in place: names YAML read as other types or that lead out of their folder and a wrong framework (before the
    schema, whose training keys depend on the framework), the schema (Snakemake's own ``validate``), the numbers'
    types, then every name and reference. The tests call it without starting Snakemake."""
    from snakemake.utils import validate

    check_names(config)
    check_frameworks(config)
    validate(config, str(schema))
    normalise_numbers(config, schema)
    check_references(config)


def experiment_config(config: dict, experiment: str) -> dict:
    """The part of ``config`` that one experiment's downstream jobs (its claims and tables) read: its own spec, the
    datasets its variants train on with those they are built from (a mosaic's tiles), and the top-level keys
    other than ``experiments`` and ``datasets``. Given to those jobs as a parameter, so that Snakemake reruns
    them after an edit to this part only, not after an edit to another experiment."""
    spec = config["experiments"][experiment]
    datasets = config["datasets"]
    names = {spec["dataset"], *(v["dataset"] for v in spec["variants"].values() if v.get("dataset"))}
    wanted: dict[str, dict] = {}
    while names:
        name = names.pop()
        if name in wanted or name not in datasets:
            continue
        wanted[name] = datasets[name]
        names.update(datasets[name][key] for key in ("tiles",) if datasets[name].get(key))
    rest = {k: v for k, v in config.items() if k not in ("experiments", "datasets")}
    return {**rest, "experiments": {experiment: spec}, "datasets": dict(sorted(wanted.items()))}


def check_containment(config: dict) -> None:
    """``results:`` and the datasets' ``path:`` folders are apart (neither inside the other: outputs read as data,
    or data overwritten and cleaned as outputs), and a download's file name stays in its download folder."""
    results = config.get("results", "results")
    out = Path(results).resolve()
    for name, spec in config["datasets"].items():
        if spec.get("path"):
            folder = Path(spec["path"]).resolve()
            if out == folder or folder in out.parents:
                where = "is" if out == folder else "is inside"
                hint = ""
                if spec["source"] == "imagefolder" and out != folder:
                    hint = f" (the image folder would gain a class named {out.relative_to(folder).parts[0]!r})"
                raise ConfigError(
                    f"results: {results} {where} datasets.{name}.path ({spec['path']}): every output would be read "
                    f"as the dataset's files{hint}; expected a results folder outside every dataset's path"
                )
            if out in folder.parents:
                raise ConfigError(
                    f"datasets.{name}.path: {spec['path']} is inside results ({results}), whose files the pipeline "
                    "writes and replaces; expected a folder outside results"
                )
        if spec["source"] == "nuswide" and spec.get("url"):
            from labelbench.datasets.real import remote_files

            (filename,) = remote_files("nuswide", spec)
            problem = _path_problem(filename)
            if problem:
                key = "filename" if spec.get("filename") else "url"
                what = f"{filename!r}" if key == "filename" else f"its last part {filename!r}"
                raise ConfigError(
                    f"datasets.{name}.{key}: {what} {problem}; the download is saved as "
                    f"{results}/downloads/{name}/<file name>, so it must be a plain file name"
                    + ("" if key == "filename" else " (set filename:)")
                )


def _check_dataset(name: str, spec: dict, datasets: dict) -> None:
    key = f"datasets.{name}"
    source = spec["source"]
    if source == "mosaic":
        tiles = spec["tiles"]
        if tiles not in datasets:
            raise ConfigError(
                f"{key}.tiles: {tiles!r} is not a dataset in this config; expected one of {_names(datasets)}"
            )
        if datasets[tiles]["source"] not in SINGLE_LABEL:
            raise ConfigError(
                f"{key}.tiles: {tiles!r} has source {datasets[tiles]['source']!r}; "
                f"expected a single-label source ({', '.join(SINGLE_LABEL)})"
            )
        k = known_classes(tiles, datasets)
        if k is not None and k < MOSAIC_CLASSES:
            raise ConfigError(
                f"{key}.tiles: {tiles!r} has {k} classes; a mosaic needs tiles of at least {MOSAIC_CLASSES} classes "
                "(one per quadrant, all different)"
            )
    if spec.get("checksums"):
        from labelbench.datasets.real import REMOTE

        upstream = REMOTE[source]["files"]
        unknown = [f for f in spec["checksums"] if f not in upstream]
        if unknown:
            raise ConfigError(
                f"{key}.checksums: {unknown} are not files of source {source!r}; expected names among {list(upstream)}"
            )
    for path_key in ("path", "csv"):
        path = spec.get(path_key)
        if path and not Path(path).exists():
            what = f"the {source} CSV" if path_key == "csv" else PATH_KINDS.get(source, "a folder")
            raise ConfigError(
                f"{key}.{path_key}: {path} does not exist (relative paths are read from the working directory "
                f"{Path.cwd()}); expected {what}"
            )
    if spec.get("complementary"):
        k = known_classes(name, datasets)
        num_cl = spec["complementary"].get("num_cl", 1)
        if k is not None and not 1 <= num_cl <= k - 1:
            raise ConfigError(
                f"{key}.complementary.num_cl: {num_cl} complementary labels per image, but the dataset has {k} "
                f"classes; expected 1 to {k - 1}"
            )


def _dataset_ref(key: str, exp: str, ref: str, datasets: dict) -> None:
    if ref not in datasets:
        raise ConfigError(f"{key}: {ref!r} is not a dataset in this config; expected one of {_names(datasets)}")
    source = datasets[ref]["source"]
    sources = get_experiment(exp).sources
    if source not in sources:
        raise ConfigError(
            f"{key}: {ref!r} has source {source!r} ({SOURCE_TASKS[source]}); {exp} expects a dataset with source "
            f"in {list(sources)} ({SOURCE_TASKS[sources[0]]})"
        )


def _check_framework(exp: str, spec: dict) -> None:
    framework = spec.get("framework", "keras")
    expected = get_experiment(exp).framework
    if framework != expected:
        raise ConfigError(f"experiments.{exp}.framework: {framework!r}; {exp} is trained with {expected!r}")


def check_frameworks(config: dict) -> None:
    """Refuse an experiment given the wrong framework. Run before the schema, whose training keys depend on the
    framework: otherwise a wrong framework is reported as unexpected training keys rather than as itself."""
    for exp, spec in (config.get("experiments") or {}).items():
        if exp in experiment_names() and isinstance(spec, dict):  # others: the schema names the fault
            _check_framework(exp, spec)


def _check_experiment(exp: str, spec: dict, datasets: dict) -> None:
    key = f"experiments.{exp}"
    experiment = get_experiment(exp)
    _dataset_ref(f"{key}.dataset", exp, spec["dataset"], datasets)
    _check_framework(exp, spec)
    framework = experiment.framework
    backends = [(f"{key}.backend", spec.get("backend"))] + [
        (f"{key}.variants.{v}.backend", vspec.get("backend")) for v, vspec in spec["variants"].items()]
    for where, backend in backends:
        if framework == "torch" and backend:
            raise ConfigError(f"{where}: {backend!r}; backend chooses Keras's backend, and {exp} is "
                              "trained with PyTorch directly (framework torch): remove the key")
    model = dict(spec["model"])
    name = model.pop("name")
    accepted = R.model_arguments(framework, name)
    if accepted is None:
        raise ConfigError(
            f"{key}.model.name: {name!r} is not a registered {framework} model; expected one of "
            f"{R.model_names(framework)}"
        )
    unknown = [a for a in model if a not in accepted]
    if unknown:
        raise ConfigError(f"{key}.model: {name} takes no argument(s) {unknown}; it accepts {list(accepted)}")
    weights = model.get("weights")
    if R.is_weights_file(weights) and not Path(weights).is_file():
        raise ConfigError(
            f"{key}.model.weights: {weights} does not exist or is not a file (relative paths are read from the "
            f"working directory {Path.cwd()}); expected a state-dict file of {name} (README: Pretrained weights "
            "without a network) or a torchvision weights name such as IMAGENET1K_V1"
        )
    losses = R.losses(framework)
    for v, vspec in spec["variants"].items():
        vkey = f"{key}.variants.{v}"
        dataset = vspec.get("dataset") or spec["dataset"]
        if vspec.get("dataset"):
            _dataset_ref(f"{vkey}.dataset", exp, dataset, datasets)
        loss = vspec["loss"]
        if loss not in losses:
            raise ConfigError(
                f"{vkey}.loss: {loss!r} is not a registered {framework} loss; expected one of {_names(losses)}"
            )
        unknown = [a for a in vspec.get("loss_args") or {} if a not in losses[loss]]
        if unknown:
            raise ConfigError(
                f"{vkey}.loss_args: {loss} takes no argument(s) {unknown}; it accepts {list(losses[loss]) or 'none'}"
            )
        if framework == "keras":
            _check_keras_loss(vkey, exp, vspec, dataset, datasets)
        encoding = vspec.get("encoding")
        if experiment.encodings and encoding not in experiment.encodings:
            raise ConfigError(f"{vkey}.encoding: {encoding!r}; {exp} encodes its labels in one of "
                              f"{list(experiment.encodings)}, and each variant must name one")
        if not experiment.encodings and encoding is not None:
            raise ConfigError(f"{vkey}.encoding: {exp} has one way to encode its labels; expected no encoding key")
    if framework == "keras":
        _check_selection(key, exp, spec, datasets)
    methods = spec.get("gradcam", {}).get("methods", [])
    offered = methods_for(framework)
    if [m for m in methods if m not in offered]:
        raise ConfigError(f"{key}.gradcam.methods: {[m for m in methods if m not in offered]} are not offered for "
                          f"{framework} models; expected some of {list(offered)}")
    experiment.check(key, spec, datasets)


def _check_selection(key: str, exp: str, spec: dict, datasets: dict) -> None:
    """The criterion early stopping watches must be one the experiment computes, on validation images, and a
    complementary-only one needs complementary labels in every variant's dataset."""
    from labelbench.selection import COMPLEMENTARY, check_selection

    experiment, training = get_experiment(exp), spec["training"]
    selection = experiment.selection(training)
    where = f"{key}.training.selection" + ("" if training.get("selection") else f" (the default, {selection!r})")
    check_selection(where, selection, experiment.selection_criteria, training.get("validation_fraction", 0.0))
    if selection in COMPLEMENTARY:
        for v, vspec in spec["variants"].items():
            dataset = vspec.get("dataset") or spec["dataset"]
            if not datasets[dataset].get("complementary"):
                raise ConfigError(
                    f"{where}: {selection!r} reads the validation images' complementary labels, but variant {v!r} "
                    f"trains on dataset {dataset!r}, which has none; add `complementary: {{method: uniform}}` to "
                    f"datasets.{dataset}, or set training.selection: loss"
                )


def _check_keras_loss(vkey: str, exp: str, vspec: dict, dataset: str, datasets: dict) -> None:
    loss = vspec["loss"]
    declared = R.keras_losses()
    kind = declared[loss].targets
    allowed = get_experiment(exp).target_kinds
    if kind not in allowed:
        fitting = [n for n, d in declared.items() if d.targets in allowed]
        raise ConfigError(
            f"{vkey}.loss: {loss!r} reads {kind} targets, which {exp} does not build; expected one of {fitting}"
        )
    if kind == "complementary_labels" and not datasets[dataset].get("complementary"):
        raise ConfigError(
            f"{vkey}.loss: {loss!r} trains on complementary labels, but dataset {dataset!r} has none; add "
            f"`complementary: {{method: uniform}}` to datasets.{dataset}"
        )
    if kind == "weighted_labels":
        n = (vspec.get("loss_args") or {}).get("n_classes", MASKED_CCE_CLASSES)
        k = known_classes(dataset, datasets)
        if k is not None and k != n:
            raise ConfigError(
                f"{vkey}: masked_cce expects {n} classes (loss_args.n_classes), but dataset {dataset!r} has {k}; "
                f"set loss_args: {{n_classes: {k}}} or use a {n}-class dataset"
            )


def _splits(exp: str, spec: dict) -> set[str]:
    """Splits an experiment's evaluation writes: a Keras trainer predicts train, test and (with a validation
    share) val; the PyTorch trainer test and val."""
    training = spec["training"]
    if get_experiment(exp).framework == "torch":
        return {"test", "val"} if training.get("validation_fraction", 0.1) > 0 else {"test"}
    return {"train", "test", "val"} if training.get("validation_fraction", 0.0) > 0 else {"train", "test"}


def _check_side(where: str, exp: str, spec: dict, side: dict) -> None:
    from labelbench.metric_kernels import RUN_METRICS

    variant, metric, split = side["variant"], side["metric"], side.get("split", "test")
    if variant not in spec["variants"]:
        raise ConfigError(f"{where}.variant: {variant!r} is not a variant of {exp}; "
                          f"expected one of {sorted(spec['variants'])}")
    experiment = get_experiment(exp)
    if not experiment.produces(metric):
        raise ConfigError(f"{where}.metric: {exp} writes no metric {metric!r}; expected one of "
                          f"{sorted(experiment.metrics) + list(RUN_METRICS)} or a name matching one of "
                          f"{list(experiment.metric_families) or 'no pattern'}")
    splits = {"train"} if metric == "final_loss" else _splits(exp, spec)
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
            elif claim["kind"] == "exact":
                computations = get_experiment(exp).worked_examples
                if claim["compute"] not in computations:
                    raise ConfigError(f"{where}.compute: {exp} recomputes no {claim['compute']!r}; expected one of "
                                      f"{list(computations) or 'none (it has no worked example)'}")
                if claim["compute"] == "loss_mean" and claim.get("loss") not in R.losses(spec.get("framework",
                                                                                               "keras")):
                    raise ConfigError(f"{where}.loss: compute loss_mean needs the name of a registered loss; got "
                                      f"{claim.get('loss')!r}")
            elif claim["kind"] == "speed":
                timed = get_experiment(exp).speed_losses
                for role in ("slower", "faster"):
                    if claim[role] not in timed:
                        raise ConfigError(f"{where}.{role}: {exp} times no loss {claim[role]!r}; expected one of "
                                          f"{list(timed) or 'none (it has no speed measurement)'}")


def training_device(config: dict, experiment: str) -> str:
    """Where ``experiment``'s training runs: its own ``device``, else the config's top-level one (cpu or gpu)."""
    return config["experiments"][experiment].get("device") or config.get("device", "cpu")


def keras_backend(config: dict, experiment: str, variant: str | None = None) -> str:
    """Keras's backend for ``experiment``'s jobs, or for the training jobs of one ``variant``: the variant's own
    ``backend``, else the experiment's, else the config's top-level one (default tensorflow)."""
    spec = config["experiments"][experiment]
    own = spec.get("variants", {}).get(variant, {}).get("backend") if variant is not None else None
    return own or spec.get("backend") or config.get("backend", "tensorflow")


#: training images assumed for a dataset whose size the config does not state (a user's folder or CSV)
UNSTATED_TRAINING_IMAGES = 10_000
#: images of the sources whose size is fixed upstream: the official training splits, and for the sources the
#: pipeline splits itself (test_fraction) the whole set (scikit-learn's 8x8 digits: 1,797)
SOURCE_TRAINING_IMAGES = {"mnist": 60_000, "cifar10": 50_000, "nuswide": 161_789, "nuswide_asl": 161_789}
SOURCE_IMAGES = {"digits": 1_797, "caltech101": 9_144}
CALTECH101_MEAN_PER_CLASS = 90  # 9,144 images in 101 classes and a background one


def training_images(data: dict) -> int:
    """How many training images a dataset spec gives, from the config alone (before any data exists): its
    ``n_train``, or ``n_train_per_class`` x its classes, or the source's known size (less ``test_fraction``; for
    a Caltech101 subset its classes' caps or the mean class size), else :data:`UNSTATED_TRAINING_IMAGES`."""
    if data.get("n_train") or data.get("n_train_per_class"):
        return data.get("n_train") or data["n_train_per_class"] * len(data.get("classes", []))
    source = data.get("source")
    if source in SOURCE_TRAINING_IMAGES:
        return SOURCE_TRAINING_IMAGES[source]
    if source in SOURCE_IMAGES:
        total = SOURCE_IMAGES[source]
        if source == "caltech101" and data.get("classes"):  # a class's own count is known only once downloaded
            caps = data.get("max_per_class") or {}
            total = sum(caps.get(c, CALTECH101_MEAN_PER_CLASS) if isinstance(caps, dict) else
                        min(caps, CALTECH101_MEAN_PER_CLASS) for c in data["classes"])
        return max(1, round(total * (1 - data.get("test_fraction", 0.25))))
    return UNSTATED_TRAINING_IMAGES


#: forward MFLOP per input pixel of the models the configs name, counted by benchmarks/training_efficiency.py
#: (torch.utils.flop_counter) at the default config's settings: VGG-13 at 1/4 width 11.65 MFLOP a 32x32 image,
#: mini-Xception at 1/4 width 9.17, the landmark CNN 5.74, the tagging CNN 69.0 at 64x64, the 64-unit MLP 0.10 at
#: 28x28; torchvision's and Keras's published counts for the paper config's full-size networks (Xception 8.4 GFLOP
#: at 299x299, ResNeXt-50 4.3 GFLOP at 224x224, TResNet-L 10.9 GFLOP at 224x224). A width multiplies a
#: convnet's cost by its square: (MFLOP per pixel, the width it was counted at, the builder's default width).
#: Other size arguments (the landmark CNN's ``filters``, the tagging CNN's ``widths``) are not counted.
MODEL_MFLOP_PER_PIXEL = {
    "vgg13": (11.65 / 32**2, 0.25, 1.0), "mini_xception": (9.17 / 32**2, 0.25, 0.25),
    "landmark_cnn": (5.74 / 32**2, None, None), "small_cnn": (69.0 / 64**2, None, None),
    "mlp": (0.10 / 28**2, None, None), "xception": (8400 / 299**2, None, None),
    "resnext50_32x4d": (4300 / 224**2, None, None), "tresnet_l": (10900 / 224**2, None, None),
}
#: a model the table does not know: a small convnet's cost (the median of the default config's convnets)
UNKNOWN_MODEL_MFLOP_PER_PIXEL = 9.17 / 32**2


def model_mflop_per_pixel(model: dict) -> float:
    """Forward MFLOP per input pixel of the model a config's ``model`` spec names (:data:`MODEL_MFLOP_PER_PIXEL`)."""
    per_pixel, counted, default = MODEL_MFLOP_PER_PIXEL.get(model.get("name"),
                                                            (UNKNOWN_MODEL_MFLOP_PER_PIXEL, None, None))
    if counted is not None:
        per_pixel *= (model.get("width", default) / counted) ** 2
    return per_pixel


def training_cost(config: dict, experiment: str, variant: str) -> int:
    """A relative cost of one training job, for Snakemake's ``priority`` (the longest jobs start first, so that no
    core idles at the end beside one long job): epochs x training images x pixels per image x the model's forward
    MFLOP per pixel, in GFLOP.

    From the config alone, because jobs are planned before any dataset exists. Training images:
    :func:`training_images`; the model's cost: :func:`model_mflop_per_pixel`. Left out: how fast each backend
    runs a model (within ~2x of each other here: README "Training at the machine's speed") and a job's fixed
    ~6-7 s of imports and tracing.
    """
    spec = config["experiments"][experiment]
    training = spec["training"]
    name = spec["variants"][variant].get("dataset") or spec["dataset"]
    datasets = config["datasets"]
    data = datasets[name]
    side = data.get("size", 32)
    if data.get("source") == "mosaic":
        side = 2 * datasets.get(data.get("tiles"), {}).get("size", 16)
    side = training.get("image_size") or side
    images = training_images(data)
    mflop = training["epochs"] * images * side * side * model_mflop_per_pixel(spec["model"])
    return max(1, round(mflop / 1e3))


#: the highest training priority: below the Grad-CAM tables' (50,000) and the dataset builds' (100,000) in
#: rules/common.smk, which must stay ahead of any training job
MAX_TRAINING_PRIORITY = 49_999


def training_priority(config: dict, experiment: str, variant: str) -> int:
    """Snakemake's ``priority`` of a training job: :func:`training_cost` on a log scale (1,000 a decade), so that
    the order of the jobs is kept and the paper config's ~30-million-GFLOP jobs stay below the priorities of the
    jobs that must come first (:data:`MAX_TRAINING_PRIORITY`)."""
    return min(MAX_TRAINING_PRIORITY, round(1000 * math.log10(1 + training_cost(config, experiment, variant))))
