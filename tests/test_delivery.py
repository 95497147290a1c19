"""Faults on the way in and out: outages, 5xx, 429, 403, 400, poison updates, 409, crashes."""
from __future__ import annotations

import random
import threading
import time

import pytest

from supportbot import texts
from tests.test_flow import login, relayed_texts, texts_in, wait_text


def test_outage_of_the_api_is_ridden_out_and_logged_once(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.set_down(True)
    for i in range(5):
        api.send_text(anna, f"пока нет связи {i}")
    api.wait_for(lambda: "Нет связи с Telegram" in bot.output(), what="the outage to be noticed")
    deadline = time.monotonic() + 3
    api.wait_for(lambda: time.monotonic() > deadline, timeout=5, what="a few seconds of outage")
    api.set_down(False)
    wait_text(api, olga, "пока нет связи 4", timeout=40)
    bot.wait_processed(timeout=40)
    assert relayed_texts(api, olga, "Анна (#1):") == [f"пока нет связи {i}" for i in range(5)]
    log = bot.output()
    assert log.count("Нет связи с Telegram (") == 1
    assert log.count("Связь с Telegram восстановлена") == 1


def test_server_errors_and_html_bodies_on_send_are_retried(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Вопрос")
    api.fail_next("copyMessage", 502, "Bad Gateway", times=2, html=True)
    api.send_text(olga, "Ответ несмотря на 502")
    wait_text(api, anna, "Ответ несмотря на 502", timeout=20)
    bot.wait_processed()
    assert texts_in(api, anna).count("Ответ несмотря на 502") == 1


def test_429_waits_exactly_retry_after_for_that_chat(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Вопрос")
    api.fail_next("copyMessage", 429, "Too Many Requests: retry after 2", retry_after=2, chat_id=501)
    for i in range(3):
        api.send_text(olga, f"ответ {i}")
    wait_text(api, anna, "ответ 2", timeout=20)
    copies = [c for c in api.calls_to("copyMessage") if c.params.get("chat_id") == "501"]
    limited, retried = copies[0], copies[1]
    assert limited.status == 429
    assert retried.time - limited.time >= 2.0
    assert [t for t in texts_in(api, anna) if t.startswith("ответ")] == ["ответ 0", "ответ 1", "ответ 2"]


def test_a_burst_over_the_limits_arrives_whole_in_order_with_few_429s(api, make_bot):
    bot = make_bot(SEND_RATE_PER_SECOND="25", AUTO_REPLY_COOLDOWN_MINUTES="0").start()
    api.set_rate_limits(per_second=30, per_chat_per_second=1, per_chat_burst=3, global_burst=30)
    people = [api.user(2000 + i, f"Покупатель{i}") for i in range(40)]
    for round_ in range(4):
        for person in people:
            api.send_text(person, f"сообщение {round_}")
    bot.wait_processed(timeout=120)
    for person in people:  # no operators: every message gets the no-operators reply
        assert texts_in(api, person) == [texts.NO_OPERATORS] * 4
    sends = api.calls_to("sendMessage")
    assert api.count_429 <= max(1, len(sends) // 100), f"{api.count_429} of {len(sends)} calls got 429"


def test_customer_who_blocked_the_bot_closes_the_dialog_on_403(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Новый клиент Анна")
    bot.wait_processed()
    api.block(501)  # 403 with no my_chat_member update yet
    api.send_text(olga, "Ответ, который не дойдёт")
    api.send_text(olga, "И этот тоже")
    wait_text(api, olga, "заблокировал бота")
    bot.wait_processed()
    assert bot.query("SELECT state, close_reason FROM dialogs")[0][:] == ("closed", "blocked")
    assert len([c for c in api.calls_to("copyMessage") if c.params.get("chat_id") == "501"]) == 1  # no retries
    ended = texts.DIALOG_ENDED["blocked"].format(who="Анна (#1)")
    assert [t for t in texts_in(api, olga) if t.startswith(ended)] == [ended + texts.CURRENT_CLEARED]


def test_a_message_that_cannot_be_copied_arrives_as_a_description(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вот опрос")
    api.send_media(anna, "poll")
    wait_text(api, olga, "[опрос: переслать не удалось]")


def test_a_failing_row_is_set_aside_without_blocking_the_rows_behind_it(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Вопрос")
    wait_text(api, olga, "Вопрос")
    api.fail_next("copyMessage", 400, "Bad Request: something unexpected", times=3, chat_id=501)
    api.send_text(olga, "первый")
    api.send_text(olga, "второй")
    wait_text(api, anna, "второй", timeout=20)
    wait_text(api, olga, "Не удалось доставить сообщение клиенту Анна (#1)")
    assert "первый" not in texts_in(api, anna)
    bot.wait_processed()
    assert bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")[0][0] == 1


def test_a_poison_update_is_set_aside_and_the_loop_goes_on(api, bot):
    olga = api.user(900, "Ольга")
    login(api, olga)
    poison = api.push_update({"message": {"message_id": 1, "chat": "not a chat", "date": "yesterday"}})
    anna = api.user(501, "Анна")
    api.send_text(anna, "После яда")
    wait_text(api, olga, "После яда")
    bot.wait_processed()
    dead = bot.query("SELECT update_id, error FROM dead_letters")
    assert [r["update_id"] for r in dead] == [poison]
    assert "отложено в таблицу dead_letters" in bot.output()


def test_conflict_with_another_poller_stops_the_bot(api, bot):
    api.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request; "
                                     "make sure that only one bot instance is running")
    api.send_text(api.user(501, "Анна"), "разбудить")
    assert bot.proc.wait(15) == 3
    assert "другая копия бота" in bot.output()


def test_sigterm_exits_within_five_seconds_and_keeps_the_outbox(api, make_bot):
    bot = make_bot(SEND_RATE_PER_SECOND="2").start()
    people = [api.user(3000 + i, f"П{i}") for i in range(12)]
    for person in people:
        api.send_text(person, "привет")
    api.wait_for(lambda: len(api.calls_to("sendMessage")) >= 2, what="sending to start")
    started = time.monotonic()
    assert bot.stop(timeout=10) == 0
    assert time.monotonic() - started < 5
    pending = bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0]
    assert pending > 0  # the rest waits in the outbox ...
    bot.start()
    bot.wait_processed(timeout=60)  # ... and goes out after the restart
    for person in people:
        assert texts_in(api, person) == [texts.NO_OPERATORS]


@pytest.mark.parametrize("seed", [1, 2])
def test_crashes_at_random_moments_lose_nothing_and_apply_nothing_twice(api, make_bot, seed):
    rng = random.Random(seed)
    # Per-chat pacing raised so that a few hundred relays to two operators take seconds, not minutes.
    bot = make_bot(**BUSY_SHOP).start()
    operators, customers = open_shop(api, bot)

    stop = threading.Event()
    kills = []

    def killer():
        while not stop.wait(rng.uniform(0.3, 1.2)):
            bot.kill()
            kills.append(time.monotonic())
            bot.start()

    talk = Talk(api, customers, operators)
    thread = threading.Thread(target=killer)
    thread.start()
    try:
        talk.rounds(range(20))
        for round_ in range(20, 200):  # on a loaded machine restarts are slow: go on until 3 kills happened
            if len(kills) >= 3:
                break
            talk.rounds([round_])
    finally:
        stop.set()
        thread.join()
    if bot.proc.poll() is not None:
        bot.start()
    bot.wait_processed(timeout=120)
    assert len(kills) >= 3
    duplicates = talk.check(bot)
    print(f"kills={len(kills)} duplicates={duplicates}")
    assert duplicates <= len(kills) * 4  # at most the calls in flight at each kill


BUSY_SHOP = {"OPERATOR_CHAT_LIMIT": "3", "SEND_RATE_PER_CHAT": "50", "FLOOD_MAX_MESSAGES": "1000"}


def open_shop(api, bot) -> tuple[list[dict], list[dict]]:
    """Two operators logged in, six customers who have written once (three dialogs each): (operators, customers)."""
    operators = [api.user(900, "Ольга"), api.user(901, "Павел")]
    login(api, operators[0], "1111")
    login(api, operators[1], "2222")
    customers = [api.user(5000 + i, f"К{i}") for i in range(6)]
    for c in customers:
        api.send_text(c, f"{c['first_name']} начало")
    bot.wait_processed()
    return operators, customers


class Talk:
    """Customers and operators writing at a human pace; afterwards, every transcript checked."""

    def __init__(self, api, customers, operators):
        self.api, self.customers, self.operators = api, customers, operators
        self.sent_by_customers = {c["id"]: [] for c in customers}
        self.sent_by_operators = []

    def rounds(self, numbers) -> None:
        """Each customer writes once and each operator answers once per round."""
        for round_ in numbers:
            for c in self.customers:
                text = f"{c['first_name']} #{round_}"
                self.api.send_text(c, text)
                self.sent_by_customers[c["id"]].append(text)
            for op in self.operators:
                message = self.api.send_text(op, f"{op['first_name']} ответ #{round_}")
                self.sent_by_operators.append((op["id"], message["message_id"]))
            time.sleep(0.25)  # people type at a human pace; the killer works meanwhile

    def check(self, bot) -> int:
        """Assert nothing was lost, reordered or applied twice; return how many messages arrived twice."""
        return _check_transcripts(self.api, bot, self.customers, self.operators, self.sent_by_customers,
                                  self.sent_by_operators)


def _check_transcripts(api, bot, customers, operators, sent_by_customers, sent_by_operators) -> int:
    duplicates = 0
    operator_texts = [t for op in operators for t in texts_in(api, op)]
    for customer_id, sent in sent_by_customers.items():
        # A backlog arrives combined (header once, then each text on its own line).
        relayed = [line for t in operator_texts if "\n" in t for line in t.split("\n")[1:] if line in sent]
        lost = set(sent) - set(relayed)
        debug = [dict(r) for r in bot.query(
            "SELECT m.id, m.relayed, m.suppressed, m.dialog_id, d.state, o.status, o.chat_id, o.payload FROM messages m"
            " JOIN dialogs d ON d.id = m.dialog_id LEFT JOIN outbox o ON o.message_id = m.id WHERE m.body IN (%s)"
            % ",".join("?" * len(lost)), tuple(lost))] if lost else []
        assert not lost, f"lost: {lost} {debug}"
        duplicates += len(relayed) - len(set(relayed))
        firsts = [relayed.index(t) for t in sent]
        assert firsts == sorted(firsts), "customer messages out of order"
        stored = bot.query("SELECT body FROM messages m JOIN customers c ON c.id = m.customer_id"
                           " WHERE c.tg_user_id = ? AND m.direction = 'in' ORDER BY m.id", (customer_id,))
        assert [r[0] for r in stored][1:] == sent  # each update applied exactly once, in order
    copies = {}
    for c in customers:
        for m in api.bot_messages(c["id"]):
            if m.get("copied_from"):
                copies.setdefault(tuple(m["copied_from"]), []).append(c["id"])
    answered = [key for key in sent_by_operators if key in copies]
    stored_out = bot.query("SELECT COUNT(*) FROM messages WHERE direction = 'out'")[0][0]
    assert len(answered) == stored_out  # every stored operator answer reached its customer
    duplicates += sum(len(v) - 1 for v in copies.values())
    refused = bot.query("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")[0][0]
    assert refused == 0
    return duplicates


def test_429_on_several_chats_at_once_pauses_all_sending(api, make_bot):
    # Two sends a second: the first two go out together, the third would follow half a second later.
    bot = make_bot(AUTO_REPLY_COOLDOWN_MINUTES="0", SEND_RATE_PER_SECOND="2").start()
    people = [api.user(4000 + i, f"Г{i}") for i in range(3)]
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, times=2)
    for person in people:
        api.send_text(person, "привет")
    bot.wait_processed(timeout=30)
    sends = [c for c in api.calls_to("sendMessage")]
    limited = [c for c in sends if c.status == 429]
    assert len(limited) == 2
    third = next(c for c in sends if c.params["chat_id"] not in {c.params["chat_id"] for c in limited})
    assert third.time - limited[-1].time >= 1.9  # everyone waited, not only the two limited chats
    for person in people:
        assert texts_in(api, person) == [texts.NO_OPERATORS]
