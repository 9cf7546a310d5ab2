from labelbench.scripting import prepare_keras_env, redirect_logs

redirect_logs(snakemake.log[0])
prepare_keras_env(snakemake.params.backend)  # before Keras loads

from labelbench.cam_scores import summarise_study  # noqa: E402
from labelbench.io import write_table  # noqa: E402
from labelbench.keras.gradcam import study_table  # noqa: E402

models = {}
for run, path in zip(snakemake.params.runs, snakemake.input.models, strict=True):
    models.setdefault(run["variant"], {})[run["seed"]] = path
gradcam = snakemake.params.gradcam
table = study_table(models, snakemake.params.reference, snakemake.input.dataset.rsplit("/", 1)[0],
                    snakemake.params.layers, snakemake.params.per_class, tuple(gradcam.get("methods", ["gradcam"])),
                    gradcam.get("faithfulness", False), gradcam.get("faithfulness_steps", 8))
write_table(table, snakemake.output.images)
write_table(summarise_study(table), snakemake.output.table)
