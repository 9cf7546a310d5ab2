"""configs/paper.yaml end to end, in miniature: every rule of the paper config, from the downloads to the report.

The config is derived from paper.yaml by changing only sizes (images per split, epochs and the epoch cap, Grad-CAM
image counts and faithfulness steps, the speed claim's steps and rounds); the models, input sizes, losses,
optimisers, batch sizes, augmentations and Grad-CAM layers are the paper's. The only other changes are where and
how long it runs, for CPU time on the 2-core test machine: ``device: cpu`` (no GPU in the tests), one seed per
experiment and 2 threads a training job; and where data and weights come from: CIFAR-10's python tarball, MNIST's
idx.gz files, ``caltech-101.zip`` wrapping ``101_ObjectCategories.tar.gz`` and a NUS-WIDE-format archive, tiny and
in the upstream formats, served with their md5s from a loopback HTTP server, and ResNeXt50's weights from a
state-dict file made here. tests/miniature.py lists what may change, and the first test holds the derived config to
that.
"""

import json
import re
import time

import miniature as M
import pandas as pd
import pytest
import yaml
from archives import make_caltech, make_cifar, make_mnist, make_nus, md5, serve
from conftest import ROOT, run_snakemake
from report_checks import browser, check_notebooks, check_report, require_browser

from labelbench.datasets.store import load_dataset

PAPER = M.paper_config()
CLAIM_IDS = {c["id"]: (exp, c) for exp, spec in PAPER["experiments"].items() for c in spec.get("claims", [])}


#: the sources the miniature serves from the loopback server (NUS-WIDE comes through url + md5 instead)
SERVED_SOURCES = ("cifar10", "mnist", "caltech101")


def _by_dataset(per_source: dict) -> dict:
    """{dataset: {file: md5}} for every paper dataset built from a served source, found by its ``source:`` so that
    a dataset added to paper.yaml is served too (caltech4_cl2 once was not, and tried the real URL)."""
    return {name: per_source[spec["source"]] for name, spec in PAPER["datasets"].items()
            if spec["source"] in per_source}


def _derive(mirror="http://127.0.0.1:1/", weights="weights/resnext50_32x4d.pt"):
    sums = _by_dataset({"cifar10": {"cifar-10-python.tar.gz": "0" * 32}, "mnist": {}, "caltech101": {}})
    return M.miniature_config(PAPER, mirror, sums, (mirror + "nus.tar.gz", "1" * 32), weights)


def test_the_miniature_changes_only_sizes_seeds_placement_and_sources():
    mini = _derive()
    changed = M.differing_paths(PAPER, mini)
    assert not M.disallowed(changed), M.disallowed(changed)
    # every dataset the paper downloads is served locally: none may reach for the network
    downloaded = [n for n, d in PAPER["datasets"].items() if d["source"] in SERVED_SOURCES]
    assert {"cifar10", "caltech4", "caltech4_cl2"} <= set(downloaded)
    for name in downloaded:
        assert mini["datasets"][name]["mirror"] == "http://127.0.0.1:1/", name
    # what it does change, so that the allow-list is not vacuous
    for path in ("device", "datasets.mosaic_cifar10.n_train", "experiments.complementary.training.epochs",
                 "experiments.tagging.model.weights", "experiments.complementary.gradcam.table_images",
                 "datasets.nuswide.path", "datasets.nuswide.url"):
        assert path in changed, path
    # shrinking a model, a batch, an input size or a Grad-CAM layer, or widening a claim's scope, is caught
    for path, value in ((("experiments", "mosaic", "model", "width"), 0.25),
                        (("experiments", "complementary", "training", "batch_size"), 8),
                        (("datasets", "caltech3", "size"), 64),
                        (("experiments", "complementary", "gradcam", "layers", "deep"), "add_1"),
                        (("experiments", "tagging", "training", "image_size"), 64),
                        (("experiments", "mosaic", "claims", 3, "scope", "training", "epochs"), 2)):
        shrunk = _derive()
        node = shrunk
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        # (a scope shared through a YAML anchor changes in every claim that uses it)
        assert ".".join(map(str, path)) in M.disallowed(M.differing_paths(PAPER, shrunk))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The tiny upstream archives on a loopback server: (base URL, {dataset: {file: md5}}, (NUS url, md5))."""
    www = tmp_path_factory.mktemp("www")
    cifar = make_cifar(www, per_batch=M.CIFAR_PER_BATCH)
    mnist = make_mnist(www, *M.MNIST_SIZES)
    caltech = make_caltech(www, M.CALTECH_COUNTS, textured=True)
    nus = make_nus(www, *M.NUS_SIZES, labels=M.NUS_LABELS)
    with serve(www) as url:
        sums = _by_dataset({"cifar10": {cifar.name: md5(cifar)}, "mnist": mnist,
                            "caltech101": {caltech.name: md5(caltech)}})
        yield url, sums, (url + nus.name, md5(nus)), www


@pytest.mark.e2e
def test_the_paper_nuswide_spec_reads_a_local_folder(served, workdir):
    """The paper config's own `path: data/nus_wide` route, unchanged: only that dataset is built."""
    import tarfile

    *_, www = served
    with tarfile.open(www / "nus_subset.tar.gz") as tar:
        tar.extractall(workdir / "data", filter="data")  # nus_wide/ with the JSONs and the images
    run_snakemake(workdir, "--configfile", str(ROOT / "configs/paper.yaml"), "--cores", "1",
                  "results/data/nuswide/dataset.json")
    sidecar = json.loads((workdir / "results/data/nuswide/dataset.json").read_text())
    assert sidecar["splits"] == {"train": M.NUS_SIZES[0], "test": M.NUS_SIZES[1]}
    assert sidecar["labels"] == M.NUS_LABELS and not (workdir / "results/downloads").exists()


@pytest.mark.e2e
@pytest.mark.long
def test_the_paper_config_runs_end_to_end_in_miniature(served, workdir):
    import torch
    from torchvision.models import get_model

    require_browser()  # before the hour's run, not after it (the report is opened in chromium at the end)
    url, sums, nus, _ = served
    torch.manual_seed(0)
    (workdir / "weights").mkdir()
    # the file README tells to make on a login node, here from a random initialisation instead of ImageNet's
    torch.save(get_model("resnext50_32x4d", weights=None).state_dict(), workdir / "weights/resnext50_32x4d.pt")
    cfg = M.miniature_config(PAPER, url, sums, nus, "weights/resnext50_32x4d.pt")
    (workdir / "mini.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))

    start = time.monotonic()
    run_snakemake(workdir, "--configfile", str(workdir / "mini.yaml"), "--cores", "2", "--resources", "gpu=1",
                  timeout=3600)
    minutes = (time.monotonic() - start) / 60
    results = workdir / "results"
    times = _benchmarks(results)
    print(f"\npaper miniature: {minutes:.1f} min on 2 cores\n{times.to_string()}")

    # the downloads came from the server, as the upstream files, checked by md5
    for dataset, files in sums.items():
        for name, digest in files.items():
            assert md5(results / "downloads" / dataset / name) == digest
    assert load_dataset(results / "data/caltech4").classes == ["airplanes", "watch", "Leopards", "Motorbikes"]
    assert load_dataset(results / "data/mosaic_cifar10").images.shape[1:] == (64, 64, 3)
    assert load_dataset(results / "data/caltech3").images.shape[1:] == (299, 299, 3)

    # every variant of every experiment in its summary, each run with the paper's threads-independent settings
    for exp, spec in PAPER["experiments"].items():
        summary = pd.read_csv(results / exp / "summary.csv")
        assert set(summary["variant"]) == set(spec["variants"]), exp
    tagging_log = (results / "logs/train/tagging/bce/0.log").read_text()
    assert "weights of resnext50_32x4d loaded from weights/resnext50_32x4d.pt" in tagging_log

    # every paper claim decided and listed in the report's claims section; value claims out of scope where their
    # scope names the source's settings (the miniature's sizes and epochs differ)
    claims = pd.read_csv(results / "report/claims.csv")
    assert sorted(claims["claim_id"]) == sorted(CLAIM_IDS)
    for row in claims.itertuples():
        exp, claim = CLAIM_IDS[row.claim_id]
        assert row.experiment == exp
        if claim["kind"] == "value" and claim["scope"]:
            assert row.verdict == "out of scope", (row.claim_id, row.detail)
        if claim["kind"] == "value" and set(claim["scope"].get("data", ())) & {"cifar10", "mnist", "caltech101"}:
            # the stand-in archives have the upstream formats, not the upstream bytes: recognised by checksum
            assert "is not recognised as the official" in row.detail and "not the upstream" in row.detail, row.detail
        if claim["kind"] == "value" and claim["scope"].get("data") == ["nuswide"]:
            assert "NUS-WIDE has no official archive to recognise" in row.detail, row.detail
    html = (results / "report/index.html").read_text()
    section = re.search(r'<section id="claims">(.*?)</section>', html, re.S).group(1)
    assert sorted(re.findall(r"<tr><td><code>([a-z0-9_]+)</code></td>", section)) == sorted(CLAIM_IDS)
    for exp in PAPER["experiments"]:
        assert (results / f"notebooks/{exp}.html").is_file()
    # and as a reader opens them: the report and every notebook in headless chromium, without an error
    with browser() as driver:
        check_report(driver, results, PAPER["experiments"], workdir)
        check_notebooks(driver, results, PAPER["experiments"])


def _benchmarks(results) -> pd.DataFrame:
    """Wall seconds per rule (count, sum, max) from Snakemake's benchmark files."""
    rows = []
    for path in (results / "benchmarks").rglob("*.tsv"):
        rel = path.relative_to(results / "benchmarks").with_suffix("")
        seconds = pd.read_csv(path, sep="\t")["s"].iloc[0]
        rows.append({"rule": rel.parts[0], "experiment": rel.parts[1] if len(rel.parts) > 2 else "", "s": seconds})
    frame = pd.DataFrame(rows)
    return frame.groupby(["rule", "experiment"])["s"].agg(["count", "sum", "max"]).round(1)
