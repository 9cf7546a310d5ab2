"""Training images/s of the `mosaic` model fed four ways, side by side in one process, on Keras's backend:

* ``numpy``     — the project's pipeline (``labelbench.keras.data.make_dataset``: a ``keras.utils.PyDataset`` over
                  uint8 in memory, gathered in the epoch's order and scaled per batch), as training uses it on
                  every backend;
* ``tfdata``    — the ``tf.data`` pipeline it replaced (``from_tensor_slices`` of the epoch's order, batch, scale in
                  graph, prefetch; augmentation mapped in graph), TensorFlow only: the pipeline would keep it on
                  TensorFlow only if it were measurably faster there;
* ``generator`` — the source's own way: a Python generator over a DataFrame's rows, appending one image and
                  label at a time and stacking each batch with ``np.asarray(...) / 255`` (source 000);
* ``ceiling``   — one pre-built float batch repeated: no input work at all.

``--augment`` adds the complementary experiment's augmentation (flips, 90° rotations, 10 % shifts) to ``numpy`` and
``tfdata`` (and to the ceiling's one batch, once). Each round trains one epoch of ``--steps`` batches per feed
(order rotated every round so that drift hits all alike); the median round counts.

Usage: python benchmarks/input_pipeline.py [--size 32] [--width 0.25] [--batch 64] [--steps 90] [--rounds 7]
       python benchmarks/input_pipeline.py --paper     # 64 px mosaics, full width, batch 256 (source 000)
       KERAS_BACKEND=jax python benchmarks/input_pipeline.py --augment
Prints one line per feed, then one line of JSON.

Measured here (2 cores shared with other engineers' jobs, load average 9-17, TensorFlow 2.21, Keras 3.15, 1 thread,
``--steps 30 --rounds 5``): numpy 82, tfdata 65, generator 60, ceiling 68 images/s; NumPy over tf.data 1.27 (rounds
0.96-1.77). An earlier run (default steps, 7 rounds, similar load): 561 against 747, 0.75 (rounds 0.59-1.89). The
load swamps the difference either way: ``tf.data`` is not measurably faster, so it was dropped (README, "Keras
backends").
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

AUGMENT = {"hflip": True, "vflip": True, "rotation": 90, "shift": 0.1}


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


def tf_dataset(images, targets, batch_size: int, shuffle_seed: int, augment_layers):
    """The ``tf.data`` pipeline training used before the NumPy one (labelbench 0.1, ``keras/data.py``)."""
    import keras
    import tensorflow as tf

    order = np.random.default_rng(shuffle_seed).permutation(len(images))
    ds = tf.data.Dataset.from_tensor_slices((images[order], targets[order])).batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment_layers:
        sequential = keras.Sequential(augment_layers)
        ds = ds.map(lambda x, y: (sequential(x, training=True), y), num_parallel_calls=1)
    return ds.prefetch(tf.data.AUTOTUNE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="mosaic side in pixels")
    parser.add_argument("--width", type=float, default=0.25, help="VGG width multiplier")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=90, help="batches per timed epoch")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="the framework's threads, as a training job's")
    parser.add_argument("--augment", action="store_true", help="the complementary experiment's augmentation")
    parser.add_argument("--paper", action="store_true", help="the paper config: 64 px, width 1.0, batch 256")
    args = parser.parse_args()
    if args.paper:
        args.size, args.width, args.batch = 64, 1.0, 256
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from labelbench.scripting import prepare_training_env

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    prepare_training_env("keras", "cpu", args.threads, backend)

    import keras
    import pandas as pd

    from labelbench.keras.data import Batches, make_dataset
    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model
    from labelbench.keras.train import augmenter, configure

    placement = configure(0, args.threads, "cpu")
    rng = np.random.default_rng(0)
    n = args.batch * args.steps
    images = rng.integers(0, 256, (n, args.size, args.size, 3), dtype=np.uint8)
    labels = np.zeros((n, 10), np.float32)
    for row in labels:
        row[rng.choice(10, 4, replace=False)] = 1.0
    frame = pd.DataFrame({"Image": list(images), "Label": list(labels)}).values  # the source's msgpack frame
    augment = augmenter(AUGMENT, 0) if args.augment else None

    class Repeat(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            first = Batches(images[: args.batch], labels[: args.batch], args.batch, augment=augment)
            self.batch = first[0]

        def __len__(self):
            return args.steps

        def __getitem__(self, i):
            return self.batch

    model = build_model("vgg13", (args.size, args.size, 3), 10, width=args.width)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss("bce_sum"))
    feeds = {
        "numpy": lambda r: make_dataset(images, labels, args.batch, shuffle_seed=r, augment=augment, augment_seed=r,
                                        drop_remainder=True),
        "generator": lambda r: source_generator(frame, args.batch, np.random.default_rng(r)),
        "ceiling": lambda r: Repeat(),
    }
    if backend == "tensorflow":
        feeds["tfdata"] = lambda r: tf_dataset(images, labels, args.batch, r, augment.layers if augment else None)
    model.fit(feeds["ceiling"](0), steps_per_epoch=5, epochs=1, verbose=0)  # trace once, outside the clock
    seconds = {name: [] for name in feeds}
    names = list(feeds)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            data = feeds[name](r)
            t0 = time.perf_counter()
            model.fit(data, steps_per_epoch=args.steps, epochs=1, verbose=0, shuffle=False)
            seconds[name].append(time.perf_counter() - t0)
    rate = {name: n / float(np.median(s)) for name, s in seconds.items()}
    for name, v in rate.items():
        print(f"{name:10s} {v:9.0f} images/s  ({v / rate['ceiling']:.3f} of the ceiling; median of {args.rounds})")
    result = {
        "benchmark": "input_pipeline",
        "backend": backend,
        **{f"{name}_images_per_s": round(v, 1) for name, v in rate.items()},
        "numpy_over_ceiling": round(rate["numpy"] / rate["ceiling"], 4),
        "numpy_over_generator": round(rate["numpy"] / rate["generator"], 4),
        "size": args.size, "width": args.width, "batch": args.batch, "steps": args.steps, "rounds": args.rounds,
        "augment": args.augment, "threads": placement.threads, "device": placement.device_used,
    }
    if "tfdata" in rate:
        result["numpy_over_tfdata"] = round(rate["numpy"] / rate["tfdata"], 4)
        result["round_ratios_numpy_over_tfdata"] = [round(a / b, 4) for a, b in
                                                    zip(seconds["tfdata"], seconds["numpy"], strict=True)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
