# PyTorch experiments: training, and the per-tag table of those that declare it.


rule train_torch:
    input:
        dataset=experiment_dataset,
        weights=model_weights,
    output:
        model=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/model.pt",
        history=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/history.csv",
        predictions=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/predictions.parquet",
        run=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/run.json",
        metrics=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/metrics.parquet",
        metrics_csv=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/metrics.csv",
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{variant}}/{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/{{variant}}/{{seed}}.tsv"
    wildcard_constraints:
        experiment="|".join(TORCH_EXPERIMENTS) or "no_torch_experiment",
    priority: train_priority
    conda:
        SOFTWARE
    threads: train_threads
    resources:
        gpu=train_gpus,
    params:
        run=train_params,
        evaluation=eval_params,
        checkpoint_dir=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/checkpoint",
        tensorboard_dir=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/tensorboard",
    script:
        "../workflow/scripts/train.py"


rule per_tag:
    input:
        predictions=experiment_predictions,
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/per_tag.csv",
            category="{experiment}",
            caption="../report/per_tag.rst",
        ),
    log:
        f"{RESULTS}/logs/per_tag/{{experiment}}.log",
    wildcard_constraints:
        experiment=experiments_with_table("per_tag"),
    conda:
        SOFTWARE
    params:
        threshold=lambda wc: EXPERIMENTS[wc.experiment]["threshold"],
    script:
        "../workflow/scripts/per_tag.py"
