"""Embedded data: deterministic generators, the on-disk format with checksums, mosaics, image folders."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labelbench.datasets import embedded, mosaic
from labelbench.datasets.build import build
from labelbench.datasets.real import imagefolder
from labelbench.datasets.store import Dataset, load_dataset, write_dataset
from labelbench.errors import ChecksumError, DataError


def _tiles(seed=0, n=8):
    return embedded.shapes(list(embedded.S.SHAPES), 16, n, 3, seed=seed)


def test_shapes_are_reproducible_byte_for_byte_and_differ_by_seed():
    a, b, c = _tiles(0), _tiles(0), _tiles(1)
    assert a.images.tobytes() == b.images.tobytes()
    assert a.masks.tobytes() == b.masks.tobytes()
    assert a.images.tobytes() != c.images.tobytes()


def test_shapes_masks_mark_the_object_and_classes_are_balanced():
    ds = embedded.shapes(["circle", "square", "star"], 32, 20, 5, seed=2)
    assert ds.images.shape == (75, 32, 32, 3) and ds.images.dtype == np.uint8
    assert np.bincount(ds.samples["label"]).tolist() == [25, 25, 25]
    cover = ds.masks.reshape(len(ds.masks), -1).mean(axis=1)
    assert (cover > 0.05).all() and (cover < 0.9).all()
    # the object's pixels differ from the background on average
    inside = [ds.images[i][ds.masks[i] > 0].mean() for i in range(10)]
    outside = [ds.images[i][ds.masks[i] == 0].mean() for i in range(10)]
    assert np.mean(np.abs(np.subtract(inside, outside))) > 20


def test_landmarks_have_empty_images_with_zero_keypoints_and_vertices_inside():
    ds = embedded.shapes_landmarks("triangle", 48, 200, 50, empty_fraction=0.3, seed=1)
    empty = ds.samples["presence"] == 0
    assert 0.2 < empty.mean() < 0.4
    kp = ds.samples.filter(regex=r"^kp\d_[xy]$").to_numpy()
    assert (kp[empty.to_numpy()] == 0).all()
    assert (ds.masks[empty.to_numpy()] == 0).all()
    assert ((kp[~empty.to_numpy()] >= -1) & (kp[~empty.to_numpy()] <= 49)).all()


def test_scenes_are_written_in_nuswide_format_with_imbalanced_tags(tmp_path):
    info = embedded.shapes_scenes(tmp_path, 48, 150, 30, seed=0)
    ann = json.loads((tmp_path / "small_train.json").read_text())
    assert set(ann) == {"samples", "labels"} and len(ann["samples"]) == 150
    assert all((tmp_path / s["image_name"]).is_file() for s in ann["samples"])
    assert all(set(s["image_labels"]) <= set(ann["labels"]) and s["image_labels"] for s in ann["samples"])
    counts = sorted(info["tag_counts"].values(), reverse=True)
    assert counts[0] >= 5 * max(counts[-1], 1)


def test_store_round_trip_and_checksum_detects_corruption(tmp_path):
    ds = _tiles()
    write_dataset(tmp_path / "d", ds, source="shapes", params={"seed": 0}, inputs={})
    back = load_dataset(tmp_path / "d")
    assert back.images.tobytes() == ds.images.tobytes()
    pd.testing.assert_frame_equal(back.samples, ds.samples)
    sidecar = json.loads((tmp_path / "d/dataset.json").read_text())
    assert set(sidecar["files"]) == {"images.npy", "samples.parquet", "masks.npy"}
    raw = bytearray((tmp_path / "d/images.npy").read_bytes())
    raw[-1] ^= 0xFF
    (tmp_path / "d/images.npy").write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="images.npy"):
        load_dataset(tmp_path / "d")


def test_unfinished_dataset_is_not_trusted(tmp_path):
    ds = _tiles()
    write_dataset(tmp_path / "d", ds, source="shapes", params={}, inputs={})
    (tmp_path / "d/dataset.json").unlink()
    with pytest.raises(DataError, match="never finished"):
        load_dataset(tmp_path / "d")


def test_mosaics_have_four_distinct_classes_from_the_right_split():
    tiles = _tiles(n=20)
    ds = mosaic.from_tiles(tiles, n_train=500, n_test=100, seed=3)
    tags = ds.samples[ds.tag_columns].to_numpy()
    assert (tags.sum(axis=1) == 4).all()
    quads = ds.samples[[f"quadrant{q}" for q in range(4)]].to_numpy()
    assert all(len(set(row)) == 4 for row in quads)
    # each quadrant of a mosaic is a tile of the stated class and of the same split
    for split in ("train", "test"):
        src = tiles.split(split)
        lookup = {src.images[i].tobytes(): src.samples["label"][i] for i in range(len(src.images))}
        part = ds.split(split)
        for i in range(20):
            im = part.images[i]
            cells = [im[:16, :16], im[:16, 16:], im[16:, :16], im[16:, 16:]]
            stated = part.samples.loc[i, [f"quadrant{q}" for q in range(4)]].tolist()
            assert [lookup[c.tobytes()] for c in cells] == stated


def test_mosaic_synthesis_is_seeded():
    tiles = _tiles()
    a = mosaic.synthesise(tiles.images, tiles.targets(), 50, 10, seed=1)
    b = mosaic.synthesise(tiles.images, tiles.targets(), 50, 10, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_mosaic_needs_four_classes():
    images = np.zeros((6, 4, 4, 3), np.uint8)
    with pytest.raises(DataError, match="at least 4 classes"):
        mosaic.synthesise(images, np.array([0, 0, 1, 1, 2, 2]), 5, 10, seed=0)


def test_digits_are_28px_with_a_stratified_split():
    ds = embedded.digits()
    assert ds.images.shape[1:] == (28, 28, 1)
    test = ds.samples[ds.samples["split"] == "test"]
    assert abs(len(test) / len(ds.samples) - 0.25) < 0.01
    assert set(test["label"]) == set(range(10))


def _make_folder(root, classes, per_class=3):
    for k, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (20 + i, 18), (40 * k, 10 * i, 90)).save(root / cls / f"{i}.png")


def test_imagefolder_reads_classes_and_resizes(tmp_path):
    _make_folder(tmp_path / "imgs", ["a", "b", "c", "d"])
    ds = imagefolder(tmp_path / "imgs", size=16, test_fraction=0.25, min_classes=4)
    assert ds.classes == ["a", "b", "c", "d"] and ds.images.shape == (12, 16, 16, 3)


def test_imagefolder_errors_name_the_path(tmp_path):
    _make_folder(tmp_path / "imgs", ["a", "b", "c"])
    with pytest.raises(DataError, match="3 class folder.*at least 4"):
        imagefolder(tmp_path / "imgs", size=16, min_classes=4)
    (tmp_path / "imgs" / "empty").mkdir()
    with pytest.raises(DataError, match=r"imgs/empty holds no images"):
        imagefolder(tmp_path / "imgs", size=16)
    (tmp_path / "imgs" / "empty" / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"cannot read image .*bad\.jpg"):
        imagefolder(tmp_path / "imgs", size=16)


def test_build_writes_sidecar_last_with_generator_params(tmp_path):
    spec = {"source": "shapes", "classes": ["circle", "ring"], "size": 16, "n_train_per_class": 4,
            "n_test_per_class": 2, "seed": 0}
    build("tiny", spec, [], tmp_path / "tiny")
    sidecar = json.loads((tmp_path / "tiny/dataset.json").read_text())
    assert sidecar["params"]["classes"] == ["circle", "ring"] and sidecar["splits"] == {"test": 4, "train": 8}


def test_dataset_rejects_wrong_shapes():
    with pytest.raises(DataError, match="uint8"):
        Dataset(np.zeros((2, 4, 4, 3), np.float32), pd.DataFrame({"split": ["train"] * 2}), ["a"])


def test_a_change_to_a_dataset_is_noticed_without_writing_and_checked_by_hashing(tmp_path, caplog):
    from labelbench.datasets.store import check_dataset, dataset_change

    spec = {"source": "shapes", "classes": ["circle", "ring"], "size": 16, "n_train_per_class": 4,
            "n_test_per_class": 2, "seed": 0}
    out = tmp_path / "tiny"
    assert dataset_change(out) is None  # not built yet
    build("tiny", spec, [], out)
    assert dataset_change(out) is None  # intact, never changed
    files = sorted(p.name for p in out.iterdir())
    images = out / "images.npy"
    os.utime(images, ns=(1, 1))  # only its time: the check hashes it and finds it intact
    touched = dataset_change(out)
    assert touched and sorted(p.name for p in out.iterdir()) == files  # asking wrote nothing
    assert check_dataset(out, tmp_path / "report.txt") == []
    assert "every sha256 matches" in caplog.text
    data = bytearray(images.read_bytes())
    data[-1] ^= 0xFF
    images.write_bytes(bytes(data))
    damaged = dataset_change(out)
    assert damaged not in (None, touched)
    problems = check_dataset(out, tmp_path / "report.txt")
    assert len(problems) == 1 and "images.npy does not match its sha256" in problems[0]
    assert "the dataset will be rebuilt" in caplog.text
    build("tiny", spec, [], out, checks=[f"results/checks/data/tiny/{damaged}.txt"])
    assert dataset_change(out) == damaged  # the rebuilt dataset names the finished check: nothing new to do
    (out / "samples.parquet").unlink()
    assert dataset_change(out) not in (None, damaged)
    assert "samples.parquet is missing" in check_dataset(out, tmp_path / "report.txt")[0]
    (out / "dataset.json").write_text("{not json")
    assert dataset_change(out).startswith("unreadable_")
