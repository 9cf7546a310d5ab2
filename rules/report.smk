# The final report: one self-contained HTML file and the claims table.


rule report:
    input:
        summaries=[f"{RESULTS}/{e}/summary.csv" for e in EXPERIMENTS],
        figures=report_figures(),
        tables=report_tables(),
        datasets=[sidecar(d) for d in DATASETS],
    output:
        html=f"{RESULTS}/report/index.html",
        claims=report(
            f"{RESULTS}/report/claims.csv",
            category="report",
            caption="../report/claims.rst",
        ),
    log:
        f"{RESULTS}/logs/report.log",
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
