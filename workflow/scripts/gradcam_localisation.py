import pandas as pd

from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.io import write_table  # noqa: E402
from labelbench.pytorch.gradcam import localisation_table  # noqa: E402

gradcam = snakemake.params.gradcam
frames = [
    localisation_table(path, snakemake.input.dataset.rsplit("/", 1)[0], gradcam["layer"], gradcam["table_images"],
                       run["variant"], run["seed"], gradcam["top_k"])
    for run, path in zip(snakemake.params.runs, snakemake.input.models, strict=True)
]
write_table(pd.concat(frames, ignore_index=True), snakemake.output.table)
