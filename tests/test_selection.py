"""Model selection without true labels: the criteria against independent NumPy, their unbiasedness on drawn
complementary labels, and the trainer's complementary-only path, which must never read a training or validation
image's true label (scrambling them changes nothing but the oracle)."""

import numpy as np
import pandas as pd
import pytest

from labelbench import selection as S
from labelbench.datasets import complementary as C
from labelbench.errors import ConfigError


def _probs(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def _multi_hot(cl, k):
    out = np.zeros((len(cl), k))
    for j in range(cl.shape[1]):
        out[np.arange(len(cl)), cl[:, j]] = 1
    return out


def test_scel_under_uniform_labels_is_scl_nl_plus_log_k_minus_one():
    p = _probs(50, 4, 0)
    cl, q = C.draw(np.arange(50) % 4, 4, "uniform", 1, seed=1)
    expected = np.mean(-np.log(1 - p[np.arange(50), cl[:, 0]])) + np.log(3)
    assert S.scel(p, _multi_hot(cl, 4), q) == pytest.approx(expected, rel=1e-9)
    assert S.scel(p, _multi_hot(cl, 4)) == pytest.approx(expected, rel=1e-9)  # uniform Q by default
    # a biased Q: the CE of the complementary label under pᵀQ, written as a loop
    _, biased = C.draw(np.zeros(3, int), 4, "biased", 1, seed=2)
    loop = np.mean([-np.log(sum(p[i, y] * biased[y, cl[i, 0]] for y in range(4))) for i in range(50)])
    assert S.scel(p, _multi_hot(cl, 4), biased) == pytest.approx(loop, rel=1e-9)


@pytest.mark.parametrize("method, num_cl", [("uniform", 1), ("biased", 1), ("uniform", 2), ("uniform", 3)])
def test_the_complementary_ure_estimates_the_error_rate_without_true_labels(method, num_cl):
    """Ishida et al.'s estimator with the 0-1 loss: its mean over drawn complementary labels is the error rate."""
    n, k = 120_000, 5
    rng = np.random.default_rng(3)
    labels = rng.integers(0, k, n)
    p = _probs(n, k, 4)
    p[np.arange(n), labels] += 0.8 * rng.random(n)  # a model that is right about half the time
    p /= p.sum(1, keepdims=True)
    cl, q = C.draw(labels, k, method, num_cl, seed=5)
    error = 1 - S.oracle_accuracy(p, labels)
    assert 0.3 < error < 0.7
    assert S.ure_zero_one(p, _multi_hot(cl, k), q) == pytest.approx(error, abs=0.012)


def test_the_uniform_ure_is_k_minus_one_times_the_share_predicted_as_a_complementary_label():
    p = _probs(40, 3, 6)
    cl, _ = C.draw(np.arange(40) % 3, 3, "uniform", 1, seed=7)
    share = np.mean(p.argmax(1) == cl[:, 0])
    assert S.ure_zero_one(p, _multi_hot(cl, 3)) == pytest.approx(2 * share)


def test_criteria_directions_ties_and_nan():
    assert S.better("scel", 0.4, 0.5) and not S.better("scel", 0.5, 0.5) and S.better("scel", 3.0, None)
    assert S.better("oracle_accuracy", 0.8, 0.7) and not S.better("oracle_accuracy", 0.7, 0.7)
    assert not S.better("ure", float("nan"), None)
    values = S.criterion_values(["loss", "scel", "oracle_accuracy"], _probs(6, 3, 0), np.eye(3)[[0, 1, 2] * 2],
                                labels=np.array([1, 2, 0, 1, 2, 0]))
    assert set(values) == {"val_scel", "val_oracle_accuracy"}
    with pytest.raises(ValueError, match="unknown selection criterion 'f1'"):
        S.criterion_values(["f1"], _probs(2, 3, 0))


@pytest.mark.parametrize("selection, recorded, fraction, message", [
    ("accuracy", (), 0.1, "'accuracy' is not a selection criterion; expected one of ['loss', 'scel', 'ure', "),
    ("scel", (), 0.1, "'scel' needs what this experiment's validation images do not carry; expected one of "
                      "['loss']"),
    ("ure", ("loss", "scel", "ure"), 0.0, "'ure' is computed on validation images, but "
                                         "training.validation_fraction is 0"),
])
def test_a_selection_the_experiment_cannot_compute_is_refused(selection, recorded, fraction, message):
    with pytest.raises(ConfigError) as err:
        S.check_selection("experiments.x.training.selection", selection, recorded, fraction)
    assert str(err.value).startswith("experiments.x.training.selection: ") and message in str(err.value)
    S.check_selection("k", "loss", (), 0.0)  # the loss needs nothing


# ------------------------------------------------------------------------------------------ the trainer
@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    """One small dataset with complementary labels, and a copy whose training images' true labels (validation
    images are drawn from them) are scrambled; images, complementary labels and test labels are the same."""
    from labelbench.datasets import embedded
    from labelbench.datasets.store import write_dataset

    ds = embedded.shapes(["circle", "triangle", "star"], 16, 40, 10, seed=0)
    ds.samples, q = C.add_to(ds.samples, ds.samples["label"].to_numpy(), 3, "uniform", 1, 0)
    ds.meta = {**ds.meta, "complementary": {"method": "uniform", "num_cl": 1, "seed": 0, "transition": q}}
    root = tmp_path_factory.mktemp("selection")
    write_dataset(root / "true", ds, source="shapes", params={}, inputs={})
    train = np.flatnonzero(ds.samples["split"].to_numpy() == "train")
    scrambled = ds.samples.copy()
    scrambled.loc[train, "label"] = np.random.default_rng(9).permutation(scrambled.loc[train, "label"].to_numpy())
    ds.samples = scrambled
    write_dataset(root / "scrambled", ds, source="shapes", params={}, inputs={})
    return root


RUN = dict(experiment="complementary", variant="scl_nl", seed=1,
           model_spec={"name": "mini_xception", "width": 0.125, "middle_blocks": 1},
           training={"optimizer": "adam", "learning_rate": 0.003, "amsgrad": True, "batch_size": 16, "epochs": 4,
                     "validation_fraction": 0.25, "patience": 2},
           variant_spec={"loss": "scl_nl"}, threads=1)


def _outputs(d):
    from labelbench.runs import RunOutputs

    return RunOutputs(model=str(d / "model.keras"), history=str(d / "history.csv"),
                      predictions=str(d / "predictions.parquet"), checkpoint_dir=str(d / "ckpt"))


def _train(dataset_dir, out, **changes):
    pytest.importorskip("tensorflow")
    from labelbench.keras import train as T

    T.train_run(str(dataset_dir), _outputs(out), **{**RUN, **changes})
    return pd.read_csv(out / "history.csv"), pd.read_parquet(out / "predictions.parquet")


def test_the_complementary_only_path_never_reads_true_training_or_validation_labels(data_dirs, tmp_path):
    """Same run on the dataset and on its copy with scrambled training labels: every history column and every
    prediction the complementary-only criteria lead to are identical; only the oracle's differ."""
    hist_a, pred_a = _train(data_dirs / "true", tmp_path / "a")
    hist_b, pred_b = _train(data_dirs / "scrambled", tmp_path / "b")
    oracle = [c for c in pred_a if c.startswith("sel_oracle_accuracy__")]
    assert {"val_scel", "val_ure", "val_oracle_accuracy"} <= set(hist_a)
    pd.testing.assert_frame_equal(hist_a.drop(columns="val_oracle_accuracy"),
                                  hist_b.drop(columns="val_oracle_accuracy"))
    same = [c for c in pred_a if c not in ("label", *oracle)]
    pd.testing.assert_frame_equal(pred_a[same], pred_b[same])
    assert S.selected_column("scel", "circle") in same and S.selected_column("ure", "epoch") in same
    # the scrambling was real: the stored true labels of train and val differ, the oracle saw them
    part = pred_a["split"].isin(["train", "val"])
    assert (pred_a.loc[part, "label"] != pred_b.loc[part, "label"]).any()
    assert (pred_a.loc[~part, "label"] == pred_b.loc[~part, "label"]).all()
    assert not np.allclose(hist_a["val_oracle_accuracy"], hist_b["val_oracle_accuracy"])


def test_every_criterion_keeps_its_own_best_epoch_and_the_run_stops_on_the_configured_one(data_dirs, tmp_path):
    from labelbench.experiments import get_experiment
    from labelbench.metrics import evaluate_predictions

    hist, pred = _train(data_dirs / "true", tmp_path / "run", training={**RUN["training"], "epochs": 6})
    test = pred[pred["split"] == "test"]
    for criterion, (col, mode) in S.CRITERIA.items():
        values = hist[col].to_numpy()
        best = int(hist["epoch"].iloc[values.argmin() if mode == "min" else values.argmax()])
        assert (test[S.selected_column(criterion, "epoch")] == best).all(), criterion
    assert pred.loc[pred["split"] != "test", S.selected_column("scel", "epoch")].isna().all()
    # early stopping followed SCEL (the experiment's default): it stopped `patience` epochs after SCEL's best
    scel_best = int(test[S.selected_column("scel", "epoch")].iloc[0])
    assert len(hist) == min(6, scel_best + 2)
    # the kept model is SCEL's best epoch: its test outputs are that criterion's
    probs = [c for c in pred if c.startswith("p_")]
    np.testing.assert_array_equal(test[probs].to_numpy(),
                                  test[[S.selected_column("scel", c[2:]) for c in probs]].to_numpy())
    metrics = evaluate_predictions(pred, history=hist)
    exp = get_experiment("complementary")
    got = set(metrics.loc[metrics["split"] == "test", "metric"])
    assert {f"accuracy_by_{c}" for c in exp.selection_criteria} <= got
    assert {f"best_epoch_by_{c}" for c in exp.selection_criteria} <= got


@pytest.mark.parametrize("weighted", [False, True])
def test_the_validation_loss_from_one_prediction_is_keras_own_validation_loss(weighted):
    """labelbench.keras.train.validation_loss on the outputs of one prediction equals what Keras's own validation
    pass (``Model.evaluate``, as ``fit(validation_data=...)`` runs it) reports, for a loss computed over the whole
    batch (URE with gradient ascent's per-class risks) and a last batch that is not full."""
    pytest.importorskip("tensorflow")
    from labelbench.keras.data import make_dataset, predict
    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model
    from labelbench.keras.train import validation_loss

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (50, 8, 8, 1), dtype=np.uint8)
    targets = _multi_hot(rng.integers(0, 4, (50, 1)), 4).astype(np.float32)
    weights = rng.uniform(0.2, 2.0, 50).astype(np.float32) if weighted else None
    model = build_model("mlp", images.shape[1:], 4, hidden=16)
    model.compile(optimizer="adam", loss=get_loss("ure_ga"))
    keras_loss = model.evaluate(make_dataset(images, targets, 16, weights=weights), verbose=0)
    ours = validation_loss(model, predict(model, images, 16), targets, weights, 16)
    assert ours == pytest.approx(keras_loss, rel=1e-5)
    # the batches matter for this loss: one batch of all 50 gives another value
    assert validation_loss(model, predict(model, images, 16), targets, weights, 50) != pytest.approx(ours, rel=1e-4)


def test_a_run_predicts_its_validation_images_once_an_epoch(data_dirs, tmp_path, monkeypatch):
    """The criteria and ``val_loss`` come from one prediction of the validation images an epoch; Keras's own
    validation pass (``Model.evaluate``) never runs."""
    pytest.importorskip("tensorflow")
    import keras

    from labelbench.keras import data as KD

    predicted, evaluated = [], []
    real_predict, real_evaluate = KD.predict, keras.Model.evaluate
    monkeypatch.setattr(KD, "predict", lambda model, images, bs: predicted.append(images.tobytes())
                        or real_predict(model, images, bs))
    monkeypatch.setattr(keras.Model, "evaluate", lambda self, *a, **k: evaluated.append(1)
                        or real_evaluate(self, *a, **k))
    hist, pred = _train(data_dirs / "true", tmp_path / "run", training={**RUN["training"], "patience": None})
    assert len(hist) == 4 and np.isfinite(hist["val_loss"]).all() and not evaluated
    # the first images predicted are the validation images (epoch 1): once an epoch, then once more for the
    # written predictions of the kept model
    assert predicted.count(predicted[0]) == len(hist) + 1


def test_a_run_killed_after_an_epoch_resumes_to_the_same_selection(data_dirs, tmp_path, monkeypatch):
    from labelbench.keras import train as T

    hist_a, pred_a = _train(data_dirs / "true", tmp_path / "whole", training={**RUN["training"], "selection": "ure"})
    real_save = T._save_checkpoint

    def save_then_die(model, ckpt, epoch, history, identity):
        real_save(model, ckpt, epoch, history, identity)
        if epoch == 2:
            raise KeyboardInterrupt("killed after epoch 2")

    monkeypatch.setattr(T, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        _train(data_dirs / "true", tmp_path / "broken", training={**RUN["training"], "selection": "ure"})
    monkeypatch.setattr(T, "_save_checkpoint", real_save)
    hist_b, pred_b = _train(data_dirs / "true", tmp_path / "broken", training={**RUN["training"], "selection": "ure"})
    pd.testing.assert_frame_equal(hist_a, hist_b)
    pd.testing.assert_frame_equal(pred_a, pred_b)


def test_the_trainer_refuses_a_complementary_criterion_on_data_without_complementary_labels(tmp_path):
    pytest.importorskip("tensorflow")
    from labelbench.datasets import embedded
    from labelbench.datasets.store import write_dataset
    from labelbench.keras import train as T

    write_dataset(tmp_path / "plain", embedded.shapes(["circle", "star"], 16, 10, 4, seed=0), source="shapes",
                  params={}, inputs={})
    with pytest.raises(ConfigError, match=r"complementary/ordinary: training.selection 'scel' reads the validation "
                                          r"images' complementary labels, but its dataset has none"):
        T.train_run(str(tmp_path / "plain"), _outputs(tmp_path / "run"),
                    **{**RUN, "variant": "ordinary", "variant_spec": {"loss": "cce"}})
    # selecting on the loss, as the refusal advises, trains: the complementary criteria are NaN, not a divergence
    hist, _ = _train(tmp_path / "plain", tmp_path / "loss", variant="ordinary", variant_spec={"loss": "cce"},
                     training={**RUN["training"], "selection": "loss", "patience": None, "epochs": 2})
    assert len(hist) == 2 and not hist["diverged"].any() and np.isfinite(hist["val_loss"]).all()
    assert hist["val_scel"].isna().all() and hist["val_ure"].isna().all()
    assert np.isfinite(hist["val_oracle_accuracy"]).all()
