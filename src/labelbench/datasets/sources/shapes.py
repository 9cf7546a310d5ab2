"""Synthetic images of one shape each (circle, square, triangle, star, ...), one class per shape."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class Shapes(Source):
    name = "shapes"
    task = "single-label"
    builder_keys = ("classes", "size", "n_train_per_class", "n_test_per_class", "scale", "max_rotation", "seed")
    schema = yaml.safe_load("""
required: [classes, size, n_train_per_class, n_test_per_class]
properties:
  classes:
    type: array
    items: {$ref: "#/$defs/shape_name"}
    minItems: 2
    uniqueItems: true
    description: Shape classes, one per image.
  size: {$ref: "#/$defs/size"}
  n_train_per_class: {type: integer, minimum: 1, description: Training images per class.}
  n_test_per_class: {type: integer, minimum: 1, description: Test images per class.}
  scale: {$ref: "#/$defs/scale", default: [0.55, 0.9]}
  max_rotation: {type: number, minimum: 0, maximum: 180, description: Largest rotation in degrees., default: 180}
  seed: {$ref: "#/$defs/seed"}
  complementary: {$ref: "#/$defs/complementary"}
""")

    def build(self, spec, inputs):
        from labelbench.datasets import embedded

        return embedded.shapes(**self.builder_args(spec))
