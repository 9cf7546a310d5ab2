from labelbench.io import write_json
from labelbench.scripting import redirect_logs

log = redirect_logs(snakemake.log[0])
from labelbench.keras.worked_examples import compute_all  # noqa: E402  (after the log redirect: TF prints)

values = compute_all(list(snakemake.params.claims))
log.info("worked examples: %s", values)
write_json(snakemake.output[0], values)
