# Grad-CAM studies, for the experiments that declare one (labelbench.experiments): "keras_pairs" draws and
# measures the maps of two variants' models at several depths; "torch_tags" draws the maps of a model's most
# probable tags and measures how well they fall inside the tagged objects' boxes.


rule gradcam_pair_figure:
    input:
        unpack(gradcam_pair),
        dataset=experiment_dataset,
    output:
        figure=report(
            f"{RESULTS}/{{experiment}}/figures/gradcam_{{depth}}_{{which}}.png",
            category="{experiment}",
            caption="../report/gradcam_pair.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/{{depth}}_{{which}}.log",
    wildcard_constraints:
        experiment=experiments_with(gradcam="keras_pairs"),
        depth="shallow|middle|deep",
        which="correct|misclassified",
    conda:
        SOFTWARE
    params:
        names=gradcam_pair_names,
        layer=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["layers"][wc.depth],
        per_class=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["images"],
        method=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"].get(
            "methods", ["gradcam"]
        )[0],
        backend=experiment_backend,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/gradcam_pair_figure.py"


# The per-image table, one job per seed (side by side on the cores), then merged in the seeds' order.
rule gradcam_seed_table:
    input:
        models=gradcam_seed_models,
        dataset=experiment_dataset,
    output:
        f"{RESULTS}/{{experiment}}/gradcam/seed{{seed}}.parquet",
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/seed{{seed}}.log",
    wildcard_constraints:
        experiment=experiments_with(gradcam="keras_pairs"),
    priority: LONG_TAIL
    conda:
        SOFTWARE
    params:
        variants=gradcam_seed_variants,
        reference=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["reference"],
        layers=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["layers"],
        per_class=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["table_images"],
        gradcam=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"],
        backend=experiment_backend,
    script:
        "../workflow/scripts/gradcam_seed_table.py"


rule gradcam_pair_table:
    input:
        tables=gradcam_seed_tables,
    output:
        images=f"{RESULTS}/{{experiment}}/gradcam_images.parquet",
        table=report(
            f"{RESULTS}/{{experiment}}/gradcam_metrics.csv",
            category="{experiment}",
            caption="../report/gradcam_pair_table.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/table.log",
    wildcard_constraints:
        experiment=experiments_with(gradcam="keras_pairs"),
    conda:
        SOFTWARE
    script:
        "../workflow/scripts/gradcam_pair_table.py"


rule gradcam_tag_figure:
    input:
        model=gradcam_model,
        dataset=experiment_dataset,
    output:
        figure=report(
            f"{RESULTS}/{{experiment}}/figures/gradcam_{{index}}.png",
            category="{experiment}",
            caption="../report/gradcam_tag.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/{{index}}.log",
    wildcard_constraints:
        experiment=experiments_with(gradcam="torch_tags"),
        index="[0-9]+",
    conda:
        SOFTWARE
    params:
        gradcam=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/gradcam_tag_figure.py"


rule gradcam_localisation:
    input:
        models=experiment_models,
        dataset=experiment_dataset,
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/gradcam_localisation.csv",
            category="{experiment}",
            caption="../report/gradcam_localisation.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/localisation.log",
    wildcard_constraints:
        experiment=experiments_with_table("gradcam_localisation"),
    conda:
        SOFTWARE
    params:
        runs=experiment_runs,
        gradcam=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"],
    script:
        "../workflow/scripts/gradcam_localisation.py"
