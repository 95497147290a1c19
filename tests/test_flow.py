"""End to end: the real bot process, its real Telegram client, the fake Bot API over HTTP."""
from __future__ import annotations

from supportbot import texts


def login(api, user, pin="1111"):
    """Log `user` in as an operator and wait for the confirmation."""
    api.send_text(user, f"/operator {pin}")
    api.wait_for(lambda: any("Вы вошли как оператор" in t for t in api.bot_texts(user["id"])), what="login")


def texts_in(api, user):
    return api.bot_texts(user["id"])


def relayed_texts(api, operator, header):
    """The customer texts relayed to `operator` under `header` ("Анна (#1):"), one per text, in order.

    Texts that waited for the chat's rate limit arrive combined: the header once, then each text on its
    own line; one at a time, each comes with its header.
    """
    return [line for t in api.bot_texts(operator["id"]) if t.startswith(header + "\n") for line in t.split("\n")[1:]]


def wait_text(api, user, fragment, count=1, timeout=10.0):
    """Wait until the bot has sent `user` `count` messages containing `fragment`."""
    return api.wait_for(
        lambda: len([t for t in api.bot_texts(user["id"]) if fragment in t]) >= count,
        timeout=timeout, what=f"{fragment!r} to {user['first_name']}",
    )


def test_start_greets_the_customer(api, bot):
    anna = api.user(501, "Анна")
    api.send_text(anna, "/start")
    wait_text(api, anna, "Здравствуйте")
    assert texts_in(api, anna) == [texts.GREETING]
    assert all(m["protect_content"] for m in api.bot_messages(anna["id"]))


def test_waiting_customer_is_stored_and_reaches_the_operator_in_order(api, bot):
    anna = api.user(501, "Анна", username="anna")
    api.send_text(anna, "Добрый день")
    wait_text(api, anna, "нет операторов")
    api.send_media(anna, "photo", caption="вот фото")
    api.send_text(anna, "Вы тут?")
    bot.wait_processed()
    assert texts_in(api, anna) == [texts.NO_OPERATORS]  # one auto-reply per cooldown

    olga = api.user(900, "Ольга")
    login(api, olga)
    api.wait_for(lambda: len(api.bot_messages(900)) >= 5, what="the waiting messages")
    bot.wait_processed()
    relayed = [m for m in api.bot_messages(900) if "Анна" in (m.get("text") or m.get("caption") or "")]
    bodies = [m.get("text") or m.get("caption") for m in relayed]
    assert "Анна @anna (#1)" in bodies[0]
    assert [b.split("\n")[-1] for b in bodies[1:]] == ["Добрый день", "вот фото", "Вы тут?"]
    photo = relayed[2]
    assert "photo" in photo and photo["copied_from"][0] == anna["id"]
    assert texts_in(api, anna)[-1] == texts.OPERATOR_JOINED.format(name="Ольга")


def test_operator_login_deletes_the_pin_and_locks_out_guessers(api, bot):
    olga = api.user(900, "Ольга")
    pin_message = api.send_text(olga, "/operator 1111")
    wait_text(api, olga, "Вы вошли как оператор линии 1")
    api.wait_for(lambda: pin_message["message_id"] in api.deleted(900), what="the PIN message deleted")
    api.wait_for(lambda: api.commands_for({"type": "chat", "chat_id": 900}), what="the operator's command menu")

    mallory = api.user(666, "Мэллори")
    for attempt in range(5):
        api.send_text(mallory, f"/operator 999{attempt}")
    wait_text(api, mallory, "Слишком много неверных попыток")
    api.send_text(mallory, "/operator 2222")  # the right PIN, but locked out
    wait_text(api, mallory, "Слишком много неверных попыток", count=2)
    bot.wait_processed()
    assert len(api.deleted(666)) == 6
    assert not any("Вы вошли" in t for t in texts_in(api, mallory))
    assert texts_in(api, mallory)[0] == texts.LOGIN_WRONG.format(left=4)
    assert bot.query("SELECT COUNT(*) FROM seats WHERE tg_user_id = 666")[0][0] == 0


def test_dialog_both_ways_with_media_and_no_markup_trouble(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    boris = api.user(502, "Борис")
    api.send_text(boris, "Цена <b>товара</b> & *скидка* _?")
    wait_text(api, olga, "Новый клиент Борис (#1)")
    wait_text(api, olga, "Цена <b>товара</b> & *скидка* _?")
    api.send_text(olga, "Здравствуйте, 500 ₽")
    api.send_media(olga, "document", caption="прайс")
    api.wait_for(lambda: len(api.bot_messages(502)) >= 3, what="operator's answers")
    answers = api.bot_messages(502)
    assert answers[0]["text"] == texts.OPERATOR_JOINED.format(name="Ольга")
    assert answers[1]["text"] == "Здравствуйте, 500 ₽"
    assert answers[2]["caption"] == "прайс" and "document" in answers[2]
    for chat in (502, 900):
        assert all(m["protect_content"] for m in api.bot_messages(chat))
    assert all("parse_mode" not in c.params for c in api.calls_to("sendMessage"))


def test_operator_without_a_current_dialog_is_told_and_nothing_is_sent(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    api.send_text(olga, "Привет всем")
    wait_text(api, olga, texts.HELD_NONE)
    assert api.calls_to("copyMessage") == []


def test_full_operators_queue_then_done_hands_over_the_next(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    customers = [api.user(600 + i, f"Клиент{i}") for i in range(4)]
    for c in customers:
        api.send_text(c, "Сколько стоит доставка?")
    wait_text(api, customers[3], "Вы в очереди: 2-й")
    wait_text(api, customers[2], "Вы в очереди: 1-й")
    wait_text(api, customers[2], "Возможно, это ответ на ваш вопрос")  # the FAQ while waiting

    api.send_text(olga, "/next")
    wait_text(api, olga, "лимит")
    api.send_text(olga, "/done")  # current: the first one, a later assignment does not switch it
    wait_text(api, olga, "Диалог с Клиент0 (#1) завершён")
    wait_text(api, customers[0], texts.CLOSED)
    wait_text(api, olga, "Вам передан клиент Клиент2 (#3) из очереди")
    wait_text(api, customers[2], "К вам подключился оператор Ольга")
    bot.wait_processed()

    api.send_text(customers[0], "Ещё вопрос")  # a new dialog after /done
    wait_text(api, customers[0], "Вы в очереди: 2-й")


def test_use_switches_dialogs_and_takes_queued_customers_out_of_turn(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="2").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    a, b, c, d = (api.user(700 + i, n) for i, n in enumerate(["Аня", "Боря", "Вера", "Гоша"]))
    for person in (a, b, c, d):
        api.send_text(person, "Здравствуйте")
    wait_text(api, d, "Вы в очереди: 2-й")
    api.send_text(olga, "/use 1")
    wait_text(api, olga, "Текущий диалог: Аня (#1)")
    api.send_text(olga, "Ответ Ане")
    wait_text(api, a, "Ответ Ане")
    assert "Ответ Ане" not in texts_in(api, b)

    api.send_text(olga, "/use 4")
    wait_text(api, olga, "лимит")
    api.send_text(olga, "/done 1")
    wait_text(api, olga, "Вам передан клиент Вера (#3)")
    wait_text(api, olga, "Текущий диалог: Боря (#2)")  # the one left when she closed hers; Вера does not cut in
    api.send_text(olga, "/done 3")
    wait_text(api, olga, "Диалог с Вера (#3) завершён")
    api.send_text(olga, "/use 4")
    wait_text(api, olga, "Вам передан клиент Гоша (#4)")
    api.send_text(olga, "Гоше")  # taken on purpose: now the current dialog
    wait_text(api, d, "Гоше")
    api.send_text(olga, f"/use {b['id']}")  # the Telegram id works as well
    wait_text(api, olga, "Текущий диалог: Боря (#2)")
    for bad in ("/use", "/use abc", "/use 1 2", "/history", "/history 1 500", "/done x"):
        api.send_text(olga, bad)
    wait_text(api, olga, "Использование", count=6)
    api.send_text(olga, "/use 99")
    wait_text(api, olga, "Клиент 99 не найден")
    bot.stop()


def test_history_is_for_operators_only_and_splits_long_output(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    long_text = "очень длинно " * 400  # ~5200 characters
    api.send_text(anna, long_text)
    api.send_media(anna, "voice")
    api.send_text(olga, "Отвечаю")
    wait_text(api, anna, "Отвечаю")
    api.send_text(olga, "/history 1 50")
    wait_text(api, olga, "История Анна (#1)")
    bot.wait_processed()
    history = [t for t in texts_in(api, olga)]
    start = next(i for i, t in enumerate(history) if t.startswith("История"))
    pieces = history[start:]
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) >= 2
    joined = "\n".join(pieces)
    assert "[голосовое сообщение]" in joined and "Ольга: Отвечаю" in joined
    assert joined.index("Анна (клиент)") < joined.index("Ольга: Отвечаю")

    boris = api.user(502, "Борис")
    api.send_text(boris, "/history 1")
    api.send_text(boris, "/frobnicate 1")
    bot.wait_processed()
    # To a customer both are the same: ordinary messages for the operator, nothing revealed.
    assert texts_in(api, boris) == [texts.OPERATOR_JOINED.format(name="Ольга")]
    assert relayed_texts(api, olga, "Борис (#2):") == ["/history 1", "/frobnicate 1"]
    stored = bot.query("SELECT body FROM messages m JOIN customers c ON c.id = m.customer_id"
                       " WHERE c.tg_user_id = 502 AND direction = 'in' ORDER BY m.id")
    assert [r["body"] for r in stored] == ["/history 1", "/frobnicate 1"]
