"""Seconds per training epoch of one Keras experiment at a config's sizes, on the device Keras finds.

The model, loss, optimiser and batch size are the config's own (``labelbench.keras`` builds them as the training
job does); the images are synthetic (uniform noise at the dataset's input shape, as many as the config trains on)
and the targets random but of the loss's shape, so the cost is the experiment's and the data is not needed. The
first epoch (it includes tracing/compiling) is reported apart from the median of the later ones.

Keras runs on whatever ``KERAS_BACKEND`` names (``tensorflow``, as the pipeline, when unset). The model and the
losses are written with ``keras.ops`` only, so the same code runs on ``jax`` or ``torch`` where TensorFlow is not
installed (a GPU machine with only JAX or PyTorch); the arrays are then fed through Keras's own NumPy adapter
instead of ``tf.data``, and no augmentation is applied (the pipeline applies it inside ``tf.data``).

Usage: python benchmarks/keras_epoch.py configs/paper.yaml mosaic            # 50,000 mosaics, VGG-13, batch 256
       python benchmarks/keras_epoch.py configs/complementary_long.yaml complementary --epochs 5
       KERAS_BACKEND=jax python benchmarks/keras_epoch.py configs/paper.yaml landmark
Prints one line, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import yaml

#: images per class in Caltech101's 101_ObjectCategories (the classes the configs use)
CALTECH101_COUNTS = {"airplanes": 800, "Motorbikes": 798, "watch": 239, "Leopards": 200}
#: (side, channels, training images) of the downloaded sources, which the configs take whole
DOWNLOADED = {"cifar10": (32, 3, 50_000), "mnist": (28, 1, 60_000)}
DIGITS = 1_797  # scikit-learn's bundled digits, all splits
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dataset_size(datasets: dict, name: str) -> tuple[tuple[int, int, int], int, int]:
    """(input shape, training images, classes or outputs) of dataset ``name`` as the config builds it."""
    spec = datasets[name]
    source = spec["source"]
    if source == "mosaic":
        tile, _, classes = dataset_size(datasets, spec["tiles"])
        return (2 * tile[0], 2 * tile[1], tile[2]), spec["n_train"], classes
    if source in DOWNLOADED:
        side, channels, n_train = DOWNLOADED[source]
        return (side, side, channels), n_train, 10
    if source == "digits":
        side = spec.get("size", 28)
        return (side, side, 1), int(round(DIGITS * (1 - spec.get("test_fraction", 0.25)))), 10
    if source == "caltech101":
        counts = [min(CALTECH101_COUNTS[c], spec.get("max_per_class", {}).get(c, 10**9)) for c in spec["classes"]]
        n_train = sum(c - round(c * spec.get("test_fraction", 0.2)) for c in counts)
        return (spec["size"], spec["size"], 3), n_train, len(spec["classes"])
    if source == "shapes":
        return (spec["size"], spec["size"], 3), spec["n_train_per_class"] * len(spec["classes"]), len(spec["classes"])
    if source == "shapes_landmarks":
        from labelbench.datasets.shapes import N_KEYPOINTS

        return (spec["size"], spec["size"], 3), spec["n_train"], 2 * N_KEYPOINTS + 1
    raise SystemExit(f"datasets.{name}: source {source!r} is not a Keras experiment's dataset this benchmark sizes")


def random_targets(experiment: str, n: int, outputs: int, rng: np.random.Generator) -> np.ndarray:
    """Targets in the shape each experiment's losses take (values random: only the cost is measured)."""
    if experiment == "mosaic":  # 4-hot over the tile classes
        y = np.zeros((n, outputs), np.float32)
        for row in y:
            row[rng.choice(outputs, 4, replace=False)] = 1.0
        return y
    if experiment == "masked":  # one-hot + the "is odd" column
        digit = rng.integers(0, outputs, n)
        return np.concatenate([np.eye(outputs, dtype=np.float32)[digit], (digit % 2)[:, None].astype(np.float32)], 1)
    if experiment == "landmark":  # presence, then x, y per keypoint in [0, 1]
        y = rng.random((n, outputs)).astype(np.float32)
        y[:, 0] = rng.random(n) < 0.67
        return y
    return np.eye(outputs, dtype=np.float32)[rng.integers(0, outputs, n)]  # a true or a complementary one-hot


def device_name() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.devices()[0].device_kind
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else "cpu"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a labelbench config file, e.g. configs/paper.yaml")
    parser.add_argument("experiment", choices=["mosaic", "masked", "complementary", "landmark"])
    parser.add_argument("--variant", help="whose loss and dataset (default: the experiment's first variant)")
    parser.add_argument("--images", type=int, default=0, help="training images per epoch (default: the config's)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs in all; the first is reported apart")
    parser.add_argument("--dtype-policy", default="float32", help="Keras dtype policy, e.g. mixed_bfloat16")
    args = parser.parse_args()
    with open(args.config) as fh:
        config = yaml.safe_load(fh)
    try:  # the schema's defaults, as the pipeline fills them in; without Snakemake the config must spell them out
        from snakemake.utils import validate
    except ImportError:
        pass
    else:
        validate(config, os.path.join(ROOT, "workflow", "schemas", "config.schema.yaml"))
    exp = config["experiments"][args.experiment]
    variant = args.variant or next(iter(exp["variants"]))
    vspec = exp["variants"][variant]
    shape, n_train, outputs = dataset_size(config["datasets"], vspec.get("dataset", exp["dataset"]))
    training = exp["training"]
    n_train = args.images or int(round(n_train * (1 - training.get("validation_fraction", 0.0))))
    batch = training["batch_size"]

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model
    from labelbench.keras.train import _optimizer

    keras.mixed_precision.set_dtype_policy(args.dtype_policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((n_train, *shape), dtype=np.float32)
    y = random_targets(args.experiment, n_train, outputs, rng)
    spec = {k: v for k, v in exp["model"].items() if k != "name"}
    model = build_model(exp["model"]["name"], shape, outputs, **spec)
    model.compile(optimizer=_optimizer(training), loss=get_loss(vspec["loss"], **vspec.get("loss_args", {})))

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)

    seconds: list[float] = []
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=args.epochs, shuffle=True, callbacks=[Clock()], verbose=0)
    total = time.perf_counter() - t0
    steady = float(np.median(seconds[1:])) if len(seconds) > 1 else seconds[0]
    steps = math.ceil(n_train / batch)
    result = {
        "benchmark": "keras_epoch",
        "config": config.get("name", args.config),
        "experiment": args.experiment,
        "variant": variant,
        "model": exp["model"]["name"],
        "input": list(shape),
        "images_per_epoch": n_train,
        "batch": batch,
        "first_epoch_s": round(seconds[0], 3),
        "epoch_s": round(steady, 3),
        "images_per_s": round(n_train / steady, 1),
        "ms_per_step": round(1e3 * steady / steps, 3),
        "epochs": args.epochs,
        "total_s": round(total, 2),
        "dtype_policy": args.dtype_policy,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "device": device_name(),
    }
    print(f"{args.experiment}/{variant} ({result['model']}, {shape}, batch {batch}) on {result['device']} "
          f"[{result['backend']}]: {steady:.2f} s an epoch of {n_train} images ({n_train / steady:.0f} images/s), "
          f"first epoch {seconds[0]:.2f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
