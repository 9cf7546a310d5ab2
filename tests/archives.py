"""Small archives in the exact upstream formats, and a loopback HTTP server to serve them: shared by the download
tests, the reliability drills, the hostile-data tests and the paper miniature (tests/test_paper_miniature.py)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import json
import pickle
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
#: the Caltech101 categories of the download tests: the paper config's four and one it never asks for
CALTECH_COUNTS = {"airplanes": 12, "watch": 5, "Leopards": 5, "Motorbikes": 8, "ant": 2}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the server's root; ``/truncated/<file>`` announces the whole file and sends half."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/truncated/"):
            body = (Path(self.server.root) / self.path.split("/", 2)[2]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then the connection closes early
            self.close_connection = True
            return
        super().do_GET()


@contextlib.contextmanager
def serve(root: Path):
    """A loopback HTTP server on a free port serving ``root``; yields its base URL (ending in ``/``)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: Handler(*a, directory=str(root), **k))
    httpd.root = str(root)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def jpeg(colour, size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


def textured_jpeg(rng: np.random.Generator, size=(48, 40)) -> bytes:
    """A noisy image with one bright rectangle somewhere: something for a network and Grad-CAM to look at."""
    w, h = size
    pixels = rng.integers(0, 96, (h, w, 3), dtype=np.uint8)
    x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    pixels[y : y + h // 2, x : x + w // 2] = rng.integers(128, 256, 3, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- CIFAR-10
def make_cifar(root: Path, per_batch: int = 6) -> Path:
    """``cifar-10-python.tar.gz``: five training batches and the test batch of ``per_batch`` images each (random
    pixels, random labels) and ``batches.meta``, pickled as the upstream files are."""
    rng = np.random.default_rng(0)
    path = root / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                     "labels": [int(x) for x in rng.integers(0, 10, per_batch)], "batch_label": name}
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(batch))
        meta = {"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}
        _add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta))
    return path


# ------------------------------------------------------------------------------------------------ MNIST
def idx(array: np.ndarray) -> bytes:
    """An array as a gzipped idx file of unsigned bytes (MNIST's format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def make_mnist(root: Path, n_train: int = 12, n_test: int = 5) -> dict[str, str]:
    """The four ``*-idx?-ubyte.gz`` files in ``root``; returns {file name: md5}."""
    rng = np.random.default_rng(1)
    sums = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 28, 28))), ("labels-idx1", rng.integers(0, 10, n))):
            p = root / f"{prefix}-{kind}-ubyte.gz"
            p.write_bytes(idx(arr))
            sums[p.name] = md5(p)
    return sums


# ------------------------------------------------------------------------------------------- Caltech101
def make_caltech(root: Path, counts: dict[str, int] | None = None, textured: bool = False) -> Path:
    """``caltech-101.zip`` wrapping ``101_ObjectCategories.tar.gz`` (and an empty ``Annotations.tar``), with
    ``counts`` images per category (default :data:`CALTECH_COUNTS`); plain colours, or ``textured``."""
    rng = np.random.default_rng(3)
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for k, (cls, n) in enumerate((counts or CALTECH_COUNTS).items()):
            for i in range(n):
                data = textured_jpeg(rng) if textured else jpeg((30 * k, 5 * i, 100))
                _add(tar, f"101_ObjectCategories/{cls}/image_{i + 1:04d}.jpg", data)
    path = root / "caltech-101.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("caltech-101/101_ObjectCategories.tar.gz", inner.getvalue())
        zf.writestr("caltech-101/Annotations.tar", b"")
    return path


# --------------------------------------------------------------------------------------------- NUS-WIDE
NUS_LABELS = ["sky", "clouds", "water"]


def make_nus(root: Path, n_train: int | None = None, n_test: int | None = None, labels: list[str] | None = None,
             name: str = "nus_subset.tar.gz") -> Path:
    """A NUS-WIDE-format subset as a ``.tar.gz`` wrapping one folder (``nus_wide/``): ``small_train.json``,
    ``small_test.json`` and the JPEGs they name. Without sizes: 2 training and 1 test image, tags growing by one
    per image; with sizes: textured images each tagged with one to three of ``labels`` (drawn, seeded), every tag
    on at least one training image."""
    labels = labels or NUS_LABELS
    rng = np.random.default_rng(4)
    if n_train is None:
        splits = {"train": ["1_a_m.jpg", "2_b_m.jpg"], "test": ["3_c_m.jpg"]}
    else:
        splits = {"train": [f"{i}_train.jpg" for i in range(n_train)],
                  "test": [f"{i}_test.jpg" for i in range(n_test or 1)]}
    path = root / name
    with tarfile.open(path, "w:gz") as tar:
        for split, names in splits.items():
            samples = []
            for i, image in enumerate(names):
                if n_train is None:
                    tags = labels[: i + 1]
                else:
                    drawn = rng.choice(len(labels), size=int(rng.integers(1, 4)), replace=False)
                    tags = sorted({labels[i % len(labels)], *(labels[k] for k in drawn)}, key=labels.index)
                samples.append({"image_name": image, "image_labels": tags})
                _add(tar, f"nus_wide/{image}", jpeg((10, 120, 200)) if n_train is None else textured_jpeg(rng))
            _add(tar, f"nus_wide/small_{split}.json", json.dumps({"samples": samples, "labels": labels}).encode())
    return path
