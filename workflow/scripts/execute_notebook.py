from labelbench.notebooks import execute
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
execute(
    template=snakemake.input.template,
    out_ipynb=snakemake.output.ipynb,
    out_html=snakemake.output.html,
    parameters={
        "experiment": snakemake.wildcards.experiment,
        "config": snakemake.params.config,
        "paths": snakemake.params.paths,
    },
)
