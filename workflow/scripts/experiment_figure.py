from labelbench.figures.experiments import experiment_figure
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
experiment_figure(
    figure=snakemake.wildcards.figure,
    experiment=snakemake.wildcards.experiment,
    summary=snakemake.input.summary,
    histories=list(snakemake.input.histories),
    predictions=list(snakemake.input.predictions),
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
    out=snakemake.output.figure,
    dpi=snakemake.params.dpi,
)
