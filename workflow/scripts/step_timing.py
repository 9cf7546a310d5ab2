from labelbench.io import write_json
from labelbench.scripting import prepare_training_env, redirect_logs

log = redirect_logs(snakemake.log[0])
settings = dict(snakemake.params.settings)
# where and with how many threads the experiment's runs train: GPUs hidden on cpu, thread variables set, before TF
prepare_training_env("keras", settings["model_spec"], settings.pop("device"), settings["threads"])
from labelbench.keras.speed import step_times  # noqa: E402  (after the log redirect: TF prints)

result = step_times(**settings)
log.info("step times: %s", result)
write_json(snakemake.output[0], result)
