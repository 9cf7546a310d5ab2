# Metric tables and figures of every experiment; none of these jobs imports a deep-learning framework.


rule evaluate:
    input:
        predictions=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/predictions.parquet",
        history=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/history.csv",
    output:
        parquet=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/metrics.parquet",
        csv=f"{RESULTS}/{{experiment}}/{{variant}}/{{seed}}/metrics.csv",
    log:
        f"{RESULTS}/logs/evaluate/{{experiment}}/{{variant}}/{{seed}}.log",
    conda:
        SOFTWARE
    params:
        spec=eval_params,
    script:
        "../workflow/scripts/evaluate.py"


rule aggregate:
    input:
        metrics=experiment_metrics,
    output:
        metrics=f"{RESULTS}/{{experiment}}/metrics.parquet",
        summary=report(
            f"{RESULTS}/{{experiment}}/summary.csv",
            category="{experiment}",
            caption="../report/summary.rst",
        ),
    log:
        f"{RESULTS}/logs/aggregate/{{experiment}}.log",
    conda:
        SOFTWARE
    script:
        "../workflow/scripts/aggregate.py"


rule experiment_figure:
    input:
        summary=f"{RESULTS}/{{experiment}}/summary.csv",
        metrics=f"{RESULTS}/{{experiment}}/metrics.parquet",
        histories=experiment_histories,
        predictions=experiment_predictions,
        dataset=experiment_dataset,
    output:
        figure=report(
            f"{RESULTS}/{{experiment}}/figures/{{figure}}.png",
            category="{experiment}",
            caption="../report/experiment_figure.rst",
        ),
    log:
        f"{RESULTS}/logs/figures/{{experiment}}/{{figure}}.log",
    wildcard_constraints:
        figure=table_figure_kinds(),
    conda:
        SOFTWARE
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/experiment_figure.py"


# Every claim of the experiment decided on this run (labelbench.claims): the report, claims.csv and the notebook
# all read this one table.
rule claims:
    input:
        unpack(claim_inputs),
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/claims.csv",
            category="{experiment}",
            caption="../report/claims.rst",
        ),
    log:
        f"{RESULTS}/logs/claims/{{experiment}}.log",
    conda:
        SOFTWARE
    params:
        config=config,
    script:
        "../workflow/scripts/claims.py"
