# labelbench: how the structure of the labels decides the output layer, the loss and the metrics.
# This file is a table of contents; helpers live in rules/common.smk, logic in src/labelbench/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/keras.smk"
include: "rules/evaluate.smk"


rule all:
    input:
        all_targets(),
    default_target: True
