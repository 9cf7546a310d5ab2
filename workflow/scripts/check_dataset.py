from labelbench.datasets.store import check_dataset
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
check_dataset(snakemake.params.folder, report=snakemake.output[0])
