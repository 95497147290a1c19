"""Two copies, one bot, on PostgreSQL: real processes against the fake Bot API sharing one database.

The copy that holds the advisory lock is active; the other waits as standby. Killed (SIGKILL) or cut off
from its database, the active copy's place is taken by the standby within about ten seconds while
customers and operators keep writing, and every transcript is checked as in the SQLite crash test."""
from __future__ import annotations

import threading
import time

from supportbot import ops
from tests.botproc import BotProcess
from tests.databases import fresh_postgres
from tests.test_delivery import BUSY_SHOP, Talk, open_shop

ACTIVE = "Эта копия бота активна"
STANDBY = "Резервная копия: другая копия бота с этой базой активна"
LOST = "Связь с базой PostgreSQL потеряна"
TAKEOVER_SECONDS = 10.0


def two_copies(api, tmp_path) -> tuple[BotProcess, BotProcess]:
    first = BotProcess(tmp_path / "first", api, database=fresh_postgres(), **BUSY_SHOP)
    second = BotProcess(tmp_path / "second", api, database=first.postgres, **BUSY_SHOP)
    first.start()
    second.start(wait=False)
    wait_output(api, second, STANDBY)
    assert ACTIVE in first.output() and ACTIVE not in second.output()
    ok, line = ops._check_postgres(first.postgres)  # what `check` says on either machine
    assert ok and "активная копия бота: 127.0.0.1, с " in line, line
    return first, second


def wait_output(api, bot: BotProcess, fragment: str, count: int = 1, timeout: float = 20.0) -> float:
    """Wait until the bot's log holds `fragment` `count` times; return when that was seen (monotonic)."""
    api.wait_for(lambda: bot.output().count(fragment) >= count, timeout=timeout, what=f"{fragment!r} in the log")
    return time.monotonic()


def test_a_standby_takes_over_a_killed_active_copy_within_ten_seconds_losing_nothing(api, tmp_path):
    first, second = two_copies(api, tmp_path)
    try:
        operators, customers = open_shop(api, first)
        talk = Talk(api, customers, operators)
        killed = []

        def kill_midway():
            talk_started.wait()
            time.sleep(1.0)  # in the middle of the conversation, not at a quiet moment
            first.kill()
            killed.append(time.monotonic())

        talk_started = threading.Event()
        killer = threading.Thread(target=kill_midway)
        killer.start()
        talk_started.set()
        talk.rounds(range(6))
        killer.join()
        took_over = wait_output(api, second, ACTIVE, timeout=30)
        talk.rounds(range(6, 12))
        second.wait_processed(timeout=120)
        print(f"takeover after {took_over - killed[0]:.1f} s")
        assert took_over - killed[0] <= TAKEOVER_SECONDS
        assert talk.check(second) <= 4  # at most the calls in flight at the kill
    finally:
        first.kill()
        second.kill()


def test_an_active_copy_cut_off_from_its_database_stops_and_the_standby_carries_on(api, tmp_path):
    first, second = two_copies(api, tmp_path)
    try:
        operators, customers = open_shop(api, first)
        talk = Talk(api, customers, operators)
        talk.rounds(range(3))
        cut = time.monotonic()
        terminated = cut_lock_connection(first)
        assert terminated == 1
        took_over = wait_output(api, second, ACTIVE, timeout=30)
        wait_output(api, first, LOST)
        wait_output(api, first, STANDBY)  # it waits as standby now, it does not exit
        assert first.proc.poll() is None
        talk.rounds(range(3, 8))
        second.wait_processed(timeout=120)
        print(f"takeover after {took_over - cut:.1f} s")
        assert took_over - cut <= TAKEOVER_SECONDS
        assert talk.check(second) <= 4  # at most what the first copy had in flight when it stopped
    finally:
        first.kill()
        second.kill()


def cut_lock_connection(bot: BotProcess) -> int:
    """End, on the server, the connection that holds the active copy's lock (as a network cut would)."""
    import psycopg

    with psycopg.connect(bot.postgres.url, autocommit=True) as conn:
        return conn.execute(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s", (0x5B0_7002,)).fetchone()[0]
