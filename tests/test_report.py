"""The daily report at REPORT_TIME and /report, in-process through the real handlers' tick."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from supportbot import core
from supportbot.config import ConfigError, load_config

UTC = timezone.utc


def at(hour, minute=0, second=0, day=1):
    return datetime(2025, 12, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize("now, last, due", [
    (at(19, 59, 59), None, False),
    (at(20, 0), None, True),
    (at(20, 0), "2025-12-01", False),
    (at(20, 0), "2025-11-30", True),
    (at(22, 59), None, True),
    (at(23, 1), None, False),  # started long after: no stale report
])
def test_report_due(now, last, due):
    assert core.report_due(now, (20, 0), last) is due


def test_period_bounds():
    now = at(15, 30)
    assert core.period_bounds("today", now) == (at(0).timestamp(), now.timestamp())
    assert core.period_bounds("yesterday", now) == (at(0, day=30).replace(month=11).timestamp(), at(0).timestamp())
    assert core.period_bounds("week", now)[0] == datetime(2025, 11, 25, tzinfo=UTC).timestamp()


def test_report_figures_count_only_the_period_and_find_the_longest_wait():
    facts = [core.DialogFacts("Ольга", 100, 160, 200, 300, 5), core.DialogFacts("Иван", 110, 410, None, None, None),
             core.DialogFacts("Ольга", 50, 60, 70, 80, 1)]
    figures = core.report_figures(facts, 100, 1000)
    assert figures.total.opened == 2 and figures.wait_max == 300
    assert [line.who for line in figures.operators] == ["Иван", "Ольга"]


def test_the_report_goes_out_once_at_report_time_to_operators_and_the_owner(make_shop):
    start = at(19, 58).timestamp()
    shop = make_shop(report_time=(20, 0), report_chat_ids=(555,), timezone=UTC, start=start)
    owner = shop.customer("Владелец", user_id=555)
    owner.says("/start")
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    anna = shop.customer("Анна")
    anna.says("Продаёте ли вы велосипеды для взрослых?")
    shop.advance(90)
    olga.says("Отправлен вчера")
    olga.says("/done")
    boris = shop.customer("Борис")
    boris.says("Добрый день")  # goes to Olga and stays unanswered
    olga.receives()
    owner.receives()
    shop.tick(1)
    assert not [m for m in olga.receives() if "Отчёт" in (m.text or "")]  # 19:59:31: not yet
    shop.tick(30)  # 20:00:01
    report = [m.text for m in olga.receives() if "Отчёт за сегодня" in (m.text or "")]
    assert len(report) == 1, olga.texts()
    text = report[0]
    assert "Новых диалогов: 2, завершено: 1" in text
    assert "без ответа оператора: 1" in text and "Ольга: диалогов 2" in text
    assert "«Продаёте ли вы велосипеды для взрослых?» ×1" in text
    assert [m.text for m in owner.receives()] == [text]
    shop.tick(60)
    shop.restart()
    shop.tick(1)
    assert not [m for m in olga.receives() if "Отчёт" in (m.text or "")]  # once a day, restart or not


def test_report_command_and_its_periods(make_shop):
    shop = make_shop(timezone=UTC)
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    olga.receives()
    for word, head in (("", "Отчёт за сегодня"), ("yesterday", "Отчёт за вчера"), ("week", "Отчёт за 7 дней")):
        olga.says(f"/report {word}".strip())
        assert head in olga.receives()[-1].text
    olga.says("/report month")
    assert olga.receives()[-1].text == "Использование: /report [today|yesterday|week]"


def test_the_report_says_a_long_outage_and_a_failed_backup(make_shop):
    shop = make_shop(timezone=UTC, start=at(12).timestamp())
    with shop.storage.transaction() as tx:
        tx.set_state("last_outage", f"{at(9).timestamp()}:{at(9, 40).timestamp()}")
        tx.set_state("backup_failed_at", str(at(3).timestamp()))
    olga = shop.operator("Ольга")
    olga.logs_in("1111")
    olga.says("/report")
    text = olga.receives()[-1].text
    assert "не мог связаться с Telegram 40 мин (с 01.12 09:00)" in text
    assert "Резервная копия базы не сделалась (01.12 03:00)" in text
    olga.says("/report yesterday")
    assert "⚠️" not in olga.receives()[-1].text


@pytest.mark.parametrize("raw, expected", [("", None), ("20:00", (20, 0)), ("7.30", (7, 30))])
def test_report_time_setting(raw, expected):
    config = load_config({"TELEGRAM_BOT_TOKEN": "1:x", "OPERATOR_PINS": "1111", "REPORT_TIME": raw})
    assert config.report_time == expected
    assert load_config({"TELEGRAM_BOT_TOKEN": "1:x", "OPERATOR_PINS": "1111"}).report_time == (20, 0)


@pytest.mark.parametrize("key, raw", [("REPORT_TIME", "25:00"), ("REPORT_TIME", "вечером"),
                                      ("REPORT_CHAT_IDS", "@owner"), ("PANEL_PORT", "70000")])
def test_bad_report_and_panel_settings_name_their_key(key, raw):
    with pytest.raises(ConfigError) as error:
        load_config({"TELEGRAM_BOT_TOKEN": "1:x", "OPERATOR_PINS": "1111", key: raw})
    assert error.value.key == key


def test_the_real_bot_sends_the_report_when_report_time_comes(api, make_bot):
    owner = api.user(555, "Владелец")
    api.send_text(owner, "/start")  # the owner pressed Start once, as README says
    offset = 12 - datetime.now(UTC).hour  # a zone where it is about noon: never a day's edge mid-test
    zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    now = datetime.now(ZoneInfo(zone))
    make_bot(TIMEZONE=zone, REPORT_TIME=f"{now:%H:%M}", REPORT_CHAT_IDS="555").start()
    api.wait_for(lambda: any("Отчёт за сегодня" in t for t in api.bot_texts(owner["id"])), timeout=15,
                 what="the daily report to the owner")
    assert sum("Отчёт за сегодня" in t for t in api.bot_texts(owner["id"])) == 1
