from labelbench.io import write_json
from labelbench.scripting import prepare_training_env, redirect_logs

log = redirect_logs(snakemake.log[0])
settings = dict(snakemake.params.settings)
# where, on which Keras backend and with how many threads the experiment's runs train: set before Keras loads
prepare_training_env("keras", settings["device"], settings["threads"], settings.pop("backend"))
from labelbench.keras.speed import step_times  # noqa: E402  (after the log redirect: the backend prints)

result = step_times(**settings)
log.info("step times: %s", result)
write_json(snakemake.output[0], result)
