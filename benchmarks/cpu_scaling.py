"""On the CPU, N cores: the same training jobs one at a time with N threads each, against N at a time with one
thread each, side by side in one run; wall time, and the peak memory of the whole pipeline while they run.

Both modes run through the pipeline itself (`snakemake --cores N` on a copy of the config whose
`training.threads` is N, or 1), on the config's own models, datasets and settings, with the datasets built once
beforehand (not timed). The modes alternate over `--repeats` rounds so that drift in the machine hits both
alike. Memory is sampled from /proc (psutil) every `--interval` seconds over Snakemake and every job it starts:
the sum of PSS (shared pages counted once) and the sum of RSS (shared pages counted in every process: an upper
bound), next to each job's own peak RSS from Snakemake's `benchmark:` files.

Usage: python benchmarks/cpu_scaling.py [--configfile config.yaml] [--cores N] [--repeats 1]
           [--runs mosaic/bce/0 landmark/masked/0 ...] [--workdir DIR]
Prints a table, then one line of JSON; ratio > 1 means N jobs side by side finish sooner.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: the issue's measurement: 4 mosaic bce seeds and 6 landmark masked seeds of the default config
DEFAULT_RUNS = [f"mosaic/bce/{s}" for s in range(4)] + [f"landmark/masked/{s}" for s in range(6)]


class MemoryPeak(threading.Thread):
    """Samples a process and its descendants until stopped; keeps the largest sums of their PSS and RSS."""

    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval = psutil.Process(pid), interval
        self.pss = self.rss = 0
        self.low_available = psutil.virtual_memory().available
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            pss = rss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                pss, rss = pss + getattr(info, "pss", info.rss), rss + info.rss
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.low_available = min(self.low_available, psutil.virtual_memory().available)


def snakemake(workdir: Path, configfile: Path, cores: int, targets: list[str], quiet: bool = True):
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(workdir), *targets, "--configfile", str(configfile), "--cores", str(cores),
           "--resources", "gpu=0"]
    return subprocess.Popen([*cmd, "--quiet"] if quiet else cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(proc: subprocess.Popen, what: str) -> None:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{what}: snakemake failed ({proc.returncode}):\n{out[-4000:]}")


def mode_config(config: dict, threads: int) -> dict:
    """The config with every experiment on the CPU and `threads` threads a training job."""
    cfg = json.loads(json.dumps(config))
    cfg["device"] = "cpu"
    for spec in cfg["experiments"].values():
        spec["device"] = "cpu"
        spec.setdefault("training", {})["threads"] = threads
    return cfg


def run_once(workdir: Path, configfile: Path, cores: int, runs: list[str], interval: float) -> dict:
    results = yaml.safe_load(configfile.read_text()).get("results", "results")
    for run in runs:  # a fresh run each round: its outputs and benchmark file go first
        shutil.rmtree(workdir / results / run, ignore_errors=True)
        (workdir / results / "benchmarks/train" / f"{run}.tsv").unlink(missing_ok=True)
    targets = [f"{results}/{run}/history.csv" for run in runs]
    t0 = time.perf_counter()
    proc = snakemake(workdir, configfile, cores, targets)
    sampler = MemoryPeak(proc.pid, interval)
    sampler.start()
    finish(proc, configfile.name)
    wall = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    jobs = [pd.read_csv(workdir / results / "benchmarks/train" / f"{run}.tsv", sep="\t").iloc[0] for run in runs]
    threads = {json.loads((workdir / results / run / "run.json").read_text())["threads"] for run in runs}
    return {"wall_s": wall, "job_s": float(sum(j["s"] for j in jobs)),
            "job_max_rss_mb": float(max(j["max_rss"] for j in jobs)), "peak_pss_mb": sampler.pss / 2**20,
            "peak_rss_mb": sampler.rss / 2**20, "low_available_mb": sampler.low_available / 2**20,
            "threads_recorded": sorted(threads)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="experiment/variant/seed of each job")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of both modes, alternating their order")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    parser.add_argument("--workdir", type=Path, help="keep the datasets and runs here (default: a temporary folder)")
    args = parser.parse_args()
    if args.cores < 2:
        raise SystemExit("--cores must be at least 2: with one core both modes are the same")

    config = yaml.safe_load(args.configfile.read_text())
    for run in args.runs:
        exp, variant, seed = run.split("/")
        if exp not in config["experiments"] or variant not in config["experiments"][exp]["variants"]:
            raise SystemExit(f"--runs {run}: no such experiment/variant in {args.configfile}")
    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="lb-cpu-scaling-")
    workdir = args.workdir or Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")  # the Snakefile's default configfile must exist
    modes = {"one_at_a_time": args.cores, "side_by_side": 1}  # threads a job
    files = {}
    for mode, threads in modes.items():
        files[mode] = workdir / f"{mode}.yaml"
        files[mode].write_text(yaml.safe_dump(mode_config(config, threads), sort_keys=False))

    results = config.get("results", "results")
    datasets = set()
    for run in args.runs:
        exp, variant, _ = run.split("/")
        spec = config["experiments"][exp]
        datasets.add(spec["variants"][variant].get("dataset") or spec["dataset"])
    print(f"building {sorted(datasets)} (not timed) ...", flush=True)
    finish(snakemake(workdir, files["side_by_side"], args.cores,
                     [f"{results}/data/{d}/dataset.json" for d in sorted(datasets)]), "datasets")

    rounds = {mode: [] for mode in modes}
    for r in range(args.repeats):
        for mode in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
            result = run_once(workdir, files[mode], args.cores, args.runs, args.interval)
            rounds[mode].append(result)
            print(f"round {r + 1} {mode:13s} {modes[mode]} thread(s) a job: {result['wall_s']:7.1f} s wall, "
                  f"{result['job_s']:7.1f} s summed over jobs, peak PSS {result['peak_pss_mb']:6.0f} MB", flush=True)

    summary = {mode: {k: (float(pd.Series([x[k] for x in rs]).median()) if k != "threads_recorded"
                          else rs[0][k]) for k in rs[0]} for mode, rs in rounds.items()}
    one, side = summary["one_at_a_time"], summary["side_by_side"]
    total_mb = psutil.virtual_memory().total / 2**20
    print()
    print(f"{len(args.runs)} training jobs ({', '.join(args.runs)}), {args.cores} cores, "
          f"median of {args.repeats} round(s):")
    print(f"{'mode':15s} {'threads/job':>11s} {'wall s':>8s} {'job s':>8s} {'peak PSS MB':>12s} {'peak RSS MB':>12s} "
          f"{'job max RSS MB':>15s}")
    for mode, s in summary.items():
        print(f"{mode:15s} {modes[mode]:11d} {s['wall_s']:8.1f} {s['job_s']:8.1f} {s['peak_pss_mb']:12.0f} "
              f"{s['peak_rss_mb']:12.0f} {s['job_max_rss_mb']:15.0f}")
    ratio = one["wall_s"] / side["wall_s"]
    print(f"one at a time / side by side (wall) = {ratio:.2f}; machine memory {total_mb:.0f} MB, "
          f"least available during the runs {min(s['low_available_mb'] for s in summary.values()):.0f} MB")
    print(json.dumps({
        "benchmark": "cpu_scaling", "cores": args.cores, "runs": args.runs, "repeats": args.repeats,
        "one_at_a_time_threads": args.cores, "one_at_a_time_s": round(one["wall_s"], 2),
        "side_by_side_s": round(side["wall_s"], 2), "ratio_one_at_a_time_over_side_by_side": round(ratio, 4),
        "job_s_one_at_a_time": round(one["job_s"], 2), "job_s_side_by_side": round(side["job_s"], 2),
        "peak_pss_mb_side_by_side": round(side["peak_pss_mb"]), "peak_rss_mb_side_by_side": round(side["peak_rss_mb"]),
        "peak_pss_mb_one_at_a_time": round(one["peak_pss_mb"]), "job_max_rss_mb": round(max(
            one["job_max_rss_mb"], side["job_max_rss_mb"])), "machine_memory_mb": round(total_mb),
        "threads_recorded": {mode: s["threads_recorded"] for mode, s in summary.items()},
    }))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
