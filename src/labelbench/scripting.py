"""Helpers for the thin scripts under ``workflow/scripts``."""

from __future__ import annotations

import logging
import os
import sys


def redirect_logs(log_path: str | os.PathLike | None) -> logging.Logger:
    """Send this job's output to ``log_path``: Python's stdout/stderr, the ``labelbench`` logger, and the
    process's file descriptors 1 and 2, so that what native libraries print lands there too. labelbench's own
    warnings and errors are also shown where the job's output went before (Snakemake's console), so that what a
    user should act on (a damaged dataset, skipped images) is seen without opening the log."""
    console = None
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives for the whole job
        sys.stdout.flush()
        sys.stderr.flush()
        console = os.fdopen(os.dup(2), "w", buffering=1)
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        sys.stdout = sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logger = logging.getLogger("labelbench")
    for handler in [h for h in logger.handlers if getattr(h, "labelbench_console", False)]:
        logger.removeHandler(handler)
    if console is not None:
        handler = logging.StreamHandler(console)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.labelbench_console = True
        logger.addHandler(handler)
    return logger


#: models built from separable convolutions: with TensorFlow 2.21's oneDNN CPU kernels some input sizes
#: crash the process (segfault / "free(): invalid size", measured here at 48-64 px), so those jobs run
#: TensorFlow's own kernels (about 1.7x slower on plain convolutions, measured on the landmark CNN; the default
#: mini-Xception at 32 px is faster on them: ~34 against ~45 ms a training step)
SEPARABLE_MODELS = ("mini_xception", "xception")


def prepare_tensorflow_env(model_spec: dict) -> None:
    """Environment a Keras job needs before TensorFlow is imported."""
    if model_spec.get("name") in SEPARABLE_MODELS:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


#: the variables through which OpenMP and the BLAS libraries take their thread count. Snakemake sets them to a
#: job's scheduled threads, which it lowers to --cores when that is smaller; a training job sets them back to its
#: configured count, so that its numbers never follow --cores.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def prepare_training_env(framework: str, model_spec: dict, device: str, threads: int) -> None:
    """Environment a training (or step-timing) job needs before its framework is imported.

    ``device`` cpu hides every GPU (``CUDA_VISIBLE_DEVICES`` empty), so that a CPU run on a machine with a GPU
    computes on the CPU, as the config says; ``threads`` goes to every thread variable (:data:`THREAD_VARIABLES`).
    """
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be cpu or gpu, got {device!r}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if framework == "keras":
        prepare_tensorflow_env(model_spec)


def load_trainer(framework: str, model_spec: dict, device: str = "cpu", threads: int = 1):
    """``train_run`` of ``framework`` (keras or torch), after setting what its framework needs before import:
    GPUs hidden when ``device`` is cpu, thread variables set to ``threads`` (:func:`prepare_training_env`)."""
    if framework not in ("keras", "torch"):
        raise ValueError(f"framework must be keras or torch, got {framework!r}")
    prepare_training_env(framework, model_spec, device, threads)
    if framework == "keras":
        from labelbench.keras.train import train_run
    else:
        from labelbench.pytorch.train import train_run
    return train_run
