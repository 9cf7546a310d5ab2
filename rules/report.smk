# The final report: one self-contained HTML file and the claims table.


rule report:
    input:
        summaries=[f"{RESULTS}/{e}/summary.csv" for e in EXPERIMENTS],
        claims=claims_files(),
        figures=report_figures(),
        tables=report_tables(),
        datasets=[sidecar(d) for d in DATASETS],
        notebooks=[f"{RESULTS}/notebooks/{e}.html" for e in EXPERIMENTS],
        runs=run_records(),
    output:
        html=f"{RESULTS}/report/index.html",
        claims=report(
            f"{RESULTS}/report/claims.csv",
            category="report",
            caption="../report/claims.rst",
        ),
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        SOFTWARE
    params:
        config=config,
        config_files=[str(f) for f in workflow.config_settings.configfiles],
        workdir=workflow.basedir,
        benchmarks=lambda wc: sorted(
            str(p) for p in Path(RESULTS, "benchmarks").rglob("*.tsv")
        ),
        experiments=list(EXPERIMENTS),
        dataset_names=list(DATASETS),
    script:
        "../workflow/scripts/report.py"


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
        paths=lambda wc: {"results": str(Path(RESULTS).resolve())},
    script:
        "../workflow/scripts/execute_notebook.py"
