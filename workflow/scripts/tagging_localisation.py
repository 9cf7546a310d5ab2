import pandas as pd

from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.io import write_table  # noqa: E402
from labelbench.pytorch.gradcam import localisation_table  # noqa: E402
from labelbench.runs import run_parts  # noqa: E402

frames = []
for path in snakemake.input.models:
    variant, seed = run_parts(path)
    frames.append(localisation_table(path, snakemake.input.dataset.rsplit("/", 1)[0], snakemake.params.gradcam["layer"],
                                     snakemake.params.gradcam["table_images"], variant, seed,
                                     snakemake.params.gradcam["top_k"]))
write_table(pd.concat(frames, ignore_index=True), snakemake.output.table)
