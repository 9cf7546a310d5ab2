from labelbench.scripting import prepare_tensorflow_env, redirect_logs

redirect_logs(snakemake.log[0])
prepare_tensorflow_env(snakemake.params.model_spec)

from labelbench.cam_scores import summarise_study  # noqa: E402
from labelbench.io import write_table  # noqa: E402
from labelbench.keras.gradcam import study_table  # noqa: E402

models = {}
for run, path in zip(snakemake.params.runs, snakemake.input.models, strict=True):
    models.setdefault(run["variant"], {})[run["seed"]] = path
table = study_table(models, snakemake.params.reference, snakemake.input.dataset.rsplit("/", 1)[0],
                    snakemake.params.layers, snakemake.params.per_class)
write_table(table, snakemake.output.images)
write_table(summarise_study(table), snakemake.output.table)
