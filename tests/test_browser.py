"""The panel in a real headless Chromium (Selenium, the system chromedriver) against the real bot process.

The customer writes through the fake Bot API (tests/fakegram.py); the panel is served by the bot's own
process (tests/botproc.py). Skipped only where no Chromium is installed, never in CI (CI=true).
Screenshots of the queue and statistics pages go to tmp_path, and to SUPPORTBOT_SCREENSHOTS when set
(README's pictures: SUPPORTBOT_SCREENSHOTS=tests/screenshots).
"""
from __future__ import annotations

import os
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.test_flow import login, wait_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else shutil.which("chromedriver")
HOSTILE = '"><img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'

try:
    import selenium  # noqa: F401
    missing = "" if CHROMIUM and CHROMEDRIVER else "no Chromium/chromedriver here (Debian: apt-get install chromium chromium-driver)"
except ImportError:
    missing = "selenium is not installed (pip install -r tests/requirements-browser.txt)"

if missing and os.environ.get("CI") == "true":
    raise RuntimeError(f"browser tests cannot be skipped in CI: {missing}")
pytestmark = pytest.mark.skipif(bool(missing), reason=f"{missing}; runs in CI, where .ci/run installs Chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def panel(make_bot, api):
    """The bot with its panel on a free port; returns the panel's base URL."""
    port = free_port()
    bot = make_bot(OPERATOR_CHAT_LIMIT="1", PANEL_ENABLED="true", PANEL_PORT=str(port)).start()
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return urllib.request.urlopen(base + "/login", timeout=2).status == 200
        except OSError:
            return bot.proc.poll() is not None
    api.wait_for(answers, timeout=20, what="the panel to answer")
    assert bot.proc.poll() is None, bot.output()
    return base


def shoot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    folder = os.environ.get("SUPPORTBOT_SCREENSHOTS")
    if folder:
        shutil.copy(path, Path(folder) / name)
    return path


def test_login_live_queue_reply_search_and_a_hostile_name(chrome, panel, api, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(chrome, 10, poll_frequency=0.1)
    olga = api.user(900, "Ольга")
    login(api, olga)
    chrome.get(panel + "/")
    assert chrome.current_url.endswith("/login")
    chrome.find_element(By.ID, "pin").send_keys("1111")
    chrome.find_element(By.ID, "login").click()
    wait.until(lambda d: "Очередь и диалоги" in d.page_source)
    chrome.execute_script("window.notReloaded = true;")

    anna = api.user(501, "Анна")
    api.send_text(anna, "Сколько стоит доставка в Химки?")
    wait_text(api, olga, "Сколько стоит доставка")
    hostile = api.user(502, HOSTILE)
    api.send_text(hostile, "Здравствуйте, есть вопрос про оплату")  # Olga's one place is taken: it waits
    live = wait.until(lambda d: (lambda t: t if "Анна" in t and "есть вопрос про оплату" in t else False)(
        d.find_element(By.ID, "live").text))
    assert chrome.execute_script("return window.notReloaded === true;"), "the page reloaded"
    assert HOSTILE in live  # shown as text, whole
    assert chrome.title != "pwned" and not chrome.find_elements(By.CSS_SELECTOR, "#live img, #live script")
    shoot(chrome, tmp_path, "queue.png")

    chrome.find_element(By.LINK_TEXT, "Анна (#1)").click()
    wait.until(lambda d: "Сколько стоит доставка в Химки?" in d.find_element(By.ID, "history").text)
    chrome.find_element(By.ID, "reply").send_keys("Доставка в Химки — 300 рублей")
    chrome.find_element(By.ID, "send").click()
    wait_text(api, anna, "Доставка в Химки — 300 рублей")
    wait_text(api, olga, "Ответ из панели")
    wait.until(lambda d: "Доставка в Химки — 300 рублей" in d.find_element(By.ID, "history").text)

    chrome.get(panel + "/search")
    chrome.find_element(By.ID, "q").send_keys("доставку в химки")
    chrome.find_element(By.ID, "find").click()
    results = wait.until(lambda d: d.find_element(By.CLASS_NAME, "results")).text
    assert "Сколько стоит доставка в Химки?" in results and "Доставка в Химки — 300 рублей" in results

    chrome.set_window_size(1200, 1500)  # the whole page in the picture
    chrome.get(panel + "/stats")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart rect"))
    assert "Ольга" in chrome.find_element(By.CSS_SELECTOR, "table.stats").text
    shoot(chrome, tmp_path, "stats.png")
    assert chrome.title != "pwned"
    assert not [entry for entry in chrome.get_log("browser") if "Content Security Policy" in entry["message"]]
