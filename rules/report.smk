# The final report: one self-contained HTML file and the claims table. It reads only what it declares here.


rule report:
    input:
        unpack(report_inputs),
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
        benchmark_jobs=[job for job, _ in benchmark_files()],
        benchmark_threads=benchmark_threads(),
        cores=workflow.cores,
        experiments=list(EXPERIMENTS),
        dataset_names=list(DATASETS),
        dataset_figure_names=dataset_figure_names(),
    script:
        "../workflow/scripts/report.py"
