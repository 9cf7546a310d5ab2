"""The landmark source's speed claim ("fixing the rank-1 mistake made training 10-20 % faster"), measured:
training steps of one model under ``landmark_masked`` and ``landmark_rank1_bug``, side by side in one process,
on the same batches, in alternating rounds so that drift in the machine hits both alike. Used by the pipeline's
``landmark_speed`` rule (the report states the result) and by ``benchmarks/landmark_step.py``."""

from __future__ import annotations

import time

import numpy as np


def landmark_step_times(size: int = 32, batch: int = 64, steps: int = 60, rounds: int = 5, keypoints: int = 4,
                        model_spec: dict | None = None, threads: int | None = None, device: str = "cpu") -> dict:
    """Median seconds per training step of both losses, and every round's seconds (``rounds_seconds``, the
    speed claim's per-round ratios); ``ratio_bug_over_fixed`` > 1 means the fix is faster. ``threads``: the
    backend's CPU threads, as a training job of the config uses them (None: the backend's choice), set as the
    training job sets them (:func:`labelbench.keras.train.configure`). Runs on whichever Keras backend is
    loaded (the rule sets the landmark experiment's)."""
    import keras

    from labelbench.keras.train import configure

    placement = configure(0, threads, device) if threads else None
    from labelbench.keras.losses import get_loss
    from labelbench.keras.models import build_model

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n_out = 2 * keypoints + 1
    x = keras.ops.convert_to_tensor(rng.random((batch, size, size, 3), np.float32))
    y = rng.random((batch, n_out)).astype(np.float32)
    y[:, 0] = rng.random(batch) < 0.67
    y = keras.ops.convert_to_tensor(y)
    spec = {k: v for k, v in (model_spec or {"name": "landmark_cnn"}).items() if k != "name"}
    models = {}
    for name in ("landmark_masked", "landmark_rank1_bug"):
        model = build_model("landmark_cnn", (size, size, 3), n_out, **spec)
        # as the training jobs compile (Keras's default): no XLA on TensorFlow's CPU, jit on JAX, eager on torch
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss(name),
                      jit_compile=False if keras.backend.backend() == "tensorflow" else "auto")
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
        "device": placement.kind if placement else "cpu",
        "threads": placement.threads if placement else None,
        "backend": keras.backend.backend(),
    }
