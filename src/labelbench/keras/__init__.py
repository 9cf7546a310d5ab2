"""Keras 3 machinery shared by experiments mosaic, masked, complementary, landmark, on the backend
``KERAS_BACKEND`` names (tensorflow when unset; jax and torch work alike: README, "Keras backends").

On TensorFlow, importing this package imports TensorFlow: never import it so from a process that uses torch. On
JAX or torch, TensorFlow is marked absent for the whole process before Keras is imported (``sys.modules`` entry
None, the import system's own marker), so nothing loads it behind our back: Keras's ``set_random_seed`` seeds
``tf.random`` whenever TensorFlow is installed, and TensorBoard's writer uses TensorFlow when it can; TensorFlow
loaded beside torch makes torch crash (DEVELOPERS.md), and costs a JAX job ~2 s and ~0.5 GB for nothing.
"""

import os
import sys

#: the backend Keras will load: a job's ``KERAS_BACKEND`` (set, with the rest of a job's environment, only by
#: :mod:`labelbench.scripting` before any framework is imported), else Keras's own default, TensorFlow. Nothing
#: here writes the environment.
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
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
