"""A checkpoint is resumed only by the run that made it (labelbench.checkpoints, no framework): identities, the
dataset checksum, the differences a refusal names. The trainers' own tests (tests/test_keras.py,
tests/test_tagging.py) interrupt a run, change its learning rate and check the rerun equals a clean one."""

import json
import logging

import numpy as np
import pandas as pd

from labelbench import __version__
from labelbench.checkpoints import (
    dataset_checksum,
    describe,
    differences,
    identity_digest,
    resume_or_clear,
    run_identity,
    stale_reason,
)
from labelbench.datasets.store import CHANGE_CHECKED, SIDECAR, Dataset, write_dataset

PARAMS = dict(experiment="mosaic", variant="bce", seed=3, model_spec={"name": "vgg13", "width": 0.125},
              training={"optimizer": "adam", "learning_rate": 0.0005, "batch_size": 32, "epochs": 3},
              variant_spec={"loss": "bce_sum"}, threads=2, device="cpu", backend=None)
VERSIONS = {"keras": "3.0", "tensorflow": "2.21"}


def _dataset(d, label=0):
    ds = Dataset(images=np.zeros((2, 4, 4, 1), np.uint8), samples=pd.DataFrame({"split": ["train", "test"],
                                                                                "label": [label, 1]}),
                 classes=["a", "b"])
    return write_dataset(d, ds, source="digits", params={}, inputs={})


def _identity(d, **training):
    return run_identity({**PARAMS, "training": {**PARAMS["training"], **training}}, d, VERSIONS)


def test_the_identity_holds_the_jobs_parameters_the_datasets_checksum_and_the_code_versions(tmp_path):
    d = _dataset(tmp_path / "data")
    identity = _identity(d)
    assert identity["params"] == PARAMS
    assert identity["dataset"] == dataset_checksum(d) and len(identity["dataset"]) == 64
    assert identity["code"] == {"labelbench": __version__, **VERSIONS}
    # plain JSON: what a checkpoint read back records is the identity made afresh
    assert json.loads(json.dumps(identity)) == identity
    assert run_identity({**PARAMS, "model_spec": {"widths": (8, 16)}}, d, VERSIONS)["params"]["model_spec"] == {
        "widths": [8, 16]}


def test_the_digest_ignores_key_order_and_sees_every_value(tmp_path):
    d = _dataset(tmp_path / "data")
    a = _identity(d)
    b = json.loads(json.dumps(a, sort_keys=True))
    b["params"] = dict(reversed(list(b["params"].items())))
    assert identity_digest(a) == identity_digest(b)
    assert identity_digest(a) != identity_digest(_identity(d, learning_rate=0.02))


def test_the_dataset_checksum_follows_its_content_not_its_file_times(tmp_path):
    first = dataset_checksum(_dataset(tmp_path / "a"))
    again = tmp_path / "b"
    _dataset(again)
    sidecar = json.loads((again / SIDECAR).read_text())
    sidecar["stat"] = {k: [1, 2] for k in sidecar["stat"]}
    sidecar[CHANGE_CHECKED] = "abc"
    (again / SIDECAR).write_text(json.dumps(sidecar))
    assert dataset_checksum(again) == first  # rebuilt byte for byte: the same dataset
    assert dataset_checksum(_dataset(tmp_path / "c", label=1)) != first  # another label: another samples.parquet


def test_a_folder_without_sidecar_is_identified_by_its_files(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    first = dataset_checksum(tmp_path)
    assert dataset_checksum(tmp_path) == first
    (tmp_path / "x.json").write_text("[]")
    assert dataset_checksum(tmp_path) != first


def test_differences_name_each_changed_setting_with_both_values(tmp_path):
    d = _dataset(tmp_path / "data")
    old, new = _identity(d), _identity(d, learning_rate=0.02, amsgrad=True)
    assert differences(old, new) == [("training.amsgrad", "unset", True), ("training.learning_rate", 0.0005, 0.02)]
    assert describe(differences(old, new)) == "training.amsgrad unset → true, training.learning_rate 0.0005 → 0.02"
    other = {**new, "dataset": "f" * 64, "code": {**new["code"], "keras": "3.1"}}
    assert describe(differences(new, other)) == (f"code.keras 3.0 → 3.1, dataset {new['dataset'][:12]}… → "
                                                 "ffffffffffff…")
    assert stale_reason(old, old) is None
    assert stale_reason(old, new) == ("was made with other settings (training.amsgrad unset → true, "
                                      "training.learning_rate 0.0005 → 0.02)")
    assert stale_reason(None, new) == "records no run identity (an older format)"


def _checkpoint(ckpt, identity=None):
    ckpt.mkdir()
    state = {"epoch": 1, **({"identity": identity} if identity is not None else {})}
    (ckpt / "state.json").write_text(json.dumps(state))
    (ckpt / "best_loss.weights.npz").write_bytes(b"weights")
    return state


def test_a_checkpoint_of_the_same_run_is_resumed_and_kept(tmp_path, caplog):
    identity = _identity(_dataset(tmp_path / "data"))
    state = _checkpoint(tmp_path / "ckpt", json.loads(json.dumps(identity)))
    with caplog.at_level(logging.INFO, "labelbench"):
        assert resume_or_clear(tmp_path / "ckpt", state, identity)
    assert (tmp_path / "ckpt/best_loss.weights.npz").is_file() and "afresh" not in caplog.text


def test_a_checkpoint_of_other_settings_is_removed_saying_what_differs(tmp_path, caplog):
    d = _dataset(tmp_path / "data")
    state = _checkpoint(tmp_path / "ckpt", _identity(d))
    with caplog.at_level(logging.INFO, "labelbench"):
        assert not resume_or_clear(tmp_path / "ckpt", state, _identity(d, learning_rate=0.02))
    assert not (tmp_path / "ckpt").exists()
    assert (f"checkpoint {tmp_path / 'ckpt'} was made with other settings (training.learning_rate 0.0005 → 0.02): "
            "starting afresh") in caplog.text


def test_a_checkpoint_without_identity_is_not_resumed(tmp_path, caplog):
    state = _checkpoint(tmp_path / "ckpt")
    with caplog.at_level(logging.INFO, "labelbench"):
        assert not resume_or_clear(tmp_path / "ckpt", state, _identity(_dataset(tmp_path / "data")))
    assert not (tmp_path / "ckpt").exists()
    assert (f"checkpoint {tmp_path / 'ckpt'} records no run identity (an older format): starting afresh"
            in caplog.text)


def test_leftovers_of_an_epoch_never_completed_are_removed_quietly(tmp_path, caplog):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt/best_loss.weights.npz").write_bytes(b"weights")
    with caplog.at_level(logging.INFO, "labelbench"):
        assert not resume_or_clear(tmp_path / "ckpt", None, _identity(_dataset(tmp_path / "data")))
    assert not (tmp_path / "ckpt").exists() and not caplog.text
    assert not resume_or_clear(tmp_path / "nowhere", None, {})  # no folder: nothing to do
