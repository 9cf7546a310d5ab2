"""Keras CAMs and faithfulness against pytorch-grad-cam: one small network built in both frameworks with the same
weights, the same image; our Keras Grad-CAM, Grad-CAM++ and HiResCAM against pytorch-grad-cam's classes, and our
ROAD and deletion/insertion (Keras scores) against pytorch-grad-cam's ROAD and our curves on torch's scores.
torch is imported first (tests/conftest.py): TensorFlow before torch crashes torch's optimizer."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pgc = pytest.importorskip("pytorch_grad_cam")
pytest.importorskip("tensorflow")

from pytorch_grad_cam.metrics.perturbation_confidence import (  # noqa: E402
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from labelbench import cam_faithfulness as F  # noqa: E402
from labelbench.cam_methods import KERAS_METHODS, METHODS  # noqa: E402

#: the two frameworks' float32 convolutions sum in different orders (~1e-6 relative on the activations); after
#: scaling to [0, 1] the maps differ by a few 1e-6, so 1e-4 leaves room for other CPUs' kernels and no more
MAP_TOLERANCE = 1e-4
#: probabilities from the two frameworks' float32 forward passes, after imputations solved by the same SciPy code
SCORE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ported():
    """conv(3→4) ReLU → conv(4→6) ReLU → global average pooling → dense(6→3), in torch and in Keras, same weights."""
    import keras

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 3)).eval()
    with torch.no_grad():
        net[6].weight *= 10  # scores that move when pixels are replaced
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv0")(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("sigmoid", name="probs")(logits))
    for name, conv in (("conv0", net[0]), ("conv1", net[2])):
        model.get_layer(name).set_weights([conv.weight.detach().permute(2, 3, 1, 0).numpy(),
                                           conv.bias.detach().numpy()])
    model.get_layer("logits").set_weights([net[6].weight.detach().numpy().T, net[6].bias.detach().numpy()])
    image = np.random.default_rng(3).random((4, 12, 12, 3)).astype(np.float32)
    with torch.no_grad():
        torch_probs = torch.sigmoid(net(torch.tensor(image).permute(0, 3, 1, 2))).numpy()
    assert np.abs(np.asarray(model(image)) - torch_probs).max() < 1e-5  # the port is faithful
    return net, model, image


def minmax(cams):
    shifted = cams - cams.min(axis=(1, 2), keepdims=True)
    return shifted / shifted.max(axis=(1, 2), keepdims=True)


@pytest.mark.parametrize("method", KERAS_METHODS)
def test_keras_maps_match_pytorch_grad_cam(ported, method):
    from labelbench.keras.gradcam import gradcam

    net, model, images = ported
    classes = np.array([0, 1, 2, 1])
    ours = minmax(gradcam(model, images, "conv0", classes, method))
    with getattr(pgc, METHODS[method])(model=net, target_layers=[net[1]]) as cam:
        theirs = cam(input_tensor=torch.tensor(images).permute(0, 3, 1, 2),
                     targets=[ClassifierOutputTarget(int(c)) for c in classes])
    assert np.abs(ours - theirs).max() < MAP_TOLERANCE
    assert theirs.std() > 0.05


def test_keras_faithfulness_matches_pytorch_grad_cam(ported):
    from labelbench.keras.gradcam import _scorer, gradcam

    net, model, images = ported
    classes = np.array([0, 1, 2, 1])
    cams = gradcam(model, images, "conv0", classes)
    ours = F.faithfulness_many(images, cams, _scorer(model, images, classes), steps=4, rng=None)
    x = torch.tensor(images).permute(0, 3, 1, 2)
    for i, k in enumerate(classes):
        target = [lambda out, k=int(k): torch.sigmoid(out[k])]
        for name, removal in (("road_morf", RemoveMostRelevantFirst), ("road_lerf", RemoveLeastRelevantFirst)):
            metric = PerturbationConfidenceMetric(removal(F.ROAD_PERCENTILE, NoisyLinearImputer(noise=0.0)))
            theirs = float(metric(x[i:i + 1], cams[i:i + 1].astype(np.float32), target, net)[0])
            assert ours[i][name] == pytest.approx(theirs, abs=SCORE_TOLERANCE)

        def torch_score(batch, k=int(k)):
            with torch.no_grad():
                return torch.sigmoid(net(torch.tensor(batch, dtype=torch.float32).permute(0, 3, 1, 2))[:, k]).numpy()

        curves = F.deletion_insertion(images[i], cams[i], torch_score, steps=4)
        assert ours[i]["deletion_auc"] == pytest.approx(curves["deletion_auc"], abs=SCORE_TOLERANCE)
        assert ours[i]["insertion_auc"] == pytest.approx(curves["insertion_auc"], abs=SCORE_TOLERANCE)
    assert max(abs(r["road_morf"]) for r in ours) > 1e-3


def test_the_study_table_has_every_method_and_faithfulness_rows(ported, tmp_path):
    """study_table on saved models and a shapes dataset: a method column on every row, localisation and agreement
    (with the randomised copy) per method, faithfulness only for trained models' maps of their predicted class;
    the summary keeps the method and bounds ROAD in [-1, 1]."""
    import keras

    from labelbench.cam_scores import summarise_study
    from labelbench.datasets import embedded
    from labelbench.datasets.store import write_dataset
    from labelbench.keras.gradcam import study_table

    _, model, _ = ported
    ds = embedded.shapes(["circle", "triangle", "star"], 12, 4, 3, seed=0)
    write_dataset(tmp_path / "data", ds, source="shapes", params={}, inputs={})
    other = keras.models.clone_model(model)
    other.set_weights([w * 0.5 for w in model.get_weights()])
    paths = {}
    for name, m in (("ordinary", model), ("pc_sigmoid", other)):
        m.save(tmp_path / f"{name}.keras")
        paths[name] = {0: str(tmp_path / f"{name}.keras")}
    table = study_table(paths, "ordinary", str(tmp_path / "data"), {"shallow": "conv0", "deep": "conv1"}, 2,
                        methods=("gradcam", "hirescam"), with_faithfulness=True, steps=3)
    assert set(table["method"]) == {"gradcam", "hirescam"}
    counts = table.groupby(["kind", "method"]).size().unstack()
    assert (counts["gradcam"] == counts["hirescam"]).all()
    faithful = table[table["kind"] == "faithfulness"]
    assert set(faithful["model"]) == {"ordinary", "pc_sigmoid"} and set(faithful["target"]) == {"predicted"}
    assert len(faithful) == 2 * 2 * 2 * 6  # models × depths × methods × images
    assert faithful[["deletion_auc", "insertion_auc"]].stack().between(0, 1).all()
    assert set(table.loc[table["kind"] == "agreement", "model"]) == {"pc_sigmoid", "randomised"}
    summary = summarise_study(table)
    assert "method" in summary and set(summary.loc[summary["kind"] == "faithfulness", "metric"]) == {
        "deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_combined"}
    assert summary["ci_low"].min() >= -1


def test_a_seeds_rows_are_the_same_computed_alone_or_after_other_seeds(ported, tmp_path):
    """The pipeline computes the Grad-CAM table one seed per job (rule gradcam_seed_table) and merges the seeds in
    order: seed 1 computed first and alone gives the rows study_table gives it after seed 0, and the merged
    per-seed files equal the whole table."""
    import keras
    import pandas as pd

    from labelbench.cam_scores import merge_seed_tables
    from labelbench.datasets import embedded
    from labelbench.datasets.store import write_dataset
    from labelbench.io import write_table
    from labelbench.keras.gradcam import seed_table, study_table

    _, model, _ = ported
    ds = embedded.shapes(["circle", "triangle", "star"], 12, 4, 3, seed=0)
    write_dataset(tmp_path / "data", ds, source="shapes", params={}, inputs={})
    paths = {"ordinary": {}, "pc_sigmoid": {}}
    for seed, scale in ((0, 0.5), (1, 0.7)):
        other = keras.models.clone_model(model)
        other.set_weights([w * scale for w in model.get_weights()])
        for name, m in (("ordinary", model), ("pc_sigmoid", other)):
            m.save(tmp_path / f"{name}{seed}.keras")
            paths[name][seed] = str(tmp_path / f"{name}{seed}.keras")
    args = ("ordinary", str(tmp_path / "data"), {"shallow": "conv0", "deep": "conv1"}, 2, ("gradcam",), True, 3)
    alone = seed_table({v: p[1] for v, p in paths.items()}, 1, *args)
    whole = study_table(paths, *args)
    pd.testing.assert_frame_equal(whole[whole["seed"] == 1].reset_index(drop=True), alone)
    files = []
    for seed in (0, 1):
        files.append(tmp_path / f"seed{seed}.parquet")
        write_table(seed_table({v: p[seed] for v, p in paths.items()}, seed, *args), files[-1])
    write_table(whole, tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(merge_seed_tables(files), pd.read_parquet(tmp_path / "whole.parquet"))


@pytest.mark.parametrize("side, most", [(32, 512), (299, 46)])
def test_the_faithfulness_scorer_bounds_each_forward_pass_by_pixels(side, most):
    """At Xception's 299 px a pass of 512 perturbed images held ~0.5 GB of input alone (the paper miniature's
    Grad-CAM job was killed for memory): the scorer's chunks stay under labelbench.keras.gradcam.SCORE_PIXELS,
    and the scores are those of one pass over everything."""
    from labelbench.keras.gradcam import _scorer

    seen = []

    def model(x, training=False):
        seen.append(len(x))
        return x.reshape(len(x), -1)[:, :3] * 2.0

    rng = np.random.default_rng(0)
    batch = rng.random((600, side, side, 1), dtype=np.float32)
    owner = rng.integers(0, 4, 600)
    classes = np.array([0, 1, 2, 1])
    scores = _scorer(model, batch[:4], classes)(batch, owner)
    assert max(seen) == most and sum(seen) == 600
    np.testing.assert_array_equal(scores, batch.reshape(600, -1)[np.arange(600), classes[owner]] * 2.0)
