"""Evaluation metrics against scikit-learn and NumPy, and the summary over seeds."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from labelbench import metrics as M
from labelbench.errors import DataError


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
    table = pd.DataFrame({"experiment": "e", "variant": "v", "seed": [0, 1, 2], "split": "test", "metric": "m",
                          "value": values})
    row = M.summarise(table).iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert row["mean"] == pytest.approx(0.3) and row["std"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(0.3 - half) and row["ci_high"] == pytest.approx(0.3 + half)
    assert row["n_seeds"] == 3
    assert list(M.summarise(table).columns) == ["experiment", "variant", "split", "metric", "mean", "std", "ci_low",
                                                "ci_high", "n_seeds"]
