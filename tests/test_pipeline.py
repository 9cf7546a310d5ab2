"""The smoke pipeline end to end through Snakemake: tables in the shared shape, caching, one-figure rebuilds."""

import re

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_snakemake

SMOKE = ["--configfile", str(ROOT / "configs/smoke.yaml")]
SMOKE_CONFIG = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
EXPERIMENTS = tuple(SMOKE_CONFIG["experiments"])
SUMMARY_COLUMNS = ["experiment", "variant", "split", "metric", "mean", "std", "ci_low", "ci_high", "n_seeds"]


def test_smoke_pipeline_writes_every_table_and_figure(smoke_run):
    for exp, spec in SMOKE_CONFIG["experiments"].items():
        variants = set(spec["variants"])
        summary = pd.read_csv(smoke_run / f"results/{exp}/summary.csv")
        assert list(summary.columns) == SUMMARY_COLUMNS
        assert set(summary["variant"]) == variants
        long = pd.read_csv(smoke_run / f"results/{exp}/{sorted(variants)[0]}/0/metrics.csv")
        assert list(long.columns) == ["experiment", "variant", "seed", "split", "metric", "value", "backend"]
        assert (smoke_run / f"results/{exp}/figures/curves.png").stat().st_size > 1000
    masked = pd.read_csv(smoke_run / "results/masked/summary.csv").set_index(["variant", "split", "metric"])
    # the source's finding: with the odd-only mask even digits are never learned
    assert masked.loc[("mask_odd", "train", "acc_even"), "mean"] < 0.05
    assert masked.loc[("mask_odd", "train", "acc_odd"), "mean"] > 0.6
    assert masked.loc[("no_mask", "train", "acc_even"), "mean"] > 0.6
    # issue 25: every configured CAM method scored, with faithfulness; ranking and ASL metrics in the summaries
    tags = pd.read_csv(smoke_run / "results/tagging/gradcam_localisation.csv")
    assert set(tags["method"]) == {"gradcam", "hirescam"}
    assert tags[["deletion_auc", "insertion_auc", "road_morf", "road_lerf"]].notna().all().all()
    cams = pd.read_csv(smoke_run / "results/complementary/gradcam_metrics.csv")
    assert set(cams["method"]) == {"gradcam", "gradcampp"} and "faithfulness" in set(cams["kind"])
    for exp in ("tagging", "mosaic"):
        metrics = set(pd.read_csv(smoke_run / f"results/{exp}/summary.csv")["metric"])
        assert {"coverage_error", "ranking_loss", "lrap", "cp", "cr", "cf1", "op", "or", "of1"} <= metrics


def test_report_is_self_contained_with_claims_and_every_experiment(smoke_run):
    html = (smoke_run / "results/report/index.html").read_text()
    for exp in EXPERIMENTS:
        assert f'id="{exp}"' in html
    assert 'id="claims-table"' in html and "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html  # nothing fetched when opened
    claims = pd.read_csv(smoke_run / "results/report/claims.csv")
    assert list(claims.columns)[:13] == ["claim_id", "experiment", "kind", "claim", "source", "source_value", "ours",
                                         "ci_low", "ci_high", "n_seeds", "verdict", "seeds_needed", "rule"]
    ids = [c["id"] for spec in SMOKE_CONFIG["experiments"].values() for c in spec.get("claims", [])]
    assert sorted(claims["claim_id"]) == sorted(ids)
    assert set(claims["verdict"]) <= {"holds", "does not hold", "inconclusive", "out of scope"}
    assert set(claims["kind"]) == {"effect", "value", "exact", "speed"}
    for row in claims.itertuples():
        assert f'id="claim-{row.claim_id}"' in html
    verdicts = claims.set_index("claim_id")["verdict"]
    assert verdicts["rank1_scalar"] == "holds"  # our loss code on the source's worked example
    assert verdicts["bce_exact_match_value"] == "out of scope"  # a CIFAR-10 figure, shape mosaics here
    tagging = pd.read_csv(smoke_run / "results/tagging/summary.csv")
    assert {"samples_f1", "macro_f1_tuned", "hamming_loss", "skipped_images"} <= set(tagging["metric"])
    cam = pd.read_csv(smoke_run / "results/complementary/gradcam_metrics.csv")
    assert {"agreement", "localisation"} <= set(cam["kind"])


def test_one_gradcam_figure_after_a_full_run_schedules_exactly_one_job(smoke_run):
    target = "results/complementary/figures/gradcam_deep_correct.png"
    proc = run_snakemake(smoke_run, target, *SMOKE, "-n", "--forcerun", "gradcam_pair_figure")
    out = proc.stdout + proc.stderr
    assert "gradcam_pair_figure" in out and "train_keras" not in out
    totals = re.findall(r"^\s*total\s+(\d+)\s*$", out, flags=re.M)  # Snakemake's job-stats table
    assert totals and all(t == "1" for t in totals), out[-2000:]


def test_second_call_has_nothing_to_do(smoke_run):
    proc = run_snakemake(smoke_run, *SMOKE, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_one_figure_is_rebuilt_alone_and_never_retrains(smoke_run):
    target = "results/mosaic/figures/metrics.png"
    proc = run_snakemake(smoke_run, target, *SMOKE, "-n", "--forcerun", "experiment_figure")
    out = proc.stdout + proc.stderr
    assert "experiment_figure" in out and "train_keras" not in out
    # a changed plotting script schedules no training either
    proc = run_snakemake(smoke_run, *SMOKE, "-n", "--rerun-triggers", "mtime", "code", "--touch", target)
    assert "train_keras" not in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_paper_config_plans_without_any_data(workdir):
    (workdir / "data/nus_wide").mkdir(parents=True)  # the one dataset read from the user's copy (refused if absent)
    proc = run_snakemake(workdir, "--configfile", str(ROOT / "configs/paper.yaml"), "-n", "--quiet", "rules")
    out = proc.stdout + proc.stderr
    assert "download" in out and "train_keras" in out and "build_dataset" in out


def test_notebooks_are_executed_and_linked_from_the_report(smoke_run):
    import nbformat

    html = (smoke_run / "results/report/index.html").read_text()
    for exp in EXPERIMENTS:
        nb = nbformat.read(smoke_run / f"results/notebooks/{exp}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code)  # every cell ran
        assert not [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
        assert any(c.metadata.get("tags") == ["injected-parameters"] for c in code)  # papermill's parameters
        assert f'href="../notebooks/{exp}.html"' in html


def test_snakemake_report_zip_has_every_experiment(smoke_run):
    import zipfile

    run_snakemake(smoke_run, *SMOKE, "--report", "results/report/snakemake.zip")
    with zipfile.ZipFile(smoke_run / "results/report/snakemake.zip") as z:
        names = z.namelist()
        page = z.read(next(n for n in names if n.endswith("/report.html"))).decode()
    assert sum(n.endswith("/summary.csv") for n in names) == len(EXPERIMENTS)
    assert sum(n.endswith("/claims.csv") for n in names) == len(EXPERIMENTS) + 1  # and the report's
    assert sum(n.endswith("/gradcam_deep_correct.png") for n in names) == 1
    for exp in EXPERIMENTS:
        assert any(n.endswith(f"/{exp}.html") for n in names), exp  # the executed notebook
        assert exp in page


def test_an_edit_to_one_experiment_reruns_only_that_experiments_claims_and_tables(smoke_run):
    """The claims and table jobs are given their experiment's part of the config alone
    (labelbench.config.experiment_config): a one-key edit to mosaic's claims reschedules mosaic's claims and
    notebook and the report, and no other experiment's claims or tables."""
    import copy

    edited = copy.deepcopy(SMOKE_CONFIG)
    edited["experiments"]["mosaic"]["claims"][0]["claim"] += " (edited)"
    path = smoke_run / "edited.yaml"
    path.write_text(yaml.safe_dump(edited, sort_keys=False))
    proc = run_snakemake(smoke_run, "--configfile", str(path), "-n")
    out = proc.stdout + proc.stderr
    jobs = re.findall(r"^rule (\w+):\n(?:[ \t]+.*\n)*?[ \t]+wildcards: (.*)$", out, re.M)
    scheduled = {(rule, wildcards) for rule, wildcards in jobs}
    assert ("claims", "experiment=mosaic") in scheduled, out[-3000:]
    assert {rule for rule, w in scheduled if "experiment=mosaic" not in w} <= {"report"}, scheduled
    assert not [job for job in scheduled if job[0] in ("train_keras", "train_torch", "experiment_table")], scheduled


def test_an_experiments_config_holds_its_datasets_and_their_tiles_and_nothing_of_the_others():
    from labelbench.config import experiment_config

    part = experiment_config(SMOKE_CONFIG, "mosaic")
    assert list(part["experiments"]) == ["mosaic"]
    mosaic_data = SMOKE_CONFIG["experiments"]["mosaic"]["dataset"]
    assert set(part["datasets"]) == {mosaic_data, SMOKE_CONFIG["datasets"][mosaic_data]["tiles"]}
    comp = experiment_config(SMOKE_CONFIG, "complementary")
    spec = SMOKE_CONFIG["experiments"]["complementary"]
    assert set(comp["datasets"]) == {spec["dataset"], *(v["dataset"] for v in spec["variants"].values()
                                                         if v.get("dataset"))}
