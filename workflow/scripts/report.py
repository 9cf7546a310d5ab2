from labelbench.report import build_report, run_facts
from labelbench.scripting import redirect_logs

redirect_logs(snakemake.log[0])
p = snakemake.params
datasets = dict(zip(p.dataset_names, snakemake.input.datasets, strict=True))
facts = run_facts(p.config, p.config_files, p.workdir, datasets, p.benchmarks, runs=list(snakemake.input.runs))
build_report(
    config=p.config,
    facts=facts,
    summaries=dict(zip(p.experiments, snakemake.input.summaries, strict=True)),
    claims=list(snakemake.input.claims),
    figures=list(snakemake.input.figures),
    tables=list(snakemake.input.tables),
    out_html=snakemake.output.html,
    out_claims=snakemake.output.claims,
    notebooks=dict(zip(p.experiments, snakemake.input.notebooks, strict=True)),
)
