"""Executed notebooks: papermill runs a template with the rule's parameters; a failing cell is named."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labelbench.metrics import summarise
from labelbench.notebooks import NotebookCellError, execute, paired_differences, summary_wide


def _template(path, *sources):
    cells = [new_code_cell('experiment = "x"\nconfig = {}\npaths = {}', metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, path)
    return path


def test_parameters_are_injected_and_both_outputs_written(tmp_path):
    template = _template(tmp_path / "t.ipynb", "print(experiment, config['seeds'], paths['results'])")
    execute(template, tmp_path / "out.ipynb", tmp_path / "out.html",
            {"experiment": "mosaic", "config": {"seeds": [0, 1]}, "paths": {"results": "somewhere"}})
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "mosaic [0, 1] somewhere" in printed
    html = (tmp_path / "out.html").read_text()
    assert "mosaic [0, 1] somewhere" in html and "cdnjs" not in html  # opens offline


def test_a_failing_cell_is_named_and_leaves_no_output(tmp_path):
    template = _template(tmp_path / "t.ipynb", "x = 1", "assert x == 2, 'x is not two'")
    with pytest.raises(NotebookCellError) as err:
        execute(template, tmp_path / "out.ipynb", tmp_path / "out.html", {"experiment": "masked"})
    message = str(err.value)
    assert "t.ipynb" in message and "AssertionError: x is not two" in message and "assert x == 2" in message
    assert not (tmp_path / "out.ipynb").exists() and not (tmp_path / "out.html").exists()
    assert not list(tmp_path.glob(".out*"))  # no temporary left behind either


def test_summary_wide_and_paired_differences():
    import pandas as pd

    rows = [("masked", v, s, "test", "accuracy", val) for v, vals in {"a": [0.5, 0.7], "b": [0.4, 0.4]}.items()
            for s, val in enumerate(vals)]
    metrics = pd.DataFrame(rows, columns=["experiment", "variant", "seed", "split", "metric", "value"])
    wide = summary_wide(summarise(metrics), "test", ["accuracy"])
    assert wide.loc["a", "accuracy"] == "0.600 [0.000, 1.000]"  # two seeds this far apart: all the range says
    assert wide.loc["b", "accuracy"] == "0.400 [0.400, 0.400]"
    diff = paired_differences(metrics, "a", "b")
    assert diff["a - b"].round(6).tolist() == [0.1, 0.3]
