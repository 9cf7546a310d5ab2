"""ASL's 81-label NUS-WIDE split: its CSV beside a folder of the images (:mod:`labelbench.datasets.nus_asl`)."""

import yaml

from labelbench.datasets.nus_asl import DEFAULT_CSV
from labelbench.datasets.sources.base import Source, register_source


@register_source
class NusWideAsl(Source):
    name = "nuswide_asl"
    task = "tags"
    description = "multi-label tagging (ASL's 81-label NUS-WIDE split)"
    layout = "nuswide"
    upstream_training_images = 161_789
    path_kind = "the folder of ASL's NUS-WIDE images"
    schema = yaml.safe_load("""
required: [path]
properties:
  path: {type: string, description: "Folder of the NUS-WIDE images ASL published; the CSV's image paths are relative to it."}
  csv: {type: string, description: "ASL's split CSV (<image path>,label,split; see README, Datasets); default <path>/nus_wid_data.csv."}
""")

    def watched_files(self, spec):
        return [spec.get("csv") or f"{spec['path']}/{DEFAULT_CSV}"]

    def user_path(self, spec):
        return spec["path"]

    def build_folder(self, spec, inputs, staging):
        from labelbench.datasets import nus_asl

        return nus_asl.nuswide_asl(spec["path"], staging, inputs[0])
