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
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from labelbench.checkpoints import resume_or_clear, run_identity
from labelbench.errors import TrainingDiverged
from labelbench.io import atomic_path, write_table
from labelbench.pytorch.data import NusWideDataset, model_input, transforms
from labelbench.pytorch.losses import get_loss
from labelbench.pytorch.models import build_model
from labelbench.runs import Placement, add_placement_columns, gpu_missing, validation_split, write_run_record

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
) -> dict:
    """Train one tagging run; write ``model.pt`` (best epoch), history, val/test predictions, and the run's
    placement (device, threads) in ``run.json`` and as history columns."""
    # what the run's checkpoints record, so that a rerun resumes only the same run (labelbench.checkpoints)
    params = dict(experiment=experiment, variant=variant, seed=seed, model_spec=model_spec, training=training,
                  variant_spec=variant_spec, threads=threads, device=device)
    where = placement(device, configure(seed, threads, training.get("deterministic", True), device))
    device = torch.device("cpu" if where.kind == "cpu" else "cuda")  # from here on, what the run computes on
    root = Path(dataset_dir)
    size = training.get("image_size", 64)
    train_tf, eval_tf = transforms(size, training.get("augment"))
    on_bad = training.get("on_bad_image", "skip")
    cache = training.get("cache_images", False)
    full = NusWideDataset(root, "train", on_bad_image=on_bad, cache=cache)
    tr_idx, val_idx = validation_split(len(full.annotations.names), training.get("validation_fraction", 0.1), seed)
    train_ds, val_ds = full.subset(tr_idx, train_tf), full.subset(val_idx, eval_tf)  # images checked once
    test_ds = NusWideDataset(root, "test", eval_tf, on_bad, labels=full.classes, cache=cache)
    skipped = len(full.skipped) + len(test_ds.skipped)
    classes = full.classes
    workers = training.get("workers", 0)
    bs = training["batch_size"]
    log.info("%d train / %d validation / %d test images, %d tags, %d skipped, device %s",
             len(train_ds), len(val_ds), len(test_ds), len(classes), skipped, device)

    spec = {k: v for k, v in model_spec.items() if k != "name"}
    model = build_model(model_spec["name"], len(classes), **spec).to(device)
    # channels-last convolutions: on CUDA for the tensor cores; on CPU too, measured on 2 cores at 64 px, batch 32:
    # small_cnn's training step 465 → 712 images/s, mobilenet_v3_small ~430 → ~630
    channels_last = training.get("channels_last", True)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = get_loss(variant_spec["loss"], **variant_spec.get("loss_args", {}))
    optimizer = make_optimizer(model.parameters(), training)

    ckpt = Path(outputs.checkpoint_dir)
    start, history, best = 0, [], {"score": -1.0, "epoch": 0}
    identity = run_identity(params, dataset_dir, {"torch": torch.__version__})
    last = ckpt / "last.pt"
    state = torch.load(last, map_location=device, weights_only=False) if last.is_file() else None
    if resume_or_clear(ckpt, state, identity):  # else nothing of the folder is read (a stale best.pt included)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, history, best = state["epoch"], state["history"], state["best"]
        log.info("resuming from %s after epoch %d", ckpt, start)

    writer = summary_writer(outputs.tensorboard_dir) if outputs.tensorboard_dir else None
    val_loader = _loader(val_ds, bs, False, workers, None, device)
    y_val = val_ds.annotations.targets[val_ds.indices]
    run = f"{experiment}/{variant}/seed {seed}"
    patience = training.get("patience")
    for epoch in range(start, training["epochs"]):
        if patience and epoch - best["epoch"] >= patience:  # early stopping on validation macro F1 (resumable:
            log.info("no better validation macro F1 for %d epochs: stopping", patience)  # best is checkpointed)
            break
        torch.manual_seed(seed * 100_003 + epoch)  # augmentation draws of this epoch
        loader = _loader(train_ds, bs, True, workers, seed * 100_003 + epoch, device)
        model.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{training['epochs']}", file=sys.stderr, mininterval=10,
                   ncols=100)
        for x, y in bar:
            x, y = model_input(x, device, channels_last), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(model(x).float(), y)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"{run}: the loss became non-finite at epoch {epoch + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        p_val = predict(model, val_loader, device, channels_last)
        score = _f1(y_val, p_val, "macro")
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_macro_f1": score,
               "val_micro_f1": _f1(y_val, p_val, "micro")}
        history.append(row)
        log.info("epoch %d: loss %.4f, validation macro F1 %.4f", epoch + 1, row["loss"], score)
        if writer:
            for k, v in row.items():
                if k != "epoch":
                    writer.add_scalar(k, v, epoch + 1)
        if math.isfinite(score) and score > best["score"]:
            best = {"score": score, "epoch": epoch + 1}
            _save(ckpt / "best.pt", {"model": model.state_dict()})
        _save(ckpt / "last.pt", {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "epoch": epoch + 1, "history": history, "best": best, "identity": identity})
    if writer:
        writer.close()

    if (ckpt / "best.pt").is_file():
        model.load_state_dict(torch.load(ckpt / "best.pt", map_location=device, weights_only=True)["model"])
    hist = pd.DataFrame(history)
    hist["best"] = hist["epoch"] == best["epoch"]
    hist.insert(0, "experiment", experiment)
    hist.insert(1, "variant", variant)
    hist.insert(2, "seed", seed)
    write_table(add_placement_columns(hist, where), outputs.history)

    frames = []
    for split, ds in (("val", val_ds), ("test", test_ds)):
        probs = predict(model, _loader(ds, bs, False, workers, None, device), device, channels_last)
        frame = pd.DataFrame({"experiment": experiment, "variant": variant, "seed": seed, "split": split,
                              "sample": ds.indices, "image_name": [ds.name(i) for i in range(len(ds))]})
        y = ds.annotations.targets[ds.indices]
        frame = pd.concat([frame, pd.DataFrame(y, columns=[f"tag_{c}" for c in classes]),
                           pd.DataFrame(probs.reshape(len(ds), len(classes)), columns=[f"p_{c}" for c in classes])],
                          axis=1)
        frames.append(frame)
    preds = pd.concat(frames, ignore_index=True)
    preds["skipped_images"] = skipped
    write_table(preds, outputs.predictions)
    _save(Path(outputs.model), {"model": model.state_dict(), "model_spec": model_spec, "classes": classes,
                                "image_size": size, "best_epoch": best["epoch"]})
    write_run_record(outputs.run, experiment=experiment, variant=variant, seed=seed,
                     framework="torch", placement=where, versions={"torch": torch.__version__})
    shutil.rmtree(ckpt, ignore_errors=True)
    return {"best_epoch": best["epoch"], "best_val_macro_f1": best["score"]}

