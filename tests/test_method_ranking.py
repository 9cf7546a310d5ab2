"""The complementary experiment's method ranking (``method_ranking.csv``): intervals over seeds, the paired
comparison with the next method, the test accuracy under each selection criterion, CLCIFAR10 beside ours, and its
caption in the report; made by the experiment's own table hook, through the generic ``experiment_table`` job."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from labelbench import stats
from labelbench.experiments import get_experiment
from labelbench.experiments.complementary import CLCIFAR10, variant_seeds

ROOT = Path(__file__).resolve().parents[1]

#: test accuracy per variant in the synthetic metrics, per seed offset (seed 0, 1, 2)
MEANS = {"ordinary": 0.97, "scl_nl": 0.90, "fwd": 0.80, "scl_exp": 0.85, "ure": 0.60, "ure_nn": 0.70,
         "ure_ga": 0.65, "dm": 0.50, "pc_sigmoid": 0.40, "ordinary_4class": 0.95, "scl_nl_4class": 0.80,
         "pc_sigmoid_4class": 0.30, "mcl_4class_2cl": 0.88}
OFFSETS = (0.0, 0.02, -0.01)


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def _metrics(spec):
    """Long per-run metrics as the evaluation writes them: accuracy and, per criterion, the accuracy of its best
    epoch (scel 0.01 below the driving one, the oracle 0.01 above it, loss 0.05 below)."""
    rows = []
    for variant in spec["variants"]:
        for seed in variant_seeds(spec, variant):
            acc = MEANS[variant] + OFFSETS[seed]
            values = {"accuracy": acc, "accuracy_by_scel": acc, "accuracy_by_ure": acc - 0.01,
                      "accuracy_by_loss": acc - 0.05, "accuracy_by_oracle_accuracy": acc + 0.01}
            rows += [{"experiment": "complementary", "variant": variant, "seed": seed, "split": split,
                      "metric": m, "value": v} for m, v in values.items() for split in ("test", "val")]
    return pd.DataFrame(rows)


def test_better_than_next_is_two_sided_because_the_ranking_chose_the_direction(config):
    """Seed-to-seed noise that differs between methods: the comparison reads scipy's two-sided paired interval
    (95 %), so a gap that a one-sided 5 % test in the ranked direction would call "holds" stays inconclusive."""
    from scipy import stats as sps

    spec = config["experiments"]["complementary"]
    metrics = _metrics(spec)
    test_acc = (metrics["split"] == "test") & (metrics["metric"] == "accuracy")
    # scl_nl − scl_exp on their shared seeds 0, 1: 0.05, 0.06 (t = 11 on 1 df: one-sided 5 % needs 6.3, two-sided
    # 12.7); scl_exp − fwd: 0.05, 0.052 (t = 51: both)
    noise = {("scl_nl", 1): 0.01, ("fwd", 1): -0.002}
    for (variant, seed), extra in noise.items():
        metrics.loc[test_acc & (metrics["variant"] == variant) & (metrics["seed"] == seed), "value"] += extra
    table = get_experiment("complementary").table("method_ranking", metrics, config, "complementary")
    rows = table[table["dataset"] == "shapes_objects3"].set_index("variant")

    def arm(variant, seeds):
        hit = metrics[test_acc & (metrics["variant"] == variant) & metrics["seed"].isin(seeds)]
        return hit.sort_values("seed")["value"].to_numpy()

    one_sided_holds = 0
    for variant in ("scl_nl", "scl_exp"):
        row = rows.loc[variant]
        seeds = sorted(set(variant_seeds(spec, variant)) & set(variant_seeds(spec, row["next"])))
        a, b = arm(variant, seeds), arm(row["next"], seeds)
        ci = sps.ttest_rel(a, b).confidence_interval(0.95)
        assert (row["diff_low"], row["diff_high"]) == pytest.approx((ci.low, ci.high))
        assert row["p_two_sided"] == pytest.approx(sps.ttest_rel(a, b).pvalue)
        assert (row["better_than_next"] == stats.HOLDS) == (ci.low > 0)
        one_sided_holds += sps.ttest_rel(a, b, alternative="greater").pvalue < 0.05
    # the case the rule is for: one of the two gaps passes one-sided at 5 % but not two-sided
    assert one_sided_holds == 2
    assert rows.loc["scl_nl", "better_than_next"] == stats.INCONCLUSIVE
    assert rows.loc["scl_exp", "better_than_next"] == stats.HOLDS


def test_the_ranking_orders_methods_with_intervals_and_paired_comparisons(config):
    spec = config["experiments"]["complementary"]
    exp = get_experiment("complementary")
    table = exp.table("method_ranking", _metrics(spec), config, "complementary")
    three = table[table["dataset"] == "shapes_objects3"]
    methods = three[three["labels"] == "complementary"]
    # the complementary-label methods, best first; true labels below them, unranked
    assert list(methods["variant"]) == ["scl_nl", "scl_exp", "fwd", "ure_nn", "ure_ga", "ure", "dm", "pc_sigmoid"]
    assert list(methods["rank"]) == list(range(1, 9))
    assert list(three["variant"])[-1] == "ordinary" and np.isnan(three["rank"].iloc[-1])
    assert three["labels"].iloc[-1] == "true (reference)"
    row = methods.set_index("variant").loc["scl_nl"]
    seeds = variant_seeds(spec, "scl_nl")
    values = [MEANS["scl_nl"] + OFFSETS[s] for s in seeds]
    expected = stats.mean_interval(values, bounds=(0.0, 1.0))
    assert row["n_seeds"] == 3
    assert row["accuracy"] == pytest.approx(np.mean(values))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected.low, expected.high))
    # intervals stay in [0, 1]: ordinary_4class's 2-seed t interval (0.96 ± 0.13) is clipped at 1
    assert (table["ci_low"].dropna() >= 0).all() and (table["ci_high"].dropna() <= 1).all()
    assert table.set_index("variant").loc["ordinary_4class", "ci_high"] == 1.0
    # the paired difference with the next method, over the seeds both have (scl_exp has 0 and 1)
    assert row["next"] == "scl_exp"
    assert row["diff_to_next"] == pytest.approx(MEANS["scl_nl"] - MEANS["scl_exp"])
    assert row["better_than_next"] in stats.VERDICTS
    # the two share seeds 0 and 1 and differ by exactly 0.05 on both: a zero-width interval above 0
    assert row["better_than_next"] == stats.HOLDS
    assert methods["next"].iloc[-1] == "" and np.isnan(methods["diff_to_next"].iloc[-1])
    # each criterion's column, the oracle marked as one
    assert row["by_scel"] == pytest.approx(np.mean(values))
    assert row["by_ure"] == pytest.approx(np.mean(values) - 0.01)
    assert row["by_loss"] == pytest.approx(np.mean(values) - 0.05)
    assert row["by_oracle_accuracy (oracle)"] == pytest.approx(np.mean(values) + 0.01)
    # CLCIFAR10 beside ours: its figure, its rank, and ours among the methods it reports
    assert row["clcifar10_accuracy"] == CLCIFAR10["scl_nl"] == 0.361
    assert row["clcifar10_rank"] == 2  # FWD 36.2 % first
    assert row["rank_among_clcifar10_methods"] == 1
    assert methods.set_index("variant").loc["fwd", "clcifar10_rank"] == 1
    assert np.isnan(methods.set_index("variant").loc["pc_sigmoid", "clcifar10_accuracy"])
    # each dataset is ranked on its own: MCL reads two complementary labels per image of another dataset
    mcl = table[table["dataset"] == "shapes_objects4_cl2"]
    assert list(mcl["variant"]) == ["mcl_4class_2cl"] and mcl["rank"].iloc[0] == 1


def test_the_caption_states_our_settings_the_oracle_and_clcifar10s(config):
    caption = get_experiment("complementary").table_caption("method_ranking", config, "complementary")
    assert "training.selection = scel" in caption
    assert "oracle a practitioner with complementary labels does not have" in caption
    assert "mini_xception (width 0.25, middle_blocks 1), adam at learning rate 0.003 (AMSGrad), batch 32, up to 12 " \
           "epochs" in caption
    assert "shapes_objects4_cl2 (shapes, 4 classes, 32 px, 400 training images per class, 2 uniform complementary " \
           "label(s) per image)" in caption
    assert "a ResNet trained 200 epochs with Adam at learning rate 1e-4" in caption
    assert get_experiment("complementary").table_caption("gradcam_metrics", config, "complementary") == ""


def test_the_table_job_writes_what_the_hook_makes_and_refuses_other_tables(config, tmp_path):
    from labelbench.metrics import write_experiment_table

    spec = config["experiments"]["complementary"]
    _metrics(spec).to_parquet(tmp_path / "metrics.parquet")
    out = tmp_path / "method_ranking.csv"
    frame = write_experiment_table("complementary", "method_ranking", str(tmp_path / "metrics.parquet"), config,
                                   str(out))
    pd.testing.assert_frame_equal(pd.read_csv(out), frame.replace({"": np.nan}), check_dtype=False)
    with pytest.raises(ValueError, match="mosaic makes no table 'method_ranking' from its metrics; expected one of"):
        get_experiment("mosaic").table("method_ranking", _metrics(spec), config, "mosaic")


def _readme_lines() -> str:
    """The config lines README gives a complementary-label learner for their own data (the yaml block that names
    an imagefolder with complementary labels)."""
    text = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    mine = [b for b in blocks if "source: imagefolder" in b and "complementary:" in b]
    assert len(mine) == 1, "README should show one imagefolder + complementary config block"
    return mine[0]


def _image_folder(root: Path, per_class: int = 12) -> None:
    """Three classes of 40×36 PNGs a small CNN can tell apart by colour and a bar's position."""
    from PIL import Image, ImageDraw

    for k, cls in enumerate(["apple", "leaf", "sky"]):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("RGB", (40, 36), tuple(int(c) for c in np.roll([200, 40, 30], k)))
            ImageDraw.Draw(img).rectangle([4 + 10 * k, 2 + i, 12 + 10 * k, 20 + i], fill=(250, 250, 250))
            img.save(root / cls / f"{i:02d}.png")


@pytest.mark.e2e
def test_the_readme_lines_give_the_same_table_on_your_own_image_folder(tmp_path):
    """README's three lines over the smoke config: the ranking is made for the image folder's variants with the
    columns it has on the embedded shapes."""
    from conftest import run_snakemake

    lines = _readme_lines()
    assert len(lines.strip().splitlines()) == 3
    mine = yaml.safe_load(lines)
    _image_folder(tmp_path / mine["datasets"]["mine"]["path"])
    (tmp_path / "mine.yaml").write_text(lines)
    target = "results/complementary/method_ranking.csv"
    run_snakemake(tmp_path, target, "--cores", "2", "--configfile", str(ROOT / "configs/smoke.yaml"),
                  str(tmp_path / "mine.yaml"))
    table = pd.read_csv(tmp_path / target)
    smoke = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
    variants = list(smoke["experiments"]["complementary"]["variants"])
    assert set(table["dataset"]) == {"mine"} and set(table["variant"]) == set(variants)
    assert list(table.loc[table["labels"] == "true (reference)", "variant"]) == ["ordinary"]
    assert table.loc[table["labels"] == "complementary", "rank"].tolist() == [1.0, 2.0]
    assert table["accuracy"].between(0, 1).all() and table["by_scel"].between(0, 1).all()
    # the same table as on the shipped data: the hook's columns, whichever dataset
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    shipped = get_experiment("complementary").table("method_ranking", _metrics(config["experiments"][
        "complementary"]), config, "complementary")
    assert list(table.columns) == list(shipped.columns)


@pytest.mark.e2e
def test_the_readme_lines_over_the_default_config_train_every_variant_on_your_folder(tmp_path):
    from conftest import run_snakemake

    lines = _readme_lines()
    _image_folder(tmp_path / yaml.safe_load(lines)["datasets"]["mine"]["path"])
    (tmp_path / "mine.yaml").write_text(lines)
    proc = run_snakemake(tmp_path, "results/complementary/method_ranking.csv", "-n", "--configfile",
                         str(ROOT / "config.yaml"), str(tmp_path / "mine.yaml"))
    out = proc.stdout + proc.stderr
    spec = yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"]["complementary"]
    on_mine = [v for v, vs in spec["variants"].items() if "dataset" not in vs]
    assert "results/data/mine/dataset.json" in out
    for v in on_mine:
        assert f"results/complementary/{v}/0/predictions.parquet" in out, v
    assert "experiment_table" in out


def test_the_report_prints_the_ranking_under_its_caption(config, tmp_path):
    import html

    from labelbench.claims import write_claims
    from labelbench.metrics import summarise, write_experiment_table
    from labelbench.report import build_report

    cfg = {**config, "experiments": {"complementary": config["experiments"]["complementary"]}}
    root = tmp_path / "results" / "complementary"
    root.mkdir(parents=True)
    _metrics(cfg["experiments"]["complementary"]).to_parquet(root / "metrics.parquet")
    summarise(pd.read_parquet(root / "metrics.parquet")).to_csv(root / "summary.csv", index=False)
    write_claims("complementary", cfg, root / "metrics.parquet", root / "claims.csv")
    write_experiment_table("complementary", "method_ranking", str(root / "metrics.parquet"), cfg,
                           str(root / "method_ranking.csv"))
    facts = {"config_files": ["x.yaml"], "config_hash": "0", "config_name": "test", "hardware": "", "python": "",
             "versions": {}, "commit": "", "datasets": [], "jobs": [], "total_job_seconds": 0.0}
    files = {"summary": str(root / "summary.csv"), "claims": str(root / "claims.csv"), "figures": [],
             "tables": [str(root / "method_ranking.csv")], "notebook": None}
    out = tmp_path / "report/index.html"
    build_report(cfg, facts, {"complementary": files}, {}, str(out), str(tmp_path / "report/claims.csv"))
    page = html.unescape(out.read_text())
    caption = get_experiment("complementary").table_caption("method_ranking", cfg, "complementary")
    assert "<h3>method_ranking.csv</h3>" in page and caption in page
    assert page.index(caption) < page.index("<th>by_oracle_accuracy (oracle)</th>") < page.index(
        "<th>clcifar10_accuracy</th>")


def test_each_method_carries_its_probability_of_improving_on_the_next_one(config):
    """Agarwal et al.'s probability of improvement, through rliable: the share of (run, run) pairs in which the
    method beats the next one (ties a half), with a seeded stratified-bootstrap interval around it."""
    spec = config["experiments"]["complementary"]
    metrics = _metrics(spec)
    test_acc = (metrics["split"] == "test") & (metrics["metric"] == "accuracy")
    # fwd's seed 1 (0.71) drops between ure_nn's seeds 0 and 1 (0.70, 0.72): fwd wins 3 of its 4 run pairs
    metrics.loc[test_acc & (metrics["variant"] == "fwd") & (metrics["seed"] == 1), "value"] = 0.71
    table = get_experiment("complementary").table("method_ranking", metrics, config, "complementary")
    rows = table[table["dataset"] == "shapes_objects3"].set_index("variant")

    def runs(variant):
        return metrics[test_acc & (metrics["variant"] == variant)].sort_values("seed")["value"].to_numpy()

    for variant in rows.index[rows["next"] != ""]:
        a, b = runs(variant), runs(rows.loc[variant, "next"])
        by_hand = np.mean([(x > y) + 0.5 * (x == y) for x in a for y in b])
        row = rows.loc[variant]
        assert row["p_improvement"] == pytest.approx(by_hand), variant
        assert 0 <= row["p_improvement_low"] <= row["p_improvement"] <= row["p_improvement_high"] <= 1, variant
    fwd = rows.loc["fwd"]
    assert fwd["next"] == "ure_nn" and fwd["p_improvement"] == pytest.approx(3 / 4)
    assert fwd["p_improvement_low"] < 3 / 4 < fwd["p_improvement_high"]  # 2 runs a side: a wide interval
    again = get_experiment("complementary").table("method_ranking", metrics, config, "complementary")
    assert again["p_improvement_low"].equals(table["p_improvement_low"])  # seeded
    # the last method has no next one, and the true-label reference is not ranked
    assert np.isnan(rows.loc["pc_sigmoid", "p_improvement"]) and np.isnan(rows.loc["ordinary", "p_improvement"])


def test_the_vectorised_bootstrap_statistic_is_rliables_probability_of_improvement():
    from rliable.metrics import probability_of_improvement

    from labelbench.experiments.complementary import _pairs_won

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 4, (50, 3)) / 4, rng.integers(0, 4, (50, 4)) / 4  # ties on purpose
    batch = _pairs_won(x, y, axis=-1)
    one_by_one = [probability_of_improvement(a[:, None], b[:, None]) for a, b in zip(x, y, strict=True)]
    assert batch == pytest.approx(one_by_one)
