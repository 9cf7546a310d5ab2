"""The config is validated against the schema at start-up; bad configs stop with a message naming the key."""

import copy
import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, require_e2e, run_snakemake, startup_refusal

from labelbench.errors import ConfigError

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
    (("datasets", "shapes_tiles", "source"), "svhn",
     ["datasets.shapes_tiles.source: 'svhn' is not a registered dataset source; expected one of ['caltech101'"]),
    (("datasets", "shapes_tiles", "colour"), "red",
     ["datasets.shapes_tiles: Additional properties are not allowed ('colour' was unexpected); a dataset of source "
      "'shapes' takes the keys ['classes', 'complementary', 'max_rotation'"]),
    (("datasets", "shapes_tiles", "n_train_per_class"), _DELETE, ["'n_train_per_class' is a required property"]),
    (("datasets", "mosaic_shapes", "tile"), "shapes_tiles", ["'tile' was unexpected"]),
    (("experiments", "mosaic", "training", "batch_size"), 0, ["0 is less than the minimum of 1"]),
    (("experiments", "mosaic", "training", "optimizer"), "rmsprop", ["'rmsprop' is not one of ['adam', 'sgd']"]),
    (("experiments", "mosaic", "seeds"), [], ["[] should be non-empty"]),
    (("experiments", "mosaic", "variants", "bce", "on_nan"), "ignore", ["'ignore' is not one of ['fail', 'record']"]),
    (("experiments", "unknown_study"), copy.deepcopy(BASE["experiments"]["masked"]),
     ["experiments.unknown_study: no experiment of that name is registered", "'complementary', 'landmark'"]),
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
    # names checked against the registries, with the accepted names listed
    (("experiments", "mosaic", "variants", "bce", "loss"), "bce_summ",
     ["experiments.mosaic.variants.bce.loss", "'bce_summ' is not a registered keras loss", "'bce_sum', 'cce'"]),
    (("experiments", "tagging", "variants", "bce", "loss"), "bce_sum",
     ["experiments.tagging.variants.bce.loss", "not a registered torch loss", "['asl', 'bce', 'focal']"]),
    (("experiments", "mosaic", "model", "name"), "vgg99",
     ["experiments.mosaic.model.name", "'vgg99' is not a registered keras model", "'vgg13', 'xception'"]),
    (("experiments", "tagging", "model", "name"), "resnet5",
     ["experiments.tagging.model.name", "'resnet5' is not a registered torch model", "small_cnn"]),
    (("experiments", "mosaic", "model", "widht"), 0.5,
     ["experiments.mosaic.model", "vgg13 takes no argument(s) ['widht']", "['width', 'output_activation'"]),
    (("experiments", "tagging", "variants", "asl", "loss_args"), {"gama_neg": 4},
     ["experiments.tagging.variants.asl.loss_args", "asl takes no argument(s) ['gama_neg']",
      "['gamma_pos', 'gamma_neg', 'clip', 'eps']"]),
    (("experiments", "mosaic", "variants", "bce", "loss"), "landmark_masked",
     ["experiments.mosaic.variants.bce.loss", "reads keypoint_rows targets, which mosaic does not build"]),
    (("experiments", "tagging", "framework"), "keras", ["experiments.tagging.framework", "trained with 'torch'"]),
    # experiment/dataset compatibility: task, number of classes, complementary labels
    (("datasets", "shapes_tiles", "classes"), ["circle", "square", "star"],
     ["datasets.mosaic_shapes.tiles", "'shapes_tiles' has 3 classes", "at least 4 classes"]),
    (("experiments", "masked", "dataset"), "shapes_objects3",
     ["experiments.masked.variants.mask_odd", "masked_cce expects 10 classes", "'shapes_objects3' has 3"]),
    (("datasets", "shapes_objects3", "complementary"), _DELETE,
     ["experiments.complementary.variants.pc_sigmoid.loss", "trains on complementary labels",
      "dataset 'shapes_objects3' has none"]),
    (("experiments", "complementary", "variants", "ordinary", "dataset"), "shapes_scenes",
     ["experiments.complementary.variants.ordinary.dataset", "'shapes_scenes' has source 'shapes_scenes'",
      "expects a dataset with source in ['caltech101', 'cifar10', 'digits', 'imagefolder', 'mnist', 'shapes'] "
      "(single-label)"]),
    (("datasets", "shapes_objects3", "complementary"), {"num_cl": 3},
     ["datasets.shapes_objects3.complementary.num_cl", "3 complementary labels per image", "expected 1 to 2"]),
    (("datasets", "shapes_scenes"), {"source": "nuswide", "path": "no/such/folder"},
     ["datasets.shapes_scenes.path", "no/such/folder does not exist", "a folder or a tar/zip archive"]),
    (("datasets", "extra_mnist"), {"source": "mnist", "checksums": {"train-images.gz": "0" * 32}},
     ["datasets.extra_mnist.checksums", "['train-images.gz'] are not files of source 'mnist'",
      "'train-images-idx3-ubyte.gz'"]),
    (("experiments", "complementary", "gradcam", "compare"), "ure",
     ["experiments.complementary.gradcam.compare", "gradcam.compare ('ure')", "'ure' is not a variant"]),
    (("device",), "cuda", ["'cuda' is not one of ['cpu', 'gpu']"]),
    (("experiments", "tagging", "device"), "tpu", ["'tpu' is not one of ['cpu', 'gpu', None]"]),
    (("experiments", "mosaic", "training", "threads"), 0, ["0 is less than the minimum of 1"]),
    # model selection: a criterion the experiment computes, on validation images, from labels its data carry
    (("experiments", "complementary", "training", "selection"), "f1",
     ["'f1' is not one of ['loss', 'scel', 'ure', 'oracle_accuracy', None]"]),
    (("experiments", "mosaic", "training", "selection"), "scel",
     ["experiments.mosaic.training.selection: 'scel' needs what this experiment's validation images do not carry",
      "expected one of ['loss']"]),
    (("experiments", "complementary", "training", "validation_fraction"), 0.0,
     ["experiments.complementary.training.selection (the default, 'scel'): 'scel' is computed on validation images",
      "training.validation_fraction is 0"]),
    (("experiments", "complementary", "variants", "ordinary", "dataset"), "shapes_attributes",
     ["experiments.complementary.training.selection (the default, 'scel'): 'scel' reads the validation images' "
      "complementary labels, but variant 'ordinary' trains on dataset 'shapes_attributes', which has none"]),
    (("backend",), "mxnet", ["'mxnet' is not one of ['tensorflow', 'jax', 'torch']"]),
    (("experiments", "mosaic", "backend"), "numpy", ["'numpy' is not one of ['tensorflow', 'jax', 'torch', None]"]),
    (("experiments", "tagging", "backend"), "jax",
     ["experiments.tagging.backend: 'jax'", "backend chooses Keras's backend, and tagging is trained with PyTorch "
      "directly (framework torch): remove the key"]),
    (("experiments", "tagging", "variants", "asl", "backend"), "torch",
     ["experiments.tagging.variants.asl.backend: 'torch'", "backend chooses Keras's backend, and tagging is trained "
      "with PyTorch directly (framework torch): remove the key"]),
    (("experiments", "mosaic", "variants", "bce", "backend"), "numpy",
     ["'numpy' is not one of ['tensorflow', 'jax', 'torch', None]"]),
    (("experiments", "tagging", "model"), {"name": "resnet18", "weights": "weights/resnet18.pt"},
     ["experiments.tagging.model.weights: weights/resnet18.pt does not exist or is not a file",
      "expected a state-dict file of resnet18", "or a torchvision weights name such as IMAGENET1K_V1"]),
    # every path the config names stays where it belongs: results and the data folders apart, names plain
    (("datasets", "my_images"), {"source": "imagefolder", "path": ".", "size": 16},
     ["results: results is inside datasets.my_images.path (.): every output would be read as the dataset's files "
      "(the image folder would gain a class named 'results')"]),
    (("datasets", "my_images"), {"source": "imagefolder", "path": "results", "size": 16},
     ["results: results is datasets.my_images.path (results)"]),
    (("datasets", "my_images"), {"source": "imagefolder", "path": "results/data/mine", "size": 16},
     ["datasets.my_images.path: results/data/mine is inside results (results)", "expected a folder outside results"]),
    (("datasets", "nus"), {"source": "nuswide", "url": "http://127.0.0.1:9/nus.tar.gz", "filename": "../../nus.tar.gz"},
     ["datasets.nus.filename: '../../nus.tar.gz' contains a path separator",
      "the download is saved as results/downloads/nus/<file name>, so it must be a plain file name"]),
    (("datasets", "nus"), {"source": "nuswide", "url": "http://127.0.0.1:9/nus.tar.gz", "filename": "/tmp/nus.tar.gz"},
     ["datasets.nus.filename: '/tmp/nus.tar.gz' is absolute"]),
    (("datasets", "nus"), {"source": "nuswide", "url": "http://127.0.0.1:9/.."},
     ["datasets.nus.url: its last part '..' contains '..'", "(set filename:)"]),
    (("datasets", "../data"), {"source": "digits"},
     ["datasets: dataset '../data' contains a path separator; dataset names become folder names "
      "(results/data/<name>/), so they must be plain names"]),
    (("experiments", "/masked"), copy.deepcopy(BASE["experiments"]["masked"]),
     ["experiments: experiment '/masked' is absolute; experiment names become folder names (results/<name>/)"]),
    (("experiments", "mosaic", "variants", ".."), {"loss": "bce"},
     ["experiments.mosaic.variants: variant '..' contains '..'", "(results/<experiment>/<name>/<seed>/)"]),
    # names YAML reads as other types (written back by safe_dump as `true`, `1`; tests below write `on` by hand)
    (("experiments", "masked", "variants", True), {"loss": "masked_cce", "mask": "none"},
     ["experiments.masked.variants: variant `true` reads as the boolean True; quote it ('true') to use it as a name"]),
    (("datasets", 7), {"source": "digits"}, ["datasets: dataset `7` reads as the integer 7; quote it ('7')"]),
    (("experiments", "mosaic", "training", "epochs"), 2.5, ["2.5 is not of type 'integer'"]),
    (("datasets", "mnist_copy"), {"source": "mnist", "path": ".", "archive_limits": {"max_ratio": 0.5}},
     ["0.5 is less than or equal to the minimum of 1"]),
]


SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


@pytest.mark.parametrize("path,value,fragments", BAD_CONFIGS, ids=[".".join(map(str, p[0])) for p in BAD_CONFIGS])
def test_bad_config_is_refused_with_a_clear_message(tmp_path, path, value, fragments):
    cfg = _set(copy.deepcopy(BASE), path, value)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    out = startup_refusal(tmp_path / "bad.yaml")
    for fragment in fragments:
        assert fragment in out, f"expected {fragment!r} in:\n{out[-3000:]}"


@pytest.mark.e2e
@pytest.mark.parametrize("case", [0, 12, -1], ids=lambda i: ".".join(map(str, BAD_CONFIGS[i][0])))
def test_snakemake_refuses_at_start_up_with_the_same_message(workdir, case):
    """The in-process checks above are the Snakefile's: a schema refusal, a reference refusal and a file-level one
    stop Snakemake with the same message, before any job."""
    path, value, fragments = BAD_CONFIGS[case]
    (workdir / "bad.yaml").write_text(yaml.safe_dump(_set(copy.deepcopy(BASE), path, value)))
    proc = run_snakemake(workdir, "--configfile", str(workdir / "bad.yaml"), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for fragment in fragments:
        assert fragment in out, f"expected {fragment!r} in:\n{out[-3000:]}"
    assert fragments[0] in startup_refusal(workdir / "bad.yaml")


def test_defaults_are_filled_in_from_the_schema():
    from labelbench.config import check_startup

    config = copy.deepcopy(BASE)
    check_startup(config, SCHEMA, ROOT)
    assert "backend" not in BASE and "momentum" not in BASE["experiments"]["mosaic"]["training"]
    assert config["backend"] == "tensorflow" and config["figures"] == {"sample_grid": 16, "dpi": 110}
    assert config["experiments"]["mosaic"]["training"]["momentum"] == 0.0


@pytest.mark.e2e
@pytest.mark.parametrize("config", ["config.yaml", "configs/smoke.yaml", "configs/paper.yaml", "configs/extended.yaml"])
def test_shipped_configs_validate_and_plan(workdir, config):
    (workdir / "data/nus_wide").mkdir(parents=True)  # the paper config's NUS-WIDE copy (path: data/nus_wide)
    proc = run_snakemake(workdir, "--configfile", str(ROOT / config), "-n", "--quiet", "rules")
    assert "train_keras" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_a_weights_file_that_exists_is_an_input_of_the_training_jobs(workdir):
    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["tagging"]["model"] = {"name": "resnet18", "weights": "weights/resnet18.pt"}
    (workdir / "weights").mkdir()
    (workdir / "weights/resnet18.pt").write_bytes(b"checked when the job loads it")
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--configfile", str(workdir / "c.yaml"), "-n")
    blocks = [b for b in re.split(r"\n(?=rule \w+:)", proc.stdout + proc.stderr) if b.startswith("rule train_torch:")]
    inputs = [re.search(r"^\s+input: (.*)$", b, re.M).group(1) for b in blocks]
    runs = sum(len(v.get("seeds", cfg["experiments"]["tagging"]["seeds"]))
               for v in cfg["experiments"]["tagging"]["variants"].values())
    assert len(inputs) == runs and all("weights/resnet18.pt" in line.split(", ") for line in inputs), inputs


@pytest.mark.e2e
def test_the_paper_config_names_its_missing_nuswide_folder(workdir):
    proc = run_snakemake(workdir, "--configfile", str(ROOT / "configs/paper.yaml"), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "datasets.nuswide.path: data/nus_wide does not exist" in out, out[-2000:]


DUPLICATE_VARIANT = """\
datasets:
  digits: {source: digits}
experiments:
  masked:
    dataset: digits
    model: {name: mlp}
    training: {epochs: 1}
    variants:
      mask_odd: {loss: masked_cce, mask: odd}
      mask_even: {loss: masked_cce, mask: even}
      mask_odd: {loss: masked_cce, mask: none}
    seeds: [0]
"""


@pytest.mark.e2e
def test_a_key_given_twice_is_refused_naming_the_key_and_both_lines(workdir):
    (workdir / "twice.yaml").write_text(DUPLICATE_VARIANT)
    proc = run_snakemake(workdir, "--configfile", str(workdir / "twice.yaml"), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "key 'mask_odd' is given twice in experiments.masked.variants, on lines 9 and 11" in out, out[-2000:]
    assert "twice.yaml" in out


@pytest.mark.e2e
def test_the_default_config_yaml_is_checked_too(workdir):
    text = DUPLICATE_VARIANT.replace("      mask_odd: {loss: masked_cce, mask: none}\n", "")
    (workdir / "config.yaml").write_text(text.replace("  masked:", "  masked:\n    seeds: [1]"))
    proc = run_snakemake(workdir, "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config.yaml: key 'seeds' is given twice in experiments.masked, on lines 5 and 12" in out, out[-2000:]


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path):
    """What `make run` runs before Snakemake (which itself drops the position)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets:\n  digits: {source: digits\nexperiments: {}\n")
    proc = subprocess.run([sys.executable, "-m", "labelbench.config_check", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"{bad}, line 3, column 12: not valid YAML" in proc.stderr, proc.stderr
    tabs = tmp_path / "tabs.yaml"
    tabs.write_text("datasets:\n\tdigits: {source: digits}\n")
    proc = subprocess.run([sys.executable, "-m", "labelbench.config_check", str(tabs)], capture_output=True, text=True)
    assert f"{tabs}, line 2, column 1: not valid YAML" in proc.stderr, proc.stderr


def test_the_config_check_accepts_the_shipped_configs_and_json(tmp_path):
    from labelbench.config_check import check_config_file

    for name in ("config.yaml", "configs/smoke.yaml", "configs/paper.yaml", "configs/complementary_long.yaml",
                 "configs/extended.yaml"):
        check_config_file(ROOT / name)
    good = tmp_path / "c.json"
    good.write_text(json.dumps(BASE))
    check_config_file(good)
    twice = tmp_path / "twice.json"
    twice.write_text('{"datasets": {},\n "name": "a",\n "name": "b"}')
    with pytest.raises(ConfigError, match="key 'name' is given twice in one object, on lines 2 and 3"):
        check_config_file(twice)


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    from labelbench.config_check import check_config_file

    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {size: 16, seed: 0}\nother:\n  <<: *b\n  size: 32\n")
    check_config_file(path)


def test_makefile_checks_the_config_before_snakemake():
    run = (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    lines = [line.strip() for line in run.splitlines() if line.strip()]
    assert lines[1] == "$(BIN)/python -m labelbench.config_check $(CONFIG)"
    assert lines[2].startswith("$(BIN)/snakemake")


# ---------------------------------------------------------------------------- types as a user writes them
@pytest.mark.parametrize("name,reads_as", [
    ("on", "the boolean True"), ("off", "the boolean False"), ("no", "the boolean False"), ("Yes", "the boolean True"),
    ("null", "null (no value)"), ("~", "null (no value)"), ("1", "the integer 1"), ("0x1f", "the integer 31"),
    ("1.5", "the number 1.5"), ("2024-01-31", "the date 2024-01-31"),
])
def test_a_name_yaml_reads_as_another_type_is_refused_naming_its_text(tmp_path, name, reads_as):
    from labelbench.config_check import check_config_file

    path = tmp_path / "c.yaml"
    path.write_text(DUPLICATE_VARIANT.replace("      mask_odd: {loss: masked_cce, mask: none}\n", "")
                    .replace("mask_even:", f"{name}:"))
    with pytest.raises(ConfigError) as err:
        check_config_file(path)
    assert str(err.value) == (f"{path}, line 10: experiments.masked.variants: variant `{name}` reads as {reads_as}; "
                              f"quote it ('{name}') to use it as a name")
    path.write_text(path.read_text().replace(f"{name}:", f"'{name}':"))
    check_config_file(path)  # quoted, it is a name


@pytest.mark.e2e
def test_a_variant_named_on_is_refused_at_start_up_before_the_schema(workdir):
    """The user's case: Snakemake used to fail on a path `masked/True/0/...` without naming the variant."""
    text = DUPLICATE_VARIANT.replace("      mask_odd: {loss: masked_cce, mask: none}\n", "")
    text = text.replace("mask_even:", "on:")
    (workdir / "on.yaml").write_text(text)
    proc = run_snakemake(workdir, "--configfile", str(workdir / "on.yaml"), "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "on.yaml, line 10: experiments.masked.variants: variant `on` reads as the boolean True; quote it ('on')" \
        in out, out[-2000:]
    assert "MissingInputException" not in out
    proc = subprocess.run([sys.executable, "-m", "labelbench.config_check", str(workdir / "on.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "variant `on` reads as the boolean True" in proc.stderr, proc.stderr


def test_names_that_are_not_strings_are_refused_whatever_their_source():
    """A config that did not come from a file the Snakefile checks (--config, a Python caller): no text to quote,
    but the key and what it is are named, before the schema's patterns (which skip keys that are not strings)."""
    from labelbench.config import check_names

    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["masked"]["variants"][True] = {"loss": "masked_cce"}
    with pytest.raises(ConfigError, match=r"^experiments\.masked\.variants: variant True is not a name but YAML's "
                                          r"bool .*; quote it in the config file$"):
        check_names(cfg)
    cfg = copy.deepcopy(BASE)
    cfg["datasets"][None] = {"source": "digits"}
    with pytest.raises(ConfigError, match=r"^datasets: dataset None is not a name but YAML's NoneType"):
        check_names(cfg)
    check_names(copy.deepcopy(BASE))


def test_numbers_are_given_the_schema_types():
    """2.0 for an integer key is taken as 2; 1 for a number key as 1.0; booleans, nulls and names untouched."""
    from snakemake.utils import validate

    from labelbench.config import config_schema, normalise_numbers, validate_datasets

    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["mosaic"]["training"].update(epochs=2.0, learning_rate=1, batch_size=16.0)
    cfg["experiments"]["tagging"]["training"].update(learning_rate=1, epochs=1.0, image_size=32.0)
    cfg["datasets"]["shapes_tiles"]["size"] = 16.0
    cfg["datasets"]["shapes_tiles"]["scale"] = [0.5, 1]
    cfg["experiments"]["mosaic"]["threshold"] = 0.5
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    validate(cfg, str(schema))
    validate_datasets(cfg, config_schema(schema))  # the sources' own keys (labelbench.datasets.sources)
    normalise_numbers(cfg, config_schema(schema))
    keras, torch = cfg["experiments"]["mosaic"]["training"], cfg["experiments"]["tagging"]["training"]
    for value, expected in [(keras["epochs"], 2), (keras["batch_size"], 16), (keras["learning_rate"], 1.0),
                            (torch["learning_rate"], 1.0), (torch["epochs"], 1), (torch["image_size"], 32),
                            (cfg["datasets"]["shapes_tiles"]["size"], 16),
                            (cfg["datasets"]["shapes_tiles"]["scale"][1], 1.0),
                            (keras["momentum"], 0.0), (keras["amsgrad"], False), (keras["patience"], None),
                            (cfg["experiments"]["mosaic"]["seeds"][0], 0)]:
        assert value == expected and type(value) is type(expected), (value, expected)


@pytest.mark.e2e
def test_the_training_jobs_receive_the_normalised_numbers(workdir):
    """Through the Snakefile, as the training job's params carry them (a probe workflow that includes it)."""
    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["mosaic"]["training"].update(epochs=2.0, learning_rate=1)
    (workdir / "c.yaml").write_text(yaml.safe_dump(cfg))
    probe = workdir / "probe.smk"
    probe.write_text(
        f'include: "{ROOT / "Snakefile"}"\n\n'
        "import json\n"
        "from types import SimpleNamespace\n\n"
        'variant = next(iter(config["experiments"]["mosaic"]["variants"]))\n'
        'params = train_params(SimpleNamespace(experiment="mosaic", variant=variant, seed="0"))\n'
        'Path("params.json").write_text(json.dumps({k: type(v).__name__ for k, v in params["training"].items()}))\n'
    )
    require_e2e()
    cmd = [SNAKEMAKE, "--snakefile", str(probe), "--directory", str(workdir), "--configfile",
           str(workdir / "c.yaml"), "-n", "--quiet", "rules"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    types = json.loads((workdir / "params.json").read_text())
    assert types["epochs"] == "int" and types["learning_rate"] == "float", types
