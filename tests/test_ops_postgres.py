"""The owner's commands on PostgreSQL, run as the owner runs them: check names the server, its version and
the schema version; backup prints the pg_dump command; export and `faq gaps` work as on SQLite. No output holds the password."""
from __future__ import annotations

import shlex
import shutil
import subprocess
from datetime import timedelta

import pytest

from supportbot.core import Person
from supportbot.storage import MIGRATIONS, PostgresUrl, Storage
from tests.databases import fresh_postgres, in_ci
from tests.test_ops import MAR_5, exported_file, fill, read_export, run_cli

PASSWORD = "hunter2-пароль"  # the test server trusts every login: the password is only there to be hidden


@pytest.fixture
def pg_url():
    where = fresh_postgres()
    fill(where)
    return where.url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def test_check_names_the_server_its_version_and_the_schema(api, pg_url, tmp_path):
    result = run_cli("check", db=tmp_path / "unused.db", cwd=tmp_path, DATABASE_URL=pg_url,
                     TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "База данных" in line)
    assert line.startswith("✓ База данных: PostgreSQL 1") and "на 127.0.0.1:5432, база supportbot_test_" in line
    assert line.endswith(f"схема {len(MIGRATIONS)} из {len(MIGRATIONS)}; активной копии бота сейчас нет")
    assert PASSWORD not in result.stdout + result.stderr


def test_check_says_what_to_do_when_the_server_is_away(api, tmp_path):
    result = run_cli("check", db=tmp_path / "unused.db", cwd=tmp_path,
                     DATABASE_URL=f"postgresql://shop:{PASSWORD}@127.0.0.1:1/support",
                     TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "PostgreSQL" in line)
    assert line.startswith("✗ База данных PostgreSQL на 127.0.0.1:1 недоступна") and "DATABASE_URL" in line
    assert PASSWORD not in result.stdout + result.stderr


def test_backup_prints_a_pg_dump_command_that_works_and_copies_nothing_itself(pg_url, tmp_path):
    result = run_cli("backup", db=tmp_path / "data" / "unused.db", cwd=tmp_path, DATABASE_URL=pg_url)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    command = next(line.strip() for line in result.stdout.splitlines() if line.strip().startswith("pg_dump "))
    assert not (tmp_path / "data" / "backups").exists()
    if shutil.which("pg_dump") is None:
        if in_ci():
            pytest.fail("no pg_dump in CI: the printed command must be run here (Debian: postgresql-client)")
        pytest.skip("no pg_dump on this machine to run the printed command; CI runs it")
    done = subprocess.run(shlex.split(command), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listing = subprocess.run(["pg_restore", "--list", next(tmp_path.glob("supportbot-*.dump"))],
                             capture_output=True, text=True, timeout=60).stdout
    assert "TABLE DATA" in listing and " messages " in listing


def test_export_works_unchanged(pg_url, tmp_path):
    result = run_cli("export", "--client", "1", db=tmp_path / "data" / "unused.db", cwd=tmp_path, DATABASE_URL=pg_url)
    assert result.returncode == 0, result.stderr
    assert "Выгружено сообщений: 3" in result.stdout
    _header, *rows = read_export(exported_file(result))
    assert rows[0] == ["2024-01-10 12:00:00", "1", "Анна Петрова", "anna", "покупатель", "Анна", "текст",
                       "Где мой заказ «№15»?\nЖду; спасибо"]
    assert [row[4] for row in rows] == ["покупатель", "оператор", "заметка"]


def with_a_gap(where) -> None:
    """Add a question the FAQ cannot answer, answered by an operator: what `faq gaps` must list."""
    store = Storage(where)
    with store.transaction() as tx:
        customer = tx.upsert_customer(Person(777000333, "Вера"), 777000333, MAR_5.timestamp())
        dialog = tx.create_dialog(customer.id, MAR_5.timestamp())
        for minute, (direction, body) in enumerate([("in", "упаковываете в подарок?"), ("out", "Да, бесплатно")]):
            tx.add_message(customer_id=customer.id, dialog_id=dialog.id, direction=direction, author="x",
                           author_user_id=None, content_type="text", body=body, file_id=None,
                           tg_chat_id=customer.chat_id, tg_message_id=None, relayed=True,
                           now=(MAR_5 + timedelta(minutes=minute)).timestamp())
    store.close()


def test_faq_gaps_reads_postgresql_as_it_reads_sqlite(pg_url, tmp_path):
    sqlite_file = tmp_path / "data" / "support.db"
    fill(sqlite_file)
    with_a_gap(sqlite_file)
    with_a_gap(PostgresUrl.parse(pg_url))
    on_sqlite = run_cli("faq", "gaps", db=sqlite_file, cwd=tmp_path)
    on_postgres = run_cli("faq", "gaps", db=tmp_path / "unused.db", cwd=tmp_path, DATABASE_URL=pg_url)
    assert on_postgres.returncode == on_sqlite.returncode == 0, on_postgres.stderr
    assert "1 × упаковываете в подарок?" in on_sqlite.stdout
    assert on_postgres.stdout == on_sqlite.stdout
    assert PASSWORD not in on_postgres.stdout + on_postgres.stderr
