"""Checks of a validated config that JSON Schema cannot express: cross-references between sections, names
checked against the loss and model registries, whether each experiment can train on its datasets, and whether
every path the config names stays where it belongs. Before the schema, :func:`check_names` refuses names that are
not plain strings; after it, :func:`normalise_numbers` gives every key the type the schema states.

Everything here runs while the workflow is parsed (``snakemake -n`` refuses a bad config before any job), so it
imports no framework: the registries' names come from :mod:`labelbench.registry`. What the config alone
cannot tell (the classes of an ``imagefolder``) is checked when the dataset is built or first used.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

from labelbench import registry as R
from labelbench.cam_methods import methods_for
from labelbench.config_check import name_kind
from labelbench.datasets.sources import TASKS, get_source, source_names
from labelbench.errors import ConfigError
from labelbench.experiments import experiment_names, get_experiment

#: the default number of classes of masked_cce (its n_classes argument)
MASKED_CCE_CLASSES = 10


def _names(items) -> list[str]:
    return sorted(items)


def known_classes(name: str, datasets: dict) -> int | None:
    """Number of classes of dataset ``name`` when the config decides it, else None (an imagefolder's folders,
    a NUS-WIDE subset's label list): its source's answer."""
    spec = datasets[name]
    return get_source(spec["source"]).classes(spec, datasets)


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
    values; driven by the schema, so a new key needs nothing here. A schema file is read with its sources' dataset
    keys (:func:`config_schema`), so that the datasets' numbers are normalised too."""
    if not isinstance(schema, dict):
        schema = config_schema(schema)
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


def config_schema(schema: str | Path) -> dict:
    """The config schema at ``schema`` with every registered source's keys added to its ``dataset`` definition
    (``source`` one of the registered names, and one if/then branch a source, accepting no other key): what the
    numbers are normalised by and each dataset is validated against (:func:`validate_datasets`)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: ~6x faster on the schema
    root = yaml.load(Path(schema).read_text(encoding="utf-8"), Loader=loader)
    dataset = root["$defs"]["dataset"]
    dataset["properties"]["source"]["enum"] = source_names()
    dataset["allOf"] = [
        {"if": {"properties": {"source": {"const": name}}},
         "then": {"additionalProperties": False, "required": get_source(name).schema.get("required", []),
                  "properties": {"source": {}, **copy.deepcopy(get_source(name).schema.get("properties", {}))}}}
        for name in source_names()
    ]
    return root


def validate_datasets(config: dict, root: dict) -> None:
    """Validate each dataset against its source's keys (:func:`config_schema`), filling in their defaults in place,
    and refuse an unknown source or key naming the dataset and what its source takes.

    Snakemake's ``validate`` (run before this on the schema file) reads a schema only from a file, and the file
    cannot list the sources, which are registered by modules; this validates with the same library (jsonschema's
    Draft 2020-12 validator, extended to fill in defaults as Snakemake does: jsonschema's FAQ recipe)."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import best_match

    def set_defaults(validator, properties, instance, schema):
        for name, sub in properties.items():
            if "default" in sub and isinstance(instance, dict):
                instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)

    filling = validators.extend(Draft202012Validator, {"properties": set_defaults})
    for name, spec in config["datasets"].items():
        if spec["source"] not in source_names():
            raise ConfigError(f"datasets.{name}.source: {spec['source']!r} is not a registered dataset source; "
                              f"expected one of {source_names()} (labelbench.datasets.sources)")
        branch = next(b["then"] for b in root["$defs"]["dataset"]["allOf"]
                      if b["if"]["properties"]["source"]["const"] == spec["source"])
        error = best_match(filling({**branch, "$defs": root["$defs"]}).iter_errors(spec))
        if error is not None:
            where = ".".join(map(str, [f"datasets.{name}", *error.absolute_path]))
            raise ConfigError(f"{where}: {error.message}; a dataset of source {spec['source']!r} takes the keys "
                              f"{sorted(branch['properties'])}")
    for exp, spec in config["experiments"].items():
        for i, claim in enumerate(spec.get("claims", [])):
            unknown = [s for s in claim.get("scope", {}).get("data", []) if s not in source_names()]
            if unknown:
                raise ConfigError(f"experiments.{exp}.claims[{i}].scope.data: {unknown} are not registered dataset "
                                  f"sources; expected names among {source_names()}")


def check_startup(config: dict, schema: str | Path, workflow_root: str | Path) -> None:
    """Every check the Snakefile makes of a config when it starts, in its order, filling in the schema's defaults
    in place: names YAML read as other types or that lead out of their folder and a wrong framework (before the
    schema, whose training keys depend on the framework), the schema (Snakemake's own ``validate``, then each
    dataset against its source's keys), the numbers' types, then every name and reference, and the configs that
    deferred claims name under ``workflow_root`` (the Snakefile's folder: Snakemake hands ``schema`` over as a copy
    in its source cache, so the workflow's folder cannot be derived from it). The tests call it without starting
    Snakemake."""
    from snakemake.utils import validate

    check_names(config)
    check_frameworks(config)
    validate(config, str(schema))
    root = config_schema(schema)
    validate_datasets(config, root)
    normalise_numbers(config, root)
    check_references(config)
    check_deferred(config, workflow_root)


#: what a deferred claim and the claim in the config that decides it must share (README "Claims and verdicts")
DEFERRED_CLAIM_KEYS = ("kind", "a", "b", "direction", "margin", "effect", "source_value")


def _claim_key(claim: dict, key: str):
    """A claim's ``key`` as it is decided: sides resolved (``b`` inherits from ``a``, split test), margin 0."""
    a = {"split": "test", **(claim.get("a") or {})}
    if key in ("a", "b"):
        return a if key == "a" else {**a, **(claim.get("b") or {})}
    return claim.get(key, 0 if key == "margin" else None)


def _arm_seeds(spec: dict, variant: str) -> int:
    return len(spec["variants"].get(variant, {}).get("seeds") or spec.get("seeds") or [])


def check_deferred(config: dict, workflow_root: str | Path) -> None:
    """Every claim's ``decided_in`` names a config of the workflow (``configs/<name>.yaml`` under
    ``workflow_root``: the schema allows no other path, so nothing outside is read) that holds the same claim
    (:data:`DEFERRED_CLAIM_KEYS`) in the same experiment, decides it itself (no ``decided_in`` of its own) and runs
    more seeds for each of its arms than this config does. The other file is read strictly
    (:func:`labelbench.config_check.check_config_file`) and with ``yaml.safe_load``, never run."""
    import yaml

    from labelbench.config_check import check_config_file

    for exp, spec in config["experiments"].items():
        for i, claim in enumerate(spec.get("claims", [])):
            deferred = claim.get("decided_in")
            if not deferred:
                continue
            where = f"experiments.{exp}.claims[{i}].decided_in.config"
            name = deferred["config"]
            path = Path(workflow_root) / name
            if not path.is_file():
                raise ConfigError(f"{where}: {name} is not a file of the workflow ({workflow_root}); expected the "
                                  f"config that decides claim {claim['id']!r}")
            check_config_file(path)
            other = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            other_spec = (other.get("experiments") or {}).get(exp) or {}
            theirs = next((c for c in other_spec.get("claims") or [] if c.get("id") == claim["id"]), None)
            if theirs is None:
                raise ConfigError(f"{where}: {name} has no claim {claim['id']!r} under experiments.{exp}; expected "
                                  "the claim it decides, the same as here")
            differ = [k for k in DEFERRED_CLAIM_KEYS if _claim_key(claim, k) != _claim_key(theirs, k)]
            if differ:
                raise ConfigError(f"{where}: claim {claim['id']!r} differs in {name} ({', '.join(differ)}); "
                                  "expected the same claim, so that the verdict there is this claim's")
            if theirs.get("decided_in"):
                raise ConfigError(f"{where}: claim {claim['id']!r} in {name} is deferred again (decided_in: "
                                  f"{theirs['decided_in'].get('config')!r}); expected the config that decides it")
            a, b = _claim_key(claim, "a"), _claim_key(claim, "b")
            arms = [a["variant"], b["variant"]]
            if any(side["metric"].startswith("cam_") for side in (a, b)):  # Grad-CAM measures pair with the reference
                arms.append((spec.get("gradcam") or {}).get("reference", "ordinary"))
            for arm in dict.fromkeys(arms):
                if arm not in (other_spec.get("variants") or {}):
                    raise ConfigError(f"{where}: {name} has no variant {exp}/{arm}; expected every variant claim "
                                      f"{claim['id']!r} compares or pairs with")
                mine, more = _arm_seeds(spec, arm), _arm_seeds(other_spec, arm)
                if more <= mine:
                    raise ConfigError(f"{where}: {name} runs {more} seeds of {exp}/{arm}, this config {mine}; "
                                      f"expected more, planned to decide {claim['id']!r}")


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
        built_from = get_source(datasets[name]["source"]).built_from
        names.update([datasets[name][built_from]] if built_from and datasets[name].get(built_from) else [])
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
                if out != folder:
                    hint = get_source(spec["source"]).containment_hint(out.relative_to(folder).parts[0])
                raise ConfigError(
                    f"results: {results} {where} datasets.{name}.path ({spec['path']}): every output would be read "
                    f"as the dataset's files{hint}; expected a results folder outside every dataset's path"
                )
            if out in folder.parents:
                raise ConfigError(
                    f"datasets.{name}.path: {spec['path']} is inside results ({results}), whose files the pipeline "
                    "writes and replaces; expected a folder outside results"
                )
        for filename in get_source(spec["source"]).remote_files(spec):
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
    source = get_source(spec["source"])
    source.check(key, spec, datasets)
    for path_key in ("path", "csv"):
        path = spec.get(path_key)
        if path and not Path(path).exists():
            what = f"the {source.name} CSV" if path_key == "csv" else source.path_kind
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
    source = get_source(datasets[ref]["source"])
    experiment = get_experiment(exp)
    accepted = experiment.accepted_sources()
    if source.name not in accepted:
        tasks = " or ".join(TASKS[t] for t in experiment.tasks)
        raise ConfigError(
            f"{key}: {ref!r} has source {source.name!r} ({source.task_words}); {exp} expects a dataset with source "
            f"in {accepted} ({tasks})"
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
def training_images(data: dict) -> int:
    """How many training images a dataset spec gives, from the config alone (before any data exists): its source's
    estimate (``n_train``, ``n_train_per_class`` x its classes, or the upstream set's known size less
    ``test_fraction``), else :data:`UNSTATED_TRAINING_IMAGES`."""
    return get_source(data["source"]).training_images(data) or UNSTATED_TRAINING_IMAGES


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
    side = training.get("image_size") or get_source(data["source"]).image_side(data, datasets)
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
