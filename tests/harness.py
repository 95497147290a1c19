"""An in-process shop for behaviour tests: the real handlers and a real Storage, no process, no HTTP.

People are objects (`anna = shop.customer("Анна")`, `anna.says("…")`, `olga.receives()`); their updates
go, as Telegram-shaped JSON, through the real parser into the real inbox and are applied the way the
processor applies them (a transaction per batch, a savepoint per update, failures counted and
dead-lettered); the outbox is then performed by a small fake Telegram and settled the way the sender
settles it (message ids recorded, album ids kept, 400s retried, 403 drops the chat and becomes a
DeliveryFailure event). The clock is set by the test.

This file is the ONLY place tests touch production internals (Context, the inbox/outbox, table names,
the sender's bookkeeping, start-up): when those move, adapt here. Tests use Shop, Person, Msg, Button,
ShopView and the fake Telegram (`shop.telegram`) only.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from supportbot import handlers
from supportbot.app import Bot
from supportbot.config import Config
from supportbot.faq import FaqMatcher, load_faq
from supportbot.handlers import Context, SeatRegistry
from supportbot.sender import Sender
from supportbot.storage import PostgresUrl, Storage
from supportbot.telegram import NewTopic, dumps, update_kind
from tests.databases import fresh_database

START = 1_764_576_000.0  # 2025-12-01 08:00 UTC; the shop is open all day unless working_hours says otherwise
PINS = ("1111", "2222", "3333")
CAPTIONLESS = {"sticker", "location", "contact", "venue", "dice", "poll", "video_note"}  # Telegram drops a caption
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
MAX_BAD_REQUEST_TRIES = 3  # as the sender
_CONTENT_PAYLOAD = {
    "photo": lambda fid: [{"file_id": fid + "s", "width": 90, "height": 90},
                          {"file_id": fid, "width": 800, "height": 800}],
    "sticker": lambda fid: {"file_id": fid, "emoji": "🙂"},
    "location": lambda fid: {"latitude": 55.75, "longitude": 37.62},
    "contact": lambda fid: {"phone_number": "+70000000000", "first_name": "Контакт"},
    "venue": lambda fid: {"location": {"latitude": 55.75, "longitude": 37.62}, "title": "Место", "address": "ул."},
    "dice": lambda fid: {"emoji": "🎲", "value": 3},
    "poll": lambda fid: {"id": fid, "question": "?", "options": []},
}


@lru_cache(maxsize=4)
def _faq(path: Path) -> FaqMatcher:
    return FaqMatcher(load_faq(path)) if path.is_file() else FaqMatcher(())


class ApiError(Exception):
    """What the fake Telegram answers instead of a result."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


@dataclass
class Button:
    label: str
    data: str
    chat_id: int
    message_id: int


@dataclass
class Msg:
    """A message in a chat as its reader sees it now (edits applied)."""
    chat_id: int
    message_id: int
    from_bot: bool
    kind: str  # text, photo, sticker …
    text: str | None  # text, or caption
    buttons: list[Button] = field(default_factory=list)
    copied_from: tuple[int, int] | None = None  # (chat, message) of a copy's original
    reply_to: int | None = None
    media_group_id: str | None = None
    deleted: bool = False
    edits: list[str] = field(default_factory=list)  # earlier texts, oldest first
    thread: int | None = None  # the topic it is in (topics mode), None outside any

    @property
    def lines(self) -> list[str]:
        return (self.text or "").split("\n")

    def __contains__(self, fragment: str) -> bool:
        return fragment in (self.text or "")


@dataclass(frozen=True)
class Change:
    """Something a person could notice in a chat: a new message, an edit, a deletion, buttons removed."""
    seq: int
    chat_id: int
    what: str  # sent, edited, deleted, unbuttoned
    message: Msg


class FakeTelegram:
    """Chats as their members see them; performs outbox rows as the TelegramClient would."""

    def __init__(self):
        self.chats: dict[int, dict[int, Msg]] = {}
        self.next_id: dict[int, int] = {}
        self.rejecting: set[int] = set()  # chats that blocked the bot: every call gets 403
        self.uncopyable: set[str] = set()  # content kinds copyMessage refuses ("message can't be copied")
        self.changes: list[Change] = []
        self.callback_answers: dict[str, str] = {}
        self.commands: dict[tuple[str, int], tuple] = {}
        self.left: list[int] = []
        self.topics: dict[int, dict[int, dict]] = {}  # chat -> thread id -> {"name", "closed"}

    thread: int | None = None

    def new_message(self, chat_id: int, *, from_bot: bool, **fields) -> Msg:
        message_id = self.next_id.get(chat_id, 0) + 1
        self.next_id[chat_id] = message_id
        if from_bot and self.thread is not None:
            fields.setdefault("thread", self.thread)
        msg = Msg(chat_id, message_id, from_bot, **fields)
        self.chats.setdefault(chat_id, {})[message_id] = msg
        if from_bot:
            self._changed(chat_id, "sent", msg)
        return msg

    def _changed(self, chat_id: int, what: str, msg: Msg) -> None:
        self.changes.append(Change(len(self.changes), chat_id, what, msg))

    def bot_messages(self, chat_id: int) -> list[Msg]:
        return [m for m in self.chats.get(chat_id, {}).values() if m.from_bot]

    def perform(self, kind: str, chat_id: int, payload: dict):
        """Do one outbox action; return the new message id(s) or None; raise ApiError as Telegram would."""
        if kind == "AnswerButton":
            self.callback_answers[payload["callback_id"]] = payload.get("text") or ""
            return None
        if kind == "SetCommands":
            scope = payload.get("scope", "chat")
            self.commands[(scope, chat_id)] = tuple(tuple(c) for c in payload.get("commands") or ())
            return None
        if chat_id in self.rejecting:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if kind == "CreateTopic":  # its service message's id is the thread id, as in Telegram
            thread = self.new_message(chat_id, from_bot=True, kind="forum_topic_created", text=payload["name"])
            thread.thread = thread.message_id
            self.topics.setdefault(chat_id, {})[thread.message_id] = {"name": payload["name"], "closed": False}
            return NewTopic(thread.message_id)
        if kind == "EditTopic":
            topic = self.topics.get(chat_id, {}).get(payload.get("message_thread_id"))
            if topic is not None:  # the client takes "not modified" and "not found" as done
                topic["name"] = payload["name"]
                topic["closed"] = topic["closed"] or bool(payload.get("close"))
            return None
        thread = payload.get("message_thread_id")
        if thread is not None and thread not in self.topics.get(chat_id, {}):
            raise ApiError(400, "Bad Request: message thread not found")
        self.thread = thread  # what the send puts into a chat goes into this topic
        try:
            return self._perform_send(kind, chat_id, payload)
        finally:
            self.thread = None

    def _perform_send(self, kind: str, chat_id: int, payload: dict):
        if kind == "SendText":
            return self._send_text(chat_id, payload["text"], payload.get("buttons"), payload.get("reply_to_message_id"))
        if kind == "CopyMessage":
            try:
                return self._copy(chat_id, payload["from_chat_id"], payload["message_id"], payload.get("caption"))
            except ApiError as exc:  # the client's stand-in for what cannot be copied
                if exc.code != 400 or not ("can't be copied" in exc.description or "not found" in exc.description):
                    raise
                from supportbot import texts
                stand_in = texts.CANNOT_COPY.format(kind=texts.content_name(payload.get("content_type", "")))
                caption = payload.get("caption")
                return self._send_text(chat_id, f"{caption}\n{stand_in}" if caption else stand_in, None, None)
        if kind == "CopyAlbum":
            return [self._copy(chat_id, payload["from_chat_id"], mid, None) for mid in payload["message_ids"]]
        if kind == "EditMessage":
            target = self.chats.get(chat_id, {}).get(payload.get("message_id"))
            if target is None or target.deleted or target.text == payload["text"]:
                return None  # the client swallows 400s of edits (not found, not modified)
            target.edits.append(target.text or "")
            target.text = payload["text"]
            self._changed(chat_id, "edited", target)
            return None
        if kind == "RemoveButtons":
            target = self.chats.get(chat_id, {}).get(payload["message_id"])
            if target is not None:
                target.buttons = []
                self._changed(chat_id, "unbuttoned", target)
            return None
        if kind == "DeleteMessage":
            target = self.chats.get(chat_id, {}).get(payload["message_id"])
            if target is not None and not target.deleted:
                target.deleted = True
                self._changed(chat_id, "deleted", target)
            return None
        if kind == "LeaveChat":
            self.left.append(chat_id)
            return None
        raise ValueError(f"unknown outbox action {kind}")

    def _send_text(self, chat_id, text, buttons, reply_to):
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        msg = self.new_message(chat_id, from_bot=True, kind="text", text=text, reply_to=reply_to,
                               buttons=[])
        msg.buttons = [Button(label, data, chat_id, msg.message_id) for row in buttons or () for label, data in row]
        return msg.message_id

    def _copy(self, chat_id, from_chat, message_id, caption):
        source = self.chats.get(from_chat, {}).get(message_id)
        if source is None or source.deleted:
            raise ApiError(400, "Bad Request: message to copy not found")
        if source.kind in self.uncopyable:
            raise ApiError(400, "Bad Request: message can't be copied")
        text = source.text
        if source.kind in CAPTIONLESS:
            text = None  # such content has no caption: one passed with it never arrives
        elif caption is not None and source.kind != "text":
            if len(caption) > CAPTION_LIMIT:
                raise ApiError(400, "Bad Request: message caption is too long")
            text = caption
        return self.new_message(chat_id, from_bot=True, kind=source.kind, text=text,
                                copied_from=(from_chat, message_id), media_group_id=None).message_id


@dataclass(frozen=True)
class ShopView:
    """The shop's state as the model checks it, by Telegram user id."""
    operators: dict[int, int]  # operator user id -> seat
    current: dict[int, int | None]  # operator user id -> current customer's user id
    dialogs: dict[int, tuple[str, int | None]]  # customer user id -> (state, seat) of the open dialog
    queue: tuple[int, ...]  # customer user ids, head first
    banned: frozenset[int]
    loads: dict[int, int]  # online seat -> open dialogs


class Person:
    """Someone writing to the bot from their private chat (chat id = user id)."""

    def __init__(self, shop: "Shop", user_id: int, name: str, username: str | None = None):
        self.shop, self.id, self.name, self.username = shop, user_id, name, username
        self._seen = 0  # how many of the bot's messages receives() already returned

    def __repr__(self) -> str:
        return f"<{self.name} {self.id}>"

    # --- writing ---------------------------------------------------------------

    def says(self, text: str, *, reply_to: Msg | int | None = None, topic: int | None = None) -> Msg:
        """Send a text message (a command if it starts with /), inside topic `topic` if given."""
        return self.sends("text", text=text, reply_to=reply_to, topic=topic)

    def replies_to(self, message: Msg | int, text: str) -> Msg:
        """Answer with Telegram's «Reply» on a message of this chat."""
        return self.says(text, reply_to=message)

    def sends_photo(self, caption: str | None = None, *, reply_to: Msg | int | None = None) -> Msg:
        return self.sends("photo", text=caption, reply_to=reply_to)

    def sends_sticker(self) -> Msg:
        return self.sends("sticker")

    def sends(self, kind: str, *, text: str | None = None, reply_to: Msg | int | None = None,
              media_group_id: str | None = None, topic: int | None = None) -> Msg:
        """Send any content kind (text, photo, sticker, location, contact, video_note …)."""
        if topic is not None and reply_to is None:
            reply_to = topic  # in a topic Telegram marks a message as a reply to the topic's creation
        msg = self.shop.telegram.new_message(self.id, from_bot=False, kind=kind, text=text,
                                             reply_to=_message_id(reply_to), media_group_id=media_group_id,
                                             thread=topic)
        self.shop.push({"message": self._message_json(msg)})
        return msg

    def sends_album(self, n: int = 2, captions: list[str | None] | None = None) -> list[Msg]:
        """Send n photos as one album (parts arrive as separate updates sharing a media group id)."""
        group = f"album{self.shop.next_update_id}"
        captions = captions or [None] * n
        return [self.sends("photo", text=captions[i], media_group_id=group) for i in range(n)]

    def edits(self, message: Msg, text: str) -> Msg:
        """Edit one's own earlier message (Telegram sends edited_message)."""
        message.edits.append(message.text or "")
        message.text = text
        self.shop.push({"edited_message": {**self._message_json(message), "edit_date": int(self.shop.now)}})
        return message

    def presses(self, button: Button | str, message: Msg | None = None) -> str | None:
        """Press an inline button (or send raw callback data); return the bot's answer to the press."""
        if isinstance(button, str):
            data, message_id = button, (message.message_id if message else 1)
        else:
            data, message_id = button.data, button.message_id
        callback_id = f"cb{self.shop.next_update_id}"
        self.shop.push({"callback_query": {
            "id": callback_id, "from": self._user_json(), "chat_instance": "ci",
            "message": {"message_id": message_id, "date": int(self.shop.now),
                        "chat": {"id": self.id, "type": "private"}},
            "data": data,
        }})
        return self.shop.telegram.callback_answers.get(callback_id)

    def blocks(self) -> None:
        """Block the bot: Telegram reports my_chat_member «kicked» and refuses every later send."""
        self.shop.telegram.rejecting.add(self.id)
        self._membership("kicked")

    def unblocks(self) -> None:
        self.shop.telegram.rejecting.discard(self.id)
        self._membership("member")

    def _membership(self, status: str) -> None:
        self.shop.push({"my_chat_member": {
            "chat": {"id": self.id, "type": "private"}, "from": self._user_json(), "date": int(self.shop.now),
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "bot"}},
            "new_chat_member": {"status": status, "user": {"id": 1, "is_bot": True, "first_name": "bot"}},
        }})

    # --- reading ---------------------------------------------------------------

    def receives(self) -> list[Msg]:
        """What the bot delivered to this chat since the last call."""
        mine = self.shop.telegram.bot_messages(self.id)
        fresh, self._seen = mine[self._seen:], len(mine)
        return fresh

    def chat(self) -> list[Msg]:
        """Every message the bot ever delivered here, as it looks now."""
        return self.shop.telegram.bot_messages(self.id)

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.chat() if not m.deleted]

    def has(self, fragment: str, count: int = 1) -> bool:
        """Whether at least `count` delivered messages contain `fragment`."""
        return len([t for t in self.texts() if fragment in t]) >= count

    def last_with(self, fragment: str) -> Msg:
        """The latest delivered message containing `fragment`."""
        return [m for m in self.chat() if fragment in m][-1]

    def deleted(self) -> list[int]:
        """Ids of this person's own messages the bot deleted."""
        return [m.message_id for m in self.shop.telegram.chats.get(self.id, {}).values()
                if not m.from_bot and m.deleted]

    # --- json --------------------------------------------------------------------

    def _user_json(self) -> dict:
        user = {"id": self.id, "is_bot": False, "first_name": self.name}
        if self.username:
            user["username"] = self.username
        return user

    def _message_json(self, msg: Msg) -> dict:
        data = {"message_id": msg.message_id, "from": self._user_json(), "date": int(self.shop.now),
                "chat": {"id": self.id, "type": "private", "first_name": self.name}}
        if msg.kind == "text":
            data["text"] = msg.text or ""
        else:
            data[msg.kind] = _CONTENT_PAYLOAD.get(msg.kind, lambda fid: {"file_id": fid})(
                f"f{self.id}x{msg.message_id}")
            if msg.text is not None:
                data["caption"] = msg.text
        if msg.reply_to is not None:
            replied = self.shop.telegram.chats.get(self.id, {}).get(msg.reply_to)
            data["reply_to_message"] = {"message_id": msg.reply_to, "date": int(self.shop.now),
                                        "chat": {"id": self.id, "type": "private"},
                                        "text": (replied.text if replied else "") or ""}
        if msg.media_group_id:
            data["media_group_id"] = msg.media_group_id
        if msg.thread is not None:
            data.update(message_thread_id=msg.thread, is_topic_message=True)
        return data


class Operator(Person):
    def logs_in(self, pin: str = "1111") -> Msg:
        return self.says(f"/operator {pin}")

    def logs_out(self) -> Msg:
        return self.says("/logout")

    def topic(self, customer: Person) -> int | None:
        """The thread id of the topic of `customer`'s latest dialog in my chat (topics mode)."""
        with self.shop.storage.transaction() as tx:
            row = tx.conn.execute(
                "SELECT t.thread_id FROM dialog_topics t JOIN dialogs d ON d.id = t.dialog_id"
                " JOIN customers c ON c.id = d.customer_id WHERE c.tg_user_id = ? AND t.chat_id = ?"
                " ORDER BY d.id DESC LIMIT 1", (customer.id, self.id)).fetchone()
        return row[0] if row else None

    def topics(self) -> dict[int, dict]:
        """My chat's topics: thread id -> {"name", "closed"}."""
        return self.shop.telegram.topics.get(self.id, {})

    def in_topic(self, thread: int | None) -> list[Msg]:
        """What the bot delivered into one topic of my chat (None: outside any topic)."""
        return [m for m in self.chat() if m.thread == thread and m.kind != "forum_topic_created"]


def commit_fails_inside(tx) -> None:
    """Make the enclosing transaction's COMMIT fail (a deferred foreign-key violation is checked only then)."""
    tx.conn.execute("PRAGMA defer_foreign_keys = ON")
    tx.conn.execute("INSERT INTO messages (customer_id, direction, author, content_type, created_at)"
                    " VALUES (-1, 'in', 'nobody', 'text', 0)")


def _message_id(message: Msg | int | None) -> int | None:
    return message.message_id if isinstance(message, Msg) else message


class Shop:
    """The bot in-process: real handlers and Storage on a file, a fake Telegram, a clock the test sets."""

    def __init__(self, tmp_path: Path, *, pins: tuple[str, ...] = PINS, start: float = START, topics: bool = False,
                 **overrides):
        self.topics = topics  # topics mode, as decided at start
        self.topic_threads: dict = {}  # the sender's memory of thread ids not yet written (always written here)
        overrides.setdefault("faq_path", Path(__file__).resolve().parent.parent / "data" / "faq.csv")
        overrides.setdefault("report_time", None)  # a test of the daily report sets its time
        where = fresh_database(tmp_path)
        self.config = Config(token="1234:test", pins=pins, database_path=Path(tmp_path) / "support.db",
                             postgres=where if isinstance(where, PostgresUrl) else None, **overrides)
        self.now = start
        self.telegram = FakeTelegram()
        self.faq = _faq(self.config.faq_path)
        self.next_update_id = 1
        self._paused = False
        self.outbox_failures: list[tuple[int, str]] = []  # outbox rows set aside (chat, error)
        self._people: dict[int, Person] = {}
        self._start()

    # --- people -------------------------------------------------------------------------

    def customer(self, name: str, user_id: int | None = None, username: str | None = None) -> Person:
        return self._person(Person, name, user_id, username)

    def operator(self, name: str, user_id: int | None = None) -> Operator:
        return self._person(Operator, name, user_id, None)

    def on_line(self, name: str, pin: str = "1111") -> Operator:
        """An operator logged in on the seat of `pin`."""
        operator = self.operator(name)
        operator.logs_in(pin)
        return operator

    def _person(self, cls, name, user_id, username):
        user_id = user_id or 7_000_001 + len(self._people) * 1111
        person = cls(self, user_id, name, username)
        self._people[user_id] = person
        return person

    # --- time and life ----------------------------------------------------------------------

    def tick(self, seconds: float = 1.0) -> None:
        """Let `seconds` pass, then run the timed duties once (the real bot runs them every second)."""
        self.now += seconds
        with self.storage.transaction() as tx:
            handlers.tick(self._context(tx))
        self.settle()

    def advance(self, seconds: float) -> None:
        """Let time pass without running the timed duties (between two ticks)."""
        self.now += seconds

    def restart(self, **config_changes) -> None:
        """Stop the bot and start it again on the same database (with changed settings, if given)."""
        self.storage.close()
        self.config = replace(self.config, **config_changes)
        self._start()

    def delivery_fails_403(self, who: Person | int) -> None:
        """From now on sends to this chat get 403 (as when a customer blocked the bot unnoticed)."""
        self.telegram.rejecting.add(who.id if isinstance(who, Person) else who)

    def _start(self) -> None:
        self.storage = Storage(self.config.database)
        self.seats = SeatRegistry(self.config.pins)
        self.sent_ids: dict[int, int | None] = {}  # the sender's memory, lost with the process
        with self.storage.transaction() as tx:
            handlers.startup(self._context(tx))
        self.seats.load(self.storage.seats())
        self.settle()

    def _context(self, tx) -> Context:
        return Context(tx, self.config, self.seats, self.faq, self.now, topics=self.topics)

    _topic_thread = Sender._topic_thread  # _resolved below asks it for a row's thread id

    # --- updates in, outbox out -------------------------------------------------------------------

    def push(self, update: dict) -> None:
        """Hand one update to the bot as the poller would, then apply and deliver everything."""
        update = {"update_id": self.next_update_id, **update}
        self.next_update_id += 1
        self.storage.add_updates([(update["update_id"], update_kind(update), dumps(update))], self.now)
        self.settle()

    @contextmanager
    def sender_paused(self):
        """Apply updates but deliver nothing until the block ends (a sender lagging behind the processor)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False
            self.settle()

    def settle(self) -> None:
        """Apply every inbox row and deliver every outbox row, until nothing is left to do."""
        if self._paused:
            self._apply_inbox()
            return
        for _ in range(100):
            applied = self._apply_inbox()
            delivered = self._deliver_outbox()
            if not applied and not delivered:
                return
        raise AssertionError("the shop never settled (an endless loop of updates and deliveries)")

    def _apply_inbox(self) -> bool:
        """Apply new inbox rows with the processor's own code (a batch per transaction, a savepoint per update)."""
        worked = False
        while rows := self.storage.new_inbox(100):
            worked = True
            Bot._apply(self, self.storage, rows)  # uses self._context and self.seats, as a Bot would
        return worked

    @property
    def failures(self) -> list[str]:
        """Errors of updates that raised (each is retried, then set aside as a dead letter)."""
        return [r[0] for r in self.storage.conn.execute(
            "SELECT last_error FROM inbox WHERE last_error IS NOT NULL ORDER BY id").fetchall()]

    def _deliver_outbox(self) -> bool:
        """Perform pending outbox rows in order, per chat, and record outcomes like the sender."""
        pending = self.storage.pending_outbox(0, 100_000)
        if not pending:
            return False
        sent, retries, failed, album_ids, topics = [], [], [], [], []
        stopped: set[int] = set()  # chats whose head row failed: later rows wait (or are dropped on 403)
        for row in pending:
            if row.chat_id in stopped:
                continue
            payload = Sender._resolved(self, row)[0].payload  # uses self.sent_ids and self.storage, as the sender
            try:
                result = self.telegram.perform(row.kind, row.chat_id, payload)
            except ApiError as exc:
                stopped.add(row.chat_id)
                event = {"chat_id": row.chat_id, "outbox_id": row.id, "blocked": exc.code == 403,
                         "error": exc.description}
                if exc.code == 403:
                    dropped = [r for r in pending if r.chat_id == row.chat_id and r.id >= row.id]
                    failed += [(r.id, exc.description, event if r.id == row.id else None) for r in dropped]
                elif row.attempts + 1 >= MAX_BAD_REQUEST_TRIES:
                    failed.append((row.id, exc.description, event))
                else:
                    retries.append((row.id, exc.description))
                    continue
                self.outbox_failures.append((row.chat_id, exc.description))
                continue
            if isinstance(result, NewTopic):
                topics.append((payload["dialog_id"], row.chat_id, result.thread_id))
                self.topic_threads[(payload["dialog_id"], row.chat_id)] = result.thread_id  # for the rows after it
                result = None
            if isinstance(result, list):
                album_ids += [(row.id, row.chat_id, later) for later in result[1:]]
                result = result[0] if result else None
            sent.append((row.id, result))
            self.sent_ids[row.id] = result
        self.storage.record_deliveries(sent=sent, retries=retries, failed=failed, now=self.now, album_ids=album_ids,
                                       topics=topics)
        self.topic_threads.clear()
        return True

    # --- looking inside (for assertions) -------------------------------------------------------------

    def view(self) -> ShopView:
        """Who is logged in, who is current, who waits: read from the database."""
        with self.storage.transaction() as tx:
            rows = tx.seats()
            online = {r.seat: r for r in rows if r.tg_user_id is not None and r.seat <= len(self.config.pins)}
            current = {}
            for seat, row in online.items():
                dialog = tx.current_dialog(seat)
                current[row.tg_user_id] = tx.customer(dialog.customer_id).tg_user_id if dialog else None
            dialogs, banned, queue = {}, set(), []
            for c in tx.conn.execute("SELECT id, tg_user_id, banned FROM customers").fetchall():
                dialog = tx.open_dialog(c["id"])
                if dialog is not None:
                    dialogs[c["tg_user_id"]] = (dialog.state.value, dialog.seat)
                if c["banned"]:
                    banned.add(c["tg_user_id"])
            for dialog in tx.queued_dialogs():
                queue.append(tx.customer(dialog.customer_id).tg_user_id)
            loads = {seat: len(tx.seat_dialogs(seat)) for seat in online}
        return ShopView({r.tg_user_id: seat for seat, r in online.items()}, current, dialogs, tuple(queue),
                        frozenset(banned), loads)

    def snapshot(self) -> dict:
        """Everything the shop remembers about people and dialogs (not the inbox/outbox), for restart checks."""
        tables = {}
        with self.storage.transaction() as tx:
            for table in ("customers", "seats", "dialogs", "messages", "login_failures"):
                tables[table] = [tuple(r) for r in tx.conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()]
        tables["online"] = sorted((seat, row.tg_user_id, row.chat_id) for seat, row in self.seats.online.items())
        return tables

    def stored_texts(self) -> list[str]:
        """Every text or caption the shop stored in its history."""
        with self.storage.transaction() as tx:
            return [r[0] for r in tx.conn.execute("SELECT body FROM messages WHERE body IS NOT NULL").fetchall()]

    def history_of(self, customer: Person) -> list[tuple[str, str | None]]:
        """(direction, body) of a customer's stored messages, oldest first."""
        with self.storage.transaction() as tx:
            return [(r[0], r[1]) for r in tx.conn.execute(
                "SELECT m.direction, m.body FROM messages m JOIN customers c ON c.id = m.customer_id"
                " WHERE c.tg_user_id = ? ORDER BY m.id", (customer.id,)).fetchall()]

    def dead_letters(self) -> list:
        return self.storage.dead_letters()

    def short_id(self, customer: Person) -> int:
        """The customer's short number (#N)."""
        with self.storage.transaction() as tx:
            return tx.conn.execute("SELECT id FROM customers WHERE tg_user_id = ?", (customer.id,)).fetchone()[0]

    def close(self) -> None:
        self.storage.close()
