"""The FAQ's three outcomes in the bot (issue 12): sure answers with feedback buttons, likely ones offered to the
operator in one tap, and both counted in /stats. In-process, through the real handlers."""
from __future__ import annotations

from supportbot import texts

SURE = "сколько стоит доставка"
LIKELY = "цена доставки по городу какая"  # the matcher is not sure enough to answer the customer itself


def _button(messages, label):
    return next(b for m in messages for b in m.buttons if b.label == label)


def _busy_shop(make_shop):
    """One operator whose only seat is taken, so that the next customer waits in the queue."""
    shop = make_shop(operator_chat_limit=1)
    olga = shop.operator("Ольга")
    olga.logs_in()
    shop.customer("Первый").says("здравствуйте")
    return shop, olga


def test_a_sure_answer_comes_with_two_buttons_and_helped_is_counted(make_shop):
    shop, olga = _busy_shop(make_shop)
    anna = shop.customer("Анна")
    anna.says(SURE)
    got = anna.receives()
    answer = [m for m in got if m.text and m.text.startswith(texts.FAQ_PREFIX.split("\n")[0])]
    assert len(answer) == 1 and [b.label for b in answer[0].buttons] == [texts.BUTTON_FAQ_HELPED,
                                                                          texts.BUTTON_FAQ_NOT_HELPED]
    helped = answer[0].buttons[0]
    assert anna.presses(helped) == texts.FAQ_HELPED_THANKS
    assert answer[0].buttons == []  # the buttons go away with the press
    assert anna.presses(helped) == texts.BUTTON_STALE  # and an old copy of them counts once
    olga.says("/stats")
    stats = olga.receives()[-1].text
    assert "ответов покупателям 1, «Помогло» 1, «Нет, нужен оператор» 0" in stats


def test_not_helped_keeps_the_place_and_tells_the_operator_which_answer(make_shop):
    shop, olga = _busy_shop(make_shop)
    anna = shop.customer("Анна")
    anna.says(SURE)
    place = shop.view().queue.index(anna.id)
    button = _button(anna.receives(), texts.BUTTON_FAQ_NOT_HELPED)
    assert anna.presses(button) == texts.FAQ_NOT_HELPED_OK
    assert shop.view().queue.index(anna.id) == place
    olga.says("/done")
    olga.says("/next") if anna.id in shop.view().queue else None
    relayed = [m.text for m in olga.receives() if m.text and "не помог" in m.text]
    assert len(relayed) == 1 and "Сколько стоит доставка?" in relayed[0]
    olga.says("/stats")
    assert "«Нет, нужен оператор» 1 (100%)" in olga.receives()[-1].text


def test_a_likely_answer_is_not_sent_to_the_customer_but_offered_to_the_operator(make_shop):
    shop = make_shop()
    olga = shop.operator("Ольга")
    olga.logs_in()
    anna = shop.customer("Анна")
    anna.says(LIKELY)
    assert not [m for m in anna.receives() if m.text and texts.FAQ_PREFIX.split("\n")[0] in m.text]
    offer = [m for m in olga.receives() if m.text and m.text.startswith("💡")]
    assert len(offer) == 1 and "Сколько стоит доставка?" in offer[0].text
    send = offer[0].buttons[0]
    assert "отправлен" in olga.presses(send)
    delivered = anna.receives()
    assert any(m.text and "300 ₽" in m.text for m in delivered)
    assert any(direction == "out" and "300 ₽" in (body or "") for direction, body in shop.history_of(anna))
    assert olga.presses(send) == texts.BUTTON_STALE  # the button went away with the press
    olga.says("/stats")
    assert "подсказок операторам 1, отправлено по кнопке 1" in olga.receives()[-1].text


def test_an_offer_for_another_operators_customer_is_stale(make_shop):
    shop = make_shop()
    olga, pavel = shop.operator("Ольга"), shop.operator("Павел")
    olga.logs_in("1111")
    anna = shop.customer("Анна")
    anna.says(LIKELY)
    send = _button(olga.receives(), texts.BUTTON_FAQ_SEND.format(number=1))
    pavel.logs_in("2222")
    assert pavel.presses(send.data, None) == texts.BUTTON_STALE
    assert not [m for m in anna.receives() if m.text and "300 ₽" in m.text]
