"""Checks on a SLURM run of the smoke pipeline, from the scheduler's own records (run by run_slurm.sh).

1. every training job (and the landmark speed measurement) of an experiment on device gpu was submitted to the
   gpu partition with a GPU request (``TresPerJob=gres:gpu:1``); every one on device cpu to the cpu partition
   without one; both kinds ran; every training job had its configured threads as CPUs (``NumCPUs``,
   ``CPUs/Task``), one of them more than one; no other job asked for a GPU or left the cpu partition;
2. two GPU jobs were running at the same moment (the ``gpu`` resource is scoped locally in the profile), and
   never more than the two GPUs the node declares;
3. every experiment's ``summary.csv`` equals a local run's (``--reference``, or a local run made here).
"""

import argparse
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

TRAIN_RULES = ("train_keras", "train_torch", "step_timing")  # every rule whose gpu follows the device


def placement(config: dict) -> dict[str, tuple[str, int]]:
    """(device, threads) of each experiment's training jobs, as the config says (defaults: cpu, 1 thread)."""
    return {exp: (spec.get("device") or config.get("device", "cpu"), spec.get("training", {}).get("threads", 1))
            for exp, spec in config["experiments"].items()}


def parse_jobs(text: str, experiments) -> pd.DataFrame:
    """One row per job of ``scontrol show job --oneliner`` (``experiments``: the config's, to read them back from
    the jobs' wildcards)."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = dict(re.findall(r"(\w+(?:/\w+)?)=(\S*)", line))
        comment = fields.get("Comment", "")
        rule = next((r for r in re.findall(r"rule_(\w+?)_wildcards|rule_(\w+)$", comment) for r in r if r), None)
        wildcards = comment.split("_wildcards_", 1)[1] if "_wildcards_" in comment else ""
        experiment = next((e for e in experiments if wildcards.startswith(f"{e}_")), None)
        rows.append({
            "job_id": int(fields["JobId"]),
            "rule": rule or comment,
            "experiment": experiment,
            "num_cpus": int(fields.get("NumCPUs", 0)),
            "cpus_per_task": int(fields.get("CPUs/Task", 0)),
            "partition": fields.get("Partition"),
            "tres_per_job": fields.get("TresPerJob", ""),
            "tres_per_node": fields.get("TresPerNode", ""),
            "state": fields.get("JobState"),
            "start": datetime.fromisoformat(fields["StartTime"]),
            "end": datetime.fromisoformat(fields["EndTime"]),
        })
    return pd.DataFrame(rows)


def max_concurrent(jobs: pd.DataFrame) -> int:
    """The largest number of jobs running at one moment (an end at t comes before a start at t)."""
    events = sorted([(t, 1) for t in jobs["start"]] + [(t, -1) for t in jobs["end"]], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def compare_summaries(run: Path, reference: Path, experiments) -> list[str]:
    problems = []
    for exp in experiments:
        ours = pd.read_csv(run / f"results/{exp}/summary.csv")
        theirs = pd.read_csv(reference / f"results/{exp}/summary.csv")
        key = ["variant", "split", "metric"]
        merged = ours.merge(theirs, on=key, how="outer", suffixes=("_slurm", "_local"), indicator=True)
        missing = merged[merged["_merge"] != "both"]
        if len(missing):
            problems.append(f"{exp}: rows in one run only: {missing[key].values.tolist()[:5]}")
        both = merged[merged["_merge"] == "both"]
        diff = (both["mean_slurm"] - both["mean_local"]).abs()
        bad = both[~((diff <= 1e-6) | (both["mean_slurm"].isna() & both["mean_local"].isna()))]
        if len(bad):
            problems.append(f"{exp}: {len(bad)} metrics differ, e.g. "
                            f"{bad[key + ['mean_slurm', 'mean_local']].head(3).to_dict('records')}")
        print(f"  {exp}: {len(both)} summary rows compared, {len(bad)} differ")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=Path, required=True, help="output of `scontrol show job --oneliner`")
    ap.add_argument("--run", type=Path, required=True, help="the SLURM run's working directory")
    ap.add_argument("--reference", type=Path, help="a local run of the same config to compare with")
    ap.add_argument("--snakefile", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--bin", type=Path, required=True)
    args = ap.parse_args()

    config = yaml.safe_load(args.config.read_text())
    jobs = parse_jobs(args.jobs.read_text(), list(config["experiments"]))
    problems = []
    if jobs.empty:
        return print("no jobs in the scheduler's records") or 1
    failed = jobs[jobs["state"] != "COMPLETED"]
    if len(failed):
        problems.append(f"jobs not COMPLETED: {failed[['job_id', 'rule', 'state']].values.tolist()}")
    train = jobs[jobs["rule"].isin(TRAIN_RULES)].copy()
    other = jobs[~jobs["rule"].isin(TRAIN_RULES)]
    where = placement(config)
    train["device"] = [where[e][0] for e in train["experiment"]]
    train["threads"] = [where[e][1] for e in train["experiment"]]
    gpu_jobs, cpu_jobs = train[train["device"] == "gpu"], train[train["device"] == "cpu"]
    print(f"  {len(jobs)} jobs: {len(gpu_jobs)} on device gpu, {len(cpu_jobs)} training on device cpu, "
          f"{len(other)} others; rules {sorted(set(jobs['rule']))}")
    for kind, part in (("gpu", gpu_jobs), ("cpu", cpu_jobs)):
        if part.empty:
            problems.append(f"no training job on device {kind} in the scheduler's records")
    asked_gpu = (jobs["tres_per_job"].str.contains("gpu:1") | jobs["tres_per_node"].str.contains("gpu:1"))
    for _, job in train.iterrows():
        gpu = bool(asked_gpu[job.name])
        seen = (job["partition"], gpu, job["num_cpus"], job["cpus_per_task"])
        expected = (job["device"], job["device"] == "gpu", job["threads"], job["threads"])
        if seen != expected:
            problems.append(f"job {job['job_id']} ({job['rule']}, {job['experiment']}, device {job['device']}): "
                            f"partition, GPU request, NumCPUs, CPUs/Task = {seen}, expected {expected}")
    if not (cpu_jobs["threads"] > 1).any():
        problems.append("no CPU training job with more than one thread: the thread count is not shown")
    if asked_gpu[other.index].any() or (other["partition"] != "cpu").any():
        problems.append("a job that is not training asked for a GPU or left the cpu partition")
    print("  per rule, device, partition, CPUs (jobs): " + "; ".join(
        f"{r} {d} {p} {c} ({n})" for (r, d, p, c), n in
        train.groupby(["rule", "device", "partition", "num_cpus"]).size().items()))
    peak = max_concurrent(gpu_jobs)
    print(f"  training jobs on the two GPUs at once, at most: {peak}")
    if peak < 2:
        problems.append("no two GPU jobs ever ran at the same time (is `gpu` scoped globally?)")
    if peak > 2:
        problems.append(f"{peak} GPU jobs at once on a node with two GPUs")

    reference = args.reference
    if reference is None:
        reference = args.run.parent / "local"
        reference.mkdir(exist_ok=True)
        (reference / "config.yaml").write_text((args.run / "config.yaml").read_text())
        print("  local reference run ...")
        subprocess.run([str(args.bin / "snakemake"), "--snakefile", str(args.snakefile), "--directory",
                        str(reference), "--configfile", str(args.config), "--cores", "2", "--resources", "gpu=1",
                        "--quiet"], check=True, timeout=1800)
    problems += compare_summaries(args.run, reference, list(config["experiments"]))
    for p in problems:
        print("  PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
