"""End to end: groups, restarts of the real process, signals, settings, logs (seats: test_shop_flow.py)."""
from __future__ import annotations

import pytest

from tests.botproc import BotProcess
from tests.databases import on_postgres
from tests.fakegram import FakeTelegram
from tests.test_flow import login, relayed_texts, texts_in, wait_text


def test_groups_get_nothing_and_the_bot_leaves(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.add_bot_to_group(-100, anna)
    api.group_message(-100, anna, "Всем привет")
    api.wait_for(lambda: -100 in api.left_chats, what="the bot to leave the group")
    bot.wait_processed()
    assert api.bot_messages(-100) == []
    assert not any("Анна" in t for t in texts_in(api, olga))
    assert bot.query("SELECT COUNT(*) FROM customers")[0][0] == 0


def test_restart_in_the_middle_loses_nothing(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="1").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Первый вопрос")
    wait_text(api, olga, "Первый вопрос")
    api.send_text(boris, "Я жду")
    wait_text(api, boris, "Вы в очереди: 1-й")
    bot.wait_processed()
    bot.kill()

    api.send_text(anna, "Пока вас не было")
    api.send_text(boris, "Всё ещё жду")
    bot.start()
    wait_text(api, olga, "Пока вас не было")
    api.send_text(olga, "Ответ после перезапуска")  # still logged in, same current dialog
    wait_text(api, anna, "Ответ после перезапуска")
    api.send_text(olga, "/done")
    wait_text(api, olga, "Вам передан клиент Борис (#2)")
    bot.wait_processed()
    assert relayed_texts(api, olga, "Борис (#2):") == ["Я жду", "Всё ещё жду"]
    assert len([t for t in texts_in(api, boris) if "Вы в очереди: 1-й" in t]) == 1
    assert bot.stop() == 0


def test_sigterm_stops_cleanly(api, bot):
    assert bot.stop(timeout=5) == 0
    assert "supportbot stopped" in bot.output()


@pytest.mark.skipif(on_postgres(), reason="on PostgreSQL a second copy waits as standby (tests/test_standby.py); this runs in the SQLite pass")
def test_second_copy_on_the_same_database_is_refused(api, bot, make_bot):
    second = make_bot()
    assert second.run_to_exit() == 3
    assert "уже запущен" in second.output()


def test_bad_settings_stop_the_start_with_one_line(api, make_bot):
    for key, value in (("OPERATOR_PINS", "12"), ("TELEGRAM_BOT_TOKEN", ""), ("OPERATOR_CHAT_LIMIT", "много")):
        bot = make_bot(**{key: value})
        bot.log_path.unlink(missing_ok=True)
        assert bot.run_to_exit() == 2
        lines = bot.output().strip().splitlines()
        assert len(lines) == 1 and key in lines[0], lines
        assert "Traceback" not in bot.output()


@pytest.mark.skipif(on_postgres(), reason="on PostgreSQL the log is in the project's data folder, not the test's; this runs in the SQLite pass")
def test_logs_never_hold_the_token_and_hold_pins_and_messages_only_at_debug(tmp_path):
    with FakeTelegram(token="5555:AAH-secret-token-value") as api:
        _check_logs(api, tmp_path)


def _check_logs(api, tmp_path):
    for level in ("INFO", "DEBUG"):
        (tmp_path / level).mkdir()
        bot = BotProcess(tmp_path / level, api, LOG_LEVEL=level, OPERATOR_PINS="987654,2222").start()
        olga, anna = api.user(900, "Ольга"), api.user(501, "Анна")
        api.send_text(olga, "/operator 987654")
        api.send_text(olga, "/operator 111111")  # a wrong guess is not logged either
        api.send_text(anna, "мой секретный адрес Ленина 5")
        wait_text(api, olga, "мой секретный адрес", count=1 if level == "INFO" else 2)
        api.push_update({"message": {"message_id": 1, "chat": "секретный яд", "date": 0}})
        bot.wait_processed()
        assert bot.stop() == 0
        logged = bot.output() + (tmp_path / level / "logs" / "supportbot.log").read_text(encoding="utf-8")
        secret = api.token.split(":", 1)[1]
        assert secret not in logged
        if level == "INFO":
            assert "987654" not in logged and "111111" not in logged
            assert "секретный" not in logged
