from labelbench.claims import write_claims
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
write_claims(
    experiment=snakemake.wildcards.experiment,
    config=snakemake.params.config,
    metrics=snakemake.input.metrics,
    out_csv=snakemake.output.table,
    **{k: snakemake.input[k] for k in ("cam", "examples", "timings") if k in snakemake.input.keys()},
)
