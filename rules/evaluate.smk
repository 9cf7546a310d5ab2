# Metric tables and figures of every experiment; none of these jobs imports a deep-learning framework. Each run's
# metrics.parquet/.csv are written by its training job (labelbench.metrics.evaluate_run), which saves a process
# per run (~3-4 s each: Python, pandas and scikit-learn started again for ~0.6 s of work).


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


# Tables an experiment makes from its per-run metrics (its `metric_tables`, built by its own `table` hook).
rule experiment_table:
    input:
        metrics=f"{RESULTS}/{{experiment}}/metrics.parquet",
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/{{table}}.csv",
            category="{experiment}",
            caption="../report/experiment_table.rst",
        ),
    log:
        f"{RESULTS}/logs/tables/{{experiment}}/{{table}}.log",
    wildcard_constraints:
        table=metric_table_kinds(),
    conda:
        SOFTWARE
    params:
        config=lambda wc: experiment_config(config, wc.experiment),
    script:
        "../workflow/scripts/experiment_table.py"
