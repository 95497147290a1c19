"""Topics mode end to end: the real bot process against the fake Bot API with topics in private chats.

Each dialog has a topic in its operator's chat; what an operator writes in a topic reaches that topic's
customer only. Waits are on conditions, never on sleeps.
"""
from __future__ import annotations

import pytest

from supportbot import texts
from tests.test_flow import login, wait_text


def topic_of(api, operator, customer_id_mark):
    """The open topic in `operator`'s chat whose name holds `customer_id_mark` ("#1 Анна"), waited for."""
    def find():
        return next((t for t, topic in api.topics_in(operator["id"]).items()
                     if customer_id_mark in topic["name"] and not topic["closed"]), None)
    api.wait_for(lambda: find() is not None, what=f"a topic {customer_id_mark!r} at {operator['first_name']}")
    return find()


def topic_texts(api, operator, thread_id):
    """What the bot wrote in one topic (None: outside any topic)."""
    return [m.get("text") or m.get("caption") or "" for m in api.messages_in_topic(operator["id"], thread_id)
            if m["from"]["is_bot"] and "forum_topic_created" not in m]


def customers_reached(api, customers, fragment):
    """The customers who received a message holding `fragment`."""
    return [c["first_name"] for c in customers if any(fragment in t for t in api.bot_texts(c["id"]))]


FAST = {"SEND_RATE_PER_CHAT": "100"}  # the fake enforces no per-chat limit: do not wait for one


@pytest.fixture
def topics_bot(api, make_bot):
    api.topics = True
    return make_bot(OPERATOR_CHAT_LIMIT="3", **FAST).start()


def test_two_operators_answer_several_customers_each_in_their_topics(api, topics_bot):
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    login(api, pavel, "2222")
    names = ["Анна", "Борис", "Вера", "Глеб", "Дина"]
    customers = [api.user(501 + n, name) for n, name in enumerate(names)]
    for customer in customers:
        api.send_text(customer, f"вопрос от {customer['first_name']}")
    where = {}  # customer's first name -> (operator, thread id)
    for number, customer in enumerate(customers, start=1):
        mark = f"#{number} {customer['first_name']}"
        api.wait_for(lambda: any(mark in t["name"] for op in (olga, pavel) for t in api.topics_in(op["id"]).values()),
                     what=f"a topic for {mark}")
        operator = next(op for op in (olga, pavel) if any(mark in t["name"] for t in api.topics_in(op["id"]).values()))
        where[customer["first_name"]] = (operator, topic_of(api, operator, mark))
    assert {op["first_name"] for op, _ in where.values()} == {"Ольга", "Павел"}  # both serve customers
    topics_bot.wait_processed()
    for customer in customers:  # each first message is in its own topic
        operator, thread = where[customer["first_name"]]
        assert any(f"вопрос от {customer['first_name']}" in t for t in topic_texts(api, operator, thread))

    # Customers write again and operators answer, interleaved, in reverse order of arrival.
    for customer in reversed(customers):
        operator, thread = where[customer["first_name"]]
        api.send_text(customer, f"ещё от {customer['first_name']}")
        api.send_text(operator, f"ответ для {customer['first_name']}", thread_id=thread)
    api.send_text(olga, "ответ неизвестно кому")  # in General: goes nowhere, Olga is asked where
    topics_bot.wait_processed()
    for customer in customers:
        name = customer["first_name"]
        assert customers_reached(api, customers, f"ответ для {name}") == [name]
        operator, thread = where[name]
        assert any(f"ещё от {name}" in t for t in topic_texts(api, operator, thread))
    assert customers_reached(api, customers, "ответ неизвестно кому") == []
    held = [m for m in api.messages_in_topic(olga["id"], None) if m.get("text", "").startswith(texts.HELD_GENERAL)]
    assert len(held) == 1 and held[0]["reply_markup"]["inline_keyboard"]
    assert "message thread not found" not in topics_bot.output()


def test_commands_in_a_topic_act_on_its_customer(api, topics_bot):
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    anna, boris, vera = api.user(501, "Анна"), api.user(502, "Борис"), api.user(503, "Вера")
    for customer in (anna, boris, vera):
        api.send_text(customer, f"здравствуйте, я {customer['first_name']}")
    anna_topic = topic_of(api, olga, "#1 Анна")
    boris_topic = topic_of(api, olga, "#2 Борис")
    vera_topic = topic_of(api, olga, "#3 Вера")
    login(api, pavel, "2222")

    api.send_text(olga, "/note постоянный клиент", thread_id=anna_topic)
    wait_text(api, olga, texts.NOTE_SAVED.format(who="Анна (#1)"))
    api.send_text(olga, "/history", thread_id=anna_topic)
    wait_text(api, olga, "(заметка)")
    history = [t for t in api.bot_texts(900) if "(заметка)" in t]
    assert len(history) == 1 and history[0].startswith("История Анна (#1)") and "Борис" not in history[0]

    api.send_text(olga, "/transfer 2", thread_id=anna_topic)
    pavel_topic = topic_of(api, pavel, "#1 Анна")
    wait_text(api, pavel, "Вам передан диалог с Анна (#1) от оператора Ольга")
    api.wait_for(lambda: api.topics_in(900)[anna_topic]["closed"], what="Olga's topic for Anna closed")
    assert api.topics_in(900)[anna_topic]["name"].startswith(texts.TOPIC_MOVED)
    assert any("передан оператору Павел" in t for t in topic_texts(api, olga, anna_topic))  # where she went
    api.send_text(pavel, "Анна, это Павел", thread_id=pavel_topic)
    wait_text(api, anna, "Анна, это Павел")

    api.send_text(olga, "/done", thread_id=boris_topic)
    wait_text(api, boris, "Диалог завершён")
    api.wait_for(lambda: api.topics_in(900)[boris_topic]["closed"], what="Boris's topic closed")
    assert api.topics_in(900)[boris_topic]["name"] == texts.TOPIC_DONE + "#2 Борис"

    api.send_text(olga, "/ban", thread_id=vera_topic)
    wait_text(api, olga, texts.BANNED.format(who="Вера (#3)"))
    topics_bot.wait_processed()
    assert [tuple(r) for r in topics_bot.query("SELECT banned FROM customers ORDER BY id")] == [(0,), (0,), (1,)]
    assert not any("Диалог завершён" in t for t in api.bot_texts(anna["id"]))


def test_a_deleted_topic_comes_back_with_everything_and_a_restart_changes_nothing(api, make_bot):
    api.topics = api.users_may_create_topics = True
    bot = make_bot(**FAST).start()
    olga, anna = api.user(900, "Ольга"), api.user(501, "Анна")
    login(api, olga)
    api.send_text(anna, "первое")
    first = topic_of(api, olga, "#1 Анна")
    bot.wait_processed()
    api.user_deletes_topic(900, first)

    api.send_text(anna, "после удаления")
    second = topic_of(api, olga, "#1 Анна")
    api.wait_for(lambda: any(texts.TOPIC_RECREATED.format(who="Анна (#1)") in t
                             for t in topic_texts(api, olga, second)), what="the new topic's notice")
    bot.wait_processed()
    shown = "\n".join(topic_texts(api, olga, second))
    assert "после удаления" in shown and "первое" in shown  # nothing the customer wrote is lost
    assert second != first and list(api.topics_in(900)) == [second]
    assert [tuple(r) for r in bot.query("SELECT kind, status FROM inbox WHERE kind = 'topic_recreated'")] == [
        ("topic_recreated", "done")]

    api.send_text(olga, "отвечаю в новой теме", thread_id=second)
    wait_text(api, anna, "отвечаю в новой теме")
    mine = api.user_creates_topic(olga, "моя тема")["message_thread_id"]  # by hand: explained, nothing breaks
    wait_text(api, olga, texts.TOPIC_BY_HAND)
    api.send_text(olga, "в своей теме", thread_id=mine)
    wait_text(api, olga, texts.HELD_GENERAL)
    assert customers_reached(api, [anna], "в своей теме") == []
    assert bot.stop() == 0
    api.send_text(anna, "пока бот спал")
    api.send_text(olga, "и после перезапуска", thread_id=second)
    api.fail_next("getMe", 502, "Bad Gateway")  # no answer at start: the bot carries on as it last ran
    bot.start()
    wait_text(api, anna, "и после перезапуска")
    api.wait_for(lambda: any("пока бот спал" in t for t in topic_texts(api, olga, second)), what="the relay")
    bot.wait_processed()
    assert sorted(api.topics_in(900)) == [second, mine]  # no new topic after the restart
    assert not any("Темы включены" in t or "Темы выключены" in t for t in api.bot_texts(900))
    assert "как в прошлый раз" in bot.output()


@pytest.mark.parametrize("telegram_topics, setting", [(False, "auto"), (True, "off")])
def test_classic_mode_is_unchanged_when_topics_are_off(api, make_bot, telegram_topics, setting):
    api.topics = telegram_topics
    bot = make_bot(OPERATOR_TOPICS=setting, **FAST).start()
    olga, anna = api.user(900, "Ольга"), api.user(501, "Анна")
    login(api, olga)
    api.send_text(anna, "Добрый день")
    wait_text(api, olga, "Добрый день")
    api.send_text(olga, "Здравствуйте, Анна")
    wait_text(api, anna, "Здравствуйте, Анна")
    bot.wait_processed()
    assert api.calls_to("createForumTopic") == [] and api.topics_in(900) == {}
    assert all("message_thread_id" not in m for m in api.messages_in(900) + api.messages_in(501))


def test_topics_insisted_on_without_topics_in_botfather_refuses_to_start(api, make_bot):
    bot = make_bot(OPERATOR_TOPICS="on")
    assert bot.run_to_exit() == 2
    output = bot.output()
    assert "OPERATOR_TOPICS=on" in output and "@BotFather" in output
    assert api.calls_to("getUpdates") == []
