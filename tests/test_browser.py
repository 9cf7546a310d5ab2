"""The smoke run's report in a real browser (headless Debian chromium through selenium).

CI installs chromium and chromium-driver (.ci/run); elsewhere the test is skipped when they are missing, and
fails instead under CI=true so that a missing browser can never pass silently.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import yaml

EXPERIMENTS = tuple(yaml.safe_load((Path(__file__).parents[1] / "configs/smoke.yaml").read_text())["experiments"])


def _browser_or_skip():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        message = "chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture
def browser():
    chromium, driver_path = _browser_or_skip()
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


def test_report_opens_in_chromium_without_errors(smoke_run, browser, tmp_path):
    from selenium.webdriver.common.by import By

    report = smoke_run / "results/report/index.html"
    browser.get(report.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))")
    assert len(images) >= 10
    broken = [i["alt"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not decode: {broken}"
    for exp in EXPERIMENTS:
        section = browser.find_element(By.ID, exp)
        assert exp in section.text
    claims = browser.find_element(By.ID, "claims-table")
    table = pd.read_csv(smoke_run / "results/report/claims.csv")
    assert len(claims.find_elements(By.TAG_NAME, "tr")) == len(table) + 1  # and the header
    # the verdict summary opens the page, fits the first screen, and shows one badge per claim
    summary = browser.find_element(By.ID, "verdict-summary")
    assert summary.is_displayed()
    assert summary.location["y"] + summary.size["height"] <= browser.execute_script("return window.innerHeight")
    badges = [b.text for b in summary.find_elements(By.CSS_SELECTOR, "span.badge")]
    assert badges == table["verdict"].tolist()
    colours = {b.text: b.value_of_css_property("background-color")
               for b in summary.find_elements(By.CSS_SELECTOR, "span.badge")}
    assert len(set(colours.values())) == len(colours)  # each verdict has its own colour
    link = summary.find_element(By.CSS_SELECTOR, "a[href^='#claim-']")
    target = browser.find_element(By.ID, link.get_attribute("href").split("#", 1)[1])
    assert target.text.startswith(table["verdict"].iloc[0])
    first_screen = tmp_path / "report_first_screen.png"
    assert browser.save_screenshot(str(first_screen)) and first_screen.stat().st_size > 10_000
    print(f"screenshots kept in {tmp_path}")
    # the notebook links resolve to files next to the report
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href$=\".html\"]')).map(a => a.href)")
    assert len(links) == len(EXPERIMENTS)
    for link in links:
        assert Path(unquote(urlparse(link).path)).exists(), link
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    shot = tmp_path / "report.png"
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(int(height), 16000))
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_notebooks_open_in_chromium_without_errors(smoke_run, browser):
    for exp in EXPERIMENTS:
        browser.get((smoke_run / f"results/notebooks/{exp}.html").as_uri())
        assert browser.execute_script("return document.querySelectorAll('.jp-Cell').length") > 5
        images = browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
        assert images and all(w > 0 for w in images), (exp, images)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, (exp, errors)
