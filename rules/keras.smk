# Training of the Keras experiments: one job per variant and seed.


rule train_keras:
    input:
        dataset=experiment_dataset,
    output:
        model=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/model.keras",
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
        experiment="|".join(KERAS_EXPERIMENTS) or "no_keras_experiment",
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
