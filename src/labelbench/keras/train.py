"""One training run (experiment × variant × seed) with Keras 3: seeded, checkpointed every epoch, resumable.

The epoch loop is ours rather than one ``fit(epochs=n)`` call with ``BackupAndRestore`` so that each epoch's
batch order depends only on (seed, epoch): a run killed after epoch k and resumed replays exactly the batches
an uninterrupted run would have seen, and ends with the same weights.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labelbench.datasets.store import load_dataset
from labelbench.errors import TrainingDiverged
from labelbench.experiments import get_experiment
from labelbench.io import atomic_path, write_json, write_table
from labelbench.runs import (
    Placement,
    RunOutputs,
    add_placement_columns,
    dataset_needs,
    gpu_missing,
    validation_split,
    write_run_record,
)

log = logging.getLogger("labelbench.train")


def configure(seed: int, threads: int, device: str = "cpu") -> Placement:
    """Seed Python, NumPy and TensorFlow, make TF ops deterministic, fix TF's thread pools to ``threads`` (from the
    config, never from --cores: the count changes a run's numbers), hide the GPUs when ``device`` is cpu, and
    say where the run computes."""
    import tensorflow as tf

    inter_op = max(1, min(2, threads))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:  # already initialised in this process (tests): keep the existing pools
        pass
    if tf.config.threading.get_intra_op_parallelism_threads() not in (0, threads):
        threads = tf.config.threading.get_intra_op_parallelism_threads()
        inter_op = tf.config.threading.get_inter_op_parallelism_threads()
        log.warning("TensorFlow's thread pools were set earlier in this process: %d intra-op threads", threads)
    if device == "cpu":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # GPUs initialised already: the environment (CUDA_VISIBLE_DEVICES) had to hide them
            pass
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return Placement(device, _device_used(tf, device), threads, inter_op)


def _device_used(tf, device: str) -> str:
    """What the run computes on; a gpu run without a GPU stops here (:func:`labelbench.runs.gpu_missing`)."""
    gpus = tf.config.get_visible_devices("GPU")
    if device == "cpu":
        return "cpu"
    if not gpus:
        gpu_missing(f"TensorFlow {tf.__version__}",
                    f"tf.config.list_physical_devices('GPU') is {tf.config.list_physical_devices('GPU')}, built with "
                    f"CUDA: {tf.test.is_built_with_cuda()}",
                    "install the CUDA build of TensorFlow: pip install -e '.[gpu]' (tensorflow[and-cuda], Linux "
                    "with an NVIDIA driver for CUDA 12), or make run GPU=1")
        return "cpu"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"gpu: {details.get('device_name', gpus[0].name)}"


def _versions() -> dict[str, str]:
    import tensorflow as tf

    return {"keras": keras.__version__, "tensorflow": tf.__version__}


def _optimizer(training: dict):
    if training["optimizer"] == "sgd":
        return keras.optimizers.SGD(training["learning_rate"], momentum=training.get("momentum", 0.0))
    return keras.optimizers.Adam(training["learning_rate"], amsgrad=training.get("amsgrad", False))


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite batch loss and remembers where (epoch, batch, 1-based)."""

    def __init__(self):
        super().__init__()
        self.where: tuple[int, int] | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.where = (self.epoch + 1, batch + 1)
            self.model.stop_training = True


def build_state(model, data) -> None:
    """Create the optimizer's and the compiled metrics' variables before the first training step.

    Keras 3 on TensorFlow defers that to the first trace of the train step when no distribution strategy is set,
    and a ``tf.function`` that creates variables is traced a second time: ~2 s of a job (measured on the mosaic
    VGG, 2 cores). ``Trainer._symbolic_build`` is the step Keras itself runs first under a strategy; it is private,
    so where a Keras lacks it this does nothing and the run only loses the saving.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        symbolic_build(data_batch=data.element_spec)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _save_checkpoint(model, ckpt: Path, epoch: int, history: list[dict]) -> None:
    """Weights and optimizer state (Keras writes both into ``.weights.h5``) of ``epoch`` under a name of its
    own; ``state.json``, written last and atomically, says which epoch is complete. Older epochs are
    removed only after that, so a kill at any moment leaves one complete checkpoint."""
    ckpt.mkdir(parents=True, exist_ok=True)
    weights = ckpt / f"epoch{epoch:04d}.weights.h5"
    with atomic_path(weights, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    write_json(ckpt / "state.json", {"epoch": epoch, "weights": weights.name, "history": history})
    for old in ckpt.glob("epoch*"):
        if old.name != weights.name:
            old.unlink(missing_ok=True)


def _load_checkpoint(model, ckpt: Path) -> tuple[int, list[dict]]:
    state_path = ckpt / "state.json"
    if not state_path.is_file():
        return 0, []
    state = json.loads(state_path.read_text())
    if not model.optimizer.built:  # its saved state needs somewhere to go (train_run has built it already)
        model.optimizer.build(model.trainable_variables)
    model.load_weights(ckpt / state["weights"])
    log.info("resuming from %s after epoch %d", ckpt, state["epoch"])
    return state["epoch"], state["history"]


class _EarlyStop:
    """Early stopping on ``val_loss`` with the best weights kept (``best.weights.h5`` in the checkpoint folder);
    its state is rebuilt from the history on resume, so a resumed run stops where an uninterrupted one would."""

    def __init__(self, patience: int | None, ckpt: Path, history: list[dict]):
        self.patience, self.best_path = patience, ckpt / "best.weights.h5"
        self.best, self.wait, self.stopped = math.inf, 0, False
        for row in history:
            self._step(row)

    def _step(self, row) -> bool:
        value = row.get("val_loss", math.inf)
        if value < self.best:
            self.best, self.wait = value, 0
            return True
        self.wait += 1
        self.stopped = bool(self.patience) and self.wait >= self.patience
        return False

    def update(self, model, row) -> None:
        if self._step(row) and self.patience:
            self.best_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.best_path, suffix=".weights.h5") as tmp:
                model.save_weights(tmp)

    def restore_best(self, model) -> None:
        if self.best_path.is_file():
            model.load_weights(self.best_path)
            log.info("restored the weights of the best epoch (val_loss %.4f)", self.best)


def augmenter(spec: dict | None, seed: int):
    """Keras preprocessing layers (rotation, shifts, flips: the complementary source's ImageDataGenerator
    settings) applied inside the tf.data pipeline, or None."""
    if not spec:
        return None
    from keras import layers

    steps = []
    mode = "horizontal_and_vertical" if spec.get("vflip") and spec.get("hflip", True) else (
        "vertical" if spec.get("vflip") else "horizontal" if spec.get("hflip", True) else None)
    if mode:
        steps.append(layers.RandomFlip(mode, seed=seed))
    if spec.get("rotation"):
        steps.append(layers.RandomRotation(spec["rotation"] / 360.0, fill_mode="reflect", seed=seed + 1))
    if spec.get("shift"):
        steps.append(layers.RandomTranslation(spec["shift"], spec["shift"], fill_mode="reflect", seed=seed + 2))
    return keras.Sequential(steps, name="augment") if steps else None


def train_run(
    dataset_dir: str,
    outputs: RunOutputs,
    experiment: str,
    variant: str,
    seed: int,
    model_spec: dict,
    training: dict,
    variant_spec: dict,
    threads: int = 1,
    device: str = "cpu",
) -> dict:
    """Train one run and write the model, the per-epoch history and predictions for every split, and its
    placement (device, threads) in ``run.json`` and as history columns.

    A non-finite loss fails the job (:class:`TrainingDiverged`) unless ``variant_spec['on_nan']`` is
    ``record``: then training stops, the weights of the last finite epoch (or the untrained ones) are kept,
    and the history carries ``diverged = True``.
    """
    placement = configure(seed, threads, device)
    log.info("%s/%s/seed %d on %s, %d threads", experiment, variant, seed, placement.device_used, placement.threads)
    from labelbench.keras.data import make_dataset, predict
    from labelbench.keras.losses import get_loss
    from labelbench.keras.metrics import TRAINING_METRICS
    from labelbench.keras.models import build_model

    ds = load_dataset(dataset_dir)
    exp = get_experiment(experiment)
    train, test = ds.split("train"), ds.split("test")
    val = None
    if training.get("validation_fraction", 0) > 0:  # model selection on a part of train, never on test
        keep, held = validation_split(len(train.images), training["validation_fraction"], seed)
        val, train = train.take(held), train.take(keep)
    y_train = exp.training_targets(train, variant_spec)
    spec = {k: v for k, v in model_spec.items() if k != "name"}
    names = exp.output_names(ds, variant_spec)
    w_train = exp.sample_weights(train, variant_spec)
    monitor = val if val is not None else test
    y_monitor = exp.training_targets(monitor, variant_spec)
    w_monitor = exp.sample_weights(monitor, variant_spec)
    model = build_model(model_spec["name"], ds.images.shape[1:], len(names), **spec)
    # what the loss declares it needs from the dataset (e.g. the transition matrix the labels were drawn with)
    loss_args = {**dataset_needs(variant_spec["loss"], ds.meta), **exp.loss_arguments(ds, variant_spec),
                 **variant_spec.get("loss_args", {})}
    loss = get_loss(variant_spec["loss"], **loss_args)
    model.compile(optimizer=_optimizer(training), loss=loss,
                  metrics=[TRAINING_METRICS[m] for m in exp.training_metrics])

    val_data = make_dataset(monitor.images, y_monitor, training["batch_size"], weights=w_monitor)
    build_state(model, val_data)
    ckpt = Path(outputs.checkpoint_dir)
    start, history = _load_checkpoint(model, ckpt)
    last_good = model.get_weights()
    patience = training.get("patience")
    stop = _EarlyStop(patience, ckpt, history)
    callbacks = []
    if outputs.tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(outputs.tensorboard_dir, write_graph=False))
    guard = NaNGuard()
    diverged_at = None
    for epoch in range(start, training["epochs"]):
        if stop.stopped:
            break
        epoch_seed = seed * 100_003 + epoch  # batch order and augmentation draws of this epoch alone
        data = make_dataset(train.images, y_train, training["batch_size"], shuffle_seed=epoch_seed,
                            weights=w_train, augment=augmenter(training.get("augment"), epoch_seed),
                            drop_remainder=len(train.images) > training["batch_size"])
        fit = model.fit(data, validation_data=val_data, initial_epoch=epoch, epochs=epoch + 1,
                        callbacks=[guard, *callbacks], verbose=2)
        row = {"epoch": epoch + 1, **{k: float(v[-1]) for k, v in fit.history.items()}}
        if guard.where is not None or not all(math.isfinite(v) for v in row.values()):
            diverged_at = guard.where or (epoch + 1, 0)
            history.append({**row, "diverged": True})
            break
        history.append({**row, "diverged": False})
        last_good = model.get_weights()
        stop.update(model, row)
        _save_checkpoint(model, ckpt, epoch + 1, history)

    run = f"{experiment}/{variant}/seed {seed}"
    if diverged_at is not None:
        message = f"{run}: the loss became non-finite at epoch {diverged_at[0]}, batch {diverged_at[1]}"
        if variant_spec.get("on_nan", "fail") != "record":
            raise TrainingDiverged(message + " (set on_nan: record for this variant if divergence is the finding)")
        log.warning("%s; recording the divergence and keeping the last finite weights", message)
        model.set_weights(last_good)
    elif patience:
        stop.restore_best(model)

    hist = pd.DataFrame(history)
    hist = hist[["epoch", *sorted(c for c in hist if c not in ("epoch", "diverged")), "diverged"]]
    hist.insert(0, "experiment", experiment)
    hist.insert(1, "variant", variant)
    hist.insert(2, "seed", seed)
    write_table(add_placement_columns(hist, placement), outputs.history)

    frames = []
    parts = [("train", train), ("test", test)] + ([("val", val)] if val is not None else [])
    for split_name, part in parts:
        probs = predict(model, part.images, training["batch_size"])
        frame = pd.DataFrame({"experiment": experiment, "variant": variant, "seed": seed, "split": split_name,
                              "sample": np.arange(len(part.images)), **exp.true_label_columns(part, variant_spec)})
        frame = pd.concat([frame, pd.DataFrame(probs, columns=[f"p_{c}" for c in names])], axis=1)
        frames.append(frame)
    preds = pd.concat(frames, ignore_index=True)
    preds["diverged"] = diverged_at is not None
    write_table(preds, outputs.predictions)
    with atomic_path(outputs.model, suffix=".keras") as tmp:
        model.save(tmp)
    write_run_record(outputs.run, experiment=experiment, variant=variant, seed=seed, framework="keras",
                     placement=placement, versions=_versions())
    shutil.rmtree(ckpt, ignore_errors=True)  # the finished model supersedes the checkpoints
    return {"diverged": diverged_at is not None, "epochs": len(history)}


