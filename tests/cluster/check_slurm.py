"""Checks on a SLURM run of the smoke pipeline, from the scheduler's own records (run by run_slurm.sh).

1. every GPU job (training, and the landmark speed measurement) was submitted to the GPU partition with a GPU
   request (``TresPerJob=gres:gpu:1``), and no other job asked for one;
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

TRAIN_RULES = ("train_keras", "train_torch", "landmark_speed")  # every rule that declares gpu=1
EXPERIMENTS = ("mosaic", "masked", "landmark", "tagging", "complementary")


def parse_jobs(text: str) -> pd.DataFrame:
    """One row per job of ``scontrol show job --oneliner``."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = dict(re.findall(r"(\w+(?:/\w+)?)=(\S*)", line))
        comment = fields.get("Comment", "")
        rule = next((r for r in re.findall(r"rule_(\w+?)_wildcards|rule_(\w+)$", comment) for r in r if r), None)
        rows.append({
            "job_id": int(fields["JobId"]),
            "rule": rule or comment,
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


def compare_summaries(run: Path, reference: Path) -> list[str]:
    problems = []
    for exp in EXPERIMENTS:
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

    jobs = parse_jobs(args.jobs.read_text())
    problems = []
    if jobs.empty:
        return print("no jobs in the scheduler's records") or 1
    failed = jobs[jobs["state"] != "COMPLETED"]
    if len(failed):
        problems.append(f"jobs not COMPLETED: {failed[['job_id', 'rule', 'state']].values.tolist()}")
    train = jobs[jobs["rule"].isin(TRAIN_RULES)]
    other = jobs[~jobs["rule"].isin(TRAIN_RULES)]
    print(f"  {len(jobs)} jobs: {len(train)} training, {len(other)} others; rules {sorted(set(jobs['rule']))}")
    if train.empty:
        problems.append("no training job in the scheduler's records")
    gpu_request = train["tres_per_job"].str.contains("gres:gpu:1") | train["tres_per_node"].str.contains("gpu:1")
    if not gpu_request.all():
        problems.append(f"training jobs without a GPU request: {train.loc[~gpu_request, 'job_id'].tolist()}")
    if not (train["partition"] == "gpu").all():
        problems.append(f"training jobs outside the gpu partition: {train['partition'].unique().tolist()}")
    if (other["tres_per_job"].str.contains("gpu") | other["tres_per_node"].str.contains("gpu")).any():
        problems.append("a job that is not training asked for a GPU")
    peak = max_concurrent(train)
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
    problems += compare_summaries(args.run, reference)
    for p in problems:
        print("  PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
