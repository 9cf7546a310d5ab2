from labelbench.io import write_json
from labelbench.scripting import redirect_logs

log = redirect_logs(snakemake.log[0])
from labelbench.keras.speed import landmark_step_times  # noqa: E402  (after the log redirect: TF prints)

result = landmark_step_times(**snakemake.params.settings)
log.info("landmark step times: %s", result)
write_json(snakemake.output[0], result)
