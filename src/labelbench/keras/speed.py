"""A speed claim measured: training steps of one model under two losses, side by side in one process, on the same
batches, in alternating rounds so that drift in the machine hits both alike. The landmark source's claim ("fixing
the rank-1 mistake made training 10-20 % faster") is one: the pipeline's ``step_timing`` rule runs it for the
claims table, and ``benchmarks/landmark_step.py`` on its own."""

from __future__ import annotations

import time

import numpy as np


def step_times(losses: list[str], size: int = 32, batch: int = 64, steps: int = 60, rounds: int = 5,
               keypoints: int = 4, model_spec: dict | None = None, threads: int | None = None) -> dict:
    """Median milliseconds per training step of each of ``losses`` (the first claimed slower, the second faster)
    and every round's seconds (``rounds_seconds``: the speed claim reads the per-round ratios); ``ratio`` is the
    first's median step time over the second's. The model is ``model_spec``'s (by name), on synthetic images of
    ``size`` and targets [presence, x1, y1, …] with ``keypoints`` points. ``threads``: TensorFlow's intra-op
    threads, as a training job of the config uses them (None: TF's choice)."""
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
    spec = dict(model_spec or {"name": "landmark_cnn"})
    name = spec.pop("name")
    models = {}
    for loss in losses:
        model = build_model(name, (size, size, 3), n_out, **spec)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(loss), jit_compile=False)
        model.train_on_batch(x, y)  # trace once, outside the clock
        models[loss] = model
    seconds = {loss: [] for loss in models}
    for r in range(rounds):
        for loss in (list(models) if r % 2 == 0 else list(models)[::-1]):
            t0 = time.perf_counter()
            for _ in range(steps):
                models[loss].train_on_batch(x, y)
            seconds[loss].append(time.perf_counter() - t0)
    ms = {loss: float(np.median(s)) / steps * 1e3 for loss, s in seconds.items()}
    return {
        "benchmark": "step_times",
        "model": name,
        "ms_per_step": {loss: round(v, 3) for loss, v in ms.items()},
        "ratio": round(ms[losses[0]] / ms[losses[1]], 4),
        "rounds_seconds": {loss: [round(t, 6) for t in s] for loss, s in seconds.items()},
        "batch": batch,
        "size": size,
        "steps": steps,
        "rounds": rounds,
        "device": "gpu" if tf.config.list_physical_devices("GPU") else "cpu",
    }
