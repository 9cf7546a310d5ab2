"""Hostile and careless inputs: each is refused with a message naming the file, member or sample and what was
expected, or handled correctly. Nothing is read from outside the dataset folder, no code runs from data, and
nothing of an earlier failed attempt is reused."""

import gzip
import io
import json
import os
import pickle
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from archives import jpeg, make_cifar, make_mnist
from conftest import run_snakemake
from PIL import Image

from labelbench.datasets import nus, real
from labelbench.datasets.build import build, user_path
from labelbench.datasets.landmark_csv import landmark_csv
from labelbench.datasets.manifest import path_manifest
from labelbench.datasets.store import Dataset, load_dataset, write_dataset
from labelbench.errors import ConfigError, DataError
from labelbench.figures.datasets import dataset_figures

LABELS = ["sky", "clouds", "water"]


def nus_folder(root: Path, names=None, prefix: str = "", labels=LABELS, tags=None) -> Path:
    """A NUS-WIDE-format folder: annotation JSONs at ``root``, images at ``root/prefix``."""
    names = names or {"train": ["1_a.jpg", "2_b.jpg"], "test": ["3_c.jpg"]}
    root.mkdir(parents=True, exist_ok=True)
    for split, files in names.items():
        samples = [{"image_name": n, "image_labels": tags or labels[: i + 1]} for i, n in enumerate(files)]
        (root / f"small_{split}.json").write_text(json.dumps({"samples": samples, "labels": labels}))
        for n in files:
            path = root / prefix / Path(n).name if prefix else root / n
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpeg((10, 120, 200)))
    return root


def build_nus(tmp_path: Path, source: Path, name: str = "nus") -> Path:
    return build(name, {"source": "nuswide", "path": str(source)}, [], tmp_path / "results" / name)


# ------------------------------------------------------------------------------ where annotations may be
def test_bare_image_names_with_the_images_in_a_sub_folder_fail_naming_the_split(tmp_path):
    source = nus_folder(tmp_path / "src", prefix="images")  # JSON names "1_a.jpg", file at images/1_a.jpg
    with pytest.raises(DataError) as err:
        build_nus(tmp_path, source)
    message = str(err.value)
    assert "small_train.json: split 'train' has 0 usable image(s) of the 2 it lists" in message
    assert "'1_a.jpg' exists as 'images/1_a.jpg'" in message
    assert not (tmp_path / "results/nus/dataset.json").exists()


def test_two_annotation_sets_are_refused_naming_both(tmp_path):
    source = nus_folder(tmp_path / "src")
    nus_folder(source / "backup", labels=["cat", "dog", "fish"])
    with pytest.raises(DataError, match=r"two annotation sets, small_train\.json and backup/small_train\.json"):
        build_nus(tmp_path, source)


def test_annotations_in_one_wrapping_folder_are_found_and_deeper_ones_are_not(tmp_path):
    nus_folder(tmp_path / "wrapped" / "nus_wide")
    built = build_nus(tmp_path, tmp_path / "wrapped")
    assert json.loads((built / "dataset.json").read_text())["labels"] == LABELS
    nus_folder(tmp_path / "deep" / "a" / "b")
    with pytest.raises(DataError, match=r"deep holds no small_train\.json at its top or in a folder directly under"):
        build_nus(tmp_path, tmp_path / "deep", name="deep")


def test_a_failed_attempt_leaves_nothing_that_a_later_build_reuses(tmp_path):
    first = nus_folder(tmp_path / "first", labels=["old1", "old2", "old3"])
    (first / "small_test.json").unlink()  # the first attempt fails after its train annotations were copied
    with pytest.raises(DataError, match="small_test.json is missing beside small_train.json"):
        build_nus(tmp_path, first)
    data = tmp_path / "results"
    assert sorted(os.listdir(data)) == [], "no staging folder or file of the failed attempt may remain"
    images_only = tmp_path / "second"
    images_only.mkdir()
    (images_only / "1_a.jpg").write_bytes(jpeg((1, 2, 3)))
    with pytest.raises(DataError, match="holds no small_train.json"):  # not the first attempt's annotations
        build_nus(tmp_path, images_only)
    built = build_nus(tmp_path, nus_folder(tmp_path / "third"))
    assert json.loads((built / "dataset.json").read_text())["labels"] == LABELS
    assert json.loads((built / "small_train.json").read_text())["labels"] == LABELS


def test_a_rebuild_replaces_the_whole_folder(tmp_path):
    built = build_nus(tmp_path, nus_folder(tmp_path / "a", names={"train": ["x.jpg"], "test": ["y.jpg"]}))
    assert (built / "x.jpg").is_file()
    build_nus(tmp_path, nus_folder(tmp_path / "b"))
    assert not (built / "x.jpg").exists() and (built / "1_a.jpg").is_file()


# ----------------------------------------------------------------------------- names leading outside
@pytest.mark.parametrize("name", ["/etc/hostname", "../outside.jpg", "images/../../outside.jpg", "C:evil.jpg",
                                  "..\\outside.jpg"])
def test_image_names_leading_outside_are_refused_naming_the_sample(tmp_path, name):
    (tmp_path / "outside.jpg").write_bytes(jpeg((255, 0, 0)))
    source = nus_folder(tmp_path / "src")
    ann = json.loads((source / "small_train.json").read_text())
    ann["samples"][1]["image_name"] = name
    (source / "small_train.json").write_text(json.dumps(ann))
    with pytest.raises(DataError) as err:
        build_nus(tmp_path, source)
    assert f"small_train.json, sample 1 ({name!r}): image_name" in str(err.value)
    assert "must be a path inside the dataset folder" in str(err.value)


def test_a_symlink_inside_a_path_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg((255, 0, 0)))
    source = nus_folder(tmp_path / "src")
    (source / "2_b.jpg").unlink()
    (source / "2_b.jpg").symlink_to(secret)
    with pytest.raises(DataError, match=r"src/2_b\.jpg is a symbolic link; a dataset folder must hold its files"):
        build_nus(tmp_path, source)
    assert not list((tmp_path / "results").rglob("*.jpg")), "nothing from outside may be copied"


def test_a_name_resolving_outside_through_a_link_is_refused(tmp_path):
    folder = nus_folder(tmp_path / "built")
    (folder / "linked").symlink_to(tmp_path)
    ann = json.loads((folder / "small_test.json").read_text())
    ann["samples"][0]["image_name"] = "linked/outside.jpg"
    (folder / "small_test.json").write_text(json.dumps(ann))
    with pytest.raises(DataError, match=r"sample 0 \('linked/outside\.jpg'\).*linked is a symbolic link"):
        nus.check_folder(folder)


def _tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    with tarfile.open(path, "w") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize("member,message", [
    (_member("../evil.jpg"), r"member '\.\./evil\.jpg' refused .*outside the destination"),
    (_member("/tmp/evil.jpg"), r"member '/tmp/evil\.jpg' has an absolute name"),
    (_member("nus/link.jpg", tarfile.SYMTYPE, "/etc/passwd"),
     r"member 'nus/link\.jpg' is a symbolic link to '/etc/passwd'"),
    (_member("nus/inside.jpg", tarfile.SYMTYPE, "1_a.jpg"), r"member 'nus/inside\.jpg' is a symbolic link"),
    (_member("nus/hard.jpg", tarfile.LNKTYPE, "nus/1_a.jpg"), r"member 'nus/hard\.jpg' is a hard link"),
])
def test_tar_members_with_traversal_or_links_are_refused(tmp_path, member, message):
    archive = _tar(tmp_path / "nus.tar", [_member("nus/1_a.jpg"), member])
    with pytest.raises(DataError, match=message):
        build_nus(tmp_path, archive)
    assert not (tmp_path / "evil.jpg").exists() and not Path("/tmp/evil.jpg").exists()


@pytest.mark.parametrize("name,attr,message", [
    ("../evil.jpg", 0, "would be written outside"),
    ("/abs/evil.jpg", 0, "would be written outside"),
    ("C:/evil.jpg", 0, "would be written outside"),
    ("nus\\..\\..\\evil.jpg", 0, "would be written outside"),
    ("nus/link.jpg", (stat.S_IFLNK | 0o777) << 16, "is a symbolic link"),
])
def test_zip_members_follow_the_same_rules(tmp_path, name, attr, message):
    archive = tmp_path / "nus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("nus/1_a.jpg", b"x")
        info = zipfile.ZipInfo(name)
        info.external_attr = attr
        zf.writestr(info, b"/etc/passwd")
    with pytest.raises(DataError, match=re.escape(f"nus.zip: member {name!r} ") + message):
        build_nus(tmp_path, archive)


def test_a_zip_archive_in_the_right_layout_builds(tmp_path):
    source = nus_folder(tmp_path / "src")
    archive = tmp_path / "nus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in source.iterdir():
            zf.write(f, f"nus_wide/{f.name}")
    built = build_nus(tmp_path, archive)
    assert json.loads((built / "dataset.json").read_text())["usable"] == {"train": 2, "test": 1}


# ------------------------------------------------------------------------- archives with a size budget
ZEROS = bytes(4 << 20)  # 4 MiB of zeros: ~4 kB compressed, ~1000:1


def _ratio_refusal(archive, member: str, size: str = "4,194,304", at_least: bool = False) -> str:
    rest = "the rest" if at_least else "it"
    return (rf"{re.escape(str(archive))}: member {re.escape(repr(member))} expands {'at least ' if at_least else ''}"
            rf"[\d,]+:1 \({size} bytes from [\d,]+\), over the limit of 200:1 \(archive_limits\.max_ratio\); refused "
            rf"before reading {rest} \(a compression bomb\?\)")


def test_a_tar_member_far_larger_than_its_compressed_size_is_refused_before_it_is_written(tmp_path):
    source = nus_folder(tmp_path / "src")
    archive = tmp_path / "nus.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="nus")
        info = tarfile.TarInfo("nus/zeros.jpg")
        info.size = len(ZEROS)
        tar.addfile(info, io.BytesIO(ZEROS))
    with pytest.raises(DataError) as err:
        build_nus(tmp_path, archive)
    assert re.fullmatch(_ratio_refusal(archive, "nus/zeros.jpg"), str(err.value)), str(err.value)
    assert not list((tmp_path / "results").rglob("*.jpg")), "nothing of the archive may remain"


def test_many_small_tar_members_are_budgeted_together(tmp_path):
    """Each member below the 1 MiB where a ratio starts to count, but together ~1000:1 of the archive's size."""
    archive = tmp_path / "nus.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(nus_folder(tmp_path / "src"), arcname="nus")
        for i in range(64):
            info = tarfile.TarInfo(f"nus/zeros_{i:02d}.jpg")
            info.size = 64 << 10
            tar.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(DataError) as err:
        build_nus(tmp_path, archive)
    expected = (rf"{re.escape(str(archive))}: its members up to 'nus/zeros_\d\d\.jpg' expand to [\d,]+ bytes from an "
                r"archive of [\d,]+ \([\d,]+:1\), over the limit of 200:1 \(archive_limits\.max_ratio\); refused "
                r"before reading it \(a compression bomb\?\)")
    assert re.fullmatch(expected, str(err.value)), str(err.value)


def test_a_zip_member_far_larger_than_its_compressed_size_is_refused_before_anything_is_written(tmp_path):
    archive = tmp_path / "nus.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in nus_folder(tmp_path / "src").iterdir():
            zf.write(f, f"nus/{f.name}")
        zf.writestr("nus/zeros.jpg", ZEROS)
    with pytest.raises(DataError) as err:
        build_nus(tmp_path, archive)
    assert re.fullmatch(_ratio_refusal(archive, "nus/zeros.jpg"), str(err.value)), str(err.value)
    assert re.search(r"expands 1,0\d\d:1", str(err.value)), "deflate's ~1000:1 on zeros"
    assert not list((tmp_path / "results").rglob("*.jpg"))


def test_a_member_over_the_datasets_own_size_limit_is_refused_naming_the_key(tmp_path):
    archive = tmp_path / "nus.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(nus_folder(tmp_path / "src"), arcname="nus")
    size = (tmp_path / "src/1_a.jpg").stat().st_size
    spec = {"source": "nuswide", "path": str(archive), "archive_limits": {"max_member_bytes": 100}}
    with pytest.raises(DataError) as err:
        build("nus", spec, [], tmp_path / "results" / "nus")
    assert str(err.value) == (f"{archive}: member 'nus/1_a.jpg' is {size:,} bytes uncompressed, over the limit of "
                              "100 (archive_limits.max_member_bytes); refused before reading it")
    spec["archive_limits"] = {"max_member_bytes": size}
    build("nus", spec, [], tmp_path / "results" / "nus")  # at the limit is within it


def test_a_cifar_member_past_the_ratio_is_refused_before_it_is_unpickled(tmp_path):
    archive = _cifar_with(tmp_path, "data_batch_3", ZEROS)  # ~40:1 over the whole archive, within 200:1
    with pytest.raises(DataError, match="data_batch_3 is not a CIFAR-10 batch"):  # read, then refused as no batch
        real.cifar10(archive)
    spec = {"source": "cifar10", "archive_limits": {"max_ratio": 20}}
    with pytest.raises(DataError) as err:
        build("cifar", spec, [str(archive)], tmp_path / "cifar")
    message = str(err.value)
    assert message.startswith(f"{archive}: member 'cifar-10-batches-py/data_batch_3' expands "), message
    assert "over the limit of 20:1 (archive_limits.max_ratio); refused before reading it" in message


def test_an_mnist_file_expanding_past_the_ratio_is_refused_while_it_is_read(tmp_path):
    make_mnist(tmp_path)
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(ZEROS))
    with pytest.raises(DataError) as err:
        real.mnist(tmp_path)
    assert re.fullmatch(_ratio_refusal(bomb, "train-images-idx3-ubyte", "2,097,152", at_least=True), str(err.value)), \
        str(err.value)


def test_a_caltech_archive_is_budgeted_at_both_levels(tmp_path):
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for i, data in enumerate([jpeg((1, 2, 3)), ZEROS]):
            info = tarfile.TarInfo(f"101_ObjectCategories/ant/image_{i + 1:04d}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = tmp_path / "caltech-101.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("caltech-101/101_ObjectCategories.tar.gz", inner.getvalue())
    with pytest.raises(DataError) as err:
        real.caltech101(archive, ["ant"], size=16)
    where = f"{archive}: caltech-101/101_ObjectCategories.tar.gz"
    assert re.fullmatch(_ratio_refusal(where, "101_ObjectCategories/ant/image_0002.jpg"), str(err.value)), \
        str(err.value)
    with pytest.raises(DataError, match=re.escape(f"{archive}: member 'caltech-101/101_ObjectCategories.tar.gz' is "
                                                  f"{len(inner.getvalue()):,} bytes uncompressed, over the limit of "
                                                  "1,000 (archive_limits.max_member_bytes)")):
        real.caltech101(archive, ["ant"], size=16, limits=real.ArchiveLimits(max_member_bytes=1000))


# ---------------------------------------------------------------------------- labels and usable images
def test_a_tag_outside_the_label_list_fails_the_build_naming_the_sample(tmp_path):
    source = nus_folder(tmp_path / "src", tags=["sky", "sunset"])
    with pytest.raises(DataError, match=r"small_train\.json, sample 0 \('1_a\.jpg'\): tags \['sunset'\] are not in"):
        build_nus(tmp_path, source)


def test_undecodable_images_are_skipped_listed_and_counted(tmp_path):
    from labelbench.report import run_facts

    source = nus_folder(tmp_path / "src", names={"train": ["1.jpg", "2.jpg", "3.jpg"], "test": ["4.jpg"]})
    (source / "2.jpg").write_bytes(b"\xff\xd8 truncated")
    built = build_nus(tmp_path, source)
    sidecar = json.loads((built / "dataset.json").read_text())
    assert sidecar["skipped"] == {"train": ["2.jpg"], "test": []}
    assert sidecar["usable"] == {"train": 2, "test": 1} and sidecar["n"] == 3
    facts = run_facts({}, [], tmp_path, {"nus": str(built / "dataset.json")}, {})
    assert facts["datasets"][0]["skipped"] == 1 and facts["datasets"][0]["n"] == 3
    dataset_figures(built, tmp_path / "samples.png", tmp_path / "labels.png", n=4)  # skips it too
    assert (tmp_path / "samples.png").stat().st_size > 0


def test_a_split_below_the_minimum_share_fails_naming_it(tmp_path):
    source = nus_folder(tmp_path / "src", names={"train": ["1.jpg"], "test": ["2.jpg", "3.jpg", "4.jpg"]})
    (source / "3.jpg").unlink()
    (source / "4.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"split 'test' has 1 usable image\(s\) of the 3 it lists \(at least 50%"):
        build_nus(tmp_path, source)


def test_figures_of_a_one_pixel_dataset_are_drawn(tmp_path):
    images = np.full((4, 1, 1, 3), 200, np.uint8)
    samples = pd.DataFrame({"split": ["train", "train", "test", "test"], "label": [0, 1, 0, 1]})
    write_dataset(tmp_path / "tiny", Dataset(images, samples, ["a", "b"]), "shapes", {}, {})
    dataset_figures(tmp_path / "tiny", tmp_path / "s.png", tmp_path / "l.png", n=4)
    with Image.open(tmp_path / "s.png") as im:
        assert im.size[0] > 50
    source = nus_folder(tmp_path / "src")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(source / "1_a.jpg", format="JPEG")
    dataset_figures(build_nus(tmp_path, source), tmp_path / "s2.png", tmp_path / "l2.png", n=4)


# ------------------------------------------------------------------------------------------- CIFAR-10
class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _cifar_with(tmp_path: Path, name: str, payload: bytes | None = None, member: tarfile.TarInfo | None = None):
    good = make_cifar(tmp_path)
    archive = tmp_path / "crafted.tar.gz"
    with tarfile.open(good) as src, tarfile.open(archive, "w:gz") as dst:
        for info in src.getmembers():
            if info.name.endswith(name):
                if member is not None:
                    dst.addfile(member)
                    continue
                info.size = len(payload)
                dst.addfile(info, io.BytesIO(payload))
            else:
                dst.addfile(info, src.extractfile(info))
    return archive


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval"])
def test_a_crafted_cifar_batch_is_refused_without_running(tmp_path, payload):
    marker = tmp_path / "ran"
    obj = _RunsCode(marker) if payload == "os.system" else _Eval(marker)
    data = pickle.dumps({"data": obj, "labels": []}, protocol=2)
    archive = _cifar_with(tmp_path, "data_batch_3", data)
    expected = (r"data_batch_3 is not a CIFAR-10 batch: it names (posix|builtins|__builtin__)\.\w+, which a CIFAR-10 "
                r"batch never holds .*refused without running it")
    with pytest.raises(DataError, match=expected):
        real.cifar10(archive)
    assert not marker.exists(), "the payload ran"


class _Eval:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return eval, (f"open({str(self.marker)!r}, 'w')",)


def test_a_cifar_batch_member_that_is_a_symlink_is_named(tmp_path):
    link = _member("cifar-10-batches-py/test_batch", tarfile.SYMTYPE, "data_batch_1")
    archive = _cifar_with(tmp_path, "test_batch", member=link)
    with pytest.raises(DataError, match=r"member cifar-10-batches-py/test_batch is a symbolic link; expected the "
                                        r"pickled batch itself"):
        real.cifar10(archive)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_real_format_batches_load_under_every_pickle_protocol(tmp_path, protocol):
    rng = np.random.default_rng(protocol)
    batch = {"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), "labels": [1, 2, 3], "batch_label": "b",
             "filenames": ["a.png", "b.png", "c.png"]}
    archive = _cifar_with(tmp_path, "data_batch_2", pickle.dumps(batch, protocol=protocol))
    ds = real.cifar10(archive)
    assert ds.images.shape == (33, 32, 32, 3)
    np.testing.assert_array_equal(ds.images[6:9], batch["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def test_a_cifar_batch_of_the_wrong_type_is_named(tmp_path):
    batch = {"data": np.zeros((2, 3072), np.float64), "labels": [0, 1]}
    archive = _cifar_with(tmp_path, "data_batch_1", pickle.dumps(batch))
    with pytest.raises(DataError, match=r"data_batch_1: 'data' must be a uint8 array of N×3072 pixels"):
        real.cifar10(archive)


# ------------------------------------------------------------------------- the user's folders and CSVs
def _landmark_folder(root: Path, rows: list[str], bom: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        Image.new("RGB", (10, 10), (30 * i, 0, 0)).save(root / f"{i}.png")
    text = "image,presence,x1,y1,split\n" + "".join(r + "\n" for r in rows)
    (root / "landmarks.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return root


def test_a_landmark_csv_with_a_byte_order_mark_is_read(tmp_path):
    root = _landmark_folder(tmp_path / "lm", ["0.png,1,0.5,0.5,train", "1.png,0,,,train", "2.png,1,0.1,0.9,test"],
                            bom=True)
    ds = landmark_csv(root, size=8)
    assert ds.samples["presence"].tolist() == [1.0, 0.0, 1.0] and ds.samples["file"].tolist()[0] == "0.png"


def test_a_landmark_image_outside_the_folder_is_refused_naming_the_line(tmp_path):
    Image.new("RGB", (10, 10)).save(tmp_path / "outside.png")
    root = _landmark_folder(tmp_path / "lm", ["0.png,1,0.5,0.5,train", "../outside.png,0,,,test"])
    with pytest.raises(DataError, match=r"landmarks\.csv, line 3: image: '\.\./outside\.png' must be a path inside"):
        landmark_csv(root, size=8)


def test_an_empty_split_fails_the_build_naming_it(tmp_path):
    root = _landmark_folder(tmp_path / "lm", ["0.png,1,0.5,0.5,train", "1.png,0,,,train"])
    spec = {"source": "landmark_csv", "path": str(root), "size": 8}
    with pytest.raises(DataError, match=r"dataset 'lm' \(landmark_csv\): its 'test' split has no images"):
        build("lm", spec, [str(root / "landmarks.csv")], tmp_path / "out")


def _image_folder(root: Path, classes: list[str]) -> Path:
    for k, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (12, 12), (50 * k, 20 * i, 0)).save(root / cls / f"{i}.png")
    return root


def test_a_symlink_in_an_image_folder_is_refused(tmp_path):
    root = _image_folder(tmp_path / "imgs", ["a", "b"])
    Image.new("RGB", (12, 12)).save(tmp_path / "private.png")
    (root / "a" / "9.png").symlink_to(tmp_path / "private.png")
    with pytest.raises(DataError, match=r"imgs/a/9\.png is a symbolic link"):
        real.imagefolder(root, size=8)


def test_mosaics_from_an_image_folder_of_three_classes_fail_when_built(tmp_path):
    root = _image_folder(tmp_path / "imgs", ["a", "b", "c"])
    build("tiles", {"source": "imagefolder", "path": str(root), "size": 8, "test_fraction": 0.25}, [],
          tmp_path / "tiles")
    spec = {"source": "mosaic", "tiles": "tiles", "n_train": 4, "n_test": 2}
    with pytest.raises(DataError, match=r"mosaics need tiles of at least 4 classes .*has 3: \['a', 'b', 'c'\]"):
        build("m", spec, [str(tmp_path / "tiles/dataset.json")], tmp_path / "m")


def test_the_masked_loss_refuses_a_dataset_of_other_than_its_classes(tmp_path):
    from labelbench.experiments import get_experiment

    training_targets = get_experiment("masked").training_targets

    root = _image_folder(tmp_path / "imgs", ["a", "b", "c"])
    ds = real.imagefolder(root, size=8)
    with pytest.raises(ConfigError, match=r"masked_cce expects 10 classes .* the dataset has 3"):
        training_targets(ds, {"loss": "masked_cce", "mask": "odd"})
    assert training_targets(ds, {"loss": "masked_cce", "loss_args": {"n_classes": 3}}).shape == (12, 4)


def test_the_built_dataset_loads(tmp_path):
    """The helpers above build real datasets: a sanity check that the happy path still round-trips."""
    root = _image_folder(tmp_path / "imgs", ["a", "b", "c", "d"])
    build("tiles", {"source": "imagefolder", "path": str(root), "size": 8}, [], tmp_path / "tiles")
    assert load_dataset(tmp_path / "tiles").images.shape == (16, 8, 8, 3)
    shutil.rmtree(tmp_path / "tiles")


# ---------------------------------------------------------------- a user's data is an input (issue 29, point 2)
def _first_image(folder: Path) -> Path:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".png", ".jpg"))[0]


def _modify(folder: Path) -> None:
    _first_image(folder).write_bytes(jpeg((1, 2, 3)))


def _add(folder: Path) -> None:
    (_first_image(folder).parent / "added.jpg").write_bytes(jpeg((4, 5, 6)))


def _remove(folder: Path) -> None:
    _first_image(folder).unlink()


def test_the_manifest_of_a_user_folder_changes_with_its_files_and_only_with_them(tmp_path):
    root = _image_folder(tmp_path / "imgs", ["a", "b"])
    first = path_manifest(root)
    assert first.startswith("8 files, ") and path_manifest(root) == first  # same folder, same string
    image = root / "a" / "0.png"
    st = image.stat()
    image.write_bytes(image.read_bytes()[::-1])  # same size, new time
    assert path_manifest(root) != first
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path_manifest(root) == first  # the documented limit: same size and the old time put back
    (root / "c").mkdir()  # an empty class folder changes what the build says
    assert path_manifest(root) != first
    (root / "c").rmdir()
    _remove(root)
    assert path_manifest(root).startswith("7 files, ")


def test_the_manifest_does_not_follow_a_link_out_of_the_folder(tmp_path):
    root = _image_folder(tmp_path / "imgs", ["a", "b"])
    outside = tmp_path / "private.png"
    outside.write_bytes(b"secret")
    (root / "a" / "9.png").symlink_to(outside)
    before = path_manifest(root)
    outside.write_bytes(b"another secret, longer")
    assert path_manifest(root) == before  # only the link itself is looked at (the build refuses it)


def test_the_manifest_of_an_archive_or_a_missing_path(tmp_path):
    archive = tmp_path / "nus.tar"
    archive.write_bytes(b"x" * 10)
    assert path_manifest(archive).startswith("1 files, 10 bytes, stat ")
    assert path_manifest(tmp_path / "nowhere") == "missing"


def test_only_a_path_the_build_reads_itself_is_watched():
    assert user_path({"source": "imagefolder", "path": "imgs", "size": 8}) == "imgs"
    assert user_path({"source": "nuswide", "path": "nus.zip"}) == "nus.zip"
    assert user_path({"source": "nuswide", "path": "nus", "url": "https://example.org/nus.zip"}) is None
    assert user_path({"source": "mnist", "path": "mnist"}) is None  # its files are inputs of their own
    assert user_path({"source": "digits", "size": 28}) is None


def _tar_folder(folder: Path, archive: Path) -> None:
    with tarfile.open(archive, "w") as tar:
        for p in sorted(folder.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(folder)), recursive=False)


def _planned_builds(workdir: Path, args: list[str]) -> dict[str, str]:
    """{dataset: reason} of the build_dataset jobs ``snakemake -n`` lists."""
    proc = run_snakemake(workdir, *args, "-n")
    out = proc.stdout + proc.stderr
    blocks = [b for b in re.split(r"\n(?=\[|rule \w+:)", out) if b.lstrip().startswith("rule build_dataset:")]
    return {re.search(r"wildcards: dataset=(\w+)", b).group(1): re.search(r"reason: (.*)", b).group(1)
            for b in blocks}


@pytest.mark.e2e
def test_a_changed_added_or_removed_user_file_rebuilds_its_dataset_and_nothing_else(tmp_path):
    """For each kind of user data: record a build, then change one file at a time (and put it back): the dry run
    lists that dataset's build with the change in its reason; untouched, nothing is planned."""
    data = tmp_path / "data"
    folders = {
        "imgs": _image_folder(data / "imgs", ["a", "b"]),
        "nus": nus_folder(data / "nus"),
        "nus_tar": nus_folder(tmp_path / "nus_tar_src"),  # the archive's content, changed and packed again
        "lm": _landmark_folder(data / "lm", ["0.png,1,0.5,0.5,train", "1.png,0,,,train", "2.png,1,0.1,0.9,test"]),
    }
    _tar_folder(folders["nus_tar"], data / "nus.tar")
    specs = {
        "imgs": {"source": "imagefolder", "path": str(data / "imgs"), "size": 8, "test_fraction": 0.25},
        "nus": {"source": "nuswide", "path": str(data / "nus")},
        "nus_tar": {"source": "nuswide", "path": str(data / "nus.tar")},
        "lm": {"source": "landmark_csv", "path": str(data / "lm"), "size": 8},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"datasets": specs, "experiments": {}}))
    targets = [f"results/data/{name}/dataset.json" for name in specs]
    args = [*targets, "--configfile", str(tmp_path / "c.yaml")]
    for name, spec in specs.items():  # built here (seconds), recorded by Snakemake without running a job
        inputs = [str(data / "lm" / "landmarks.csv")] if name == "lm" else []
        build(name, spec, inputs, tmp_path / "results" / "data" / name)
    run_snakemake(tmp_path, *args, "--touch", "--forcerun", "build_dataset")
    assert _planned_builds(tmp_path, args) == {}
    kept = tmp_path / "kept"
    shutil.copytree(data, kept / "data")  # copy2: the same bytes and modification times
    shutil.copytree(folders["nus_tar"], kept / "nus_tar_src")

    for change in (_modify, _add, _remove):
        for folder in folders.values():
            change(folder)
        _tar_folder(folders["nus_tar"], data / "nus.tar")
        planned = _planned_builds(tmp_path, args)
        assert sorted(planned) == sorted(specs), (change.__name__, planned)
        for name, reason in planned.items():
            assert "Params have changed" in reason and "user_files" in reason, (change.__name__, name, reason)
        for folder in (data, folders["nus_tar"]):
            shutil.rmtree(folder)
        shutil.copytree(kept / "data", data)
        shutil.copytree(kept / "nus_tar_src", folders["nus_tar"])
    assert _planned_builds(tmp_path, args) == {}  # put back as it was: nothing to do
