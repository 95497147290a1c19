"""Months unattended (issue 11), end to end: the real bot process against the fake Bot API.

A rejected token loses nothing, a damaged database stops the bot with one line and a code the start
scripts do not restart on, an unstorable update is set aside, the bot is back within seconds of
Telegram, and a backlog reaches an operator combined but answerable.
"""
from __future__ import annotations

import re

import pytest

from tests.databases import on_postgres
from tests.test_flow import login, texts_in, wait_text

EXIT_TOKEN_REJECTED = 4
EXIT_DATABASE = 5


def in_dialog(api, make_bot):
    """A running bot, operator Ольга logged in and talking to Анна; return (bot, olga, anna)."""
    bot = make_bot().start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Первый вопрос")
    wait_text(api, olga, "Первый вопрос")
    bot.wait_processed()
    return bot, olga, anna


def test_a_rejected_token_keeps_what_waits_and_the_right_token_delivers_it(api, make_bot):
    bot, olga, anna = in_dialog(api, make_bot)

    # The owner revokes the token in @BotFather: sends are refused first, then polling too.
    api.fail_next("sendMessage", 401, "Unauthorized", times=1000)
    api.send_text(anna, "Пока токен не работает")
    api.wait_for(lambda: len([c for c in api.calls_to("sendMessage") if c.status == 401]) >= 2,
                 timeout=15, what="the sender to be refused twice")
    api.token = "1234:new"  # every call with the old token now gets 401, getUpdates included
    api.send_text(anna, "И ещё одно")
    assert bot.proc.wait(15) == EXIT_TOKEN_REJECTED
    assert "Telegram не принимает токен" in bot.output()
    assert bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")[0][0] == 0
    assert bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0] >= 1

    api.clear_faults()
    bot.env["TELEGRAM_BOT_TOKEN"] = "1234:new"  # the owner puts the new token into .env
    bot.start()
    wait_text(api, olga, "Пока токен не работает", timeout=15)
    wait_text(api, olga, "И ещё одно", timeout=15)
    bot.wait_processed()
    assert bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")[0][0] == 0
    assert "1234:new" not in bot.output() and "1234:test" not in bot.output()


@pytest.mark.skipif(on_postgres(), reason="a damaged SQLite file: runs in the SQLite pass of .ci/run")
def test_a_damaged_database_stops_the_bot_with_one_line_and_no_restart_code(api, make_bot, tmp_path):
    bot = make_bot()
    bot.db_path.write_bytes(b"this is not a database, just text " * 200)
    code = bot.run_to_exit()
    assert code == EXIT_DATABASE
    lines = [line for line in bot.output().splitlines() if line.strip()]
    assert len(lines) == 1, bot.output()
    assert "Traceback" not in bot.output()
    line = lines[0]
    assert re.search(r"База данных .*support\.db повреждена", line)
    assert "восстановите резервную копию" in line and "README" in line
    logged = (tmp_path / "logs" / "supportbot.log").read_text(encoding="utf-8")
    assert line.split(": ", 1)[1] in logged  # the same line, after the log's time and level
    assert not api.calls_to("getUpdates")  # it never went online with a broken database


def test_an_unstorable_update_is_set_aside_and_the_next_message_flows_across_a_restart(api, make_bot):
    bot = make_bot().start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    broken = api.send_text(anna, "сломано \ud800 здесь")  # a lone surrogate: valid JSON, not valid UTF-8
    api.send_text(anna, "Обычный вопрос")
    wait_text(api, olga, "Обычный вопрос")
    bot.wait_processed()
    dead = bot.query("SELECT update_id, payload FROM dead_letters")
    assert len(dead) == 1
    assert "\\ud800" in dead[0]["payload"] and str(broken["message_id"]) in dead[0]["payload"]
    assert "отложено в таблицу dead_letters" in bot.output()

    assert bot.stop() == 0
    bot.start()
    api.send_text(anna, "второй \udfff сломанный")
    api.send_text(anna, "После перезапуска")
    wait_text(api, olga, "После перезапуска")
    bot.wait_processed()
    assert len(bot.query("SELECT * FROM dead_letters")) == 2  # the first one was confirmed, not fetched again
    assert not api.pending_updates
    assert bot.proc.poll() is None


def test_after_a_run_of_5xx_answers_the_bot_is_back_within_seconds(api, make_bot):
    bot, olga, anna = in_dialog(api, make_bot)
    failures = 4  # the old doubling backoff waited 8 s after the fourth; this one 2.2 s (and never over 5.5)
    api.fail_next("sendMessage", 502, "Bad Gateway", times=failures, html=True)
    api.fail_next("getUpdates", 502, "Bad Gateway", times=failures, html=True)
    api.send_text(anna, "во время сбоя 1")  # the held long poll brings this one; its relay meets the 502s
    api.wait_for(lambda: len([c for c in api.calls_to("getUpdates") if c.status == 502]) >= 1,
                 what="the poller to meet the 502s")
    api.send_text(anna, "во время сбоя 2")  # waits at Telegram until polling works again
    wait_text(api, olga, "во время сбоя 2", timeout=40)
    bot.wait_processed()

    for method in ("sendMessage", "getUpdates"):
        calls = api.calls_to(method)
        failed = [i for i, c in enumerate(calls) if c.status == 502]
        assert len(failed) == failures
        last_failure = calls[failed[-1]]
        next_success = next(c for c in calls[failed[-1] + 1:] if c.status == 200)
        gap = next_success.time - last_failure.time  # the fake's own clock
        assert gap < 5.0 * 1.1 + 0.5, f"{method}: {gap:.1f} s after the last 502"
    log = bot.output()
    assert log.count("Нет связи с Telegram при отправке") == 1 and log.count("Отправка снова работает") == 1
    assert log.count("Нет связи с Telegram (") == 1 and log.count("Связь с Telegram восстановлена") == 1


def test_a_backlog_to_one_operator_arrives_combined_complete_in_order_and_answerable(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="10", FLOOD_MAX_MESSAGES="100").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    customers = [api.user(600 + n, f"Покупатель{n}") for n in range(3)]
    for person in customers:
        api.send_text(person, "Здравствуйте")
    for person in customers:
        wait_text(api, olga, f"{person['first_name']} (#", count=2, timeout=20)  # notice and first text
    bot.wait_processed(timeout=20)
    before = len(api.bot_messages(olga["id"]))
    api.set_rate_limits(per_second=30, per_chat_per_second=1, per_chat_burst=3, global_burst=30)

    sent = {p["id"]: [f"{p['first_name']}: вопрос {i}" for i in range(15)] for p in customers}
    for i in range(15):
        for person in customers:
            api.send_text(person, sent[person["id"]][i])
    bot.wait_processed(timeout=40)
    backlog = api.bot_messages(olga["id"])[before:]
    assert len(backlog) <= 3 + 2 * len(customers), [m["text"] for m in backlog]  # 45 texts, one by one: 45
    assert api.count_429 == 0

    for person in customers:
        mine = [m for m in backlog if m["text"].startswith(person["first_name"] + " (#")]
        lines = [line for m in mine for line in m["text"].split("\n")[1:]]
        assert lines == sent[person["id"]]  # complete, each once, in order
        assert all(len(m["text"]) <= 4096 for m in mine)
        # A reply to any message the backlog arrived in reaches the customer it came from.
        for number, message in enumerate(mine):
            api.send_text(olga, f"ответ {person['first_name']} {number}", reply_to=message["message_id"])
    bot.wait_processed(timeout=40)
    for person in customers:
        got = [t for t in texts_in(api, person) if t.startswith("ответ ")]
        assert got and all(t.startswith(f"ответ {person['first_name']} ") for t in got), got
