"""Keras 3 (TensorFlow backend) machinery shared by experiments mosaic, masked, complementary, landmark.

Importing this package imports TensorFlow; never import it from a process that uses torch.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_keras_without_its_optional_extras() -> None:
    """Import Keras with scikit-learn and matplotlib hidden from it.

    Keras 3 imports both whenever they are installed, only for its scikit-learn wrappers and its image-gallery
    plot, which labelbench never uses; that is ~1.2 s of the ~4.5 s every Keras job spends importing (measured
    on 2 cores). They are hidden only while Keras itself is imported (``sys.modules[name] = None`` is how the
    import system marks a module as absent), so a later ``import sklearn`` or ``import matplotlib`` in the same
    process works as usual; only ``keras.wrappers`` and ``keras.visualization`` stay without them there.
    """
    if "keras" in sys.modules:
        return
    hidden = [name for name in ("sklearn", "matplotlib") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_keras_without_its_optional_extras()
