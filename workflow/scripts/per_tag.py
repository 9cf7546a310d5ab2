from labelbench.io import write_table
from labelbench.metric_kernels import per_tag_summary
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
write_table(per_tag_summary(list(snakemake.input.predictions), snakemake.params.threshold), snakemake.output.table)
