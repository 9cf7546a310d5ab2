"""The user's own landmark data: a CSV of presence and keypoints beside a folder of images
(:mod:`labelbench.datasets.landmark_csv`)."""

import yaml

from labelbench.datasets.sources.base import Source, register_source

#: the CSV's default name, under ``path``
DEFAULT_CSV = "landmarks.csv"


@register_source
class LandmarkCsv(Source):
    name = "landmark_csv"
    task = "landmarks"
    fixed_classes = 1
    builder_keys = ("size", "test_fraction", "seed")
    schema = yaml.safe_load("""
required: [path, size]
properties:
  path: {type: string, description: "Folder of images named in the CSV (format in README: image,presence,x1,y1,...,xL,yL[,split])."}
  csv: {type: string, description: "The CSV; default <path>/landmarks.csv."}
  size: {$ref: "#/$defs/size"}
  test_fraction: {$ref: "#/$defs/fraction", description: Share held out for test when the CSV has no split column., default: 0.2}
  seed: {$ref: "#/$defs/seed"}
""")

    def watched_files(self, spec):
        return [spec.get("csv") or f"{spec['path']}/{DEFAULT_CSV}"]

    def user_path(self, spec):
        return spec["path"]

    def build(self, spec, inputs):
        from labelbench.datasets.landmark_csv import landmark_csv

        return landmark_csv(spec["path"], csv_file=inputs[0], **self.builder_args(spec))
