"""Claims decided from results: each kind's rule, the scope of value claims, and one verdict behind the CSV, the
report's tables and its sentence."""

import copy
import json
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, startup_refusal

from labelbench import stats
from labelbench.claims import COLUMNS, evaluate_claims, write_claims
from labelbench.metrics import summarise
from labelbench.report import build_report

DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
SMOKE = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())


def _observations(rows):
    """Long per-run metrics from {(variant, metric, split): [value per seed]}."""
    out = [{"experiment": "mosaic", "variant": v, "seed": s, "split": split, "metric": m, "value": x}
           for (v, m, split), values in rows.items() for s, x in enumerate(values)]
    return pd.DataFrame(out)


def _claim(config, experiment, claim_id):
    return next(c for c in config["experiments"][experiment]["claims"] if c["id"] == claim_id)


def _only(config, experiment, *ids):
    """``config`` with only the claims ``ids`` in ``experiment``, each decided on its own run (a deferral to another
    config, ``decided_in``, removed: the tests of deferral add it back)."""
    cfg = copy.deepcopy(config)
    cfg["experiments"][experiment]["claims"] = [{k: v for k, v in _claim(config, experiment, i).items()
                                                 if k != "decided_in"} for i in ids]
    return cfg


def test_effect_is_decided_on_paired_differences_not_on_separate_intervals():
    # bce is above cce in every seed by about 0.05, while the seeds themselves spread by 0.3: separate intervals
    # overlap, paired differences do not
    base = np.array([0.3, 0.6, 0.45, 0.75])
    obs = _observations({("bce", "exact_match", "test"): base + 0.05 + [0.0, 0.01, -0.01, 0.0],
                         ("cce", "exact_match", "test"): base})
    (v,) = evaluate_claims("mosaic", _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match"), obs)
    assert v.verdict == stats.HOLDS and v.n_seeds == 4
    assert v.ours == pytest.approx(0.05) and 0 < v.ci_low < 0.05 < v.ci_high
    assert "holds: bce exact_match − cce exact_match = 0.0500" in v.sentence and "4 seeds" in v.sentence


def test_effect_the_other_way_does_not_hold_and_a_noisy_one_is_inconclusive_with_seeds_needed():
    cfg = _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match")
    against = _observations({("bce", "exact_match", "test"): [0.2, 0.25, 0.22],
                             ("cce", "exact_match", "test"): [0.4, 0.45, 0.41]})
    assert evaluate_claims("mosaic", cfg, against)[0].verdict == stats.FAILS
    noisy = _observations({("bce", "exact_match", "test"): [0.5, 0.3, 0.6],
                           ("cce", "exact_match", "test"): [0.4, 0.35, 0.45]})
    (v,) = evaluate_claims("mosaic", cfg, noisy)
    assert v.verdict == stats.INCONCLUSIVE and v.seeds_needed > 3
    assert f"About {int(v.seeds_needed)} seeds would likely decide it." in v.sentence


def test_equal_within_a_margin_is_tost():
    cfg = _only(DEFAULT, "complementary", "scl_nl_close_to_ordinary")
    obs = _observations({("scl_nl", "accuracy", "test"): [0.97, 0.98, 0.96, 0.97],
                         ("ordinary", "accuracy", "test"): [0.99, 0.99, 0.98, 0.99]})
    (v,) = evaluate_claims("complementary", cfg, obs)
    assert v.verdict == stats.HOLDS and v.region == "in [-0.0500, 0.0500]"
    far = _observations({("scl_nl", "accuracy", "test"): [0.45, 0.5, 0.41],
                         ("ordinary", "accuracy", "test"): [0.99, 0.99, 0.98]})
    assert evaluate_claims("complementary", cfg, far)[0].verdict == stats.FAILS


def test_value_claims_are_out_of_scope_on_stand_in_data_and_judged_on_the_sources():
    cfg = _only(DEFAULT, "mosaic", "bce_exact_match_value")
    obs = _observations({("bce", "exact_match", "test"): [0.50, 0.49, 0.495]})
    (v,) = evaluate_claims("mosaic", cfg, obs)
    assert v.verdict == stats.OUT_OF_SCOPE and math.isnan(v.seeds_needed)
    assert "the figure is on cifar10; this run's data is mosaic_shapes (mosaic from shapes)" in v.detail
    assert "training.epochs is 4 here, 1 in the source" in v.detail
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    (judged,) = evaluate_claims("mosaic", _only(paper, "mosaic", "bce_exact_match_value"), obs)
    assert judged.verdict == stats.HOLDS and not judged.detail
    off = _observations({("bce", "exact_match", "test"): [0.30, 0.31, 0.29]})
    assert evaluate_claims("mosaic", _only(paper, "mosaic", "bce_exact_match_value"), off)[0].verdict == stats.FAILS
    fewer = _only(paper, "mosaic", "bce_exact_match_value")
    fewer["datasets"]["mosaic_cifar10"]["n_train"] = 256  # the source's data and settings, but far fewer mosaics
    (small,) = evaluate_claims("mosaic", fewer, obs)
    assert small.verdict == stats.OUT_OF_SCOPE
    assert small.detail == "Out of scope: datasets.mosaic_cifar10.n_train is 256 here, 50000 in the source."


def test_the_sources_data_is_recognised_by_its_archives_checksum_not_by_its_name():
    """The paper's value claims are judged on CIFAR-10 only when the archive the build verified is the official one:
    another mirror serving it is fine; the miniature's stand-in archive (CIFAR-10's format, other bytes, so other
    checksums) is out of scope, naming the file and both checksums."""
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    obs = _observations({("bce", "exact_match", "test"): [0.50, 0.49, 0.495]})
    mirrored = _only(paper, "mosaic", "bce_exact_match_value")
    mirrored["datasets"]["cifar10"]["mirror"] = "http://127.0.0.1:8000/"
    assert evaluate_claims("mosaic", mirrored, obs)[0].verdict == stats.HOLDS
    official = "c58f30108f718f92721af3b95e74349a"
    mirrored["datasets"]["cifar10"]["checksums"] = {"cifar-10-python.tar.gz": official}  # stated, the same
    assert evaluate_claims("mosaic", mirrored, obs)[0].verdict == stats.HOLDS
    stand_in = copy.deepcopy(mirrored)
    stand_in["datasets"]["cifar10"]["checksums"] = {"cifar-10-python.tar.gz": "0" * 32}
    (v,) = evaluate_claims("mosaic", stand_in, obs)
    assert v.verdict == stats.OUT_OF_SCOPE
    assert v.detail == ("Out of scope: datasets.cifar10 is not recognised as the official cifar10 data "
                        f"(cifar-10-python.tar.gz has md5 {'0' * 32}, not the upstream {official}).")
    nus = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    nus["datasets"]["nuswide"] = {**nus["datasets"]["nuswide"], "url": "http://127.0.0.1:8000/nus.zip", "md5": "1" * 32}
    nus["datasets"]["nuswide"].pop("path", None)
    claim_id = next(c["id"] for c in nus["experiments"]["tagging"]["claims"] if c["kind"] == "value")
    tags = _observations({(c["variant"], c["metric"], "test"): [c["source_value"]] * 3
                          for c in nus["experiments"]["tagging"]["claims"] if c["id"] == claim_id})
    (t,) = evaluate_claims("tagging", _only(nus, "tagging", claim_id), tags)
    assert t.verdict == stats.OUT_OF_SCOPE
    assert "NUS-WIDE has no official archive to recognise, and this copy comes from http://127.0.0.1:8000/nus.zip" \
        in t.detail


def test_exact_claims_compare_our_recomputation_with_the_printed_value():
    cfg = _only(DEFAULT, "landmark", "rank1_scalar", "rank1_bce_per_sample_1")
    verdicts = evaluate_claims("landmark", cfg, _observations({}),
                               examples={"rank1_scalar": 0.2283930182, "rank1_bce_per_sample_1": 0.2241})
    assert [v.verdict for v in verdicts] == [stats.HOLDS, stats.FAILS]
    assert "rank1_scalar" in verdicts[0].claim_id and "0.22839302" in verdicts[0].sentence


def test_speed_is_the_per_round_ratio_against_the_bound():
    cfg = _only(DEFAULT, "landmark", "fix_is_faster")
    rounds = {"landmark_masked": [1.0, 1.02, 0.98, 1.01, 0.99, 1.0],
              "landmark_rank1_bug": [1.01, 1.01, 1.0, 1.0, 1.0, 1.02]}
    timings = {"rounds_seconds": rounds, "device": "cpu", "batch": 64, "steps": 40}
    (v,) = evaluate_claims("landmark", cfg, _observations({}), timings=timings)
    assert v.verdict == stats.FAILS and v.ci_high < 1.1 and v.n_seeds == 6
    assert "6 rounds" in v.sentence and "Measured on cpu, batch 64, 40 steps a round." in v.sentence
    faster = {**timings, "rounds_seconds": {"landmark_masked": rounds["landmark_masked"],
                                            "landmark_rank1_bug": [1.2 * t for t in rounds["landmark_masked"]]}}
    assert evaluate_claims("landmark", cfg, _observations({}), timings=faster)[0].verdict == stats.HOLDS


def test_the_landmark_worked_example_is_recomputed_by_our_loss_code():
    from labelbench.keras.worked_examples import compute_all

    claims = [c for c in DEFAULT["experiments"]["landmark"]["claims"] if c["kind"] == "exact"]
    ours = compute_all(claims)
    verdicts = evaluate_claims("landmark", _only(DEFAULT, "landmark", *ours), _observations({}), examples=ours)
    assert len(verdicts) == 8 and all(v.verdict == stats.HOLDS for v in verdicts)


class _Text(HTMLParser):
    """Text of every element with an id, and the rows of every table with an id."""

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.rows, self.table, self.row = [], {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        ident = dict(attrs).get("id")
        self.stack.append(ident)
        if ident:
            self.text[ident] = ""
        if tag == "table" and ident:
            self.table, self.rows[ident] = ident, []
        if tag == "tr" and self.table:
            self.row = []
            self.rows[self.table].append(self.row)
        if tag in ("td", "th") and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        self.stack.pop() if self.stack else None

    def handle_data(self, data):
        for ident in self.stack:
            if ident:
                self.text[ident] += data
        if self.row is not None and self.row and self.table:
            self.row[-1] += data


def _results_folder(root, bce, cce):
    metrics = _observations({("bce", "exact_match", "test"): bce, ("cce", "exact_match", "test"): cce})
    (root / "mosaic").mkdir(parents=True)
    metrics.to_parquet(root / "mosaic/metrics.parquet")
    summarise(metrics).to_csv(root / "mosaic/summary.csv", index=False)
    return root


def _mosaic_report(cfg, root):
    """The report job on one mosaic claims table under ``root`` (its summary and claims already written)."""
    facts = {"config_files": ["x.yaml"], "config_hash": "0", "config_name": "test", "hardware": "", "python": "",
             "versions": {}, "commit": "", "datasets": [], "jobs": [], "total_job_seconds": 0.0}
    files = {"summary": str(root / "mosaic/summary.csv"), "claims": str(root / "mosaic/claims.csv"),
             "figures": [], "tables": [], "notebook": None}
    build_report(cfg, facts, {"mosaic": files}, {}, str(root / "report/index.html"), str(root / "report/claims.csv"))


@pytest.mark.parametrize("bce, cce, verdict", [
    ([0.6, 0.7, 0.65, 0.72], [0.4, 0.45, 0.41, 0.5], stats.HOLDS),
    ([0.3, 0.32, 0.35, 0.3], [0.4, 0.45, 0.41, 0.5], stats.FAILS),
])
def test_csv_table_summary_and_sentence_read_one_verdict(tmp_path, bce, cce, verdict):
    cfg = _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match")
    cfg["experiments"] = {"mosaic": cfg["experiments"]["mosaic"]}
    root = _results_folder(tmp_path / "results", bce, cce)
    write_claims("mosaic", cfg, root / "mosaic/metrics.parquet", root / "mosaic/claims.csv")
    _mosaic_report(cfg, root)
    csv = pd.read_csv(root / "report/claims.csv")
    assert list(csv.columns) == COLUMNS and csv["verdict"].tolist() == [verdict]
    page = _Text()
    page.feed((root / "report/index.html").read_text())
    summary_row = page.rows["verdict-summary"][1]
    table_row = page.rows["claims-table"][1]
    assert summary_row[3] == verdict and table_row[11] == verdict
    # one claim is a family of one: Holm leaves its p and verdict as they were
    assert csv["family_size"].tolist() == [1] and csv["verdict_adjusted"].tolist() == [verdict]
    assert csv["p_adjusted"].iloc[0] == pytest.approx(min(csv["p_holds"].iloc[0], csv["p_fails"].iloc[0]))
    assert table_row[13] == "one-sided paired t-test" and table_row[15].strip() == verdict
    assert json.loads(csv["values_a"].iloc[0]) == bce and json.loads(csv["values_b"].iloc[0]) == cce
    sentence = page.text["claim-bce_beats_cce_exact_match"]
    assert f"— {verdict}:" in sentence and sentence.strip().startswith(verdict)
    assert csv["sentence"].iloc[0] in " ".join(sentence.split())
    other = stats.FAILS if verdict == stats.HOLDS else stats.HOLDS
    assert f"— {other}:" not in page.text["verdicts"] + page.text["claims"] + sentence


def test_claims_job_reads_worked_examples_and_timings(tmp_path):
    cfg = _only(DEFAULT, "landmark", "rank1_scalar", "fix_is_faster")
    obs = _observations({})
    obs.to_parquet(tmp_path / "metrics.parquet")
    (tmp_path / "examples.json").write_text(json.dumps({"rank1_scalar": 0.228393}))
    (tmp_path / "speed.json").write_text(json.dumps({"rounds_seconds": {"landmark_masked": [1, 1.1, 0.9],
                                                                        "landmark_rank1_bug": [1, 1.1, 0.9]},
                                                     "device": "cpu", "batch": 8, "steps": 2}))
    table = write_claims("landmark", cfg, tmp_path / "metrics.parquet", tmp_path / "claims.csv",
                         examples=str(tmp_path / "examples.json"), timings=str(tmp_path / "speed.json"))
    assert table.set_index("claim_id")["verdict"].to_dict() == {"rank1_scalar": stats.HOLDS,
                                                                 "fix_is_faster": stats.FAILS}


BAD_CLAIMS = [
    ("mosaic", {"id": "x", "kind": "effect", "claim": "c", "source": "s", "a": {"variant": "bcee", "metric":
                "exact_match"}, "b": {"variant": "cce"}, "direction": "greater"},
     ["experiments.mosaic.claims[3].a.variant: 'bcee' is not a variant of mosaic", "expected one of"]),
    ("mosaic", {"id": "x", "kind": "effect", "claim": "c", "source": "s", "a": {"variant": "bce", "metric":
                "accuracy"}, "b": {"variant": "cce"}, "direction": "greater"},
     ["experiments.mosaic.claims[3].a.metric: mosaic writes no metric 'accuracy'", "'exact_match'"]),
    ("tagging", {"id": "x", "kind": "effect", "claim": "c", "source": "s", "a": {"variant": "bce", "metric":
                 "macro_f1", "split": "train"}, "b": {"metric": "micro_f1"}, "direction": "smaller"},
     ["experiments.tagging.claims[1].a.split: tagging writes 'macro_f1' for no split 'train'", "['test', 'val']"]),
    ("masked", {"id": "bce_beats_cce_exact_match", "kind": "effect", "claim": "c", "source": "s",
                "a": {"variant": "mask_odd", "metric": "acc_even"}, "b": {"metric": "acc_odd"}, "direction": "equal"},
     ["'bce_beats_cce_exact_match' is also the id of experiments.mosaic.claims[0]"]),
    ("masked", {"id": "x", "kind": "value", "claim": "c", "source": "s", "variant": "mask_odd", "metric": "acc_odd",
                "source_value": 0.9, "tolerance": 0.1, "scope": {"data": ["imagenet"]}},
     ["experiments.masked.claims[1].scope.data: ['imagenet'] are not registered dataset sources; expected names "
      "among ['caltech101'"]),
    ("masked", {"id": "x", "kind": "effect", "claim": "c", "source": "s", "a": {"variant": "mask_odd",
                "metric": "acc_odd"}, "b": {"variant": "no_mask"}, "direction": "bigger"},
     ["'bigger' is not one of ['greater', 'smaller', 'equal']"]),
    ("mosaic", {"id": "x", "kind": "guess", "claim": "c", "source": "s"}, ["'guess' is not one of"]),
]


@pytest.mark.parametrize("experiment, claim, fragments", BAD_CLAIMS, ids=[c[1]["id"] + "-" + c[2][0][:40]
                                                                          for c in BAD_CLAIMS])
def test_a_claim_naming_what_the_experiment_does_not_produce_is_refused_at_start_up(tmp_path, experiment, claim,
                                                                                    fragments):
    cfg = copy.deepcopy(SMOKE)
    cfg["experiments"][experiment].setdefault("claims", []).append(claim)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = startup_refusal(tmp_path / "bad.yaml")
    for fragment in fragments:
        assert fragment in out, f"expected {fragment!r} in:\n{out[-3000:]}"


def test_side_b_inherits_the_split_of_side_a_after_the_schema_fills_its_defaults():
    from snakemake.utils import validate

    from labelbench.claims import resolve_sides

    cfg = copy.deepcopy(DEFAULT)
    validate(cfg, str(ROOT / "workflow/schemas/config.schema.yaml"))  # the claims' defaults, as Snakemake fills them
    a, b = resolve_sides(_claim(cfg, "masked", "even_digits_never_learned"))
    assert a == {"variant": "mask_odd", "metric": "acc_even", "split": "train"}
    assert b == {"variant": "mask_odd", "metric": "acc_odd", "split": "train"}
    a, b = resolve_sides(_claim(cfg, "tagging", "macro_below_micro"))
    assert a["split"] == b["split"] == "test"


# ------------------------------------------------------------------------------------ pairing, p-values, Holm
def test_arms_on_different_datasets_are_compared_by_welch_and_runs_on_one_dataset_are_paired():
    """fourth_class_drop compares 4-class runs with 3-class runs: nothing pairs seed s with seed s, so Welch's
    test decides it (scipy's ttest_ind, unequal variances); an effect within one dataset stays paired."""
    from scipy import stats as sps

    four, three = [0.60, 0.70, 0.55], [0.92, 0.85, 0.95]
    obs = _observations({("pc_sigmoid_4class", "accuracy", "test"): four, ("pc_sigmoid", "accuracy", "test"): three})
    (v,) = evaluate_claims("complementary", _only(DEFAULT, "complementary", "fourth_class_drop"), obs)
    welch = sps.ttest_ind(four, three, equal_var=False)
    ci = welch.confidence_interval(0.90)
    assert v.ci_low == pytest.approx(ci.low) and v.ci_high == pytest.approx(ci.high)
    assert v.ours == pytest.approx(np.mean(four) - np.mean(three))
    assert v.p_holds == pytest.approx(sps.ttest_ind(four, three, equal_var=False, alternative="less").pvalue)
    assert v.test.startswith("one-sided Welch t-test (unpaired: shapes_objects4 vs shapes_objects3, ")
    assert f"{welch.df:.1f} df" in v.test and v.verdict == stats.HOLDS
    record = v.record()
    assert json.loads(record["values_a"]) == four and json.loads(record["values_b"]) == three
    paired = _observations({("bce", "exact_match", "test"): [0.5, 0.6, 0.7],
                            ("cce", "exact_match", "test"): [0.4, 0.5, 0.7]})
    (p,) = evaluate_claims("mosaic", _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match"), paired)
    assert p.test == "one-sided paired t-test"
    assert p.p_holds == pytest.approx(sps.ttest_rel([0.5, 0.6, 0.7], [0.4, 0.5, 0.7], alternative="greater").pvalue)


@pytest.mark.parametrize("kind", ["greater", "smaller", "within"])
def test_p_values_agree_with_the_verdict_read_off_the_interval(kind):
    """p_holds < 5 % exactly when the 90 % interval lies in the region, p_fails < 5 % exactly when it lies outside
    (statsmodels' TOST gives the same p for `within`)."""
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(0)
    region = {"greater": stats.Region.greater(0.02), "smaller": stats.Region.smaller(-0.02),
              "within": stats.Region.within(-0.05, 0.05)}[kind]
    for _ in range(300):
        v = rng.normal(rng.normal(0, 0.06), rng.uniform(0.005, 0.08), size=rng.integers(3, 8))
        est = stats.verdict_interval(v)
        verdict = stats.decide(est.low, est.high, region)
        p_holds, p_fails = stats.p_values(v, region)
        assert (p_holds < stats.ALPHA) == (verdict == stats.HOLDS)
        assert (p_fails < stats.ALPHA) == (verdict == stats.FAILS)
        if kind == "within":
            assert p_holds == pytest.approx(ttost_paired(v, np.zeros_like(v), -0.05, 0.05)[0])
    for value in (-0.1, -0.05, -0.02, 0.0, 0.02, 0.03, 0.05, 0.1):  # identical values: a zero-width interval
        verdict = stats.decide(value, value, region)
        assert stats.p_values([value] * 3, region) == (float(verdict != stats.HOLDS), float(verdict != stats.FAILS))


def test_holm_over_the_runs_effect_and_speed_claims_with_the_adjusted_verdict_in_the_sentence():
    from statsmodels.stats.multitest import multipletests

    from labelbench.claims import adjust_for_multiplicity

    rows = [  # (kind, verdict, p_holds, p_fails)
        ("effect", stats.HOLDS, 0.004, 0.996), ("effect", stats.HOLDS, 0.03, 0.97),
        ("effect", stats.FAILS, 0.99, 0.01), ("speed", stats.INCONCLUSIVE, 0.2, 0.8),
        ("value", stats.HOLDS, 0.02, 0.98), ("effect", stats.OUT_OF_SCOPE, math.nan, math.nan),
    ]
    table = pd.DataFrame([{**{c: "" for c in COLUMNS}, "claim_id": f"c{i}", "kind": k, "verdict": v,
                           "p_holds": ph, "p_fails": pf, "sentence": f"claim {i} — {v}."}
                          for i, (k, v, ph, pf) in enumerate(rows)])
    out = adjust_for_multiplicity(table)
    expected = multipletests([0.004, 0.03, 0.01, 0.2], method="holm")[1]
    np.testing.assert_allclose(out["p_adjusted"][:4], expected)
    assert out["family_size"].tolist()[:4] == [4] * 4 and out["family_size"][4:].isna().all()
    assert out["verdict_adjusted"].tolist() == [stats.HOLDS, stats.INCONCLUSIVE, stats.FAILS, stats.INCONCLUSIVE,
                                                stats.HOLDS, stats.OUT_OF_SCOPE]
    assert out["sentence"][1] == ("claim 1 — holds. After Holm's adjustment over the run's 4 effect and speed "
                                  "claims (adjusted p = 0.0600): inconclusive.")
    assert out["sentence"][0] == "claim 0 — holds."  # unchanged by the adjustment: nothing added


def test_magnitude_says_where_the_sources_figure_lies_and_a_value_claim_uses_one_runs_prediction_interval():
    """A 0.05 gain "holds" for a claim whose source saw 0.10: the direction agrees, and the magnitude column says
    the source's effect lies above our interval. A source's single run is compared with where one more of our
    runs would fall (mean ± t·s·√(1 + 1/n), scipy's t), not with our mean's interval."""
    from scipy import stats as sps

    obs = _observations({("bce", "exact_match", "test"): [0.55, 0.56, 0.57, 0.555],
                         ("cce", "exact_match", "test"): [0.50, 0.50, 0.52, 0.51]})
    (v,) = evaluate_claims("mosaic", _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match"), obs)
    assert v.verdict == stats.HOLDS and v.source_value == pytest.approx(0.1025)
    assert v.magnitude == "above" and v.record()["magnitude"] == "above"
    assert "The source's 0.102 lies above our 90 % interval (0.0438 to 0.0587): ours is smaller." in v.sentence
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    cfg = _only(paper, "mosaic", "bce_exact_match_value")
    claim = cfg["experiments"]["mosaic"]["claims"][0]
    runs = [claim["source_value"] - 0.10, claim["source_value"] - 0.04, claim["source_value"] - 0.07]
    (value,) = evaluate_claims("mosaic", cfg, _observations({("bce", "exact_match", "test"): runs}))
    half = sps.t.ppf(0.95, 2) * np.std(runs, ddof=1) * np.sqrt(1 + 1 / 3)
    assert value.magnitude == "inside"  # the mean's own interval lies wholly below it; one run's does not
    assert value.ci_high < claim["source_value"] < np.mean(runs) + half
    assert f"lies inside one run's 90 % prediction interval ({np.mean(runs) - half:.3f} to" in value.sentence


def test_alpha_power_and_the_sd_bound_come_from_the_config_into_every_verdict_and_the_reports_rules(tmp_path):
    """The config's ``verdicts:`` decide: the same noisy data is inconclusive at alpha 0.05 and holds at 0.2 (an
    80 % interval), the rule, the sentence, the seed plan, Holm's cut and the report's rule text all say so."""
    from labelbench.report import decision_rules

    bce, cce = [0.52, 0.44, 0.6, 0.5], [0.45, 0.41, 0.46, 0.5]
    obs = _observations({("bce", "exact_match", "test"): bce, ("cce", "exact_match", "test"): cce})
    strict = _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match")
    assert strict["verdicts"] == {"alpha": 0.05, "power": 0.8, "sd_upper_confidence": 0.8}
    loose = copy.deepcopy(strict)
    loose["verdicts"] = {"alpha": 0.2, "power": 0.9, "sd_upper_confidence": 0.95}
    (a,) = evaluate_claims("mosaic", strict, obs)
    (b,) = evaluate_claims("mosaic", loose, obs)
    assert a.verdict == stats.INCONCLUSIVE and b.verdict == stats.HOLDS
    assert a.ci_low < b.ci_low < b.ci_high < a.ci_high and a.ours == b.ours
    assert "at 5 %: the 90 % interval" in a.rule and "at 20 %: the 60 % interval" in b.rule
    assert "(90 % interval" in a.sentence and "(60 % interval" in b.sentence
    # the seed plan reads power and the sd bound: a higher power and a wider sd bound ask for more seeds
    loose_plan = copy.deepcopy(strict)
    loose_plan["verdicts"] = {"power": 0.95, "sd_upper_confidence": 0.95}
    (c,) = evaluate_claims("mosaic", loose_plan, obs)
    assert c.verdict == stats.INCONCLUSIVE and c.seeds_needed > a.seeds_needed
    assert "the 95 % upper bound" in c.detail and "the 80 % upper bound" in a.detail
    # Holm's cut is the config's alpha; the report's rules and legend print it
    root = _results_folder(tmp_path / "results", bce, cce)
    write_claims("mosaic", loose, root / "mosaic/metrics.parquet", root / "mosaic/claims.csv")
    loose["experiments"] = {"mosaic": loose["experiments"]["mosaic"]}
    _mosaic_report(loose, root)
    csv = pd.read_csv(root / "report/claims.csv")
    assert csv["p_adjusted"].iloc[0] < 0.2 and csv["verdict_adjusted"].iloc[0] == stats.HOLDS
    html = " ".join((root / "report/index.html").read_text().split())
    assert decision_rules(stats.Rules(alpha=0.2))["effect"] in html and "a one-sided t-test at 20 %" in html
    assert "reaches 90 % power" in html and "the 95 % upper confidence bound" in html
    assert "at 5 %" not in html and "90 % interval" not in html


@pytest.mark.parametrize("verdicts, message", [
    ("{alpha: 0.5}", "0.5 is greater than the maximum of 0.25"),
    ("{power: 1.0}", "1.0 is greater than or equal to the maximum of 1"),
    ("{alpha: 0.05, beta: 0.2}", "Additional properties are not allowed ('beta' was unexpected)"),
])
def test_verdict_settings_out_of_range_or_unknown_are_refused_at_start_up(tmp_path, verdicts, message):
    text = (ROOT / "config.yaml").read_text().replace(
        "verdicts: {alpha: 0.05, power: 0.8, sd_upper_confidence: 0.8}", f"verdicts: {verdicts}")
    assert f"verdicts: {verdicts}" in text
    (tmp_path / "bad.yaml").write_text(text)
    out = startup_refusal(tmp_path / "bad.yaml")
    assert message in out and "verdicts" in out


# ------------------------------------------------------------------------------ claims decided in another config
def _deferred(claim_id="bce_beats_cce_exact_match", config="configs/extended.yaml"):
    cfg = _only(DEFAULT, "mosaic", claim_id)
    for exp in cfg["experiments"].values():  # the other experiments' own deferrals are not what is tested here
        exp["claims"] = [{k: v for k, v in c.items() if k != "decided_in"} for c in exp.get("claims", [])]
    claims = cfg["experiments"]["mosaic"]["claims"]
    claims[0] = {**claims[0], "decided_in": {"config": config, "reason": "12 seeds an arm there"}}  # DEFAULT's intact
    return cfg


def test_a_claim_with_a_deciding_config_is_deferred_whatever_this_run_says_and_left_out_of_holms_family():
    from labelbench.claims import adjust_for_multiplicity, verdict_table

    noisy = _observations({("bce", "exact_match", "test"): [0.5, 0.3, 0.6],
                           ("cce", "exact_match", "test"): [0.4, 0.35, 0.45]})
    (v,) = evaluate_claims("mosaic", _deferred(), noisy)
    assert v.verdict == stats.DEFERRED == "decided in another config" and v.decided_in == "configs/extended.yaml"
    assert v.seeds_needed > 3  # planned from the pilot, and said in the sentence
    assert v.sentence.startswith("Binary CE beats categorical CE on exact match")
    assert ("— decided in another config: bce exact_match − cce exact_match = 0.0667" in v.sentence
            and f"This run's 3 seeds are the pilot (on their own, inconclusive; they plan {int(v.seeds_needed)} "
                "seeds). configs/extended.yaml decides it: 12 seeds an arm there." in v.sentence), v.sentence
    clear = _observations({("bce", "exact_match", "test"): [0.5, 0.55, 0.6],
                           ("cce", "exact_match", "test"): [0.4, 0.44, 0.51]})
    (decided,) = evaluate_claims("mosaic", _deferred(), clear)  # the deferral is the config's, not the data's
    assert decided.verdict == stats.DEFERRED and "(on their own, holds; they plan" in decided.sentence
    (plain,) = evaluate_claims("mosaic", _only(DEFAULT, "mosaic", "bce_beats_cce_exact_match"), clear)
    assert plain.verdict == stats.HOLDS and plain.decided_in == "" and "pilot" not in plain.sentence

    table = verdict_table([v, decided, plain])
    out = adjust_for_multiplicity(table)  # the family is the one claim not deferred, whatever the p-values
    assert out["family_size"].isna().tolist() == [True, True, False] and out["family_size"][2] == 1
    assert out["verdict_adjusted"].tolist() == [stats.DEFERRED, stats.DEFERRED, stats.HOLDS]
    assert np.isnan(out["p_adjusted"][0]) and out["p_adjusted"][2] == pytest.approx(plain.p_holds)


def test_a_deferred_claim_is_shown_with_its_config_in_the_report_and_an_old_claims_table_still_reads(tmp_path):
    from labelbench.claims import read_claims
    from labelbench.report import VERDICT_CLASSES, claim_rows

    noisy = _observations({("bce", "exact_match", "test"): [0.5, 0.3, 0.6],
                           ("cce", "exact_match", "test"): [0.4, 0.35, 0.45]})
    table = pd.DataFrame([v.record() for v in evaluate_claims("mosaic", _deferred(), noisy)])
    (row,) = claim_rows(table, _deferred())
    assert row["badge"] == VERDICT_CLASSES[stats.DEFERRED] == "deferred"
    assert row["verdict_text"] == "decided in configs/extended.yaml"
    table.drop(columns=["decided_in"]).to_csv(tmp_path / "old.csv", index=False)  # written before the column
    assert read_claims([tmp_path / "old.csv"])["decided_in"].tolist() == [""]
    table.drop(columns=["verdict"]).to_csv(tmp_path / "broken.csv", index=False)  # any other column missing
    with pytest.raises(KeyError, match="verdict"):
        read_claims([tmp_path / "broken.csv"])


def _deciding_config(root, seeds=12, drop=None, **change):
    """``root``/configs/extended.yaml holding mosaic's bce_beats_cce_exact_match with ``seeds`` seeds an arm (and
    without the variant ``drop``; the experiment's own seeds stay 3)."""
    exp = copy.deepcopy(DEFAULT["experiments"]["mosaic"])
    exp["claims"] = [{**_claim(DEFAULT, "mosaic", "bce_beats_cce_exact_match"), **change}]
    for arm in ("bce", "cce"):
        exp["variants"][arm]["seeds"] = list(range(seeds))
    exp["variants"].pop(drop, None)
    (root / "configs").mkdir(exist_ok=True)
    (root / "configs/extended.yaml").write_text(yaml.safe_dump({"experiments": {"mosaic": exp}}))


@pytest.mark.parametrize("setup, message", [
    (lambda root: None, "experiments.mosaic.claims[0].decided_in.config: configs/extended.yaml is not a file of the "
                        "workflow"),
    (lambda root: _deciding_config(root, id="another"), "configs/extended.yaml has no claim "
                                                        "'bce_beats_cce_exact_match' under experiments.mosaic"),
    (lambda root: _deciding_config(root, margin=0.1), "claim 'bce_beats_cce_exact_match' differs in "
                                                      "configs/extended.yaml (margin)"),
    (lambda root: _deciding_config(root, b={"variant": "cce_keras3"}), "differs in configs/extended.yaml (b)"),
    (lambda root: _deciding_config(root, seeds=3), "configs/extended.yaml runs 3 seeds of mosaic/bce, this config "
                                                   "3; expected more, planned to decide 'bce_beats_cce_exact_match'"),
    (lambda root: _deciding_config(root, decided_in={"config": "configs/x.yaml", "reason": "r"}),
     "in configs/extended.yaml is deferred again (decided_in: 'configs/x.yaml')"),
    (lambda root: _deciding_config(root, drop="cce"), "configs/extended.yaml has no variant mosaic/cce; expected "
                                                      "every variant claim 'bce_beats_cce_exact_match' compares"),
])
def test_a_deciding_config_that_is_missing_or_decides_another_claim_or_with_no_more_seeds_is_refused(
        tmp_path, setup, message):
    from labelbench.config import ConfigError, check_deferred

    setup(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_deferred(_deferred(), tmp_path)
    assert message in str(err.value)
    _deciding_config(tmp_path)
    check_deferred(_deferred(), tmp_path)  # the same claim with 12 seeds an arm: accepted


def test_a_deciding_config_outside_the_workflows_configs_folder_is_refused_by_the_schema(tmp_path):
    cfg = _deferred(config="../../etc/passwd.yaml")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = startup_refusal(tmp_path / "bad.yaml")
    assert "'../../etc/passwd.yaml' does not match '^configs/[A-Za-z0-9_-]+[.]yaml$'" in out, out


def test_the_extended_config_decides_the_defaults_deferred_claims_on_the_defaults_data_model_and_training():
    """configs/extended.yaml differs from config.yaml only in seeds and in what it leaves out: its datasets, models,
    training, backends, Grad-CAM settings and variants are the default's, and its claims are exactly the default's
    claims deferred to it (start-up checks that each is the same claim, with more seeds)."""
    from labelbench.config import check_startup

    default, extended = copy.deepcopy(DEFAULT), yaml.safe_load((ROOT / "configs/extended.yaml").read_text())
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    check_startup(default, schema, ROOT)  # check_deferred included: each deferred claim is in extended.yaml, unchanged
    check_startup(extended, schema, ROOT)
    assert extended["verdicts"] == default["verdicts"]
    assert all(extended["datasets"][name] == default["datasets"][name] for name in extended["datasets"])
    deferred = {(exp, c["id"]) for exp, spec in default["experiments"].items() for c in spec["claims"]
                if c.get("decided_in", {}).get("config") == "configs/extended.yaml"}
    assert {(exp, c["id"]) for exp, spec in extended["experiments"].items() for c in spec["claims"]} == deferred
    assert len(deferred) == 5
    for exp, spec in extended["experiments"].items():
        mine = default["experiments"][exp]
        assert {k: v for k, v in spec.items() if k not in ("seeds", "variants", "claims")} == \
            {k: v for k, v in mine.items() if k not in ("seeds", "variants", "claims")}, exp
        for name, variant in spec["variants"].items():
            assert {k: v for k, v in variant.items() if k != "seeds"} == \
                {k: v for k, v in mine["variants"][name].items() if k != "seeds"}, (exp, name)


def test_a_grad_cam_claim_needs_more_seeds_of_the_reference_model_too_and_the_check_reads_the_workflows_folder(
        tmp_path):
    """deep_maps_agree compares two measures of pc_sigmoid's maps against the reference model's (ordinary): the
    deciding config needs more ordinary seeds as well. The workflow's folder is given, not derived from the
    schema's path (Snakemake hands the schema over as a copy in its source cache)."""
    import shutil

    from labelbench.config import ConfigError, check_deferred, check_startup

    default = copy.deepcopy(DEFAULT)
    extended = yaml.safe_load((ROOT / "configs/extended.yaml").read_text())
    extended["experiments"]["complementary"]["variants"]["ordinary"]["seeds"] = [0, 1, 2]
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/extended.yaml").write_text(yaml.safe_dump(extended))
    with pytest.raises(ConfigError, match="extended.yaml runs 3 seeds of complementary/ordinary, this config 3"):
        check_deferred(default, tmp_path)
    cached = tmp_path / "cache/workflow/schemas"
    cached.mkdir(parents=True)
    shutil.copy(ROOT / "workflow/schemas/config.schema.yaml", cached)
    check_startup(default, cached / "config.schema.yaml", ROOT)
