from labelbench.report import build_report, run_facts
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
p, i = snakemake.params, snakemake.input
facts = run_facts(p.config, p.config_files, p.workdir, dict(zip(p.dataset_names, i.datasets, strict=True)),
                  dict(zip(p.benchmark_jobs, i.benchmarks, strict=True)), runs=list(i.runs), cores=p.cores,
                  threads=dict(zip(p.benchmark_jobs, p.benchmark_threads, strict=True)))
build_report(
    config=p.config,
    facts=facts,
    experiments={
        exp: {
            "summary": i[f"summary_{exp}"],
            "claims": i[f"claims_{exp}"],
            "notebook": i[f"notebook_{exp}"],
            "figures": list(i[f"figures_{exp}"]),
            "tables": list(i[f"tables_{exp}"]),
        }
        for exp in p.experiments
    },
    dataset_figures=dict(zip(p.dataset_figure_names, i.dataset_figures, strict=True)),
    out_html=snakemake.output.html,
    out_claims=snakemake.output.claims,
)
