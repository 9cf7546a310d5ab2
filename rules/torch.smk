# The PyTorch experiment (tagging): training, per-tag table, Grad-CAM figures and localisation table.


rule train_torch:
    input:
        dataset=experiment_dataset,
        weights=model_weights,
    output:
        model=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/model.pt",
        history=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/history.csv",
        predictions=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/predictions.parquet",
        run=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/run.json",
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{variant}}/{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/{{variant}}/{{seed}}.tsv"
    wildcard_constraints:
        experiment="|".join(TORCH_EXPERIMENTS) or "no_torch_experiment",
    conda:
        SOFTWARE
    threads: train_threads
    resources:
        gpu=train_gpus,
    params:
        framework="torch",
        run=train_params,
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
        experiment="|".join(TORCH_EXPERIMENTS) or "no_torch_experiment",
    conda:
        SOFTWARE
    params:
        threshold=lambda wc: EXPERIMENTS[wc.experiment]["threshold"],
    script:
        "../workflow/scripts/per_tag.py"


rule tagging_gradcam_figure:
    input:
        model=gradcam_model,
        dataset=experiment_dataset,
    output:
        figure=report(
            f"{RESULTS}/{{experiment}}/figures/gradcam_{{index}}.png",
            category="{experiment}",
            caption="../report/tagging_gradcam.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/{{index}}.log",
    wildcard_constraints:
        experiment="|".join(TORCH_EXPERIMENTS) or "no_torch_experiment",
        index="[0-9]+",
    conda:
        SOFTWARE
    params:
        gradcam=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/tagging_gradcam.py"


rule tagging_localisation:
    input:
        models=experiment_models,
        dataset=experiment_dataset,
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/gradcam_localisation.csv",
            category="{experiment}",
            caption="../report/tagging_localisation.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/localisation.log",
    wildcard_constraints:
        experiment="|".join(TORCH_EXPERIMENTS) or "no_torch_experiment",
    conda:
        SOFTWARE
    params:
        gradcam=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"],
    script:
        "../workflow/scripts/tagging_localisation.py"
