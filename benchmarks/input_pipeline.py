"""Training images/s of the `mosaic` model fed three ways, side by side in one process:

* ``tfdata``    — the project's pipeline (``labelbench.keras.data.make_dataset``: uint8 in memory, shuffle, batch,
                  scale in graph, prefetch), as training uses it;
* ``generator`` — the source's own way: a Python generator over a DataFrame's rows, appending one image and
                  label at a time and stacking each batch with ``np.asarray(...) / 255`` (source 000);
* ``ceiling``   — one pre-built float batch repeated: no input work at all.

Each round trains one epoch of ``--steps`` batches per feed (order rotated every round so that drift hits all
alike); the median round counts. Targets: tfdata >= 0.9 of the ceiling, and ahead of the generator.

Usage: python benchmarks/input_pipeline.py [--size 32] [--width 0.25] [--batch 64] [--steps 90] [--rounds 7]
       python benchmarks/input_pipeline.py --paper     # 64 px mosaics, full width, batch 256 (source 000)
Prints one line per feed, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def source_generator(frame_values: np.ndarray, batch_size: int, rng: np.random.Generator):
    """The source's generator, re-created: per-row appends, then one ``np.asarray`` per batch."""
    while True:
        images, labels = [], []
        indices = np.arange(frame_values.shape[0])
        rng.shuffle(indices)
        for i in indices:
            images.append(frame_values[i, 0])
            labels.append(frame_values[i, 1])
            if len(images) == batch_size:
                x = np.asarray(images, np.float32) / 255.0
                y = np.asarray(labels, np.float32)
                images, labels = [], []
                yield x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="mosaic side in pixels")
    parser.add_argument("--width", type=float, default=0.25, help="VGG width multiplier")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=90, help="batches per timed epoch")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: TensorFlow's choice)")
    parser.add_argument("--paper", action="store_true", help="the paper config: 64 px, width 1.0, batch 256")
    args = parser.parse_args()
    if args.paper:
        args.size, args.width, args.batch = 64, 1.0, 256
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras
    import pandas as pd
    import tensorflow as tf

    from labelbench.keras.data import make_dataset
    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = args.batch * args.steps
    images = rng.integers(0, 256, (n, args.size, args.size, 3), dtype=np.uint8)
    labels = np.zeros((n, 10), np.float32)
    for row in labels:
        row[rng.choice(10, 4, replace=False)] = 1.0
    frame = pd.DataFrame({"Image": list(images), "Label": list(labels)}).values  # the source's msgpack frame

    model = build_model("vgg13", (args.size, args.size, 3), 10, width=args.width)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss("bce_sum"))
    feeds = {
        "tfdata": lambda r: make_dataset(images, labels, args.batch, shuffle_seed=r),
        "generator": lambda r: source_generator(frame, args.batch, np.random.default_rng(r)),
        "ceiling": lambda r: tf.data.Dataset.from_tensors(
            (tf.constant(images[: args.batch], tf.float32) / 255.0, tf.constant(labels[: args.batch]))).repeat(),
    }
    model.fit(feeds["ceiling"](0), steps_per_epoch=5, epochs=1, verbose=0)  # trace once, outside the clock
    seconds = {name: [] for name in feeds}
    names = list(feeds)
    for r in range(args.rounds):
        for name in names[r % 3:] + names[: r % 3]:
            data = feeds[name](r)
            t0 = time.perf_counter()
            model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - t0)
    rate = {name: n / float(np.median(s)) for name, s in seconds.items()}
    for name, v in rate.items():
        print(f"{name:10s} {v:9.0f} images/s  ({v / rate['ceiling']:.3f} of the ceiling; median of {args.rounds})")
    gpus = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else "cpu"
    print(json.dumps({
        "benchmark": "input_pipeline",
        "tfdata_images_per_s": round(rate["tfdata"], 1),
        "generator_images_per_s": round(rate["generator"], 1),
        "ceiling_images_per_s": round(rate["ceiling"], 1),
        "tfdata_over_ceiling": round(rate["tfdata"] / rate["ceiling"], 4),
        "tfdata_over_generator": round(rate["tfdata"] / rate["generator"], 4),
        "size": args.size, "width": args.width, "batch": args.batch, "steps": args.steps,
        "device": device,
    }))


if __name__ == "__main__":
    main()
