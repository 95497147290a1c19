"""End to end: seats changing hands, logging out, blocking, groups, restarts, bad settings."""
from __future__ import annotations

import pytest

from tests.botproc import BotProcess
from tests.databases import on_postgres
from tests.fakegram import FakeTelegram
from tests.test_flow import login, relayed_texts, texts_in, wait_text


def test_same_pin_from_another_account_takes_the_seat_with_its_dialogs(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Новый клиент Анна")
    pavel = api.user(901, "Павел")
    login(api, pavel, "1111")
    wait_text(api, olga, "В линию 1 вошли с другого аккаунта")
    api.send_text(pavel, "Ответ от Павла")
    wait_text(api, anna, "Ответ от Павла")
    api.send_text(olga, "Я ещё тут?")  # Ольга is a customer again now
    wait_text(api, pavel, "Новый клиент Ольга")
    bot.wait_processed()
    assert api.commands_for({"type": "chat", "chat_id": 900}) in (None, [])


def test_logout_hands_dialogs_to_another_operator_or_the_queue_head(api, bot):
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    anna, boris, vera, gleb = (api.user(501 + i, n) for i, n in enumerate(["Анна", "Борис", "Вера", "Глеб"]))
    api.send_text(anna, "Первая")
    wait_text(api, olga, "Новый клиент Анна")
    api.send_text(boris, "Второй")
    wait_text(api, olga, "Новый клиент Борис")
    api.send_text(vera, "Третья")
    wait_text(api, vera, "Вы в очереди: 1-й")
    login(api, pavel, "2222")
    wait_text(api, pavel, "Вам передан клиент Вера (#3)")

    api.send_text(olga, "/logout")
    wait_text(api, olga, "Вы вышли")
    wait_text(api, pavel, "Вам передан диалог с Анна (#1) от оператора Ольга")  # Павел had room for one
    wait_text(api, pavel, "История Анна (#1)")  # with the conversation so far
    api.send_text(gleb, "Четвёртый")
    wait_text(api, gleb, "Вы в очереди: 2-й")
    bot.wait_processed()
    order = bot.query("SELECT c.first_name FROM dialogs d JOIN customers c ON c.id = d.customer_id"
                      " WHERE d.state = 'queued' ORDER BY d.queue_pos")
    assert [r[0] for r in order] == ["Борис", "Глеб"]  # Борис went back to the head
    assert bot.query("SELECT COUNT(*) FROM dialogs WHERE state <> 'closed'")[0][0] == 4
    assert api.commands_for({"type": "chat", "chat_id": 900}) in (None, [])


def test_customer_who_blocks_the_bot_is_closed_and_the_operator_told(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Новый клиент Анна")
    api.block_bot(anna)
    wait_text(api, olga, "заблокировал бота")
    bot.wait_processed()
    assert bot.query("SELECT state FROM dialogs")[0][0] == "closed"
    assert bot.query("SELECT unreachable FROM customers")[0][0] == 1


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


@pytest.mark.skipif(on_postgres(), reason="on PostgreSQL a second copy waits as standby (tests/test_standby.py)")
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


@pytest.mark.skipif(on_postgres(), reason="on PostgreSQL the log is in the project's data folder, not the test's")
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


def test_a_changed_pin_logs_its_seat_out_at_the_next_start(api, make_bot):
    bot = make_bot().start()
    olga, pavel = api.user(900, "Ольга"), api.user(901, "Павел")
    login(api, olga, "1111")
    login(api, pavel, "2222")
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Новый клиент Анна")
    bot.wait_processed()
    assert bot.stop() == 0
    bot.env["OPERATOR_PINS"] = "9999,2222"  # Ольга left the shop; her PIN was replaced
    bot.start()
    wait_text(api, olga, "PIN-код вашей линии изменён")
    wait_text(api, pavel, "Анна (#1)")  # her customer is not lost: Павел takes her from the queue
    api.send_text(olga, "/history 1")
    bot.wait_processed()
    assert not any("История" in t for t in texts_in(api, olga))
    assert [r[0] for r in bot.query("SELECT tg_user_id FROM seats ORDER BY seat")] == [None, 901]


def test_a_raised_chat_limit_fills_the_seat_from_the_queue(api, make_bot):
    bot = make_bot(OPERATOR_CHAT_LIMIT="1").start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna, boris = api.user(501, "Анна"), api.user(502, "Борис")
    api.send_text(anna, "Первая")
    wait_text(api, olga, "Новый клиент Анна")
    api.send_text(boris, "Второй")
    wait_text(api, boris, "Вы в очереди: 1-й")
    assert bot.stop() == 0
    bot.env["OPERATOR_CHAT_LIMIT"] = "2"
    bot.start()
    wait_text(api, olga, "Вам передан клиент Борис (#2)")


def test_a_pin_glued_to_the_command_is_deleted_and_counted_like_any_try(api, bot):
    olga, pavel, mallory = api.user(900, "Ольга"), api.user(901, "Павел"), api.user(666, "Мэллори")
    login(api, olga, "1111")
    glued = api.send_text(pavel, "/operator2222")
    wait_text(api, pavel, "Вы вошли как оператор линии 2")
    api.wait_for(lambda: glued["message_id"] in api.deleted(901), what="the glued PIN deleted")
    for guess in range(5):
        api.send_text(mallory, f"/operator{7000 + guess}")
    wait_text(api, mallory, "Слишком много неверных попыток")
    api.send_text(mallory, "/track 1111")  # a PIN after another command is just a customer's message
    bot.wait_processed()
    assert bot.query("SELECT tg_user_id FROM seats WHERE seat = 1")[0][0] == 900
    assert len(api.deleted(666)) == 5
