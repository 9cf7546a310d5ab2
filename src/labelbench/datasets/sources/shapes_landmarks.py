"""Synthetic images holding one shape or none, with its vertices as keypoints: presence + coordinates."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class ShapesLandmarks(Source):
    name = "shapes_landmarks"
    task = "landmarks"
    fixed_classes = 1
    builder_keys = ("shape", "size", "n_train", "n_test", "empty_fraction", "scale", "max_rotation", "seed")
    schema = yaml.safe_load("""
required: [size, n_train, n_test, empty_fraction]
properties:
  shape: {$ref: "#/$defs/shape_name", description: The object whose keypoints are the targets., default: triangle}
  size: {$ref: "#/$defs/size"}
  n_train: {type: integer, minimum: 1, description: Training images.}
  n_test: {type: integer, minimum: 1, description: Test images.}
  empty_fraction: {type: number, minimum: 0, maximum: 0.95, description: Share of images with no object.}
  scale: {$ref: "#/$defs/scale", default: [0.45, 0.8]}
  max_rotation: {type: number, minimum: 0, maximum: 59, description: Largest rotation in degrees (below 60 keeps vertex order unambiguous)., default: 50}
  seed: {$ref: "#/$defs/seed"}
""")

    def build(self, spec, inputs):
        from labelbench.datasets import embedded

        return embedded.shapes_landmarks(**self.builder_args(spec))
