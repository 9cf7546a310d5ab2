from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.figures.tagging_gradcam import gradcam_figure  # noqa: E402

gradcam_figure(
    model_path=snakemake.input.model,
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
    layer=snakemake.params.gradcam["layer"],
    index=int(snakemake.wildcards.index),
    top_k=snakemake.params.gradcam["top_k"],
    out=snakemake.output.figure,
    dpi=snakemake.params.dpi,
)
