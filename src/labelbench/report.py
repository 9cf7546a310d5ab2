"""The final HTML report and the claims table (pandas + Jinja2; no deep-learning framework).

The report is one self-contained file: figures are embedded as base64 PNG data URIs and the styles are inline,
so it opens offline and makes no external request.

Verdict rule for each claim (a figure a source reports, set beside ours):

* ``reproduced`` — the source's value lies inside our 95 % interval over seeds widened by a tolerance of
  ``TOLERANCE`` (absolute, on the 0–1 scale);
* ``opposite`` — the claim belongs to a pair on the same metric and split (e.g. bce vs cce exact match) and
  our means order the pair the other way round from the source's values;
* ``not reproduced`` — anything else (including no runs of that variant).
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

TOLERANCE = 0.05
CLAIM_COLUMNS = ["claim", "experiment", "variant", "metric", "split", "source", "source_value", "ours_mean",
                 "ci_low", "ci_high", "n_seeds", "verdict"]
PACKAGES = ["labelbench", "snakemake", "tensorflow", "keras", "torch", "torchvision", "numpy", "pandas",
            "scikit-learn", "seaborn", "grad-cam", "torchmetrics"]


def claims_table(config: dict, summaries: dict[str, pd.DataFrame], tolerance: float = TOLERANCE) -> pd.DataFrame:
    rows = []
    for exp, spec in config["experiments"].items():
        summary = summaries.get(exp)
        for ref in spec.get("reference", []):
            split = ref.get("split", "test")
            row = {"claim": ref.get("claim", ""), "experiment": exp, "variant": ref["variant"], "metric": ref["metric"],
                   "split": split, "source": ref["source"], "source_value": ref["value"], "ours_mean": float("nan"),
                   "ci_low": float("nan"), "ci_high": float("nan"), "n_seeds": 0}
            if summary is not None:
                hit = summary[(summary["variant"] == ref["variant"]) & (summary["metric"] == ref["metric"])
                              & (summary["split"] == split)]
                if len(hit):
                    r = hit.iloc[0]
                    row.update(ours_mean=float(r["mean"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]),
                               n_seeds=int(r["n_seeds"]))
            rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in CLAIM_COLUMNS if c != "verdict"])
    table["verdict"] = [_verdict(table, i, tolerance) for i in range(len(table))]
    return table[CLAIM_COLUMNS]


def _verdict(table: pd.DataFrame, i: int, tolerance: float) -> str:
    r = table.iloc[i]
    if r["n_seeds"] == 0 or pd.isna(r["ours_mean"]):
        return "not reproduced"
    if r["ci_low"] - tolerance <= r["source_value"] <= r["ci_high"] + tolerance:
        return "reproduced"
    peers = table[(table["experiment"] == r["experiment"]) & (table["metric"] == r["metric"])
                  & (table["split"] == r["split"]) & (table["variant"] != r["variant"]) & (table["n_seeds"] > 0)]
    for _, p in peers.iterrows():
        source_order = r["source_value"] - p["source_value"]
        ours_order = r["ours_mean"] - p["ours_mean"]
        if source_order * ours_order < 0:
            return "opposite"
    return "not reproduced"


def _mean(summary: pd.DataFrame, variant: str, metric: str, split: str = "test") -> float | None:
    hit = summary[(summary["variant"] == variant) & (summary["metric"] == metric) & (summary["split"] == split)]
    return float(hit["mean"].iloc[0]) if len(hit) and pd.notna(hit["mean"].iloc[0]) else None


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def findings(summaries: dict[str, pd.DataFrame], landmark_speed: dict | None = None) -> dict[str, list[str]]:
    """What each experiment's numbers say about the sources' claims, in sentences computed from the summaries
    (nothing here is written in advance: every comparison reads this run's means)."""
    out: dict[str, list[str]] = {}
    m = summaries.get("mosaic")
    if m is not None:
        lines = []
        bce, cce = _mean(m, "bce", "exact_match"), _mean(m, "cce", "exact_match")
        if bce is not None and cce is not None:
            order = "above" if bce > cce else "not above"
            lines.append(f"Binary CE exact match {_fmt(bce)} is {order} the renormalised categorical CE's {_fmt(cce)}"
                         f" (the source: 0.492 above 0.389).")
        k3 = _mean(m, "cce_keras3", "diverged")
        if k3 is not None:
            em = _fmt(_mean(m, "cce_keras3", "exact_match"))
            lines.append(f"The source's categorical-CE line under Keras 3 (softmax CE on the sigmoid's logits) "
                         f"diverged in {k3:.0%} of the seeds; its exact match is {em}.")
        lines.append("On 4-hot targets the renormalised categorical CE cannot fall below 4 ln 4 = 5.545 (all four "
                     "true labels at probability 1/4): the source's \"loss stalls near 5\" is that floor.")
        out["mosaic"] = lines
    m = summaries.get("masked")
    if m is not None:
        even, odd = _mean(m, "mask_odd", "acc_even", "train"), _mean(m, "mask_odd", "acc_odd", "train")
        control = _mean(m, "no_mask", "acc_even", "train")
        out["masked"] = [f"With only odd digits counted, even-digit training accuracy is {_fmt(even)} and odd-digit "
                         f"{_fmt(odd)} (the source: 0.0 and 0.979); without the mask even digits reach "
                         f"{_fmt(control)}. A masked row contributes exactly zero gradient, so the model never "
                         f"learns to predict an even class at all."]
    m = summaries.get("complementary")
    if m is not None:
        acc = m[(m["metric"] == "accuracy") & (m["split"] == "test")].set_index("variant")["mean"].dropna()
        lines = []
        three = acc[[v for v in acc.index if not v.endswith("_4class") and v != "ordinary"]]
        if "ordinary" in acc:
            lines.append(f"Ordinary labels, 3 classes: {_fmt(acc['ordinary'])} (the source: 0.9375).")
        if len(three):
            best = three.idxmax()
            held = "clearly above" if three.max() >= 0.6 else "not clearly above"
            lines.append(f"Best complementary loss on 3 classes: {best} at {_fmt(three.max())}, {held} chance (0.333); "
                         "by loss: " + ", ".join(f"{v} {_fmt(a)}" for v, a in three.sort_values(ascending=False)
                                                  .items()) + ".")
        if "pc_sigmoid" in acc:
            held = "held" if acc["pc_sigmoid"] >= 0.8 else "did not hold"
            lines.append(f"The source's loss (pc_sigmoid) reached {_fmt(acc['pc_sigmoid'])} against its 0.914 after up "
                         f"to 1,000 epochs: its gradient p/(1+p)^2 vanishes as p -> 0; here the claim {held}.")
        drops = [f"{v[:-7]} {_fmt(acc[v[:-7]])} -> {_fmt(acc[v])}" for v in acc.index
                 if v.endswith("_4class") and v[:-7] in acc]
        if drops:
            lines.append("From 3 to 4 classes (chance 0.25): " + ", ".join(drops) + " (the source: about 0.60 with 4).")
        out["complementary"] = lines
    m = summaries.get("landmark")
    if m is not None:
        lines = []
        for a, b, setting in (("rank1_bug", "masked", "unweighted"),
                              ("rank1_bug_weighted", "masked_weighted", "with empty images down-weighted")):
            rows = m[(m["split"] == "test") & m["variant"].isin([a, b])].pivot_table(
                index="metric", columns="variant", values="mean")
            if a in rows and b in rows:
                diff = (rows[a] - rows[b]).abs().drop(["diverged"], errors="ignore")
                worst = diff.idxmax()
                verdict = "identical" if diff.max() < 1e-9 else "different"
                lines.append(f"{setting}: rank1_bug and masked give {verdict} results (largest difference of means "
                             f"{diff.max():.3g}, on {worst}; kp_error_px {_fmt(rows.loc['kp_error_px', a], 2)} vs "
                             f"{_fmt(rows.loc['kp_error_px', b], 2)}).")
        lines.append("Under Keras's mean reduction the rank-1 scalar equals the batch mean of the per-sample BCE, so "
                     "the pitfall is harmless there; it changes training only where samples carry different weights "
                     "(or the reduction is a sum).")
        if landmark_speed:
            ratio = landmark_speed["ratio_bug_over_fixed"]
            held = "holds" if ratio >= 1.1 else "does not hold"
            lines.append(f"Speed: a training step with the rank-1 loss took {ratio:.3f} times as long as with the "
                         f"fixed one on this machine ({landmark_speed['device']}, batch {landmark_speed['batch']}, "
                         f"{landmark_speed['masked_ms_per_step']:.1f} ms per fixed step); the source's claim that the "
                         f"fix makes training 10-20 % faster {held} here.")
        out["landmark"] = lines
    m = summaries.get("tagging")
    if m is not None:
        f1 = m[(m["metric"] == "macro_f1") & (m["split"] == "test")].set_index("variant")["mean"].dropna()
        if len(f1):
            best = f1.idxmax()
            tuned = _mean(m, best, "macro_f1_tuned")
            out["tagging"] = [f"Best macro F1 at 0.5: {best} {_fmt(f1.max())} (micro "
                              f"{_fmt(_mean(m, best, 'micro_f1'))}); with per-tag thresholds tuned on validation "
                              f"{_fmt(tuned)}. Macro F1 weighs rare tags like frequent ones, so a single 0.5 threshold "
                              "costs it most (the source: macro 0.520, micro 0.666 on NUS-WIDE)."]
    return out


def embed_png(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def run_facts(config: dict, config_files: list[str], workdir: str | Path, datasets: dict[str, str],
              benchmarks: list[str], runs: list[str] | None = None) -> dict:
    """What was run: config and its hash, dataset checksums, hardware, package versions, git commit, job times,
    and where and with how many threads the training runs computed (from their ``run.json``)."""
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
                     "checksum": digest.hexdigest()[:16], "inputs": ", ".join(meta.get("inputs", {})) or "—"})
    jobs = []
    for path in benchmarks:
        frame = pd.read_csv(path, sep="\t")
        parts = Path(path).with_suffix("").parts
        jobs.append({"job": "/".join(parts[parts.index("benchmarks") + 1:]), "seconds": float(frame["s"].iloc[0]),
                     "max_rss_mb": float(frame["max_rss"].iloc[0]) if "max_rss" in frame else float("nan")})
    jobs_table = pd.DataFrame(jobs, columns=["job", "seconds", "max_rss_mb"]).sort_values("job")
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
        "training": training_placement(runs or []),
    }


def training_placement(runs: list[str]) -> list[dict]:
    """One row per experiment and placement seen in the runs' ``run.json``: device asked for, device used,
    threads, and how many runs."""
    records = pd.DataFrame([json.loads(Path(p).read_text()) for p in runs],
                           columns=["experiment", "device", "device_used", "threads", "inter_op_threads"])
    key = ["experiment", "device", "device_used", "threads", "inter_op_threads"]
    return records.groupby(key, sort=True).size().reset_index(name="runs").to_dict("records")


def build_report(config: dict, facts: dict, summaries: dict[str, str], figures: list[str], tables: list[str],
                 out_html: str, out_claims: str, notebooks: dict[str, str] | None = None,
                 landmark_speed: str | None = None) -> None:
    from labelbench.io import atomic_path, write_table

    frames = {exp: pd.read_csv(path) for exp, path in summaries.items()}
    claims = claims_table(config, frames)
    write_table(claims, out_claims)
    speed = json.loads(Path(landmark_speed).read_text()) if landmark_speed else None
    found = findings(frames, speed)
    sections = []
    for exp, spec in config["experiments"].items():
        summary = frames.get(exp)
        test = summary[summary["split"] == "test"] if summary is not None else pd.DataFrame()
        wide = (test.pivot_table(index="variant", columns="metric", values="mean", sort=False)
                if len(test) else pd.DataFrame())
        exp_figs = [{"name": Path(f).stem, "src": embed_png(f)} for f in figures if f"/{exp}/figures/" in f]
        exp_tables = []
        for t in tables:
            if f"/{exp}/" in t:
                frame = pd.read_csv(t)
                exp_tables.append({"name": Path(t).name, "html": frame.head(60).to_html(
                    index=False, float_format=lambda v: f"{v:.3f}", classes="table", border=0)})
        sections.append({
            "name": exp,
            "dataset": spec["dataset"],
            "variants": {v: s.get("description", "") for v, s in spec["variants"].items()},
            "summary_html": wide.to_html(float_format=lambda v: f"{v:.3f}", classes="table", border=0)
            if len(wide) else "<p>No results.</p>",
            "figures": exp_figs,
            "tables": exp_tables,
            "findings": found.get(exp, []),
            "notebook": os.path.relpath((notebooks or {})[exp], Path(out_html).parent)
            if exp in (notebooks or {}) else None,
        })
    env = Environment(loader=PackageLoader("labelbench", "templates"), autoescape=select_autoescape(["html"]))
    html = env.get_template("report.html.j2").render(
        facts=facts, claims=claims.to_dict("records"), sections=sections, tolerance=TOLERANCE,
        data_figures=[{"name": "/".join(Path(f).parts[-3::2]), "src": embed_png(f)} for f in figures
                      if "/data/" in f],
    )
    Path(out_html).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_html) as tmp:
        Path(tmp).write_text(html)
