from labelbench.scripting import prepare_tensorflow_env, redirect_logs

redirect_logs(snakemake.log[0])  # before TensorFlow's import, so its start-up chatter goes to the log too
prepare_tensorflow_env(snakemake.params.run["model_spec"])

from labelbench.keras.train import RunOutputs, train_run  # noqa: E402

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
