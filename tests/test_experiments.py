"""Experiments are first-class: one registered module each, and no other library code or rule names one."""

import ast
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from labelbench.experiments import experiment_names, get_experiment
from labelbench.metrics import produces_metric

#: where an experiment's name may appear in library code as a string, because there it names something else:
#: a dataset source (the mosaic source), a dataset task (landmark), or the datasets' `complementary:` key
DATASET_SENSES = {
    "src/labelbench/config.py": {"complementary"},
    "src/labelbench/datasets/build.py": {"complementary"},
    "src/labelbench/datasets/embedded.py": {"landmark"},
    "src/labelbench/datasets/landmark_csv.py": {"landmark"},
    "src/labelbench/datasets/sources/base.py": {"landmark"},
    "src/labelbench/datasets/sources/cifar10.py": {"complementary"},
    "src/labelbench/datasets/sources/mnist.py": {"complementary"},
    "src/labelbench/datasets/sources/mosaic.py": {"mosaic"},
    "src/labelbench/datasets/store.py": {"landmark"},
    "src/labelbench/figures/datasets.py": {"landmark"},
    "src/labelbench/targets.py": {"landmark"},
}


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def test_no_library_module_or_rule_names_an_experiment():
    names = set(experiment_names())
    found = {}
    for path in sorted((ROOT / "src/labelbench").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if "experiments" in path.parts:
            continue
        hits = (_string_constants(path) & names) - DATASET_SENSES.get(rel, set())
        if hits:
            found[rel] = sorted(hits)
    for path in [*sorted((ROOT / "rules").glob("*.smk")), ROOT / "Snakefile", *sorted((ROOT / "workflow/scripts").glob(
            "*.py"))]:
        text = path.read_text()
        hits = sorted(n for n in names if n in text)
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert not found, f"experiment names outside labelbench/experiments: {found}"


def test_the_dataset_senses_allowed_above_are_still_used():
    # an entry that no longer matches anything must go, so the allow-list cannot silently grow stale
    for rel, allowed in DATASET_SENSES.items():
        assert allowed <= _string_constants(ROOT / rel), rel


@pytest.mark.parametrize("config", ["config.yaml", "configs/smoke.yaml", "configs/paper.yaml"])
def test_every_configured_experiment_is_registered_and_declares_what_the_workflow_asks(config):
    cfg = yaml.safe_load((ROOT / config).read_text())
    for name, spec in cfg["experiments"].items():
        exp = get_experiment(name)
        assert exp.framework == spec.get("framework", "keras")
        assert exp.metrics and all(produces_metric(name, m) for m in exp.metrics)
        assert set(exp.figure_kinds(spec)) >= {"curves", "metrics"}
        for kind in exp.figure_kinds(spec):
            assert callable(exp.figure(kind))
        assert set(exp.training_metrics) <= set(exp.curve_metrics) | {"exact_match", "hamming_accuracy",
                                                                       "presence_acc", "kp_error_norm"}


def test_an_unknown_experiment_is_refused_with_the_registered_names():
    from labelbench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"experiment 'segmentation' is not registered; expected one of \['comp"):
        get_experiment("segmentation")


def _imports_of_each_module() -> dict[str, set[str]]:
    """labelbench's modules and the labelbench modules each imports, at its top or inside a function (an import
    put in a function to dodge a circle is still a circle)."""
    root = ROOT / "src/labelbench"
    paths = {".".join(("labelbench", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
             for p in root.rglob("*.py")}

    def module_of(name: str) -> str:
        while name not in paths:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in paths.items():
        named = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "labelbench":
                named |= {module_of(f"{node.module}.{a.name}") for a in node.names}
            elif isinstance(node, ast.Import):
                named |= {module_of(a.name) for a in node.names if a.name.split(".")[0] == "labelbench"}
        graph[module] = named - {module}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_no_import_circle_in_labelbench():
    graph = _imports_of_each_module()
    assert "labelbench.metric_kernels" in graph and graph["labelbench.experiments.base"]
    assert not _circles(graph), f"modules that import each other, directly or round a circle: {_circles(graph)}"
    # the check finds a circle where there is one (the one that metrics.py used to close)
    bent = {**graph, "labelbench.metric_kernels": graph["labelbench.metric_kernels"] | {"labelbench.experiments"}}
    assert any("labelbench.metric_kernels" in group for group in _circles(bent))


def test_the_metric_kernels_import_nothing_of_the_pipeline():
    assert _imports_of_each_module()["labelbench.metric_kernels"] == {"labelbench.errors"}
