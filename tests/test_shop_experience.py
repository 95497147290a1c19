"""Buttons, queue place and wait, hours, edits, albums, ratings, flood, alerts, idle seats, menus — in-process.

Moved here from test_experience.py (end to end); canned answers with the FAQ file reload stayed there.
Time is the harness's clock: alerts and idle seats are checked by letting minutes pass, not by sleeping.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo


from supportbot import texts
from supportbot.faq import load_faq
from supportbot.schedule import parse_schedule
from tests.botproc import PROJECT_DIR

FAQ = load_faq(PROJECT_DIR / "data" / "faq.csv")


def datas(message) -> list[str]:
    return [b.data for b in message.buttons]


def test_queue_place_wait_and_the_operator_named_on_take(make_shop):
    shop = make_shop(operator_chat_limit=1)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Здравствуйте")
    assert olga.has("Новый клиент Анна")
    boris.says("Здравствуйте")
    assert boris.has("Вы в очереди: 1-й, примерное ожидание — 10 мин")  # no history yet: 10 minutes
    olga.says("/done")
    assert boris.has("К вам подключился оператор Ольга")


def test_start_offers_faq_buttons_that_answer_without_an_operator(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("/start")
    greeting = anna.chat()[0]
    assert greeting.text == texts.GREETING
    assert greeting.buttons and all(d.startswith("faq:") for d in datas(greeting))
    answer = anna.presses(greeting.buttons[1])
    assert anna.has(FAQ[1].answer[:30]) and answer == ""
    assert not any("Анна" in t for t in olga.texts())  # no operator was taken
    assert anna.presses("faq:1:1", greeting) == texts.FAQ_STALE  # a stale or forged button


def test_outside_working_hours_the_customer_waits_and_hears_when_the_shop_opens(make_shop):
    shop = make_shop(working_hours=parse_schedule("Tue 10:00-11:00"), timezone=ZoneInfo("UTC"))  # it is Monday 08:00
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Вы работаете?")
    assert anna.has("Мы откроемся завтра в 10:00")
    assert shop.view().dialogs[anna.id] == ("queued", None)
    olga.says("/next")  # an operator may still take her on purpose
    assert olga.has("Вам передан клиент Анна")


def test_edits_show_up_on_the_other_side(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    original = anna.says("Хочу синий")
    relayed = olga.last_with("Хочу синий")
    anna.edits(original, "Хочу красный")
    edit_notice = olga.last_with("исправил")
    assert edit_notice.text == "✏️ Анна (#1) исправил(а) сообщение:\nХочу красный"
    assert edit_notice.reply_to == relayed.message_id

    answer = olga.says("Есть синий")
    assert anna.has("Есть синий")
    olga.edits(answer, "Есть красный")
    assert anna.has("Есть красный") and not anna.has("Есть синий")
    assert [body for direction, body in shop.history_of(anna) if direction in ("in", "out")] == [
        "Хочу синий", "Хочу красный", "Есть синий", "Есть красный"]  # history keeps both


def test_an_album_arrives_as_one_album(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Вот фото")
    anna.sends_album(3, ["брак на шве", None, None])
    assert not [m for m in olga.chat() if m.kind == "photo"], "the album waits a moment for its last part"
    shop.tick(2)
    photos = [m for m in olga.chat() if m.kind == "photo"]
    assert len(photos) == 3 and photos[0].text == "брак на шве"
    olga.replies_to(photos[2], "Про третье фото")  # any photo of it links to Анна
    assert anna.has("Про третье фото")


def test_rating_after_done_is_stored_and_shown_in_stats(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Вопрос")
    olga.says("Ответ")
    olga.says("/done")
    prompt = anna.last_with(texts.RATE_PROMPT)
    assert datas(prompt) == [f"rate:1:{n}" for n in range(1, 6)]
    assert anna.presses(prompt.buttons[4]) == texts.RATE_THANKS
    assert not prompt.buttons, "the stars removed"
    olga.says("/stats")
    stats = olga.last_with("Статистика за сегодня").text
    assert "Ольга: открыто 1, закрыто 1" in stats and "оценка 5.0" in stats
    olga.says("/stats year")
    assert olga.has(texts.STATS_USAGE)


def test_notice_buttons_take_show_history_close_and_go_stale(make_shop):
    shop = make_shop(pins=("1111", "2222"), operator_chat_limit=1)
    olga, pavel = shop.on_line("Ольга", "1111"), shop.on_line("Павел", "2222")
    a, b, c = shop.customer("Анна"), shop.customer("Борис"), shop.customer("Вера")
    a.says("первая")
    b.says("второй")
    c.says("третья")  # both operators are full now
    notice = olga.last_with("Вера (#3) ждёт")
    assert datas(notice) == ["pick:3", "hist:3", "end:3"]
    shop.customer("Глеб").says("четвёртый")  # every newcomer to the queue is announced
    assert olga.has("Клиент Глеб (#4) ждёт в очереди (2-й)")
    olga.presses(notice.buttons[1])
    assert olga.has("История Вера (#3)")
    assert olga.presses(notice.buttons[0]) == texts.TAKE_REFUSED_FULL
    pavel.says("/done")
    assert pavel.has("Вам передан клиент Вера (#3)")
    assert olga.presses(notice.buttons[0]) == texts.TAKEN_ALREADY  # stale: Павел has her
    pavel_notice = pavel.last_with("Вам передан клиент Вера")
    close = next(btn for btn in pavel_notice.buttons if btn.data == "end:3")
    pavel.presses(close)
    assert c.has(texts.CLOSED)
    assert pavel.presses(close) == texts.BUTTON_STALE
    a.presses("pick:3", a.chat()[-1])  # a customer pressing an operator's button
    assert not any("Вера" in t for t in a.texts())


def test_reply_answers_that_customer_whatever_is_current(shop):
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Вопрос Анны")
    boris.says("Вопрос Бориса")
    notice = olga.last_with("Новый клиент Борис")
    assert "Текущий диалог не изменился" in notice.text  # a new customer never steals the current dialog
    olga.presses(notice.buttons[0])  # «Сделать текущим»
    assert olga.has("Текущий диалог: Борис (#2)")
    olga.replies_to(olga.last_with("Вопрос Анны"), "Это для Анны")
    assert anna.has("Это для Анны")
    olga.says("А это текущему")
    assert boris.has("А это текущему") and not boris.has("Это для Анны")
    olga.replies_to(olga.last_with("Вы вошли как оператор"), "Кому это?")  # not about any customer
    assert olga.has("Не понял, какому клиенту")
    assert not anna.has("Кому это?") and not boris.has("Кому это?")


def test_list_who_transfer_note_ban(shop):
    olga, pavel = shop.on_line("Ольга", "1111"), shop.on_line("Павел", "2222")
    anna = shop.customer("Анна")
    anna.says("Где мой заказ 123?")
    olga.says("/list")
    listing = olga.last_with("Мои диалоги (1):").text
    assert "#1 Анна — 0 мин ← текущий: Где мой заказ 123?" in listing and "Очередь (0):" in listing
    olga.says("/who")
    assert olga.has("Линия 1: Ольга — 1 из 2\nЛиния 2: Павел — 0 из 2")

    olga.says("/note 1 просила перезвонить")
    assert olga.has("Заметка к Анна (#1) сохранена")
    olga.says("/transfer 1 Павел")
    assert olga.has("Диалог с Анна (#1) передан оператору Павел")
    assert pavel.has("Вам передан диалог с Анна (#1) от оператора Ольга")
    assert pavel.has("Ольга (заметка): просила перезвонить")  # the history goes along
    assert anna.has("К вам подключился оператор Павел")
    assert not anna.has("перезвонить")
    for bad in ("/transfer", "/transfer 1", "/note 1", "/ban", "/unban x"):
        pavel.says(bad)
    assert pavel.has("Использование", count=5)
    shop.advance(1)
    pavel.says("/transfer 1 Ольга")
    assert pavel.has("Диалог с Анна (#1) передан оператору Ольга")

    olga.says("/ban 1")
    assert olga.has("Клиент Анна (#1) заблокирован")
    before = len(anna.chat())
    anna.says("Алло?")
    anna.says("/start")
    assert len(anna.chat()) == before  # never answered
    assert not olga.has("Алло?") and not pavel.has("Алло?")
    assert ("in", "Алло?") in shop.history_of(anna)  # but stored
    olga.says("/unban 1")
    assert olga.has("Клиент Анна (#1) разблокирован")
    anna.says("Теперь слышно?")
    assert pavel.has("Теперь слышно?")  # a new dialog, to the seat whose last assignment is older


def test_command_menus_for_customers_and_operators(shop):
    menus = shop.telegram.commands
    assert [c for c, _ in menus[("all_private_chats", 0)]] == ["start", "help"]
    olga = shop.on_line("Ольга")
    assert "transfer" in [c for c, _ in menus[("chat", olga.id)]]
    olga.says("/help")
    assert olga.has("/transfer <id>")
    anna = shop.customer("Анна")
    anna.says("/help")
    assert anna.has(texts.CUSTOMER_HELP)
    olga.logs_out()
    assert not menus[("chat", olga.id)], "the menu removed"


def test_waiting_and_unanswered_alerts_come_once(make_shop):
    shop = make_shop(operator_chat_limit=1, wait_alert_seconds=3.0, unanswered_alert_seconds=3.0)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Ответьте")
    boris.says("Я в очереди")
    shop.tick(4)
    assert olga.has("⏰ Клиент Анна (#1) ждёт ответа")
    alert = olga.last_with("ждёт в очереди уже")
    assert "Борис (#2)" in alert.text and "pick:2" in datas(alert)
    for _ in range(5):
        shop.tick(4)
    assert len([t for t in olga.texts() if t.startswith("⏰")]) == 2


def test_a_silent_operator_with_waiting_customers_is_asked_then_logged_out(make_shop):
    shop = make_shop(operator_chat_limit=1, operator_idle_seconds=3.0)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Ау")
    boris.says("Я жду")
    shop.tick(4)
    question = olga.last_with("Вы на связи?")
    shop.advance(1)
    assert olga.presses(question.buttons[0]) == texts.HERE_THANKS
    shop.tick(4)
    assert olga.has("Вы на связи?", count=2)
    shop.tick(4)
    assert olga.has("отключены от линии")
    view = shop.view()
    assert view.operators == {} and view.queue == (anna.id, boris.id)  # her dialog went back to the head


def test_a_waiting_customer_asking_in_their_own_words_gets_the_right_faq_answer(shop):
    returns = next(e for e in FAQ if e.questions[0] == "Как вернуть товар?")
    anna = shop.customer("Анна")
    anna.says("здрасте а вернуть можно если не подошло??")
    assert anna.texts()[-1] == texts.FAQ_PREFIX.format(answer=returns.answer)
    boris = shop.customer("Борис")
    boris.says("мой заказ 4521 пришёл мятый, что за безобразие")  # no FAQ entry fits
    assert boris.texts() == [texts.NO_OPERATORS]
