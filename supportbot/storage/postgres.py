"""PostgreSQL behind the storage's one connection interface (psycopg 3, an optional dependency).

`PgConnection` answers the small part of sqlite3.Connection the queries use: `execute`, `executemany`,
`in_transaction`, rows readable by position and by column name. `?` placeholders become `%s` here and
nowhere else. psycopg's errors are raised again as sqlite3's classes (the password cut out of their
text), so the bot's callers keep one exception hierarchy whatever the database. Nothing here runs at
import time, and psycopg is imported only when a PostgreSQL database is opened.
"""
from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
DRIVER_HINT = ("для PostgreSQL нужен драйвер psycopg: выполните «pip install -r requirements-postgres.txt»"
               " (run.bat и run.sh ставят его сами, когда DATABASE_URL начинается с postgresql://)")
# Every writing transaction takes this transaction-level lock first: writers run one at a time, as
# SQLite's BEGIN IMMEDIATE makes them, so ids are handed out in commit order (the sender reads the
# outbox by rising id and must never see id 11 committed before id 10).
WRITE_LOCK_KEY = 0x5B0_7001
# The active copy's session-level lock: (this class, a hash of the schema), so that copies of other
# shops sharing one database in their own schemas do not exclude each other.
ACTIVE_LOCK_CLASS = 0x5B0_7002
# A sender's session-level lock (this class, its random key) says that its claims on outbox rows still
# stand: the server drops it with the sender's connection, and the rows become free to claim again.
SENDER_LOCK_CLASS = 0x5B0_7003
# How soon a dead connection is noticed, by this copy (libpq) and by the server (its session settings).
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 3, "keepalives_interval": 1, "keepalives_count": 3,
             "tcp_user_timeout": 6000}
SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 3", "SET tcp_keepalives_interval = 1", "SET tcp_keepalives_count = 3",
                    "SET tcp_user_timeout = 6000")


def is_postgres_url(url: str) -> bool:
    """Tell whether a DATABASE_URL names PostgreSQL."""
    return url.strip().lower().startswith(SCHEMES)


@dataclass(frozen=True)
class PostgresUrl:
    """Where a PostgreSQL database is. `str()` and `repr()` never show the password."""

    url: str  # postgresql://user:password@host:port/dbname, the password included

    @classmethod
    def parse(cls, text: str) -> "PostgresUrl":
        """Accept postgresql://, postgres:// and SQLAlchemy's postgresql+psycopg://; ValueError if it names no database."""
        text = text.strip()
        scheme, _, rest = text.partition("://")
        parts = urlsplit("postgresql://" + rest)
        if not parts.hostname and not parts.path.strip("/"):
            raise ValueError("no host and no database")
        if not parts.path.strip("/"):
            raise ValueError("no database name")
        return cls(urlunsplit(parts))

    @property
    def password(self) -> str | None:
        password = urlsplit(self.url).password
        return unquote(password) if password else None

    @property
    def dbname(self) -> str:
        return unquote(urlsplit(self.url).path.strip("/"))

    @property
    def server(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"

    @property
    def user(self) -> str | None:
        user = urlsplit(self.url).username
        return unquote(user) if user else None

    def without_password(self) -> str:
        """The URL with no password in it, for a command the owner copies (the tool asks for the password)."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.rpartition("@")[2]
        user = parts.username
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))

    def with_dbname(self, dbname: str) -> "PostgresUrl":
        """The same server and user, another database."""
        return PostgresUrl(urlunsplit(urlsplit(self.url)._replace(path="/" + quote(dbname))))

    def redact(self, text: str) -> str:
        """Cut the password out of any text (an error message, a log line)."""
        password = self.password
        if not password:
            return text
        for form in {password, quote(password, safe=""), urlsplit(self.url).password}:
            if form:
                text = text.replace(form, "***")
        return text

    def __str__(self) -> str:
        return self.redact(self.url)

    def __repr__(self) -> str:
        return f"PostgresUrl({str(self)!r})"


def driver_available() -> bool:
    """Tell whether psycopg can be imported."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s` for a statement run with parameters: every `%` doubled, a `?` inside
    a string literal ('…?') left as it is."""
    parts = sql.replace("%", "%%").split("'")
    return "'".join(part if inside else part.replace("?", "%s") for part, inside in zip(parts, _alternating()))


def _alternating():
    inside = False
    while True:
        yield inside
        inside = not inside


class Row(tuple):
    """A result row readable as row[0] and row["column"], and by dict(row), like sqlite3.Row."""

    def __new__(cls, values, names: tuple[str, ...], index: dict[str, int]):
        row = super().__new__(cls, values)
        row._names, row._index = names, index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return super().__getitem__(self._index[key])
        return super().__getitem__(key)

    def keys(self) -> tuple[str, ...]:
        return self._names


def _row_factory(cursor):
    description = cursor.description or ()
    names = tuple(column.name for column in description)
    index = {name: i for i, name in enumerate(names)}
    return lambda values: Row(values, names, index)


def _as_sqlite_error(exc: Exception, where: PostgresUrl) -> sqlite3.Error:
    import psycopg

    text = where.redact(str(exc).strip()) or type(exc).__name__
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        error = sqlite3.OperationalError(text)  # the server is away or the connection broke: try again later
    elif isinstance(exc, psycopg.IntegrityError):
        error = sqlite3.IntegrityError(text)
    elif isinstance(exc, psycopg.DataError):
        error = sqlite3.DataError(text)
    else:
        error = sqlite3.DatabaseError(text)
    error.sqlstate = getattr(exc, "sqlstate", None)
    return error


class PgConnection:
    """One psycopg connection in autocommit mode; transactions are opened by `schema.atomic` alone."""

    dialect = "postgresql"

    def __init__(self, where: PostgresUrl, *, connect_timeout: int = 10, **options):
        self.where = where
        self.connect_timeout = connect_timeout
        self.options = options
        self.raw = None
        self._connect()

    def _connect(self) -> None:
        import psycopg

        try:
            self.raw = psycopg.connect(self.where.url, autocommit=True, row_factory=_row_factory,
                                       connect_timeout=self.connect_timeout, **self.options)
        except psycopg.Error as exc:
            raise _as_sqlite_error(exc, self.where) from None

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        # UNKNOWN is a broken connection: no transaction to undo there; the next statement reconnects.
        return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR,
                                                    TransactionStatus.ACTIVE)

    def _ready(self) -> None:
        # A connection the server dropped is opened again, but only between transactions: inside
        # one, the error must reach `atomic`, which undoes the whole block.
        if self.raw.broken or self.raw.closed:
            self._connect()

    def execute(self, sql: str, params=()):
        """Run one statement; return its cursor (fetchone, fetchall, rowcount, iteration)."""
        import psycopg

        if not self.in_transaction:
            self._ready()
        params = tuple(params)
        try:
            cursor = self.raw.cursor()
            # Without parameters psycopg sends the text as it is: nothing to translate.
            cursor.execute(translate(sql) if params else sql, params or None)
        except psycopg.Error as exc:
            raise _as_sqlite_error(exc, self.where) from None
        return cursor

    def executemany(self, sql: str, rows):
        """Run one statement once per parameter tuple."""
        import psycopg

        rows = [tuple(row) for row in rows]
        if not rows:
            return None
        if not self.in_transaction:
            self._ready()
        try:
            cursor = self.raw.cursor()
            cursor.executemany(translate(sql), rows)
        except psycopg.Error as exc:
            raise _as_sqlite_error(exc, self.where) from None
        return cursor

    def begin_write(self) -> None:
        """Open a transaction that writes, after any other writer's has ended."""
        self.execute("BEGIN")
        self.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_KEY,))

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


class ActiveLock:
    """The active copy's lock: a session-level advisory lock on a connection of its own.

    The server releases it when that connection ends, however the copy died (SIGKILL, power loss,
    a network cut: noticed by keepalives within seconds), so a standby copy can take it over.
    """

    def __init__(self, where: PostgresUrl):
        self.conn = PgConnection(where, connect_timeout=5, **KEEPALIVE)  # sqlite3.OperationalError if unreachable
        for statement in SERVER_KEEPALIVE:
            self.conn.execute(statement)

    def try_acquire(self) -> bool:
        """Take the lock if no other copy holds it."""
        return bool(self.conn.execute("SELECT pg_try_advisory_lock(?, hashtext(current_schema()))",
                                      (ACTIVE_LOCK_CLASS,)).fetchone()[0])

    def holding(self) -> bool:
        """Tell whether the connection that holds the lock still works (if it broke, the lock may be another's)."""
        if self.conn.raw.broken or self.conn.raw.closed:
            return False
        try:
            self.conn.raw.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means the lock can no longer be counted on
            return False
        return True

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


def active_copy(conn: PgConnection) -> str | None:
    """Where the active copy runs ("address, since time"), or None if no copy is active."""
    row = conn.execute(
        "SELECT COALESCE(host(a.client_addr), 'этот компьютер'), a.backend_start FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
        " AND l.classid::bigint = ? AND l.objid::bigint = (hashtext(current_schema())::bigint & 4294967295)",
        (ACTIVE_LOCK_CLASS,)).fetchone()
    return None if row is None else f"{row[0]}, с {row[1]:%Y-%m-%d %H:%M}"


def connect(where: PostgresUrl) -> PgConnection:
    """Open a connection; sqlite3.OperationalError (password cut out) when the server cannot be reached."""
    return PgConnection(where)


# --- the schema's PostgreSQL spelling --------------------------------------------------------------

def ddl(statement: str) -> str:
    """The PostgreSQL spelling of one migration statement written for SQLite.

    The only differences: a rowid `id INTEGER PRIMARY KEY` becomes an identity column, INTEGER is
    64-bit (Telegram ids do not fit 32 bits), REAL is DOUBLE PRECISION.
    """
    statement = re.sub(r"\bid INTEGER PRIMARY KEY\b", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                       statement)
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)
