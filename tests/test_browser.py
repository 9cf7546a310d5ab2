"""The smoke run's report and notebooks in a real browser (headless Debian chromium through selenium:
tests/report_checks.py, which the paper miniature uses too)."""

from pathlib import Path

import pytest
import yaml
from report_checks import browser, check_notebooks, check_report

EXPERIMENTS = tuple(yaml.safe_load((Path(__file__).parents[1] / "configs/smoke.yaml").read_text())["experiments"])


@pytest.fixture
def driver():
    with browser() as d:
        yield d


def test_report_opens_in_chromium_without_errors(smoke_run, driver, tmp_path):
    check_report(driver, smoke_run / "results", EXPERIMENTS, tmp_path)


def test_notebooks_open_in_chromium_without_errors(smoke_run, driver):
    check_notebooks(driver, smoke_run / "results", EXPERIMENTS)
