"""One tagging run (variant × seed) with PyTorch: seeded, checkpointed every epoch, resumable; the best epoch
by validation macro F1 is the model that is kept.

Like the Keras side, each epoch's shuffling and augmentation depend only on (seed, epoch), so a run killed
after epoch k and resumed ends with the same weights as one that was never interrupted (on CPU). ``last.pt``
records the run's identity; a rerun with other settings, data or code starts afresh
(:mod:`labelbench.checkpoints`).
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from labelbench.checkpoints import resume_or_clear, run_identity
from labelbench.errors import TrainingDiverged
from labelbench.experiments import get_experiment
from labelbench.io import atomic_path, write_table
from labelbench.pytorch.data import model_input
from labelbench.pytorch.losses import get_loss
from labelbench.pytorch.models import build_model
from labelbench.runs import Placement, add_placement_columns, gpu_missing, write_run_record

log = logging.getLogger("labelbench.tagging")


def configure(seed: int, threads: int, deterministic: bool = True, device: str = "cpu") -> torch.device:
    """Seed, fix CPU threads to ``threads`` (from the config, never from --cores: the count changes a run's
    numbers), ask for deterministic kernels (or, with ``deterministic=False``, let cuDNN pick the fastest ones by
    timing them); CUDA when ``device`` is gpu and PyTorch sees one; a gpu run without one stops
    (:func:`labelbench.runs.gpu_missing`), or with ``LABELBENCH_ALLOW_CPU_FALLBACK=1`` trains on the CPU.

    Measured on an H100 (ResNeXt50 at 256 px, batch 32, bf16 autocast, channels-last): deterministic kernels
    ~660 training images/s against ~880 with cuDNN's timed choice, side by side in one process (~960 against
    ~1,080-1,170 in separate runs); two same-seed runs of the real job there gave identical predictions.
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, threads))
    try:
        torch.set_num_interop_threads(max(1, threads))
    except RuntimeError:  # only settable once, before any inter-op work (tests run many jobs in one process)
        pass
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.benchmark = not deterministic
    if device == "gpu" and not torch.cuda.is_available():
        gpu_missing(f"PyTorch {torch.__version__}",
                    f"torch.cuda.is_available() is False, torch.cuda.device_count() {torch.cuda.device_count()}, "
                    f"built with CUDA: {torch.version.cuda or 'no (a CPU build)'}",
                    "install a CUDA build of PyTorch (the pinned torch from PyPI on Linux x86-64 is one; others: "
                    "https://pytorch.org/get-started/locally/) and an NVIDIA driver")
    return torch.device("cuda" if device == "gpu" and torch.cuda.is_available() else "cpu")


def placement(device: str, used: torch.device) -> Placement:
    """What :func:`configure` set, as recorded in the run's history and run.json."""
    name = "cpu" if used.type == "cpu" else f"gpu: {torch.cuda.get_device_name(used)}"
    return Placement(device, name, torch.get_num_threads(), torch.get_num_interop_threads(), "torch")


def summary_writer(log_dir: str):
    """torch's TensorBoard writer without TensorFlow: tensorboard imports TensorFlow when it can, unless the
    marker module ``tensorboard.compat.notf`` exists (its own switch to the stub), which we provide."""
    import types

    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir)


def _loader(dataset, batch_size: int, shuffle: bool, workers: int, seed: int | None, device) -> DataLoader:
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers, generator=generator,
                      pin_memory=device.type == "cuda", persistent_workers=False, drop_last=False)


def predict(model, loader, device, channels_last: bool = False) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        for x, _ in loader:
            x = model_input(x, device, channels_last)
            out.append(torch.sigmoid(model(x).float()).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def make_optimizer(params, training: dict) -> torch.optim.Optimizer:
    """The optimiser the config names, with the keys the schema accepts for it: adam (``amsgrad``) or sgd
    (``momentum``), at ``learning_rate``."""
    if training.get("optimizer", "adam") == "sgd":
        return torch.optim.SGD(params, lr=training["learning_rate"], momentum=training.get("momentum", 0.0))
    return torch.optim.Adam(params, lr=training["learning_rate"], amsgrad=training.get("amsgrad", False))


def _f1(y: np.ndarray, p: np.ndarray, average: str) -> float:
    from labelbench.metric_kernels import multilabel_f1

    return multilabel_f1(y, p, average) if len(y) else float("nan")


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def train_run(
    dataset_dir: str,
    outputs,
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
    """Train one run of a PyTorch experiment on the datasets it builds
    (:meth:`labelbench.experiments.Experiment.torch_datasets`); write ``model.pt`` (best epoch), history, val/test
    predictions, and the run's placement (device, threads) in ``run.json`` and as history columns. ``backend``
    is Keras's choice and has no meaning here (:class:`labelbench.trainers.Trainer`); None or torch only."""
    if backend not in (None, "torch"):
        raise ValueError(f"backend {backend!r} chooses Keras's backend; the torch framework has none")
    # what the run's checkpoints record, so that a rerun resumes only the same run (labelbench.checkpoints)
    params = dict(experiment=experiment, variant=variant, seed=seed, model_spec=model_spec, training=training,
                  variant_spec=variant_spec, threads=threads, device=device)
    where = placement(device, configure(seed, threads, training.get("deterministic", True), device))
    device = torch.device("cpu" if where.kind == "cpu" else "cuda")  # from here on, what the run computes on
    data = get_experiment(experiment).torch_datasets(dataset_dir, training, seed)
    log.info("%d train / %d validation / %d test images, %d tags, %d skipped, device %s",
             len(data.train), len(data.val), len(data.test), len(data.classes), data.skipped, device)
    setup = _build(model_spec, variant_spec, training, len(data.classes), device)
    ckpt = Path(outputs.checkpoint_dir)
    identity = run_identity(params, dataset_dir, {"torch": torch.__version__})
    start, history, best = _resume(setup, ckpt, identity, device)
    best = _train_epochs(setup, data, training, seed, f"{experiment}/{variant}/seed {seed}", start, history, best,
                         ckpt, identity, outputs.tensorboard_dir, device)
    if (ckpt / "best.pt").is_file():
        setup.model.load_state_dict(torch.load(ckpt / "best.pt", map_location=device, weights_only=True)["model"])
    run = {"experiment": experiment, "variant": variant, "seed": seed}
    _write_history(history, best, run, where, outputs.history)
    _write_predictions(setup, data, training, run, device, outputs.predictions)
    _save(Path(outputs.model), {"model": setup.model.state_dict(), "model_spec": model_spec, "classes": data.classes,
                                "image_size": training.get("image_size", 64), "best_epoch": best["epoch"]})
    write_run_record(outputs.run, experiment=experiment, variant=variant, seed=seed,
                     framework="torch", placement=where, versions={"torch": torch.__version__})
    shutil.rmtree(ckpt, ignore_errors=True)  # the finished model supersedes the checkpoints
    return {"best_epoch": best["epoch"], "best_val_macro_f1": best["score"]}


@dataclass
class _Setup:
    """What one run trains: the model (channels-last or not), its loss and optimiser."""

    model: torch.nn.Module
    loss_fn: object
    optimizer: torch.optim.Optimizer
    channels_last: bool


def _build(model_spec: dict, variant_spec: dict, training: dict, n_outputs: int, device) -> _Setup:
    spec = {k: v for k, v in model_spec.items() if k != "name"}
    model = build_model(model_spec["name"], n_outputs, **spec).to(device)
    # channels-last convolutions: on CUDA for the tensor cores; on CPU too, measured on 2 cores at 64 px, batch 32:
    # small_cnn's training step 465 → 712 images/s, mobilenet_v3_small ~430 → ~630
    channels_last = training.get("channels_last", True)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = get_loss(variant_spec["loss"], **variant_spec.get("loss_args", {}))
    return _Setup(model, loss_fn, make_optimizer(model.parameters(), training), channels_last)


def _resume(setup: _Setup, ckpt: Path, identity: dict, device) -> tuple[int, list[dict], dict]:
    """(epochs done, history, best epoch so far) from the run's checkpoint when it is this run's, else a fresh
    start (and nothing of the folder is read, a stale best.pt included)."""
    last = ckpt / "last.pt"
    state = torch.load(last, map_location=device, weights_only=False) if last.is_file() else None
    if not resume_or_clear(ckpt, state, identity):
        return 0, [], {"score": -1.0, "epoch": 0}
    setup.model.load_state_dict(state["model"])
    setup.optimizer.load_state_dict(state["optimizer"])
    log.info("resuming from %s after epoch %d", ckpt, state["epoch"])
    return state["epoch"], state["history"], state["best"]


def _train_epochs(setup: _Setup, data, training: dict, seed: int, run: str, start: int, history: list[dict],
                  best: dict, ckpt: Path, identity: dict, tensorboard_dir: str | None, device) -> dict:
    """Epochs ``start`` to the configured count, each checkpointed, with early stopping on validation macro F1
    (resumable: the best epoch is in the checkpoint); appends to ``history`` and returns the best epoch."""
    writer = summary_writer(tensorboard_dir) if tensorboard_dir else None
    workers, bs = training.get("workers", 0), training["batch_size"]
    val_loader = _loader(data.val, bs, False, workers, None, device)
    y_val = data.val.annotations.targets[data.val.indices]
    patience = training.get("patience")
    for epoch in range(start, training["epochs"]):
        if patience and epoch - best["epoch"] >= patience:
            log.info("no better validation macro F1 for %d epochs: stopping", patience)
            break
        loss = _one_epoch(setup, data.train, training, seed * 100_003 + epoch, epoch, run, device)
        p_val = predict(setup.model, val_loader, device, setup.channels_last)
        score = _f1(y_val, p_val, "macro")
        row = {"epoch": epoch + 1, "loss": loss, "val_macro_f1": score, "val_micro_f1": _f1(y_val, p_val, "micro")}
        history.append(row)
        log.info("epoch %d: loss %.4f, validation macro F1 %.4f", epoch + 1, row["loss"], score)
        if writer:
            for k, v in row.items():
                if k != "epoch":
                    writer.add_scalar(k, v, epoch + 1)
        if math.isfinite(score) and score > best["score"]:
            best = {"score": score, "epoch": epoch + 1}
            _save(ckpt / "best.pt", {"model": setup.model.state_dict()})
        _save(ckpt / "last.pt", {"model": setup.model.state_dict(), "optimizer": setup.optimizer.state_dict(),
                                 "epoch": epoch + 1, "history": history, "best": best, "identity": identity})
    if writer:
        writer.close()
    return best


def _one_epoch(setup: _Setup, train_ds, training: dict, epoch_seed: int, epoch: int, run: str, device) -> float:
    """One pass over the training images in the order and with the augmentation draws of ``epoch_seed`` alone;
    the mean training loss."""
    torch.manual_seed(epoch_seed)  # augmentation draws of this epoch
    loader = _loader(train_ds, training["batch_size"], True, training.get("workers", 0), epoch_seed, device)
    setup.model.train()
    losses = []
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{training['epochs']}", file=sys.stderr, mininterval=10, ncols=100)
    for x, y in bar:
        x, y = model_input(x, device, setup.channels_last), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = setup.loss_fn(setup.model(x).float(), y)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"{run}: the loss became non-finite at epoch {epoch + 1}")
        setup.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        setup.optimizer.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def _write_history(history: list[dict], best: dict, run: dict, where: Placement, path: str) -> None:
    hist = pd.DataFrame(history)
    hist["best"] = hist["epoch"] == best["epoch"]
    for position, (key, value) in enumerate(run.items()):
        hist.insert(position, key, value)
    write_table(add_placement_columns(hist, where), path)


def _write_predictions(setup: _Setup, data, training: dict, run: dict, device, path: str) -> None:
    """The kept model's probabilities on the validation and test images, beside their true tags."""
    frames, classes = [], data.classes
    for split, ds in (("val", data.val), ("test", data.test)):
        loader = _loader(ds, training["batch_size"], False, training.get("workers", 0), None, device)
        probs = predict(setup.model, loader, device, setup.channels_last)
        frame = pd.DataFrame({**run, "split": split, "sample": ds.indices,
                              "image_name": [ds.name(i) for i in range(len(ds))]})
        y = ds.annotations.targets[ds.indices]
        frame = pd.concat([frame, pd.DataFrame(y, columns=[f"tag_{c}" for c in classes]),
                           pd.DataFrame(probs.reshape(len(ds), len(classes)), columns=[f"p_{c}" for c in classes])],
                          axis=1)
        frames.append(frame)
    preds = pd.concat(frames, ignore_index=True)
    preds["skipped_images"] = data.skipped
    write_table(preds, path)
