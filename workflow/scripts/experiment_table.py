from labelbench.metrics import write_experiment_table
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
write_experiment_table(snakemake.wildcards.experiment, snakemake.wildcards.table, snakemake.input.metrics,
                       snakemake.params.config, snakemake.output.table)
