"""Delivers the outbox: paced, per-chat ordered, retried, never dropped silently.

One scheduler thread owns a database connection and the in-memory view of
pending rows (a queue per chat); a few worker threads only make HTTP calls.
Each chat has at most one call in flight, so its messages arrive in order,
while other chats go on. Pacing (a global and a per-chat token bucket) keeps
under Telegram's limits; a 429 pauses that chat for exactly retry_after.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .storage import OutboxRow, Storage
from .telegram import ApiFailure, TelegramClient, classify

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
MAX_BAD_REQUEST_TRIES = 3
SENT_IDS_KEPT = 10_000
PER_CHAT_BURST = 3


class TokenBucket:
    """A rate limit with bursts; time is passed in."""

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class Outcome:
    row: OutboxRow
    result_message_id: int | list[int] | None = None
    failure: ApiFailure | None = None


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
        self.chats: dict[int, deque[OutboxRow]] = {}
        self.in_flight: set[int] = set()
        self.ready_at: dict[int, float] = {}
        self.buckets: dict[int, TokenBucket] = {}
        self.global_bucket = TokenBucket(rate_per_second, max(1.0, rate_per_second), clock())
        self.paused_until = 0.0
        self.sent_ids: dict[int, int | None] = {}
        self.unwritten: list[dict] = []
        self.last_429: tuple[int | None, float] = (None, float("-inf"))
        self.backoff = 0.0
        self.outage_since: float | None = None
        self.last_loaded = 0
        self.jobs: queue.Queue[OutboxRow | None] = queue.Queue()
        self.threads: list[threading.Thread] = []

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
            while True:
                try:
                    if self._step(storage):
                        break
                    backoff = 0.0
                except Exception:  # noqa: BLE001 - a database hiccup must not end all sending
                    log.exception("the sender could not record its work; retrying")
                    backoff = min(MAX_BACKOFF, backoff * 2 if backoff else 1.0)
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
            self._load(storage)
        with self.cond:
            # Hand out the next calls before writing: the write may wait for the processor's lock.
            delay = None if self.stopping else self._dispatch()
        while self.unwritten:  # kept until written, so a failed write is retried, not forgotten
            storage.record_deliveries(now=time.time(), **self.unwritten[0])
            for outbox_id, error, _event in self.unwritten.pop(0)["failed"]:
                log.warning("outbox row %s set aside: %s", outbox_id, error)
        with self.cond:
            if not self.outcomes and not self.new_rows:
                self.cond.wait(0.5 if self.stopping else delay)
        return False

    def _load(self, storage: Storage) -> None:
        rows = storage.pending_outbox(self.last_loaded)
        with self.cond:
            for row in rows:
                self.chats.setdefault(row.chat_id, deque()).append(row)
                self.last_loaded = row.id
        if len(rows) == 1000:
            self.wake()

    def _dispatch(self) -> float | None:
        """Hand every ready chat's head row to a worker; return how long to wait for the next one."""
        now = self.clock()
        if self.paused_until > now:
            return self.paused_until - now
        wait: float | None = None
        for chat_id in sorted(self.chats, key=lambda c: self.chats[c][0].id):
            if chat_id in self.in_flight:
                continue
            ready = self.ready_at.get(chat_id, 0.0)
            if ready > now:
                wait = _earliest(wait, ready - now)
                continue
            bucket = self.buckets.get(chat_id)
            if bucket is None:
                bucket = self.buckets[chat_id] = TokenBucket(self.per_chat_rate, self.per_chat_burst, now)
            chat_wait = bucket.wait_time(now)
            if chat_wait:
                wait = _earliest(wait, chat_wait)
                continue
            global_wait = self.global_bucket.wait_time(now)
            if global_wait:
                return _earliest(wait, global_wait)
            bucket.take()
            self.global_bucket.take()
            self.in_flight.add(chat_id)
            self.jobs.put(self._resolved(self.chats[chat_id][0]))
        return wait

    def _resolved(self, row: OutboxRow) -> OutboxRow:
        """Fill in message ids that earlier rows of this chat produced (replies and edits refer to them)."""
        payload = dict(row.payload)
        for reference, key in (("reply_to_outbox", "reply_to_message_id"), ("target_outbox", "message_id")):
            if payload.get(reference) is not None:
                outbox_id = payload.pop(reference)
                payload[key] = (self.sent_ids[outbox_id] if outbox_id in self.sent_ids
                                else self.storage.sent_message_id(outbox_id))
        return OutboxRow(row.id, row.chat_id, row.kind, payload, row.message_id, row.attempts)

    def _work(self) -> None:
        while True:
            row = self.jobs.get()
            if row is None:
                return
            try:
                outcome = Outcome(row, result_message_id=self.client.perform(row.kind, row.chat_id, row.payload))
            except Exception as exc:  # noqa: BLE001 - every failure is sorted, none may kill the worker
                try:
                    failure = classify(exc)
                except Exception:  # not an API error: a bug or a payload we cannot send
                    log.exception("sending outbox row %s failed", row.id)
                    failure = ApiFailure("bad_request", f"{type(exc).__name__}: {exc}")
                outcome = Outcome(row, failure=failure)
            with self.cond:
                self.outcomes.append(outcome)
                self.cond.notify_all()

    # --- outcomes --------------------------------------------------------------------

    def _settle(self, outcomes: list[Outcome]) -> dict | None:
        """Apply call outcomes to the in-memory queues (caller holds the lock); return the rows to write."""
        if not outcomes:
            return None
        now = self.clock()
        sent, retries, failed, album_ids = [], [], [], []
        for outcome in outcomes:
            row, failure = outcome.row, outcome.failure
            self.in_flight.discard(row.chat_id)
            if failure is None:
                first = outcome.result_message_id
                if isinstance(first, list):  # an album: the first id stands for the row, the rest are kept too
                    album_ids += [(row.id, row.chat_id, later) for later in first[1:]]
                    first = first[0]
                sent.append((row.id, first))
                self._remember_sent(row.id, first)
                self._pop(row)
                self._outage_over(now)
            elif failure.kind in ("network", "server"):
                self._outage(now, failure)
            elif failure.kind == "rate":
                self._slow_down(row.chat_id, failure.retry_after, now)
            elif failure.kind == "blocked":
                event = _failure_event(row, failure)
                for dropped in self._drop_chat(row.chat_id):  # every later row would get 403 as well
                    failed.append((dropped.id, failure.description, event if dropped.id == row.id else None))
            elif row.attempts + 1 >= MAX_BAD_REQUEST_TRIES or failure.kind in ("unauthorized", "conflict"):
                failed.append((row.id, failure.description, _failure_event(row, failure)))
                self._pop(row)
            else:
                retries.append((row.id, failure.description))
                self._replace_head(row)
                self.ready_at[row.chat_id] = now + 2.0
        return {"sent": sent, "retries": retries, "failed": failed, "album_ids": album_ids}

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
            log.warning("Telegram asked to slow down overall: pausing all sending for %ss", retry_after)
        else:
            log.warning("Telegram asked to slow down for chat %s: retry after %ss", chat_id, retry_after)
        self.last_429 = (chat_id, now)

    def _pop(self, row: OutboxRow) -> None:
        queue_ = self.chats.get(row.chat_id)
        if queue_ and queue_[0].id == row.id:
            queue_.popleft()
            if not queue_:
                del self.chats[row.chat_id]

    def _replace_head(self, row: OutboxRow) -> None:
        queue_ = self.chats[row.chat_id]
        queue_[0] = OutboxRow(row.id, row.chat_id, row.kind, row.payload, row.message_id, row.attempts + 1)

    def _drop_chat(self, chat_id: int) -> list[OutboxRow]:
        self.ready_at.pop(chat_id, None)
        return list(self.chats.pop(chat_id, ()))

    def _outage(self, now: float, failure: ApiFailure) -> None:
        self.backoff = min(MAX_BACKOFF, self.backoff * 2 if self.backoff else 1.0)
        self.paused_until = now + self.backoff
        if self.outage_since is None:
            self.outage_since = now
            log.warning("cannot reach Telegram to send (%s); retrying with backoff", failure.description)

    def _outage_over(self, now: float) -> None:
        self.backoff = 0.0
        if self.outage_since is not None:
            log.warning("sending works again after %.0f s", now - self.outage_since)
            self.outage_since = None


def _failure_event(row: OutboxRow, failure: ApiFailure) -> dict:
    return {"chat_id": row.chat_id, "outbox_id": row.id, "blocked": failure.kind == "blocked",
            "error": failure.description}


def _earliest(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)
