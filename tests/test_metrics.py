"""Evaluation metrics against scikit-learn and NumPy, and the summary over seeds."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from labelbench import metric_kernels as M
from labelbench import metrics as P
from labelbench.errors import ConfigError, DataError
from labelbench.experiments import experiment_names, get_experiment


@pytest.fixture
def multilabel():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 10)) < 0.3).astype(float)
    p = np.clip(y * 0.6 + rng.random((200, 10)) * 0.5, 0, 1)
    return y, p


def test_multilabel_metrics_match_sklearn(multilabel):
    y, p = multilabel
    hard = p >= 0.5
    got = M.multilabel_metrics(y, p)
    assert got["exact_match"] == pytest.approx(np.mean(np.all(hard == (y > 0.5), axis=1)))
    assert got["hamming_accuracy"] == pytest.approx(1 - hamming_loss(y, hard))
    assert got["micro_f1"] == pytest.approx(f1_score(y, hard, average="micro"))
    assert got["macro_f1"] == pytest.approx(f1_score(y, hard, average="macro"))
    assert got["map"] == pytest.approx(average_precision_score(y, p, average="macro"))


def test_map_skips_labels_without_positives(multilabel):
    y, p = multilabel
    y[:, 3] = 0
    keep = [k for k in range(10) if k != 3]
    assert M.mean_average_precision(y, p) == pytest.approx(average_precision_score(y[:, keep], p[:, keep]))


def test_logits_are_refused(multilabel):
    y, p = multilabel
    with pytest.raises(DataError, match="probabilities"):
        M.exact_match(y, p * 5 - 2)


def test_parity_accuracy():
    labels = np.array([0, 1, 2, 3, 4, 5])
    pred = np.array([0, 1, 3, 3, 5, 5])
    got = M.parity_accuracy(labels, pred)
    assert got == {"accuracy": pytest.approx(4 / 6), "acc_even": pytest.approx(1 / 3), "acc_odd": 1.0}


def test_summary_mean_std_and_t_interval():
    values = [0.2, 0.4, 0.3]
    table = pd.DataFrame({"experiment": "mosaic", "variant": "v", "seed": [0, 1, 2], "split": "train",
                          "metric": "final_loss", "value": values})
    row = P.summarise(table).iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert row["mean"] == pytest.approx(0.3) and row["std"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(0.3 - half) and row["ci_high"] == pytest.approx(0.3 + half)
    assert row["n_seeds"] == 3
    assert list(P.summarise(table).columns) == ["experiment", "variant", "split", "metric", "mean", "std", "ci_low",
                                                "ci_high", "n_seeds"]


@pytest.fixture
def scored():
    """Seeded random multi-label scores: continuous (no ties), every sample with one to K-1 true labels, one
    class never predicted positive at 0.5 (the zero-division case)."""
    rng = np.random.default_rng(7)
    y = (rng.random((300, 8)) < 0.35).astype(float)
    y[y.sum(1) == 0, 0] = 1
    y[y.sum(1) == 8, 1] = 0
    p = np.clip(y * 0.3 + rng.random((300, 8)) * 0.7, 0, 1)
    p[:, 5] *= 0.4
    return y, p


def test_ranking_metrics_match_torchmetrics(scored):
    """scikit-learn (what labelbench computes) against torchmetrics' functional multilabel ranking metrics."""
    torch = pytest.importorskip("torch")
    from torchmetrics.functional.classification import (
        multilabel_coverage_error,
        multilabel_ranking_average_precision,
        multilabel_ranking_loss,
    )

    y, p = scored
    got = M.ranking_metrics(y, p)
    preds, target = torch.tensor(p), torch.tensor(y, dtype=torch.long)
    assert got["coverage_error"] == pytest.approx(float(multilabel_coverage_error(preds, target, 8)), rel=1e-6)
    assert got["ranking_loss"] == pytest.approx(float(multilabel_ranking_loss(preds, target, 8)), rel=1e-6)
    assert got["lrap"] == pytest.approx(float(multilabel_ranking_average_precision(preds, target, 8)), rel=1e-6)
    assert 1 <= got["coverage_error"] <= 8 and 0 <= got["ranking_loss"] <= 1
    # a perfect ranking: coverage = the mean number of true labels, no misordered pair, LRAP 1
    perfect = M.ranking_metrics(y, y * 0.5 + 0.25 + p * 0.01)
    assert perfect["coverage_error"] == pytest.approx(y.sum(1).mean())
    assert perfect["ranking_loss"] == 0 and perfect["lrap"] == pytest.approx(1.0)


def test_asl_metrics_match_torchmetrics(scored):
    """CP/CR (macro) and OP/OR/OF1 (micro) against torchmetrics; CF1 is the harmonic mean of CP and CR, which
    differs from the mean of the per-class F1 (macro_f1)."""
    torch = pytest.importorskip("torch")
    from torchmetrics.functional.classification import multilabel_f1_score, multilabel_precision, multilabel_recall

    y, p = scored
    got = M.asl_metrics(y, p, 0.5)
    preds, target = torch.tensor(p), torch.tensor(y, dtype=torch.long)

    def tm(fn, average):
        return float(fn(preds, target, 8, threshold=0.5, average=average, zero_division=0))

    cp, cr = tm(multilabel_precision, "macro"), tm(multilabel_recall, "macro")
    assert got["cp"] == pytest.approx(cp) and got["cr"] == pytest.approx(cr)
    assert got["cf1"] == pytest.approx(2 * cp * cr / (cp + cr))
    assert got["cf1"] != pytest.approx(tm(multilabel_f1_score, "macro"), abs=1e-3)
    assert got["op"] == pytest.approx(tm(multilabel_precision, "micro"))
    assert got["or"] == pytest.approx(tm(multilabel_recall, "micro"))
    assert got["of1"] == pytest.approx(tm(multilabel_f1_score, "micro"))
    # a class never predicted counts precision 0 in CP (zero_division=0)
    assert not (p[:, 5] >= 0.5).any()


def test_multilabel_and_tagging_metrics_carry_the_ranking_and_asl_sets(multilabel):
    y, p = multilabel
    for values in (M.multilabel_metrics(y, p), M.tagging_metrics(y, p)):
        assert set(M.RANKING_METRICS + M.ASL_METRICS) <= set(values)
    from labelbench.experiments import get_experiment

    for name in ("mosaic", "tagging"):
        assert set(M.RANKING_METRICS + M.ASL_METRICS) <= set(get_experiment(name).metrics)


def test_bounds_of_the_ranking_metrics():
    mosaic = get_experiment("mosaic")
    assert mosaic.metric_spec("coverage_error") == M.MetricSpec(1.0, float("inf"), False)
    assert mosaic.metric_spec("ranking_loss").bounds == (0.0, 1.0) and mosaic.metric_spec("lrap").bounds == (0.0, 1.0)
    assert mosaic.metric_spec("cf1").bounds == (0.0, 1.0) and mosaic.metric_spec("or").bounds == (0.0, 1.0)
    assert mosaic.metric_spec("lrap").higher_is_better and not mosaic.metric_spec("ranking_loss").higher_is_better


def test_every_metric_an_experiment_writes_declares_its_range_and_none_is_guessed():
    """Each experiment's metrics have a range where they are computed; a name no one declared is refused, naming
    it, instead of getting a range from its spelling."""
    for name in experiment_names():
        exp = get_experiment(name)
        for metric in (*exp.metrics, *M.RUN_METRICS):
            spec = exp.metric_spec(metric)
            assert spec.low < spec.high, (name, metric)
    with pytest.raises(ConfigError, match=r"experiment mosaic declares no range for metric 'accuracy_by_loss': "
                                          r"declare it next to the code that computes it"):
        get_experiment("mosaic").metric_spec("accuracy_by_loss")
    assert not get_experiment("mosaic").produces("accuracy_by_loss")
    # only the PyTorch trainer counts skipped images; a class named after a user's folder may hold any character
    assert get_experiment("tagging").produces("skipped_images") and not get_experiment("mosaic").produces(
        "skipped_images")
    complementary = get_experiment("complementary")
    assert complementary.metric_spec("accuracy_golden-retriever") == complementary.metric_spec("accuracy_sea lion")
    assert complementary.metric_spec("accuracy_sea lion").bounds == (0.0, 1.0)
    # ROAD: removing the most relevant pixels first should drop the score (lower is better), the least relevant not
    assert not complementary.metric_spec("cam_road_morf_deep_predicted").higher_is_better
    assert complementary.metric_spec("cam_road_lerf_deep_predicted").higher_is_better
    assert not complementary.produces("cam_ratio_deep_true")  # the ratio stays in the study table


def test_an_epoch_number_is_summarised_as_one_at_least_not_as_a_share():
    """best_epoch_by_<criterion> is an epoch (1 up), not a score: before, its interval over seeds ran unbounded
    (an epoch count such as [-25.3, 38.3]); now it is kept at 1 or above."""
    complementary = get_experiment("complementary")
    assert complementary.metric_spec("best_epoch_by_oracle_accuracy") == M.EPOCH
    assert complementary.metric_spec("accuracy_by_scel").bounds == (0.0, 1.0)
    table = pd.DataFrame({"experiment": "complementary", "variant": "ordinary", "seed": [0, 1, 2], "split": "test",
                          "metric": "best_epoch_by_oracle_accuracy", "value": [1.0, 1.0, 12.0]})
    row = P.summarise(table).iloc[0]
    unbounded = stats.t.ppf(0.975, 2) * np.std([1, 1, 12], ddof=1) / np.sqrt(3)
    assert 14 / 3 - unbounded < 1 and row["ci_low"] == 1.0 and row["ci_high"] == pytest.approx(14 / 3 + unbounded)


def test_cam_observations_name_methods_and_faithfulness():
    images = pd.DataFrame({
        "kind": ["faithfulness", "faithfulness", "faithfulness", "localisation"],
        "method": ["gradcam", "gradcam", "hirescam", "gradcam"], "model": "ordinary", "seed": 0,
        "depth": "deep", "target": "predicted", "deletion_auc": [0.2, 0.4, 0.1, np.nan],
        "road_morf": [-0.3, -0.1, -0.2, np.nan], "mass_in_mask": [np.nan, np.nan, np.nan, 0.7]})
    obs = P.cam_observations(images, "complementary").set_index("metric")["value"]
    assert obs["cam_deletion_auc_deep_predicted"] == pytest.approx(0.3)
    assert obs["cam_hirescam_deletion_auc_deep_predicted"] == pytest.approx(0.1)
    assert obs["cam_road_morf_deep_predicted"] == pytest.approx(-0.2)
    assert obs["cam_mass_in_mask_deep_predicted"] == pytest.approx(0.7)
    complementary = get_experiment("complementary")
    for metric in obs.index:
        assert complementary.produces(metric), metric
    assert complementary.metric_spec("cam_road_morf_deep_predicted").bounds == (-1.0, 1.0)
    assert complementary.metric_spec("cam_hirescam_spearman_deep_true").bounds == (-1.0, 1.0)
    assert complementary.metric_spec("cam_deletion_auc_deep_predicted") == M.MetricSpec(0.0, 1.0, False)
