"""Landmark experiment: the source's worked example, the rank-1 pitfall and when it matters, metrics,
and the user's own CSV format."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labelbench.datasets import embedded
from labelbench.datasets.landmark_csv import landmark_csv
from labelbench.errors import DataError
from labelbench.experiments import get_experiment
from labelbench.metric_kernels import landmark_metrics
from labelbench.targets import landmark_targets

# The source's three samples: [presence, x1, y1, x2, y2]
Y_TRUE = np.array([[1, 0.2, 0.2, 0.4, 0.5], [0, 0, 0, 0, 0], [1, 0.7, 0.8, 0.3, 0.3]], np.float32)
Y_PRED = np.array([[0.9, 0.1, 0.3, 0.5, 0.7], [0.2, 0.7, 0.8, 0.1, 0.2], [0.7, 0.5, 0.8, 0.2, 0.3]], np.float32)


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    from labelbench.keras import losses

    return tf, losses


def test_golden_values_of_the_source_example(K):
    tf, L = K
    yt, yp = tf.constant(Y_TRUE), tf.constant(Y_PRED)
    np.testing.assert_allclose(L.presence_bce(yt, yp), [0.10536, 0.22314, 0.35667], atol=1e-5)
    np.testing.assert_allclose(L.coordinate_mse(yt, yp, masked=False), [0.0175, 0.295, 0.0125], atol=1e-5)
    import keras

    scalar = keras.losses.binary_crossentropy(yt[:, 0], yp[:, 0])  # the source's mistake, verbatim
    assert scalar.shape == () and float(scalar) == pytest.approx(0.228393, abs=1e-5)
    # and our losses, per sample
    np.testing.assert_allclose(L.get_loss("landmark_masked")(yt, yp), [0.12286, 0.22314, 0.36917], atol=1e-5)
    np.testing.assert_allclose(L.get_loss("landmark_rank1_bug")(yt, yp), [0.24589, 0.228393, 0.24089], atol=1e-5)
    np.testing.assert_allclose(L.get_loss("landmark_unmasked")(yt, yp), [0.12286, 0.51814, 0.36917], atol=1e-5)
    # the source's printed total, K.mean(bce + mse), used the unmasked MSE
    assert float(np.mean(L.presence_bce(yt, yp) + L.coordinate_mse(yt, yp, masked=False))) == pytest.approx(
        0.33672634, abs=1e-5)


def test_losses_match_numpy_on_random_batches(K):
    tf, L = K
    rng = np.random.default_rng(0)
    y = rng.random((32, 9)).astype(np.float32)
    y[:, 0] = rng.random(32) < 0.6
    y[y[:, 0] == 0, 1:] = 0
    p = rng.uniform(0.02, 0.98, (32, 9)).astype(np.float32)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    bce = -(y64[:, 0] * np.log(p64[:, 0]) + (1 - y64[:, 0]) * np.log(1 - p64[:, 0]))
    mse = ((y64[:, 1:] - p64[:, 1:]) ** 2).mean(1)
    expect = {
        "landmark_masked": bce + y64[:, 0] * mse,
        "landmark_rank1_bug": bce.mean() + y64[:, 0] * mse,
        "landmark_unmasked": bce + mse,
    }
    for name, want in expect.items():
        np.testing.assert_allclose(L.get_loss(name)(tf.constant(y), tf.constant(p)), want, rtol=1e-4, err_msg=name)


def test_rank_guard_refuses_rank1_inputs_with_a_clear_message(K):
    tf, L = K
    from labelbench.errors import RankError

    loss = L.get_loss("landmark_masked")
    with pytest.raises(RankError, match=r"y_true has shape \(3,\) \(rank 1\); expected rank 2"):
        loss(tf.constant(Y_TRUE[:, 0]), tf.constant(Y_PRED))
    with pytest.raises(RankError, match="y_pred"):
        L.get_loss("bce_sum")(tf.constant(Y_TRUE), tf.constant(Y_PRED[:, 0]))


def _weighted_gradient(tf, L, name, weights):
    """Gradient of Keras's weighted mean loss with respect to the predictions."""
    from keras.src.losses.losses import LossFunctionWrapper  # what compile() wraps a loss function in

    yp = tf.Variable(Y_PRED)
    loss = LossFunctionWrapper(L.get_loss(name))
    with tf.GradientTape() as tape:
        value = loss(tf.constant(Y_TRUE), yp, sample_weight=None if weights is None else tf.constant(weights))
    return float(value), tape.gradient(value, yp).numpy()


def test_rank1_pitfall_is_harmless_unweighted_and_changes_training_weighted(K):
    tf, L = K
    v_fix, g_fix = _weighted_gradient(tf, L, "landmark_masked", None)
    v_bug, g_bug = _weighted_gradient(tf, L, "landmark_rank1_bug", None)
    assert v_fix == pytest.approx(v_bug, abs=1e-6)
    np.testing.assert_allclose(g_fix, g_bug, atol=1e-6)
    w = np.array([1.0, 0.2, 1.0], np.float32)  # empty image down-weighted
    v_fix, g_fix = _weighted_gradient(tf, L, "landmark_masked", w)
    v_bug, g_bug = _weighted_gradient(tf, L, "landmark_rank1_bug", w)
    assert abs(v_fix - v_bug) > 1e-3
    assert np.abs(g_fix[:, 0] - g_bug[:, 0]).max() > 1e-3  # presence gradients differ
    np.testing.assert_allclose(g_fix[:, 1:], g_bug[:, 1:], atol=1e-6)  # coordinate gradients do not


def test_landmark_targets_are_normalised_and_zero_when_empty():
    ds = embedded.shapes_landmarks("triangle", 32, 60, 20, empty_fraction=0.4, seed=1)
    y = landmark_targets(ds)
    present = ds.samples["presence"].to_numpy() > 0
    assert y.shape == (80, 9) and np.array_equal(y[:, 0] > 0, present)
    assert np.all(y[~present, 1:] == 0) and np.all((y[present, 1:] >= 0) & (y[present, 1:] <= 1))
    np.testing.assert_allclose(y[present, 1], ds.samples.loc[present, "kp0_x"] / 32, rtol=1e-6)
    sample_weights = get_experiment("landmark").sample_weights
    w = sample_weights(ds, {"weighting": "empty_down", "empty_weight": 0.1})
    assert set(np.unique(w[~present])) == {np.float32(0.1)} and np.all(w[present] == 1)
    assert sample_weights(ds, {}) is None


def test_landmark_metrics_by_hand():
    presence = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.8])
    kp_true = np.array([[0.5, 0.5], [0.2, 0.2], [0, 0], [0, 0], [0.1, 0.9]])
    kp_pred = np.array([[0.5, 0.6], [0.2, 0.5], [0.3, 0.3], [0.0, 0.0], [0.4, 0.5]])
    m = landmark_metrics(presence, p, kp_true, kp_pred, image_size=64)
    assert m["presence_acc"] == pytest.approx(3 / 5)
    assert m["empty_fpr"] == pytest.approx(1 / 2)
    assert m["presence_auc"] == pytest.approx(5 / 6)  # one (pos 0.4, neg 0.6) pair out of order
    err = np.mean([0.1, 0.3, 0.5])
    assert m["kp_error_norm"] == pytest.approx(err) and m["kp_error_px"] == pytest.approx(err * 64)


# ------------------------------------------------------------------------------------- the user's CSV
@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.jpg"):
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), np.uint8)).save(tmp_path / name)
    return tmp_path


def _write(folder, lines):
    (folder / "landmarks.csv").write_text("\n".join(lines) + "\n")


def test_user_csv_reads_presence_and_keypoints_in_pixels(folder):
    _write(folder, ["image,presence,x1,y1,x2,y2,split", "a.png,1,0.25,0.5,1.0,0.0,train",
                    "b.png,0,,,,,train", "c.jpg,1,0.5,0.5,0.1,0.9,test"])
    ds = landmark_csv(folder, size=16)
    assert ds.images.shape == (3, 16, 16, 3) and ds.task == "landmark"
    assert list(ds.samples["split"]) == ["train", "train", "test"]
    assert ds.samples.loc[0, ["kp0_x", "kp0_y", "kp1_x", "kp1_y"]].tolist() == [4.0, 8.0, 16.0, 0.0]
    np.testing.assert_allclose(landmark_targets(ds)[0], [1, 0.25, 0.5, 1.0, 0.0])
    assert np.all(landmark_targets(ds)[1] == 0)


@pytest.mark.parametrize(
    "lines, message",
    [
        (["image,presence,x1,y1", "a.png,1,0.2"], r"line 2: 3 columns, expected 4"),
        (["image,presence,x1,y1", "a.png,1,0.2,0.3", "zz.png,1,0.1,0.1"], r"line 3: image .*zz.png does not exist"),
        (["image,presence,x1,y1", "a.png,1,1.5,0.3"], r"line 2: x1 = '1.5' is outside \[0, 1\]"),
        (["image,presence,x1,y1", "a.png,1,0.5,"], r"line 2: y1 = '' is outside \[0, 1\]"),
        (["image,presence,x1,y1", "a.png,2,0.5,0.5"], r"line 2: presence '2' must be 0 or 1"),
        (["image,presence,x1", "a.png,1,0.5"], r"line 1: header"),
        (["image,presence,x1,y1,split", "a.png,1,0.5,0.5,val"], r"line 2: split 'val'"),
    ],
)
def test_user_csv_errors_name_the_row(folder, lines, message):
    _write(folder, lines)
    with pytest.raises(DataError, match=message):
        landmark_csv(folder, size=16)


def test_user_csv_unreadable_image_is_named(folder):
    (folder / "bad.png").write_bytes(b"not a png")
    _write(folder, ["image,presence,x1,y1", "bad.png,0,0,0"])
    with pytest.raises(DataError, match=r"cannot read image .*landmarks.csv, line 2"):
        landmark_csv(folder, size=16)


def test_user_csv_builds_through_the_dataset_rule_entry_point(folder, tmp_path):
    from labelbench.datasets.build import build
    from labelbench.datasets.sources import get_source
    from labelbench.datasets.store import load_dataset

    _write(folder, ["image,presence,x1,y1", "a.png,1,0.5,0.5", "b.png,0,0,0", "c.jpg,1,0.1,0.2"])
    spec = {"source": "landmark_csv", "path": str(folder), "size": 16, "test_fraction": 0.34, "seed": 0}
    inputs = get_source("landmark_csv").inputs(spec, "unused")
    out = build("mine", spec, inputs, tmp_path / "out")
    ds = load_dataset(out)
    assert len(ds.images) == 3 and set(ds.samples["split"]) <= {"train", "test"}
    assert isinstance(ds.samples, pd.DataFrame)
