"""The everyday flow and seats changing hands, in-process (tests/harness.py): milliseconds, not seconds.

Moved here from the end-to-end tests (test_flow.py, test_sessions.py); what needs the real process
(delivery, HTTP shapes, signals, restarts of the process, logs) stayed there.
"""
from __future__ import annotations

from supportbot import texts


def test_waiting_customer_is_stored_and_reaches_the_operator_in_order(shop):
    anna = shop.customer("Анна", username="anna")
    anna.says("Добрый день")
    anna.sends_photo(caption="вот фото")
    anna.says("Вы тут?")
    assert anna.texts() == [texts.NO_OPERATORS]  # one auto-reply per cooldown

    olga = shop.on_line("Ольга")
    relayed = [m for m in olga.chat() if "Анна" in (m.text or "")]
    assert "Анна @anna (#1)" in relayed[0].text
    assert [m.lines[-1] for m in relayed[1:]] == ["Добрый день", "вот фото", "Вы тут?"]
    assert relayed[2].kind == "photo" and relayed[2].copied_from[0] == anna.id
    assert anna.texts()[-1] == texts.OPERATOR_JOINED.format(name="Ольга")


def test_operator_login_deletes_the_pin_and_locks_out_guessers(shop):
    olga = shop.operator("Ольга")
    pin_message = olga.logs_in("1111")
    assert olga.has("Вы вошли как оператор линии 1")
    assert pin_message.message_id in olga.deleted()
    assert shop.telegram.commands.get(("chat", olga.id))

    mallory = shop.customer("Мэллори")
    for attempt in range(5):
        mallory.says(f"/operator 999{attempt}")
    assert mallory.has("Слишком много неверных попыток")
    mallory.says("/operator 2222")  # the right PIN, but locked out
    assert mallory.has("Слишком много неверных попыток", count=2)
    assert len(mallory.deleted()) == 6
    assert not mallory.has("Вы вошли")
    assert mallory.texts()[0] == texts.LOGIN_WRONG.format(left=4)
    assert mallory.id not in shop.view().operators


def test_operator_without_a_current_dialog_is_told_and_nothing_is_sent(shop):
    olga = shop.on_line("Ольга")
    olga.says("Привет всем")
    assert olga.has(texts.HELD_NONE)
    assert [c.chat_id for c in shop.telegram.changes if c.what == "sent"] == [olga.id] * len(olga.chat())


def test_full_operators_queue_then_done_hands_over_the_next(shop):
    olga = shop.on_line("Ольга")
    customers = [shop.customer(f"Клиент{i}", user_id=600 + i) for i in range(4)]
    for c in customers:
        c.says("Сколько стоит доставка?")
    assert customers[3].has("Вы в очереди: 2-й")
    assert customers[2].has("Вы в очереди: 1-й")
    assert customers[2].has("Возможно, это ответ на ваш вопрос")  # the FAQ while waiting

    olga.says("/next")
    assert olga.has("лимит")
    olga.says("/done")  # current: the first one, a later assignment does not switch it
    assert olga.has("Диалог с Клиент0 (#1) завершён")
    assert customers[0].has(texts.CLOSED)
    assert olga.has("Вам передан клиент Клиент2 (#3) из очереди")
    assert customers[2].has("К вам подключился оператор Ольга")

    customers[0].says("Ещё вопрос")  # a new dialog after /done
    assert customers[0].has("Вы в очереди: 2-й")


def test_use_switches_dialogs_and_takes_queued_customers_out_of_turn(shop):
    olga = shop.on_line("Ольга")
    a, b, c, d = (shop.customer(n, user_id=700 + i) for i, n in enumerate(["Аня", "Боря", "Вера", "Гоша"]))
    for person in (a, b, c, d):
        person.says("Здравствуйте")
    assert d.has("Вы в очереди: 2-й")
    olga.says("/use 1")
    assert olga.has("Текущий диалог: Аня (#1)")
    olga.says("Ответ Ане")
    assert a.has("Ответ Ане") and not b.has("Ответ Ане")

    olga.says("/use 4")
    assert olga.has("лимит")
    olga.says("/done 1")
    assert olga.has("Вам передан клиент Вера (#3)")
    assert olga.has("Текущий диалог: Боря (#2)")  # the one left when she closed hers; Вера does not cut in
    olga.says("/done 3")
    assert olga.has("Диалог с Вера (#3) завершён")
    olga.says("/use 4")
    assert olga.has("Вам передан клиент Гоша (#4)")
    olga.says("Гоше")  # taken on purpose: now the current dialog
    assert d.has("Гоше")
    olga.says(f"/use {b.id}")  # the Telegram id works as well
    assert olga.has("Текущий диалог: Боря (#2)")
    for bad in ("/use", "/use abc", "/use 1 2", "/history", "/history 1 500", "/done x"):
        olga.says(bad)
    assert olga.has("Использование", count=6)
    olga.says("/use 99")
    assert olga.has("Клиент 99 не найден")


def test_history_is_for_operators_only_and_splits_long_output(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("очень длинно " * 400)  # ~5200 characters
    anna.sends("voice")
    olga.says("Отвечаю")
    assert anna.has("Отвечаю")
    olga.receives()
    olga.says("/history 1 50")
    pieces = [m.text for m in olga.receives()]
    assert pieces[0].startswith("История Анна (#1)")
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) >= 2
    joined = "\n".join(pieces)
    assert "[голосовое сообщение]" in joined and "Ольга: Отвечаю" in joined
    assert joined.index("Анна (клиент)") < joined.index("Ольга: Отвечаю")

    boris = shop.customer("Борис")
    boris.says("/history 1")
    boris.says("/frobnicate 1")
    # To a customer both are the same: ordinary messages for the operator, nothing revealed.
    assert boris.texts() == [texts.OPERATOR_JOINED.format(name="Ольга")]
    assert [t for t in olga.texts() if t.startswith("Борис (#2):")] == ["Борис (#2):\n/history 1",
                                                                         "Борис (#2):\n/frobnicate 1"]
    assert shop.history_of(boris) == [("in", "/history 1"), ("bot", texts.OPERATOR_JOINED.format(name="Ольга")),
                                      ("in", "/frobnicate 1")]


# --- seats changing hands ---------------------------------------------------------------------------------

def test_same_pin_from_another_account_takes_the_seat_with_its_dialogs(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Вопрос")
    assert olga.has("Новый клиент Анна")
    pavel = shop.on_line("Павел", "1111")
    assert olga.has("В линию 1 вошли с другого аккаунта")
    pavel.says("Ответ от Павла")
    assert anna.has("Ответ от Павла")
    olga.says("Я ещё тут?")  # Ольга is a customer again now
    assert pavel.has("Новый клиент Ольга")
    assert not shop.telegram.commands.get(("chat", olga.id))


def test_logout_hands_dialogs_to_another_operator_or_the_queue_head(shop):
    olga = shop.on_line("Ольга")
    pavel = shop.operator("Павел")
    anna, boris, vera, gleb = (shop.customer(n) for n in ["Анна", "Борис", "Вера", "Глеб"])
    anna.says("Первая")
    boris.says("Второй")
    vera.says("Третья")
    assert vera.has("Вы в очереди: 1-й")
    pavel.logs_in("2222")
    assert pavel.has("Вам передан клиент Вера (#3)")

    olga.logs_out()
    assert olga.has("Вы вышли")
    assert pavel.has("Вам передан диалог с Анна (#1) от оператора Ольга")  # Павел had room for one
    assert pavel.has("История Анна (#1)")  # with the conversation so far
    gleb.says("Четвёртый")
    assert gleb.has("Вы в очереди: 2-й")
    view = shop.view()
    assert view.queue == (boris.id, gleb.id)  # Борис went back to the head
    assert len(view.dialogs) == 4
    assert not shop.telegram.commands.get(("chat", olga.id))


def test_customer_who_blocks_the_bot_is_closed_and_the_operator_told(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Вопрос")
    anna.blocks()
    assert olga.has("заблокировал бота")
    assert shop.view().dialogs == {}


def test_a_changed_pin_logs_its_seat_out_at_the_next_start(shop):
    olga = shop.on_line("Ольга", "1111")
    pavel = shop.on_line("Павел", "2222")
    anna = shop.customer("Анна")
    anna.says("Вопрос")
    assert olga.has("Новый клиент Анна")
    shop.restart(pins=("9999", "2222"))  # Ольга left the shop; her PIN was replaced
    assert olga.has("PIN-код вашей линии изменён")
    shop.tick()
    assert pavel.has("Анна (#1)")  # her customer is not lost: Павел takes her from the queue
    olga.receives()
    olga.says("/history 1")
    assert not any("История" in m.text for m in olga.receives())
    assert shop.view().operators == {pavel.id: 2}


def test_a_raised_chat_limit_fills_the_seat_from_the_queue(make_shop):
    shop = make_shop(pins=("1111", "2222"), operator_chat_limit=1)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Первая")
    boris.says("Второй")
    assert boris.has("Вы в очереди: 1-й")
    shop.restart(operator_chat_limit=2)
    shop.tick()
    assert olga.has("Вам передан клиент Борис (#2)")


def test_a_pin_glued_to_the_command_is_deleted_and_counted_like_any_try(shop):
    olga = shop.on_line("Ольга", "1111")
    pavel = shop.operator("Павел")
    glued = pavel.says("/operator2222")
    assert pavel.has("Вы вошли как оператор линии 2")
    assert glued.message_id in pavel.deleted()
    mallory = shop.customer("Мэллори")
    for guess in range(5):
        mallory.says(f"/operator{7000 + guess}")
    assert mallory.has("Слишком много неверных попыток")
    mallory.says("/track 1111")  # a PIN after another command is just a customer's message
    assert shop.view().operators[olga.id] == 1
    assert len(mallory.deleted()) == 5


def test_an_owner_trying_the_bot_alone_is_never_handed_their_own_dialog(shop):
    owner = shop.customer("Владелец", user_id=777)
    owner.says("проверка: есть зонты?")
    assert shop.view().queue == (777,)
    owner_on_line = shop.operator("Владелец", user_id=777)
    owner_on_line.logs_in("1111")
    assert owner_on_line.has("Ваш собственный диалог покупателя (#1) закрыт")
    assert shop.view().dialogs == {} and shop.view().current == {777: None}
    assert not owner.has(texts.RATE_PROMPT)  # nobody thanks or asks them to rate a dialog they closed themselves


def test_a_customer_who_logs_in_as_operator_leaves_their_operator_told(shop):
    olga = shop.on_line("Ольга", "1111")
    anna = shop.customer("Анна", user_id=555)
    anna.says("вопрос")
    assert shop.view().dialogs == {555: ("active", 1)}
    shop.operator("Анна", user_id=555).logs_in("2222")
    assert olga.has("сам вошёл как оператор. Его диалог закрыт.")
    assert shop.view().dialogs == {} and shop.view().loads == {1: 0, 2: 0}
