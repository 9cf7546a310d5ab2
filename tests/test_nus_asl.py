"""ASL's NUS-WIDE split: a CSV written here in the format its readers read (<image path>,label,split with the tags
as a quoted list), built into the NUS-WIDE layout the tagging experiment reads; hostile rows refused naming the
line."""

import json
import os
from pathlib import Path

import pytest
from archives import jpeg as _jpeg

from labelbench.config import check_references, config_schema, validate_datasets
from labelbench.datasets.build import build
from labelbench.datasets.nus import read_annotations
from labelbench.datasets.nus_asl import parse_tags, read_split_csv
from labelbench.datasets.sources import get_source
from labelbench.errors import ConfigError, DataError

ROWS = [
    ("images/0001_a.jpg", "['clouds', 'sky']", "train"),
    ("images/0002_b.jpg", "['water']", "train"),
    ("images/0003_c.jpg", "['sky', 'water']", "train"),
    ("images/0004_d.jpg", "[]", "train"),
    ("images/0005_e.jpg", "['clouds']", "val"),
    ("images/0006_f.jpg", "['sky']", "val"),
]


def asl_folder(root: Path, rows=ROWS, header="filepath,label,split", missing=()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [header] + [f'{name},"{tags}",{split}' for name, tags, split in rows]
    (root / "nus_wid_data.csv").write_text("\n".join(lines) + "\n")
    for name, _, _ in rows:
        if name not in missing and not name.startswith(("/", "..")):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_jpeg((10, 120, 200)))
    return root


def build_asl(tmp_path: Path, source: Path) -> Path:
    spec = {"source": "nuswide_asl", "path": str(source)}
    return build("asl", spec, get_source("nuswide_asl").inputs(spec, "unused"), tmp_path / "results" / "asl")


def test_the_split_becomes_a_nuswide_layout_with_sorted_labels_and_val_as_test(tmp_path):
    out = build_asl(tmp_path, asl_folder(tmp_path / "src"))
    train = read_annotations(out / "small_train.json")
    test = read_annotations(out / "small_test.json")
    assert train.labels == ["clouds", "sky", "water"] == test.labels
    assert train.names == ["images/images/0001_a.jpg", "images/images/0002_b.jpg", "images/images/0003_c.jpg"]
    assert train.targets.tolist() == [[1, 1, 0], [0, 0, 1], [0, 1, 1]]
    assert test.targets.tolist() == [[1, 0, 0], [0, 1, 0]]
    sidecar = json.loads((out / "dataset.json").read_text())
    assert sidecar["source"] == "nuswide_asl" and sidecar["usable"] == {"train": 3, "test": 2}
    assert sidecar["asl_split"] == {"csv_rows": {"train": 3, "test": 2}, "untagged_skipped": 1, "missing_images": 0}
    assert (out / "images/images/0001_a.jpg").read_bytes() == (tmp_path / "src/images/0001_a.jpg").read_bytes()


def test_missing_images_are_skipped_and_counted(tmp_path):
    rows = [*ROWS, ("images/0007_g.jpg", "['sky']", "train"), ("images/0008_h.jpg", "['water']", "val")]
    out = build_asl(tmp_path, asl_folder(tmp_path / "src", rows, missing={"images/0007_g.jpg"}))
    sidecar = json.loads((out / "dataset.json").read_text())
    assert sidecar["asl_split"]["missing_images"] == 1
    assert sidecar["skipped"]["train"] == ["images/images/0007_g.jpg"] and sidecar["usable"]["test"] == 3


@pytest.mark.parametrize(("row", "message"), [
    (("../outside.jpg", "['sky']", "train"), r"line 8: image path: '../outside.jpg' must be a path inside"),
    (("/etc/passwd", "['sky']", "train"), r"line 8: image path: '/etc/passwd' must be a path inside"),
    (("images/x.jpg", "__import__('os').system('true')", "train"),
     r"line 8: label \"__import__\('os'\).system\('true'\)\" is not a list of quoted tag names"),
    (("images/x.jpg", "['sky', ]", "train"), r"line 8: label .* is not a list of quoted tag names"),
    (("images/x.jpg", "['sky']", "test"), r"line 8: split 'test' is neither 'train' nor 'val'"),
    (("images/0001_a.jpg", "['sky']", "val"), r"line 8: image 'images/0001_a.jpg' is listed twice"),
])
def test_hostile_rows_are_refused_naming_the_line(tmp_path, row, message):
    source = asl_folder(tmp_path / "src", [*ROWS, row])
    with pytest.raises(DataError, match=r"nus_wid_data.csv, " + message):
        build_asl(tmp_path, source)
    assert not (tmp_path / "results/asl/dataset.json").exists()


def test_a_linked_image_is_refused(tmp_path):
    source = asl_folder(tmp_path / "src")
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(_jpeg((1, 2, 3)))
    os.remove(source / "images/0002_b.jpg")
    os.symlink(secret, source / "images/0002_b.jpg")
    with pytest.raises(DataError, match=r"images/0002_b.jpg is a symbolic link; the dataset folder must hold"):
        build_asl(tmp_path, source)


def test_a_wrong_header_or_a_split_without_rows_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"line 1: header \['image', 'tags'\] is not <image path>,label,split"):
        read_split_csv(asl_folder(tmp_path / "a", header="image,tags") / "nus_wid_data.csv")
    train_only = [r for r in ROWS if r[2] == "train"]
    with pytest.raises(DataError, match=r"no tagged row of split 'test'; train and val need at least one each"):
        read_split_csv(asl_folder(tmp_path / "b", train_only) / "nus_wid_data.csv")


def test_tag_lists_are_read_not_evaluated():
    assert parse_tags("['clouds', 'sky']", "w") == ["clouds", "sky"]
    assert parse_tags('["a b", \'c\']', "w") == ["a b", "c"]
    assert parse_tags("[]", "w") == []
    with pytest.raises(DataError, match="w: label .* holds an empty tag name"):
        parse_tags("['sky', ' ']", "w")


def test_the_config_accepts_the_source_for_tagging_and_checks_its_csv(tmp_path, monkeypatch):
    import yaml
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    asl_folder(tmp_path / "data/nuswide_asl")
    config = yaml.safe_load((root / "configs/smoke.yaml").read_text())
    config["datasets"]["asl"] = {"source": "nuswide_asl", "path": "data/nuswide_asl", "csv": "data/none.csv"}
    config["experiments"]["tagging"]["dataset"] = "asl"
    validate(config, str(root / "workflow/schemas/config.schema.yaml"))
    validate_datasets(config, config_schema(root / "workflow/schemas/config.schema.yaml"))  # the source's own keys
    with pytest.raises(ConfigError, match=r"datasets.asl.csv: data/none.csv does not exist .* expected the "
                                          r"nuswide_asl CSV"):
        check_references(config)
    del config["datasets"]["asl"]["csv"]
    check_references(config)
