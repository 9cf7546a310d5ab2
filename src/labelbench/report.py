"""The final HTML report and the claims table (pandas + Jinja2; no deep-learning framework).

The report is one self-contained file: figures are embedded as base64 PNG data URIs and the styles are inline,
so it opens offline and makes no external request.

Every verdict, interval and sentence about a claim comes from the per-experiment claims tables that
:mod:`labelbench.claims` writes (one :class:`~labelbench.claims.Verdict` per row): the summary at the top, the
full table, ``claims.csv`` and each experiment's "What the numbers say" are renderings of the same rows, so none
of them can contradict another. The decision rules are :func:`decision_rules`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from labelbench import stats
from labelbench.claims import adjust_for_multiplicity, read_claims
from labelbench.experiments import get_experiment

PACKAGES = ["labelbench", "snakemake", "tensorflow", "keras", "jax", "torch", "torchvision", "numpy", "pandas",
            "scikit-learn", "scipy", "statsmodels", "seaborn", "grad-cam", "torchmetrics"]


def decision_rules(rules: stats.Rules = stats.DEFAULT_RULES) -> dict[str, str]:
    """The rule of each kind of claim, as the report and README state it, with the config's alpha (``verdicts:``,
    :class:`labelbench.stats.Rules`)."""
    interval, level = rules.interval, rules.test_level
    return {
        "effect": f"a difference between two variants, metrics or conditions, paired by seed where both train on one "
                  f"dataset (the same seed gives every variant the same data order and initial weights), by Welch's "
                  f"unpaired test where they do not. Holds when the whole {interval} Student-t interval of the mean "
                  f"difference lies on the claimed side of its boundary (a one-sided t-test at {level}; "
                  "for \"equal within a margin\", two of them: TOST); does not hold when the whole interval lies on "
                  "the other side; inconclusive when it straddles the boundary.",
        "value": f"an absolute figure, judged only where the run uses the data and settings the source measured it "
                 f"with (otherwise out of scope): holds when the whole {interval} interval of our mean over seeds "
                 "lies within the stated tolerance of the source's value (equivalence, TOST), does not hold when it "
                 "lies wholly outside, inconclusive otherwise.",
        "exact": "a number from a source's own worked example, recomputed by our loss code on the source's inputs: "
                 "holds when it matches the source's printed value within the printed precision.",
        "speed": f"a ratio of step times measured side by side in one process, rounds alternating the order: holds "
                 f"when the whole {interval} interval of the per-round ratio (on the log scale) lies above the "
                 "claimed bound.",
    }


VERDICT_CLASSES = {stats.HOLDS: "holds", stats.FAILS: "fails", stats.INCONCLUSIVE: "inconclusive",
                   stats.OUT_OF_SCOPE: "scope", stats.DEFERRED: "deferred"}


def embed_png(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def core_occupancy(jobs: pd.DataFrame, cores: int) -> dict:
    """How busy the cores were while the jobs with a benchmark file (dataset builds and training, the bulk of a
    run) ran: the sum of each job's wall seconds x its threads over (the span from the first job's start to the
    last one's end) x ``cores``. A job's end is its benchmark file's time (Snakemake writes it as the job ends),
    its start that less its wall seconds. A compute-bound job keeps its threads' cores busy, so 1.0 means no core
    sat idle while such work remained. Meaningful for a run made in one go (``make run`` from scratch): benchmark
    files left by an earlier run widen the span. Written by hand: Snakemake records no per-run utilisation."""
    if not len(jobs) or cores < 1:
        return {"occupancy": float("nan"), "span_s": 0.0, "busy_core_s": 0.0, "cores": cores}
    start = float((jobs["end"] - jobs["seconds"]).min())
    span = float(jobs["end"].max()) - start
    busy = float((jobs["seconds"] * jobs["threads"]).sum())
    return {"occupancy": busy / (span * cores) if span > 0 else float("nan"), "span_s": span, "busy_core_s": busy,
            "cores": cores}


def run_facts(config: dict, config_files: list[str], workdir: str | Path, datasets: dict[str, str],
              benchmarks: dict[str, str], runs: list[str] | None = None, cores: int = 1,
              threads: dict[str, int] | None = None) -> dict:
    """What was run: config and its hash, dataset checksums, hardware, package versions, git commit, job times
(``benchmarks``: {job: its Snakemake benchmark file}), and where and with how many threads the training runs
    computed (from their ``run.json``)."""
    text = json.dumps(config, sort_keys=True, default=str)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=workdir, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    gpu = "none"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
        gpu = out.stdout.strip() or "none"
    except (OSError, subprocess.SubprocessError):
        pass
    data = []
    for name, sidecar in datasets.items():
        meta = json.loads(Path(sidecar).read_text())
        digest = hashlib.sha256(json.dumps(meta.get("files", meta.get("tag_counts", {})), sort_keys=True).encode())
        data.append({"name": name, "source": meta.get("source"), "n": meta.get("n"),
                     "skipped": sum(len(v) for v in (meta.get("skipped") or {}).values()),
                     "checksum": digest.hexdigest()[:16], "inputs": ", ".join(meta.get("inputs", {})) or "—"})
    jobs = []
    for job, path in benchmarks.items():
        frame = pd.read_csv(path, sep="\t")
        jobs.append({"job": job, "seconds": float(frame["s"].iloc[0]),
                     "max_rss_mb": float(frame["max_rss"].iloc[0]) if "max_rss" in frame else float("nan"),
                     "end": os.path.getmtime(path), "threads": (threads or {}).get(job, 1)})
    jobs_table = pd.DataFrame(jobs, columns=["job", "seconds", "max_rss_mb", "end", "threads"]).sort_values("job")
    occupancy = core_occupancy(jobs_table, cores)
    jobs_table = jobs_table.drop(columns=["end"])
    return {
        "config_files": config_files or ["config.yaml"],
        "config_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        "config_name": config.get("name", ""),
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores, GPU: {gpu}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "datasets": data,
        "jobs": jobs_table.to_dict("records"),
        "total_job_seconds": float(jobs_table["seconds"].sum()) if len(jobs_table) else 0.0,
        "occupancy": occupancy,
        "training": training_placement(runs or []),
    }


def _fmt(x, digits: int = 3) -> str:
    return "n/a" if pd.isna(x) else f"{x:.{digits}f}"


def claim_rows(claims: pd.DataFrame, config: dict) -> list[dict]:
    """The claims as the template shows them: each row's fields plus its interval, badge class and the
    config's explanation."""
    explanations = {c["id"]: c.get("explanation", "") for spec in config["experiments"].values()
                    for c in spec.get("claims", [])}
    rows = []
    for r in claims.to_dict("records"):
        digits = 7 if r["kind"] == "exact" else 3
        interval = "" if pd.isna(r["ci_low"]) else f"{_fmt(r['ci_low'], digits)} to {_fmt(r['ci_high'], digits)}"
        need = r["seeds_needed"]
        rows.append({**r, "ours_text": _fmt(r["ours"], digits), "interval": interval,
                     "source_text": _fmt(r["source_value"], digits if r["kind"] == "exact" else 4),
                     "n_text": "" if pd.isna(r["n_seeds"]) else str(int(r["n_seeds"])),
                     "needed_text": "" if pd.isna(need) else ("> 1000" if need == float("inf") else str(int(need))),
                     "badge": VERDICT_CLASSES.get(r["verdict"], "inconclusive"),
                     # a deferred claim's badge names the config that decides it
                     "verdict_text": (f"decided in {r['decided_in']}" if r["verdict"] == stats.DEFERRED
                                      and r.get("decided_in") else r["verdict"]),
                     "badge_adjusted": VERDICT_CLASSES.get(r.get("verdict_adjusted"), "inconclusive"),
                     "p_adjusted_text": "" if pd.isna(r.get("p_adjusted", float("nan"))) else _fmt(r["p_adjusted"], 3),
                     "explanation": explanations.get(r["claim_id"], "")})
    return rows


def training_placement(runs: list[str]) -> list[dict]:
    """One row per experiment and placement seen in the runs' ``run.json``: framework, the library that computed
    (Keras's backend, or torch for the PyTorch experiment; a record from before backends were recorded counts as
    its framework's default), device asked for, device used, threads, and how many runs."""
    key = ["experiment", "framework", "backend", "device", "device_used", "threads", "inter_op_threads"]
    rows = []
    for path in runs:
        record = json.loads(Path(path).read_text())
        framework = record.get("framework") or "keras"
        default = "torch" if framework == "torch" else "tensorflow"
        rows.append({**{k: record.get(k) for k in key}, "framework": framework,
                     "backend": record.get("backend") or default})
    records = pd.DataFrame(rows, columns=key)
    return records.groupby(key, sort=True).size().reset_index(name="runs").to_dict("records")


def build_report(config: dict, facts: dict, experiments: dict[str, dict], dataset_figures: dict[str, str],
                 out_html: str, out_claims: str) -> None:
    """The report from its declared inputs, grouped by experiment: ``experiments`` maps each name to its
    ``summary``, ``claims``, ``figures`` (list), ``tables`` (list) and ``notebook`` files; ``dataset_figures``
    maps a caption to each dataset figure."""
    from labelbench.io import atomic_path, write_table

    rules = stats.Rules.from_config(config)
    table = adjust_for_multiplicity(read_claims([files["claims"] for files in experiments.values()]), rules)
    write_table(table, out_claims)
    rows = claim_rows(table, config)
    sections = []
    for exp, files in experiments.items():
        spec = config["experiments"][exp]
        summary = pd.read_csv(files["summary"])
        test = summary[summary["split"] == "test"]
        wide = (test.pivot_table(index="variant", columns="metric", values="mean", sort=False)
                if len(test) else pd.DataFrame())
        declared = get_experiment(exp)
        exp_tables = [{"name": Path(t).name, "caption": declared.table_caption(Path(t).stem, config, exp),
                       "html": pd.read_csv(t).head(60).to_html(index=False, float_format=lambda v: f"{v:.3f}",
                                                               na_rep="", classes="table", border=0)}
                      for t in files["tables"]]
        sections.append({
            "name": exp,
            "dataset": spec["dataset"],
            "variants": {v: s.get("description", "") for v, s in spec["variants"].items()},
            "summary_html": wide.to_html(float_format=lambda v: f"{v:.3f}", classes="table", border=0)
            if len(wide) else "<p>No results.</p>",
            "figures": [{"name": Path(f).stem, "src": embed_png(f)} for f in files["figures"]],
            "tables": exp_tables,
            "claims": [r for r in rows if r["experiment"] == exp],
            "notebook": os.path.relpath(files["notebook"], Path(out_html).parent) if files.get("notebook") else None,
        })
    counts = [(v, VERDICT_CLASSES[v], sum(r["verdict"] == v for r in rows)) for v in stats.VERDICTS]
    env = Environment(loader=PackageLoader("labelbench", "templates"), autoescape=select_autoescape(["html"]))
    html = env.get_template("report.html.j2").render(
        facts=facts, claims=rows, counts=counts, rules=decision_rules(rules), interval=rules.interval,
        sections=sections,
        family_size=int(table["family_size"].max()) if table["family_size"].notna().any() else 0,
        alpha=f"{100 * rules.alpha:.3g}", power=f"{100 * rules.power:.3g}",
        sd_upper=f"{100 * rules.sd_upper_confidence:.3g}",
        data_figures=[{"name": name, "src": embed_png(path)} for name, path in dataset_figures.items()],
    )
    Path(out_html).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_html) as tmp:
        Path(tmp).write_text(html)
