"""Helpers for the thin scripts under ``workflow/scripts``."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

#: glibc's ``mallopt`` parameters (``<malloc.h>``)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: what :func:`keep_freed_memory` sets: blocks up to 32 MiB (glibc's largest mmap threshold on 64-bit) come from
#: the heap, freed heap memory is returned to the kernel only past 2 GiB (``mallopt`` takes an int), and the heap
#: grows 256 MiB at a time
ALLOCATOR_SETTINGS = {"mmap_threshold": 32 * 2**20, "trim_threshold": 2**31 - 1, "top_pad": 256 * 2**20}


def keep_freed_memory() -> bool:
    """Tell glibc's allocator to keep the memory a job frees instead of handing it back to the kernel at once.

    By default glibc serves every block above its mmap threshold (128 KiB, raised dynamically up to 32 MiB) with
    a fresh ``mmap`` and unmaps it on ``free``, and trims the heap whenever 128 KiB at its top are free. A training
    step allocates and frees its activations and gradients (MBs each) on every step, so every step faulted its
    pages in again: one default mosaic job spent 27.5 of 82.5 CPU-seconds in the kernel, 21.9 M minor page faults
    (issue 28). These are the settings ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` and
    ``MALLOC_TOP_PAD_`` make, set through ``mallopt`` so that the job's own code sets them (the variables are read
    only when a process starts, before any script runs); with them that job ran 55 s instead of 85 with identical
    bytes. The cost is memory: a job keeps its peak heap until it ends. Where the C library is not glibc (no
    ``mallopt``) this does nothing and returns False. Written by hand: no library wraps ``mallopt``.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, ALLOCATOR_SETTINGS["mmap_threshold"]),
                (_M_TRIM_THRESHOLD, ALLOCATOR_SETTINGS["trim_threshold"]),
                (_M_TOP_PAD, ALLOCATOR_SETTINGS["top_pad"]))
    return all(mallopt(param, value) == 1 for param, value in settings)


def redirect_logs(log_path: str | os.PathLike | None) -> logging.Logger:
    """Send this job's output to ``log_path``: Python's stdout/stderr, the ``labelbench`` logger, and the
    process's file descriptors 1 and 2, so that what native libraries print lands there too. labelbench's own
    warnings and errors are also shown where the job's output went before (Snakemake's console), so that what a
    user should act on (a damaged dataset, skipped images) is seen without opening the log.

    Every job script calls this first, so it is also where the job's allocator is set
    (:func:`keep_freed_memory`), before any framework allocates."""
    keep_freed_memory()
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


def prepare_tensorflow_env() -> None:
    """Environment every TensorFlow job needs before TensorFlow is imported: TensorFlow's own CPU kernels instead
    of oneDNN's (``TF_ENABLE_ONEDNN_OPTS=0``, over whatever the caller's environment said).

    Two reasons, both measured. oneDNN crashed the separable-convolution models (mini-Xception, Xception) at some
    input sizes (segfault / "free(): invalid size" at 48-64 px). And oneDNN, outside a deterministic mode that
    TensorFlow does not switch on, changed a run's bytes from one run to the next: the smoke run differed between
    --cores 1 and --cores 2 (2-thread mosaic jobs on the CI machine, final loss 9.1003 against 9.0967; 1-thread
    landmark, masked and multioutput jobs here, validation loss 1.6067072 against 1.6067075 after one epoch), and
    the SLURM test's landmark job, placed on device gpu on a CPU-only node, differed from the same job on device
    cpu (kp_error_px 8.42087 against 8.42126) once only device-cpu jobs ran without oneDNN. Every job on
    TensorFlow's own kernels was identical. On a GPU, oneDNN only served ops left on the CPU. The cost is speed on
    plain CPU convolutions (~1.7x on the landmark CNN, DEVELOPERS.md); the default mini-Xception is faster without
    it (~34 against ~45 ms a training step).
    """
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ logging: warnings and errors only


#: the Keras 3 backends a Keras experiment can run on (``backend`` in the config)
KERAS_BACKENDS = ("tensorflow", "jax", "torch")


def prepare_keras_env(backend: str = "tensorflow") -> None:
    """Environment a Keras job needs before Keras is imported: ``KERAS_BACKEND`` (the config's choice, over
    whatever the caller's environment said), and on TensorFlow its oneDNN switch (:func:`prepare_tensorflow_env`).

    A process holds one backend: where Keras is imported already on another one, this refuses rather than let
    the job run on a backend its config did not choose.
    """
    if backend not in KERAS_BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(KERAS_BACKENDS)}, got {backend!r}")
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise RuntimeError(f"Keras was imported on backend {keras.backend.backend()!r} in this process before "
                           f"backend {backend!r} was asked for; a process can hold one Keras backend")
    os.environ["KERAS_BACKEND"] = backend
    if backend == "tensorflow":
        prepare_tensorflow_env()
    elif backend == "jax":
        prepare_jax_env()


def jax_cache_dir() -> str:
    """Where JAX jobs keep XLA's compiled programs: ``$JAX_COMPILATION_CACHE_DIR`` when set, else
    ``labelbench/jax`` in the user's cache folder (``$XDG_CACHE_HOME``, default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(base, "labelbench", "jax")


def prepare_jax_env() -> None:
    """JAX's persistent compilation cache, for every compiled program however small.

    JAX compiles each operation it runs eagerly (building a model: every weight initialiser) for each new shape,
    and each process starts with none compiled: building the VGG-13 of the smoke config took 17 s, its first
    forward pass 4.5 s (2 busy cores); with the cache filled by an earlier job, 1.2 and 1.5 s. A compiled program
    is the same bytes whether compiled or read back, so the cache changes no result. JAX skips an entry it cannot
    read (a job killed while writing one) and compiles again.
    """
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", jax_cache_dir())
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


#: the variables through which OpenMP and the BLAS libraries take their thread count. Snakemake sets them to a
#: job's scheduled threads, which it lowers to --cores when that is smaller; a training job sets them back to its
#: configured count, so that its numbers never follow --cores.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _device_and_threads_env(device: str, threads: int) -> None:
    """GPUs hidden when ``device`` is cpu; every thread variable set to ``threads`` (:func:`prepare_training_env`)."""
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be cpu or gpu, got {device!r}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def prepare_training_env(framework: str, device: str, threads: int,
                         backend: str = "tensorflow") -> None:
    """Environment a training (or step-timing) job needs before its framework is imported.

    ``device`` cpu hides every GPU (``CUDA_VISIBLE_DEVICES`` empty; on JAX also ``JAX_PLATFORMS=cpu``, so that it
    does not look for a GPU plugin), so that a CPU run on a machine with a GPU computes on the CPU, as the config
    says; ``threads`` goes to every thread variable (:data:`THREAD_VARIABLES`) and, on JAX, to ``NPROC``, the
    size XLA's CPU client gives its thread pool (JAX has no other setting for it; measured: ``NPROC=1`` made a
    matrix product's CPU time equal its wall time, ``XLA_FLAGS``' ``intra_op_parallelism_threads=1`` did not).
    ``backend``: Keras's backend, for ``framework`` keras (:func:`prepare_keras_env`).
    """
    _device_and_threads_env(device, threads)
    if framework == "keras":
        prepare_keras_env(backend)
        if backend == "jax":
            os.environ["NPROC"] = str(threads)
            if device == "cpu":
                os.environ["JAX_PLATFORMS"] = "cpu"


def load_trainer(experiment: str, device: str = "cpu", threads: int = 1, backend: str | None = None):
    """The :class:`labelbench.trainers.Trainer` of ``experiment``'s framework (its registry entry), after setting
    what that framework needs before import: GPUs hidden when ``device`` is cpu, thread variables set to
    ``threads``, and for keras ``KERAS_BACKEND`` set to ``backend`` (default tensorflow;
    :func:`prepare_training_env`)."""
    import importlib

    _device_and_threads_env(device, threads)  # before the registry's imports (pandas, SciPy) read the thread count
    from labelbench.experiments import get_experiment
    from labelbench.trainers import TRAINER_MODULES

    framework = get_experiment(experiment).framework
    if framework == "torch" and backend not in (None, "torch"):
        raise ValueError(f"backend {backend!r} chooses Keras's backend; the torch framework has none")
    prepare_training_env(framework, device, threads, backend or "tensorflow")
    return importlib.import_module(TRAINER_MODULES[framework]).train_run
