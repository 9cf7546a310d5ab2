from labelbench.runs import RunOutputs
from labelbench.scripting import load_trainer, redirect_logs

redirect_logs(snakemake.log[0])  # before the framework's import, so its start-up chatter goes to the log too

run = snakemake.params.run  # device and threads come from the config, never from snakemake.threads (see README)
# the Keras backend (keras runs only) too: each is set before the framework's import
train_run = load_trainer(run["experiment"], run["device"], run["threads"], run.get("backend"))
train_run(
    dataset_dir=snakemake.input.dataset.rsplit("/", 1)[0],
    outputs=RunOutputs(
        model=snakemake.output.model,
        history=snakemake.output.history,
        predictions=snakemake.output.predictions,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        tensorboard_dir=snakemake.params.tensorboard_dir,
        run=snakemake.output.run,
    ),
    **run,
)

from labelbench.metrics import evaluate_run  # noqa: E402  (no framework; here to save a process per run)

evaluate_run(snakemake.output.predictions, snakemake.output.history, snakemake.output.metrics,
             snakemake.output.metrics_csv, **snakemake.params.evaluation)
