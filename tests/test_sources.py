"""Dataset sources are registered like experiments: one module each declares everything the pipeline asks of it,
shared code names none, and a source kept in one file outside labelbench builds, validates and trains."""

import ast
import copy
import importlib.util
import os
import re
import sys

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_snakemake

from labelbench.config import check_startup, config_schema
from labelbench.datasets.sources import TASKS, get_source, source_names
from labelbench.datasets.sources import base as source_base
from labelbench.errors import ConfigError

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
TOY = ROOT / "tests/toy_source.py"

#: where a source's name may appear in shared code, because there it names something else: the NUS-WIDE folder
#: layout a built dataset's sidecar records (labelbench.datasets.sources.LAYOUTS)
OTHER_SENSES = {"src/labelbench/figures/datasets.py": {"nuswide"}}


def _string_constants(path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _schema_values(node):
    """Every enum and const value of a schema, walked."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum":
                yield from value
            elif key == "const":
                yield value
            else:
                yield from _schema_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_values(item)


def test_no_shared_module_rule_or_the_schema_names_a_source():
    """build.py, config.py, claims.py, the schema and the rules ask the registry; only a source's module (and an
    experiment that reads more than its task promises, multioutput's shapes) names one."""
    names = set(source_names())
    found = {}
    for path in sorted((ROOT / "src/labelbench").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if {"sources", "experiments"} & set(path.parts):
            continue
        hits = (_string_constants(path) & names) - OTHER_SENSES.get(rel, set())
        if hits:
            found[rel] = sorted(hits)
    for path in [*sorted((ROOT / "rules").glob("*.smk")), ROOT / "Snakefile",
                 *sorted((ROOT / "workflow/scripts").glob("*.py"))]:
        hits = sorted(n for n in names if re.search(rf"\b{n}\b", path.read_text()))
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    in_schema = set(_schema_values(yaml.safe_load(SCHEMA.read_text()))) & names
    if in_schema:
        found["workflow/schemas/config.schema.yaml"] = sorted(in_schema)
    assert not found, f"dataset source names outside labelbench/datasets/sources: {found}"


def test_the_other_senses_allowed_above_are_still_used():
    for rel, allowed in OTHER_SENSES.items():
        assert allowed <= _string_constants(ROOT / rel), rel


@pytest.mark.parametrize("name", source_names())
def test_every_source_declares_what_the_pipeline_asks(name):
    from jsonschema import Draft202012Validator

    source = get_source(name)
    assert source.task in TASKS and source.layout in source_base.LAYOUTS
    root = config_schema(SCHEMA)
    Draft202012Validator.check_schema(root)
    keys = set(source.schema.get("properties", {}))
    assert set(source.builder_keys) <= keys and set(source.schema.get("required", [])) <= keys
    if source.upstream:  # a download can be replaced by a local folder and its checksums overridden
        assert {"path", "checksums", "mirror"} <= keys
        assert set(source.remote_files({"source": name})) == set(source.upstream["files"])
        assert source.not_official({"source": name}) == ""
    if source.built_from:
        assert source.built_from in source.schema["required"]


def test_the_composed_schema_lists_the_registered_sources_and_their_keys():
    root = config_schema(SCHEMA)
    dataset = root["$defs"]["dataset"]
    assert dataset["properties"]["source"]["enum"] == source_names()
    branches = {b["if"]["properties"]["source"]["const"]: b["then"] for b in dataset["allOf"]}
    assert set(branches) == set(source_names())
    assert branches["shapes"]["required"] == ["classes", "size", "n_train_per_class", "n_test_per_class"]
    assert branches["mnist"]["additionalProperties"] is False and "archive_limits" in branches["mnist"]["properties"]


@pytest.fixture
def toy_registered():
    """tests/toy_source.py imported (registering its source) and unregistered afterwards, so other tests see
    only labelbench's sources."""
    saved = dict(source_base._REGISTRY)
    spec = importlib.util.spec_from_file_location("toy_source_in_process", TOY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    source_base._REGISTRY.clear()
    source_base._REGISTRY.update(saved)


def _toy_config() -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    masked = cfg["experiments"]["masked"]
    masked.update(dataset="stripes", model={"name": "mlp", "hidden": 16}, seeds=[0], claims=[],
                  training={**masked["training"], "epochs": 2, "batch_size": 64})
    masked["variants"] = {"mask_odd": masked["variants"]["mask_odd"]}
    return {"datasets": {"stripes": {"source": "toy_stripes", "size": 12, "n_per_class": 12}},
            "experiments": {"masked": masked}, **{k: v for k, v in cfg.items() if k not in ("datasets", "experiments")}}


def test_a_source_in_one_file_is_checked_like_any_other(toy_registered, tmp_path):
    config = _toy_config()
    check_startup(config, SCHEMA, ROOT)
    assert config["datasets"]["stripes"]["classes"] == 10  # its schema's default, filled in
    # its keys are its own: an unknown one is refused naming the dataset and the keys it takes
    bad = _toy_config()
    bad["datasets"]["stripes"]["n_train"] = 5
    with pytest.raises(ConfigError, match=re.escape(
            "datasets.stripes: Additional properties are not allowed ('n_train' was unexpected); a dataset of "
            "source 'toy_stripes' takes the keys ['classes', 'n_per_class', 'seed', 'size', 'source'")):
        check_startup(bad, SCHEMA, ROOT)
    # its task decides which experiments may train on it, and its classes are checked as a built-in's are
    bad = _toy_config()
    bad["experiments"] = {"landmark": copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text())[
        "experiments"]["landmark"])}
    bad["experiments"]["landmark"]["dataset"] = "stripes"
    with pytest.raises(ConfigError, match=re.escape(
            "experiments.landmark.dataset: 'stripes' has source 'toy_stripes' (single-label); landmark expects a "
            "dataset with source in ['landmark_csv', 'shapes_landmarks'] (landmark)")):
        check_startup(bad, SCHEMA, ROOT)
    bad = _toy_config()
    bad["datasets"]["stripes"]["classes"] = 4
    with pytest.raises(ConfigError, match="masked_cce expects 10 classes"):
        check_startup(bad, SCHEMA, ROOT)
    # and it builds through the data rule's entry point
    from labelbench.datasets.build import build
    from labelbench.datasets.store import load_dataset

    ds = load_dataset(build("stripes", config["datasets"]["stripes"], [], tmp_path / "stripes"))
    assert ds.images.shape == (120, 12, 12, 1) and ds.classes[:2] == ["angle_0", "angle_18"]
    assert ds.samples["split"].value_counts().to_dict() == {"train": 90, "test": 30}
    assert "toy_stripes" not in sys.modules


def test_a_source_registered_twice_or_with_an_unknown_or_mismatched_task_is_refused():
    from labelbench.datasets.sources import Source, register_source

    with pytest.raises(ValueError, match="dataset source 'digits' is registered twice"):
        register_source(type("Other", (Source,), {"name": "digits", "task": "single-label"}))
    with pytest.raises(ValueError, match=r"task 'segmentation' or layout 'arrays' is unknown; expected a task among "
                                         r"\['single-label', 'mosaics', 'landmarks', 'tags'\]"):
        register_source(type("Seg", (Source,), {"name": "seg", "task": "segmentation"}))
    with pytest.raises(ValueError, match="task 'tags' with layout 'arrays'; tags are read from NUS-WIDE's folder"):
        register_source(type("Arrays", (Source,), {"name": "tag_arrays", "task": "tags"}))
    assert "seg" not in source_names() and "tag_arrays" not in source_names()


@pytest.mark.e2e
def test_a_source_installed_as_a_plugin_builds_validates_and_trains_through_the_pipeline(workdir, tmp_path):
    """tests/toy_source.py, untouched, installed as a distribution declaring it in the ``labelbench.sources``
    entry-point group (what ``pip install`` of a user's package leaves in site-packages), found on PYTHONPATH by
    Snakemake and by every job."""
    site = tmp_path / "site"
    (site / "labelbench_toy-0.1.dist-info").mkdir(parents=True)
    (site / "labelbench_toy_source.py").write_text(TOY.read_text())
    (site / "labelbench_toy-0.1.dist-info/METADATA").write_text("Metadata-Version: 2.1\nName: labelbench-toy\n"
                                                                "Version: 0.1\n")
    (site / "labelbench_toy-0.1.dist-info/entry_points.txt").write_text(
        "[labelbench.sources]\nstripes = labelbench_toy_source\n")
    (workdir / "toy.yaml").write_text(yaml.safe_dump(_toy_config(), sort_keys=False))
    run_snakemake(workdir, "--configfile", str(workdir / "toy.yaml"), "--cores", "2",
                  "results/masked/mask_odd/0/metrics.parquet", env={"PYTHONPATH": str(site)})
    sidecar = yaml.safe_load((workdir / "results/data/stripes/dataset.json").read_text())
    assert sidecar["source"] == "toy_stripes" and sidecar["params"]["classes"] == 10
    metrics = pd.read_parquet(workdir / "results/masked/mask_odd/0/metrics.parquet")
    assert {"accuracy", "acc_even", "acc_odd"} <= set(metrics["metric"])
    history = pd.read_csv(workdir / "results/masked/mask_odd/0/history.csv")
    assert len(history) == 2


def test_a_plugin_that_fails_to_load_is_named(tmp_path):
    """An installed plugin whose module raises stops the import naming the entry point and its distribution,
    rather than with a bare traceback from somewhere inside the import system."""
    import subprocess

    (tmp_path / "broken_plugin-0.1.dist-info").mkdir()
    (tmp_path / "broken_plugin.py").write_text("import no_such_dependency\n")
    (tmp_path / "broken_plugin-0.1.dist-info/METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\n"
                                                                   "Version: 0.1\n")
    (tmp_path / "broken_plugin-0.1.dist-info/entry_points.txt").write_text("[labelbench.sources]\nmine = "
                                                                           "broken_plugin\n")
    proc = subprocess.run([sys.executable, "-c", "import labelbench.datasets.sources"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert proc.returncode != 0
    assert ("ImportError: dataset source plugin 'mine' = 'broken_plugin' (entry point group 'labelbench.sources', "
            "from broken-plugin) failed to load: ModuleNotFoundError: No module named 'no_such_dependency'; fix or "
            "uninstall that package") in proc.stderr, proc.stderr[-2000:]
