from pathlib import Path

from labelbench.figures.datasets import dataset_figures
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
dataset_figures(
    Path(snakemake.input[0]).parent,
    samples_png=snakemake.output.samples,
    labels_png=snakemake.output.labels,
    n=snakemake.params.n,
    dpi=snakemake.params.dpi,
)
