"""Settings: read once from the environment (and `.env`) into a frozen Config.

This module is the only place that reads `os.environ`. A bad value raises
ConfigError naming the key; `__main__` turns it into one line and exit code 2.

`.env` is read as Notepad may save it: UTF-8 (with or without BOM), UTF-16
(«Юникод», by its BOM) or cp1251 («ANSI»). What is odd but not fatal becomes a
Russian warning in `Config.warnings` (logged at start, printed by `check`): a
key the bot does not know (naming the nearest one it does), and a ` #` that cut
an unquoted value short. In the AUTO_REPLY_* texts a ` #` is kept as text.
"""
from __future__ import annotations

import dataclasses
import difflib
import io
import os
import re
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path, PureWindowsPath
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import texts
from .schedule import Schedule, ScheduleError, parse_schedule
from .storage.postgres import DRIVER_HINT, PostgresUrl, driver_available, is_postgres_url

PROJECT_DIR = Path(__file__).resolve().parent.parent

TOKEN_SHAPE_HELP = "цифры, двоеточие и буквы — как его выдал @BotFather"


class ConfigError(Exception):
    """A setting is missing or malformed; the message (Russian, for the owner) names the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class Config:
    token: str
    pins: tuple[str, ...]
    database_path: Path
    operator_chat_limit: int = 3
    history_limit: int = 20
    greeting: str = texts.GREETING
    queued_reply: str = texts.QUEUED
    no_operators_reply: str = texts.NO_OPERATORS
    closed_reply: str = texts.CLOSED
    cooldown_seconds: int = 600
    faq_path: Path = PROJECT_DIR / "data" / "faq.csv"
    faq_min_score: float | None = None
    protect_content: bool = True
    api_url: str = "https://api.telegram.org"
    log_level: str = "INFO"
    send_rate_per_second: float = 25.0
    send_rate_per_chat: float = 1.0
    poll_timeout: int = 25
    working_hours: Schedule = field(default_factory=Schedule)
    timezone: tzinfo | None = None  # None: the PC's local zone
    off_hours_reply: str = texts.OFF_HOURS
    csat_enabled: bool = True
    flood_max_messages: int = 20
    wait_alert_seconds: float = 300.0
    unanswered_alert_seconds: float = 600.0
    operator_idle_seconds: float = 0.0
    backup_keep: int = 14
    operator_topics: str = "auto"  # auto | on | off: a topic per dialog in operators' chats (Telegram's topics)
    panel_enabled: bool = True
    panel_host: str = "127.0.0.1"
    panel_port: int = 8080
    report_time: tuple[int, int] | None = (20, 0)  # (hour, minute) in the shop's zone; None: no daily report
    report_chat_ids: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()  # Russian lines for the owner: odd but not fatal things in .env
    # DATABASE_URL=postgresql://…: the database; database_path then only places data/ (logs, exports).
    postgres: PostgresUrl | None = None

    @property
    def database(self) -> Path | PostgresUrl:
        """What Storage opens: the SQLite file, or the PostgreSQL database when DATABASE_URL names one."""
        return self.postgres or self.database_path

    def __repr__(self) -> str:  # never print the token, the PINs or a database password
        return f"Config(database={self.database!s}, seats={len(self.pins)})"


def topics_mode(setting: str, has_topics_enabled: bool) -> bool | None:
    """Whether topics mode is on for OPERATOR_TOPICS and what getMe says; None: `on` asked, Telegram has none."""
    if setting == "off":
        return False
    if setting == "on" and not has_topics_enabled:
        return None
    return has_topics_enabled


def load_config(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Config:
    """Build the Config from `env` (default: os.environ over the project's .env)."""
    file_lines: dict[str, str] = {}
    if env is None:
        env, file_lines = _environment(env_file or _env_file_path())
    get = _Reader(env)
    token = get.required("TELEGRAM_BOT_TOKEN")
    head, sep, tail = token.partition(":")
    if not (head.isdigit() and sep and tail):
        raise ConfigError("TELEGRAM_BOT_TOKEN", f"не похоже на токен бота ({TOKEN_SHAPE_HELP})")
    config = Config(
        token=token,
        pins=_parse_pins(get.required("OPERATOR_PINS")),
        database_path=parse_database_url(get.text("DATABASE_URL", "sqlite:///./data/support.db")),
        postgres=parse_postgres_url(get.text("DATABASE_URL", "")),
        operator_chat_limit=get.integer("OPERATOR_CHAT_LIMIT", 3, low=1, high=50),
        history_limit=get.integer("HISTORY_LIMIT", 20, low=1, high=200),
        greeting=get.text("AUTO_REPLY_GREETING", texts.GREETING),
        queued_reply=_template("AUTO_REPLY_QUEUED", get.text("AUTO_REPLY_QUEUED", texts.QUEUED), "position", "wait"),
        no_operators_reply=get.text("AUTO_REPLY_NO_OPERATORS", texts.NO_OPERATORS),
        closed_reply=get.text("AUTO_REPLY_CLOSED", texts.CLOSED),
        cooldown_seconds=round(get.number("AUTO_REPLY_COOLDOWN_MINUTES", 10, low=0, high=24 * 60) * 60),
        faq_path=_project_path(get.text("FAQ_PATH", "data/faq.csv")),
        faq_min_score=get.optional_number("FAQ_MIN_SCORE", low=0, high=1),
        protect_content=get.boolean("PROTECT_CONTENT", True),
        api_url=_api_url(get.text("TELEGRAM_API_URL", "https://api.telegram.org")),
        log_level=get.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        send_rate_per_second=get.number("SEND_RATE_PER_SECOND", 25, low=1, high=10_000),
        send_rate_per_chat=get.number("SEND_RATE_PER_CHAT", 1, low=0.1, high=1_000),
        poll_timeout=get.integer("POLL_TIMEOUT_SECONDS", 25, low=1, high=50),
        working_hours=_schedule(get.text("WORKING_HOURS", "")),
        timezone=_timezone(get.text("TIMEZONE", "")),
        off_hours_reply=_template("AUTO_REPLY_OFF_HOURS", get.text("AUTO_REPLY_OFF_HOURS", texts.OFF_HOURS), "opens"),
        csat_enabled=get.boolean("CSAT_ENABLED", True),
        flood_max_messages=get.integer("FLOOD_MAX_MESSAGES", 20, low=1, high=1000),
        wait_alert_seconds=get.number("WAIT_ALERT_MINUTES", 5, low=0.05, high=24 * 60) * 60,
        unanswered_alert_seconds=get.number("UNANSWERED_ALERT_MINUTES", 10, low=0.05, high=24 * 60) * 60,
        operator_idle_seconds=get.number("OPERATOR_IDLE_MINUTES", 0, low=0, high=24 * 60) * 60,
        backup_keep=get.integer("BACKUP_KEEP", 14, low=1, high=365),
        operator_topics=get.choice("OPERATOR_TOPICS", "AUTO", ("AUTO", "ON", "OFF")).lower(),
        **_panel_and_report(get),
    )
    warnings = _env_file_warnings(file_lines, known=get.asked)
    return dataclasses.replace(config, warnings=warnings) if warnings else config


def _panel_and_report(get: "_Reader") -> dict:
    """The web panel's address and the daily report's time and extra chats."""
    host = get.text("PANEL_HOST", "127.0.0.1")
    if any(c.isspace() for c in host) or "/" in host:
        raise ConfigError("PANEL_HOST", f"ожидается адрес вроде 127.0.0.1, а указано {host!r}")
    raw_time = get.env.get("REPORT_TIME", "20:00").strip()
    get.asked.add("REPORT_TIME")
    report_time = None
    if raw_time:
        match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", raw_time)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ConfigError("REPORT_TIME", f"ожидается время ЧЧ:ММ (например 20:00) или пусто, а указано {raw_time!r}")
        report_time = (int(match[1]), int(match[2]))
    chat_ids = []
    for part in re.split(r"[,;\s]+", get.text("REPORT_CHAT_IDS", "")):
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,16}", part):
            raise ConfigError("REPORT_CHAT_IDS", f"ожидаются числовые id Telegram через запятую, а указано {part!r}")
        chat_ids.append(int(part))
    return {"panel_enabled": get.boolean("PANEL_ENABLED", True), "panel_host": host,
            "panel_port": get.integer("PANEL_PORT", 8080, low=1, high=65535),
            "report_time": report_time, "report_chat_ids": tuple(chat_ids)}


# A ` #` in these unquoted values is part of the text ("Магазин — #1 в городе"), not a comment.
TEXT_KEY_PREFIX = "AUTO_REPLY_"
SECRET_KEYS = ("TELEGRAM_BOT_TOKEN", "OPERATOR_PINS")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def _env_file_warnings(file_lines: dict[str, str], known: set[str]) -> tuple[str, ...]:
    """Warnings about .env: unknown keys (with the nearest known one) and values cut short at ` #`."""
    found = []
    for key, raw in file_lines.items():
        if key not in known:
            nearest = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"возможно, имелась в виду {nearest[0]}" if nearest else "проверьте написание по env.example"
            found.append(f"В .env есть настройка {key}, которую бот не знает, и она не действует: {hint}.")
        elif _cut_at_comment(raw) and not key.startswith(TEXT_KEY_PREFIX):
            kept = "" if key in SECRET_KEYS else f": «{_cut_value(raw)}»"  # never echo the token or PINs
            found.append(f"В .env значение {key} обрезано на « #» (дальше — комментарий){kept}. Если # — часть"
                         f" значения, возьмите значение в кавычки: {key}=\"…\"; если это комментарий, перенесите"
                         " его на отдельную строку.")
    return tuple(found)


def _cut_at_comment(raw: str) -> bool:
    """True if an unquoted value holds a ` #`, where python-dotenv starts a comment."""
    return not raw.startswith(("'", '"')) and re.search(r"\s#", raw) is not None


def _cut_value(raw: str) -> str:
    return re.split(r"\s#", raw, maxsplit=1)[0].strip()


def parse_database_url(url: str) -> Path:
    """Turn `sqlite:///relative.db` or `sqlite:////abs/path.db` into a path; for PostgreSQL, the default
    file's path (it only places the data folder: logs, exports)."""
    if is_postgres_url(url):
        return _project_path("./data/support.db")
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError("DATABASE_URL", "ожидается sqlite:///./data/support.db, sqlite:////полный/путь.db"
                                          " или postgresql://пользователь:пароль@сервер:5432/база")
    return _project_path(url[len(prefix):])


def parse_postgres_url(url: str) -> PostgresUrl | None:
    """The PostgreSQL database a DATABASE_URL names (None for SQLite); ConfigError without the driver."""
    if not is_postgres_url(url):
        return None
    try:
        where = PostgresUrl.parse(url)
    except ValueError:
        raise ConfigError("DATABASE_URL", "ожидается postgresql://пользователь:пароль@сервер:5432/база") from None
    if not driver_available():
        raise ConfigError("DATABASE_URL", DRIVER_HINT)
    return where


def _project_path(value: str) -> Path:
    # Task Scheduler starts programs in System32: relative paths mean the project folder.
    if re.match(r"^/[A-Za-z]:[/\\]", value):
        value = value[1:]  # sqlite:////C:/shop/support.db names C:/shop/support.db
    path = Path(value)
    if path.is_absolute() or PureWindowsPath(value).is_absolute():
        return path
    return (PROJECT_DIR / path).resolve()


def settings_environment() -> dict[str, str]:
    """The settings as the bot reads them (.env, then the process environment), for the owner's tools."""
    return _environment(_env_file_path())[0]


def _env_file_path() -> Path | None:
    # SUPPORTBOT_ENV_FILE lets tests (and a second shop on one PC) use another file; empty means none.
    override = os.environ.get("SUPPORTBOT_ENV_FILE")
    if override is None:
        return PROJECT_DIR / ".env"
    return Path(override) if override else None


def _environment(env_file: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """The settings (os.environ over .env) and the .env file's own `KEY=value` lines, unparsed, by key."""
    from dotenv import dotenv_values

    merged: dict[str, str] = {}
    file_lines: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        text = read_env_text(env_file.read_bytes())
        values = dotenv_values(stream=io.StringIO(text))
        merged.update({k: v for k, v in values.items() if v is not None})
        for line in text.splitlines():
            match = _ENV_LINE.match(line)
            if match and match.group(1) in values:
                key, raw = match.group(1), match.group(2)
                file_lines[key] = raw
                if key.startswith(TEXT_KEY_PREFIX) and _cut_at_comment(raw):
                    merged[key] = raw  # the whole text: "#1 в городе" is no comment
    merged.update(os.environ)  # real environment variables win over .env
    return merged, file_lines


def read_env_text(raw: bytes) -> str:
    """Decode .env as Notepad saves it: UTF-16 by its BOM («Юникод»), UTF-8 with or without BOM, else cp1251."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # Notepad of older Windows saves "ANSI", i.e. cp1251
        return raw.decode("cp1251", errors="replace")


def _parse_pins(raw: str) -> tuple[str, ...]:
    pins = tuple(p.strip() for p in raw.split(","))
    if any(not (p.isdigit() and p.isascii() and len(p) >= 4) for p in pins):
        raise ConfigError("OPERATOR_PINS", "каждый PIN — не меньше 4 цифр, через запятую")
    if len(set(pins)) != len(pins):
        raise ConfigError("OPERATOR_PINS", "PIN-коды не должны повторяться")
    return pins


def _template(key: str, value: str, *names: str) -> str:
    try:
        value.format(**{name: "" for name in names})
    except (KeyError, IndexError, ValueError):
        allowed = ", ".join("{" + n + "}" for n in names)
        raise ConfigError(key, f"из подстановок допускаются только {allowed}") from None
    return value


def _schedule(value: str) -> Schedule:
    try:
        return parse_schedule(value)
    except ScheduleError as exc:
        raise ConfigError("WORKING_HOURS", str(exc)) from None


def _timezone(name: str) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", f"неизвестный часовой пояс {name!r} (пример: Europe/Moscow)") from None


def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_URL", "должен начинаться с http:// или https://")
    return value.rstrip("/")


class _Reader:
    """Typed access to string settings; every failure names its key."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.asked: set[str] = {"SUPPORTBOT_ENV_FILE"}  # every key the bot knows, as it asks for them

    def _raw(self, key: str) -> str | None:
        self.asked.add(key)
        value = self.env.get(key)
        if value is None or not value.strip():
            return None
        return value.strip()

    def required(self, key: str) -> str:
        value = self._raw(key)
        if value is None:
            raise ConfigError(key, "обязательная настройка не заполнена (см. env.example)")
        return value

    def text(self, key: str, default: str) -> str:
        value = self._raw(key)
        return default if value is None else value.replace("\\n", "\n")

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.optional_number(key, low=low, high=high)
        return default if value is None else value

    def optional_number(self, key: str, *, low: float, high: float) -> float | None:
        raw = self._raw(key)
        if raw is None:
            return None
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise ConfigError(key, f"ожидается число, а указано {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(key, f"должно быть от {low:g} до {high:g}, а указано {raw}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        raw = self._raw(key)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit()):
            raise ConfigError(key, f"ожидается целое число, а указано {raw!r}")
        value = int(raw)
        if not low <= value <= high:
            raise ConfigError(key, f"должно быть от {low} до {high}, а указано {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self._raw(key)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on", "да"):
            return True
        if lowered in ("0", "false", "no", "off", "нет"):
            return False
        raise ConfigError(key, f"ожидается true или false, а указано {raw!r}")

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._raw(key)
        if raw is None:
            return default
        if raw.upper() not in allowed:
            raise ConfigError(key, f"ожидается одно из {', '.join(allowed)}, а указано {raw!r}")
        return raw.upper()
