"""The report as a reader opens it: in headless Debian chromium through selenium (tests/test_browser.py on the
smoke run, tests/test_paper_miniature.py on the paper config in miniature).

CI installs chromium and chromium-driver (.ci/run); elsewhere a test using :func:`browser` is skipped when they
are missing, and fails instead under CI=true so that a missing browser can never pass silently.
"""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest


def require_browser() -> tuple[str, str]:
    """(chromium, chromedriver), or the test skipped (failed under CI) when either is missing: a long test calls it
    first, so that a missing browser does not turn its finished run into a skip at the end."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = "chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver_path


@contextmanager
def browser():
    """A headless chromium driver that keeps the page's console log."""
    chromium, driver_path = require_browser()
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def check_report(driver, results: Path, experiments, shots: Path) -> None:
    """Open ``results/report/index.html`` and check what a reader sees: every image decoded, a section per
    experiment, one claims-table row and one verdict badge per row of ``claims.csv`` (the summary on the first
    screen, each verdict its own colour, its links leading to the claim), the notebook links resolving, and no
    error in the browser's console. Screenshots go to ``shots``."""
    from selenium.webdriver.common.by import By

    driver.get((results / "report/index.html").as_uri())
    images = driver.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))")
    assert len(images) >= 10
    broken = [i["alt"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not decode: {broken}"
    for exp in experiments:
        section = driver.find_element(By.ID, exp)
        assert exp in section.text
    claims = driver.find_element(By.ID, "claims-table")
    table = pd.read_csv(results / "report/claims.csv")
    assert len(claims.find_elements(By.TAG_NAME, "tr")) == len(table) + 1  # and the header
    # the verdict summary opens the page, fits the first screen, and shows one badge per claim
    summary = driver.find_element(By.ID, "verdict-summary")
    assert summary.is_displayed()
    assert summary.location["y"] + summary.size["height"] <= driver.execute_script("return window.innerHeight")
    badges = [b.text for b in summary.find_elements(By.CSS_SELECTOR, "span.badge")]
    assert badges == table["verdict"].tolist()
    colours = {b.text: b.value_of_css_property("background-color")
               for b in summary.find_elements(By.CSS_SELECTOR, "span.badge")}
    assert len(set(colours.values())) == len(colours)  # each verdict has its own colour
    link = summary.find_element(By.CSS_SELECTOR, "a[href^='#claim-']")
    target = driver.find_element(By.ID, link.get_attribute("href").split("#", 1)[1])
    assert target.text.startswith(table["verdict"].iloc[0])
    first_screen = shots / "report_first_screen.png"
    assert driver.save_screenshot(str(first_screen)) and first_screen.stat().st_size > 10_000
    print(f"screenshots kept in {shots}")
    # the notebook links resolve to files next to the report
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href$=\".html\"]')).map(a => a.href)")
    assert len(links) == len(experiments)
    for href in links:
        assert Path(unquote(urlparse(href).path)).exists(), href
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    shot = shots / "report.png"
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(int(height), 16000))
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    driver.set_window_size(1400, 1000)


def check_notebooks(driver, results: Path, experiments) -> None:
    """Each experiment's executed notebook opens with its cells and decoded images and no console error."""
    for exp in experiments:
        driver.get((results / f"notebooks/{exp}.html").as_uri())
        assert driver.execute_script("return document.querySelectorAll('.jp-Cell').length") > 5
        images = driver.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
        assert images and all(w > 0 for w in images), (exp, images)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, (exp, errors)
