"""CIFAR-10 (60,000 32x32 colour images, 10 classes), from its python tarball: the mosaic source's tiles."""

from labelbench.datasets.sources.base import Source, download_keys, register_source


@register_source
class Cifar10(Source):
    name = "cifar10"
    task = "single-label"
    fixed_classes = 10
    upstream_training_images = 50_000
    #: torchvision's mirror and md5
    upstream = {"mirror": "https://www.cs.toronto.edu/~kriz/",
                "files": {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}}
    schema = {"properties": {**download_keys("the upstream files"),
                             "complementary": {"$ref": "#/$defs/complementary"}}}

    def build(self, spec, inputs):
        from labelbench.datasets import real

        return real.cifar10(inputs[0], real.ArchiveLimits.from_spec(spec))
