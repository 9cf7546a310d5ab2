# One executed notebook per experiment (papermill), reading the experiment's tables and claims.


rule notebook:
    input:
        template=f"{workflow.basedir}/notebooks/{{experiment}}.ipynb",
        summary=f"{RESULTS}/{{experiment}}/summary.csv",
        metrics=f"{RESULTS}/{{experiment}}/metrics.parquet",
        histories=experiment_histories,
        claims=f"{RESULTS}/{{experiment}}/claims.csv",
        tables=lambda wc: experiment_tables(wc.experiment),
    output:
        ipynb=f"{RESULTS}/notebooks/{{experiment}}.ipynb",
        html=report(
            f"{RESULTS}/notebooks/{{experiment}}.html",
            category="{experiment}",
            caption="../report/notebook.rst",
        ),
    log:
        f"{RESULTS}/logs/notebooks/{{experiment}}.log",
    conda:
        SOFTWARE
    params:
        config=lambda wc: EXPERIMENTS[wc.experiment],
        paths=notebook_paths,
    script:
        "../workflow/scripts/execute_notebook.py"
