"""Two copies, one bot (PostgreSQL only): the copy that holds the database's advisory lock is active.

The active copy polls Telegram, applies updates and sends; the others are standby: they say so in the
log once, hold no Telegram connection and try the lock again every RETRY_SECONDS. The lock lives on a
connection of its own, which the server drops when the copy dies, so a standby takes over within
seconds. An active copy that can no longer reach that connection stops at once (it cannot be sure the
lock is still its own) and becomes standby. With SQLite none of this runs: the file lock keeps one copy.
"""
from __future__ import annotations

import logging
import signal
import sqlite3
import threading

from .app import EXIT_DATABASE, EXIT_OK, Bot, database_damaged, open_database_problem, start_logging
from .config import Config
from .storage.postgres import ActiveLock

log = logging.getLogger(__name__)

RETRY_SECONDS = 3.0  # a standby tries the lock this often
WATCH_SECONDS = 1.0  # the active copy checks its lock's connection this often
LOST = -1  # Bot.exit_code of a copy that lost its lock: it becomes standby, the process goes on


def run_active_or_standby(config: Config) -> int:
    """Wait as standby until this copy holds the lock, run the bot while it holds it; return the exit code."""
    start_logging(config)
    stopping = threading.Event()
    running: list[Bot] = []

    def stop(*_):
        stopping.set()
        for bot in running:
            bot.halt(EXIT_OK)

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    told = None
    while not stopping.is_set():
        lock, why = _take_lock(config)
        if lock is None:
            if why != told:  # one line per change, not one every few seconds
                log.warning("%s", why)
                told = why
            stopping.wait(RETRY_SECONDS)
            continue
        told = None
        log.warning("Эта копия бота активна: она держит блокировку базы PostgreSQL и отвечает в Telegram.")
        try:
            code = _run_active(config, lock, running)
        finally:
            running.clear()
            lock.close()
        if code != LOST or stopping.is_set():
            return EXIT_OK if code == LOST else code
        log.warning("Связь с базой PostgreSQL потеряна: эта копия перестала опрашивать Telegram и стала резервной;"
                    " она снова станет активной, когда связь вернётся и другая копия не будет активна.")
        stopping.wait(2 * RETRY_SECONDS)  # the standby copies try first: no flapping back to a shaky copy
    return EXIT_OK


def _take_lock(config: Config) -> tuple[ActiveLock | None, str]:
    try:
        lock = ActiveLock(config.postgres)
    except sqlite3.Error as exc:
        return None, (f"Нет связи с базой PostgreSQL на {config.postgres.server} ({exc}). Бот ждёт и пробует снова"
                      f" каждые {RETRY_SECONDS:.0f} с; проверьте, что сервер запущен, и DATABASE_URL в .env.")
    try:
        if lock.try_acquire():
            return lock, ""
    except sqlite3.Error as exc:
        lock.close()
        return None, f"Нет связи с базой PostgreSQL на {config.postgres.server} ({exc}). Бот пробует снова."
    lock.close()
    return None, ("Резервная копия: другая копия бота с этой базой активна. Эта ждёт и станет активной, если та"
                  f" остановится (проверка каждые {RETRY_SECONDS:.0f} с).")


def _run_active(config: Config, lock: ActiveLock, running: list[Bot]) -> int:
    try:
        problem = open_database_problem(config)
    except sqlite3.OperationalError:
        return LOST
    if problem is not None:
        log.error(problem)
        return EXIT_DATABASE
    bot = Bot(config)
    running.append(bot)
    watch = threading.Thread(target=_watch, args=(lock, bot), name="lock-watch", daemon=True)
    watch.start()
    try:
        return bot.run()
    except sqlite3.Error as exc:  # at start-up, before the threads guard themselves
        if database_damaged(exc) or not isinstance(exc, sqlite3.OperationalError):
            raise
        return LOST


def _watch(lock: ActiveLock, bot: Bot) -> None:
    while not bot.stop.wait(WATCH_SECONDS):
        if not lock.holding():
            bot.halt(LOST)
            return
