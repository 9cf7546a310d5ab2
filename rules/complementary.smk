# Grad-CAM of the complementary experiment: figures (one cached target each) and the measured table.


rule complementary_gradcam_figure:
    input:
        ordinary=lambda wc: gradcam_pair(wc)[0],
        other=lambda wc: gradcam_pair(wc)[1],
        dataset=experiment_dataset,
    output:
        figure=report(
            f"{RESULTS}/{{experiment}}/figures/gradcam_{{depth}}_{{which}}.png",
            category="{experiment}",
            caption="../report/complementary_gradcam.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/{{depth}}_{{which}}.log",
    wildcard_constraints:
        experiment="complementary",
        depth="shallow|middle|deep",
        which="correct|misclassified",
    conda:
        SOFTWARE
    params:
        layer=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["layers"][wc.depth],
        per_class=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["images"],
        model_spec=lambda wc: EXPERIMENTS[wc.experiment]["model"],
        backend=experiment_backend,
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/complementary_gradcam_figure.py"


rule complementary_gradcam_table:
    input:
        models=gradcam_study_models,
        dataset=experiment_dataset,
    output:
        images=f"{RESULTS}/{{experiment}}/gradcam_images.parquet",
        table=report(
            f"{RESULTS}/{{experiment}}/gradcam_metrics.csv",
            category="{experiment}",
            caption="../report/complementary_gradcam_table.rst",
        ),
    log:
        f"{RESULTS}/logs/gradcam/{{experiment}}/table.log",
    wildcard_constraints:
        experiment="complementary",
    conda:
        SOFTWARE
    params:
        layers=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["layers"],
        per_class=lambda wc: EXPERIMENTS[wc.experiment]["gradcam"]["table_images"],
        model_spec=lambda wc: EXPERIMENTS[wc.experiment]["model"],
        backend=experiment_backend,
    script:
        "../workflow/scripts/complementary_gradcam_table.py"
