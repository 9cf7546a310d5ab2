"""MNIST (70,000 28x28 handwritten digits, 10 classes), from its four idx.gz files."""

from labelbench.datasets.sources.base import Source, download_keys, register_source


@register_source
class Mnist(Source):
    name = "mnist"
    task = "single-label"
    fixed_classes = 10
    upstream_training_images = 60_000
    #: torchvision's mirror and md5s
    upstream = {
        "mirror": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    }
    schema = {"properties": {**download_keys("the upstream files"),
                             "complementary": {"$ref": "#/$defs/complementary"}}}

    def build(self, spec, inputs):
        from pathlib import Path

        from labelbench.datasets import real

        return real.mnist(Path(inputs[0]).parent, real.ArchiveLimits.from_spec(spec))
