"""The web panel through Flask's test client, over an in-process shop's database (tests/harness.py).

Actions the panel takes go into the shop's inbox; `shop.settle()` applies them with the processor's
own code, so a reply from the browser is checked where the customer and the seat's chat receive it.
"""
from __future__ import annotations

import csv
import io
import re

import pytest
from types import SimpleNamespace

from supportbot import ops
from supportbot.core import GLOBAL_MAX_FAILURES, LOGIN_MAX_FAILURES, PANEL_AWAY_SECONDS
from supportbot.panel import create_app
from supportbot.storage import export_rows

HOSTILE = ('<script>alert(1)</script>', '"><img src=x onerror=alert(2)>')
PAGES = ["/", "/live/queue", "/live/line", "/search?q=доставку", "/stats", "/stats?days=7", "/faq", "/export.csv"]


class Browser:
    """A Flask test client that keeps the CSRF token of the last page it read."""

    def __init__(self, shop, clock=None, address="127.0.0.1"):
        self.shop = shop
        self.app = create_app(shop.config, secret_key="test", clock=clock or (lambda: shop.now), testing=True)
        self.client = self.app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address
        self.token = ""

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.token = found[1]
        return response

    def post(self, url, data, *, token=True):
        data = dict(data, csrf_token=self.token) if token else data
        return self.client.post(url, data=data)

    def login(self, pin="1111"):
        self.get("/login")
        response = self.post("/login", {"pin": pin})
        if response.status_code == 302:
            self.get("/")  # a new session has a new token
        return response

    def act(self, customer_id, kind, **fields):
        self.get(f"/customer/{customer_id}")
        response = self.post(f"/customer/{customer_id}/action", {"kind": kind, **fields})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.shop.settle()
        return response


@pytest.fixture
def shop(make_shop):
    return make_shop(operator_chat_limit=2)


@pytest.fixture
def browser(shop):
    return Browser(shop)


def inbox_actions(shop) -> int:
    return shop.storage.conn.execute("SELECT COUNT(*) FROM inbox WHERE kind = 'panel_action'").fetchone()[0]


def fill(shop):
    """A shop with history: two operators, a closed dialog, four open ones (hostile names among them), one waiting.

    Boris and Vera are at Ivan's seat (2), the two hostile names at Olga's (1), Gena waits in the queue.
    """
    olga, ivan = shop.operator("Ольга"), shop.operator("Иван")
    olga.logs_in("1111")
    ivan.logs_in("2222")
    anna = shop.customer("Анна")
    anna.says("Сколько стоит доставка в Химки?")
    olga.says("Доставка 300 рублей")
    olga.says("/done")
    shop.tick(60)
    boris = shop.customer("Борис")
    boris.says("Здравствуйте, где мой заказ?")
    hostile = [shop.customer(name) for name in HOSTILE]
    for person in hostile:
        person.says(f"Привет {person.name}")
    vera, gena = shop.customer("Вера"), shop.customer("Гена")
    vera.says("Можно оплатить картой?")
    gena.says("Есть ли самовывоз?")
    view = shop.view()
    assert view.dialogs[boris.id] == view.dialogs[vera.id] == ("active", 2)
    assert {view.dialogs[p.id] for p in hostile} == {("active", 1)} and view.queue == (gena.id,)
    return SimpleNamespace(olga=olga, ivan=ivan, anna=anna, boris=boris, hostile=hostile, vera=vera, gena=gena)


# --- access ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", PAGES + ["/customer/1", "/live/customer/1"])
def test_every_page_needs_a_session(browser, url):
    response = browser.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert browser.get(url, headers={"X-Panel-Poll": "1"}).status_code == 401


def test_a_post_without_the_session_token_is_refused_and_changes_nothing(shop, browser):
    fill(shop)
    browser.login()
    for data in ({"kind": "reply", "text": "hi"}, {"kind": "reply", "text": "hi", "csrf_token": "forged"}):
        assert browser.post("/customer/2/action", data, token=False).status_code == 400
    assert browser.post("/logout", {}, token=False).status_code == 400
    assert inbox_actions(shop) == 0
    assert browser.post("/customer/2/action", {"kind": "note", "text": "ok"}).status_code == 302
    assert inbox_actions(shop) == 1


def test_a_login_form_without_the_token_is_refused(browser):
    assert browser.post("/login", {"pin": "1111"}, token=False).status_code == 400


def test_session_cookie_flags_headers_and_logout(browser):
    response = browser.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = browser.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "<script>" not in page.get_data(as_text=True)  # the only script is the static file
    assert browser.post("/logout", {}).status_code == 302
    assert browser.get("/").status_code == 302


def test_a_session_expires(shop):
    now = [shop.now]
    browser = Browser(shop, clock=lambda: now[0])
    browser.login()
    assert browser.get("/").status_code == 200
    now[0] += 13 * 3600
    assert browser.get("/").status_code == 302


def test_wrong_pins_lock_the_panel_like_operator_and_count_overall(shop, browser):
    for attempt in range(1, LOGIN_MAX_FAILURES):
        response = browser.login("0000")
        assert response.status_code == 403
        assert f"Осталось попыток: {LOGIN_MAX_FAILURES - attempt}" in response.get_data(as_text=True)
    assert "Слишком много неверных попыток" in browser.login("0000").get_data(as_text=True)
    locked = browser.login("1111")
    assert locked.status_code == 403 and "Слишком много" in locked.get_data(as_text=True)
    attempts = shop.storage.conn.execute("SELECT COUNT(*) FROM login_attempts").fetchone()[0]
    assert attempts == LOGIN_MAX_FAILURES
    shop.advance(16 * 60)
    assert browser.login("1111").status_code == 302


def test_wrong_pins_in_the_panel_tell_the_operators_once_when_login_closes(shop, browser, tmp_path):
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    for number in range(GLOBAL_MAX_FAILURES - 1):
        shop.operator(f"Взломщик{number}").says("/operator 9999")
    shop.settle()
    assert not olga.has("много неверных PIN")
    assert browser.login("0000").status_code == 403  # the 20th wrong PIN of the hour
    shop.settle()
    assert olga.has("много неверных PIN")
    for _ in range(2):  # the panel is locked now; another browser tries again
        Browser(shop).login("0000")
    shop.settle()
    assert len([t for t in olga.texts() if "много неверных PIN" in t]) == 1


def test_wrong_pins_from_another_address_lock_out_only_that_address(shop, browser):
    guesser = Browser(shop, address="192.168.1.77")
    for _ in range(LOGIN_MAX_FAILURES):
        guesser.login("0000")
    assert guesser.login("1111").status_code == 403
    assert browser.login("1111").status_code == 302  # the shop's own PC is not locked out


def test_an_address_that_logged_in_before_may_log_in_while_login_is_closed(shop, browser):
    assert browser.login("1111").status_code == 302
    browser.post("/logout", {})
    for number in range(GLOBAL_MAX_FAILURES):
        shop.operator(f"Взломщик{number}").says("/operator 9999")
    assert Browser(shop, address="10.0.0.5").login("1111").status_code == 403
    assert Browser(shop).login("1111").status_code == 302


def test_telegram_failures_close_the_panel_to_a_newcomer(shop, browser):
    for number in range(GLOBAL_MAX_FAILURES):
        shop.operator(f"Взломщик{number}").says("/operator 9999")
    response = browser.login("1111")
    assert response.status_code == 403 and "Вход временно закрыт" in response.get_data(as_text=True)


# --- pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("full", [False, True], ids=["empty", "full"])
def test_every_page_with_an_empty_and_a_full_database(shop, browser, full):
    if full:
        fill(shop)
    browser.login()
    for url in PAGES + (["/customer/1", "/customer/4", "/live/customer/2"] if full else []):
        response = browser.get(url)
        assert response.status_code == 200, url
    queue = browser.get("/live/queue").get_data(as_text=True)
    assert ("Гена" in queue) == full and ("Очередь пуста" in queue) != full
    assert browser.get("/customer/999").status_code == 404


def test_hostile_customer_names_and_words_show_as_text(shop, browser):
    fill(shop)
    browser.login()
    pages = [browser.get(url).get_data(as_text=True) for url in
             ("/", "/live/queue", "/customer/3", "/customer/4", "/search?q=привет")]
    for page in pages:
        for name in HOSTILE:
            assert name not in page
    everything = "".join(pages)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in everything
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in everything
    assert "<img" not in everything


# --- actions go through the bot ---------------------------------------------------------------

def test_a_reply_from_the_panel_reaches_the_customer_signed_and_echoed_to_the_seat(shop, browser):
    people = fill(shop)
    boris, ivan = people.boris, people.ivan
    browser.login("2222")
    boris.receives()
    ivan.receives()
    browser.act(shop.short_id(boris), "reply", text="Заказ в пути, будет завтра")
    assert [m.text for m in boris.receives()] == ["Заказ в пути, будет завтра"]
    echo = [m.text for m in ivan.receives()]
    assert any("Ответ из панели" in text and "Заказ в пути" in text for text in echo), echo
    assert ("out", "Заказ в пути, будет завтра") in shop.history_of(boris)
    author = shop.storage.conn.execute("SELECT author FROM messages WHERE body = ?",
                                       ("Заказ в пути, будет завтра",)).fetchone()[0]
    assert author == "Иван"


def test_a_seat_that_is_not_on_line_in_telegram_changes_nothing(shop, browser):
    people = fill(shop)
    browser.login("3333")
    assert "Выйти на линию из панели" in browser.get("/").get_data(as_text=True)
    browser.act(shop.short_id(people.gena), "take")
    browser.act(shop.short_id(people.boris), "reply", text="Чужой ответ")
    assert "Чужой ответ" not in people.boris.texts()
    assert shop.view().queue == (people.gena.id,)
    assert not shop.failures


def go(browser, kind):
    browser.get("/")
    response = browser.post("/presence", {"kind": kind})
    assert response.status_code == 302
    browser.shop.settle()


def test_a_seat_nobody_holds_in_telegram_works_from_the_panel_alone(shop, browser):
    people = fill(shop)
    browser.login("3333")
    go(browser, "online")
    assert shop.view().dialogs[people.gena.id] == ("active", 3)  # the waiting customer comes to this seat
    assert "Вы на линии через панель" in browser.get("/").get_data(as_text=True)
    browser.act(shop.short_id(people.gena), "reply", text="Самовывоз есть, с 10 до 20")
    assert any("Самовывоз есть, с 10 до 20" in t for t in people.gena.texts())
    chats = {row[0] for row in shop.storage.conn.execute("SELECT chat_id FROM outbox")}
    assert None not in chats and not shop.failures
    other = shop.customer("Дина")
    other.says("А доставка в выходные есть?")  # the seat has room: she comes to it too, told nowhere in Telegram
    assert shop.view().dialogs[other.id] == ("active", 3)
    go(browser, "offline")
    view = shop.view()
    assert view.queue == (people.gena.id, other.id) and 3 not in {seat for _, seat in view.dialogs.values()}
    assert any("очеред" in t for t in people.gena.receives())


def test_a_panel_seat_in_topics_mode_opens_no_topics_and_fails_nothing(make_shop):
    shop = make_shop(topics=True, operator_chat_limit=2)
    browser = Browser(shop)
    anna = shop.customer("Анна")
    anna.says("Здравствуйте, самовывоз есть?")
    browser.login("1111")
    go(browser, "online")
    assert shop.view().dialogs[anna.id] == ("active", 1)
    browser.act(shop.short_id(anna), "reply", text="Есть, с 10 до 20")
    assert any("Есть, с 10 до 20" in t for t in anna.texts())
    assert not shop.failures and shop.dead_letters() == []


def test_an_operator_logging_in_takes_a_panel_seat_over_with_its_dialogs(shop, browser):
    people = fill(shop)
    browser.login("3333")
    go(browser, "online")
    lena = shop.operator("Лена")
    lena.logs_in("3333")
    assert shop.view().dialogs[people.gena.id] == ("active", 3)
    people.gena.says("Жду ответа")
    assert lena.has("Жду ответа")
    browser.post("/logout", {})
    shop.settle()
    assert shop.view().dialogs[people.gena.id] == ("active", 3)  # Lena's seat is not the panel's to close


def test_a_panel_seat_stays_while_a_page_is_open_and_leaves_when_none_is(shop, browser):
    people = fill(shop)
    browser.login("3333")
    go(browser, "online")
    for _ in range(8):  # four minutes with the queue page open (it asks for news all the time)
        shop.tick(30)
        browser.get("/live/queue")
    for _ in range(8):  # four minutes on the statistics page: its line status in the nav asks for news too
        shop.tick(30)
        assert "на линии через панель" in browser.get("/live/line").get_data(as_text=True)
    shop.tick(PANEL_AWAY_SECONDS - 1)
    assert shop.view().dialogs[people.gena.id] == ("active", 3)
    shop.tick(1)  # the browser was closed: nobody watches this seat
    assert shop.view().queue == (people.gena.id,)
    assert "не на линии" in browser.get("/live/line").get_data(as_text=True)
    assert "Вы на линии через панель" not in browser.get("/").get_data(as_text=True)


def test_logging_out_of_the_panel_takes_its_seat_off_line(shop, browser):
    people = fill(shop)
    browser.login("3333")
    go(browser, "online")
    browser.get("/")
    assert browser.post("/logout", {}).status_code == 302
    shop.settle()
    assert shop.view().queue == (people.gena.id,)


def test_the_dialog_form_takes_only_dialog_actions(shop, browser):
    fill(shop)
    browser.login()
    browser.get("/customer/2")
    for kind in ("login_attack", "online", "offline"):
        assert browser.post("/customer/2/action", {"kind": kind}).status_code == 400
    assert browser.post("/presence", {"kind": "take"}).status_code == 400
    assert inbox_actions(shop) == 0


def test_ban_and_unban_from_the_panel_work_like_the_commands(shop, browser):
    people = fill(shop)
    browser.login("2222")  # Ivan's line: Boris is his
    assert "Заблокировать" in browser.get(f"/customer/{shop.short_id(people.boris)}").get_data(as_text=True)
    browser.act(shop.short_id(people.boris), "ban")
    view = shop.view()
    assert people.boris.id in view.banned and people.boris.id not in view.dialogs  # his dialog ended
    assert people.ivan.has("заблокирован")
    people.boris.says("Ау, вы тут?")
    assert not people.ivan.has("Ау, вы тут?")
    assert "Разблокировать" in browser.get(f"/customer/{shop.short_id(people.boris)}").get_data(as_text=True)
    browser.act(shop.short_id(people.boris), "unban")
    assert people.ivan.has("разблокирован") and people.boris.id not in shop.view().banned


def test_someone_elses_dialog_is_refused_with_a_word_to_the_seat(shop, browser):
    people = fill(shop)
    browser.login("1111")  # Boris is Ivan's
    people.olga.receives()
    for kind in ("reply", "close", "transfer"):
        browser.act(shop.short_id(people.boris), kind, text="Не мой ответ", target_seat="1")
    assert "Не мой ответ" not in people.boris.texts()
    assert shop.view().dialogs[people.boris.id] == ("active", 2)
    assert sum("не у вас" in m.text for m in people.olga.receives()) == 3


def test_take_note_canned_transfer_and_close_from_the_panel(shop, browser):
    people = fill(shop)
    gena, olga, ivan = people.gena, people.olga, people.ivan
    gena_id = shop.short_id(gena)
    browser.login("1111")
    browser.act(gena_id, "take")
    assert shop.view().queue == (gena.id,)  # Olga's seat is full: refused
    assert "У вас нет свободных мест." in olga.texts()
    olga.says("/done")  # room for one more at Olga's seat
    browser.act(gena_id, "take")
    assert shop.view().dialogs[gena.id] == ("active", 1)
    browser.act(gena_id, "note", text="Постоянный покупатель")
    assert ("note", "Постоянный покупатель") in shop.history_of(gena)
    assert "Постоянный покупатель" not in " ".join(gena.texts())
    gena.receives()
    browser.act(gena_id, "canned", entry="1")
    assert [m.text for m in gena.receives()] == [shop.faq.entries[0].answer]
    ivan.says("/done")
    browser.act(gena_id, "transfer", target_seat="2")
    assert shop.view().dialogs[gena.id] == ("active", 2)
    closing = Browser(shop)
    closing.login("2222")
    closing.act(gena_id, "close")
    assert gena.id not in shop.view().dialogs
    assert not shop.failures


def test_search_finds_other_word_forms_and_new_messages(shop, browser):
    anna = fill(shop).anna
    browser.login()
    page = browser.get("/search?q=доставку").get_data(as_text=True)
    assert "Сколько стоит доставка в Химки?" in page and "Доставка 300 рублей" in page
    assert "Найдено: 2" in page
    anna.says("А доставкой в Мытищи?")
    page = browser.get("/search?q=доставки мытищ").get_data(as_text=True)
    assert "А доставкой в Мытищи?" in page and "Найдено: 1" in page
    assert "Найдено: 0" in browser.get("/search?q=оплатой наличными").get_data(as_text=True)


def test_statistics_draw_svg_bars_and_a_table(shop, browser):
    fill(shop)
    browser.login()
    page = browser.get("/stats").get_data(as_text=True)
    assert page.count("<svg") == 3 and "<rect" in page
    assert "Ольга" in page and "<td>Все</td>" in page


def test_export_is_the_same_csv_as_the_command(shop, browser, tmp_path):
    fill(shop)
    browser.login()
    response = browser.get("/export.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    out = tmp_path / "cli.csv"
    ops.write_export(out, export_rows(shop.config.database), shop.config.timezone)
    assert response.data == out.read_bytes()
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) > 5


def test_faq_page_lists_entries_and_gaps(shop, browser):
    fill(shop)
    browser.login()
    page = browser.get("/faq").get_data(as_text=True)
    assert shop.faq.entries[0].questions[0] in page
    assert "Сколько стоит доставка в Химки?" in page or "Пробелов не найдено" in page


def test_chart_bars_scale_to_the_tallest_and_stay_narrow():
    from supportbot.panel.charts import CHART_HEIGHT, LABEL_ROOM, MAX_BAR_WIDTH, bars

    drawn = bars([("a", 1, ""), ("b", 4, ""), ("c", 0, "")], width=300)
    assert [round(b.height) for b in drawn] == [round((CHART_HEIGHT - LABEL_ROOM) / 4), CHART_HEIGHT - LABEL_ROOM, 0]
    assert all(b.width <= MAX_BAR_WIDTH for b in bars([("only", 3, "")]))
    assert bars([]) == []


def test_the_panel_warns_when_it_listens_beyond_this_pc_and_stays_off_when_asked(shop, caplog):
    from dataclasses import replace

    from supportbot.panel.serve import panel_warning, start_panel

    assert panel_warning(shop.config) is None
    assert "0.0.0.0:8080" in panel_warning(replace(shop.config, panel_host="0.0.0.0"))
    assert start_panel(replace(shop.config, panel_enabled=False), lambda: None) is None


def test_a_taken_port_leaves_the_bot_running_without_the_panel(shop, caplog):
    import socket
    from dataclasses import replace

    from supportbot.panel.serve import start_panel

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = replace(shop.config, panel_port=taken.getsockname()[1])
        assert start_panel(config, lambda: None) is None
    assert "Веб-панель не запущена" in caplog.text


def test_python_m_supportbot_panel_serves_the_panel_alone(tmp_path, api):
    import socket
    import subprocess
    import sys
    import urllib.request

    from tests.botproc import BotProcess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = BotProcess(tmp_path, api, PANEL_PORT=str(port)).env
    proc = subprocess.Popen([sys.executable, "-m", "supportbot", "panel"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).status == 200
            except OSError:
                return proc.poll() is not None
        api.wait_for(answers, timeout=20, what="the panel alone")
        assert proc.poll() is None
        assert not api.calls_to("getUpdates")  # the panel alone does not poll Telegram
    finally:
        proc.terminate()
        proc.wait(10)
