"""The HTML leaderboard in a real browser: headless Debian Chromium driven by Selenium.

Nothing is downloaded at run time: Selenium gets the chromedriver and chromium binaries found on PATH (Debian
packages `chromium` and `chromium-driver`, installed by .ci/run), so Selenium Manager never runs. The tests
skip, saying why, when either is missing. Set LMBENCH_UPDATE_SCREENSHOTS=1 to also refresh the committed
screenshot of the example report (scripts/make_example_reports.sh does).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from test_leaderboard import EVIL, EVIL_ANSWER, board  # noqa: F401  (the module-scoped report fixture)
import test_leaderboard_curves as curves

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "reports" / "medical"
# Runs before any page script: records alert() calls instead of blocking on a dialog.
ALERT_TRAP = "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("headless browser tests need Debian's chromium and chromium-driver on PATH "
                    "(apt-get install chromium chromium-driver; .ci/run does this as root)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the [test] extra")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    yield driver
    driver.quit()


def _open(driver, page: Path) -> list[dict]:
    """Load a report page; return the console messages it logged."""
    driver.get_log("browser")  # drop messages of earlier pages
    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    return driver.get_log("browser")


def _order(driver, table: str) -> list[str]:
    """Labels of the measured rows, top to bottom."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(`table[data-table='${arguments[0]}'] tbody.measured tr`))"
        ".map(r => r.cells[0].textContent.trim());", table)


def _click(driver, table: str, label: str) -> None:
    from selenium.webdriver.common.by import By

    heads = driver.find_elements(By.CSS_SELECTOR, f"table[data-table='{table}'] thead th button")
    next(h for h in heads if h.text.strip() == label).click()


def test_page_loads_sorts_and_is_captured(browser, board, tmp_path):
    console = _open(browser, board["out"] / "index.html")
    assert not [m for m in console if m["level"] == "SEVERE"], console
    values = {r["label"]: (r["cells"]["PubMedQA"] or {}).get("value")
              for t in board["data"]["tables"] if t["id"] == "qa" for r in t["rows"]}
    assert _order(browser, "qa") == ["Base", "Base bf16", "LoRA"]  # spec order
    _click(browser, "qa", "PubMedQA")
    best_first = sorted(values, key=lambda label: -values[label])
    assert _order(browser, "qa") == best_first == ["LoRA", "Base bf16", "Base"]
    _click(browser, "qa", "PubMedQA")
    assert _order(browser, "qa") == best_first[::-1]
    _click(browser, "qa", "Anatomy")  # LoRA has no Anatomy number: last, whichever way
    assert _order(browser, "qa")[-1] == "LoRA"
    assert browser.save_screenshot(str(tmp_path / "leaderboard.png")) and (tmp_path / "leaderboard.png").stat().st_size
    assert not [m for m in browser.get_log("browser") if m["level"] == "SEVERE"]


def test_no_script_from_the_database_runs(browser, board):
    from selenium.common.exceptions import NoAlertPresentException

    _open(browser, board["out"] / "index.html")
    assert browser.execute_script("return Array.isArray(window.__alerts)"), "the alert trap is installed"
    assert browser.execute_script("return window.__alerts") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert browser.execute_script("return document.querySelectorAll('img, b').length") == 0
    assert browser.execute_script("return document.scripts.length") == 2  # the JSON data block and our script
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = browser.execute_script("return document.body.innerText")
    assert EVIL in text and EVIL_ANSWER in text  # shown as text, characters intact
    data = json.loads(browser.execute_script("return document.getElementById('report-data').textContent"))
    assert any(r["label"] == EVIL for t in data["tables"] for r in t["rows"])


def test_training_curves_render(browser, tmp_path):
    """The training curves section: both runs' figures drawn, their tables shown, nothing from the database run."""
    curves.build_db(tmp_path / "curves.duckdb")
    page = curves._render(tmp_path / "curves.duckdb", curves.SPEC, tmp_path / "report")["out"] / "index.html"
    console = _open(browser, page)
    assert not [m for m in console if m["level"] == "SEVERE"], console
    sizes = browser.execute_script("return Array.from(document.querySelectorAll('#training-curves figure svg'))"
                                   ".map(s => s.getBoundingClientRect().width)")
    assert len(sizes) == 2 and min(sizes) > 200
    rows = browser.execute_script("return document.querySelectorAll('#training-curves table.curve-numbers tbody tr')"
                                  ".length")
    assert rows == 3 + 2  # RAFT iterations 0-2, RLOO 1-2
    assert browser.execute_script("return window.__alerts") == []
    assert curves.EVIL in browser.execute_script("return document.getElementById('training-curves').innerText")


def test_example_report_renders(browser, tmp_path):
    """The committed example report: no console errors, sortable; refreshes its screenshot on request."""
    if not (EXAMPLE / "index.html").is_file():
        pytest.skip(f"{EXAMPLE}/index.html not built; run scripts/make_example_reports.sh")
    console = _open(browser, EXAMPLE / "index.html")
    assert not [m for m in console if m["level"] == "SEVERE"], console
    before = _order(browser, "table2")
    _click(browser, "table2", "Average")
    after = _order(browser, "table2")
    assert sorted(before) == sorted(after)
    update = os.environ.get("LMBENCH_UPDATE_SCREENSHOTS") == "1"
    target = EXAMPLE / "screenshot.png" if update else tmp_path / "example.png"
    browser.execute_script("document.getElementById('table-table2').scrollIntoView()")
    assert browser.save_screenshot(str(target))
