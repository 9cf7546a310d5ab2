"""Caltech101 (9,144 images in 101 categories and a background one), a chosen subset of its categories, from
caltech-101.zip: the complementary source's data."""

import yaml

from labelbench.datasets.sources.base import Source, download_keys, register_source

#: 9,144 images in 101 classes and a background one: a class's own count is known only once downloaded
MEAN_PER_CLASS = 90


@register_source
class Caltech101(Source):
    name = "caltech101"
    task = "single-label"
    upstream_images = 9_144
    #: torchvision's mirror and md5
    upstream = {"mirror": "https://data.caltech.edu/records/mzrjq-6wc02/files/",
                "files": {"caltech-101.zip": "3138e1922a9193bfa496528edbbc45d0"}}
    builder_keys = ("classes", "size", "max_per_class", "test_fraction", "seed")
    _keys = yaml.safe_load("""
classes: {type: array, items: {type: string}, minItems: 2, uniqueItems: true, description: Caltech101 categories to keep.}
max_per_class: {type: object, additionalProperties: {type: integer, minimum: 1}, description: Subsample these categories to at most this many images., default: {}}
size: {$ref: "#/$defs/size"}
test_fraction: {$ref: "#/$defs/fraction", description: Share held out for test (stratified)., default: 0.2}
seed: {$ref: "#/$defs/seed"}
complementary: {$ref: "#/$defs/complementary"}
""")
    schema = {"required": ["classes", "size"], "properties": {**download_keys("caltech-101.zip"), **_keys}}

    def training_images(self, spec):
        if not spec.get("classes"):
            return super().training_images(spec)
        caps = spec.get("max_per_class") or {}
        total = sum(caps.get(c, MEAN_PER_CLASS) if isinstance(caps, dict) else min(caps, MEAN_PER_CLASS)
                    for c in spec["classes"])
        return max(1, round(total * (1 - spec.get("test_fraction", 0.25))))

    def build(self, spec, inputs):
        from labelbench.datasets import real

        return real.caltech101(inputs[0], **self.builder_args(spec), limits=real.ArchiveLimits.from_spec(spec))
