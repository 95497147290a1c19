"""The owner's commands on PostgreSQL, run as the owner runs them: check names the server, its version and
the schema version; backup prints the pg_dump command; export works as on SQLite. No output holds the password."""
from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from supportbot.storage import MIGRATIONS
from tests.databases import fresh_postgres, in_ci
from tests.test_ops import exported_file, fill, read_export, run_cli

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
