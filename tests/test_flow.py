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
