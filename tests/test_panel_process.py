"""The panel as a process of its own (`python -m supportbot panel`) beside the bot's process on one database,
as on a second machine with PostgreSQL (and on one PC with the SQLite file): a customer writes through the
fake Bot API, a panel user with no Telegram login goes on line from the browser, replies, and the customer
receives the reply. The panel hands its actions to the bot through the database alone."""
from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from tests.botproc import BotProcess
from tests.databases import fresh_postgres
from tests.test_browser import free_port
from tests.test_flow import wait_text


class PanelClient:
    """A browser without a screen: keeps the session cookie and the CSRF token of the last page."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            page = response.read().decode("utf-8")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if found:
            self.token = found[1]
        return page

    def post(self, path: str, **fields: str) -> str:
        data = urllib.parse.urlencode(dict(fields, csrf_token=self.token)).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:  # redirects followed
            return response.read().decode("utf-8")


@pytest.fixture
def panel_process(tmp_path):
    started = []

    def start(bot: BotProcess) -> PanelClient:
        port = free_port()
        env = dict(bot.env, PANEL_ENABLED="true", PANEL_PORT=str(port))
        out = open(tmp_path / "panel-output.txt", "w", encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "supportbot", "panel"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        started.append((proc, out))
        client = PanelClient(f"http://127.0.0.1:{port}")

        def answers():
            try:
                return "PIN" in client.get("/login")
            except OSError:
                return proc.poll() is not None
        bot.api.wait_for(answers, timeout=20, what="the panel process to answer")
        assert proc.poll() is None, (tmp_path / "panel-output.txt").read_text(encoding="utf-8")
        return client

    yield start
    for proc, out in started:
        proc.terminate()
        proc.wait(10)
        out.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_panel_alone_goes_on_line_and_its_reply_reaches_the_customer(api, tmp_path, panel_process, database):
    bot = BotProcess(tmp_path / "bot", api, database=fresh_postgres() if database == "postgresql" else None)
    bot.start()
    try:
        anna = api.user(501, "Анна")
        api.send_text(anna, "Здравствуйте, самовывоз есть?")
        wait_text(api, anna, "нет операторов на связи")  # nobody is on line in Telegram
        panel = panel_process(bot)
        panel.post("/login", pin="1111")
        page = panel.get("/")
        assert "самовывоз есть?" in page and "Выйти на линию из панели" in page
        panel.post("/presence", kind="online")
        api.wait_for(lambda: bot.query("SELECT seat FROM dialogs WHERE state = 'active'") != [], timeout=10,
                     what="the bot to put the panel's seat on line")
        assert "Вы на линии через панель" in panel.get("/")
        panel.get("/customer/1")
        panel.post("/customer/1/action", kind="reply", text="Да, с 10 до 20 на Ленина, 5")
        wait_text(api, anna, "Да, с 10 до 20 на Ленина, 5")
        assert "Traceback" not in bot.output()
    finally:
        bot.stop()
