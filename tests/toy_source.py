"""A dataset source kept outside labelbench, in one file: striped images whose class is the stripes' angle.

tests/test_sources.py installs it as a plugin would be (a module named in the ``labelbench.sources`` entry-point
group of an installed distribution) and runs it through the pipeline; nothing of labelbench is edited for it.
"""

import numpy as np
import pandas as pd

from labelbench.datasets.sources import Source, register_source
from labelbench.datasets.splits import train_test_column
from labelbench.datasets.store import Dataset


@register_source
class Stripes(Source):
    name = "toy_stripes"
    task = "single-label"
    builder_keys = ("classes", "size", "n_per_class", "test_fraction", "seed")
    schema = {
        "required": ["size"],
        "properties": {
            "classes": {"type": "integer", "minimum": 2, "maximum": 36, "default": 10,
                        "description": "Stripe angles, evenly spaced over 180 degrees; one class each."},
            "size": {"$ref": "#/$defs/size"},
            "n_per_class": {"type": "integer", "minimum": 2, "default": 20, "description": "Images per class."},
            "test_fraction": {"$ref": "#/$defs/fraction", "default": 0.25},
            "seed": {"$ref": "#/$defs/seed"},
        },
    }

    def classes(self, spec, datasets):
        return spec.get("classes", 10)

    def training_images(self, spec):
        return round(spec.get("classes", 10) * spec.get("n_per_class", 20) * (1 - spec.get("test_fraction", 0.25)))

    def build(self, spec, inputs):
        k, size, n = spec.get("classes", 10), spec["size"], spec.get("n_per_class", 20)
        rng = np.random.default_rng(spec.get("seed", 0))
        y, x = np.mgrid[0:size, 0:size]
        labels = np.repeat(np.arange(k), n)
        angles = np.pi * labels / k
        phases = rng.uniform(0, 2 * np.pi, len(labels))
        waves = np.sin(0.9 * (x[None] * np.cos(angles)[:, None, None] + y[None] * np.sin(angles)[:, None, None])
                       + phases[:, None, None])
        images = np.clip(127.5 + 110 * waves + rng.normal(0, 10, waves.shape), 0, 255).astype(np.uint8)[..., None]
        samples = pd.DataFrame({"split": train_test_column(labels, spec.get("test_fraction", 0.25),
                                                           spec.get("seed", 0)), "label": labels})
        return Dataset(images=images, samples=samples, classes=[f"angle_{round(180 * i / k)}" for i in range(k)])
