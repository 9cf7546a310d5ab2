"""Keras 3 machinery shared by experiments mosaic, masked, complementary, landmark, on the backend
``KERAS_BACKEND`` names (tensorflow when unset; jax and torch work alike: README, "Keras backends").

On TensorFlow, importing this package imports TensorFlow: never import it so from a process that uses torch. On
JAX or torch, TensorFlow is marked absent for the whole process before Keras is imported (``sys.modules`` entry
None, the import system's own marker), so nothing loads it behind our back: Keras's ``set_random_seed`` seeds
``tf.random`` whenever TensorFlow is installed, and TensorBoard's writer uses TensorFlow when it can; TensorFlow
loaded beside torch makes torch crash (DEVELOPERS.md), and costs a JAX job ~2 s and ~0.5 GB for nothing.
"""

import json
import os
import sys


def _configured_backend() -> str:
    """The backend Keras will load, found as Keras finds it (``keras/src/backend/config.py``): a non-empty
    ``KERAS_BACKEND`` (a job's, set with the rest of its environment only by :mod:`labelbench.scripting` before any
    framework is imported), else the ``backend`` of ``keras.json`` in ``$KERAS_HOME`` (default ``~/.keras``), else
    TensorFlow. Nothing here writes the environment."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


#: the backend Keras will load in this process
BACKEND = _configured_backend()
if BACKEND != "tensorflow" and "tensorflow" not in sys.modules:
    sys.modules["tensorflow"] = None


def _import_keras_without_its_optional_extras() -> None:
    """Import Keras with scikit-learn and matplotlib (and, on TensorFlow, JAX) hidden from it.

    Keras 3 imports scikit-learn and matplotlib whenever they are installed, only for its scikit-learn wrappers
    and its image-gallery plot, which labelbench never uses; that is ~1.2 s of the ~4.5 s every Keras job spends
    importing (measured on 2 cores). TensorFlow imports JAX whenever it is installed, for TFLite's converter
    (0.3 s of import and ~50 MB). They are hidden only while Keras itself is imported (``sys.modules[name] =
    None`` is how the import system marks a module as absent), so a later ``import sklearn`` or ``import
    matplotlib`` in the same process works as usual; only ``keras.wrappers`` and ``keras.visualization`` stay
    without them there.
    """
    if "keras" in sys.modules:
        return
    extras = ("sklearn", "matplotlib", "jax") if BACKEND == "tensorflow" else (
        "sklearn", "matplotlib")
    hidden = [name for name in extras if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_keras_without_its_optional_extras()
