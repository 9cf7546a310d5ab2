"""The config is validated against the schema at start-up; bad configs stop with a message naming the key."""

import copy

import pytest
import yaml
from conftest import ROOT, run_snakemake

BASE = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())


def _set(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


_DELETE = object()

# (path to change, new value, fragments the error message must contain)
BAD_CONFIGS = [
    (("colour",), "red", ["Additional properties are not allowed", "'colour' was unexpected"]),
    (("datasets", "shapes_tiles", "size"), "big", ["'big' is not of type 'integer'"]),
    (("datasets", "shapes_tiles", "size"), 2, ["2 is less than the minimum of 8"]),
    (("datasets", "shapes_tiles", "classes"), ["circle", "hexagon"], ["'hexagon' is not one of"]),
    (("datasets", "shapes_tiles", "source"), "svhn", ["'svhn' is not one of"]),
    (("datasets", "shapes_tiles", "n_train_per_class"), _DELETE, ["'n_train_per_class' is a required property"]),
    (("datasets", "mosaic_shapes", "tile"), "shapes_tiles", ["'tile' was unexpected"]),
    (("experiments", "mosaic", "training", "batch_size"), 0, ["0 is less than the minimum of 1"]),
    (("experiments", "mosaic", "training", "optimizer"), "rmsprop", ["'rmsprop' is not one of ['adam', 'sgd']"]),
    (("experiments", "mosaic", "seeds"), [], ["[] should be non-empty"]),
    (("experiments", "mosaic", "variants", "bce", "on_nan"), "ignore", ["'ignore' is not one of ['fail', 'record']"]),
    (("experiments", "unknown_study"), copy.deepcopy(BASE["experiments"]["masked"]), ["'unknown_study' is not one of"]),
    (
        ("experiments", "masked", "variants", "mask_odd", "mask"),
        "prime",
        ["'prime' is not one of ['odd', 'even', 'none']"],
    ),
    (("experiments", "mosaic", "threshold"), 1.5, ["1.5 is greater than or equal to the maximum of 1"]),
    (("experiments", "mosaic", "dataset"), "cifar", ["experiments.mosaic.dataset", "'cifar' is not a dataset"]),
    (("experiments", "landmark", "dataset"), "digits", ["experiments.landmark.dataset", "expects a dataset with"]),
    (("experiments", "landmark", "variants", "masked", "weighting"), "heavy", ["'heavy' is not one of"]),
    (("datasets", "mosaic_shapes", "tiles"), "nothing", ["datasets.mosaic_shapes.tiles", "'nothing' is not a dataset"]),
    (("device",), "cuda", ["'cuda' is not one of ['cpu', 'gpu']"]),
    (("experiments", "tagging", "device"), "tpu", ["'tpu' is not one of ['cpu', 'gpu', None]"]),
    (("experiments", "mosaic", "training", "threads"), 0, ["0 is less than the minimum of 1"]),
]


@pytest.mark.parametrize("path,value,fragments", BAD_CONFIGS, ids=[".".join(p[0]) for p in BAD_CONFIGS])
def test_bad_config_is_refused_with_a_clear_message(workdir, path, value, fragments):
    cfg = _set(copy.deepcopy(BASE), path, value)
    (workdir / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--configfile", str(workdir / "bad.yaml"), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for fragment in fragments:
        assert fragment in out, f"expected {fragment!r} in:\n{out[-3000:]}"


def test_defaults_are_filled_in_from_the_schema(workdir):
    proc = run_snakemake(workdir, "--configfile", str(ROOT / "configs/smoke.yaml"), "-n", "--printshellcmds")
    assert proc.returncode == 0


@pytest.mark.parametrize("config", ["config.yaml", "configs/smoke.yaml", "configs/paper.yaml"])
def test_shipped_configs_validate_and_plan(workdir, config):
    proc = run_snakemake(workdir, "--configfile", str(ROOT / config), "-n", "--quiet", "rules")
    assert "train_keras" in proc.stdout + proc.stderr
