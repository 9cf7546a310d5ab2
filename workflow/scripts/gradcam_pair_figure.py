from labelbench.scripting import prepare_keras_env, redirect_logs

redirect_logs(snakemake.log[0])
prepare_keras_env(snakemake.params.backend)  # before Keras loads

from labelbench.keras.gradcam import grid_figure  # noqa: E402

grid_figure(
    models={snakemake.params.names[role]: snakemake.input[role] for role in ("reference", "other")},
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
    layer=snakemake.params.layer,
    depth=snakemake.wildcards.depth,
    which=snakemake.wildcards.which,
    n_per_class=snakemake.params.per_class,
    out=snakemake.output.figure,
    dpi=snakemake.params.dpi,
    method=snakemake.params.method,
)
