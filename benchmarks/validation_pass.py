"""What a complementary training epoch spends on its validation images, before and after they were predicted once.

A run that selects its model on more than the loss (the complementary experiment's SCEL, URE and oracle criteria)
used to pass its validation images through the model twice an epoch: Keras's own validation pass
(``fit(validation_data=...)``, i.e. ``Model.evaluate``) for ``val_loss``, then ``labelbench.keras.data.predict`` for
the criteria. Now one prediction gives both (``labelbench.keras.train.ValidateOnce``, ``validation_loss``).

This times, in one process on the config's backend, threads and sizes, side by side and in alternation:
- ``epoch``: one training epoch without validation (the config's model, loss, optimiser, batch size, augmentation);
- ``before``: ``Model.evaluate`` on the validation images, then ``predict`` on them;
- ``after``: ``predict`` on them, then ``validation_loss`` from those outputs.
Images are synthetic noise at the dataset's shape and count (``benchmarks/keras_epoch.py``'s sizes), targets
random complementary one-hots: only the cost is measured.

Usage: python benchmarks/validation_pass.py                      # config.yaml's complementary experiment
       python benchmarks/validation_pass.py config.yaml --rounds 5
Prints one line per round, the medians and ratios, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import keras_epoch  # noqa: E402  (benchmarks/keras_epoch.py: the config's sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=os.path.join(keras_epoch.ROOT, "config.yaml"))
    parser.add_argument("--experiment", default="complementary")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    config = keras_epoch.load_config(args.config)
    exp = config["experiments"][args.experiment]
    variant = next(iter(exp["variants"]))
    vspec = exp["variants"][variant]
    training = exp["training"]
    if not training.get("validation_fraction"):
        raise SystemExit(f"experiments.{args.experiment}: no validation_fraction, so no validation pass to time")
    backend = exp.get("backend") or config.get("backend") or "tensorflow"
    os.environ.setdefault("KERAS_BACKEND", backend)
    shape, n_total, outputs = keras_epoch.dataset_size(config["datasets"], vspec.get("dataset", exp["dataset"]))
    n_val = int(round(n_total * training["validation_fraction"]))
    n_train = n_total - n_val
    batch = training["batch_size"]

    from labelbench.scripting import keep_freed_memory, prepare_training_env

    keep_freed_memory()
    prepare_training_env("keras", "cpu", training["threads"], os.environ["KERAS_BACKEND"])
    import keras

    from labelbench.keras.data import make_dataset, predict
    from labelbench.keras.train import configure, validation_loss

    placement = configure(0, training["threads"], "cpu")
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, (n_train, *shape), dtype=np.uint8)
    train_y = keras_epoch.random_targets(args.experiment, n_train, outputs, rng)
    val_x = rng.integers(0, 256, (n_val, *shape), dtype=np.uint8)
    val_y = keras_epoch.random_targets(args.experiment, n_val, outputs, rng)
    model, augment = keras_epoch.compiled_model(exp, vspec, shape, outputs)
    val_data = make_dataset(val_x, val_y, batch)

    rows = []
    for r in range(args.rounds + 1):  # round 0 traces every function: reported, left out of the medians
        epoch_s = keras_epoch.fit_epoch(model, train_x, train_y, batch, augment, r)
        t1 = time.perf_counter()
        keras_loss = model.evaluate(val_data, verbose=0)
        predict(model, val_x, batch)
        t2 = time.perf_counter()
        ours = validation_loss(model, predict(model, val_x, batch), val_y, None, batch)
        t3 = time.perf_counter()
        rows.append({"round": r, "epoch_s": epoch_s, "before_s": t2 - t1, "after_s": t3 - t2,
                     "loss_keras": float(keras_loss), "loss_ours": ours})
        print(f"round {r}{' (tracing)' if r == 0 else ''}: epoch {epoch_s:.2f} s, validation before "
              f"{t2 - t1:.3f} s, after {t3 - t2:.3f} s; val_loss Keras {keras_loss:.6f}, ours {ours:.6f}", flush=True)
    steady = rows[1:] or rows
    epoch, before, after = (float(np.median([row[k] for row in steady])) for k in ("epoch_s", "before_s", "after_s"))
    result = {
        "config": config.get("name", args.config), "experiment": args.experiment, "variant": variant,
        "model": exp["model"]["name"], "backend": keras.backend.backend(), "threads": placement.threads,
        "train_images": n_train, "val_images": n_val, "batch": batch, "rounds": len(steady),
        "epoch_s": round(epoch, 3), "before_s": round(before, 3), "after_s": round(after, 3),
        "after_over_before": round(after / before, 3),
        "epoch_share_before": round(before / (epoch + before), 4),
        "epoch_share_after": round(after / (epoch + after), 4),
        "saved_share_of_epoch": round((before - after) / (epoch + before), 4),
        "max_loss_difference": max(abs(row["loss_keras"] - row["loss_ours"]) for row in rows),
    }
    print(f"medians over {len(steady)} rounds: training epoch {epoch:.2f} s; validation pass {before:.3f} s before, "
          f"{after:.3f} s after (ratio {result['after_over_before']}); an epoch with its validation "
          f"{100 * result['saved_share_of_epoch']:.1f} % shorter")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
