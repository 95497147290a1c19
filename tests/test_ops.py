"""The owner's commands (check, backup, export, autostart) against real SQLite files and real processes."""
from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path, PureWindowsPath
from zoneinfo import ZoneInfo

import pytest

from supportbot import ops
from supportbot.config import load_config
from supportbot.core import Person
from supportbot.storage import Storage

PROJECT_DIR = Path(__file__).resolve().parent.parent
SETTING_PREFIXES = ("TELEGRAM_", "OPERATOR_", "AUTO_REPLY", "DATABASE_URL", "FAQ_", "BACKUP_", "HISTORY_", "PROTECT_",
                    "LOG_LEVEL", "SEND_RATE", "POLL_TIMEOUT", "PYTHONIOENCODING")

JAN_10 = datetime(2024, 1, 10, 12, 0, 0)
MAR_5 = datetime(2024, 3, 5, 9, 30, 0)


def run_cli(*args: str, db: Path, cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    """Run `python -m supportbot ARGS` as the owner would, with settings as environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update({
        "SUPPORTBOT_ENV_FILE": "",
        "PYTHONPATH": str(PROJECT_DIR),
        "TELEGRAM_BOT_TOKEN": "1234:test",
        "OPERATOR_PINS": "1111,2222",
        "DATABASE_URL": "sqlite:///" + str(db),
        "FAQ_PATH": str(PROJECT_DIR / "data" / "faq.csv"),
    })
    env.update(settings)
    proc = subprocess.run([sys.executable, "-m", "supportbot", *args], cwd=cwd, env=env, capture_output=True,
                          timeout=60)
    proc.stdout = proc.stdout.decode("utf-8")
    proc.stderr = proc.stderr.decode("utf-8")
    return proc


def _message(tx, customer, dialog, direction: str, author: str, body: str | None, when: datetime,
             content_type: str = "text") -> None:
    tx.add_message(customer_id=customer.id, dialog_id=dialog.id if dialog else None, direction=direction,
                   author=author, author_user_id=None, content_type=content_type, body=body, file_id=None,
                   tg_chat_id=customer.chat_id, tg_message_id=None, relayed=True, now=when.timestamp())


def fill(db: Path) -> None:
    """Two customers and six messages: Анна (#1) in January and March, Борис (#2) in March."""
    store = Storage(db)
    with store.transaction() as tx:
        anna = tx.upsert_customer(Person(777000111, "Анна", "Петрова", "anna"), 777000111, JAN_10.timestamp())
        boris = tx.upsert_customer(Person(777000222, "Борис"), 777000222, MAR_5.timestamp())
        first = tx.create_dialog(anna.id, JAN_10.timestamp())
        _message(tx, anna, first, "in", "Анна", "Где мой заказ «№15»?\nЖду; спасибо", JAN_10)
        _message(tx, anna, first, "out", "Ольга", "Заказ уже в пути.", JAN_10 + timedelta(minutes=5))
        tx.close_dialog(tx.dialog(first.id), "done", JAN_10.timestamp() + 600)
        _message(tx, anna, None, "note", "Ольга", "Позвонить в пятницу", MAR_5)
        second = tx.create_dialog(boris.id, MAR_5.timestamp())
        _message(tx, boris, second, "in", "Борис", "+7 999 123-45-67", MAR_5 + timedelta(minutes=1))
        _message(tx, boris, second, "in", "Борис", None, MAR_5 + timedelta(minutes=2), content_type="photo")
        _message(tx, boris, second, "bot", "бот", "=HYPERLINK(\"http://example.com\")", MAR_5 + timedelta(minutes=3))
    store.close()


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "data" / "support.db"
    fill(path)
    return path


def count_rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


# --- check --------------------------------------------------------------------------------------------


def test_check_all_good_names_the_bot_and_never_prints_the_token(api, db, tmp_path):
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "@shop_support_bot" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line[:1] in ("✓", "✗")]
    assert len(lines) == 4 and all(line.startswith("✓") for line in lines), result.stdout
    assert "FAQ:" in result.stdout and "Всё в порядке." in result.stdout
    assert api.token not in result.stdout + result.stderr
    assert [c.method for c in api.calls] == ["getMe"]


@pytest.mark.parametrize("telegram_topics, setting, good, says", [
    (False, "auto", True, "режим тем не включён"),
    (True, "auto", True, "режим тем: у каждого покупателя своя тема"),
    (True, "off", True, "режим тем выключен (OPERATOR_TOPICS=off)"),
    (False, "on", False, "OPERATOR_TOPICS=on"),
])
def test_check_says_which_mode_is_in_force_and_how_to_enable_topics(api, db, tmp_path, telegram_topics, setting,
                                                                    good, says):
    api.topics = telegram_topics
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url,
                     OPERATOR_TOPICS=setting)
    line = next(line for line in result.stdout.splitlines() if "Telegram" in line)
    assert line.startswith("✓" if good else "✗") and says in line, result.stdout
    assert ("@BotFather" in line) == (not telegram_topics)  # how to enable them, where they are not on


def test_check_warns_about_a_misspelt_key_and_a_cut_value_in_env(api, db, tmp_path):
    env_file = tmp_path / "shop.env"
    env_file.write_text("OPERATOR_CHAT_LIMT=5\nHISTORY_LIMIT=30 # тридцать\n", encoding="utf-16")  # Notepad «Юникод»
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url,
                     SUPPORTBOT_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stdout + result.stderr  # warnings, not failures
    warnings = [line for line in result.stdout.splitlines() if line.startswith("! ")]
    assert len(warnings) == 2, result.stdout
    assert "OPERATOR_CHAT_LIMT" in warnings[0] and "OPERATOR_CHAT_LIMIT" in warnings[0]
    assert "HISTORY_LIMIT" in warnings[1] and "кавычки" in warnings[1]


def test_check_does_not_create_a_missing_database(api, tmp_path):
    db = tmp_path / "data" / "support.db"
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "создаст" in result.stdout
    assert not db.exists()


def test_check_reports_a_broken_faq(api, db, tmp_path):
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nСколько стоит доставка?,\n", encoding="utf-8")
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url,
                     FAQ_PATH=str(faq))
    assert result.returncode == 1
    faq_line = next(line for line in result.stdout.splitlines() if "вопрос" in line)
    assert faq_line.startswith("✗") and "строка 2: пустой ответ" in faq_line
    assert "✓ Telegram: бот @shop_support_bot" in result.stdout


def test_check_reports_a_rejected_token_without_printing_it(api, db, tmp_path):
    wrong = "999999:wrong-token-value"
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 1
    assert "✗ Telegram не принял токен" in result.stdout and "TELEGRAM_BOT_TOKEN" in result.stdout
    assert wrong not in result.stdout + result.stderr
    assert "wrong-token-value" not in result.stdout + result.stderr


def test_check_reports_no_connection(db, tmp_path):
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_API_URL="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "✗ Telegram: нет связи с http://127.0.0.1:9" in result.stdout
    assert "1234:test" not in result.stdout + result.stderr


@pytest.mark.parametrize("damage", ["garbage", "torn pages"])
def test_check_reports_a_corrupted_database(api, db, tmp_path, damage):
    if damage == "garbage":
        db.write_bytes(b"this is not a database, just text " * 200)
    else:
        store = Storage(db)  # grow the file past a few pages, then overwrite the middle
        with store.transaction() as tx:
            customer = tx.customer(1)
            for i in range(300):
                _message(tx, customer, None, "in", "Анна", f"сообщение {i} " * 20, JAN_10)
        store.close()
        with open(db, "r+b") as file:
            file.seek(4096 * 2)
            file.write(b"\xa5" * 4096 * 4)
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 1, result.stdout
    assert re.search(r"^✗ База данных .*повреждена", result.stdout, re.M), result.stdout
    assert "✓ Telegram" in result.stdout  # the other checks still run


@pytest.mark.parametrize("key, value", [("OPERATOR_CHAT_LIMIT", "три"), ("BACKUP_KEEP", "0"),
                                        ("TELEGRAM_BOT_TOKEN", "")])
def test_check_with_a_bad_setting_names_the_key_and_exits_2(db, tmp_path, key, value):
    result = run_cli("check", db=db, cwd=tmp_path, **{key: value})
    assert result.returncode == 2
    assert result.stdout.startswith("✗ Настройки (.env): " + key), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_survives_a_cp866_console(api, db, tmp_path):
    result = run_cli("check", db=db, cwd=tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url,
                     PYTHONIOENCODING="cp866")
    assert result.returncode == 0, result.stderr
    assert "✓ Telegram: бот @shop_support_bot" in result.stdout


def test_marks_fall_back_to_plain_signs_where_the_console_cannot_show_them():
    assert ops._marks(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) == ("✓", "✗")
    assert ops._marks(io.TextIOWrapper(io.BytesIO(), encoding="cp866")) == ("+", "x")


def test_check_rejects_arguments(db, tmp_path):
    result = run_cli("check", "--now", db=db, cwd=tmp_path)
    assert result.returncode == 2 and "Использование" in result.stderr


# --- backup -------------------------------------------------------------------------------------------


def test_backup_is_a_consistent_single_file_copy(db, tmp_path):
    writer = Storage(db)  # the running bot: committed rows still in the WAL, one write in progress
    with writer.transaction() as tx:
        _message(tx, tx.customer(2), None, "in", "Борис", "в журнале WAL", MAR_5)
    writer.conn.execute("BEGIN IMMEDIATE")
    writer.conn.execute("DELETE FROM messages")  # not committed: must not reach the copy
    try:
        result = run_cli("backup", db=db, cwd=tmp_path)
    finally:
        writer.conn.execute("ROLLBACK")
        writer.close()
    assert result.returncode == 0, result.stderr
    [backup] = list((db.parent / "backups").glob("support-*.db"))
    assert re.fullmatch(r"support-\d{8}-\d{6}\.db", backup.name)
    assert str(backup) in result.stdout
    for table in ("customers", "dialogs", "messages"):
        assert count_rows(backup, table) == count_rows(db, table)
    assert count_rows(backup, "messages") == 7
    conn = sqlite3.connect(backup)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(p.name for p in backup.parent.iterdir()) == [backup.name]


def test_backup_keeps_the_newest_backup_keep_files_and_nothing_else_is_touched(db, tmp_path):
    folder = db.parent / "backups"
    folder.mkdir()
    old = [folder / f"support-2024010{day}-030000.db" for day in range(1, 6)]
    others = [folder / "notes.txt", folder / "other-20200101-000000.db", folder / "support-20241399-990000.db"]
    for path in old + others:
        path.write_bytes(b"x")
    result = run_cli("backup", db=db, cwd=tmp_path, BACKUP_KEEP="3")
    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in folder.iterdir() if p not in others)
    assert kept[:2] == ["support-20240104-030000.db", "support-20240105-030000.db"]
    assert len(kept) == 3 and kept[2] != old[-1].name
    assert all(p.exists() for p in others)


def test_backup_without_a_database_says_so(tmp_path):
    db = tmp_path / "data" / "support.db"
    result = run_cli("backup", db=db, cwd=tmp_path)
    assert result.returncode == 1 and "ещё нет" in result.stderr
    assert not db.exists()


def _config(db: Path, **settings: str):
    env = {"TELEGRAM_BOT_TOKEN": "1234:test", "OPERATOR_PINS": "1111", "DATABASE_URL": "sqlite:///" + str(db)}
    env.update(settings)
    return load_config(env)


def test_maybe_backup_runs_only_when_a_day_has_passed(tmp_path):
    db = tmp_path / "support.db"
    config = _config(db, BACKUP_KEEP="2")
    now = datetime(2024, 5, 1, 3, 0, 0)
    assert ops.maybe_backup(config, now) is None  # no database yet: nothing to copy
    fill(db)
    first = ops.maybe_backup(config, now)
    assert first is not None and first.name == "support-20240501-030000.db" and first.is_file()
    assert ops.maybe_backup(config, now + timedelta(hours=23, minutes=59)) is None
    second = ops.maybe_backup(config, now + timedelta(days=1))
    assert second is not None and second.name == "support-20240502-030000.db"
    third = ops.maybe_backup(config, now + timedelta(days=2, hours=5))
    assert third is not None
    assert [p for _, p in ops.list_backups(config)] == [second, third]  # BACKUP_KEEP=2


def test_maybe_backup_ignores_a_backup_dated_in_the_future_and_takes_aware_times(tmp_path):
    db = tmp_path / "support.db"
    fill(db)
    config = _config(db)
    folder = ops.backup_folder(config)
    folder.mkdir()
    (folder / "support-20300101-000000.db").write_bytes(b"made while the clock was wrong")
    now = datetime(2024, 5, 1, 3, 0, 0).astimezone(timezone.utc)
    made = ops.maybe_backup(config, now)
    assert made is not None and made.name == "support-20240501-030000.db"
    assert ops.maybe_backup(config, now + timedelta(hours=1)) is None


# --- export -------------------------------------------------------------------------------------------


def read_export(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file, delimiter=";"))


def exported_file(result: subprocess.CompletedProcess) -> Path:
    match = re.search(r"^Файл: (.+)$", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    return Path(match.group(1))


def test_export_writes_excel_friendly_csv(db, tmp_path):
    result = run_cli("export", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Выгружено сообщений: 6" in result.stdout
    path = exported_file(result)
    assert path.parent == db.parent / "exports" and re.fullmatch(r"export-\d{8}-\d{6}\.csv", path.name)
    header, *rows = read_export(path)
    assert header == ["Время", "№ покупателя", "Имя покупателя", "Username", "От кого", "Автор", "Тип", "Текст"]
    assert len(rows) == 6
    assert rows[0] == ["2024-01-10 12:00:00", "1", "Анна Петрова", "anna", "покупатель", "Анна", "текст",
                       "Где мой заказ «№15»?\nЖду; спасибо"]
    assert rows[1][4:] == ["оператор", "Ольга", "текст", "Заказ уже в пути."]
    assert rows[2][4:] == ["заметка", "Ольга", "текст", "Позвонить в пятницу"]
    assert rows[3][1:5] == ["2", "Борис", "", "покупатель"]
    assert rows[3][7] == "'+7 999 123-45-67"  # kept as text, not a formula
    assert rows[4][6:] == ["фото", ""]
    assert rows[5][4] == "бот" and rows[5][7].startswith("'=HYPERLINK")
    assert b";" in path.read_bytes().splitlines()[0]


def test_export_uses_the_shops_time_zone_when_one_is_set(db, tmp_path):
    zone = ZoneInfo("Asia/Vladivostok")
    result = run_cli("export", "--since", "2024-03-05", db=db, cwd=tmp_path, TIMEZONE="Asia/Vladivostok")
    assert result.returncode == 0, result.stderr
    _, *rows = read_export(exported_file(result))
    expected = [datetime.fromtimestamp(when.timestamp(), zone) for when in
                (MAR_5, MAR_5 + timedelta(minutes=1), MAR_5 + timedelta(minutes=2), MAR_5 + timedelta(minutes=3))]
    since = datetime(2024, 3, 5, tzinfo=zone)
    assert [row[0] for row in rows] == [t.strftime("%Y-%m-%d %H:%M:%S") for t in expected if t >= since]


@pytest.mark.parametrize("ref", ["2", "#2", "777000222"])
def test_export_one_customer_by_short_number_or_telegram_id(db, tmp_path, ref):
    result = run_cli("export", "--client", ref, db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, *rows = read_export(exported_file(result))
    assert len(rows) == 3 and {row[2] for row in rows} == {"Борис"}


def test_export_since_a_date_into_a_chosen_file(db, tmp_path):
    out = tmp_path / "Мои выгрузки" / "переписка март.csv"
    out.parent.mkdir()
    result = run_cli("export", "--since", "2024-03-01", "--client=1", "--out", str(out), db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert exported_file(result) == out
    _, *rows = read_export(out)
    assert [row[7] for row in rows] == ["Позвонить в пятницу"]
    assert "Выгружено сообщений: 1" in result.stdout
    result = run_cli("export", "--since", "05.03.2024", db=db, cwd=tmp_path)
    _, *rows = read_export(exported_file(result))
    assert len(rows) == 4


def test_export_relative_out_is_relative_to_the_current_folder(db, tmp_path):
    result = run_cli("export", "--out", "всё.csv", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "всё.csv").is_file()


@pytest.mark.parametrize("args, says", [
    (["--since", "2024-13-45"], "--since"),
    (["--since", "вчера"], "--since"),
    (["--client", "Анна"], "--client"),
    (["--client"], "нужно значение"),
    (["--until", "2024-01-01"], "непонятный параметр"),
    (["--client", "1", "--client", "2"], "дважды"),
    (["2024-01-01"], "непонятный параметр"),
])
def test_export_with_bad_arguments_exits_2_and_writes_nothing(db, tmp_path, args, says):
    out = tmp_path / "out.csv"
    result = run_cli("export", *args, "--out", str(out), db=db, cwd=tmp_path)
    assert result.returncode == 2
    assert says in result.stderr and "Использование: python -m supportbot export" in result.stderr
    assert result.stdout == ""
    assert not out.exists() and not (db.parent / "exports").exists()


def test_export_and_backup_errors_say_what_to_do_without_internal_part_names(db, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    result = run_cli("export", "--out", str(blocker / "out.csv"), db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert ".part" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("Не удалось") and "повторите" in result.stderr, result.stderr
    (db.parent / "backups").write_text("a file where the folder should be", encoding="utf-8")
    result = run_cli("backup", db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert ".part" not in result.stderr and "Не удалось сделать резервную копию" in result.stderr, result.stderr


def test_export_of_an_unknown_customer_writes_nothing(db, tmp_path):
    result = run_cli("export", "--client", "99", db=db, cwd=tmp_path)
    assert result.returncode == 1 and "не найден" in result.stderr
    assert not (db.parent / "exports").exists()


def test_two_exports_in_one_second_do_not_overwrite_each_other(db, tmp_path):
    first = exported_file(run_cli("export", db=db, cwd=tmp_path))
    second = exported_file(run_cli("export", "--client", "1", db=db, cwd=tmp_path))
    assert first != second and first.is_file() and second.is_file()


# --- autostart ------------------------------------------------------------------------------------------

TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def test_task_xml_runs_run_bat_minimised_for_this_user_without_time_limit():
    run_bat = PureWindowsPath(r"C:\Users\Оля\Мой магазин\support bot & co\run.bat")
    text = ops.task_xml(run_bat, "Оля")
    assert text.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    task = ET.fromstring(text.split("\n", 1)[1])

    def value(path: str) -> str:
        return task.find(path, TASK_NS).text

    assert value("t:Triggers/t:LogonTrigger/t:UserId") == "Оля"
    assert value("t:Principals/t:Principal/t:UserId") == "Оля"
    assert value("t:Principals/t:Principal/t:LogonType") == "InteractiveToken"
    assert value("t:Principals/t:Principal/t:RunLevel") == "LeastPrivilege"
    assert value("t:Settings/t:ExecutionTimeLimit") == "PT0S"
    assert value("t:Settings/t:DisallowStartIfOnBatteries") == "false"
    assert value("t:Actions/t:Exec/t:Command") == "cmd.exe"
    assert value("t:Actions/t:Exec/t:Arguments") == (
        r'/c start "supportbot" /min cmd.exe /c call "C:\Users\Оля\Мой магазин\support bot & co\run.bat"')
    assert value("t:Actions/t:Exec/t:WorkingDirectory") == r"C:\Users\Оля\Мой магазин\support bot & co"


class FakeSchtasks:
    """Stands in for schtasks.exe: records calls, keeps the XML it was given."""

    def __init__(self, exists: bool = False, query_output: str = ""):
        self.exists = exists
        self.query_output = query_output
        self.calls: list[list[str]] = []
        self.xml_bytes = b""

    def __call__(self, args: list[str]) -> tuple[int, str]:
        self.calls.append(args)
        verb = args[0]
        if verb == "/Create":
            self.xml_bytes = Path(args[args.index("/XML") + 1]).read_bytes()
            self.exists = True
            return 0, "SUCCESS"
        if verb == "/Delete":
            self.exists = False
            return 0, "SUCCESS"
        return (0, self.query_output) if self.exists else (1, "ERROR: task not found")


def test_autostart_on_off_and_status_through_schtasks(capsys):
    fake = FakeSchtasks()
    assert ops.cmd_autostart([], schtasks=fake, windows=True) == 0
    assert "выключен" in capsys.readouterr().out
    assert ops.cmd_autostart(["on"], schtasks=fake, windows=True) == 0
    assert "включён" in capsys.readouterr().out
    create = fake.calls[-1]
    assert create[:3] == ["/Create", "/TN", "supportbot"] and create[-1] == "/F"
    assert fake.xml_bytes.startswith(b"\xff\xfe")  # UTF-16 with BOM, as Task Scheduler expects
    assert str(PROJECT_DIR / "run.bat") in fake.xml_bytes.decode("utf-16")
    assert not Path(create[create.index("/XML") + 1]).exists()  # the temporary file is gone

    fake.query_output = fake.xml_bytes.decode("utf-16")
    assert ops.cmd_autostart([], schtasks=fake, windows=True) == 0
    assert "включён" in capsys.readouterr().out
    fake.query_output = r'<Arguments>/c start "supportbot" /min cmd.exe /c call "D:\old\run.bat"</Arguments>'
    assert ops.cmd_autostart([], schtasks=fake, windows=True) == 1
    assert r"D:\old\run.bat" in capsys.readouterr().out

    assert ops.cmd_autostart(["off"], schtasks=fake, windows=True) == 0
    assert fake.calls[-1] == ["/Delete", "/TN", "supportbot", "/F"]
    assert ops.cmd_autostart(["off"], schtasks=fake, windows=True) == 0
    assert "и так выключен" in capsys.readouterr().out
    assert fake.calls[-1][0] == "/Query"


def test_autostart_failure_is_reported(capsys):
    def refusing(args):
        return (1, "ОШИБКА: Отказано в доступе.") if args[0] == "/Create" else (1, "")

    assert ops.cmd_autostart(["on"], schtasks=refusing, windows=True) == 1
    assert "Отказано в доступе" in capsys.readouterr().err


def test_autostart_elsewhere_explains_systemd_and_cron(capsys):
    assert ops.cmd_autostart(["on"], windows=False) == 0
    out = capsys.readouterr().out
    assert f'ExecStart="{PROJECT_DIR}/run.sh"' in out and "@reboot" in out


def test_autostart_rejects_unknown_words(capsys):
    assert ops.cmd_autostart(["maybe"], schtasks=FakeSchtasks(), windows=True) == 2
    assert "Использование: run.bat autostart" in capsys.readouterr().err
