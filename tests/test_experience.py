"""End to end: buttons, queue place and wait, hours, edits, albums, ratings, flood, alerts, idle seats, tools."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone

from supportbot import texts
from supportbot.faq import load_faq
from supportbot.schedule import DAYS
from tests.botproc import PROJECT_DIR
from tests.test_flow import login, relayed_texts, texts_in, wait_text

FAQ = load_faq(PROJECT_DIR / "data" / "faq.csv")


def buttons_of(message):
    return [b["callback_data"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def last_with(api, chat_id, fragment):
    return [m for m in api.bot_messages(chat_id) if fragment in (m.get("text") or "")][-1]


def test_queue_place_wait_and_the_operator_named_on_take(api, make_bot):
    make_bot(OPERATOR_CHAT_LIMIT="1").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Здравствуйте")
    wait_text(api, olga, "Новый клиент Анна")
    api.send_text(boris, "Здравствуйте")
    wait_text(api, boris, "Вы в очереди: 1-й, примерное ожидание — 10 мин")  # no history yet: 10 minutes
    api.send_text(olga, "/done")
    wait_text(api, boris, "К вам подключился оператор Ольга")


def test_start_offers_faq_buttons_that_answer_without_an_operator(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "/start")
    wait_text(api, anna, "Здравствуйте")
    greeting = api.bot_messages(501)[0]
    datas = buttons_of(greeting)
    assert datas and all(d.startswith("faq:") for d in datas)
    press = api.press_button(anna, greeting, datas[1])
    wait_text(api, anna, FAQ[1].answer[:30])
    api.wait_for(lambda: press["id"] in api.callback_answers, what="the button press answered")
    bot.wait_processed()
    assert not any("Анна" in t for t in texts_in(api, olga))  # no operator was taken
    api.press_button(anna, greeting, "faq:1:1", strict=False)  # a stale or forged button
    api.wait_for(lambda: any(p.get("text") == texts.FAQ_STALE for p in api.callback_answers.values()),
                 what="the stale-button answer")


def test_outside_working_hours_the_customer_waits_and_hears_when_the_shop_opens(api, make_bot):
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    bot = make_bot(WORKING_HOURS=f"{DAYS[tomorrow.weekday()].title()} 10:00-11:00", TIMEZONE="UTC").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вы работаете?")
    wait_text(api, anna, "Мы откроемся завтра в 10:00")
    bot.wait_processed()
    assert bot.query("SELECT state FROM dialogs")[0][0] == "queued"
    api.send_text(olga, "/next")  # an operator may still take her on purpose
    wait_text(api, olga, "Вам передан клиент Анна")


def test_edits_show_up_on_the_other_side(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    original = api.send_text(anna, "Хочу синий")
    wait_text(api, olga, "Хочу синий")
    api.edit_text(anna, original["message_id"], "Хочу красный")
    wait_text(api, olga, "✏️ Анна (#1) исправил(а) сообщение:\nХочу красный")
    edit_notice = last_with(api, 900, "исправил")
    relayed = last_with(api, 900, "Хочу синий")
    assert edit_notice["reply_to_message"]["message_id"] == relayed["message_id"]

    answer = api.send_text(olga, "Есть синий")
    wait_text(api, anna, "Есть синий")
    api.edit_text(olga, answer["message_id"], "Есть красный")
    api.wait_for(lambda: "Есть красный" in texts_in(api, anna), what="the customer's copy edited")
    assert "Есть синий" not in texts_in(api, anna)
    bot.wait_processed()
    stored = [r[0] for r in bot.query("SELECT body FROM messages WHERE direction IN ('in', 'out') ORDER BY id")]
    assert stored == ["Хочу синий", "Хочу красный", "Есть синий", "Есть красный"]  # history keeps both


def test_an_album_arrives_as_one_album(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вот фото")
    wait_text(api, olga, "Вот фото")
    for n in range(3):
        api.send_media(anna, "photo", caption="брак на шве" if n == 0 else None, media_group_id="album-1")
    api.wait_for(lambda: len([m for m in api.bot_messages(900) if "photo" in m]) == 3, what="the album")
    calls = [c for c in api.calls_to("copyMessages") if c.status == 200]
    assert len(calls) == 1 and len(calls[0].params["message_ids"]) == 3
    third_photo = [m for m in api.bot_messages(900) if "photo" in m][2]
    bot.wait_processed()
    api.send_text(olga, "Про третье фото", reply_to=third_photo["message_id"])  # any photo of it links to Анна
    wait_text(api, anna, "Про третье фото")
    assert api.calls_to("copyMessage") == [] or all(c.params.get("chat_id") != "900"
                                                    for c in api.calls_to("copyMessage"))


def test_rating_after_done_is_stored_and_shown_in_stats(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Вопрос")
    api.send_text(olga, "Ответ")
    wait_text(api, anna, "Ответ")
    api.send_text(olga, "/done")
    wait_text(api, anna, texts.RATE_PROMPT)
    prompt = last_with(api, 501, texts.RATE_PROMPT)
    assert buttons_of(prompt) == [f"rate:1:{n}" for n in range(1, 6)]
    api.press_button(anna, prompt, "rate:1:5")
    api.wait_for(lambda: not buttons_of(last_with(api, 501, texts.RATE_PROMPT)), what="the stars removed")
    bot.wait_processed()
    assert bot.query("SELECT rating FROM dialogs")[0][0] == 5
    api.send_text(olga, "/stats")
    wait_text(api, olga, "Статистика за сегодня")
    stats = last_with(api, 900, "Статистика")["text"]
    assert "Ольга: открыто 1, закрыто 1" in stats and "оценка 5.0" in stats
    api.send_text(olga, "/stats year")
    wait_text(api, olga, texts.STATS_USAGE)


def test_a_flooding_customer_is_stored_not_relayed_and_asked_once(api, make_bot):
    bot = make_bot(FLOOD_MAX_MESSAGES="3").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    for n in range(7):
        api.send_text(anna, f"спам {n}")
    wait_text(api, anna, texts.FLOOD_WARNING)
    bot.wait_processed()
    assert relayed_texts(api, olga, "Анна (#1):") == ["спам 0", "спам 1", "спам 2"]
    assert texts_in(api, anna).count(texts.FLOOD_WARNING) == 1
    assert bot.query("SELECT COUNT(*) FROM messages WHERE direction = 'in'")[0][0] == 7


def test_notice_buttons_take_show_history_close_and_go_stale(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="1").start()
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    login(api, pavel, "2222")
    a, b, c = api.user(501, "Анна"), api.user(502, "Борис"), api.user(503, "Вера")
    api.send_text(a, "первая")
    api.send_text(b, "второй")
    api.send_text(c, "третья")  # both operators are full now
    wait_text(api, olga, "Клиент Вера (#3) ждёт в очереди")
    notice = last_with(api, 900, "Вера (#3) ждёт")
    assert buttons_of(notice) == ["pick:3", "hist:3", "end:3"]
    api.send_text(api.user(504, "Глеб"), "четвёртый")  # every newcomer to the queue is announced
    wait_text(api, olga, "Клиент Глеб (#4) ждёт в очереди (2-й)")
    api.press_button(olga, notice, "hist:3")
    wait_text(api, olga, "История Вера (#3)")
    api.press_button(olga, notice, "pick:3")
    api.wait_for(lambda: any(p.get("text") == texts.TAKE_REFUSED_FULL for p in api.callback_answers.values()),
                 what="take refused at the limit")
    api.send_text(pavel, "/done")
    wait_text(api, pavel, "Вам передан клиент Вера (#3)")
    api.press_button(olga, notice, "pick:3")  # stale: Павел has her
    api.wait_for(lambda: any(p.get("text") == texts.TAKEN_ALREADY for p in api.callback_answers.values()),
                 what="already taken")
    pavel_notice = last_with(api, 901, "Вам передан клиент Вера")
    api.press_button(pavel, pavel_notice, "end:3")
    wait_text(api, c, texts.CLOSED)
    api.press_button(pavel, pavel_notice, "end:3")
    api.wait_for(lambda: any(p.get("text") == texts.BUTTON_STALE for p in api.callback_answers.values()),
                 what="stale close")
    api.press_button(a, notice, "pick:3", strict=False)  # a customer pressing an operator's button
    bot.wait_processed()
    assert not any("Вера" in t for t in api.bot_texts(501))


def test_reply_answers_that_customer_whatever_is_current(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Вопрос Анны")
    wait_text(api, olga, "Вопрос Анны")
    api.send_text(boris, "Вопрос Бориса")
    wait_text(api, olga, "Вопрос Бориса")
    notice = last_with(api, 900, "Новый клиент Борис")
    assert "Текущий диалог не изменился" in notice["text"]  # a new customer never steals the current dialog
    api.press_button(olga, notice, buttons_of(notice)[0])  # «Сделать текущим»
    wait_text(api, olga, "Текущий диалог: Борис (#2)")
    anna_relay = last_with(api, 900, "Вопрос Анны")
    api.send_text(olga, "Это для Анны", reply_to=anna_relay["message_id"])
    wait_text(api, anna, "Это для Анны")
    api.send_text(olga, "А это текущему")
    wait_text(api, boris, "А это текущему")
    assert "Это для Анны" not in texts_in(api, boris)
    login_notice = last_with(api, 900, "Вы вошли как оператор")
    api.send_text(olga, "Кому это?", reply_to=login_notice["message_id"])  # not about any customer
    wait_text(api, olga, "Не понял, какому клиенту")
    bot.wait_processed()
    assert "Кому это?" not in texts_in(api, anna) + texts_in(api, boris)


def test_list_who_transfer_note_ban(api, bot):
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    login(api, pavel, "2222")
    anna = api.user(501, "Анна")
    api.send_text(anna, "Где мой заказ 123?")
    wait_text(api, olga, "Новый клиент Анна")
    api.send_text(olga, "/list")
    wait_text(api, olga, "Мои диалоги (1):")
    listing = last_with(api, 900, "Мои диалоги")["text"]
    assert "#1 Анна — 0 мин ← текущий: Где мой заказ 123?" in listing and "Очередь (0):" in listing
    api.send_text(olga, "/who")
    wait_text(api, olga, "Линия 1: Ольга — 1 из 2\nЛиния 2: Павел — 0 из 2")

    api.send_text(olga, "/note 1 просила перезвонить")
    wait_text(api, olga, "Заметка к Анна (#1) сохранена")
    api.send_text(olga, "/transfer 1 Павел")
    wait_text(api, olga, "Диалог с Анна (#1) передан оператору Павел")
    wait_text(api, pavel, "Вам передан диалог с Анна (#1) от оператора Ольга")
    wait_text(api, pavel, "Ольга (заметка): просила перезвонить")  # the history goes along
    wait_text(api, anna, "К вам подключился оператор Павел")
    assert not any("перезвонить" in t for t in texts_in(api, anna))
    for bad in ("/transfer", "/transfer 1", "/note 1", "/ban", "/unban x"):
        api.send_text(pavel, bad)
    wait_text(api, pavel, "Использование", count=5)
    api.send_text(pavel, "/transfer 1 Ольга")
    wait_text(api, pavel, "Диалог с Анна (#1) передан оператору Ольга")

    api.send_text(olga, "/ban 1")
    wait_text(api, olga, "Клиент Анна (#1) заблокирован")
    before = len(api.bot_messages(501))
    api.send_text(anna, "Алло?")
    api.send_text(anna, "/start")
    bot.wait_processed()
    assert len(api.bot_messages(501)) == before  # never answered
    assert not any("Алло?" in t for t in api.bot_texts(900) + api.bot_texts(901))
    assert bot.query("SELECT COUNT(*) FROM messages WHERE body = 'Алло?'")[0][0] == 1  # but stored
    api.send_text(olga, "/unban 1")
    wait_text(api, olga, "Клиент Анна (#1) разблокирован")
    api.send_text(anna, "Теперь слышно?")
    wait_text(api, pavel, "Теперь слышно?")  # a new dialog, to the seat whose last assignment is older


def test_command_menus_for_customers_and_operators(api, bot):
    api.wait_for(lambda: api.commands_for({"type": "all_private_chats"}), what="the customers' menu")
    assert [c["command"] for c in api.commands_for({"type": "all_private_chats"})] == ["start", "help"]
    olga = api.user(900, "Ольга")
    login(api, olga)
    api.wait_for(lambda: api.commands_for({"type": "chat", "chat_id": 900}), what="the operator's menu")
    assert "transfer" in [c["command"] for c in api.commands_for({"type": "chat", "chat_id": 900})]
    api.send_text(olga, "/help")
    wait_text(api, olga, "/transfer <id>")
    anna = api.user(501, "Анна")
    api.send_text(anna, "/help")
    wait_text(api, anna, texts.CUSTOMER_HELP)
    api.send_text(olga, "/logout")
    api.wait_for(lambda: not api.commands_for({"type": "chat", "chat_id": 900}), what="the menu removed")


def test_waiting_and_unanswered_alerts_come_once(api, make_bot):
    make_bot(OPERATOR_CHAT_LIMIT="1", WAIT_ALERT_MINUTES="0.05", UNANSWERED_ALERT_MINUTES="0.05").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Ответьте")
    wait_text(api, olga, "⏰ Клиент Анна (#1) ждёт ответа")
    api.send_text(boris, "Я в очереди")
    wait_text(api, olga, "⏰ Клиент Борис (#2) ждёт в очереди")
    alert = last_with(api, 900, "ждёт в очереди уже")
    assert "pick:2" in buttons_of(alert)
    time.sleep(4)  # absence over time cannot be waited for: give the 1-second tick a few more turns
    assert len([t for t in texts_in(api, olga) if t.startswith("⏰")]) == 2


def test_a_silent_operator_with_waiting_customers_is_asked_then_logged_out(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="1", OPERATOR_IDLE_MINUTES="0.05").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Ау")
    api.send_text(boris, "Я жду")
    wait_text(api, olga, "Вы на связи?")
    question = last_with(api, 900, "Вы на связи?")
    api.press_button(olga, question, "here")
    api.wait_for(lambda: any(p.get("text") == texts.HERE_THANKS for p in api.callback_answers.values()),
                 what="the operator confirms")
    wait_text(api, olga, "Вы на связи?", count=2, timeout=15)
    wait_text(api, olga, "отключены от линии", timeout=15)
    bot.wait_processed()
    assert bot.query("SELECT COUNT(*) FROM seats WHERE tg_user_id IS NOT NULL")[0][0] == 0
    order = [r[0] for r in bot.query("SELECT customer_id FROM dialogs WHERE state = 'queued' ORDER BY queue_pos")]
    assert order == [1, 2]  # her dialog went back to the head of the queue


def test_canned_answers_and_a_broken_faq_file(api, make_bot, tmp_path):
    faq_copy = tmp_path / "faq.csv"
    shutil.copy(PROJECT_DIR / "data" / "faq.csv", faq_copy)
    bot = make_bot(FAQ_PATH=str(faq_copy)).start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Добрый день")
    wait_text(api, olga, "Добрый день")
    api.send_text(olga, "/faq")
    wait_text(api, olga, f"1. {FAQ[0].questions[0]}")
    api.send_text(olga, "/a 2")
    wait_text(api, anna, FAQ[1].answer[:30])
    api.send_text(olga, "/a")
    wait_text(api, olga, texts.CANNED_USAGE)

    faq_copy.write_text("question,answer\nтолько вопрос,\n", encoding="utf-8")
    wait_text(api, olga, "Файл FAQ не обновлён", timeout=15)
    api.send_text(olga, "/a 2")  # the last good FAQ is still in use
    wait_text(api, anna, FAQ[1].answer[:30], count=2)
    bot.wait_processed()
    assert len([t for t in texts_in(api, olga) if "Файл FAQ не обновлён" in t]) == 1


def test_a_waiting_customer_asking_in_their_own_words_gets_the_right_faq_answer(api, bot):
    returns = next(e for e in FAQ if e.questions[0] == "Как вернуть товар?")
    anna = api.user(501, "Анна")
    api.send_text(anna, "здрасте можно вернуть куртку если не подошла??")
    wait_text(api, anna, "Возможно, это ответ на ваш вопрос")
    assert texts_in(api, anna)[-1] == texts.FAQ_PREFIX.format(answer=returns.answer)
    boris = api.user(502, "Борис")
    api.send_text(boris, "мой заказ 4521 пришёл мятый, что за безобразие")  # no FAQ entry fits
    wait_text(api, boris, "нет операторов")
    bot.wait_processed()
    assert texts_in(api, boris) == [texts.NO_OPERATORS]
