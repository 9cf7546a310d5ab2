"""Synthetic scenes of several shapes with imbalanced shape and colour tags, written in NUS-WIDE's layout."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class ShapesScenes(Source):
    name = "shapes_scenes"
    task = "tags"
    layout = "nuswide"
    builder_keys = ("size", "n_train", "n_test", "max_objects", "shape_exponent", "colour_exponent", "jpeg_quality",
                    "seed")
    schema = yaml.safe_load("""
required: [size, n_train, n_test]
properties:
  size: {$ref: "#/$defs/size"}
  n_train: {type: integer, minimum: 1, description: Training scenes.}
  n_test: {type: integer, minimum: 1, description: Test scenes.}
  max_objects: {type: integer, minimum: 1, maximum: 8, description: Most objects in one scene., default: 3}
  shape_exponent: {type: number, minimum: 0, description: Imbalance of shape tags (frequency ∝ rank^-exponent)., default: 1.3}
  colour_exponent: {type: number, minimum: 0, description: Imbalance of colour tags., default: 1.0}
  jpeg_quality: {type: integer, minimum: 50, maximum: 100, description: JPEG quality of the written scenes., default: 92}
  seed: {$ref: "#/$defs/seed"}
""")

    def build_folder(self, spec, inputs, staging):
        from labelbench.datasets import embedded

        return embedded.shapes_scenes(staging, **self.builder_args(spec))
