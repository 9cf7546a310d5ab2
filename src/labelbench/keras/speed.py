"""The landmark source's speed claim ("fixing the rank-1 mistake made training 10-20 % faster"), measured:
training steps of one model under ``landmark_masked`` and ``landmark_rank1_bug``, side by side in one process,
on the same batches, in alternating rounds so that drift in the machine hits both alike. Used by the pipeline's
``landmark_speed`` rule (the report states the result) and by ``benchmarks/landmark_step.py``."""

from __future__ import annotations

import time

import numpy as np


def landmark_step_times(size: int = 32, batch: int = 64, steps: int = 60, rounds: int = 5, keypoints: int = 4,
                        model_spec: dict | None = None, threads: int | None = None) -> dict:
    """Median seconds per training step of both losses, and every round's seconds (``rounds_seconds``, the
    speed claim's per-round ratios); ``ratio_bug_over_fixed`` > 1 means the fix is faster. ``threads``:
    TensorFlow's intra-op threads, as a training job of the config uses them (None: TF's choice)."""
    import keras
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
        except RuntimeError:  # initialised already in this process: its pools stay
            pass

    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n_out = 2 * keypoints + 1
    x = tf.constant(rng.random((batch, size, size, 3), np.float32))
    y = rng.random((batch, n_out)).astype(np.float32)
    y[:, 0] = rng.random(batch) < 0.67
    y = tf.constant(y)
    spec = {k: v for k, v in (model_spec or {"name": "landmark_cnn"}).items() if k != "name"}
    models = {}
    for name in ("landmark_masked", "landmark_rank1_bug"):
        model = build_model("landmark_cnn", (size, size, 3), n_out, **spec)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(name), jit_compile=False)
        model.train_on_batch(x, y)  # trace once, outside the clock
        models[name] = model
    seconds = {name: [] for name in models}
    for r in range(rounds):
        for name in (list(models) if r % 2 == 0 else list(models)[::-1]):
            t0 = time.perf_counter()
            for _ in range(steps):
                models[name].train_on_batch(x, y)
            seconds[name].append(time.perf_counter() - t0)
    per_step = {name: float(np.median(s)) / steps for name, s in seconds.items()}
    return {
        "benchmark": "landmark_step",
        "masked_ms_per_step": round(per_step["landmark_masked"] * 1e3, 3),
        "rank1_bug_ms_per_step": round(per_step["landmark_rank1_bug"] * 1e3, 3),
        "ratio_bug_over_fixed": round(per_step["landmark_rank1_bug"] / per_step["landmark_masked"], 4),
        "rounds_seconds": {name: [round(t, 6) for t in s] for name, s in seconds.items()},
        "batch": batch,
        "size": size,
        "steps": steps,
        "rounds": rounds,
        "device": "gpu" if tf.config.get_visible_devices("GPU") else "cpu",
        "threads": tf.config.threading.get_intra_op_parallelism_threads() or None,
    }
