"""One training run (experiment × variant × seed) with Keras 3: seeded, checkpointed every epoch, resumable, on
any Keras backend (TensorFlow, JAX or PyTorch: ``KERAS_BACKEND``, set from the config before Keras is imported by
:func:`labelbench.scripting.prepare_training_env`).

The epoch loop is ours rather than one ``fit(epochs=n)`` call with ``BackupAndRestore`` so that each epoch's
batch order depends only on (seed, epoch): a run killed after epoch k and resumed replays exactly the batches
an uninterrupted run would have seen, and ends with the same weights. A checkpoint records the run's identity
(settings, dataset checksum, code versions): a rerun that differs starts afresh (:mod:`labelbench.checkpoints`).

What repeats exactly on the CPU (tests/test_keras.py, run on every installed backend; README "Backends"): on
each backend, two runs of one config give identical histories and predictions, and a run killed after an epoch
and resumed gives the same as one never interrupted. Runs on different backends differ (other kernels, other
random streams for initial weights and augmentation).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labelbench.checkpoints import resume_or_clear, run_identity
from labelbench.datasets.store import load_dataset
from labelbench.errors import ConfigError, TrainingDiverged
from labelbench.experiments import get_experiment
from labelbench.io import atomic_path, write_json, write_table
from labelbench.keras.selection import Selection, measure, selected_predictions
from labelbench.runs import (
    Placement,
    RunOutputs,
    add_placement_columns,
    dataset_needs,
    gpu_missing,
    validation_split,
    write_run_record,
)
from labelbench.selection import COMPLEMENTARY, ORACLE, check_selection, column

log = logging.getLogger("labelbench.train")


def configure(seed: int, threads: int, device: str = "cpu") -> Placement:
    """Seed Python, NumPy and the backend, make the backend's ops deterministic where it has a switch for it, fix
    its CPU threads to ``threads`` (from the config, never from --cores: the count changes a run's numbers), hide
    the GPUs when ``device`` is cpu, and say where the run computes."""
    backend = keras.backend.backend()
    if backend == "jax":
        placement = _configure_jax(threads, device)
    elif backend == "torch":
        placement = _configure_torch(threads, device)
    else:
        placement = _configure_tensorflow(threads, device)
    keras.utils.set_random_seed(seed)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return placement


def _configure_tensorflow(threads: int, device: str) -> Placement:
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
    return Placement(device, _device_used(tf, device), threads, inter_op, "tensorflow")


def _configure_jax(threads: int, device: str) -> Placement:
    """JAX takes its CPU threads from ``NPROC`` when its client starts (set by ``prepare_training_env``; it has no
    inter-op pool of its own to size, recorded as 1); a GPU is hidden by ``JAX_PLATFORMS=cpu``. XLA's CPU kernels
    are deterministic for a fixed thread count, so there is no switch to turn on."""
    import os

    import jax

    if os.environ.get("NPROC") not in (None, str(threads)):
        log.warning("JAX's CPU threads come from NPROC=%s, not the %d asked for (set before JAX starts)",
                    os.environ["NPROC"], threads)
        threads = int(os.environ["NPROC"])
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if device == "cpu" or not gpus:
        if device == "gpu":
            gpu_missing(f"Keras on JAX {jax.__version__}", f"jax.devices() is {jax.devices()}",
                        "install JAX's CUDA build: pip install 'jax[cuda12]' (or jax[cuda13])")
        used = "cpu"
    else:
        used = f"gpu: {gpus[0].device_kind}"
    return Placement(device, used, threads, 1, "jax")


def _configure_torch(threads: int, device: str) -> Placement:
    """torch's CPU pools (intra-op ``threads``, inter-op ``min(2, threads)``, as TensorFlow's), its deterministic
    kernels, and the GPU when asked for and present (Keras's torch backend computes on CUDA whenever it sees it;
    ``CUDA_VISIBLE_DEVICES`` hides it on cpu)."""
    import torch

    inter_op = max(1, min(2, threads))
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(inter_op)
    except RuntimeError:  # only settable once, before any inter-op work (tests run many runs in one process)
        inter_op = torch.get_num_interop_threads()
    torch.use_deterministic_algorithms(True, warn_only=True)
    if device == "gpu" and not torch.cuda.is_available():
        gpu_missing(f"Keras on PyTorch {torch.__version__}",
                    f"torch.cuda.is_available() is False, built with CUDA: {torch.version.cuda}",
                    "install a CUDA build of PyTorch (https://pytorch.org/get-started/locally/)")
    used = f"gpu: {torch.cuda.get_device_name()}" if device == "gpu" and torch.cuda.is_available() else "cpu"
    return Placement(device, used, threads, inter_op, "torch")


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
    """Keras and the versions of the libraries its backend computes with."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jaxlib

        return {"keras": keras.__version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__}
    if backend == "torch":
        import torch

        return {"keras": keras.__version__, "torch": torch.__version__}
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


def validation_loss(model, outputs: np.ndarray, targets, weights: np.ndarray | None, batch_size: int) -> float:
    """The compiled loss (with any regularisation terms) of the model's ``outputs`` against ``targets``, as Keras's
    own validation pass reports it: batch by batch in order (a batch-level loss such as a non-negative risk
    correction sees the same batches), each batch's loss weighted by its size. Keras exposes no validation pass
    that takes outputs already computed; ``Model.compute_loss`` is the function that pass calls per batch."""
    total = 0.0
    for start in range(0, len(outputs), batch_size):
        end = min(start + batch_size, len(outputs))
        loss = model.compute_loss(
            y=keras.tree.map_structure(lambda a, s=start, e=end: a[s:e], targets), y_pred=outputs[start:end],
            sample_weight=None if weights is None else weights[start:end], training=False)
        total += float(keras.ops.convert_to_numpy(loss)) * (end - start)
    return total / len(outputs)


class ValidateOnce(keras.callbacks.Callback):
    """The validation pass of a run that selects models on more than its loss (the complementary experiment's
    criteria): the validation images predicted once an epoch, and from those outputs both ``val_loss``
    (:func:`validation_loss`) and every recorded criterion (:func:`labelbench.keras.selection.measure`), put into
    the epoch's logs before the callbacks after it (history, TensorBoard, progress) read them. Keras's
    ``validation_data`` would predict the same images a second time (~4 % of a complementary job, measured)."""

    def __init__(self, images: np.ndarray, targets, weights: np.ndarray | None, chosen: _Chosen, batch_size: int):
        super().__init__()
        self.images, self.targets, self.weights, self.chosen, self.batch_size = (
            images, targets, weights, chosen, batch_size)

    def on_epoch_end(self, epoch, logs=None):
        from labelbench.keras.data import predict

        probs = predict(self.model, self.images, self.batch_size)
        logs["val_loss"] = validation_loss(self.model, probs, self.targets, self.weights, self.batch_size)
        if all(math.isfinite(float(v)) for v in logs.values()):  # a diverged epoch's row records no criterion
            logs.update(measure(probs, self.chosen.inputs, self.chosen.oracle_labels, self.chosen.recorded))


def build_state(model, data) -> None:
    """Create the optimizer's and the compiled metrics' variables before the first training step.

    Keras 3 on TensorFlow defers that to the first trace of the train step when no distribution strategy is set,
    and a ``tf.function`` that creates variables is traced a second time: ~2 s of a job (measured on the mosaic
    VGG, 2 cores). ``Trainer._symbolic_build`` is the step Keras itself runs first under a strategy (and always on
    JAX); it is private, so where a Keras lacks it this does nothing and the run only loses the saving. ``data``:
    :class:`labelbench.keras.data.Batches` (its first batch gives the shapes) or a ``tf.data.Dataset``.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        symbolic_build(data_batch=data.first_batch() if hasattr(data, "first_batch") else data.element_spec)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _save_checkpoint(model, ckpt: Path, epoch: int, history: list[dict], identity: dict) -> None:
    """Weights and optimizer state of ``epoch`` (one ``.npz``: :func:`labelbench.keras.state.save_state`) under a
    name of its own; ``state.json``, written last and atomically, says which epoch is complete and which run made
    it (``identity``: :func:`labelbench.checkpoints.run_identity`). Older epochs are removed only after that, so a
    kill at any moment leaves one complete checkpoint."""
    from labelbench.keras.state import save_state

    ckpt.mkdir(parents=True, exist_ok=True)
    weights = ckpt / f"epoch{epoch:04d}.state.npz"
    save_state(model, weights)
    write_json(ckpt / "state.json", {"epoch": epoch, "weights": weights.name, "history": history,
                                     "identity": identity})
    for old in ckpt.glob("epoch*"):
        if old.name != weights.name:
            old.unlink(missing_ok=True)


def _load_checkpoint(model, ckpt: Path, identity: dict) -> tuple[int, list[dict]]:
    """The completed epochs and their history from the checkpoint in ``ckpt``, its weights and optimizer state
    loaded into ``model``; (0, []) when there is none or it was made by another run than ``identity`` (it is then
    removed: :func:`labelbench.checkpoints.resume_or_clear`)."""
    state_path = ckpt / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else None
    if not resume_or_clear(ckpt, state, identity):
        return 0, []
    if not model.optimizer.built:  # its saved state needs somewhere to go (train_run has built it already)
        model.optimizer.build(model.trainable_variables)
    from labelbench.keras.state import load_state

    load_state(model, ckpt / state["weights"])
    log.info("resuming from %s after epoch %d", ckpt, state["epoch"])
    return state["epoch"], state["history"]


def augmenter(spec: dict | None, seed: int):
    """Keras preprocessing layers (rotation, shifts, flips: the complementary source's ImageDataGenerator
    settings) as a :class:`labelbench.keras.data.Augmenter`, applied to each training batch with draws seeded by
    (epoch, batch), or None. ``seed`` only names the layers' own seeds, which the Augmenter does not use."""
    if not spec:
        return None
    from keras import layers

    from labelbench.keras.data import Augmenter

    steps = []
    mode = "horizontal_and_vertical" if spec.get("vflip") and spec.get("hflip", True) else (
        "vertical" if spec.get("vflip") else "horizontal" if spec.get("hflip", True) else None)
    if mode:
        steps.append(layers.RandomFlip(mode, seed=seed))
    if spec.get("rotation"):
        steps.append(layers.RandomRotation(spec["rotation"] / 360.0, fill_mode="reflect", seed=seed + 1))
    if spec.get("shift"):
        steps.append(layers.RandomTranslation(spec["shift"], spec["shift"], fill_mode="reflect", seed=seed + 2))
    return Augmenter(steps) if steps else None


class EpochScalars(keras.callbacks.Callback):
    """Each epoch's losses and metrics as TensorBoard scalars, laid out as Keras's ``TensorBoard`` callback lays
    them out (``train/`` and ``validation/``, tags ``epoch_<name>``), for the backends other than TensorFlow.

    Keras's callback writes through ``tf.summary`` and so would load TensorFlow into a JAX or torch job
    (TensorFlow beside torch crashes torch: DEVELOPERS.md); this writes with TensorBoard's own event-file writer,
    with its TensorFlow-free switch (``tensorboard.compat.notf``, as ``labelbench.pytorch.train`` does).
    """

    def __init__(self, log_dir: str):
        super().__init__()
        import sys
        import types

        sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.writers = {part: EventFileWriter(str(Path(log_dir) / part)) for part in ("train", "validation")}

    def on_epoch_end(self, epoch, logs=None):
        import time

        from tensorboard.compat.proto import event_pb2, summary_pb2

        for key, value in (logs or {}).items():
            part, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=f"epoch_{name}",
                                                                           simple_value=float(value))])
            self.writers[part].add_event(event_pb2.Event(wall_time=time.time(), step=epoch, summary=summary))
        for writer in self.writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _tensorboard(log_dir: str):
    if keras.backend.backend() == "tensorflow":
        return keras.callbacks.TensorBoard(log_dir, write_graph=False)
    return EpochScalars(log_dir)


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
    backend: str | None = None,
) -> dict:
    """Train one run and write the model, the per-epoch history and predictions for every split, and its
    placement (device, threads, Keras backend) in ``run.json`` and as history columns
    (:class:`labelbench.trainers.Trainer`).

    ``backend``: the Keras backend the config chose; the process must have imported Keras on it (the training
    job sets ``KERAS_BACKEND`` first: :func:`labelbench.scripting.load_trainer`). None: whichever Keras runs on.

    A non-finite loss fails the job (:class:`TrainingDiverged`) unless ``variant_spec['on_nan']`` is
    ``record``: then training stops, the weights of the last finite epoch (or the untrained ones) are kept,
    and the history carries ``diverged = True``.
    """
    run = {"experiment": experiment, "variant": variant, "seed": seed}
    name = f"{experiment}/{variant}/seed {seed}"
    if backend is not None and backend != keras.backend.backend():
        raise RuntimeError(f"{name}: the config asks for Keras backend {backend!r}, but Keras runs on "
                           f"{keras.backend.backend()!r} in this process (KERAS_BACKEND is read when Keras is first "
                           "imported)")
    # what the run's checkpoints record, so that a rerun resumes only the same run (labelbench.checkpoints)
    params = dict(experiment=experiment, variant=variant, seed=seed, model_spec=model_spec, training=training,
                  variant_spec=variant_spec, threads=threads, device=device, backend=backend)
    placement = configure(seed, threads, device)
    log.info("%s on %s, %d threads, Keras %s on %s", name, placement.device_used, placement.threads,
             keras.__version__, placement.backend)
    exp = get_experiment(experiment)
    data = _splits(exp, dataset_dir, training, variant_spec, seed)
    model = _compiled_model(exp, data, model_spec, variant_spec, training)
    from labelbench.keras.data import make_dataset

    val_data = make_dataset(data.monitor.images, data.y_monitor, training["batch_size"], weights=data.w_monitor)
    build_state(model, val_data)
    ckpt = Path(outputs.checkpoint_dir)
    identity = run_identity(params, dataset_dir, _versions())
    start, history = _load_checkpoint(model, ckpt, identity)
    chosen = _selection(exp, f"{experiment}/{variant}", training, data.val, ckpt, history)
    diverged_at, last_good = _fit_epochs(model, data, val_data, chosen, training, seed, start, history, ckpt,
                                         identity, outputs.tensorboard_dir)
    if diverged_at is not None:
        message = f"{name}: the loss became non-finite at epoch {diverged_at[0]}, batch {diverged_at[1]}"
        if variant_spec.get("on_nan", "fail") != "record":
            raise TrainingDiverged(message + " (set on_nan: record for this variant if divergence is the finding)")
        log.warning("%s; recording the divergence and keeping the last finite weights", message)
        model.set_weights(last_good)
    elif training.get("patience"):
        chosen.stop.restore(model)
    _write_history(history, run, placement, outputs.history)
    _write_predictions(model, exp, data, chosen, training, variant_spec, run, diverged_at, outputs)
    write_run_record(outputs.run, **run, framework="keras", placement=placement, versions=_versions())
    shutil.rmtree(ckpt, ignore_errors=True)  # the finished model supersedes the checkpoints
    return {"diverged": diverged_at is not None, "epochs": len(history)}


@dataclass
class _Splits:
    """A run's data: the dataset, its training, validation (or None) and test splits, the split that early
    stopping watches (validation, else test), targets and sample weights as the variant's loss reads them, and
    the model's output names."""

    ds: object
    train: object
    val: object | None
    test: object
    monitor: object
    y_train: np.ndarray
    w_train: np.ndarray | None
    y_monitor: np.ndarray
    w_monitor: np.ndarray | None
    names: list[str]


def _splits(exp, dataset_dir: str, training: dict, variant_spec: dict, seed: int) -> _Splits:
    ds = load_dataset(dataset_dir)
    train, test = ds.split("train"), ds.split("test")
    val = None
    if training.get("validation_fraction", 0) > 0:  # model selection on a part of train, never on test
        keep, held = validation_split(len(train.images), training["validation_fraction"], seed)
        val, train = train.take(held), train.take(keep)
    y_train = exp.training_targets(train, variant_spec)
    names = exp.output_names(ds, variant_spec)
    w_train = exp.sample_weights(train, variant_spec)
    monitor = val if val is not None else test
    return _Splits(ds, train, val, test, monitor, y_train, w_train, exp.training_targets(monitor, variant_spec),
                   exp.sample_weights(monitor, variant_spec), names)


def _compiled_model(exp, data: _Splits, model_spec: dict, variant_spec: dict, training: dict):
    """The configured model, compiled with the variant's loss (its arguments: what the loss declares it needs from
    the dataset, e.g. the transition matrix the labels were drawn with, then the experiment's, then the config's)
    and the experiment's training metrics."""
    from labelbench.keras.losses import get_loss
    from labelbench.keras.metrics import TRAINING_METRICS
    from labelbench.keras.models import build_model

    spec = {k: v for k, v in model_spec.items() if k != "name"}
    model = build_model(model_spec["name"], data.ds.images.shape[1:], len(data.names), **spec)
    loss_args = {**dataset_needs(variant_spec["loss"], data.ds.meta), **exp.loss_arguments(data.ds, variant_spec),
                 **variant_spec.get("loss_args", {})}
    model.compile(optimizer=_optimizer(training), loss=get_loss(variant_spec["loss"], **loss_args),
                  metrics=[TRAINING_METRICS[m] for m in exp.training_metrics])
    return model


@dataclass
class _Chosen:
    """Model selection (labelbench.keras.selection): early stopping on the configured criterion, and the best
    epoch of every criterion the experiment records, computed on the validation images' complementary labels
    (and, for the oracle alone, their true labels)."""

    stop: Selection
    recorded: tuple[str, ...]
    inputs: dict
    oracle_labels: np.ndarray | None


def _selection(exp, where: str, training: dict, val, ckpt: Path, history: list[dict]) -> _Chosen:
    driving = exp.selection(training)
    check_selection("training.selection", driving, exp.selection_criteria, training.get("validation_fraction", 0))
    recorded = exp.selection_criteria if val is not None else ()
    inputs = exp.selection_inputs(val) if recorded else {}
    if driving in COMPLEMENTARY and "complementary_labels" not in inputs:
        raise ConfigError(f"{where}: training.selection {driving!r} reads the validation "
                          "images' complementary labels, but its dataset has none; add `complementary: {method: "
                          "uniform}` to the dataset's entry, or select on loss")
    oracle_labels = val.targets() if set(recorded) & set(ORACLE) else None
    return _Chosen(Selection(driving, recorded, training.get("patience"), ckpt, history), recorded, inputs,
                   oracle_labels)


def _fit_epochs(model, data: _Splits, val_data, chosen: _Chosen, training: dict, seed: int, start: int,
                history: list[dict], ckpt: Path, identity: dict, tensorboard_dir: str | None):
    """Epochs ``start`` to the configured count, each in the batch order and with the augmentation draws of
    (seed, epoch) alone and checkpointed; appends to ``history``. Returns where the loss became non-finite
    ((epoch, batch), or None) and the last finite weights."""
    from labelbench.keras.data import make_dataset

    callbacks = [_tensorboard(tensorboard_dir)] if tensorboard_dir else []
    guard, diverged_at, last_good = NaNGuard(), None, model.get_weights()
    augment = augmenter(training.get("augment"), seed)
    bs = training["batch_size"]
    validate, criteria = [], {column(c) for c in chosen.recorded if c != "loss"}
    if chosen.recorded:  # one prediction of the validation images gives the loss and every criterion
        validate, val_data = [ValidateOnce(data.val.images, data.y_monitor, data.w_monitor, chosen, bs)], None
    for epoch in range(start, training["epochs"]):
        if chosen.stop.stopped:
            break
        epoch_seed = seed * 100_003 + epoch  # batch order and augmentation draws of this epoch alone
        batches = make_dataset(data.train.images, data.y_train, bs, shuffle_seed=epoch_seed, weights=data.w_train,
                               augment=augment, augment_seed=epoch_seed, drop_remainder=len(data.train.images) > bs)
        # shuffle=False: the order is the epoch's own; Keras would otherwise shuffle a PyDataset's batches
        fit = model.fit(batches, validation_data=val_data, initial_epoch=epoch, epochs=epoch + 1,
                        callbacks=[*validate, guard, *callbacks], verbose=2, shuffle=False)
        row = {"epoch": epoch + 1, **{k: float(v[-1]) for k, v in fit.history.items()}}
        # a criterion is NaN by design where its inputs are missing (no complementary labels): not a divergence
        if guard.where is not None or not all(math.isfinite(v) for k, v in row.items() if k not in criteria):
            diverged_at = guard.where or (epoch + 1, 0)
            history.append({**row, "diverged": True})
            break
        history.append({**row, "diverged": False})
        last_good = model.get_weights()
        chosen.stop.update(model, row)
        _save_checkpoint(model, ckpt, epoch + 1, history, identity)
    for callback in callbacks:
        if isinstance(callback, EpochScalars):
            callback.close()
    return diverged_at, last_good


def _write_history(history: list[dict], run: dict, placement: Placement, path: str) -> None:
    hist = pd.DataFrame(history)
    hist = hist[["epoch", *sorted(c for c in hist if c not in ("epoch", "diverged")), "diverged"]]
    for position, (key, value) in enumerate(run.items()):
        hist.insert(position, key, value)
    write_table(add_placement_columns(hist, placement), path)


def _write_predictions(model, exp, data: _Splits, chosen: _Chosen, training: dict, variant_spec: dict, run: dict,
                       diverged_at, outputs: RunOutputs) -> None:
    """The kept model (saved) and its probabilities on every split beside the true labels; with selection
    criteria recorded, the test images under each criterion's best epoch too."""
    from labelbench.keras.data import predict

    frames, outputs_of, bs = [], {}, training["batch_size"]
    parts = [("train", data.train), ("test", data.test)] + ([("val", data.val)] if data.val is not None else [])
    for split_name, part in parts:
        probs = outputs_of[split_name] = predict(model, part.images, bs)
        frame = pd.DataFrame({**run, "split": split_name, "sample": np.arange(len(part.images)),
                              **exp.true_label_columns(part, variant_spec)})
        frames.append(pd.concat([frame, pd.DataFrame(probs, columns=[f"p_{c}" for c in data.names])], axis=1))
    preds = pd.concat(frames, ignore_index=True)
    preds["diverged"] = diverged_at is not None
    with atomic_path(outputs.model, suffix=".keras") as tmp:
        model.save(tmp)
    if chosen.recorded:
        stop = chosen.stop
        restored = training.get("patience") and diverged_at is None and stop.path(stop.driving).is_file()
        kept = (stop.driving, outputs_of["test"]) if restored else None
        picked = selected_predictions(model, stop, data.test.images, data.names, bs, final=kept)
        test_rows = np.flatnonzero(preds["split"].to_numpy() == "test")
        extra = pd.DataFrame({c: np.nan for c in picked}, index=preds.index)
        extra.iloc[test_rows] = pd.DataFrame(picked).to_numpy()
        preds = pd.concat([preds, extra], axis=1)
    write_table(preds, outputs.predictions)
