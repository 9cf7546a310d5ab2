"""Runs in a process of its own on the Keras backend ``KERAS_BACKEND`` names (a process holds one), for
tests/test_backends.py.

``python tests/keras_backend_worker.py gradcam WEIGHTS OUT``: Grad-CAM maps of one small mini-Xception at two
layers for a few synthesised images, saved to OUT (.npz). The weights come from WEIGHTS (.weights.h5, Keras's own
backend-neutral format): read when the file exists, else drawn (seed 0) and written, so every backend computes
with the same ones.

``python tests/keras_backend_worker.py imports OUT``: imports every module of ``labelbench.keras`` and says, in
OUT (.json), which frameworks the process loaded.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

IMAGE_SIZE = 32
LAYERS = ("entry_add_1", "exit_act")  # after a residual add (its shortcut bypasses nothing later), and the last


def loaded_frameworks() -> list[str]:
    """The frameworks really imported (a ``None`` entry in ``sys.modules`` marks one as absent)."""
    return sorted(name for name in ("tensorflow", "jax", "torch") if sys.modules.get(name) is not None)


def gradcam_maps(weights: Path, out: Path) -> None:
    import keras

    from labelbench.datasets import embedded
    from labelbench.keras.gradcam import gradcam
    from labelbench.keras.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("mini_xception", (IMAGE_SIZE, IMAGE_SIZE, 3), 3, width=0.125, middle_blocks=1)
    if weights.is_file():
        model.load_weights(weights)
    else:
        model.save_weights(weights)
    data = embedded.shapes(["circle", "triangle", "star"], IMAGE_SIZE, 2, 1, seed=0)
    images = data.images[:4]
    classes = np.array([0, 1, 2, 1])
    maps = {layer: gradcam(model, images, layer, classes) for layer in LAYERS}
    np.savez(out, **maps, backend=keras.backend.backend(), frameworks=json.dumps(loaded_frameworks()))


def import_everything(out: Path) -> None:
    import labelbench.keras.data
    import labelbench.keras.grad
    import labelbench.keras.gradcam
    import labelbench.keras.losses
    import labelbench.keras.metrics
    import labelbench.keras.models
    import labelbench.keras.speed
    import labelbench.keras.train
    import labelbench.keras.worked_examples  # noqa: F401

    out.write_text(json.dumps({"backend": os.environ.get("KERAS_BACKEND"), "frameworks": loaded_frameworks()}))


if __name__ == "__main__":
    task, *paths = sys.argv[1:]
    if task == "gradcam":
        gradcam_maps(Path(paths[0]), Path(paths[1]))
    elif task == "imports":
        import_everything(Path(paths[0]))
    else:
        raise SystemExit(f"unknown task {task!r}; expected gradcam or imports")
