"""The tagging model's CAM table: every configured pytorch-grad-cam method scored (localisation, and with
faithfulness ROAD and the deletion/insertion areas), one row per method, image and tag; deterministic per seed."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labelbench.cam_methods import TORCH_METHODS  # noqa: E402
from labelbench.datasets import embedded  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from labelbench.pytorch import train as T
    from labelbench.runs import RunOutputs

    d = tmp_path_factory.mktemp("cams")
    embedded.shapes_scenes(d / "data", 32, 96, 32, seed=2)
    out = RunOutputs(model=str(d / "model.pt"), history=str(d / "history.csv"),
                     predictions=str(d / "predictions.parquet"), checkpoint_dir=str(d / "ckpt"),
                     tensorboard_dir=str(d / "tb"))
    T.train_run(str(d / "data"), out, experiment="tagging", variant="bce", seed=0,
                model_spec={"name": "small_cnn", "widths": [8, 16], "convs": 1},
                training={"learning_rate": 0.003, "batch_size": 32, "epochs": 3, "image_size": 32,
                          "validation_fraction": 0.25}, variant_spec={"loss": "bce"}, threads=2)
    return str(d / "model.pt"), str(d / "data")


def test_every_method_gets_localisation_rows(trained):
    from labelbench.pytorch.gradcam import localisation_table

    model, data = trained
    table = localisation_table(model, data, "blocks.1", 6, "bce", 0, top_k=2, methods=TORCH_METHODS)
    assert set(table["method"]) == set(TORCH_METHODS)
    per_method = table.groupby("method").size()
    assert per_method.nunique() == 1  # the same (image, tag) pairs for every method
    assert {"mass_in_mask", "mask_share", "ratio", "pointing"} <= set(table.columns)
    maps = {m: part["mass_in_mask"].to_numpy() for m, part in table.groupby("method")}
    assert not np.allclose(maps["gradcam"], maps["scorecam"])  # different methods, different maps


def test_faithfulness_columns_are_bounded_and_seeded(trained):
    from labelbench.pytorch.gradcam import localisation_table

    model, data = trained
    args = (model, data, "blocks.1", 4, "bce", 0)
    a = localisation_table(*args, top_k=2, methods=("gradcam", "hirescam"), with_faithfulness=True, steps=4)
    b = localisation_table(*args, top_k=2, methods=("gradcam", "hirescam"), with_faithfulness=True, steps=4)
    assert a.equals(b)  # ROAD's noise is seeded by the run's seed
    for col in ("deletion_auc", "insertion_auc"):
        assert a[col].between(0, 1).all()
    for col in ("road_morf", "road_lerf"):
        assert a[col].between(-1, 1).all()
    assert a["road_morf"].abs().max() > 0
