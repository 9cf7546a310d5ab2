"""Tagging (PyTorch): the NUS-WIDE loader on awkward files, losses against NumPy, metrics against torchmetrics,
threshold tuning, models, and a resumed run that ends where an uninterrupted one does."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from conftest import assert_rerun_at_another_setting_equals_a_clean_run

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from labelbench.datasets import embedded  # noqa: E402
from labelbench.errors import ConfigError, DataError  # noqa: E402
from labelbench.metric_kernels import tagging_metrics, tune_thresholds  # noqa: E402
from labelbench.pytorch import data as D  # noqa: E402
from labelbench.pytorch.losses import LOSSES, get_loss  # noqa: E402
from labelbench.pytorch.models import build_model, resolve_layer  # noqa: E402

LABELS = ["sky", "tree", "water"]


@pytest.fixture
def awkward_folder(tmp_path):
    """A hand-made NUS-format folder: good RGB, CMYK JPEG, grayscale PNG, RGBA PNG, palette PNG, a corrupt JPEG
    and a missing file."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (20, 24, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "good.jpg")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    rgba = np.dstack([rgb, np.full((20, 24), 0, np.uint8)])  # fully transparent → white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 10)
    names = ["good.jpg", "cmyk.jpg", "gray.png", "alpha.png", "palette.png", "corrupt.jpg", "missing.jpg"]
    samples = [{"image_name": n, "image_labels": [LABELS[i % 3]]} for i, n in enumerate(names)]
    for f in D.SPLIT_FILES.values():
        (tmp_path / f).write_text(json.dumps({"samples": samples, "labels": LABELS}))
    return tmp_path


@pytest.mark.parametrize("cache", [False, True])
def test_loader_skips_and_counts_bad_files_and_converts_every_mode_to_rgb(awkward_folder, caplog, cache):
    _, evaluation = D.transforms(16)
    ds = D.NusWideDataset(awkward_folder, "train", evaluation, cache=cache)
    assert sorted(ds.skipped) == ["corrupt.jpg", "missing.jpg"]
    assert len(ds) == 5 and "skipped 2 unreadable or missing" in caplog.text
    assert len(ds.cached) == (5 if cache else 0)
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (3, 16, 16) and x.dtype == torch.uint8 and y.sum() == 1
    alpha = D.load_rgb(awkward_folder / "alpha.png")
    assert alpha.mode == "RGB" and np.asarray(alpha).min() == 255  # transparent → white
    assert D.load_rgb(awkward_folder / "cmyk.jpg").mode == "RGB"


def test_loader_can_stop_on_a_bad_file_naming_it(awkward_folder):
    with pytest.raises(DataError, match=r"corrupt.jpg cannot be read"):
        D.NusWideDataset(awkward_folder, "train", on_bad_image="fail")


@pytest.mark.parametrize(
    "samples, labels, message",
    [
        ([{"image_name": "a.jpg", "image_labels": ["cloud"]}], LABELS, r"sample 0 \('a.jpg'\): tags \['cloud'\]"),
        ([{"image_name": "a.jpg", "image_labels": []}], LABELS, r"sample 0 \('a.jpg'\): its label list is empty"),
        ([{"image_name": "a.jpg", "image_labels": ["sky"]}], [], r"the label list is empty"),
        ([{"image_labels": ["sky"]}], LABELS, r"sample 0 \(None\): needs 'image_name'"),
    ],
)
def test_bad_annotations_stop_naming_the_sample(tmp_path, samples, labels, message):
    path = tmp_path / "small_train.json"
    path.write_text(json.dumps({"samples": samples, "labels": labels}))
    with pytest.raises(DataError, match=message):
        D.read_annotations(path)


def test_synthetic_scenes_load_through_the_same_loader(tmp_path):
    embedded.shapes_scenes(tmp_path, 32, 30, 10, seed=1)
    ds = D.NusWideDataset(tmp_path, "test", D.transforms(32)[1])
    assert len(ds) == 10 and not ds.skipped and len(ds.classes) == 18
    assert all(ds.annotations.objects[i] for i in range(10))


def test_cached_images_are_the_images_decoded_on_every_access(tmp_path):
    embedded.shapes_scenes(tmp_path, 32, 20, 6, seed=2)
    train, evaluation = D.transforms(24, {"hflip": True})
    plain = D.NusWideDataset(tmp_path, "test", evaluation)
    cached = D.NusWideDataset(tmp_path, "test", evaluation, cache=True)
    assert len(plain) == len(cached) == 6
    for i in range(6):
        assert torch.equal(plain[i][0], cached[i][0]) and torch.equal(plain[i][1], cached[i][1])
    for part in (plain, cached):  # the same augmentation draws give the same training images
        part.transform = train
    torch.manual_seed(0)
    a = [plain[i][0] for i in range(6)]
    torch.manual_seed(0)
    assert all(torch.equal(x, cached[i][0]) for i, x in enumerate(a))


def test_model_input_scales_and_normalises_a_uint8_batch_as_imagenet_models_expect():
    x = torch.randint(0, 256, (2, 3, 5, 4), dtype=torch.uint8)
    mean, std = np.array(D.IMAGENET_MEAN)[:, None, None], np.array(D.IMAGENET_STD)[:, None, None]
    expected = (x.numpy() / 255.0 - mean) / std
    out = D.model_input(x, channels_last=True)
    assert out.dtype == torch.float32 and out.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(D.model_input(x[0]).numpy(), expected[0], rtol=1e-5, atol=1e-5)


def test_validation_split_is_seeded_and_disjoint():
    from labelbench.runs import validation_split

    a_tr, a_val = validation_split(100, 0.2, seed=3)
    b_tr, b_val = validation_split(100, 0.2, seed=3)
    assert np.array_equal(a_val, b_val) and len(a_val) == 20 and not set(a_tr) & set(a_val)
    assert not np.array_equal(a_val, validation_split(100, 0.2, seed=4)[1])
    assert len(validation_split(5, 0.01, seed=0)[1]) == 1  # a validation share keeps at least one sample


# ------------------------------------------------------------------------------------------------ losses
def _np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _np_bce(z, y):
    p = _np_sigmoid(z)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _np_focal(z, y, gamma=2.0, alpha=None):
    p = _np_sigmoid(z)
    pt = np.where(y > 0, p, 1 - p)
    at = 1.0 if alpha is None else np.where(y > 0, alpha, 1 - alpha)
    return float((-at * (1 - pt) ** gamma * np.log(pt)).sum() / len(y))


def _np_asl(z, y, gp=0.0, gn=4.0, clip=0.05):
    p = _np_sigmoid(z)
    pm = np.maximum(p - clip, 0)
    return float(-(y * (1 - p) ** gp * np.log(p) + (1 - y) * pm**gn * np.log(1 - pm)).sum() / len(y))


@pytest.mark.parametrize("name, reference", [("bce", _np_bce), ("focal", _np_focal), ("asl", _np_asl)])
def test_losses_match_numpy(name, reference):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (16, 7))
    y = (rng.random((16, 7)) < 0.3).astype(np.float64)
    got = float(get_loss(name)(torch.tensor(z, dtype=torch.float64), torch.tensor(y)))
    assert got == pytest.approx(reference(z, y), rel=1e-6)
    assert set(LOSSES) == {"bce", "focal", "asl"}


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_one_name_one_loss_keras_and_torch_focal_agree(alpha):
    """`loss: focal` means the same loss in a Keras and in a PyTorch experiment (defaults included): the torch
    one on logits, the Keras one on the sigmoid's probabilities."""
    import keras

    from labelbench.keras.losses import get_loss as keras_loss

    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, (16, 7)).astype(np.float32)
    y = (rng.random((16, 7)) < 0.3).astype(np.float32)
    args = {} if alpha is None else {"alpha": alpha}
    ours = float(get_loss("focal", **args)(torch.tensor(z), torch.tensor(y)))
    per_sample = keras_loss("focal", **args)(y, _np_sigmoid(z).astype(np.float32))
    theirs = float(np.mean(keras.ops.convert_to_numpy(per_sample)))
    assert ours == pytest.approx(theirs, rel=1e-4)
    assert ours == pytest.approx(_np_focal(z.astype(np.float64), y, alpha=alpha), rel=1e-4)


# ------------------------------------------------------------------------------------------------ metrics
@pytest.fixture
def scores():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 9)) < 0.25).astype(np.float64)
    p = np.clip(0.5 * y + rng.random((200, 9)) * 0.6, 0, 1)
    return y, p


def test_metrics_agree_with_torchmetrics(scores):
    from torchmetrics.classification import (
        MultilabelAveragePrecision,
        MultilabelExactMatch,
        MultilabelF1Score,
        MultilabelHammingDistance,
        MultilabelPrecision,
        MultilabelRecall,
    )

    y, p = scores
    ours = tagging_metrics(y, p)
    pt, yt, k = torch.tensor(p), torch.tensor(y, dtype=torch.long), y.shape[1]
    for avg in ("micro", "macro"):
        assert ours[f"{avg}_precision"] == pytest.approx(float(MultilabelPrecision(k, average=avg)(pt, yt)), abs=1e-6)
        assert ours[f"{avg}_recall"] == pytest.approx(float(MultilabelRecall(k, average=avg)(pt, yt)), abs=1e-6)
        assert ours[f"{avg}_f1"] == pytest.approx(float(MultilabelF1Score(k, average=avg)(pt, yt)), abs=1e-6)
    assert ours["hamming_loss"] == pytest.approx(float(MultilabelHammingDistance(k)(pt, yt)), abs=1e-6)
    assert ours["exact_match"] == pytest.approx(float(MultilabelExactMatch(k)(pt, yt)), abs=1e-6)
    assert ours["map"] == pytest.approx(float(MultilabelAveragePrecision(k, average="macro")(pt, yt)), abs=1e-6)
    # samples average: scikit-learn alone (torchmetrics has none); check it by hand
    said = p >= 0.5
    tp = (said & (y > 0)).sum(1)
    f1 = np.where(said.sum(1) + y.sum(1) > 0, 2 * tp / np.maximum(said.sum(1) + y.sum(1), 1), 0)
    assert ours["samples_f1"] == pytest.approx(f1.mean(), abs=1e-9)


def test_tuned_thresholds_never_lose_on_the_data_they_were_tuned_on(scores):
    y, p = scores
    t = tune_thresholds(y, p)
    assert t.shape == (9,) and np.all((t >= 0.05) & (t <= 0.95))
    assert tagging_metrics(y, p, t)["macro_f1"] >= tagging_metrics(y, p)["macro_f1"]
    # a tag separable at 0.3 gets a threshold at or below it
    y1 = np.array([[1], [1], [0], [0]], float)
    p1 = np.array([[0.35], [0.4], [0.1], [0.2]])
    assert tune_thresholds(y1, p1)[0] <= 0.35


# ------------------------------------------------------------------------------------------------ models
def test_models_build_with_the_sources_head_and_resolve_layers():
    m = build_model("resnet18", 5)
    assert isinstance(m.fc[0], torch.nn.Dropout) and m.fc[1].out_features == 5
    assert build_model("mobilenet_v3_small", 4).eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 4)
    small = build_model("small_cnn", 6, widths=[8, 16], convs=1)
    assert small(torch.zeros(2, 3, 16, 16)).shape == (2, 6)
    assert resolve_layer(small, "blocks.1") is small.blocks[1]
    with pytest.raises(ConfigError, match="top-level layers are"):
        resolve_layer(small, "layer4")
    with pytest.raises(ConfigError, match="neither small_cnn nor a torchvision"):
        build_model("resnet1000", 3)


def test_missing_imagenet_weights_offline_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ConfigError, match=r"not cached at .*resnet18-.*\.pth.*copy it to"):
        build_model("resnet18", 3, weights="IMAGENET1K_V1")


@pytest.fixture(scope="module")
def resnet18_state(tmp_path_factory):
    """A state-dict file as README tells to make one (torch.save of torchvision's model, its ImageNet head
    included), from a seeded random initialisation instead of the downloaded weights."""
    from torchvision.models import get_model

    torch.manual_seed(3)
    state = get_model("resnet18", weights=None).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pt"
    torch.save(state, path)
    return path, state


def test_weights_from_a_state_dict_file_are_loaded_under_our_head(resnet18_state):
    path, state = resnet18_state
    model = build_model("resnet18", 5, weights=str(path))
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert torch.equal(model.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
    assert isinstance(model.fc[0], torch.nn.Dropout) and model.fc[1].out_features == 5  # ImageNet's fc replaced


def _saved(tmp_path, state) -> str:
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    return str(path)


def test_a_weights_file_missing_a_key_or_with_an_extra_one_is_refused_naming_them(resnet18_state, tmp_path):
    _, state = resnet18_state
    missing = {k: v for k, v in state.items() if k != "layer1.0.conv1.weight"}
    with pytest.raises(ConfigError, match=r"model.weights: .*edited.pt does not fit resnet18: 1 missing keys "
                                          r"\(layer1\.0\.conv1\.weight\) \(expected the state dict of torchvision's"):
        build_model("resnet18", 3, weights=_saved(tmp_path, missing))
    extra = {**state, "head.weight": torch.zeros(3, 512), "head.bias": torch.zeros(3)}
    with pytest.raises(ConfigError, match=r"does not fit resnet18: 2 unexpected keys \(head\.weight, head\.bias\)"):
        build_model("resnet18", 3, weights=_saved(tmp_path, extra))


def test_a_weights_file_with_a_wrong_shape_is_refused_naming_key_and_shapes(resnet18_state, tmp_path):
    _, state = resnet18_state
    wrong = {**state, "fc.weight": torch.zeros(27, 512), "fc.bias": torch.zeros(27)}  # a head of our own saved
    with pytest.raises(ConfigError, match=r"does not fit resnet18: 2 shape mismatches \(fc\.weight is \(27, 512\) "
                                          r"in the file, \(1000, 512\) in resnet18, fc\.bias is \(27,\) in the file"):
        build_model("resnet18", 3, weights=_saved(tmp_path, wrong))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_weights_file_that_is_no_state_dict_is_refused_and_nothing_in_it_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigError, match="is not a state-dict file torch.load reads with weights_only=True"):
        build_model("resnet18", 3, weights=_saved(tmp_path, {"conv1.weight": _RunsCode(marker)}))
    assert not marker.exists(), "the payload ran"
    with pytest.raises(ConfigError, match=r"holds a dict with keys \['model'\] whose values are not all tensors"):
        build_model("resnet18", 3, weights=_saved(tmp_path, {"model": {"conv1.weight": torch.zeros(1)}}))
    with pytest.raises(ConfigError, match="model.weights: nowhere/r18.pt does not exist or is not a file"):
        build_model("resnet18", 3, weights="nowhere/r18.pt")


# ------------------------------------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    d = tmp_path_factory.mktemp("scenes")
    embedded.shapes_scenes(d, 32, 96, 32, seed=2)
    return d


RUN = dict(experiment="tagging", variant="bce", seed=1, model_spec={"name": "small_cnn", "widths": [8, 16], "convs": 1},
           training={"learning_rate": 0.003, "batch_size": 32, "epochs": 3, "image_size": 32,
                     "validation_fraction": 0.25, "augment": {"hflip": True}},
           variant_spec={"loss": "bce"}, threads=2)


def _outputs(d):
    from labelbench.runs import RunOutputs

    return RunOutputs(model=str(d / "model.pt"), history=str(d / "history.csv"),
                      predictions=str(d / "predictions.parquet"), checkpoint_dir=str(d / "ckpt"),
                      tensorboard_dir=str(d / "tb"))


def _kill_after_epoch_1(monkeypatch, dataset_dir, out, run):
    """Train ``run`` into ``out`` and kill it (KeyboardInterrupt) once its first epoch's last.pt is written."""
    from labelbench.pytorch import train as T

    real_save = T._save

    def save_then_die(path, state):
        real_save(path, state)
        if path.name == "last.pt" and state["epoch"] == 1:
            raise KeyboardInterrupt("killed after epoch 1")

    monkeypatch.setattr(T, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        T.train_run(str(dataset_dir), _outputs(out), **run)
    monkeypatch.setattr(T, "_save", real_save)
    assert not (out / "predictions.parquet").exists() and (out / "ckpt/last.pt").is_file()


def test_a_killed_tagging_run_resumes_to_the_same_result(scenes, tmp_path, monkeypatch, caplog):
    from labelbench.pytorch import train as T

    T.train_run(str(scenes), _outputs(tmp_path / "whole"), **RUN)
    broken = tmp_path / "broken"
    _kill_after_epoch_1(monkeypatch, scenes, broken, RUN)
    with caplog.at_level(logging.INFO, "labelbench"):
        T.train_run(str(scenes), _outputs(broken), **RUN)
    assert f"resuming from {broken / 'ckpt'} after epoch 1" in caplog.text and "afresh" not in caplog.text
    a = pd.read_parquet(tmp_path / "whole/predictions.parquet")
    b = pd.read_parquet(broken / "predictions.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert set(a["split"]) == {"val", "test"} and (a["skipped_images"] == 0).all()
    hist = pd.read_csv(broken / "history.csv")
    assert hist["best"].sum() == 1 and list(hist["epoch"]) == [1, 2, 3]
    assert any((tmp_path / "whole/tb").iterdir()) and not (broken / "ckpt").exists()


def test_a_tagging_rerun_with_another_learning_rate_starts_afresh_and_equals_a_clean_run(scenes, tmp_path,
                                                                                          monkeypatch, caplog):
    """Killed after its first epoch's checkpoint, then rerun at another learning rate: last.pt (and best.pt) of the
    old setting are not resumed, and the run equals one made at the new setting alone."""
    from labelbench.pytorch import train as T

    assert_rerun_at_another_setting_equals_a_clean_run(
        T.train_run, lambda out, run: _kill_after_epoch_1(monkeypatch, scenes, out, run), _outputs, scenes, tmp_path,
        RUN, caplog)


def test_a_tagging_checkpoint_without_identity_is_not_resumed(scenes, tmp_path, monkeypatch, caplog):
    from labelbench.pytorch import train as T

    run = {**RUN, "training": {**RUN["training"], "epochs": 2}}
    _kill_after_epoch_1(monkeypatch, scenes, tmp_path, run)
    state = torch.load(tmp_path / "ckpt/last.pt", weights_only=False)
    del state["identity"]
    torch.save(state, tmp_path / "ckpt/last.pt")
    with caplog.at_level(logging.INFO, "labelbench"):
        T.train_run(str(scenes), _outputs(tmp_path), **run)
    assert (f"checkpoint {tmp_path / 'ckpt'} records no run identity (an older format): starting afresh"
            in caplog.text)
    assert "resuming from" not in caplog.text and pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [1, 2]


@pytest.fixture
def torch_flags():
    """Give back the process-wide determinism flags a test changes."""
    saved = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    yield
    torch.use_deterministic_algorithms(saved[0], warn_only=True)
    torch.backends.cudnn.benchmark = saved[1]


@pytest.mark.parametrize("setting, deterministic", [({}, True), ({"deterministic": False}, False)])
def test_training_runs_deterministic_kernels_unless_the_config_trades_them_for_speed(
        scenes, tmp_path, monkeypatch, torch_flags, setting, deterministic):
    from labelbench.pytorch import train as T

    seen, real_configure = [], T.configure

    def configure_then_stop(*args):
        real_configure(*args)
        seen.append((torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark))
        raise KeyboardInterrupt("stop after configure")

    monkeypatch.setattr(T, "configure", configure_then_stop)
    run = {**RUN, "training": {**RUN["training"], **setting}}
    with pytest.raises(KeyboardInterrupt):
        T.train_run(str(scenes), _outputs(tmp_path), **run)
    assert seen == [(deterministic, not deterministic)]  # cuDNN times its kernels only when determinism is off


def test_the_examples_figure_draws_what_a_small_test_split_holds(tmp_path):
    """Fewer test images than the 12-image grid (a small NUS-WIDE subset): drawn, the rest of the grid blank."""
    from labelbench.figures.experiments import tagging_examples

    rng = np.random.default_rng(0)
    names = [f"{i}.jpg" for i in range(5)]
    for name in names:
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), np.uint8)).save(tmp_path / name)
    preds = pd.DataFrame({"experiment": "tagging", "variant": "bce", "seed": 0, "split": "test", "sample": range(5),
                          "image_name": names,
                          **{f"tag_{t}": rng.integers(0, 2, 5) for t in LABELS},
                          **{f"p_{t}": rng.random(5) for t in LABELS}})
    run = tmp_path / "tagging/bce/0"
    run.mkdir(parents=True)
    preds.to_parquet(run / "predictions.parquet")
    fig = tagging_examples(predictions=[str(run / "predictions.parquet")], dataset_dir=str(tmp_path))
    assert sum(bool(ax.images) for ax in fig.axes) == 5 and len(fig.axes) == 8
