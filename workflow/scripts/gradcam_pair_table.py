from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.cam_scores import merge_seed_tables, summarise_study  # noqa: E402
from labelbench.io import write_table  # noqa: E402

table = merge_seed_tables(snakemake.input.tables)
write_table(table, snakemake.output.images)
write_table(summarise_study(table), snakemake.output.table)
