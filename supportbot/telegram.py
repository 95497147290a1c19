"""The Telegram adapter: raw Bot API JSON in, domain events out; actions out as API calls.

The only module that imports telebot. It turns an update dict into a core event
(raising on shapes it does not understand, so the processor can set them
aside), performs outbox actions with pyTelegramBotAPI's HTTP client, and sorts
API failures into the few kinds the sender acts on.

Topics in private chats: a message written in a topic carries its thread id
(`message_thread_id` with `is_topic_message`), topic service messages become the
content types topic_created/closed/reopened/edited; a payload's
`message_thread_id` sends into that topic, CreateTopic answers a NewTopic, and an
EditTopic that finds its topic already so, or gone, counts as done.
"""
from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass

import requests
import telebot
from telebot import apihelper, types

from . import texts
from .core import ButtonPress, IncomingMessage, MembershipChange, Person

log = logging.getLogger(__name__)

UPDATE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member")
# venue before location: a venue message carries both fields; animation before document likewise.
CONTENT_KINDS = ("text", "photo", "animation", "document", "voice", "video", "video_note", "audio", "sticker",
                 "venue", "location", "contact", "poll", "dice")
# Service messages about topics (a person made, closed, reopened or renamed one by hand).
TOPIC_SERVICE_KINDS = {"forum_topic_created": "topic_created", "forum_topic_closed": "topic_closed",
                       "forum_topic_reopened": "topic_reopened", "forum_topic_edited": "topic_edited"}
# A topic's edit or close that finds nothing to do: the topic is already so, or gone (a new one comes when needed).
TOPIC_ALREADY = ("topic_not_modified", "topic not modified", "topic_id_invalid", "thread not found")
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def quiet_library_loggers() -> None:
    """Keep telebot's own handler from double-printing, and urllib3 from logging URLs (they hold the token)."""
    telebot.logger.handlers.clear()
    telebot.logger.propagate = True
    telebot.logger.setLevel(logging.WARNING)
    for name in ("urllib3", "requests"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- updates -> events -----------------------------------------------------------

def update_kind(update: dict) -> str:
    """Name the kind of an update ("message", …), or "other"."""
    return next((k for k in UPDATE_KINDS if k in update), "other")


def parse_update(update: dict) -> IncomingMessage | MembershipChange | ButtonPress | None:
    """Turn one update into an event; None for kinds the bot ignores. Raises on malformed shapes."""
    kind = update_kind(update)
    if kind in ("message", "edited_message"):
        return parse_message(update[kind], edited=kind == "edited_message")
    if kind == "callback_query":
        query = update[kind]
        message = query.get("message") or {}
        sender = _person(query["from"])
        chat_id = int(message["chat"]["id"]) if message.get("chat") else sender.user_id
        return ButtonPress(callback_id=str(query["id"]), sender=sender, chat_id=chat_id,
                           message_id=message.get("message_id"), data=str(query.get("data", "")))
    if kind == "my_chat_member":
        change = update[kind]
        chat = change["chat"]
        return MembershipChange(
            chat_id=int(chat["id"]), chat_type=chat["type"], user=_person(change.get("from")),
            status=change["new_chat_member"]["status"],
        )
    return None


def parse_message(message: dict, *, edited: bool = False) -> IncomingMessage:
    """Turn a Message dict into an IncomingMessage."""
    chat = message["chat"]
    content_type = next((k for k in CONTENT_KINDS if k in message), None) or \
        next((v for k, v in TOPIC_SERVICE_KINDS.items() if k in message), "other")
    text = message.get("text") if content_type == "text" else message.get("caption")
    command, args = None, ""
    if content_type == "text":
        match = COMMAND.match(text or "")
        if match:
            command, args = match.group(1).lower(), (match.group(2) or "").strip()
    reply = message.get("reply_to_message")
    thread = int(message["message_thread_id"]) if message.get("is_topic_message") else None
    if reply and thread is not None and int(reply["message_id"]) == thread:
        reply = None  # in a topic every message "replies" to the topic's first message: that is no reply
    return IncomingMessage(
        chat_id=int(chat["id"]),
        chat_type=chat["type"],
        message_id=int(message["message_id"]),
        sender=_person(message.get("from")),
        date=int(message.get("edit_date", message["date"]) if edited else message["date"]),  # edits count by when
        content_type=content_type,
        text=text,
        file_id=_file_id(message, content_type),
        command=command,
        args=args,
        reply_to_message_id=int(reply["message_id"]) if reply else None,
        media_group_id=message.get("media_group_id"),
        edited=edited,
        thread_id=thread,
    )


def _person(user: dict | None) -> Person | None:
    if user is None or user.get("is_bot"):
        return None
    return Person(int(user["id"]), user.get("first_name", ""), user.get("last_name"), user.get("username"))


def _file_id(message: dict, content_type: str) -> str | None:
    content = message.get(content_type)
    if content_type == "photo" and content:
        return content[-1]["file_id"]  # largest size last
    if isinstance(content, dict):
        return content.get("file_id")
    return None


# --- failures --------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiFailure:
    """What went wrong with a call: kind is network, server, rate, blocked, bad_request, conflict, unauthorized."""
    kind: str
    description: str
    retry_after: float = 0.0


def thread_gone(exc: Exception) -> bool:
    """Tell whether a send failed because its topic does not exist (the operator deleted it)."""
    return (isinstance(exc, apihelper.ApiTelegramException) and exc.error_code == 400
            and "message thread not found" in exc.description.lower())


@dataclass(frozen=True)
class NewTopic:
    """What a CreateTopic row produced: no message, a topic with this thread id."""
    thread_id: int


def classify(exc: Exception) -> ApiFailure:
    """Sort an exception from a Bot API call into an ApiFailure."""
    if isinstance(exc, apihelper.ApiTelegramException):
        code, description = exc.error_code, exc.description
        if code == 429:
            retry_after = (exc.result_json.get("parameters") or {}).get("retry_after", 1)
            return ApiFailure("rate", description, float(retry_after))
        kind = {400: "bad_request", 401: "unauthorized", 403: "blocked", 404: "unauthorized",
                409: "conflict"}.get(code, "server" if code >= 500 else "bad_request")
        return ApiFailure(kind, description)
    if isinstance(exc, apihelper.ApiHTTPException):
        code = exc.result.status_code
        return ApiFailure("server" if code >= 500 or code == 429 else "bad_request", f"HTTP {code}")
    if isinstance(exc, apihelper.ApiInvalidJSONException):
        return ApiFailure("server", "invalid JSON from the API")
    if isinstance(exc, requests.RequestException):
        return ApiFailure("network", type(exc).__name__)
    raise exc


class Backoff:
    """Pauses between tries while Telegram fails: 1 s growing ×1.3 to a 5 s cap, each ±10 % (aiogram's polling).

    A short cap matters more than a gentle one: after an outage the bot is back within
    about 5 s of Telegram, not 30 s later. `retry_after` of a 429 is not this class's business.
    """

    def __init__(self, first: float = 1.0, factor: float = 1.3, cap: float = 5.0, jitter: float = 0.1,
                 rand=random.random):
        self.first, self.factor, self.cap, self.jitter = first, factor, cap, jitter
        self.rand = rand
        self.current = 0.0

    def next(self) -> float:
        """Return the next pause in seconds (growing up to the cap, with jitter)."""
        self.current = min(self.cap, self.current * self.factor) if self.current else self.first
        return self.current * (1 + self.jitter * (2 * self.rand() - 1))

    def reset(self) -> None:
        """Start again from the first pause (after a success)."""
        self.current = 0.0


# --- the client ---------------------------------------------------------------------------

class TelegramClient:
    """Calls the Bot API through pyTelegramBotAPI's HTTP client."""

    def __init__(self, token: str, api_url: str, protect_content: bool):
        self.token = token
        self.protect = protect_content
        # Module globals of apihelper: every bot in this process uses them.
        apihelper.API_URL = api_url + "/bot{0}/{1}"
        apihelper.FILE_URL = api_url + "/file/bot{0}/{1}"
        apihelper.CUSTOM_REQUEST_SENDER = _SessionPerThread(api_url).request

    def get_me(self) -> dict:
        """Return the bot's own User (with has_topics_enabled and allows_users_to_create_topics, from Bot API 9.3)."""
        return apihelper.get_me(self.token)

    def get_updates(self, offset: int | None, timeout: int) -> list[dict]:
        """Long-poll for updates after `offset` (which confirms everything before it)."""
        return apihelper.get_updates(
            self.token, offset=offset, limit=100, allowed_updates=list(UPDATE_KINDS), long_polling_timeout=timeout
        )

    def perform(self, kind: str, chat_id: int, payload: dict) -> int | list[int] | NewTopic | None:
        """Carry out one outbox action; return the id of the message it created (all ids, for an album; the new
        topic, for CreateTopic). A `message_thread_id` in the payload sends into that topic."""
        thread = payload.get("message_thread_id")
        if kind == "SendText":
            return self.send_text(chat_id, payload["text"], payload.get("buttons"), payload.get("reply_to_message_id"),
                                  thread)
        if kind == "CopyMessage":
            return self.copy_message(chat_id, payload)
        if kind == "CopyAlbum":
            result = apihelper.copy_messages(self.token, chat_id, payload["from_chat_id"], payload["message_ids"],
                                             protect_content=self.protect, message_thread_id=thread)
            return [item["message_id"] for item in result] or None
        if kind == "CreateTopic":
            return self._create_topic(chat_id, payload["name"])
        if kind == "EditTopic":
            return self._edit_topic(chat_id, thread, payload["name"], payload.get("close", False))
        if kind == "EditMessage":
            return self._edit(chat_id, payload)
        if kind == "RemoveButtons":
            apihelper.edit_message_reply_markup(self.token, chat_id, payload["message_id"],
                                                reply_markup=types.InlineKeyboardMarkup())
            return None
        if kind == "AnswerButton":
            self._answer_button(payload)
            return None
        if kind == "DeleteMessage":
            return self._delete(chat_id, payload["message_id"])
        if kind == "SetCommands":
            return self._set_commands(chat_id, payload["commands"], payload.get("scope", "chat"))
        if kind == "LeaveChat":
            apihelper.leave_chat(self.token, chat_id)
            return None
        raise ValueError(f"unknown outbox action {kind}")

    def send_text(self, chat_id: int, text: str, buttons: list | None = None,
                  reply_to_message_id: int | None = None, thread_id: int | None = None) -> int:
        """Send plain text (never a parse_mode: customer text goes as it is)."""
        markup = None
        if buttons:
            markup = types.InlineKeyboardMarkup()
            for row in buttons:
                markup.row(*(types.InlineKeyboardButton(label, callback_data=data) for label, data in row))
        reply = (types.ReplyParameters(reply_to_message_id, allow_sending_without_reply=True)
                 if reply_to_message_id else None)
        result = apihelper.send_message(self.token, chat_id, text, reply_markup=markup,
                                        protect_content=self.protect, reply_parameters=reply,
                                        message_thread_id=thread_id)
        return result["message_id"]

    def copy_message(self, chat_id: int, payload: dict) -> int:
        try:
            result = apihelper.copy_message(
                self.token, chat_id, payload["from_chat_id"], payload["message_id"],
                caption=payload.get("caption"), protect_content=self.protect,
                message_thread_id=payload.get("message_thread_id"),
            )
        except apihelper.ApiTelegramException as exc:
            if exc.error_code != 400 or not _uncopyable(exc.description):
                raise
            # Say what it was rather than lose it.
            stand_in = texts.CANNOT_COPY.format(kind=texts.content_name(payload.get("content_type", "")))
            caption = payload.get("caption")
            return self.send_text(chat_id, f"{caption}\n{stand_in}" if caption else stand_in,
                                  thread_id=payload.get("message_thread_id"))
        return result["message_id"]

    def create_topic(self, chat_id: int, name: str) -> int:
        """Open a topic in a private chat (topics mode); return its thread id."""
        return int(apihelper.create_forum_topic(self.token, chat_id, name)["message_thread_id"])

    def _create_topic(self, chat_id: int, name: str) -> NewTopic | None:
        try:
            return NewTopic(self.create_topic(chat_id, name))
        except apihelper.ApiTelegramException as exc:
            if exc.error_code != 400:
                raise
            # Topics were switched off meanwhile (or the name was refused): the dialog goes on without one.
            log.info("could not open a topic in chat %s: %s", chat_id, exc.description)
            return None

    def _edit_topic(self, chat_id: int, thread_id: int | None, name: str, close: bool) -> None:
        if thread_id is None:
            return None  # the dialog has no topic in this chat: nothing to rename or close
        calls = [lambda: apihelper.edit_forum_topic(self.token, chat_id, thread_id, name=name)]
        if close:
            calls.append(lambda: apihelper.close_forum_topic(self.token, chat_id, thread_id))
        for call in calls:
            try:
                call()
            except apihelper.ApiTelegramException as exc:
                if exc.error_code != 400 or not any(s in exc.description.lower() for s in TOPIC_ALREADY):
                    raise
                log.info("topic %s in chat %s: %s", thread_id, chat_id, exc.description)
        return None

    def _delete(self, chat_id: int, message_id: int) -> None:
        try:
            apihelper.delete_message(self.token, chat_id, message_id)
        except apihelper.ApiTelegramException as exc:
            if exc.error_code != 400:  # already gone, or too old: nothing left to do
                raise
            log.info("could not delete message %s in chat %s: %s", message_id, chat_id, exc.description)
        return None

    def _edit(self, chat_id: int, payload: dict) -> None:
        message_id = payload.get("message_id")
        if message_id is None:
            return None  # the message to edit was never delivered: nothing to change
        try:
            if payload.get("caption"):
                apihelper.edit_message_caption(self.token, payload["text"], chat_id, message_id)
            else:
                apihelper.edit_message_text(self.token, payload["text"], chat_id, message_id)
        except apihelper.ApiTelegramException as exc:
            if exc.error_code != 400:
                raise
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, exc.description)
        return None

    def _answer_button(self, payload: dict) -> None:
        try:
            apihelper.answer_callback_query(self.token, payload["callback_id"], payload.get("text") or None)
        except apihelper.ApiTelegramException as exc:
            if exc.error_code != 400:  # too old: the button press is long forgotten
                raise
            log.info("could not answer a button press: %s", exc.description)

    def _set_commands(self, chat_id: int, commands: list, scope_name: str) -> None:
        scope = types.BotCommandScopeAllPrivateChats() if scope_name == "all_private_chats" else \
            types.BotCommandScopeChat(chat_id)
        if commands:
            apihelper.set_my_commands(self.token, [types.BotCommand(c, d) for c, d in commands], scope=scope)
        else:
            apihelper.delete_my_commands(self.token, scope=scope)
        return None


class _SessionPerThread:
    """Send telebot's requests through one requests.Session per thread, renewed every 10 minutes.

    requests normally re-reads the proxy environment (and, on Windows, the registry) and ~/.netrc on
    every call; that was most of the bot's CPU per message. The same settings (proxies with no_proxy
    applied, REQUESTS_CA_BUNDLE) are worked out once, for the API's address, by requests itself.
    """

    LIFETIME = 600.0

    def __init__(self, api_url: str):
        settings = requests.Session().merge_environment_settings(api_url, {}, None, None, None)
        self.proxies, self.verify = settings["proxies"], settings["verify"]
        self.local = threading.local()

    def request(self, method, url, params=None, files=None, timeout=None, proxies=None):
        session = getattr(self.local, "session", None)
        if session is None or time.monotonic() - self.local.born > self.LIFETIME:
            if session is not None:
                session.close()
            session = requests.Session()
            session.trust_env = False
            session.proxies.update(self.proxies)
            session.verify = self.verify
            self.local.session, self.local.born = session, time.monotonic()
        return session.request(method, url, params=params, files=files, timeout=timeout, proxies=proxies)


def _uncopyable(description: str) -> bool:
    lowered = description.lower()
    return "can't be copied" in lowered or "message to copy not found" in lowered


def dumps(update: dict) -> str:
    """Serialise an update for the inbox."""
    return json.dumps(update, ensure_ascii=False, separators=(",", ":"))
