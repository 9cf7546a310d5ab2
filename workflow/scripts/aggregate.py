import pandas as pd

from labelbench.io import write_table
from labelbench.metrics import summarise
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
metrics = pd.concat([pd.read_parquet(p) for p in snakemake.input.metrics], ignore_index=True)
write_table(metrics, snakemake.output.metrics)
write_table(summarise(metrics), snakemake.output.summary)
