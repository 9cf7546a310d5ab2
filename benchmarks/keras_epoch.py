"""Seconds per training epoch of Keras experiments at a config's sizes, on every installed Keras backend side by
side: each backend (TensorFlow, JAX, PyTorch) in a process of its own, one after the other, in one run.

The model, loss, optimiser, batch size, augmentation, threads and device are the config's own, and the batches
come through the training job's own pipeline (``labelbench.keras.data``, which runs on every backend); the images
are synthetic (uniform uint8 noise at the dataset's input shape, as many as the config trains on) and the targets
random but of the loss's shape, so the cost is the experiment's and the data is not needed. The first epoch
(tracing or compiling, and JAX's eager compilations of the weight initialisers) is reported apart from the median
of the later ones.

``--steps N`` times N training steps an epoch instead of the whole epoch (the paper sizes take hours an epoch on
a CPU) and extrapolates the epoch from them; the table says so on every such line.

Usage: python benchmarks/keras_epoch.py config.yaml                              # the four Keras experiments
       python benchmarks/keras_epoch.py configs/paper.yaml --steps 4 --experiments mosaic landmark
       python benchmarks/keras_epoch.py configs/paper.yaml --backends jax        # a GPU machine with JAX only
Prints one line per experiment and backend, a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import yaml

KERAS_EXPERIMENTS = ("mosaic", "masked", "complementary", "landmark")
BACKENDS = ("tensorflow", "jax", "torch")
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


def load_config(path: str) -> dict:
    with open(path) as fh:
        config = yaml.safe_load(fh)
    try:  # the schema's defaults, as the pipeline fills them in; without Snakemake the config must spell them out
        from snakemake.utils import validate
    except ImportError:
        pass
    else:
        schema = os.path.join(ROOT, "workflow", "schemas", "config.schema.yaml")
        validate(config, schema)
        from labelbench.config import config_schema, normalise_numbers, validate_datasets

        root = config_schema(schema)  # with the registered sources' keys, as the Snakefile's check_startup
        validate_datasets(config, root)
        normalise_numbers(config, root)  # as the Snakefile does: learning_rate 1 -> 1.0, epochs 2.0 -> 2
    return config


def compiled_model(exp: dict, vspec: dict, shape: tuple, outputs: int):
    """The experiment's model compiled with the variant's loss and the experiment's optimiser, as its training job
    builds them, and the training augmentation (or None)."""
    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model
    from labelbench.keras.train import _optimizer, augmenter

    training = exp["training"]
    spec = {k: v for k, v in exp["model"].items() if k != "name"}
    model = build_model(exp["model"]["name"], shape, outputs, **spec)
    model.compile(optimizer=_optimizer(training), loss=get_loss(vspec["loss"], **vspec.get("loss_args", {})))
    return model, augmenter(training.get("augment"), 0)


def fit_epoch(model, images: np.ndarray, y: np.ndarray, batch: int, augment, epoch: int) -> float:
    """Seconds of one training epoch through the job's own input pipeline (epoch 0 builds the optimizer first)."""
    from labelbench.keras.data import make_dataset
    from labelbench.keras.train import build_state

    data = make_dataset(images, y, batch, shuffle_seed=epoch, augment=augment, augment_seed=epoch,
                        drop_remainder=True)
    if epoch == 0:
        build_state(model, data)
    t0 = time.perf_counter()
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - t0


def measure(config_path: str, experiment: str, epochs: int, steps: int, threads: int | None) -> dict:
    """One experiment's epochs on the backend of this process (``KERAS_BACKEND``); set up as its training job."""
    config = load_config(config_path)
    exp = config["experiments"][experiment]
    variant = next(iter(exp["variants"]))
    vspec = exp["variants"][variant]
    shape, n_train, outputs = dataset_size(config["datasets"], vspec.get("dataset", exp["dataset"]))
    training = exp["training"]
    n_train = int(round(n_train * (1 - training.get("validation_fraction", 0.0))))
    batch = training["batch_size"]
    steps_per_epoch = max(1, n_train // batch)  # the job drops the last partial batch
    timed_steps = min(steps, steps_per_epoch) if steps else steps_per_epoch
    device = exp.get("device") or config.get("device", "cpu")
    threads = threads or training["threads"]

    from labelbench.scripting import keep_freed_memory, prepare_training_env

    if os.environ.get("LABELBENCH_GLIBC_DEFAULTS") != "1":  # as every job does (labelbench.scripting.redirect_logs)
        keep_freed_memory()
    prepare_training_env("keras", device, threads, os.environ["KERAS_BACKEND"])
    import keras

    from labelbench.keras.train import configure

    t_start = time.perf_counter()
    placement = configure(0, threads, device)
    rng = np.random.default_rng(0)
    n = timed_steps * batch
    images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    y = random_targets(experiment, n, outputs, rng)
    model, augment = compiled_model(exp, vspec, shape, outputs)
    seconds = [fit_epoch(model, images, y, batch, augment, epoch) for epoch in range(epochs)]
    steady = float(np.median(seconds[1:])) if len(seconds) > 1 else seconds[0]
    scale = steps_per_epoch / timed_steps
    return {
        "config": config.get("name", config_path),
        "experiment": experiment,
        "variant": variant,
        "model": exp["model"]["name"],
        "input": list(shape),
        "images_per_epoch": steps_per_epoch * batch,
        "batch": batch,
        "steps_per_epoch": steps_per_epoch,
        "timed_steps": timed_steps,
        "extrapolated": timed_steps < steps_per_epoch,
        # the first epoch's extra time (tracing, compiling) does not grow with the steps: only the steady part scales
        "first_epoch_s": round(seconds[0] - steady + steady * scale, 3),
        "epoch_s": round(steady * scale, 3),
        "images_per_s": round(timed_steps * batch / steady, 1),
        "ms_per_step": round(1e3 * steady / timed_steps, 3),
        "epochs": epochs,
        "process_s": round(time.perf_counter() - t_start, 2),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "device": device_name(),
        "threads": placement.threads,
    }


def installed_backends() -> list[str]:
    import importlib.util

    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


def run_child(backend: str, config: str, experiment: str, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), config, "--experiments", experiment, "--child",
               "--epochs", str(args.epochs), "--steps", str(args.steps)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"config": config, "experiment": experiment, "backend": backend,
                "error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cell(result: dict) -> str:
    if "error" in result:
        return "failed"
    mark = "*" if result["extrapolated"] else ""
    return f"{result['epoch_s']:.2f} s{mark} ({result['images_per_s']:.0f}/s)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="labelbench config files, e.g. config.yaml configs/paper.yaml")
    parser.add_argument("--experiments", nargs="+", choices=KERAS_EXPERIMENTS, default=list(KERAS_EXPERIMENTS))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, help="default: every installed one")
    parser.add_argument("--epochs", type=int, default=3, help="epochs in all; the first is reported apart")
    parser.add_argument("--steps", type=int, default=0, help="time this many steps an epoch (0: the whole epoch)")
    parser.add_argument("--threads", type=int, default=0, help="the backend's threads (default: the config's)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.configs[0], args.experiments[0], args.epochs, args.steps, args.threads)))
        return
    backends = args.backends or installed_backends()
    rows = []
    for config in args.configs:
        for experiment in args.experiments:
            if experiment not in load_config(config)["experiments"]:
                continue
            results = {}
            for backend in backends:
                results[backend] = result = run_child(backend, config, experiment, args)
                detail = result.get("error") or (
                    f"{result['epoch_s']:.2f} s an epoch, {result['images_per_s']:.0f} images/s, first epoch "
                    f"{result['first_epoch_s']:.2f} s, process {result['process_s']:.1f} s, {result['device']}, "
                    f"{result['threads']} thread(s)"
                    + (f"; {result['timed_steps']} of {result['steps_per_epoch']} steps timed, epoch extrapolated"
                       if result["extrapolated"] else ""))
                print(f"{config} {experiment} [{backend}]: {detail}", flush=True)
            rows.append({"config": config, "experiment": experiment, "results": results})
    print()
    print(f"one training epoch, each backend in its own process (* = epoch extrapolated from --steps {args.steps})")
    header = f"{'config':24s} {'experiment':14s} " + " ".join(f"{b:>24s}" for b in backends)
    print(header)
    for row in rows:
        print(f"{row['config']:24s} {row['experiment']:14s} "
              + " ".join(f"{cell(row['results'][b]):>24s}" for b in backends))
    print(json.dumps({"benchmark": "keras_epoch", "backends": backends, "steps": args.steps, "epochs": args.epochs,
                      "rows": rows}))


if __name__ == "__main__":
    main()
