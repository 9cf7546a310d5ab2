"""The multioutput experiment: one shapes dataset, three label encodings (multi-output, multi-label, multi-class),
each decided by its own rule; its config refusals; one training run per encoding through the real trainer."""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, startup_refusal

from labelbench.datasets import embedded
from labelbench.experiments import get_experiment
from labelbench.experiments.multioutput import GROUPS, SIZE_THRESHOLD, attributes, combinations

EXP = get_experiment("multioutput")
SMOKE = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())


@pytest.fixture(scope="module")
def ds():
    return embedded.shapes(["circle", "square", "star"], 32, 12, 4, seed=3)


def test_attributes_are_read_from_the_data(ds):
    attrs = attributes(ds)
    assert np.array_equal(attrs["shape"], ds.samples["label"].to_numpy())
    assert [EXP.output_names(ds, {"encoding": "multioutput"})[k] for k in (0, 3)] == ["shape=circle",
                                                                                     "colour=red"]
    colours = EXP.output_names(ds, {"encoding": "multioutput"})[3:11]
    assert [colours[i] for i in attrs["colour"][:5]] == [f"colour={c}" for c in ds.samples["colour"][:5]]
    radius = np.hypot(ds.samples["kp1_x"] - ds.samples["kp0_x"], ds.samples["kp1_y"] - ds.samples["kp0_y"]) / 16
    assert np.array_equal(attrs["size"], (radius >= SIZE_THRESHOLD).to_numpy().astype(int))
    assert 0 < attrs["size"].mean() < 1  # both sizes occur with the default radius range


def test_targets_of_each_encoding(ds):
    grouped = EXP.training_targets(ds, {"encoding": "multioutput"})
    assert grouped.shape == (len(ds.images), 3 + 8 + 2) and np.all(grouped.sum(1) == 3)
    assert np.array_equal(grouped, EXP.training_targets(ds, {"encoding": "multilabel"}))
    one = EXP.training_targets(ds, {"encoding": "multiclass"})
    assert one.shape == (len(ds.images), 3 * 8 * 2) and np.all(one.sum(1) == 1)
    combo = np.array(combinations(ds))[one.argmax(1)]
    attrs = attributes(ds)
    assert np.array_equal(combo, np.stack([attrs[g] for g in GROUPS], axis=1))
    assert EXP.loss_arguments(ds, {"encoding": "multioutput"}) == {"groups": [3, 8, 2]}
    assert EXP.loss_arguments(ds, {"encoding": "multiclass"}) == {}  # grouped_cce's default: one group


def _predictions(ds, encoding, probs):
    cols = {"experiment": "multioutput", "variant": encoding, "seed": 0, "split": "test",
            **EXP.true_label_columns(ds, {"encoding": encoding})}
    names = EXP.output_names(ds, {"encoding": encoding})
    return pd.concat([pd.DataFrame(cols), pd.DataFrame(probs, columns=[f"p_{n}" for n in names])], axis=1)


@pytest.mark.parametrize("encoding", ["multioutput", "multilabel", "multiclass"])
def test_confident_right_outputs_score_one_and_each_encoding_decides_by_its_own_rule(ds, encoding):
    y = EXP.training_targets(ds, {"encoding": encoding})
    right = _predictions(ds, encoding, np.where(y > 0, 0.9, 0.1))
    values = EXP.split_metrics(right, 0.5, {})
    assert values["exact_match"] == 1.0 and all(values[f"acc_{g}"] == 1.0 for g in GROUPS)
    assert values["macro_f1"] == pytest.approx(1.0) and values["map"] == pytest.approx(1.0)
    if encoding == "multiclass":
        return
    # every value of the size group at 0.6: multi-output takes the larger logit, multi-label says "both sizes"
    p = np.where(y > 0, 0.9, 0.1)
    p[:, -2:] = 0.6
    p[np.arange(len(p)), 11 + attributes(ds)["size"]] = 0.61
    values = EXP.split_metrics(_predictions(ds, encoding, p), 0.5, {})
    expected = 1.0 if encoding == "multioutput" else 0.0
    assert values["acc_size"] == expected and values["exact_match"] == expected and values["acc_shape"] == 1.0


BAD = [
    ({"loss": "bce_sum", "encoding": "multioutput"}, "'bce_sum' with encoding 'multioutput'; expected grouped_cce"),
    ({"loss": "grouped_cce", "encoding": "multilabel"},
     "'grouped_cce' with encoding 'multilabel'; expected one of ['bce_sum'"),
    ({"loss": "grouped_cce"}, "encoding: None; multioutput encodes its labels in one of ['multioutput'"),
    ({"loss": "grouped_cce", "encoding": "hierarchical"}, "encoding: 'hierarchical'; multioutput encodes"),
]


@pytest.mark.parametrize("variant, message", BAD, ids=[b[1][:30] for b in BAD])
def test_an_encoding_its_loss_cannot_train_is_refused_at_start_up(tmp_path, variant, message):
    cfg = copy.deepcopy(SMOKE)
    cfg["experiments"]["multioutput"]["variants"]["odd"] = variant
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = startup_refusal(tmp_path / "bad.yaml")
    assert "experiments.multioutput.variants.odd" in out
    assert message in out, out[-2000:]


def test_every_encoding_trains_and_is_evaluated_through_the_real_trainer(ds, tmp_path):
    from labelbench.datasets.store import write_dataset
    from labelbench.metrics import evaluate_predictions
    from labelbench.runs import RunOutputs
    from labelbench.scripting import load_trainer

    write_dataset(tmp_path / "data", ds, source="shapes", params={}, inputs={})
    spec = SMOKE["experiments"]["multioutput"]
    train_run = load_trainer("multioutput", "cpu", 1)
    for encoding in ("multioutput", "multilabel", "multiclass"):
        run = tmp_path / encoding
        outputs = RunOutputs(model=str(run / "model.keras"), history=str(run / "history.csv"),
                             predictions=str(run / "predictions.parquet"), checkpoint_dir=str(run / "ckpt"))
        variant = next(v for v in spec["variants"].values() if v["encoding"] == encoding)
        train_run(dataset_dir=str(tmp_path / "data"), outputs=outputs, experiment="multioutput", variant=encoding,
                  seed=0, model_spec=spec["model"], training={**spec["training"], "epochs": 1},
                  variant_spec=variant)
        table = evaluate_predictions(pd.read_parquet(outputs.predictions), history=pd.read_csv(outputs.history))
        assert set(table["metric"]) >= {"exact_match", "acc_shape", "acc_colour", "acc_size", "macro_f1", "map"}
        assert table["value"].between(0, float("inf")).all()
        assert set(table["variant"]) == {encoding}
