"""Assembles and runs the bot: poller, processor and sender threads.

The poller long-polls Telegram and commits raw updates to the inbox before
the next getUpdates confirms them; the processor applies inbox rows in order,
a batch per transaction, each update in a savepoint; the sender delivers the
outbox. The main thread only waits for a signal to stop.
"""
from __future__ import annotations

import json
import logging
import signal
import sqlite3
import threading
import time
from datetime import datetime
from logging.handlers import RotatingFileHandler

from . import handlers, ops, texts
from .config import Config
from .core import DeliveryFailure, Event
from .faq import FaqFile
from .handlers import Context, SeatRegistry
from .sender import Sender
from .storage import InboxRow, InstanceLock, Storage
from .telegram import TelegramClient, classify, dumps, parse_update, quiet_library_loggers, update_kind

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_ALREADY_RUNNING = 3
EXIT_TOKEN_REJECTED = 4
MAX_BACKOFF = 30.0
BATCH = 100
BACKUP_CHECK_SECONDS = 3600.0
PRUNE_EVERY_SECONDS = 60.0  # a batch a minute keeps the write lock short
INBOX_KEEP_SECONDS = 2 * 86400  # Telegram re-delivers unconfirmed updates for 24 hours at most
OUTBOX_KEEP_SECONDS = 30 * 86400  # replies and edits refer to sent messages this long
TICK_SECONDS = 1.0  # timed duties (albums, alerts) and the FAQ file check
STOP_GRACE_SECONDS = 3.0


def setup_logging(config: Config) -> None:
    """Log to the console and to data/logs/supportbot.log (rotating, UTF-8)."""
    log_dir = config.database_path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(config.log_level)
    for handler in (logging.StreamHandler(),
                    RotatingFileHandler(log_dir / "supportbot.log", maxBytes=1_000_000, backupCount=5,
                                        encoding="utf-8")):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    quiet_library_loggers()


class Bot:
    """The running bot: its threads and what they share."""

    def __init__(self, config: Config):
        self.config = config
        self.stop = threading.Event()
        self.exit_code = EXIT_OK
        self.inbox_cond = threading.Condition()
        self.client = TelegramClient(config.token, config.api_url, config.protect_content)
        self.sender = Sender(config.database_path, self.client, rate_per_second=config.send_rate_per_second,
                             per_chat_rate=config.send_rate_per_chat)
        self.faq = FaqFile(config.faq_path, **_faq_options(config))
        self.seats = SeatRegistry(config.pins)
        self.next_prune = 0.0

    def halt(self, code: int) -> None:
        """Stop the bot with an exit code."""
        if self.exit_code == EXIT_OK:
            self.exit_code = code
        self.stop.set()
        with self.inbox_cond:
            self.inbox_cond.notify_all()

    # --- the poller ------------------------------------------------------------

    def poll(self) -> None:
        """Long-poll Telegram; commit each batch before its offset is confirmed."""
        storage = Storage(self.config.database_path)
        offset: int | None = None
        backoff, outage_since = 0.0, None
        try:
            while not self.stop.is_set():
                try:
                    updates = self.client.get_updates(offset, self.config.poll_timeout)
                except Exception as exc:  # noqa: BLE001 - sorted below; the loop must not die
                    failure = classify(exc)
                    if failure.kind == "conflict":
                        log.error("Another copy of this bot is polling Telegram with the same token. Stopping.")
                        self.halt(EXIT_ALREADY_RUNNING)
                    elif failure.kind == "unauthorized":
                        log.error("Telegram rejected the bot token (TELEGRAM_BOT_TOKEN). Stopping.")
                        self.halt(EXIT_TOKEN_REJECTED)
                    else:
                        if outage_since is None:
                            outage_since = time.monotonic()
                            log.warning("cannot reach Telegram (%s); retrying with backoff", failure.description)
                        backoff = min(MAX_BACKOFF, backoff * 2 if backoff else 1.0)
                        self.stop.wait(max(backoff, failure.retry_after))
                    continue
                if outage_since is not None:
                    log.warning("Telegram is reachable again after %.0f s", time.monotonic() - outage_since)
                    backoff, outage_since = 0.0, None
                rows = [(u["update_id"], update_kind(u), dumps(u)) for u in updates if "update_id" in u]
                if rows:
                    try:
                        storage.add_updates(rows, time.time())
                    except sqlite3.Error:  # not confirmed: Telegram hands the same updates over again
                        log.exception("could not store updates; fetching them again shortly")
                        self.stop.wait(1.0)
                        continue
                    offset = max(r[0] for r in rows) + 1
                    with self.inbox_cond:
                        self.inbox_cond.notify_all()
        finally:
            storage.close()

    # --- the processor ------------------------------------------------------------

    def process(self) -> None:
        """Apply inbox rows in order until asked to stop; then finish the batch in hand."""
        storage = Storage(self.config.database_path)
        self.seats.load(storage.seats())
        next_tick = 0.0
        backoff = 0.0
        try:
            while not self.stop.is_set():
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    try:
                        if self._tick(storage):
                            self.sender.wake()
                    except Exception:  # noqa: BLE001 - timed duties must never stop the updates
                        log.exception("timed duties failed; trying again at the next tick")
                        self.seats.load(storage.seats())
                try:
                    rows = storage.new_inbox(BATCH)
                    if not rows:
                        with self.inbox_cond:
                            if not self.stop.is_set():
                                self.inbox_cond.wait(max(0.0, next_tick - time.monotonic()))
                        continue
                    self._apply(storage, rows)
                    backoff = 0.0
                except Exception:  # noqa: BLE001 - the batch rolled back; retry it after a pause
                    log.exception("could not commit a batch of updates; retrying")
                    self.seats.load(storage.seats())
                    backoff = min(MAX_BACKOFF, backoff * 2 if backoff else 0.5)
                    self.stop.wait(backoff)
                    continue
                self.sender.wake()
        finally:
            storage.close()

    def _apply(self, storage: Storage, rows: list[InboxRow]) -> None:
        with storage.transaction() as tx:
            for row in rows:
                ctx = self._context(tx)
                try:
                    with tx.savepoint():
                        event = decode(row)
                        if event is not None:
                            handlers.handle_event(ctx, event)
                        tx.inbox_done(row.id)
                except Exception as exc:  # noqa: BLE001 - a poison update must not stop the loop
                    self.seats.load(tx.seats())
                    error = f"{type(exc).__name__}: {exc}"
                    # The exception's text may quote a customer's words: only its type goes above DEBUG.
                    log.debug("update %s failed: %s", row.update_id, error, exc_info=True)
                    if tx.inbox_failed(row, error, ctx.now):
                        log.error("update %s set aside after repeated failures (%s); see the dead_letters table",
                                  row.update_id, type(exc).__name__)
                    else:
                        log.warning("update %s failed (%s), will retry", row.update_id, type(exc).__name__)
                    break  # later rows wait, so one customer's messages stay in order

    def _context(self, tx) -> Context:
        return Context(tx, self.config, self.seats, self.faq.matcher, time.time())

    def _tick(self, storage: Storage) -> bool:
        """Timed duties and the FAQ file check, in their own transaction; True if anything is to be sent."""
        problem = self.faq.reload_if_changed()
        with storage.transaction() as tx:
            ctx = self._context(tx)
            if problem:
                self._faq_problem(ctx, problem)
            elif problem == "":
                log.info("FAQ reloaded: %d entries", len(self.faq.matcher.entries))
            handlers.tick(ctx)
            if time.time() >= self.next_prune:
                self.next_prune = time.time() + PRUNE_EVERY_SECONDS
                tx.prune(done_before=time.time() - INBOX_KEEP_SECONDS, sent_before=time.time() - OUTBOX_KEEP_SECONDS)
        return tx.enqueued > 0

    def _faq_problem(self, ctx: Context, problem: str) -> None:
        log.error("FAQ file not loaded, keeping the last good one (%d entries): %s",
                  len(self.faq.matcher.entries), problem)
        handlers.tell_operators(ctx, texts.FAQ_BROKEN.format(problem=problem))

    # --- running -----------------------------------------------------------------

    def _backup_if_due(self) -> None:
        try:
            ops.maybe_backup(self.config, datetime.now())  # logs the new file itself
        except (sqlite3.Error, OSError):
            log.exception("database backup failed; will retry in an hour")

    def run(self) -> int:
        """Run until a signal or a fatal condition; return the exit code."""
        storage = Storage(self.config.database_path)
        with storage.transaction() as tx:
            ctx = self._context(tx)
            handlers.startup(ctx)
            if self.faq.error:
                self._faq_problem(ctx, self.faq.error)
        storage.close()
        self.sender.start()
        threads = [threading.Thread(target=self.poll, name="poller", daemon=True),
                   threading.Thread(target=self.process, name="processor", daemon=True)]
        for thread in threads:
            thread.start()
        log.info("supportbot started: %d seats, database %s", len(self.config.pins), self.config.database_path)
        next_backup = 0.0
        while not self.stop.wait(0.5):  # a timed wait keeps Ctrl+C responsive on Windows
            if not all(t.is_alive() for t in threads + self.sender.threads):
                log.error("a worker thread died; stopping")
                self.halt(1)
            if time.monotonic() >= next_backup:
                next_backup = time.monotonic() + BACKUP_CHECK_SECONDS
                self._backup_if_due()
        threads[1].join(STOP_GRACE_SECONDS)
        self.sender.stop(STOP_GRACE_SECONDS)
        log.info("supportbot stopped")
        return self.exit_code


def decode(row: InboxRow) -> Event | None:
    """Turn an inbox row into an event (None for kinds the bot ignores)."""
    payload = json.loads(row.payload)
    if row.kind == "delivery_failure":
        return DeliveryFailure(**payload)
    return parse_update(payload)


def _faq_options(config: Config) -> dict:
    return {} if config.faq_min_score is None else {"min_score": config.faq_min_score}


def run(config: Config) -> int:
    """Start the bot unless another copy holds the database; return the exit code."""
    setup_logging(config)
    lock = InstanceLock(config.database_path.with_name(config.database_path.name + ".lock"))
    if not lock.acquire():
        log.error("Бот уже запущен с этой базой данных (%s). Второй экземпляр не запускается.",
                  config.database_path)
        return EXIT_ALREADY_RUNNING
    try:
        bot = Bot(config)
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):  # SIGBREAK: Ctrl+Break / closing the console on Windows
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: bot.halt(EXIT_OK))
        return bot.run()
    finally:
        lock.release()
