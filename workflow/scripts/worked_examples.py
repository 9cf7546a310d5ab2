from labelbench.io import write_json
from labelbench.scripting import prepare_keras_env, redirect_logs

log = redirect_logs(snakemake.log[0])
prepare_keras_env(snakemake.params.backend)  # the experiment's Keras backend, before Keras loads
from labelbench.keras.worked_examples import compute_all  # noqa: E402  (after the log redirect: the backend prints)

values = compute_all(list(snakemake.params.claims))
log.info("worked examples: %s", values)
write_json(snakemake.output[0], values)
