"""The dashboard in headless Chromium (chromium, chromium-driver, python3-selenium: run
scripts/setup-browser.sh): a live total, a messenger record posted during the test, payables
through the form. NEWSSTAND_SCREENSHOT=PATH also saves a screenshot of the page at the end."""

from __future__ import annotations

import os
import shutil
import uuid
from typing import Iterator

import httpx
import pytest

from conftest import Newsstand, payables_cents

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 30.0


@pytest.fixture
def browser() -> Iterator["webdriver.Chrome"]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("no chromium and chromedriver (run scripts/setup-browser.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def text_of(driver: "webdriver.Chrome", element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def test_the_dashboard_shows_live_data_and_computes_payables(newsstand: Newsstand, browser: "webdriver.Chrome") -> None:
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(newsstand.url + "/")
    expected_total = round(newsstand.query("SELECT SUM(price_cents * qty) FROM subscriptions")[0][0] / 100, 2)
    wait.until(lambda d: d.find_element(By.ID, "total").get_attribute("data-value") == str(expected_total))
    first_at = text_of(browser, "total-at")
    wait.until(lambda d: text_of(d, "total-at") != first_at)  # live: a later total arrived
    wait.until(lambda d: text_of(d, "broker-status") == "broker: connected")

    record_id = f"browser-{uuid.uuid4().hex}"
    response = httpx.post(f"{newsstand.url}/messenger/send", timeout=WAIT_S,
                          json={"record_id": record_id, "messenger_id": 12, "status": "on the way"})
    assert response.status_code == 201
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-record-id="{record_id}"]'))

    billing_date = "2026-06-30"
    # A date input's typed form depends on the locale; set its value as the page would read it.
    browser.execute_script("document.getElementById('billing-date').value = arguments[0]", billing_date)
    browser.find_element(By.CSS_SELECTOR, "#payables-form button").click()
    expected = payables_cents(newsstand, [billing_date])[billing_date] / 100
    wait.until(lambda d: d.find_element(By.ID, "payables-total").get_attribute("data-value") is not None)
    assert float(browser.find_element(By.ID, "payables-total").get_attribute("data-value")) == pytest.approx(expected, abs=0.001)
    assert text_of(browser, "payables-total") == f"{expected:,.2f}"

    if screenshot := os.environ.get("NEWSSTAND_SCREENSHOT"):
        browser.save_screenshot(screenshot)
