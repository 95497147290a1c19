"""End to end: canned answers and a FAQ file broken while the process runs (the rest: test_shop_experience.py)."""
from __future__ import annotations

import shutil

from supportbot import texts
from supportbot.faq import load_faq
from tests.botproc import PROJECT_DIR
from tests.test_flow import login, texts_in, wait_text

FAQ = load_faq(PROJECT_DIR / "data" / "faq.csv")


def last_with(api, chat_id, fragment):
    return [m for m in api.bot_messages(chat_id) if fragment in (m.get("text") or "")][-1]


def test_canned_answers_and_a_broken_faq_file(api, make_bot, tmp_path):
    faq_copy = tmp_path / "faq.csv"
    shutil.copy(PROJECT_DIR / "data" / "faq.csv", faq_copy)
    bot = make_bot(FAQ_PATH=str(faq_copy)).start()
    olga = api.user(900, "Ольга")
    login(api, olga)
    anna = api.user(501, "Анна")
    api.send_text(anna, "Добрый день")
    wait_text(api, olga, "Добрый день")
    api.send_text(olga, "/faq")
    wait_text(api, olga, f"1. {FAQ[0].questions[0]}")
    api.send_text(olga, "/a 2")
    wait_text(api, anna, FAQ[1].answer[:30])
    api.send_text(olga, "/a")
    wait_text(api, olga, texts.CANNED_USAGE)

    faq_copy.write_text("question,answer\nтолько вопрос,\n", encoding="utf-8")
    wait_text(api, olga, "Файл FAQ не обновлён", timeout=15)
    api.send_text(olga, "/a 2")  # the last good FAQ is still in use
    wait_text(api, anna, FAQ[1].answer[:30], count=2)
    bot.wait_processed()
    assert len([t for t in texts_in(api, olga) if "Файл FAQ не обновлён" in t]) == 1
