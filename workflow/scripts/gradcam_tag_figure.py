from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.figures.gradcam import tag_figure  # noqa: E402
from labelbench.pytorch.gradcam import tag_maps  # noqa: E402

gradcam = snakemake.params.gradcam
maps = tag_maps(snakemake.input.model, snakemake.input.dataset.rsplit("/", 1)[0], gradcam["layer"],
                int(snakemake.wildcards.index), gradcam["top_k"])
tag_figure(maps, snakemake.output.figure, snakemake.params.dpi)
