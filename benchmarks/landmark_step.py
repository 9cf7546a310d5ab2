"""The landmark source's speed claim ("fixing the rank-1 mistake made training 10–20 % faster"), measured:
training steps of the same model under ``landmark_masked`` and ``landmark_rank1_bug``, side by side in one
process, on the same batches, alternating rounds so that drift in the machine hits both alike.

Usage: python benchmarks/landmark_step.py [--size 32] [--batch 64] [--steps 60] [--rounds 5]
Prints one line per loss, then one line of JSON; ratio > 1 means the fixed loss is faster.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keypoints", type=int, default=4)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n_out = 2 * args.keypoints + 1
    x = tf.constant(rng.random((args.batch, args.size, args.size, 3), np.float32))
    y = rng.random((args.batch, n_out)).astype(np.float32)
    y[:, 0] = rng.random(args.batch) < 0.67
    y = tf.constant(y)
    models = {}
    for name in ("landmark_masked", "landmark_rank1_bug"):
        model = build_model("landmark_cnn", (args.size, args.size, 3), n_out)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(name), jit_compile=False)
        model.train_on_batch(x, y)  # trace once, outside the clock
        models[name] = model
    seconds = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            seconds[name].append(time.perf_counter() - t0)
    per_step = {name: float(np.median(s)) / args.steps for name, s in seconds.items()}
    for name, s in per_step.items():
        print(f"{name:20s} {s * 1e3:7.2f} ms/step  {args.batch / s:8.0f} images/s (median of {args.rounds} rounds)")
    ratio = per_step["landmark_rank1_bug"] / per_step["landmark_masked"]
    print(f"rank1_bug time / masked time = {ratio:.3f} (the source claimed 1.1–1.2)")
    print(json.dumps({
        "benchmark": "landmark_step",
        "masked_ms_per_step": round(per_step["landmark_masked"] * 1e3, 3),
        "rank1_bug_ms_per_step": round(per_step["landmark_rank1_bug"] * 1e3, 3),
        "ratio_bug_over_fixed": round(ratio, 4),
        "batch": args.batch,
        "size": args.size,
        "device": "gpu" if tf.config.list_physical_devices("GPU") else "cpu",
    }))


if __name__ == "__main__":
    main()
