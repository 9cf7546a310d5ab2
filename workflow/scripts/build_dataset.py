from pathlib import Path

from labelbench.datasets.build import build
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
build(
    name=snakemake.wildcards.dataset,
    spec=dict(snakemake.params.spec),
    inputs=list(snakemake.input.upstream),
    out_dir=Path(snakemake.output[0]).parent,
    checks=list(snakemake.input.checked),
)
