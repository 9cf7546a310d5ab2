"""Every downloader against a loopback HTTP server serving small archives in the exact upstream formats."""

import json
import pickle
import tarfile

import numpy as np
import pytest
from archives import make_caltech, make_cifar, make_mnist, make_nus, md5, serve

from labelbench.datasets import real
from labelbench.datasets.build import build
from labelbench.datasets.download import download
from labelbench.datasets.sources import get_source
from labelbench.datasets.store import load_dataset
from labelbench.errors import ChecksumError, DataError


@pytest.fixture
def server(tmp_path):
    """(folder served, its base URL) of a loopback HTTP server (tests/archives.py)."""
    root = tmp_path / "www"
    root.mkdir()
    with serve(root) as url:
        yield root, url


# ------------------------------------------------------------------------------------------ the tests
def test_cifar10_download_and_read(server, tmp_path):
    root, url = server
    archive = make_cifar(root)
    spec = {"source": "cifar10", "mirror": url, "checksums": {archive.name: md5(archive)}}
    (name, (file_url, file_md5)), = get_source("cifar10").remote_files(spec).items()
    got = download(file_url, tmp_path / "dl" / name, file_md5)
    build("cifar", spec, [str(got)], tmp_path / "cifar")
    ds = load_dataset(tmp_path / "cifar")
    assert ds.images.shape == (36, 32, 32, 3) and ds.classes[0] == "airplane"
    assert (ds.samples["split"] == "test").sum() == 6
    # the first training image is the first row of data_batch_1, channel-first → channel-last
    with tarfile.open(archive) as tar:
        first = pickle.load(tar.extractfile("cifar-10-batches-py/data_batch_1"))["data"][0]
    assert np.array_equal(ds.images[0], first.reshape(3, 32, 32).transpose(1, 2, 0))


def test_upstream_md5s_are_torchvisions():
    assert get_source("cifar10").upstream["files"]["cifar-10-python.tar.gz"] == "c58f30108f718f92721af3b95e74349a"
    assert get_source("caltech101").upstream["files"]["caltech-101.zip"] == "3138e1922a9193bfa496528edbbc45d0"
    assert len(get_source("mnist").upstream["files"]) == 4


def test_mnist_download_and_read(server, tmp_path):
    root, url = server
    sums = make_mnist(root)
    spec = {"source": "mnist", "mirror": url, "checksums": sums}
    paths = [str(download(u, tmp_path / "dl" / n, m)) for n, (u, m) in get_source("mnist").remote_files(spec).items()]
    build("mnist", spec, paths, tmp_path / "mnist")
    ds = load_dataset(tmp_path / "mnist")
    assert ds.images.shape == (17, 28, 28, 1)
    assert ds.samples["split"].value_counts().to_dict() == {"train": 12, "test": 5}


def test_caltech101_selects_samples_and_resizes(server, tmp_path):
    root, url = server
    archive = make_caltech(root)
    got = download(url + archive.name, tmp_path / "dl" / archive.name, md5(archive))
    spec = {"source": "caltech101", "checksums": {archive.name: md5(archive)}, "classes": ["airplanes", "watch",
            "Leopards", "Motorbikes"], "max_per_class": {"airplanes": 6, "Motorbikes": 6}, "size": 24,
            "test_fraction": 0.2, "seed": 0}
    build("cal", spec, [str(got)], tmp_path / "cal")
    ds = load_dataset(tmp_path / "cal")
    assert np.bincount(ds.samples["label"]).tolist() == [6, 5, 5, 6]
    assert ds.images.shape[1:] == (24, 24, 3)
    assert set(ds.samples.loc[ds.samples["split"] == "test", "label"]) == {0, 1, 2, 3}


def test_caltech101_missing_class_is_named(tmp_path):
    archive = make_caltech(tmp_path)
    with pytest.raises(DataError, match="no categories \\['kangaroo'\\]"):
        real.caltech101(archive, ["airplanes", "kangaroo"], 16)


def test_nuswide_archive_download_and_layout(server, tmp_path):
    root, url = server
    archive = make_nus(root)
    spec = {"source": "nuswide", "url": url + archive.name, "md5": md5(archive)}
    (name, (u, m)), = get_source("nuswide").remote_files(spec).items()
    got = download(u, tmp_path / "dl" / name, m)
    build("nus", spec, [str(got)], tmp_path / "nus")
    assert (tmp_path / "nus/small_train.json").is_file() and (tmp_path / "nus/3_c_m.jpg").is_file()
    sidecar = json.loads((tmp_path / "nus/dataset.json").read_text())
    assert sidecar["splits"] == {"train": 2, "test": 1} and sidecar["labels"] == ["sky", "clouds", "water"]


def test_checksum_mismatch_names_file_expected_and_actual(server, tmp_path):
    root, url = server
    archive = make_cifar(root)
    good = md5(archive)
    data = bytearray(archive.read_bytes())
    data[100] ^= 0xFF  # the mirror now serves a corrupted archive
    archive.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as err:
        download(url + archive.name, tmp_path / "dl" / archive.name, good)
    assert good in str(err.value) and md5(archive) in str(err.value) and archive.name in str(err.value)
    assert not (tmp_path / "dl" / archive.name).exists()
    assert not list((tmp_path / "dl").glob("*part*")), "no partial file may be left behind"


def test_truncated_transfer_is_not_kept(server, tmp_path):
    root, url = server
    archive = make_cifar(root)
    with pytest.raises(DataError, match="truncated"):
        download(url + "truncated/" + archive.name, tmp_path / "dl" / archive.name, md5(archive), retries=1)
    assert not (tmp_path / "dl" / archive.name).exists()
    assert not list((tmp_path / "dl").glob("*part*"))


def test_existing_good_file_is_reused_and_bad_one_refetched(server, tmp_path):
    root, url = server
    archive = make_cifar(root)
    dest = tmp_path / "dl" / archive.name
    dest.parent.mkdir()
    dest.write_bytes(b"partial garbage from an interrupted run")
    download(url + archive.name, dest, md5(archive))
    assert md5(dest) == md5(archive)
    mtime = dest.stat().st_mtime_ns
    download(url + "does-not-exist", dest, md5(archive))  # already right: no request is made
    assert dest.stat().st_mtime_ns == mtime


@pytest.mark.e2e
def test_user_copy_via_path_goes_through_the_pipeline(tmp_path, workdir):
    from conftest import run_snakemake

    local = tmp_path / "mycopy"
    local.mkdir()
    sums = make_mnist(local)
    cfg = {"datasets": {"mnist": {"source": "mnist", "path": str(local), "checksums": sums}}, "experiments": {}}
    (workdir / "c.yaml").write_text(json.dumps(cfg))
    run_snakemake(workdir, "--configfile", str(workdir / "c.yaml"), "--cores", "1", "results/data/mnist/dataset.json")
    assert load_dataset(workdir / "results/data/mnist").images.shape == (17, 28, 28, 1)
    assert not (workdir / "results/downloads").exists()
