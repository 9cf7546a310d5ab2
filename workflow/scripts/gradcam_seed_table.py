from labelbench.scripting import prepare_keras_env, redirect_logs

redirect_logs(snakemake.log[0])
prepare_keras_env(snakemake.params.backend)  # before Keras loads

from labelbench.io import write_table  # noqa: E402
from labelbench.keras.gradcam import seed_table  # noqa: E402

gradcam = snakemake.params.gradcam
models = dict(zip(snakemake.params.variants, snakemake.input.models, strict=True))
table = seed_table(models, int(snakemake.wildcards.seed), snakemake.params.reference,
                   snakemake.input.dataset.rsplit("/", 1)[0], snakemake.params.layers, snakemake.params.per_class,
                   tuple(gradcam.get("methods", ["gradcam"])), gradcam.get("faithfulness", False),
                   gradcam.get("faithfulness_steps", 8))
write_table(table, snakemake.output[0])
