"""Assembles and runs the bot: poller, processor and sender threads.

The poller long-polls Telegram and commits raw updates to the inbox before
the next getUpdates confirms them; the processor applies inbox rows in order,
a batch per transaction, each update in a savepoint; the sender delivers the
outbox. The main thread only waits for a signal to stop.

An update the poller cannot store as it is (a lone surrogate in its JSON) is
kept as ASCII-escaped text in dead_letters, confirmed and logged; the loop goes
on. A damaged database file stops the bot with one Russian line (console and
log) and EXIT_DATABASE, which the start scripts do not restart on. Lines at
WARNING and above are for the shop's owner: Russian, saying what to do.

At start the bot decides once between topics mode and the classic one
(OPERATOR_TOPICS and getMe's has_topics_enabled); OPERATOR_TOPICS=on without
topics in @BotFather stops it with EXIT_CONFIG and one line saying what to do.
"""
from __future__ import annotations

import json
import logging
import signal
import sqlite3
import threading
import time
from datetime import datetime

from . import handlers, ops, texts
from .config import Config, topics_mode
from .core import DeliveryFailure, Event, TopicRecreated
from .faq import FaqFile
from .logs import setup_logging
from .handlers import Context, SeatRegistry, report
from .sender import Sender
from .storage import InboxRow, InstanceLock, NewerSchema, Storage
from .telegram import Backoff, TelegramClient, classify, dumps, parse_update, update_kind

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_ALREADY_RUNNING = 3
EXIT_TOKEN_REJECTED = 4
EXIT_DATABASE = 5  # the database file is damaged: restarting cannot help, restoring a backup does
MAX_BACKOFF = 30.0  # the processor's pause while its batch keeps failing
BATCH = 100
BACKUP_CHECK_SECONDS = 3600.0
PRUNE_EVERY_SECONDS = 60.0  # a batch a minute keeps the write lock short
INBOX_KEEP_SECONDS = 2 * 86400  # Telegram re-delivers unconfirmed updates for 24 hours at most
OUTBOX_KEEP_SECONDS = 30 * 86400  # replies and edits refer to sent messages this long
TICK_SECONDS = 1.0  # timed duties (albums, alerts) and the FAQ file check
STOP_GRACE_SECONDS = 3.0


def database_damaged(exc: BaseException) -> bool:
    """Tell whether an SQLite error means the file itself is damaged or no database (retrying cannot help)."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _not_the_updates_fault(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) or database_damaged(exc)


def storable_text(update: dict) -> str:
    """The update as pure-ASCII JSON: lone surrogates and all survive as \\u escapes."""
    return json.dumps(update, ensure_ascii=True, separators=(",", ":"))


class Bot:
    """The running bot: its threads and what they share."""

    def __init__(self, config: Config):
        self.config = config
        self.stop = threading.Event()
        self.exit_code = EXIT_OK
        self.inbox_cond = threading.Condition()
        self.client = TelegramClient(config.token, config.api_url, config.protect_content)
        self.sender = Sender(config.database, self.client, rate_per_second=config.send_rate_per_second,
                             per_chat_rate=config.send_rate_per_chat)
        self.faq = FaqFile(config.faq_path, **_faq_options(config))
        self.seats = SeatRegistry(config.pins)
        self.next_prune = 0.0
        self.topics = False  # decided at start (OPERATOR_TOPICS and getMe)

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
        storage = Storage(self.config.database)
        offset: int | None = None
        backoff, outage_since, outage_wall = Backoff(), None, 0.0
        try:
            while not self.stop.is_set():
                try:
                    updates = self.client.get_updates(offset, self.config.poll_timeout)
                except Exception as exc:  # noqa: BLE001 - sorted below; the loop must not die
                    if self.stop.is_set():
                        break  # stopped while the poll was out (a standby copy taking over answers it with 409)
                    failure = classify(exc)
                    if failure.kind == "conflict":
                        log.error("Этим же токеном уже пользуется другая копия бота (ответ 409). Остановите"
                                  " лишнюю копию (на этом или другом компьютере); бот остановлен, run.bat"
                                  " попробует снова через несколько минут.")
                        self.halt(EXIT_ALREADY_RUNNING)
                    elif failure.kind == "unauthorized":
                        log.error("Telegram не принимает токен бота (TELEGRAM_BOT_TOKEN). Впишите верный токен"
                                  " из @BotFather в .env; бот остановлен, run.bat попробует снова через"
                                  " несколько минут. Неотправленные сообщения сохранены.")
                        self.halt(EXIT_TOKEN_REJECTED)
                    elif failure.kind == "rate":  # exactly as long as Telegram asks
                        self.stop.wait(failure.retry_after)
                    else:
                        if outage_since is None:
                            outage_since = time.monotonic()
                            outage_wall = time.time()
                            log.warning("Нет связи с Telegram (%s). Бот повторяет попытки сам; если это"
                                        " надолго, проверьте интернет.", failure.description)
                        self.stop.wait(backoff.next())
                    continue
                if outage_since is not None:
                    log.warning("Связь с Telegram восстановлена (перерыв %.0f с).", time.monotonic() - outage_since)
                    remember_for_report(storage, report.OUTAGE_KEY, f"{outage_wall}:{time.time()}")
                    backoff.reset()
                    outage_since = None
                try:
                    stored = self._store(storage, updates)
                except sqlite3.Error as exc:  # not confirmed: Telegram hands the same updates over again
                    if self._database_broken(exc):
                        return
                    log.error("Не удалось записать полученные сообщения в базу данных (%s); бот получит их"
                              " снова через секунду. Если это повторяется, выполните run.bat check.",
                              type(exc).__name__)
                    log.debug("could not store updates", exc_info=True)
                    self.stop.wait(1.0)
                    continue
                if stored is not None:
                    offset = stored + 1
                    with self.inbox_cond:
                        self.inbox_cond.notify_all()
        finally:
            storage.close()

    def _store(self, storage: Storage, updates: list[dict]) -> int | None:
        """Commit a batch of updates; set aside the ones that cannot be stored; return the highest update_id."""
        rows, unstorable = [], []
        for update in updates:
            if not isinstance(update.get("update_id"), int):
                continue  # nothing to confirm it by
            try:
                payload = dumps(update)
                payload.encode("utf-8")  # SQLite stores UTF-8: a lone surrogate cannot be written
                rows.append((update["update_id"], update_kind(update), payload))
            except (UnicodeError, ValueError, TypeError) as exc:
                unstorable.append((update["update_id"], update_kind(update), storable_text(update),
                                   type(exc).__name__))
        if not rows and not unstorable:
            return None
        now = time.time()
        try:
            storage.add_updates(rows, now)
        except (sqlite3.Error, ValueError, OverflowError) as exc:
            if _not_the_updates_fault(exc):
                raise  # locked, disk trouble, a damaged file: fetch the same batch again (or stop)
            for row in rows:  # one of them is unstorable: find which, one by one
                try:
                    storage.add_updates([row], now)
                except (sqlite3.Error, ValueError, OverflowError) as exc:
                    if _not_the_updates_fault(exc):
                        raise
                    unstorable.append((row[0], row[1], row[2].encode("ascii", "backslashreplace").decode(),
                                       type(exc).__name__))
        if unstorable:
            storage.set_aside_updates(unstorable, now)
            for update_id, _kind, _payload, error in unstorable:
                log.error("Обновление %s от Telegram не удалось сохранить (%s): оно отложено в таблицу"
                          " dead_letters, бот работает дальше. Делать ничего не нужно; если такое"
                          " повторяется, сообщите разработчику.", update_id, error)
        return max([r[0] for r in rows] + [u[0] for u in unstorable])

    def _database_broken(self, exc: BaseException) -> bool:
        """If the database file is damaged, say so once and stop the bot; True then."""
        if not database_damaged(exc):
            return False
        if self.exit_code == EXIT_OK:
            log.error(ops.damaged_database_line(self.config.database_path, exc))
        self.halt(EXIT_DATABASE)
        return True

    # --- the processor ------------------------------------------------------------

    def process(self) -> None:
        """Apply inbox rows in order until asked to stop; then finish the batch in hand."""
        storage = Storage(self.config.database)
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
                    except Exception as exc:  # noqa: BLE001 - timed duties must never stop the updates
                        if self._database_broken(exc):
                            return
                        log.error("Плановые дела бота (напоминания, альбомы, FAQ) не выполнились (%s); повтор"
                                  " через секунду. Если это повторяется, сообщите разработчику, приложив журнал.",
                                  type(exc).__name__)
                        log.debug("timed duties failed", exc_info=True)
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
                except Exception as exc:  # noqa: BLE001 - the batch rolled back; retry it after a pause
                    if self._database_broken(exc):
                        return
                    backoff = min(MAX_BACKOFF, backoff * 2 if backoff else 0.5)
                    log.error("Не удалось записать обработку сообщений в базу данных (%s); повтор через %.1f с."
                              " Если это повторяется, выполните run.bat check.", type(exc).__name__, backoff)
                    log.debug("could not commit a batch of updates", exc_info=True)
                    self.seats.load(storage.seats())
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
                    if database_damaged(exc):
                        raise  # not this update's fault: the processor stops the bot
                    self.seats.load(tx.seats())
                    error = f"{type(exc).__name__}: {exc}"
                    # The exception's text may quote a customer's words: only its type goes above DEBUG.
                    log.debug("update %s failed: %s", row.update_id, error, exc_info=True)
                    if tx.inbox_failed(row, error, ctx.now):
                        log.error("Обновление %s не удалось обработать трижды (%s): оно отложено в таблицу"
                                  " dead_letters, бот работает дальше. Если такое повторяется, сообщите"
                                  " разработчику, приложив журнал.", row.update_id, type(exc).__name__)
                    else:
                        log.warning("Обновление %s не обработано (%s), бот повторит попытку сам.",
                                    row.update_id, type(exc).__name__)
                    break  # later rows wait, so one customer's messages stay in order

    def _context(self, tx) -> Context:
        return Context(tx, self.config, self.seats, self.faq.matcher, time.time(), topics=self.topics)

    def _decide_topics(self, storage: Storage) -> bool:
        """Topics mode or the classic one, from OPERATOR_TOPICS and getMe; False after halting when it may not start."""
        setting = self.config.operator_topics
        if setting == "off":
            self.topics = False
            return True
        try:
            has_topics = bool(self.client.get_me().get("has_topics_enabled"))
        except Exception as exc:  # noqa: BLE001 - sorted below
            failure = classify(exc)
            if failure.kind == "unauthorized":
                log.error("Telegram не принимает токен бота (TELEGRAM_BOT_TOKEN). Впишите верный токен из"
                          " @BotFather в .env; бот остановлен, run.bat попробует снова через несколько минут.")
                self.halt(EXIT_TOKEN_REJECTED)
                return False
            with storage.transaction() as tx:  # no answer now: carry on as the last run did
                has_topics = tx.state("topics") == "on"
            log.warning("Не удалось спросить Telegram, включены ли темы (%s); бот работает %s, как в прошлый раз.",
                        failure.description, "с темами" if has_topics else "без тем")
        mode = topics_mode(setting, has_topics)
        if mode is None:
            log.error(texts.TOPICS_REQUIRED)
            self.halt(EXIT_CONFIG)
            return False
        self.topics = mode
        log.info("topics mode: %s", "on" if mode else "off")
        return True

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
        log.error("Файл FAQ не загружен: %s. Бот отвечает по последнему исправному (записей: %d); исправьте"
                  " файл (проверка: run.bat check).", problem, len(self.faq.matcher.entries))
        handlers.tell_operators(ctx, texts.FAQ_BROKEN.format(problem=problem))

    # --- running -----------------------------------------------------------------

    def wake_processor(self) -> None:
        """Tell the processor something new waits in the inbox (an action from the panel)."""
        with self.inbox_cond:
            self.inbox_cond.notify_all()

    def _backup_if_due(self) -> None:
        try:
            ops.maybe_backup(self.config, datetime.now())  # logs the new file itself
        except (sqlite3.Error, OSError) as exc:
            log.error("Не удалось сделать резервную копию базы (%s). Бот попробует снова через час; проверьте"
                      " место на диске и папку %s.", ops.describe_error(exc), ops.backup_folder(self.config))
            try:
                storage = Storage(self.config.database)
            except (sqlite3.Error, NewerSchema):
                return
            try:
                remember_for_report(storage, report.BACKUP_FAILED_KEY, str(time.time()))
            finally:
                storage.close()

    def run(self) -> int:
        """Run until a signal or a fatal condition; return the exit code."""
        storage = Storage(self.config.database)
        self.sender.on_database_error = self._database_broken
        if not self._decide_topics(storage):
            storage.close()
            return self.exit_code
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
        panel = None
        if self.config.panel_enabled:  # Flask is loaded only for a panel that runs (about 20 MB)
            from .panel.serve import start_panel

            panel = start_panel(self.config, self.wake_processor)
        log.info("supportbot started: %d seats, database %s", len(self.config.pins), self.config.database)
        next_backup = 0.0
        while not self.stop.wait(0.5):  # a timed wait keeps Ctrl+C responsive on Windows
            if not all(t.is_alive() for t in threads + self.sender.threads) and not self.stop.is_set():
                log.error("Внутренняя ошибка бота: один из его потоков остановился. Бот перезапустится сам"
                          " (run.bat); если это повторяется, сообщите разработчику, приложив журнал.")
                self.halt(1)
            if time.monotonic() >= next_backup:
                next_backup = time.monotonic() + BACKUP_CHECK_SECONDS
                self._backup_if_due()
        if panel is not None:
            panel.close()
        threads[1].join(STOP_GRACE_SECONDS)
        self.sender.stop(STOP_GRACE_SECONDS)
        log.info("supportbot stopped")
        return self.exit_code


def decode(row: InboxRow) -> Event | None:
    """Turn an inbox row into an event (None for kinds the bot ignores)."""
    payload = json.loads(row.payload)
    if row.kind == "delivery_failure":
        return DeliveryFailure(**payload)
    if row.kind == "topic_recreated":
        return TopicRecreated(chat_id=payload["chat_id"], dialog_id=payload["dialog_id"])
    if row.kind == "panel_action":
        return handlers.panel.PanelAction.from_payload(payload)
    return parse_update(payload)


def remember_for_report(storage: Storage, key: str, value: str) -> None:
    """Keep a trouble the daily report should mention (a long loss of Telegram, a failed backup)."""
    try:
        with storage.transaction() as tx:
            tx.set_state(key, value)
    except sqlite3.Error:
        log.debug("could not remember %s for the report", key, exc_info=True)


def _faq_options(config: Config) -> dict:
    return {} if config.faq_min_score is None else {"min_score": config.faq_min_score}


def start_logging(config: Config) -> None:
    """Set up the log and say what in .env looked odd (before anything opens the database)."""
    setup_logging(config)
    for warning in config.warnings:
        log.warning(warning)


def run(config: Config) -> int:
    """Start the bot on an SQLite file unless another copy holds it; return the exit code.

    (On PostgreSQL copies share the database as active and standby: `active.run_active_or_standby`.)
    """
    start_logging(config)
    lock = InstanceLock(config.database_path.with_name(config.database_path.name + ".lock"))
    if not lock.acquire():
        log.error("Бот уже запущен с этой базой данных (%s): второй экземпляр не запускается. Закройте лишнее"
                  " окно бота; run.bat попробует снова через несколько минут.", config.database_path)
        return EXIT_ALREADY_RUNNING
    try:
        problem = open_database_problem(config)
        if problem is not None:
            log.error(problem)
            return EXIT_DATABASE
        bot = Bot(config)
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):  # SIGBREAK: Ctrl+Break / closing the console on Windows
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), lambda *_: bot.halt(EXIT_OK))
        try:
            return bot.run()
        except sqlite3.Error as exc:  # at start-up, before the threads guard themselves
            if not database_damaged(exc):
                raise
            log.error(ops.damaged_database_line(config.database_path, exc))
            return EXIT_DATABASE
    finally:
        lock.release()


def open_database_problem(config: Config) -> str | None:
    """Open (create, migrate) the database once; the owner's one line if the file is damaged, else None."""
    try:
        Storage(config.database).close()
    except sqlite3.Error as exc:
        if not database_damaged(exc):
            raise
        return ops.damaged_database_line(config.database_path, exc)
    except NewerSchema as exc:
        return ops.newer_database_line(config.database_path, exc.version)
    return None
