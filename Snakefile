# labelbench: how the structure of the labels decides the output layer, the loss and the metrics.
# This file is a table of contents; helpers live in rules/common.smk, logic in src/labelbench/.
from labelbench.config import check_frameworks, check_names, normalise_numbers
from labelbench.config_check import check_config_files
from snakemake.utils import min_version, validate

min_version("9.0")

# Snakemake keeps the last of two equal keys without a word and drops a YAML error's position: read the config
# files strictly first (a syntax error in a --configfile stops Snakemake before this line; `make run` checks it).
check_config_files(
    workflow.config_settings.configfiles or ["config.yaml"], missing_ok=True
)


# config.yaml is the default; a --configfile given on the command line replaces it rather than being
# merged into it (merging would mix the default's datasets, variants and seeds into any other config).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


# before the schema: a name YAML read as True or 1 (the schema's patterns skip it), or one that leads out of its
# folder; a wrong framework (the schema's training keys depend on it)
check_names(config)
check_frameworks(config)
validate(config, "workflow/schemas/config.schema.yaml")
# the schema's integer accepts 2.0 and its number 1: every job gets 2 and 1.0
normalise_numbers(config, workflow.source_path("workflow/schemas/config.schema.yaml"))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/keras.smk"
include: "rules/torch.smk"
include: "rules/gradcam.smk"
include: "rules/report.smk"
include: "rules/evaluate.smk"


rule all:
    default_target: True
    input:
        all_targets(),
