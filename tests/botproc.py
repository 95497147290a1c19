"""Runs the real bot (`python -m supportbot`) as a child process against the fake Bot API.

Its database is a file in the work folder, or a fresh PostgreSQL schema with SUPPORTBOT_TEST_DB=postgresql
(tests/databases.py); `query` reads either."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from supportbot.storage import PostgresUrl, open_database
from tests.databases import fresh_database

PROJECT_DIR = Path(__file__).resolve().parent.parent


class BotProcess:
    """One bot process with its own database and settings; start, stop, kill, restart."""

    def __init__(self, workdir: Path, api, *, pins: str = "1111,2222", project_dir: Path = PROJECT_DIR,
                 database: PostgresUrl | None = None, **settings: str):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.api = api
        self.project_dir = project_dir
        self.db_path = workdir / "support.db"
        where = database or fresh_database(workdir)  # a database given: another copy of the same bot
        self.postgres = where if isinstance(where, PostgresUrl) else None
        self.log_path = workdir / "bot-output.txt"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "OPERATOR_", "AUTO_REPLY"))}
        self.env.update({
            "SUPPORTBOT_ENV_FILE": "",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(project_dir),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "OPERATOR_PINS": pins,
            "DATABASE_URL": self.postgres.url if self.postgres else "sqlite:///" + str(self.db_path),
            "FAQ_PATH": str(project_dir / "data" / "faq.csv"),
            "SEND_RATE_PER_SECOND": "1000",
            "LOG_LEVEL": "INFO",
            "PANEL_ENABLED": "false",  # a test that wants the panel gives it a free port
            "REPORT_TIME": "",  # a test that wants the daily report sets its time
        })
        self.env.update(settings)
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "BotProcess":
        """Start the bot and (by default) wait until it long-polls."""
        polls_before = len(self.api.calls_to("getUpdates"))
        self._out = open(self.log_path, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supportbot"], cwd=self.workdir, env=self.env,
            stdout=self._out, stderr=subprocess.STDOUT,
        )
        if wait:
            self.api.wait_for(lambda: len(self.api.calls_to("getUpdates")) > polls_before or self.proc.poll() is not None,
                              timeout=20, what="the bot's first getUpdates")
            assert self.proc.poll() is None, self.output()
        return self

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM the bot and return its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._out.close()
        return code

    def kill(self) -> None:
        """SIGKILL the bot, as a power cut or a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            self._out.close()

    def run_to_exit(self, timeout: float = 20) -> int:
        """Start and wait for the process to exit on its own (configuration errors)."""
        self.start(wait=False)
        code = self.proc.wait(timeout)
        self._out.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Read the bot's database (a separate read-only connection)."""
        if self.postgres is not None:
            conn = open_database(self.postgres)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def wait_processed(self, timeout: float = 10) -> None:
        """Wait until every update handed over so far is applied and every outbox row settled."""
        def settled():
            if self.api.pending_updates:
                return False
            inbox = self.query("SELECT COUNT(*) FROM inbox WHERE status = 'new'")[0][0]
            outbox = self.query("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0]
            return inbox == 0 and outbox == 0
        self.api.wait_for(settled, timeout=timeout, what="the bot to apply and send everything")
