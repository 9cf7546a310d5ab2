from labelbench.experiments import get_experiment
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
get_experiment(snakemake.wildcards.experiment).save_figure(
    snakemake.wildcards.figure,
    snakemake.output.figure,
    dpi=snakemake.params.dpi,
    summary=snakemake.input.summary,
    histories=list(snakemake.input.histories),
    predictions=list(snakemake.input.predictions),
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
)
