"""Executed notebooks: one template per experiment under ``notebooks/``, run with papermill, exported with nbconvert.

The templates read the same tables the report reads (``summary.csv``, the long ``metrics.parquet``, every run's
``history.csv``, ``claims.csv`` and the experiment's further tables), named one by one in the ``paths`` parameter
(the rule passes its declared inputs; nothing is globbed), through :func:`load_experiment`.
Neither this module nor the templates import a deep-learning framework.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from labelbench.errors import LabelbenchError
from labelbench.io import atomic_path, write_text

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"


class NotebookCellError(LabelbenchError):
    """A cell of an executed notebook raised."""


def load_experiment(paths: dict) -> dict[str, pd.DataFrame]:
    """The experiment's tables, from the files the notebook rule declares (``paths``: summary, metrics, claims,
    histories, tables): ``summary`` (one row per variant, split, metric), ``metrics`` (long, one row per run and
    metric), ``history`` (one row per run and epoch), ``claims`` (the decided claims, ``claims.csv``) and every
    further table by name."""
    from labelbench.claims import read_claims

    histories = paths.get("histories", [])
    return {
        "summary": pd.read_csv(paths["summary"]),
        "claims": read_claims([paths["claims"]] if paths.get("claims") else []),
        "metrics": pd.read_parquet(paths["metrics"]),
        "history": pd.concat([pd.read_csv(p) for p in histories], ignore_index=True) if histories else pd.DataFrame(),
        **{name: pd.read_csv(path) for name, path in paths.get("tables", {}).items()},
    }


def summary_wide(summary: pd.DataFrame, split: str = "test", metrics: list[str] | None = None,
                 digits: int = 3) -> pd.DataFrame:
    """Variants as rows, metrics as columns, each cell "mean [ci_low, ci_high]"."""
    table = summary[summary["split"] == split]
    if metrics is not None:
        table = table[table["metric"].isin(metrics)]

    def cell(row) -> str:
        if pd.isna(row["mean"]):
            return "n/a"
        if row["n_seeds"] < 2 or pd.isna(row["ci_low"]):
            return f"{row['mean']:.{digits}f}"
        return f"{row['mean']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"

    wide = table.assign(cell=table.apply(cell, axis=1)).pivot(index="variant", columns="metric", values="cell")
    return wide[metrics] if metrics is not None else wide


def paired_differences(metrics: pd.DataFrame, a: str, b: str, split: str = "test") -> pd.DataFrame:
    """Per seed and metric, variant ``a`` minus variant ``b`` (seeds both ran)."""
    table = metrics[(metrics["split"] == split) & metrics["variant"].isin([a, b])]
    wide = table.pivot_table(index=["metric", "seed"], columns="variant", values="value")
    wide = wide.dropna()
    return (wide[a] - wide[b]).rename(f"{a} - {b}").reset_index()


def execute(template: str | os.PathLike, out_ipynb: str | os.PathLike, out_html: str | os.PathLike,
            parameters: dict, cwd: str | os.PathLike | None = None, timeout: int = 1200) -> None:
    """Run ``template`` with papermill and export it to HTML; both outputs appear only when every cell ran.

    A failing cell raises :class:`NotebookCellError` naming the template, the cell and the error.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    template = Path(template)
    if not template.exists():
        raise LabelbenchError(f"notebook template {template} does not exist (expected notebooks/<experiment>.ipynb)")
    with atomic_path(out_ipynb) as tmp:
        try:
            papermill.execute_notebook(str(template), str(tmp), parameters=parameters, cwd=str(cwd) if cwd else None,
                                       kernel_name="python3", progress_bar=False, log_output=True,
                                       execution_timeout=timeout)
        except papermill.PapermillExecutionError as exc:
            first = next((line for line in exc.source.splitlines() if line.strip()), "")
            raise NotebookCellError(
                f"{template}: cell {exc.cell_index} (execution count {exc.exec_count}) failed with "
                f"{exc.ename}: {exc.evalue}\n  the cell begins: {first[:120]!r}") from None
        notebook = nbformat.read(tmp, as_version=4)
    # JupyterLab's look, minus the scripts it would fetch from a CDN (templates/notebook_offline)
    exporter = HTMLExporter(template_name="notebook_offline", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(notebook)
    write_text(out_html, body)
    log.info("executed %s -> %s and %s", template, out_ipynb, out_html)



def experiment_paths(config: dict, experiment: str) -> dict:
    """The ``paths`` parameter of a notebook for a finished run of ``config`` (the layout the workflow writes), to
    open a template by hand: ``paths = experiment_paths(yaml.safe_load(open("config.yaml")), "mosaic")``."""
    from labelbench.experiments import get_experiment

    root = Path(config.get("results", "results")).resolve() / experiment
    spec = config["experiments"][experiment]
    runs = [(v, s) for v, vs in spec["variants"].items() for s in vs.get("seeds", spec["seeds"])]
    return {"summary": str(root / "summary.csv"), "metrics": str(root / "metrics.parquet"),
            "claims": str(root / "claims.csv"), "histories": [str(root / v / str(s) / "history.csv") for v, s in runs],
            "tables": {t: str(root / f"{t}.csv") for t in get_experiment(experiment).tables}}
