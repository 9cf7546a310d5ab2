"""Keras side: losses against NumPy, the masked loss's zero gradient, models, resume and NaN handling.

Backend-neutral: it runs on the backend ``KERAS_BACKEND`` names (tensorflow when unset), in this process; and
tests/test_backends.py runs it again on JAX (all of it) and on torch (models, losses, one training run), each in a
process of its own, since a process holds one Keras backend.
"""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import assert_rerun_at_another_setting_equals_a_clean_run

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
pytest.importorskip(BACKEND)

import keras  # noqa: E402
from keras import ops  # noqa: E402

from labelbench.datasets import embedded, mosaic  # noqa: E402
from labelbench.datasets.store import write_dataset  # noqa: E402
from labelbench.errors import TrainingDiverged  # noqa: E402
from labelbench.keras import train as T  # noqa: E402
from labelbench.keras.grad import gradients, to_numpy  # noqa: E402
from labelbench.keras.losses import LOSSES, get_loss  # noqa: E402
from labelbench.keras.models import MODELS, build_model  # noqa: E402

EPS = 1e-7


@pytest.fixture
def probs():
    rng = np.random.default_rng(0)
    y = (rng.random((16, 10)) < 0.4).astype(np.float32)
    p = rng.uniform(0.02, 0.98, (16, 10)).astype(np.float32)
    return y, p


def _np_bce(y, p):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)


NUMPY_REFERENCE = {
    "bce_sum": _np_bce,
    "cce_renorm": lambda y, p: -(y * np.log(p / p.sum(-1, keepdims=True))).sum(-1),
    "mse": lambda y, p: ((y - p) ** 2).mean(-1),
    "focal": lambda y, p: -(y * (1 - p) ** 2 * np.log(p) + (1 - y) * p**2 * np.log(1 - p)).sum(-1),
    "asl": lambda y, p: -(
        y * np.log(p) + (1 - y) * np.maximum(p - 0.05, 0) ** 4 * np.log(1 - np.maximum(p - 0.05, 0))
    ).sum(-1),
    "cce": lambda y, p: -(y * np.log(p)).sum(-1),
}


@pytest.mark.parametrize("name", sorted(NUMPY_REFERENCE))
def test_loss_matches_numpy(name, probs):
    y, p = probs
    got = to_numpy(get_loss(name)(ops.convert_to_tensor(y), ops.convert_to_tensor(p)))
    np.testing.assert_allclose(got, NUMPY_REFERENCE[name](y.astype(np.float64), p.astype(np.float64)), rtol=1e-4)


def _np_grouped_cce(y, p, groups):
    z, total, start = np.log(p / (1 - p)), 0.0, 0
    for size in groups:
        zg = z[:, start:start + size]
        log_softmax = zg - np.log(np.exp(zg).sum(-1, keepdims=True))
        total = total - (y[:, start:start + size] * log_softmax).sum(-1)
        start += size
    return total


@pytest.mark.parametrize("groups", [None, [4, 4, 2], [3, 7]])
def test_grouped_cce_is_a_softmax_ce_per_group_of_the_sigmoids_logits(groups, probs):
    rng = np.random.default_rng(2)
    _, p = probs
    sizes = groups or [p.shape[1]]
    y = np.concatenate([np.eye(k, dtype=np.float32)[rng.integers(0, k, len(p))] for k in sizes], axis=1)
    got = to_numpy(get_loss("grouped_cce", groups=groups)(ops.convert_to_tensor(y), ops.convert_to_tensor(p)))
    np.testing.assert_allclose(got, _np_grouped_cce(y.astype(np.float64), p.astype(np.float64), sizes), rtol=1e-4)


def test_renormalised_cce_cannot_go_below_4_ln_4_on_4_hot_targets():
    y = np.zeros((1, 10), np.float32)
    y[0, :4] = 1
    best = np.where(y > 0, 0.999, 0.001).astype(np.float32)
    assert float(to_numpy(get_loss("cce_renorm")(ops.convert_to_tensor(y), ops.convert_to_tensor(best)))[0]) >= (
        4 * np.log(4) - 1e-3)


def test_keras3_categorical_ce_reads_the_sigmoids_logits_on_tensorflow_only():
    """The cce_keras3 pitfall: on a sigmoid output Keras 3 on TensorFlow computes softmax CE on the logits (the
    sigmoid's output tensor carries them, ``_keras_logits``); JAX and torch tensors carry no such attribute, so
    there the same call renormalises the sigmoids, Keras 2's meaning (cce_renorm)."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(4, activation="sigmoid")
    model = keras.Model(inputs, dense(inputs))
    x = np.array([[0.5, -1.0, 2.0]], np.float32)
    y = np.array([[1, 0, 1, 0]], np.float32)
    logits = x @ to_numpy(dense.kernel) + to_numpy(dense.bias)
    softmax_ce = -(y * (logits - np.log(np.exp(logits).sum()))).sum()
    sig = 1 / (1 + np.exp(-logits))
    renorm_ce = -(y * np.log(sig / sig.sum())).sum()
    out = model(ops.convert_to_tensor(x))
    got = float(to_numpy(get_loss("cce_keras3")(ops.convert_to_tensor(y), out))[0])
    expected, other = (softmax_ce, renorm_ce) if BACKEND == "tensorflow" else (renorm_ce, softmax_ce)
    assert got == pytest.approx(expected, rel=1e-4)
    assert abs(got - other) > 1e-3


def test_masked_loss_gives_exactly_zero_gradient_for_masked_rows():
    model = build_model("mlp", (8, 8, 1), 10)
    rng = np.random.default_rng(1)
    x = rng.random((6, 8, 8, 1)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5])
    y = ops.convert_to_tensor(np.c_[np.eye(10)[labels], labels % 2].astype(np.float32))
    loss = get_loss("masked_cce")
    per_sample = to_numpy(loss(y, model(ops.convert_to_tensor(x))))
    grad = to_numpy(gradients(lambda v: ops.sum(loss(y, model(v))), [x])[0])
    even = labels % 2 == 0
    assert np.all(per_sample[even] == 0)
    assert np.all(grad[even] == 0) and np.abs(grad[~even]).sum() > 0


def test_keras3_accepts_a_target_wider_than_the_output():
    model = build_model("mlp", (8, 8, 1), 10)
    model.compile("adam", loss=get_loss("masked_cce"))
    x = np.random.default_rng(0).random((32, 8, 8, 1)).astype(np.float32)
    y = np.c_[np.eye(10)[np.arange(32) % 10], np.arange(32) % 2].astype(np.float32)
    hist = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_with_probabilities_and_gradients(name):
    size = 72 if name == "xception" else 16  # keras.applications.Xception needs at least 71×71
    model = build_model(name, (size, size, 3), 5, **({"width": 0.125} if name == "vgg13" else {}))
    x = ops.convert_to_tensor(np.random.default_rng(0).random((2, size, size, 3)).astype(np.float32))
    out = to_numpy(model(x, training=True))
    assert out.shape == (2, 5) and np.all((out >= 0) & (out <= 1))
    frozen = [v.value for v in model.non_trainable_variables]

    def total(*weights):  # the weights as arguments, so every backend can differentiate
        return ops.sum(model.stateless_call(list(weights), frozen, x, training=True)[0])

    grads = gradients(total, [v.value for v in model.trainable_variables], jit=True)
    assert len(grads) == len(model.trainable_variables) > 0
    assert all(g is not None and np.isfinite(to_numpy(g)).all() for g in grads)


def test_every_registered_loss_is_tested_against_numpy():
    separately = {"cce_keras3", "masked_cce", "grouped_cce"}  # above
    separately |= {"landmark_masked", "landmark_rank1_bug", "landmark_unmasked"}  # test_landmark.py
    separately |= {"pc_sigmoid", "scl_nl", "ure", "ure_nn", "fwd"}  # test_complementary.py
    separately |= {"scl_exp", "ure_ga", "dm", "mcl"}  # test_complementary.py, from their papers
    assert set(LOSSES) - set(NUMPY_REFERENCE) <= separately


# ----------------------------------------------------------------------------------- training runs
@pytest.fixture(scope="module")
def mosaic_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mosaic")
    tiles = embedded.shapes(list(embedded.S.SHAPES), 8, 12, 4, seed=0)
    write_dataset(d, mosaic.from_tiles(tiles, 96, 32, seed=0), source="mosaic", params={}, inputs={})
    return d


RUN = dict(experiment="mosaic", variant="bce", seed=3, model_spec={"name": "vgg13", "width": 0.125},
           training={"optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, "epochs": 3},
           variant_spec={"loss": "bce_sum"}, threads=2)


def _outputs(d):
    return T.RunOutputs(model=str(d / "model.keras"), history=str(d / "history.csv"),
                        predictions=str(d / "predictions.parquet"), checkpoint_dir=str(d / "ckpt"))


def _kill_after_epoch_1(monkeypatch, dataset_dir, out, run):
    """Train ``run`` into ``out`` and kill it (KeyboardInterrupt) once its first epoch's checkpoint is written."""
    real_save = T._save_checkpoint

    def save_then_die(model, ckpt, epoch, history, identity):
        real_save(model, ckpt, epoch, history, identity)
        if epoch == 1:
            raise KeyboardInterrupt("killed after epoch 1")

    monkeypatch.setattr(T, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        T.train_run(str(dataset_dir), _outputs(out), **run)
    monkeypatch.setattr(T, "_save_checkpoint", real_save)
    assert not (out / "predictions.parquet").exists() and (out / "ckpt/state.json").is_file()


@pytest.mark.parametrize("augment", [None, {"hflip": True, "vflip": True, "rotation": 30, "shift": 0.1}])
def test_a_run_killed_after_an_epoch_resumes_to_the_same_result(mosaic_dir, tmp_path, monkeypatch, caplog, augment):
    run = {**RUN, "training": {**RUN["training"], "augment": augment}}
    whole = tmp_path / "whole"
    T.train_run(str(mosaic_dir), _outputs(whole), **run)

    broken = tmp_path / "broken"
    _kill_after_epoch_1(monkeypatch, mosaic_dir, broken, run)
    keras.random.uniform((3,))  # global random state moved on: the resumed epochs must not depend on it
    with caplog.at_level(logging.INFO, "labelbench"):
        T.train_run(str(mosaic_dir), _outputs(broken), **run)
    assert f"resuming from {broken / 'ckpt'} after epoch 1" in caplog.text and "afresh" not in caplog.text

    a, b = pd.read_parquet(whole / "predictions.parquet"), pd.read_parquet(broken / "predictions.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # bit for bit, on every backend (README, "Keras backends")
    ha, hb = pd.read_csv(whole / "history.csv"), pd.read_csv(broken / "history.csv")
    pd.testing.assert_frame_equal(ha, hb, check_exact=True)
    assert not (broken / "ckpt").exists()


def test_a_rerun_with_another_learning_rate_starts_afresh_and_equals_a_clean_run(mosaic_dir, tmp_path, monkeypatch,
                                                                                   caplog):
    """Killed after its first epoch's checkpoint, then rerun at another learning rate: the checkpoint is not
    resumed (no epoch of the old setting in the history), and the run equals one made at the new setting alone."""
    assert_rerun_at_another_setting_equals_a_clean_run(
        T.train_run, lambda out, run: _kill_after_epoch_1(monkeypatch, mosaic_dir, out, run), _outputs, mosaic_dir,
        tmp_path, RUN, caplog)


def test_a_checkpoint_without_identity_is_not_resumed(mosaic_dir, tmp_path, monkeypatch, caplog):
    """A checkpoint written before checkpoints recorded their run (state.json without ``identity``) is stale."""
    run = {**RUN, "training": {**RUN["training"], "epochs": 2}}
    _kill_after_epoch_1(monkeypatch, mosaic_dir, tmp_path, run)
    state = json.loads((tmp_path / "ckpt/state.json").read_text())
    del state["identity"]
    (tmp_path / "ckpt/state.json").write_text(json.dumps(state))
    with caplog.at_level(logging.INFO, "labelbench"):
        assert T.train_run(str(mosaic_dir), _outputs(tmp_path), **run)["epochs"] == 2
    assert (f"checkpoint {tmp_path / 'ckpt'} records no run identity (an older format): starting afresh"
            in caplog.text)
    assert "resuming from" not in caplog.text


def test_a_seed_repeats_its_run_exactly(mosaic_dir, tmp_path):
    """Same config and seed twice in one process: identical history (every loss and metric, every epoch) and
    predictions, bit for bit, augmentation included; another seed differs."""
    run = {**RUN, "training": {**RUN["training"], "epochs": 2, "augment": {"hflip": True, "rotation": 30}}}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        T.train_run(str(mosaic_dir), _outputs(tmp_path / name), **{**run, "seed": seed})
    a, b, c = (pd.read_parquet(tmp_path / n / "predictions.parquet") for n in "abc")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a/history.csv"), pd.read_csv(tmp_path / "b/history.csv"),
                                  check_exact=True)
    assert not np.array_equal(a.filter(like="p_").to_numpy(), c.filter(like="p_").to_numpy())
    assert pd.read_csv(tmp_path / "a/history.csv")["backend"].unique().tolist() == [BACKEND]


def test_augmentation_draws_depend_only_on_their_seed_and_batch():
    """Batch i's draws are a function of (seed, i): asked for out of order or twice, it is the same batch (Keras
    asks for the first batches twice on TensorFlow); the global random state does not enter."""
    from labelbench.keras.data import make_dataset

    x = np.random.default_rng(0).integers(0, 256, (70, 16, 16, 3), dtype=np.uint8)
    augment = T.augmenter({"hflip": True, "vflip": True, "rotation": 90, "shift": 0.1}, 0)

    def batches(seed):
        return make_dataset(x, np.zeros((70, 1), np.float32), 32, shuffle_seed=seed, augment=augment,
                            augment_seed=seed)

    first = np.concatenate([b[0] for b in batches(5)])
    keras.random.uniform((3,))
    again = batches(5)
    assert np.array_equal(again[2][0], first[64:]) and np.array_equal(again[0][0], first[:32])
    assert np.array_equal(again[0][0], again[0][0])
    assert not np.array_equal(first, np.concatenate([b[0] for b in batches(6)]))
    unaugmented = np.concatenate([b[0] for b in make_dataset(x, None, 32, shuffle_seed=5)])
    assert not np.array_equal(first, unaugmented)  # really augmented
    assert first.dtype == np.float32 and 0 <= first.min() and first.max() <= 1


def test_training_batches_have_one_shape_and_predictions_cover_every_image():
    from labelbench.keras.data import make_dataset, predict

    x = np.random.default_rng(1).integers(0, 256, (70, 8, 8, 3), dtype=np.uint8)
    batches = list(make_dataset(x, np.arange(70, dtype=np.float32)[:, None], 32, shuffle_seed=0, drop_remainder=True))
    assert [len(b[0]) for b in batches] == [32, 32]  # the 6 left over sit out this epoch
    order = np.random.default_rng(0).permutation(70)  # the epoch's order: the one the tf.data pipeline drew
    assert np.array_equal(np.concatenate([b[1][:, 0] for b in batches]), order[:64])
    np.testing.assert_array_equal(batches[0][0], x[order[:32]].astype(np.float32) / np.float32(255))
    model = build_model("mlp", (8, 8, 3), 4, hidden=5)
    expected = model.predict(x.astype(np.float32) / 255, verbose=0)
    got = predict(model, x, 32)  # 2 full batches and 6 images padded to a third
    assert got.shape == (70, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict(model, x[:5], 32), expected[:5], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(BACKEND == "torch", reason="Keras on torch runs the train step eagerly: nothing is traced")
@pytest.mark.parametrize("prebuild", [False, True])
def test_built_state_lets_the_train_step_trace_once(prebuild):
    """Keras on TensorFlow builds the optimizer and metric variables inside the first trace, and TensorFlow then
    traces the step again without variable creation; ``build_state`` creates them first, so the step is traced
    once. On JAX, Keras builds them before compiling anyway: one trace either way."""
    from labelbench.keras.data import make_dataset
    from labelbench.keras.metrics import TRAINING_METRICS

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    y = (rng.random((64, 10)) < 0.4).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = build_model("vgg13", (16, 16, 3), 10, width=0.125)
    metrics = [TRAINING_METRICS[m] for m in ("exact_match", "hamming_accuracy")]
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss=get_loss("bce_sum"), metrics=metrics)
    data = make_dataset(x, y, 32, shuffle_seed=0, drop_remainder=True)
    if prebuild:
        T.build_state(model, data)
        assert model.optimizer.built and len(model.optimizer.variables) > 1
    traces = []
    step = model.train_step
    model.train_step = lambda *args: traces.append(1) or step(*args)  # runs in Python only while tracing
    model.fit(data, epochs=2, verbose=0, shuffle=False)
    assert len(traces) == (1 if prebuild or BACKEND == "jax" else 2)


def test_keras_is_imported_without_sklearn_and_matplotlib_which_stay_importable():
    code = (
        "import sys, labelbench.keras\n"
        "print(sorted(m for m in ('keras', 'sklearn', 'matplotlib') if m in sys.modules))\n"
        "import sklearn.metrics, matplotlib.pyplot\n"
        "print(sklearn.metrics.f1_score([0, 1], [0, 1]), matplotlib.pyplot.figure().number)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split("\n")[:2] == ["['keras']", "1.0 1"]


@pytest.fixture
def nan_loss(monkeypatch):
    """A loss that is NaN from the first batch, to exercise the guard."""

    def factory():
        return lambda y_true, y_pred: ops.sum(y_pred, -1) * np.float32(np.nan)

    monkeypatch.setitem(LOSSES, "nan_loss", factory)
    return "nan_loss"


def test_nan_loss_fails_the_job_without_finished_outputs(mosaic_dir, tmp_path, nan_loss):
    run = {**RUN, "variant_spec": {"loss": nan_loss}}
    with pytest.raises(TrainingDiverged, match="non-finite"):
        T.train_run(str(mosaic_dir), _outputs(tmp_path), **run)
    assert not any((tmp_path / n).exists() for n in ("model.keras", "history.csv", "predictions.parquet"))


def test_nan_loss_is_recorded_when_divergence_is_the_finding(mosaic_dir, tmp_path, nan_loss):
    run = {**RUN, "variant_spec": {"loss": nan_loss, "on_nan": "record"}}
    result = T.train_run(str(mosaic_dir), _outputs(tmp_path), **run)
    assert result["diverged"]
    hist = pd.read_csv(tmp_path / "history.csv")
    assert hist["diverged"].iloc[-1]
    preds = pd.read_parquet(tmp_path / "predictions.parquet")
    assert np.isfinite(preds.filter(like="p_").to_numpy()).all() and preds["diverged"].all()


def test_the_epoch_benchmark_sizes_each_experiment_as_its_config_trains_it():
    """benchmarks/keras_epoch.py: the input shapes and image counts it derives from the paper config, then one real
    run of it on the smoke config (the numbers it prints are timings; only their presence is checked)."""
    import importlib.util
    import json
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("keras_epoch", root / "benchmarks" / "keras_epoch.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    paper = yaml.safe_load((root / "configs" / "paper.yaml").read_text())["datasets"]
    assert bench.dataset_size(paper, "mosaic_cifar10") == ((64, 64, 3), 50_000, 10)
    assert bench.dataset_size(paper, "mnist") == ((28, 28, 1), 60_000, 10)
    # airplanes capped at 200, watch 239, Leopards 200; a fifth of each held out for test: 160 + 191 + 160
    assert bench.dataset_size(paper, "caltech3") == ((299, 299, 3), 511, 3)
    assert bench.dataset_size(paper, "caltech4") == ((299, 299, 3), 671, 4)
    assert bench.dataset_size(paper, "shapes_landmarks") == ((96, 96, 3), 20_000, 9)

    command = [sys.executable, str(root / "benchmarks" / "keras_epoch.py"), str(root / "configs" / "smoke.yaml"),
               "--experiments", "masked", "--epochs", "2", "--steps", "3", "--backends", BACKEND]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(out.stdout.strip().splitlines()[-1])["rows"]
    assert [(r["experiment"], list(r["results"])) for r in rows] == [("masked", [BACKEND])]
    result = rows[0]["results"][BACKEND]
    assert "error" not in result, result
    smoke = yaml.safe_load((root / "configs" / "smoke.yaml").read_text())
    digits = smoke["datasets"][smoke["experiments"]["masked"]["dataset"]]
    side = digits.get("size", 28)
    n_train = round(1797 * (1 - digits.get("test_fraction", 0.25)))
    batch = smoke["experiments"]["masked"]["training"]["batch_size"]
    assert result["input"] == [side, side, 1] and result["steps_per_epoch"] == n_train // batch
    assert (result["timed_steps"], result["extrapolated"]) == (3, True)  # 3 of 10 steps, and the table says so
    assert "3 of 10 steps timed, epoch extrapolated" in out.stdout
    assert result["model"] == "mlp" and result["epoch_s"] > 0 and result["backend"] == BACKEND
