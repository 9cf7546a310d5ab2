from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])

from labelbench.pytorch.train import train_run  # noqa: E402
from labelbench.runs import RunOutputs  # noqa: E402

train_run(
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
    outputs=RunOutputs(
        model=snakemake.output.model,
        history=snakemake.output.history,
        predictions=snakemake.output.predictions,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        tensorboard_dir=snakemake.params.tensorboard_dir,
    ),
    threads=snakemake.threads,
    **snakemake.params.run,
)
