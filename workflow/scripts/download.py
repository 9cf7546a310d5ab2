from labelbench.datasets.download import download
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
download(snakemake.params.remote["url"], snakemake.output[0], md5=snakemake.params.remote["md5"])
