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
        framework="keras",
        run=train_params,
        evaluation=eval_params,
        checkpoint_dir=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/checkpoint",
        tensorboard_dir=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/tensorboard",
    script:
        "../workflow/scripts/train.py"


# A speed claim's step times, measured on this machine with the experiment's own model (labelbench.keras.speed).
rule step_timing:
    output:
        f"{RESULTS}/{{experiment}}/speed.json",
    log:
        f"{RESULTS}/logs/step_timing/{{experiment}}.log",
    wildcard_constraints:
        experiment=experiments_timed(),
    conda:
        SOFTWARE
    threads: speed_threads
    resources:
        gpu=train_gpus,
    params:
        settings=speed_settings,
    script:
        "../workflow/scripts/step_timing.py"


# The sources' worked examples recomputed by our loss code, for the exact claims (labelbench.keras.worked_examples).
rule worked_examples:
    output:
        f"{RESULTS}/{{experiment}}/worked_examples.json",
    log:
        f"{RESULTS}/logs/worked_examples/{{experiment}}.log",
    conda:
        SOFTWARE
    params:
        claims=exact_claims,
        backend=experiment_backend,
    script:
        "../workflow/scripts/worked_examples.py"
