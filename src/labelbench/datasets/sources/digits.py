"""scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), enlarged: the default config's small data."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class Digits(Source):
    name = "digits"
    task = "single-label"
    fixed_classes = 10
    upstream_images = 1_797
    builder_keys = ("size", "test_fraction", "seed")
    schema = yaml.safe_load("""
properties:
  size: {$ref: "#/$defs/size", default: 28}
  test_fraction: {$ref: "#/$defs/fraction", description: Share of images held out for test., default: 0.25}
  seed: {$ref: "#/$defs/seed"}
  complementary: {$ref: "#/$defs/complementary"}
""")

    def build(self, spec, inputs):
        from labelbench.datasets import embedded

        return embedded.digits(**self.builder_args(spec))
