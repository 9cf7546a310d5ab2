"""How a config's job graph spreads over a cluster: jobs per rule, the longest chain of dependent jobs, and how
many jobs could run at once (the widest level when every job starts as soon as its inputs exist), counting the
GPU jobs apart. Reads Snakemake's own `--dag` output; imports no deep-learning framework.

Usage: python benchmarks/job_graph.py [--configfile configs/paper.yaml]
Prints a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GPU_RULES = {"train_keras", "train_torch"}


def dag(configfile: str) -> tuple[dict[int, str], list[tuple[int, int]]]:
    """Snakemake's job graph of ``configfile``, planned in an empty folder where every relative ``path:`` the config
    names (e.g. the paper config's NUS-WIDE copy, refused at start-up when absent) exists as an empty folder."""
    snakemake = Path(sys.executable).parent / "snakemake"
    config = yaml.safe_load(Path(configfile).read_text())
    with tempfile.TemporaryDirectory() as workdir:
        for spec in config["datasets"].values():
            if spec.get("path") and not Path(spec["path"]).is_absolute():
                (Path(workdir) / spec["path"]).mkdir(parents=True, exist_ok=True)
        out = subprocess.run([str(snakemake), "--snakefile", str(ROOT / "Snakefile"), "--directory", workdir,
                              "--configfile", str(Path(configfile).resolve()), "--forceall", "--dag"],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
    nodes = {int(i): label.split("\\n")[0] for i, label in re.findall(r'^\s*(\d+)\[label = "([^"]*)"', out, re.M)}
    edges = [(int(a), int(b)) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", out, re.M)]
    return nodes, edges


def levels(nodes: dict[int, str], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Earliest level of every job: 0 without inputs from other jobs, else one more than its latest input."""
    parents: dict[int, list[int]] = {n: [] for n in nodes}
    for a, b in edges:  # Snakemake draws producer -> consumer
        parents[b].append(a)
    level: dict[int, int] = {}

    def visit(n: int) -> int:
        if n not in level:
            level[n] = 1 + max((visit(p) for p in parents[n]), default=-1)
        return level[n]

    sys.setrecursionlimit(10_000)
    for n in nodes:
        visit(n)
    return level


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default=str(ROOT / "configs/paper.yaml"))
    args = parser.parse_args()
    nodes, edges = dag(args.configfile)
    nodes = {n: r for n, r in nodes.items() if r != "all"}
    edges = [(a, b) for a, b in edges if a in nodes and b in nodes]
    level = levels(nodes, edges)
    per_level = Counter(level.values())
    gpu_per_level = Counter(level[n] for n, r in nodes.items() if r in GPU_RULES)
    for rule, count in sorted(Counter(nodes.values()).items(), key=lambda kv: -kv[1]):
        print(f"{rule:30s} {count:5d}{'  (GPU)' if rule in GPU_RULES else ''}")
    chain = max(level.values()) + 1
    children: dict[int, list[int]] = {n: [] for n in nodes}
    for a, b in edges:
        children[a].append(b)
    gpu = [n for n, r in nodes.items() if r in GPU_RULES]

    def downstream(n: int, seen: set[int]) -> set[int]:
        for c in children[n]:
            if c not in seen:
                seen.add(c)
                downstream(c, seen)
        return seen

    independent = not any(set(gpu) & downstream(n, set()) for n in gpu)
    print(f"{len(nodes)} jobs; longest chain {chain} jobs; widest level {max(per_level.values())} jobs "
          f"({max(gpu_per_level.values(), default=0)} of them GPU jobs); no GPU job waits for another: "
          f"{independent} (with enough GPUs all {len(gpu)} train at once once their datasets exist)")
    print(json.dumps({"benchmark": "job_graph", "config": Path(args.configfile).name, "jobs": len(nodes),
                      "gpu_jobs": sum(r in GPU_RULES for r in nodes.values()), "longest_chain": chain,
                      "widest_level": max(per_level.values()),
                      "gpu_jobs_in_widest_level": max(gpu_per_level.values(), default=0),
                      "gpu_jobs_independent": independent}))


if __name__ == "__main__":
    main()
