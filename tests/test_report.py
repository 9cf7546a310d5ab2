"""The report's sentences are computed from this run's numbers: they change when the numbers do."""

import pandas as pd

from labelbench.report import findings


def _summary(rows):
    return pd.DataFrame([{"experiment": e, "variant": v, "split": s, "metric": m, "mean": x, "std": 0.0,
                          "ci_low": x, "ci_high": x, "n_seeds": 3} for e, v, s, m, x in rows])


def test_mosaic_and_masked_sentences_follow_the_numbers():
    up = _summary([("mosaic", "bce", "test", "exact_match", 0.21), ("mosaic", "cce", "test", "exact_match", 0.14)])
    down = _summary([("mosaic", "bce", "test", "exact_match", 0.10), ("mosaic", "cce", "test", "exact_match", 0.14)])
    assert "0.210 is above the renormalised" in findings({"mosaic": up})["mosaic"][0]
    assert "0.100 is not above" in findings({"mosaic": down})["mosaic"][0]
    masked = _summary([("masked", "mask_odd", "train", "acc_even", 0.0),
                       ("masked", "mask_odd", "train", "acc_odd", 0.97),
                       ("masked", "no_mask", "train", "acc_even", 0.95)])
    text = findings({"masked": masked})["masked"][0]
    assert "even-digit training accuracy is 0.000 and odd-digit 0.970" in text and "reach 0.950" in text


def test_landmark_pitfall_is_called_identical_or_different_from_the_means():
    rows = []
    for v, kp in (("masked", 4.0), ("rank1_bug", 4.0), ("masked_weighted", 4.0), ("rank1_bug_weighted", 5.5)):
        rows += [("landmark", v, "test", "kp_error_px", kp), ("landmark", v, "test", "presence_acc", 0.9)]
    speed = {"ratio_bug_over_fixed": 1.02, "device": "cpu", "batch": 64, "masked_ms_per_step": 7.0}
    lines = findings({"landmark": _summary(rows)}, speed)["landmark"]
    assert lines[0].startswith("unweighted: rank1_bug and masked give identical results")
    assert "empty images down-weighted: rank1_bug and masked give different results" in lines[1]
    assert "difference of means 1.5, on kp_error_px" in lines[1]
    assert "1.020 times as long" in lines[-1] and "does not hold here" in lines[-1]


def test_complementary_sentences_name_the_best_loss_and_the_drop_to_four_classes():
    s = _summary([("complementary", "ordinary", "test", "accuracy", 0.99),
                  ("complementary", "scl_nl", "test", "accuracy", 0.91),
                  ("complementary", "pc_sigmoid", "test", "accuracy", 0.40),
                  ("complementary", "scl_nl_4class", "test", "accuracy", 0.62)])
    text = " ".join(findings({"complementary": s})["complementary"])
    assert "scl_nl at 0.910, clearly above chance" in text
    assert "pc_sigmoid) reached 0.400" in text and "the claim did not hold" in text
    assert "scl_nl 0.910 -> 0.620" in text
