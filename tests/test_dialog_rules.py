"""Issue 10's rules, one plain test each, in-process (tests/harness.py): who receives what, what is stored.

Each was written against the code before issue 10 and failed there. Where the issue leaves the wording open,
they check behaviour (who receives what, what is stored), not Russian text.
"""
from __future__ import annotations

import re
import sqlite3

import pytest

from supportbot import texts
from tests.harness import commit_fails_inside


def got(person) -> list[str]:
    """Texts (or captions) delivered to a person since the last look."""
    return [m.text or "" for m in person.receives()]


def mentions(messages: list[str], fragment: str) -> bool:
    return any(fragment in m for m in messages)


@pytest.fixture
def one_seat(make_shop):
    """A shop whose operators hold one dialog each: the second customer waits in the queue."""
    return make_shop(operator_chat_limit=1)


def olga_with_anna_then_boris(shop, anna_says="Какой код домофона?", boris_says="У меня вопрос про возврат"):
    """Ольга on line; Анна writes first, then Борис."""
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says(anna_says)
    boris.says(boris_says)
    return olga, anna, boris


def olga_answering_anna_with_boris_waiting(shop):
    olga, anna, boris = olga_with_anna_then_boris(shop)
    olga.says("Анна, минутку, смотрю")
    assert mentions(got(anna), "Анна, минутку")
    got(olga), got(boris)
    return olga, anna, boris


# --- 1. The current dialog changes only by the operator's own action ----------------------------------------

def test_a_customer_blocking_the_bot_does_not_hand_the_operators_next_words_to_someone_else(one_seat):
    olga, anna, boris = olga_answering_anna_with_boris_waiting(one_seat)
    anna.blocks()
    told = got(olga)
    assert mentions(told, "Анна")  # whose dialog ended
    olga.says("Анна, код домофона 4242")
    assert not mentions(got(boris), "4242")
    assert got(olga), "the operator gets the unsent message back"


def test_after_a_dialog_ends_for_another_reason_nothing_is_current_until_the_operator_chooses(one_seat):
    olga, anna, boris = olga_answering_anna_with_boris_waiting(one_seat)
    anna.blocks()
    assert one_seat.view().dialogs[boris.id] == ("active", 1), "Борис is assigned to Ольга's free place"
    assert one_seat.view().current[olga.id] is None
    olga.says(f"/use {boris.id}")
    assert one_seat.view().current[olga.id] == boris.id


def test_a_colleagues_ban_does_not_hand_the_operators_next_words_to_someone_else(shop):
    olga, anna, boris = olga_with_anna_then_boris(shop)
    pavel = shop.operator("Павел")
    olga.says("Анна, минутку")
    pavel.logs_in("2222")
    pavel.says(f"/ban {anna.id}")
    assert mentions(got(olga), "Анна"), "the operator is told whose dialog ended"
    olga.says("Анна, код домофона 4242")
    assert not mentions(got(boris), "4242")


def test_a_403_does_not_hand_the_operators_next_words_to_someone_else(one_seat):
    olga, anna, boris = olga_answering_anna_with_boris_waiting(one_seat)
    one_seat.delivery_fails_403(anna)
    olga.says("Анна, проверяю заказ")  # this send gets 403: Anna's dialog ends
    assert mentions(got(olga), "Анна")
    olga.says("Анна, код домофона 4242")
    assert not mentions(got(boris), "4242")


def test_the_operator_is_told_whose_dialog_a_colleague_ended_by_ban(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Здравствуйте")
    got(olga)
    shop.on_line("Павел", "2222").says(f"/ban {anna.id}")
    assert mentions(got(olga), "Анна")


def test_a_held_message_comes_back_with_a_button_per_open_dialog(make_shop):
    shop = make_shop(operator_chat_limit=2)
    olga, anna, boris = olga_answering_anna_with_boris_waiting(shop)
    vera = shop.customer("Вера")
    vera.says("Добрый день")
    anna.blocks()
    got(olga)
    olga.says("Скидка 15% по коду VESNA")
    back = [m for m in olga.receives() if m.buttons]
    assert back, "the held message comes back with buttons"
    labels = [b.label for b in back[-1].buttons]
    assert any("Борис" in label for label in labels) and any("Вера" in label for label in labels)
    to_boris = next(b for b in back[-1].buttons if "Борис" in b.label)
    olga.presses(to_boris)
    assert mentions(got(boris), "VESNA")
    assert not mentions(got(vera), "VESNA")


def test_a_new_customer_does_not_take_over_the_current_dialog(make_shop):
    shop = make_shop(operator_chat_limit=2)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    anna.says("Здравствуйте")
    olga.says("Здравствуйте, Анна")  # Анна is current
    boris.says("Можно вопрос?")
    olga.says("Анна, ваш заказ готов")
    assert mentions(got(anna), "ваш заказ готов")
    assert not mentions(got(boris), "ваш заказ готов")


def test_use_and_next_change_the_current_dialog(make_shop):
    olga, anna, boris = olga_with_anna_then_boris(make_shop(operator_chat_limit=2))
    olga.says(f"/use {boris.id}")
    olga.says("Борис, слушаю")
    assert mentions(got(boris), "Борис, слушаю")
    assert not mentions(got(anna), "Борис, слушаю")


def test_a_reply_reaches_the_customer_replied_to_whatever_is_current(make_shop):
    olga, anna, boris = olga_with_anna_then_boris(make_shop(operator_chat_limit=2), boris_says="Где мой заказ?")
    relay = next(m for m in olga.receives() if "Где мой заказ?" in m)
    olga.replies_to(relay, "Борис, заказ в пути")
    assert mentions(got(boris), "заказ в пути")
    assert not mentions(got(anna), "заказ в пути")


# --- 2. Edits count only from an account logged in now, in an open dialog -------------------------------

def olga_answered_anna(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Куда платить?")
    answer = olga.says("Оплата при получении")
    copy = next(m for m in anna.receives() if "Оплата при получении" in m)
    return olga, anna, answer, copy


def test_a_logged_in_operator_edits_the_customers_copy(shop):
    olga, anna, answer, copy = olga_answered_anna(shop)
    olga.edits(answer, "Оплата картой при получении")
    assert copy.text == "Оплата картой при получении"


FORGED = "Переведите 5000 руб на карту 2200 0000 0000 0000"


@pytest.mark.parametrize("ending", ["/logout", "/done"])
def test_an_edit_after_logout_or_in_a_closed_dialog_does_not_reach_the_customer(shop, ending):
    olga, anna, answer, copy = olga_answered_anna(shop)
    olga.says(ending)
    got(olga)
    olga.edits(answer, FORGED)
    assert copy.text == "Оплата при получении"
    assert got(olga), "the operator is told the edit was not sent"


def test_after_a_takeover_the_old_account_cannot_edit(shop):
    olga, anna, answer, copy = olga_answered_anna(shop)
    shop.on_line("Мэллори", "1111")
    olga.edits(answer, FORGED)
    assert copy.text == "Оплата при получении"


# --- 3. PINs ---------------------------------------------------------------------------------------------

def test_wrong_pins_are_bounded_across_accounts(shop):
    olga = shop.on_line("Ольга")
    got(olga)
    guessers = [shop.customer(f"Гость{n}", user_id=8_000_000 + n) for n in range(10)]
    for n, guesser in enumerate(guessers):
        for k in range(5):
            guesser.says(f"/operator {5000 + n * 5 + k}")
    warnings = got(olga)
    assert len(warnings) == 1, "operators on line are told once"
    eleventh = shop.customer("Гость11", user_id=8_000_011)
    eleventh.says("/operator 2222")
    assert 8_000_011 not in shop.view().operators, "an account that never held a seat cannot log in this hour"
    shop.tick(3601)
    eleventh.says("/operator 2222")
    assert 8_000_011 in shop.view().operators


def test_an_account_that_held_a_seat_can_log_in_during_a_guessing_storm(shop):
    pavel = shop.operator("Павел")
    pavel.logs_in("2222")
    pavel.logs_out()
    for n in range(10):
        guesser = shop.customer(f"Гость{n}", user_id=8_000_000 + n)
        for k in range(5):
            guesser.says(f"/operator {5000 + n * 5 + k}")
    stranger = shop.customer("Гость11", user_id=8_000_011)
    stranger.says("/operator 1111")
    pavel.logs_in("2222")
    assert set(shop.view().operators) == {pavel.id}


@pytest.mark.parametrize("typo", ["/оperator {pin}", "/operator: {pin}", "/operator-{pin}", "/ operator {pin}",
                                  "operator {pin}"])
def test_a_mistyped_login_is_deleted_counted_and_never_relayed_or_stored(shop, typo):
    olga = shop.on_line("Ольга")
    mallory = shop.customer("Мэллори")
    attempt = mallory.says(typo.format(pin="2222"))
    assert attempt.message_id in mallory.deleted()
    assert not any("2222" in t for t in olga.texts())
    assert not any("2222" in t for t in shop.stored_texts())


def test_mistyped_logins_count_toward_the_lockout(shop):
    mallory = shop.customer("Мэллори")
    for n in range(5):
        mallory.says(f"/оperator 900{n}")  # a Cyrillic «о»
    mallory.says("/operator 2222")
    assert mallory.id not in shop.view().operators


def test_a_logged_in_operators_glued_pin_is_deleted(shop):
    olga = shop.on_line("Ольга")
    glued = olga.says("/operator1111")
    assert glued.message_id in olga.deleted()


def test_a_glued_pin_logs_in_and_is_deleted(shop):
    pavel = shop.operator("Павел")
    glued = pavel.says("/operator2222")
    assert glued.message_id in pavel.deleted()
    assert shop.view().operators == {pavel.id: 2}


# --- 4. Nothing withheld silently ------------------------------------------------------------------------

def relayed_lines(operator) -> list[str]:
    return [line for t in operator.texts() for line in t.split("\n")]


def flood_limit_three(make_shop):
    """A shop relaying at most 3 messages a minute per customer; Ольга on line, Анна a customer."""
    shop = make_shop(flood_max_messages=3)
    return shop, shop.on_line("Ольга"), shop.customer("Анна")


def a_minute_later(shop):
    shop.tick(61)
    shop.tick(61)


def test_a_flood_is_held_then_relayed_in_one_message_with_the_count(make_shop):
    shop, olga, anna = flood_limit_three(make_shop)
    for n in range(3):
        anna.says(f"сообщение номер{n}")
    got(anna)
    for n in range(3, 7):
        anna.says(f"сообщение номер{n}")
    assert len(got(anna)) == 1, "the customer is told once"
    assert [line for line in relayed_lines(olga) if "номер" in line] == [f"сообщение номер{n}" for n in range(3)]
    got(olga)
    a_minute_later(shop)
    later = [t for t in got(olga) if "номер" in t]
    assert len(later) == 1, "the held messages come combined in one message"
    assert all(f"номер{n}" in later[0] for n in range(3, 7)) and "4" in later[0]


def test_an_album_crossing_the_flood_limit_is_not_split(make_shop):
    shop, olga, anna = flood_limit_three(make_shop)
    anna.says("первое")
    anna.says("второе")
    anna.sends_album(3, ["альбом1", "альбом2", "альбом3"])
    shop.tick(2)
    seen = {n for n in (1, 2, 3) if any(f"альбом{n}" in t for t in olga.texts())}
    assert seen in (set(), {1, 2, 3})
    a_minute_later(shop)
    assert all(any(f"альбом{n}" in t for t in olga.texts()) for n in (1, 2, 3))


def test_edits_count_toward_the_limit_and_superseded_edits_are_not_relayed(make_shop):
    shop, olga, anna = flood_limit_three(make_shop)
    first = anna.says("правка0")
    for n in range(1, 8):
        anna.edits(first, f"правка{n}")
    early = [n for n in range(8) if any(f"правка{n}" in t for t in olga.texts())]
    assert len(early) <= 3, "edits count toward the limit"
    a_minute_later(shop)
    assert any("правка7" in t for t in olga.texts()), "the newest edit arrives"
    assert not any(f"правка{n}" in t for t in olga.texts() for n in range(4, 7)), "superseded edits are dropped"


# --- 5. Every relayed item names its customer --------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sticker", "location", "contact", "venue", "dice", "poll", "video_note"])
def test_content_without_a_caption_is_preceded_by_the_customers_name(make_shop, kind):
    shop = make_shop(operator_chat_limit=2)
    olga = shop.on_line("Ольга")
    anna, boris = shop.customer("Анна"), shop.customer("Борис")
    boris.says("Здравствуйте")
    anna.says("Здравствуйте")
    got(olga)
    anna.sends(kind)
    received = olga.receives()
    copy_at = next(i for i, m in enumerate(received) if m.copied_from == (anna.id, anna_last(shop, anna)))
    named = [m for m in received[:copy_at] if "Анна" in m] + [
        m for m in received if m.reply_to == received[copy_at].message_id and "Анна" in m]
    assert named, "the header comes before the copy or as a reply to it"


def anna_last(shop, anna) -> int:
    return max(m.message_id for m in shop.telegram.chats[anna.id].values() if not m.from_bot)


def test_a_photo_carries_the_customers_name_in_its_caption(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.sends_photo(caption="вот чек")
    photo = next(m for m in olga.receives() if m.kind == "photo")
    assert photo.lines == ["Анна (#1):", "вот чек"]


def test_a_caption_too_long_for_a_copy_is_sent_as_text_after_it(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    caption = "очень подробно " * 100  # 1500 characters: only Premium users can send it
    anna.sends_photo(caption=caption)
    received = olga.receives()
    photos = [i for i, m in enumerate(received) if m.kind == "photo"]
    assert photos, "the photo reaches the operator"
    after = " ".join(m.text or "" for m in received[photos[0] + 1:])
    assert caption.strip()[:200] in after and "Анна" in " ".join(m.text or "" for m in received)
    assert not shop.outbox_failures


def test_a_stand_in_for_content_that_cannot_be_copied_names_the_kind_in_russian(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    shop.telegram.uncopyable.add("poll")
    anna.sends("poll")
    texts_ = got(olga)
    assert any("Анна" in t and "опрос" in t for t in texts_)


# --- 6. History cannot be forged ---------------------------------------------------------------------------

NOTE_LINE = re.compile(r"^\[\d\d\.\d\d \d\d:\d\d\] .*\(заметка\):")


def test_customer_text_in_history_cannot_pass_for_a_note(shop):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("спасибо\n[01.12 10:00] Вера (заметка): клиент проверен, вернуть 15000 без чека")
    olga.says(f"/note {anna.id} звонила, ждёт курьера")
    got(olga)
    olga.says(f"/history {anna.id}")
    lines = [line for t in got(olga) for line in t.split("\n")]
    notes = [line for line in lines if NOTE_LINE.match(line)]
    assert len(notes) == 1 and "ждёт курьера" in notes[0]
    entries = [line for line in lines if re.match(r"^\[\d\d\.\d\d \d\d:\d\d\] ", line)]
    assert len(entries) == len(shop.history_of(anna)), "one line start per stored entry"


# --- 7. Numbers out of range --------------------------------------------------------------------------------

HUGE = [2**63, 10**20]
COMMANDS = ["/history {n}", "/use {n}", "/done {n}", "/ban {n}", "/unban {n}", "/note {n} текст", "/transfer {n} 2",
            "/history 1 {n}"]


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_huge_id_gets_an_answer_not_a_dead_letter(shop, command, number, request):
    olga = shop.on_line("Ольга")
    shop.operator("Павел").logs_in("2222")  # so that /transfer looks the customer up
    shop.customer("Анна").says("Здравствуйте")
    got(olga)
    olga.says(command.format(n=number))
    assert got(olga), "the operator gets an answer"
    assert not shop.failures and not shop.dead_letters()


@pytest.mark.parametrize("data", ["rate:12345678901234567890:5", "rate:1:12345678901234567890",
                                  "pick:12345678901234567890", "end:12345678901234567890",
                                  "hist:12345678901234567890", "faq:12345678901234567890:1"])
def test_a_button_with_a_huge_number_is_stale(shop, data, request):
    olga = shop.on_line("Ольга")
    anna = shop.customer("Анна")
    anna.says("Здравствуйте")
    presser = anna if data.startswith(("rate", "faq")) else olga
    answer = presser.presses(data, presser.chat()[-1])
    assert answer in (texts.BUTTON_STALE, texts.FAQ_STALE)
    assert not shop.failures and not shop.dead_letters()


# --- a failed COMMIT ----------------------------------------------------------------------------------------

def test_a_failed_commit_is_rolled_back_and_the_next_transaction_works(shop):
    with pytest.raises(sqlite3.DatabaseError):
        with shop.storage.transaction() as tx:
            commit_fails_inside(tx)
    anna = shop.customer("Анна")
    anna.says("Здравствуйте")  # a later batch commits as usual
    assert not shop.failures
    assert shop.history_of(anna) and shop.history_of(anna)[0] == ("in", "Здравствуйте")
