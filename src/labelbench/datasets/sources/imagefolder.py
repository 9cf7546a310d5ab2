"""The user's own single-label images: one sub-folder per class, as torchvision's ImageFolder."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class ImageFolder(Source):
    name = "imagefolder"
    task = "single-label"
    builder_keys = ("size", "test_fraction", "min_classes", "seed")
    schema = yaml.safe_load("""
required: [path, size]
properties:
  path: {type: string, description: Folder with one sub-folder of images per class.}
  size: {$ref: "#/$defs/size"}
  test_fraction: {$ref: "#/$defs/fraction", description: Share held out for test (stratified)., default: 0.2}
  min_classes: {type: integer, minimum: 1, description: Fewest classes accepted., default: 2}
  seed: {$ref: "#/$defs/seed"}
  complementary: {$ref: "#/$defs/complementary"}
""")

    def user_path(self, spec):
        return spec["path"]

    def containment_hint(self, inside):
        return f" (the image folder would gain a class named {inside!r})"

    def build(self, spec, inputs):
        from labelbench.datasets import real

        return real.imagefolder(spec["path"], **self.builder_args(spec))
