import pandas as pd

from labelbench.io import write_table
from labelbench.metrics import evaluate_predictions
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
table = evaluate_predictions(pd.read_parquet(snakemake.input.predictions), **snakemake.params.spec,
                             history=pd.read_csv(snakemake.input.history))
write_table(table, snakemake.output.parquet)
write_table(table, snakemake.output.csv)
