"""Helpers for the end-to-end benchmark (`python -m tests.bench`): an instrumented fake Bot API,
bot processes, /proc readings, percentiles and a fast seeder for a large history.

Boundary: this module drives the real bot only from outside (HTTP through the fake, its
database file read-only while it runs, /proc); it imports nothing from supportbot except
Storage, to let the bot create its own schema before the seeder fills it.
"""
from __future__ import annotations

import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, Sequence

from supportbot.storage import Storage
from tests.botproc import BotProcess
from tests.fakegram import ApiError, FakeTelegram

# A marker customers put in their text; the relay to the operator carries it verbatim.
MARK = re.compile(r"qz(\d+)qz")
RELAY_METHODS = ("sendMessage", "copyMessage")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def marked(number: int, words: str = "") -> str:
    """A customer's text carrying `number`; FAQ-proof nonsense so no FAQ answer is added."""
    return f"qz{number}qz {words}".strip()


@dataclass(frozen=True)
class Marks:
    """What BenchTelegram recorded, copied out under its lock."""
    pushed: dict[int, float]
    relayed: dict[int, tuple[float, int]]
    sends: list[tuple[float, int, str, str]]
    polls: list[float]
    send_attempts: int
    send_429: int
    last_push: float


class BenchTelegram(FakeTelegram):
    """The fake Bot API with cheap bookkeeping for timing.

    Records, under the fake's own lock and with time.monotonic(): when a marked customer
    message became available to getUpdates, when the bot's send carrying that mark arrived,
    every send (ok or not) and every getUpdates call. FakeTelegram.calls_to copies the whole
    call list, far too slow to poll while thousands of calls arrive.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reset_marks()

    def reset_marks(self) -> None:
        """Forget what was recorded (chats and updates are kept)."""
        with self._cond:
            self.pushed: dict[int, float] = {}
            self.relayed: dict[int, tuple[float, int]] = {}
            self.sends: list[tuple[float, int, str, str]] = []  # (time, chat_id, method, text) of accepted sends
            self.send_attempts = 0
            self.send_429 = 0
            self.polls: list[float] = []
            self.last_push = 0.0

    def _push(self, kind, obj):
        self.last_push = time.monotonic()
        if kind == "message":
            found = MARK.search(obj.get("text") or "")
            if found:
                self.pushed[int(found.group(1))] = time.monotonic()
        super()._push(kind, obj)

    def _dispatch(self, method, params, sock):
        now = time.monotonic()
        if method == "getUpdates":
            self.polls.append(now)
            return super()._dispatch(method, params, sock)
        if not method.startswith("send") and method not in RELAY_METHODS:
            return super()._dispatch(method, params, sock)
        self.send_attempts += 1
        try:
            result = super()._dispatch(method, params, sock)
        except ApiError as exc:
            if exc.code == 429:
                self.send_429 += 1
            raise
        chat_id = int(params.get("chat_id"))
        text = str(params.get("text") or params.get("caption") or "")
        self.sends.append((now, chat_id, method, text))
        for found in MARK.finditer(text):  # a combined backlog message carries several
            self.relayed.setdefault(int(found.group(1)), (now, chat_id))
        return result

    def count(self, what: str) -> int:
        """How many entries one record has ("pushed", "relayed", "sends", "polls")."""
        with self._cond:
            return len(getattr(self, what))

    def snapshot(self) -> "Marks":
        """A consistent copy of what was recorded."""
        with self._cond:
            return Marks(dict(self.pushed), dict(self.relayed), list(self.sends), list(self.polls),
                         self.send_attempts, self.send_429, self.last_push)

    def sends_to(self, chat_ids, since: float = 0.0) -> list[tuple[float, int, str, str]]:
        """Accepted sends to any of `chat_ids` at or after `since`."""
        wanted = set(chat_ids)
        with self._cond:
            return [s for s in self.sends if s[1] in wanted and s[0] >= since]


# --- bot processes --------------------------------------------------------------------------

def pins(count: int) -> list[str]:
    """`count` distinct PINs."""
    return [f"{1000 + n:04d}" for n in range(1, count + 1)]


def make_bot(workdir: Path, api: BenchTelegram, *, pin_list: Sequence[str], database=None,
             **settings: str) -> BotProcess:
    """A bot process with the bot's own defaults unless `settings` say otherwise; `database`: the PostgreSQL
    database of an earlier bot (SUPPORTBOT_TEST_DB=postgresql), None for a fresh one.

    BotProcess (the tests' runner) raises SEND_RATE_PER_SECOND to 1000; a benchmark of the
    defaults must put 25 back.
    """
    env = {"SEND_RATE_PER_SECOND": "25", "LOG_LEVEL": "INFO"}
    env.update(settings)
    return BotProcess(workdir, api, pins=",".join(pin_list), database=database, **env)


def start_bot(bot: BotProcess, timeout: float = 30.0) -> float:
    """Start the bot; return seconds from process start to its first getUpdates at the fake."""
    api: BenchTelegram = bot.api
    before = api.count("polls")
    started = time.monotonic()
    bot.start(wait=False)
    api.wait_for(lambda: api.count("polls") > before or bot.proc.poll() is not None, timeout=timeout,
                 what="the bot's first getUpdates")
    if bot.proc.poll() is not None:
        raise RuntimeError(f"the bot exited with {bot.proc.returncode}:\n{bot.output()[-3000:]}")
    return api.snapshot().polls[before] - started


def settled(bot: BotProcess) -> bool:
    """Every update handed over is applied and every outbox row is sent or set aside."""
    if bot.api.pending_updates:
        return False
    row = bot.query("SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'new'),"
                    " (SELECT COUNT(*) FROM outbox WHERE status = 'pending')")[0]
    return row[0] == 0 and row[1] == 0


def wait_settled(bot: BotProcess, timeout: float, what: str = "the bot to apply and send everything") -> None:
    bot.api.wait_for(lambda: settled(bot), timeout=timeout, what=what)


def login_operators(api: BenchTelegram, bot: BotProcess, operators: Sequence[dict], pin_list: Sequence[str],
                    timeout: float = 60.0) -> None:
    """Log every operator in (operator i takes PIN i) and wait until their seats are taken."""
    for person, pin in zip(operators, pin_list):
        api.send_text(person, f"/operator {pin}")

    def all_seated():
        return bot.query("SELECT COUNT(*) FROM seats WHERE tg_user_id IS NOT NULL")[0][0] >= len(operators)
    api.wait_for(all_seated, timeout=timeout, what="every operator to take a seat")


def stop_bot(bot: BotProcess | None) -> None:
    """SIGTERM, then SIGKILL if it does not go within 10 s; never raises."""
    if bot is None or bot.proc is None:
        return
    try:
        bot.stop(timeout=10)
    except Exception:  # noqa: BLE001 - a stuck bot is killed instead
        bot.kill()


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def profiled(pid: int, name: str) -> Iterator[None]:
    """With BENCH_PROFILE_DIR set, sample the bot with py-spy while the block runs, into
    BENCH_PROFILE_DIR/<name>-<pid>.txt as collapsed stacks; otherwise do nothing."""
    folder = os.environ.get("BENCH_PROFILE_DIR")
    if not folder:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    out = Path(folder) / f"{name}-{pid}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    # BENCH_PROFILE_MODE: idle (every thread, waiting too), gil (only the thread holding the GIL), cpu.
    mode = os.environ.get("BENCH_PROFILE_MODE", "idle")
    idle = {"idle": ["--idle"], "gil": ["--gil"]}.get(mode, [])
    proc = subprocess.Popen([str(spy), "record", "--pid", str(pid), "--rate", "250", *idle, "--threads",
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # let py-spy attach before the measured work starts
    try:
        yield
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- /proc ----------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def machine_line() -> str:
    """CPU model, cores, Python version and the date, for the report's header."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"Machine: {model}, {cores} cores, Python {platform.python_version()} ({platform.system()}); "
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")


# --- statistics -----------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --- a large history --------------------------------------------------------------------------

FIRST_NAMES = ("Анна", "Ольга", "Иван", "Пётр", "Мария", "Сергей", "Елена", "Дмитрий", "Наталья", "Алексей",
               "Татьяна", "Андрей", "Ирина", "Михаил", "Светлана", "Николай")
WORDS = ("здравствуйте", "заказ", "доставка", "оплата", "когда", "сколько", "стоит", "размер", "вернуть",
         "товар", "курьер", "спасибо", "номер", "трек", "адрес", "магазин", "скидка", "карта", "чек", "цвет",
         "неделю", "сегодня", "завтра", "пожалуйста", "можно", "подскажите", "пришёл", "не", "да", "вот")
CUSTOMER_ID_BASE = 10_000_000
OPERATOR_NAMES = ("Ольга", "Пётр")


def seed_history(path: Path, *, customers: int, messages: int, heavy: int, queued: int,
                 seed: int = 20240601) -> dict:
    """Create the bot's schema at `path` and bulk-fill it: `customers` with two closed dialogs each,
    `messages` messages interleaved in time over two years (customer #1 has `heavy` of them), and a
    queue of `queued` customers (the last ones) waiting ten minutes with one unrelayed message each.

    Returns facts the benchmark needs (the heavy customer's number, the queued customers' ids).
    """
    Storage(path).close()  # the bot's own schema and migrations
    rng = random.Random(seed)
    now = time.time()
    start = now - 2 * 365 * 86400
    span = now - 3600 - start
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # bulk load; WAL is switched back on below
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO customers (id, tg_user_id, chat_id, first_name, username, created_at, last_auto_reply_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((c, CUSTOMER_ID_BASE + c, CUSTOMER_ID_BASE + c, rng.choice(FIRST_NAMES),
          f"user{c}" if c % 3 else None, start, None) for c in range(1, customers + 1)),
    )
    # Every customer's messages in time order; customer 1 has `heavy`, the rest share what is left.
    per_customer = [0] + [heavy] + [0] * (customers - 1)
    rest = messages - heavy
    base, extra = divmod(rest, customers - 1)
    for c in range(2, customers + 1):
        per_customer[c] = base + (1 if c - 2 < extra else 0)
    order = [c for c in range(1, customers + 1) for _ in range(per_customer[c])]
    rng.shuffle(order)
    seen = [0] * (customers + 1)
    first_at = [0.0] * (2 * customers + 1)
    last_at = [0.0] * (2 * customers + 1)
    words = WORDS

    def rows():
        for index, c in enumerate(order):
            k = seen[c]
            seen[c] = k + 1
            dialog = 2 * c - 1 if k < per_customer[c] // 2 else 2 * c
            at = start + span * index / len(order)
            if not first_at[dialog]:
                first_at[dialog] = at
            last_at[dialog] = at
            body = " ".join(rng.choices(words, k=3 + index % 12))
            if k % 2 == 0:  # the customer
                yield (index + 1, c, dialog, "in", "Покупатель", CUSTOMER_ID_BASE + c, "text", body,
                       CUSTOMER_ID_BASE + c, k + 1, 1, at)
            else:  # an operator's answer
                seat = 1 + c % 2
                yield (index + 1, c, dialog, "out", OPERATOR_NAMES[seat - 1], 900_000 + seat, "text", body,
                       900_000 + seat, index + 1, 1, at)

    conn.executemany(
        "INSERT INTO messages (id, customer_id, dialog_id, direction, author, author_user_id, content_type, body,"
        " tg_chat_id, tg_message_id, relayed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )

    def dialogs():
        for d in range(1, 2 * customers + 1):
            opened = first_at[d] or start
            closed = max(last_at[d], opened) + 300
            seat = 1 + ((d + 1) // 2) % 2
            yield (d, (d + 1) // 2, "closed", seat, opened, opened, opened + 30, closed, "done",
                   rng.choice((None, 4, 5, 5)), opened + 90, OPERATOR_NAMES[seat - 1], 1)

    conn.executemany(
        "INSERT INTO dialogs (id, customer_id, state, seat, opened_at, queued_at, assigned_at, closed_at,"
        " close_reason, rating, first_response_at, operator_name, wait_alerted) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        dialogs(),
    )
    # The queue: waiting ten minutes, already alerted about and told their place a minute ago.
    queue_customers = list(range(customers - queued + 1, customers + 1))
    next_dialog, next_message = 2 * customers + 1, messages + 1
    for position, c in enumerate(queue_customers, start=1):
        waiting_since = now - 600 + position
        conn.execute(
            "INSERT INTO dialogs (id, customer_id, state, queue_pos, opened_at, queued_at, wait_alerted,"
            " told_position) VALUES (?, ?, 'queued', ?, ?, ?, 1, ?)",
            (next_dialog, c, position, waiting_since, waiting_since, position),
        )
        conn.execute(
            "INSERT INTO messages (id, customer_id, dialog_id, direction, author, author_user_id, content_type,"
            " body, tg_chat_id, tg_message_id, relayed, created_at) VALUES (?, ?, ?, 'in', 'Покупатель', ?,"
            " 'text', 'жду ответа по заказу', ?, ?, 0, ?)",
            (next_message, c, next_dialog, CUSTOMER_ID_BASE + c, CUSTOMER_ID_BASE + c, 100_000, waiting_since),
        )
        conn.execute("UPDATE customers SET last_auto_reply_at = ? WHERE id = ?", (now - 60, c))
        next_dialog += 1
        next_message += 1
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    # No ANALYZE: the bot never runs it, so a shop's database has no statistics either.
    conn.close()
    return {"heavy_customer": 1, "queued_user_ids": [CUSTOMER_ID_BASE + c for c in queue_customers],
            "size_mb": path.stat().st_size / 1e6}
