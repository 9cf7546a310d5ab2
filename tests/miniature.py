"""The paper config in miniature: configs/paper.yaml with only its sizes changed, and the tiny upstream-format
archives it downloads from a loopback server (tests/test_paper_miniature.py runs it through the whole pipeline).

What may change is listed in :data:`ALLOWED` and checked by :func:`differing_paths`, so that nobody can quietly
shrink a model, an input size, a batch or a layer to make the test faster:

- sizes: generated images per split (a mosaic's and the landmark shapes' ``n_train``/``n_test``; the downloaded
  archives are tiny in themselves), epochs (and so the early-stopping cap), Grad-CAM image counts and
  faithfulness steps, the speed claim's steps and rounds;
- where and how long it runs (CPU time on the 2-core test machine): ``device: cpu`` (the test machine has no
  GPU), one seed per experiment, and ``training.threads`` 2, the cores the test gives (the paper's 8 threads on 2
  cores made a ResNeXt50 training step 1.7x slower here: 2.38 against 1.41 s);
- where the data and weights come from: each download's ``mirror:`` and ``checksums:`` (the loopback server and
  the tiny files' md5s), NUS-WIDE's ``url:`` + ``md5:`` in place of its ``path:``, and ``model.weights`` a
  state-dict file the test makes (random initialisation) in place of torchvision's ImageNet weights.

Each training split holds at least one full batch (training drops the last partial one): 256 mosaics (batch 256),
128 digits (128), 128 landmark images (128), 32 tagging images after the 10 % validation share (32), and 17 and 22
Caltech101 images after the test and validation shares (16).
"""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "configs/paper.yaml"

#: images in the tiny archives
CIFAR_PER_BATCH = 8  # 40 training tiles, 8 test tiles
MNIST_SIZES = (128, 16)
CALTECH_COUNTS = {"airplanes": 9, "watch": 9, "Leopards": 9, "Motorbikes": 9, "ant": 2}
NUS_SIZES = (36, 8)
NUS_LABELS = ["sky", "clouds", "person", "water", "animal"]
#: generated data of the miniature
DATA_SIZES = {"mosaic_cifar10": {"n_train": 256, "n_test": 16}, "shapes_landmarks": {"n_train": 128, "n_test": 16}}
EPOCHS = 1
SEED = 0
THREADS = 2
#: Grad-CAM sizes: images per class in the figures and the table, and points on the faithfulness curves (the paper's
#: 16 steps make 37 Xception passes at 299 px per map, 2 make 9: the miniature's complementary Grad-CAM table, 9
#: models x 3 layers x 3 methods, ran over 42 minutes on 2 cores and had not finished when the test's hour ran out)
GRADCAM = {"images": 1, "table_images": 1, "faithfulness_steps": 2}
SPEED = {"steps": 1, "rounds": 2}

#: dotted paths (fnmatch patterns; list items by index) where the miniature may differ from paper.yaml
ALLOWED = (
    "device",
    "datasets.*.n_train", "datasets.*.n_test",
    "datasets.*.mirror", "datasets.*.checksums",
    "datasets.nuswide.path", "datasets.nuswide.url", "datasets.nuswide.md5",
    "experiments.*.training.epochs", "experiments.*.training.threads",
    "experiments.*.seeds", "experiments.*.variants.*.seeds",
    "experiments.*.gradcam.images", "experiments.*.gradcam.table_images", "experiments.*.gradcam.faithfulness_steps",
    "experiments.landmark.claims.*.steps", "experiments.landmark.claims.*.rounds",
    "experiments.tagging.model.weights",
)


def paper_config() -> dict:
    return yaml.safe_load(PAPER.read_text())


def miniature_config(paper: dict, mirror: str, checksums: dict[str, dict[str, str]], nuswide: tuple[str, str],
                     weights: str) -> dict:
    """``paper`` at miniature sizes, downloading from ``mirror`` with ``checksums`` ({dataset: {file: md5}}),
    NUS-WIDE from ``nuswide`` (url, md5), the tagging model's weights from the file ``weights``."""
    cfg = copy.deepcopy(paper)
    cfg["device"] = "cpu"
    for name, spec in cfg["datasets"].items():
        if name in checksums:
            spec["mirror"] = mirror
            spec["checksums"] = checksums[name]
        spec.update(DATA_SIZES.get(name, {}))
    nus = cfg["datasets"]["nuswide"]
    nus.pop("path", None)
    nus["url"], nus["md5"] = nuswide
    for exp, spec in cfg["experiments"].items():
        spec["training"]["epochs"] = EPOCHS
        spec["training"]["threads"] = THREADS
        spec["seeds"] = [SEED]
        for variant in spec["variants"].values():
            if "seeds" in variant:
                variant["seeds"] = [SEED]
        if "gradcam" in spec:
            spec["gradcam"].update(GRADCAM)
        for claim in spec.get("claims", []):
            if claim["kind"] == "speed":
                claim.update(SPEED)
        if exp == "tagging":
            spec["model"]["weights"] = weights
    return cfg


def differing_paths(a, b, path: tuple = ()) -> list[str]:
    """Dotted paths where ``a`` and ``b`` differ: a value changed, or a key or list item present on one side only
    (reported where it starts, not below)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b), key=str)
                for p in (differing_paths(a[k], b[k], (*path, k)) if k in a and k in b else [_dotted((*path, k))])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in differing_paths(x, y, (*path, i))]
    return [] if a == b else [_dotted(path)]


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _covered(path: str, pattern: str) -> bool:
    """Part by part, so that ``*`` stands for one key (``experiments.*.training.epochs`` does not cover a claim's
    ``scope.training.epochs``)."""
    parts, wanted = path.split("."), pattern.split(".")
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True))


def disallowed(paths: list[str]) -> list[str]:
    """The paths no pattern of :data:`ALLOWED` covers."""
    return [p for p in paths if not any(_covered(p, pattern) for pattern in ALLOWED)]
