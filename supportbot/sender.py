"""Delivers the outbox: paced, per-chat ordered, retried, never dropped silently.

One scheduler thread owns a database connection and the in-memory view of
pending rows (backlog.py: a queue per chat); a few worker threads only make HTTP calls.
Each chat has at most one call in flight, so its messages arrive in order,
while other chats go on. Pacing (a global and a per-chat token bucket) keeps
under Telegram's limits; a 429 pauses that chat for exactly retry_after.

Only a row's own problem sets it aside: a 400 that retrying cannot fix, a 403
for its chat. A rejected token (401/404), a conflict (409), 5xx answers and
network errors pause all sending (1 s growing to 5 s) and touch no row, so
nothing waiting is lost while the owner fixes the token or Telegram is down.

When an operator's chat has more waiting than its limit lets through now, the
customers' plain texts at the head of its queue are combined: each customer's
into one message (header once, texts in order, at most 4,096 characters). Every
outbox row merged into it is recorded with the message id Telegram returned, so
a reply to the combined message reaches that customer.

Topics (an operator's chat split into a topic per dialog): a row's `topic_of` is
turned into the topic's thread id when the row is handed out, so a topic opened by
an earlier row of the chat is used by the rows after it. A CreateTopic row's thread
id is recorded with the row's outcome. A send refused with "message thread not
found" (the operator deleted the topic) opens a new topic there and then, sends
the row into it, and leaves a `topic_recreated` event in the inbox, so the
handlers can show the dialog's recent messages again; if no topic can be opened
(topics switched off meanwhile), the row goes without one.

On PostgreSQL two copies of the bot may briefly overlap (one losing its lock as the
other takes it): each sender claims the rows it loads (`Storage.claim_outbox`) and
sends only those; rows another live sender claimed are looked at again every
second until that sender is gone, and every 30 s in any case.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import pacing
from .backlog import Backlog
from .storage import OutboxRow, Storage
from .telegram import ApiFailure, Backoff, NewTopic, TelegramClient, classify, thread_gone

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0  # for the sender's own database trouble, not Telegram's
MAX_BAD_REQUEST_TRIES = 3
SENT_IDS_KEPT = 10_000
PER_CHAT_BURST = 3
RESCAN_SECONDS = (1.0, 30.0)  # PostgreSQL: look again for rows freed by another sender (while one is alive, else)
# Failures that say nothing about the row: pause all sending and try the same row again.
NOT_THE_ROWS_FAULT = ("network", "server", "unauthorized", "conflict")


@dataclass(frozen=True)
class Topic:
    """The topic a call goes into: its dialog and name, to open it again if it is gone."""
    dialog_id: int
    name: str


@dataclass(frozen=True)
class Job:
    """One API call: `call` is what is sent; `rows` are the outbox rows it delivers (several when combined)."""
    call: OutboxRow
    rows: tuple[OutboxRow, ...]
    dispatched_at: float = 0.0
    topic: Topic | None = None


@dataclass
class Outcome:
    job: Job
    result_message_id: int | list[int] | NewTopic | None = None
    failure: ApiFailure | None = None
    finished_at: float = 0.0
    reopened: tuple[int | None] | None = None  # (new thread id or None) when the call found its topic gone

    @property
    def row(self) -> OutboxRow:
        return self.job.rows[0]


class Sender:
    """The outbox's delivery service; `wake()` after committing new rows."""

    def __init__(self, db_path, client: TelegramClient, *, rate_per_second: float, workers: int = 4,
                 per_chat_rate: float = 1.0, per_chat_burst: int = PER_CHAT_BURST,
                 clock: Callable[[], float] = time.monotonic):
        self.db_path = db_path
        self.client = client
        self.clock = clock
        self.workers = workers
        self.per_chat_rate, self.per_chat_burst = per_chat_rate, per_chat_burst
        self.cond = threading.Condition()
        self.new_rows = True
        self.stopping = False
        self.outcomes: list[Outcome] = []
        self.backlog = Backlog()
        self.in_flight: set[int] = set()
        self.ready_at: dict[int, float] = {}
        self.buckets: dict[int, pacing.TokenBucket] = {}
        self.global_bucket = pacing.TokenBucket(rate_per_second, max(1.0, rate_per_second), clock())
        self.paused_until = 0.0
        self.sent_ids: dict[int, int | None] = {}
        self.unwritten: list[dict] = []
        self.last_429: tuple[int | None, float] = (None, float("-inf"))
        self.backoff = Backoff()
        self.outage_since: float | None = None
        self.owner: int | None = None  # this sender's claim key on PostgreSQL (None on SQLite)
        self.rescan_at = float("inf")
        # Thread ids learnt from calls but not yet written: (dialog id, chat id) -> thread id or None.
        self.topic_threads: dict[tuple[int, int], int | None] = {}
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.threads: list[threading.Thread] = []
        # Told about database errors; True means "stop" (the file is damaged: retrying cannot help).
        self.on_database_error: Callable[[Exception], bool] | None = None

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and the worker threads."""
        self.threads = [threading.Thread(target=self._run, name="sender", daemon=True)]
        self.threads += [threading.Thread(target=self._work, name=f"sender-{i}", daemon=True)
                         for i in range(self.workers)]
        for thread in self.threads:
            thread.start()

    def wake(self) -> None:
        """Tell the scheduler that new outbox rows were committed."""
        with self.cond:
            self.new_rows = True
            self.cond.notify_all()

    def stop(self, timeout: float) -> None:
        """Let calls in flight finish and record their outcome; pending rows stay for the next start."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # --- the scheduler ------------------------------------------------------------

    def _run(self) -> None:
        storage = Storage(self.db_path, synchronous="NORMAL")  # a lost "sent" mark only means a resend
        self.storage = storage
        backoff = 0.0
        try:
            self.owner = storage.sender_key()
            if self.owner is not None:
                self.rescan_at = self.clock() + RESCAN_SECONDS[1]
            while True:
                try:
                    if self._step(storage):
                        break
                    backoff = 0.0
                except Exception as exc:  # noqa: BLE001 - a database hiccup must not end all sending
                    if self.on_database_error is not None and self.on_database_error(exc):
                        break
                    backoff = min(MAX_BACKOFF, backoff * 2 if backoff else 1.0)
                    log.error("Отправка не смогла записать свои результаты в базу данных (%s); повтор через %.0f с."
                              " Если это повторяется, проверьте место на диске и выполните run.bat check.",
                              type(exc).__name__, backoff)
                    log.debug("the sender could not record its work", exc_info=True)
                    deadline = time.monotonic() + backoff
                    with self.cond:
                        while not self.stopping and time.monotonic() < deadline:
                            self.cond.wait(deadline - time.monotonic())
        finally:
            for _ in range(self.workers):
                self.jobs.put(None)
            storage.close()

    def _step(self, storage: Storage) -> bool:
        """One turn of the scheduler; True when it is time to stop."""
        with self.cond:
            if self.stopping and not self.in_flight and not self.outcomes and not self.unwritten:
                return True
            outcomes, self.outcomes = self.outcomes, []
            load = self.new_rows
            self.new_rows = False
            writes = self._settle(outcomes)
        if writes:
            self.unwritten.append(writes)
        if load:
            self._load(storage, self.backlog.last_loaded)
        if self.clock() >= self.rescan_at:
            self._load(storage, 0)
        with self.cond:
            # Hand out the next calls before writing: the write may wait for the processor's lock.
            delay = None if self.stopping else self._dispatch()
            if self.owner is not None:
                until_rescan = max(0.0, self.rescan_at - self.clock())
                delay = until_rescan if delay is None else min(delay, until_rescan)
        while self.unwritten:  # kept until written, so a failed write is retried, not forgotten
            storage.record_deliveries(now=time.time(), **self.unwritten[0])
            with self.cond:
                for dialog_id, chat_id, thread_id in self.unwritten[0]["topics"]:
                    if self.topic_threads.get((dialog_id, chat_id), -1) == thread_id:
                        del self.topic_threads[(dialog_id, chat_id)]  # the database knows it now
            for outbox_id, error, _event in self.unwritten.pop(0)["failed"]:
                log.warning("Сообщение (строка очереди %s) не доставлено и отложено: %s. Делать ничего не нужно:"
                            " бот сообщил об этом оператору.", outbox_id, error)
        with self.cond:
            if not self.outcomes and not self.new_rows:
                self.cond.wait(0.5 if self.stopping else delay)
        return False

    def _load(self, storage: Storage, after_id: int) -> None:
        """Take the pending rows past after_id that are this sender's to send (all of them on SQLite)."""
        rows, others = storage.claim_outbox(self.owner, after_id)
        relays = storage.relayed_texts(rows[0].id - 1, rows[-1].id) if rows else {}
        if self.owner is not None:  # a fixed cadence: loads of new rows never put a rescan off
            soon = self.clock() + RESCAN_SECONDS[0]
            if after_id == 0:
                self.rescan_at = soon if others else self.clock() + RESCAN_SECONDS[1]
            elif others:
                self.rescan_at = min(self.rescan_at, soon)
        with self.cond:
            self.backlog.add(rows, relays, self.in_flight)
        if len(rows) == 1000:
            self.wake()

    def _dispatch(self) -> float | None:
        """Hand every ready chat's head row to a worker; return how long to wait for the next one."""
        now = self.clock()
        if self.paused_until > now:
            return self.paused_until - now
        wait: float | None = None
        for chat_id in self.backlog.chats_in_order():
            if chat_id in self.in_flight:
                continue
            ready = self.ready_at.get(chat_id, 0.0)
            if ready > now:
                wait = _earliest(wait, ready - now)
                continue
            bucket = self.buckets.get(chat_id)
            if bucket is None:
                bucket = self.buckets[chat_id] = pacing.TokenBucket(self.per_chat_rate, self.per_chat_burst, now)
            chat_wait = bucket.wait_time(now)
            if chat_wait:
                wait = _earliest(wait, chat_wait)
                continue
            global_wait = self.global_bucket.wait_time(now)
            if global_wait:
                return _earliest(wait, global_wait)
            job = self._job(chat_id, bucket)
            bucket.take()
            self.global_bucket.take()
            self.in_flight.add(chat_id)
            self.jobs.put(job)
        return wait

    def _job(self, chat_id: int, bucket: pacing.TokenBucket) -> Job:
        """The chat's next call: its head row, or the head customer's texts combined (Backlog.next_call)."""
        now = self.clock()
        taken, text = self.backlog.next_call(chat_id, bucket.tokens)
        head = taken[0]
        if text is None:
            return self._single(head, now)
        call = OutboxRow(head.id, head.chat_id, "SendText", {"text": text, "topic_of": head.payload.get("topic_of")},
                         head.message_id, head.attempts)
        call, topic = self._resolved(call)
        return Job(call, tuple(taken), now, topic)

    def _single(self, row: OutboxRow, now: float) -> Job:
        call, topic = self._resolved(row)
        return Job(call, (row,), now, topic)

    def _resolved(self, row: OutboxRow) -> tuple[OutboxRow, Topic | None]:
        """Fill in message ids that earlier rows of this chat produced (replies and edits refer to them), and the
        thread id of the topic the row goes into (with that topic, to open it again if it is gone)."""
        payload = dict(row.payload)
        for reference, key in (("reply_to_outbox", "reply_to_message_id"), ("target_outbox", "message_id")):
            if payload.get(reference) is not None:
                outbox_id = payload.pop(reference)
                payload[key] = (self.sent_ids[outbox_id] if outbox_id in self.sent_ids
                                else self.storage.sent_message_id(outbox_id))
        dialog_id = payload.get("dialog_id") if row.kind == "EditTopic" else payload.get("topic_of")
        topic = None
        if dialog_id is not None and row.kind != "CreateTopic":
            thread_id, name = self._topic_thread(dialog_id, row.chat_id)
            payload["message_thread_id"] = thread_id
            if thread_id is not None and row.kind != "EditTopic":
                topic = Topic(dialog_id, name)
        return OutboxRow(row.id, row.chat_id, row.kind, payload, row.message_id, row.attempts), topic

    def _topic_thread(self, dialog_id: int, chat_id: int) -> tuple[int | None, str]:
        """(thread id or None, name) of a dialog's topic in a chat, counting what is not written yet."""
        found = self.storage.dialog_topic(dialog_id, chat_id)
        thread_id, name = found if found is not None else (None, "")
        return self.topic_threads.get((dialog_id, chat_id), thread_id), name

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            row = job.call
            outcome = Outcome(job)
            try:
                outcome.result_message_id = self._perform(job, outcome)
            except Exception as exc:  # noqa: BLE001 - every failure is sorted, none may kill the worker
                try:
                    failure = classify(exc)
                except Exception:  # not an API error: a bug or a payload we cannot send
                    log.error("Не удалось отправить сообщение (строка очереди %s): ошибка программы %s;"
                              " оно отложено. Сообщите разработчику, приложив журнал.", row.id, type(exc).__name__)
                    log.debug("sending outbox row %s failed", row.id, exc_info=True)
                    failure = ApiFailure("bad_request", type(exc).__name__)
                outcome.failure = failure
            outcome.finished_at = self.clock()
            with self.cond:
                self.outcomes.append(outcome)
                self.cond.notify_all()

    def _perform(self, job: Job, outcome: Outcome):
        """Make the job's call; if its topic is gone, open a new one (noted in the outcome) and send it there."""
        row = job.call
        try:
            return self.client.perform(row.kind, row.chat_id, row.payload)
        except Exception as exc:  # noqa: BLE001 - anything but a missing topic goes to the caller
            if job.topic is None or not thread_gone(exc):
                raise
        log.info("the topic of dialog %s in chat %s is gone; opening a new one", job.topic.dialog_id, row.chat_id)
        try:
            thread_id = self.client.create_topic(row.chat_id, job.topic.name)
        except Exception as exc:  # noqa: BLE001 - sorted: only a refusal means "no topics here now"
            if classify(exc).kind != "bad_request":
                raise
            log.info("could not open a new topic in chat %s (%s): sending without one", row.chat_id, exc)
            thread_id = None
        outcome.reopened = (thread_id,)
        return self.client.perform(row.kind, row.chat_id, dict(row.payload, message_thread_id=thread_id))

    # --- outcomes --------------------------------------------------------------------

    def _settle(self, outcomes: list[Outcome]) -> dict | None:
        """Apply call outcomes to the in-memory queues (caller holds the lock); return the rows to write."""
        if not outcomes:
            return None
        now = self.clock()
        sent, retries, failed, album_ids, topics, recreated = [], [], [], [], [], []
        for outcome in outcomes:
            row, failure, rows = outcome.row, outcome.failure, outcome.job.rows
            self.in_flight.discard(row.chat_id)
            self._count_from_arrival(row.chat_id, outcome)
            topic = self._topic_outcome(outcome)
            if topic is not None:
                topics.append(topic)
                self.topic_threads[topic[:2]] = topic[2]
                if outcome.reopened is not None and topic[2] is not None:
                    recreated.append((row.chat_id, topic[0]))
            if failure is None:
                first = outcome.result_message_id
                if isinstance(first, NewTopic):
                    first = None
                if isinstance(first, list):  # an album: the first id stands for the row, the rest are kept too
                    album_ids += [(row.id, row.chat_id, later) for later in first[1:]]
                    first = first[0]
                for done in rows:  # a combined message: every row in it answers to its message id
                    sent.append((done.id, first))
                    self._remember_sent(done.id, first)
                    self.backlog.remove(done)
                self._outage_over(now)
            elif failure.kind in NOT_THE_ROWS_FAULT:
                self._outage(now, failure)
            elif failure.kind == "rate":
                self._slow_down(row.chat_id, failure.retry_after, now)
            elif failure.kind == "blocked":
                event = _failure_event(row, failure)
                self.ready_at.pop(row.chat_id, None)
                for dropped in self.backlog.drop_chat(row.chat_id):  # every later row would get 403 as well
                    failed.append((dropped.id, failure.description, event if dropped.id == row.id else None))
            elif len(rows) > 1:  # the combined message was refused: not the rows' fault, send them one by one
                log.info("a combined message to chat %s was refused (%s); sending its parts one by one",
                         row.chat_id, failure.description)
                self.backlog.one_by_one(rows)
            elif row.attempts + 1 >= MAX_BAD_REQUEST_TRIES:
                failed.append((row.id, failure.description, _failure_event(row, failure)))
                self.backlog.remove(row)
            else:
                retries.append((row.id, failure.description))
                self.backlog.count_attempt(row)
                self.ready_at[row.chat_id] = now + 2.0
        return {"sent": sent, "retries": retries, "failed": failed, "album_ids": album_ids, "topics": topics,
                "recreated": recreated}

    @staticmethod
    def _topic_outcome(outcome: Outcome) -> tuple[int, int, int | None] | None:
        """(dialog id, chat id, thread id) a call gave a dialog's topic: opened by a CreateTopic, or again."""
        row = outcome.job.call
        if isinstance(outcome.result_message_id, NewTopic):
            return row.payload["dialog_id"], row.chat_id, outcome.result_message_id.thread_id
        if outcome.reopened is not None:
            return outcome.job.topic.dialog_id, row.chat_id, outcome.reopened[0]
        return None

    def _count_from_arrival(self, chat_id: int, outcome: Outcome) -> None:
        """Count the chat's token as taken when the call finished, not when it was handed out.

        Telegram counts a message when it arrives; a call that travelled slower than the next one
        would otherwise make two sends a second apart here arrive less than a second apart there (429).
        """
        bucket = self.buckets.get(chat_id)
        if bucket is not None and outcome.finished_at > outcome.job.dispatched_at:
            bucket.wait_time(outcome.finished_at)
            bucket.tokens -= (outcome.finished_at - outcome.job.dispatched_at) * bucket.rate

    def _remember_sent(self, outbox_id: int, message_id: int | None) -> None:
        # Replies and edits of later rows refer to this one before its "sent" mark is written.
        self.sent_ids[outbox_id] = message_id
        if len(self.sent_ids) > SENT_IDS_KEPT:
            del self.sent_ids[next(iter(self.sent_ids))]

    def _slow_down(self, chat_id: int, retry_after: float, now: float) -> None:
        """Wait exactly retry_after for this chat; a 429 for two chats within a second means the limit is global."""
        self.ready_at[chat_id] = now + retry_after
        last_chat, last_at = self.last_429
        if last_chat != chat_id and now - last_at < 1.0:
            self.paused_until = max(self.paused_until, now + retry_after)
            log.warning("Telegram просит писать реже: вся отправка приостановлена на %s с. Ничего не теряется,"
                        " делать ничего не нужно.", retry_after)
        else:
            log.info("Telegram asked to slow down for chat %s: retry after %ss", chat_id, retry_after)
        self.last_429 = (chat_id, now)

    def _outage(self, now: float, failure: ApiFailure) -> None:
        """Pause all sending; rows stay as they are. Calls already in flight do not lengthen the pause."""
        if self.paused_until <= now:
            self.paused_until = now + self.backoff.next()
        if self.outage_since is None:
            self.outage_since = now
            if failure.kind == "unauthorized":
                log.error("Telegram не принимает токен бота (%s). Сообщения ждут в очереди и не теряются:"
                          " проверьте TELEGRAM_BOT_TOKEN в .env (токен выдаёт @BotFather) и перезапустите бота.",
                          failure.description)
            else:
                log.warning("Нет связи с Telegram при отправке (%s). Сообщения ждут в очереди и уйдут сами,"
                            " когда связь вернётся; если это надолго, проверьте интернет.", failure.description)

    def _outage_over(self, now: float) -> None:
        self.backoff.reset()
        if self.outage_since is not None:
            log.warning("Отправка снова работает (перерыв %.0f с).", now - self.outage_since)
            self.outage_since = None


def _failure_event(row: OutboxRow, failure: ApiFailure) -> dict:
    return {"chat_id": row.chat_id, "outbox_id": row.id, "blocked": failure.kind == "blocked",
            "error": failure.description}


def _earliest(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)
