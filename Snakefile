# labelbench: how the structure of the labels decides the output layer, the loss and the metrics.
# This file is a table of contents; helpers live in rules/common.smk, logic in src/labelbench/.
from labelbench.config import check_startup
from labelbench.config_check import check_config_files
from snakemake.utils import min_version

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


# names, frameworks, the schema (with its defaults), the numbers' types, every name and reference
check_startup(
    config,
    workflow.source_path("workflow/schemas/config.schema.yaml"),
    workflow_root=workflow.basedir,
)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/keras.smk"
include: "rules/torch.smk"
include: "rules/gradcam.smk"
include: "rules/evaluate.smk"
include: "rules/claims.smk"
include: "rules/report.smk"
include: "rules/notebooks.smk"


rule all:
    default_target: True
    input:
        all_targets(),
