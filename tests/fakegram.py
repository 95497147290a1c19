"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, every chat kept in memory.

Boundary: this module speaks only HTTP to whoever connects and imports nothing from the
project or from telebot (standard library only), so a bot pointed at ``base_url`` cannot
tell it from api.telegram.org.  Tests drive simulated people through the Python API
(``send_text``, ``press_button``, ``block_bot`` ...) and observe what the bot did through
``messages_in``, ``calls`` and ``wait_for``.

Things that behave like the real service and are easy to trip over:
- a user who never wrote to the bot is unknown: sends to that id get 400 "chat not found";
  a user the bot has only seen in a group gets 403 "bot can't initiate conversation";
- HTML/MarkdownV2 text is stored parsed (tags stripped, ``entities`` filled in); the text
  as sent is kept in the observation field ``raw_text``;
- editMessageText without ``reply_markup`` removes the inline keyboard, as Telegram does;
- adding the bot to a group produces a ``my_chat_member`` update *and* a service message
  with ``new_chat_members``; leaveChat produces a ``my_chat_member`` update ("left");
- a user who blocked the bot and then writes again first unblocks it (``my_chat_member``
  back to "member"), like pressing "Restart" in the app;
- a text holding a lone surrogate ("\\ud800", as a broken or hostile client may send) reaches the bot
  as a JSON \\u escape, the only way it can travel: valid JSON that is not valid UTF-8 once decoded;
- real Bot API methods the fake does not simulate answer 501 with a description saying so,
  so a gap in the fake is never mistaken for a Telegram error.

Topics in private chats (Bot API 9.3, December 2025, and 9.4, February 2026), as documented:
- ``getMe`` carries ``has_topics_enabled`` ("True, if forum topic mode is enabled for the bot in
  private chats", switched on by the owner in @BotFather) and ``allows_users_to_create_topics``
  ("True, if the bot allows users to create and delete topics in private chats"), both "returned only
  in getMe"; here ``FakeTelegram(topics=..., users_may_create_topics=...)`` or the attributes of the same
  names, which a test may change while the bot runs;
- ``createForumTopic(chat_id, name, icon_color?, icon_custom_emoji_id?)`` works in a private chat with a
  user only while topics are enabled (else ``400 Bad Request: the chat is not a forum``); the name is
  1-128 characters (else ``400 Bad Request: TOPIC_NAME_INVALID``); icon_color is one of 7322096, 16766590,
  13338331, 9367192, 16749490, 16478047 (else ``400 Bad Request: TOPIC_ICON_COLOR_INVALID`` here). It
  answers a ForumTopic ``{"message_thread_id", "name", "icon_color"}`` and puts the service message
  ``forum_topic_created {"name", "icon_color"}`` into the chat; as in forum supergroups, the topic's thread
  id is that service message's id;
- ``editForumTopic(chat_id, message_thread_id, name?, icon_custom_emoji_id?)``, ``closeForumTopic``,
  ``reopenForumTopic`` leave ``forum_topic_edited`` / ``forum_topic_closed`` / ``forum_topic_reopened``
  service messages in the topic; a change to what already is answers ``400 Bad Request:
  TOPIC_NOT_MODIFIED``; an unknown or deleted thread ``400 Bad Request: TOPIC_ID_INVALID`` (the MTProto
  error the Bot API passes on); ``deleteForumTopic`` removes the topic with all its messages;
- a message in a topic has ``message_thread_id`` and ``is_topic_message: true``, and one that is not an
  explicit reply carries ``reply_to_message`` = the topic's creation message (how forum topics mark the
  thread; the bot must not take it for a reply);
- every send method takes ``message_thread_id``; one that names no existing topic of the chat (never
  created, or deleted) answers ``400 Bad Request: message thread not found`` (the description bots
  report for a wrong thread id, tdlib/telegram-bot-api#472);
- the bot gets no update for its own service messages, nor for a user deleting a topic
  (``user_deletes_topic``); a user creating one (``user_creates_topic``, only when
  ``users_may_create_topics``) reaches the bot as a ``forum_topic_created`` message from the user;
  people write inside a topic with ``send_text(user, text, thread_id=T)``. Messages outside any topic
  (the General topic) carry no thread id. Sending into a closed topic is allowed (the bot owns the chat).
"""
from __future__ import annotations

import copy
import html
import http
import json
import math
import mimetypes
import random
import re
import select
import socket
import string
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FakeTelegram", "Call", "Upload"]

# Every method name pyTelegramBotAPI 4.37.1 calls; anything else answers 404 like Telegram.
_METHOD_NAMES = """
addStickerToSet answerCallbackQuery answerChatJoinRequestQuery answerGuestQuery answerInlineQuery
answerPreCheckoutQuery answerShippingQuery answerWebAppQuery approveChatJoinRequest approveSuggestedPost
banChatMember banChatSenderChat close closeForumTopic closeGeneralForumTopic convertGiftToStars
copyMessage copyMessages createChatInviteLink createChatSubscriptionInviteLink createForumTopic
createInvoiceLink createNewStickerSet declineChatJoinRequest declineSuggestedPost
deleteAllMessageReactions deleteBusinessMessages deleteChatPhoto deleteChatStickerSet
deleteEphemeralMessage deleteForumTopic deleteMessage deleteMessageReaction deleteMessages
deleteMyCommands deleteMyProfilePhoto deleteStickerFromSet deleteStickerSet deleteStory deleteWebhook
editChatInviteLink editChatSubscriptionInviteLink editEphemeralMessageCaption editEphemeralMessageMedia
editEphemeralMessageReplyMarkup editEphemeralMessageText editForumTopic editGeneralForumTopic
editMessageCaption editMessageChecklist editMessageLiveLocation editMessageMedia editMessageReplyMarkup
editMessageText editStory editUserStarSubscription exportChatInviteLink forwardMessage forwardMessages
getAvailableGifts getBusinessAccountGifts getBusinessAccountStarBalance getBusinessConnection getChat
getChatAdministrators getChatGifts getChatMember getChatMemberCount getChatMenuButton
getCustomEmojiStickers getFile getForumTopicIconStickers getGameHighScores getManagedBotAccessSettings
getManagedBotToken getMe getMyCommands getMyDefaultAdministratorRights getMyDescription getMyName
getMyShortDescription getMyStarBalance getStarTransactions getStickerSet getUpdates getUserChatBoosts
getUserGifts getUserPersonalChatMessages getUserProfileAudios getUserProfilePhotos getWebhookInfo
giftPremiumSubscription hideGeneralForumTopic leaveChat logOut pinChatMessage postStory
promoteChatMember readBusinessMessage refundStarPayment removeBusinessAccountProfilePhoto
removeChatVerification removeUserVerification reopenForumTopic reopenGeneralForumTopic
replaceManagedBotToken replaceStickerInSet repostStory restrictChatMember revokeChatInviteLink
savePreparedInlineMessage savePreparedKeyboardButton sendAnimation sendAudio sendChatAction
sendChatJoinRequestWebApp sendChecklist sendContact sendDice sendDocument sendGame sendGift sendInvoice
sendLivePhoto sendLocation sendMediaGroup sendMessage sendMessageDraft sendPaidMedia sendPhoto sendPoll
sendRichMessage sendRichMessageDraft sendSticker sendVenue sendVideo sendVideoNote sendVoice setBusinessAccountBio
setBusinessAccountGiftSettings setBusinessAccountName setBusinessAccountProfilePhoto
setBusinessAccountUsername setChatAdministratorCustomTitle setChatDescription setChatMemberTag
setChatMenuButton setChatPermissions setChatPhoto setChatStickerSet setChatTitle
setCustomEmojiStickerSetThumbnail setGameScore setManagedBotAccessSettings setMessageReaction
setMyCommands setMyDefaultAdministratorRights setMyDescription setMyName setMyProfilePhoto
setMyShortDescription setStickerEmojiList setStickerKeywords setStickerMaskPosition
setStickerPositionInSet setStickerSetThumbnail setStickerSetTitle setUserEmojiStatus setWebhook
stopMessageLiveLocation stopPoll transferBusinessAccountStars transferGift unbanChatMember
unbanChatSenderChat unhideGeneralForumTopic unpinAllChatMessages unpinAllForumTopicMessages
unpinAllGeneralForumTopicMessages unpinChatMessage upgradeGift uploadStickerFile verifyChat verifyUser
"""
_CANONICAL = {name.lower(): name for name in _METHOD_NAMES.split()}

# Methods that only acknowledge: answering True is all Telegram does that a test could see.
_ACKNOWLEDGE_ONLY = {
    "setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton",
    "setMyDefaultAdministratorRights", "setMessageReaction", "pinChatMessage", "unpinChatMessage",
    "unpinAllChatMessages", "logOut", "close",
}

_FILE_KINDS = ("photo", "document", "voice", "video", "video_note", "audio", "sticker", "animation")
_OTHER_KINDS = ("location", "contact", "venue", "dice", "poll")
_CAPTIONED = {"photo", "document", "voice", "video", "audio", "animation"}
_SEND_KIND = {
    "sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice", "sendVideo": "video",
    "sendVideoNote": "video_note", "sendAudio": "audio", "sendSticker": "sticker",
    "sendAnimation": "animation", "sendLocation": "location", "sendContact": "contact",
    "sendVenue": "venue", "sendDice": "dice", "sendPoll": "poll",
}
# Everything that puts a message into a chat: blocked chats refuse these, rate limits count them.
_SENDS = {m for m in _CANONICAL.values() if m.startswith("send")} - {
    "sendChatAction", "sendMessageDraft", "sendRichMessageDraft", "sendChatJoinRequestWebApp"}
_SENDS |= {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"}
_REFUSED_WHEN_BLOCKED = _SENDS | {"sendChatAction"}

_CONTENT_KEYS = (
    "text", "entities", "link_preview_options", "photo", "document", "voice", "video", "video_note",
    "audio", "sticker", "animation", "location", "contact", "venue", "dice", "poll",
    "caption", "caption_entities",
)
_JSON_PARAMS = {
    "reply_markup", "reply_parameters", "commands", "scope", "allowed_updates", "entities",
    "caption_entities", "media", "message_ids", "link_preview_options", "options", "results",
    "permissions", "menu_button", "rights", "reaction",
}
_DEFAULT_ALLOWED_UPDATES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
})
_SCOPE_TYPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
                "chat", "chat_administrators", "chat_member"}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                 "markup are exactly the same as a current content and reply markup of the message")
_CONFLICT = ("Conflict: terminated by other getUpdates request; "
             "make sure that only one bot instance is running")


class ApiError(Exception):
    """An answer with ok=false that the fake gives to a request."""

    def __init__(self, code: int, description: str, parameters: dict | None = None, html_body: bool = False):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters
        self.html_body = html_body

    def body(self) -> dict:
        """Return Telegram's error JSON for this error."""
        data = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            data["parameters"] = dict(self.parameters)
        return data


class _Dropped(Exception):
    """Close the connection without answering (server down, or the client went away)."""


class _EntityError(Exception):
    """Text that Telegram's entity parser rejects."""


@dataclass
class Upload:
    """A file part of a multipart/form-data request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class Call:
    """One HTTP request the fake received, and how it was answered."""

    method: str
    params: dict
    time: float
    http_method: str = "GET"
    path: str = ""
    status: int | None = None  # None until the answer is decided, 0 when the connection was closed instead
    response: object = None  # the parsed JSON answer (a str for HTML answers)

    @property
    def ok(self) -> bool:
        """Tell whether the call was answered with ok=true."""
        return self.status == 200

    @property
    def description(self) -> str | None:
        """Return the error description of the answer, if any."""
        return self.response.get("description") if isinstance(self.response, dict) else None

    @property
    def chat_id(self):
        """Return the chat_id parameter as an int when it is one."""
        try:
            return int(self.params.get("chat_id"))
        except (TypeError, ValueError):
            return self.params.get("chat_id")


@dataclass
class _Stored:
    """A message as the fake keeps it: the Telegram object plus what only tests may see."""

    msg: dict
    by_bot: bool
    markup: dict | None = None
    protect: bool = False
    copied_from: tuple | None = None
    edited: bool = False
    raw_text: str | None = None
    parse_mode: str | None = None


@dataclass
class _Fault:
    method: str
    code: int
    description: str
    times: int
    retry_after: int | None
    html: bool
    chat_id: int | None
    applied: bool


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `capacity` saved up."""

    def __init__(self, rate: float, capacity: int):
        self.rate = float(rate)
        self.capacity = max(1, int(capacity))
        self.tokens = float(self.capacity)
        self.stamp = time.monotonic()

    def wait_time(self, now: float) -> float:
        """Refill, then return seconds until one token is available (0 when one is)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


# ---------------------------------------------------------------------------------------------
# small parsing helpers


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _json_bytes(answer) -> bytes:
    """Encode an answer as Telegram does: UTF-8, but a lone surrogate (which UTF-8 cannot hold) as a \\u escape."""
    try:
        return json.dumps(answer, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(answer, ensure_ascii=True).encode("ascii")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in ("true", "1")


def _as_int(value, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _random_id(prefix: str, length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return prefix + "".join(random.choice(alphabet) for _ in range(length))


def _disposition_param(header: str, name: str) -> str | None:
    m = re.search(r'(?:^|;)\s*' + name + r'\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', header, re.I)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def _parse_multipart(body: bytes, content_type: str) -> dict:
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if not m:
        raise ApiError(400, "Bad Request: multipart boundary not found")
    boundary = (m.group(1) or m.group(2)).encode("latin-1")
    fields: dict = {}
    # Prefixing CRLF makes every delimiter "\r\n--boundary", so part data never needs trimming.
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip():
                headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _disposition_param(disposition, "name")
        if name is None:
            continue
        filename = _disposition_param(disposition, "filename")
        if filename is not None:
            ctype = headers.get("content-type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            fields[name] = Upload(filename, ctype, data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields


def _client_gone(sock) -> bool:
    """Tell whether the peer of a held request closed its end (an abandoned long poll)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


# ---------------------------------------------------------------------------------------------
# entity parsers: return (plain_text, entities) or raise _EntityError with Telegram's wording

_HTML_ENTITY_TYPE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_HTML_ATTR = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_CHAR_REF = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")


def _parse_html(s: str):
    out, entities, stack = [], [], []
    pos = 0  # UTF-16 offset in the plain text
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "<":
            m = _HTML_TAG.match(s, i)
            if not m:
                if i + 1 < n and (s[i + 1].isalpha() or s[i + 1] == "/"):
                    raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(s, i)}")
                raise _EntityError(f'Unsupported start tag "" at byte offset {_byte_offset(s, i)}')
            closing, name, attr_text = m.group(1), m.group(2).lower(), m.group(3)
            if name not in _HTML_ENTITY_TYPE:
                kind = "end" if closing else "start"
                raise _EntityError(f'Unsupported {kind} tag "{name}" at byte offset {_byte_offset(s, i)}')
            if closing:
                if not stack:
                    raise _EntityError(f"Unexpected end tag at byte offset {_byte_offset(s, i)}")
                top_name, start, attrs = stack.pop()
                if top_name != name:
                    raise _EntityError(
                        f'Unmatched end tag at byte offset {_byte_offset(s, i)}, expected "</{top_name}>", '
                        f'found "</{name}>"')
                if pos > start:
                    entity = {"offset": start, "length": pos - start, "type": _HTML_ENTITY_TYPE[name]}
                    if name == "a":
                        entity["url"] = attrs.get("href", "")
                    if name == "pre" and attrs.get("language"):
                        entity["language"] = attrs["language"]
                    if name == "tg-emoji":
                        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
                    if name != "a" or entity["url"]:
                        entities.append(entity)
            else:
                attrs = {}
                for am in _HTML_ATTR.finditer(attr_text):
                    value = next((g for g in am.groups()[1:] if g is not None), "")
                    attrs[am.group(1).lower()] = html.unescape(value)
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise _EntityError(f'Unsupported start tag "span" at byte offset {_byte_offset(s, i)}')
                if name == "tg-emoji" and not attrs.get("emoji-id"):
                    raise _EntityError("Custom emoji entity must contain a tg://emoji URL")
                language = attrs.get("class", "")
                if name == "code" and stack and stack[-1][0] == "pre" and language.startswith("language-"):
                    stack[-1][2]["language"] = language[len("language-"):]
                stack.append((name, pos, attrs))
            i = m.end()
        elif c == "&":
            m = _HTML_CHAR_REF.match(s, i)
            if not m:
                raise _EntityError(
                    f'Unsupported HTML entity at byte offset {_byte_offset(s, i)}: write "&amp;" for a plain "&"')
            if m.group(1):
                ch = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[m.group(1)]
            else:
                code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
                try:
                    ch = chr(code)
                except (ValueError, OverflowError):
                    raise _EntityError(f"Invalid character reference at byte offset {_byte_offset(s, i)}") from None
            out.append(ch)
            pos += _u16(ch)
            i = m.end()
        else:
            out.append(c)
            pos += _u16(c)
            i += 1
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": ("bold", "Bold"), "_": ("italic", "Italic"), "__": ("underline", "Underline"),
               "~": ("strikethrough", "Strikethrough"), "||": ("spoiler", "Spoiler"), "[": ("text_link", "TextUrl")}


def _parse_markdown_v2(s: str):
    out, entities, stack = [], [], []  # stack: (marker, utf16 start, byte offset)
    pos = 0
    i, n = 0, len(s)

    def emit(text):
        nonlocal pos
        out.append(text)
        pos += _u16(text)

    def scan_until(j, closer, what):
        # Inside code, pre and URLs only "\" escapes; everything else is literal.
        buf = []
        while j < n:
            if s[j] == "\\" and j + 1 < n:
                buf.append(s[j + 1])
                j += 2
            elif s.startswith(closer, j):
                return "".join(buf), j + len(closer)
            else:
                buf.append(s[j])
                j += 1
        raise _EntityError(f"Can't find end of {what} entity at byte offset {_byte_offset(s, i)}")

    while i < n:
        c = s[i]
        at_line_start = i == 0 or s[i - 1] == "\n"
        if c == "\\":
            if i + 1 < n and 0 < ord(s[i + 1]) < 127:
                emit(s[i + 1])
                i += 2
                continue
            raise _EntityError("Character '\\' is reserved and must be escaped with the preceding '\\'")
        if c == "`":
            start = pos
            if s.startswith("```", i):
                body, i = scan_until(i + 3, "```", "Pre")
                language = ""
                first, nl, rest = body.partition("\n")
                if nl and first and " " not in first:
                    language, body = first, rest
                emit(body)
                entity = {"offset": start, "length": pos - start, "type": "pre"}
                if language:
                    entity["language"] = language
            else:
                body, i = scan_until(i + 1, "`", "Code")
                emit(body)
                entity = {"offset": start, "length": pos - start, "type": "code"}
            if entity["length"]:
                entities.append(entity)
            continue
        if c == "[":
            stack.append(("[", pos, _byte_offset(s, i)))
            i += 1
            continue
        if c == "]":
            if not stack or stack[-1][0] != "[":
                raise _EntityError("Character ']' is reserved and must be escaped with the preceding '\\'")
            _, start, _ = stack.pop()
            if not s.startswith("(", i + 1):
                raise _EntityError(f"Can't find end of a URL at byte offset {_byte_offset(s, i)}")
            url, i = scan_until(i + 2, ")", "TextUrl")
            if pos > start:
                entities.append({"offset": start, "length": pos - start, "type": "text_link", "url": url})
            continue
        marker = None
        if s.startswith("||", i):
            marker = "||"
        elif s.startswith("__", i):
            marker = "__"
        elif c in "*_~":
            marker = c
        if marker:
            if at_line_start and s.startswith("**>", i):
                i += 3  # expandable blockquote
                continue
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                if pos > start:
                    entities.append({"offset": start, "length": pos - start, "type": _MDV2_NAMES[marker][0]})
            elif any(entry[0] == marker for entry in stack):
                entry = next(entry for entry in stack if entry[0] == marker)
                raise _EntityError(
                    f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {entry[2]}")
            else:
                stack.append((marker, pos, _byte_offset(s, i)))
            i += len(marker)
            continue
        if c == ">" and at_line_start:
            i += 1  # blockquote line
            continue
        if c in _MDV2_RESERVED:
            raise _EntityError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1
    if stack:
        marker, _, offset = stack[-1]
        raise _EntityError(f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {offset}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_markdown(s: str):
    out, entities = [], []
    pos = 0
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in "_*`[":
            out.append(s[i + 1])
            pos += 1
            i += 2
            continue
        if c in "*_`[":
            closer, kind, width = {"*": ("*", "bold", 1), "_": ("_", "italic", 1),
                                   "`": ("`", "code", 1), "[": ("](", "text_link", 1)}[c]
            if s.startswith("```", i):
                closer, kind, width = "```", "pre", 3
            end = s.find(closer, i + width)
            if end < 0:
                raise _EntityError(f"Can't find end of the entity starting at byte offset {_byte_offset(s, i)}")
            body = s[i + width:end]
            i = end + len(closer)
            entity = {"offset": pos, "length": _u16(body), "type": kind}
            if kind == "text_link":
                url_end = s.find(")", i)
                if url_end < 0:
                    raise _EntityError(f"Can't find end of the entity starting at byte offset {_byte_offset(s, i)}")
                entity["url"] = s[i:url_end]
                i = url_end + 1
            out.append(body)
            pos += _u16(body)
            if entity["length"]:
                entities.append(entity)
            continue
        out.append(c)
        pos += _u16(c)
        i += 1
    return "".join(out), entities


def _parse_text(text: str, parse_mode, entities_param):
    """Return (plain text, entities) the way Telegram stores a sent text or caption."""
    if parse_mode in (None, ""):
        if entities_param is not None and not isinstance(entities_param, list):
            raise ApiError(400, "Bad Request: can't parse entities JSON object")
        return text, list(entities_param or [])
    mode = str(parse_mode).lower()
    parser = {"html": _parse_html, "markdownv2": _parse_markdown_v2, "markdown": _parse_markdown}.get(mode)
    if parser is None:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
    try:
        return parser(text)
    except _EntityError as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None


def _validate_markup(markup, *, inline_only: bool = False):
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
                                'should be an Array of Arrays')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif "url" in button:
                    if not re.match(r"(https?|tg)://\S+", str(button["url"])):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                elif not any(k in button for k in ("switch_inline_query", "switch_inline_query_current_chat",
                                                     "switch_inline_query_chosen_chat", "web_app", "login_url",
                                                     "callback_game", "pay", "copy_text")):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return markup
    if inline_only:
        raise ApiError(400, "Bad Request: inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(400, 'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        return markup
    if "remove_keyboard" in markup or "force_reply" in markup:
        return markup
    raise ApiError(400, "Bad Request: object expected as reply markup")


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.telegram.org

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; with Nagle's algorithm on, the body would wait for the
        # client's delayed ACK (~40 ms on Linux) and every call would look slow. Telegram does not stall so.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.fake._track_connection(self.connection, add=True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._track_connection(self.connection, add=False)

    def do_GET(self):
        self.server.fake._serve(self)

    do_POST = do_GET

    def version_string(self):
        return "nginx/1.18.0"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that vanish mid-answer are normal here (abandoned long polls, set_down).
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------------


class FakeTelegram:
    """An in-memory Telegram Bot API server that a real bot process can poll and send to."""

    def __init__(self, token: str = "1234:test", bot_username: str = "shop_support_bot",
                 first_update_id: int | None = None, *, topics: bool = False, users_may_create_topics: bool = False):
        self.token = token
        self.topics = topics  # getMe has_topics_enabled: the owner switched topics on in @BotFather
        self.users_may_create_topics = users_may_create_topics
        self.base_url = ""
        bot_id = int(token.split(":", 1)[0])
        first_name = re.sub(r"_?bot$", "", bot_username, flags=re.I).replace("_", " ").title() or "Bot"
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": first_name, "username": bot_username}
        self._me = dict(self.bot_user, can_join_groups=True, can_read_all_group_messages=False,
                        supports_inline_queries=False, can_connect_to_business=False, has_main_web_app=False)
        self._cond = threading.Condition(threading.RLock())
        self._version = 0
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._connections: set = set()
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself; tests may assert it is empty
        self._init_state(first_update_id)

    def _init_state(self, first_update_id):
        self._calls: list[Call] = []
        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}
        self._started: set[int] = set()  # users who wrote to the bot in private
        self._seen: set[int] = set()  # users the bot has seen anywhere
        self._membership: dict[int, str] = {}  # group id -> the bot's status there
        self._messages: dict[int, dict[int, _Stored]] = {}
        self._next_message_id: dict[int, int] = {}
        self._deleted: dict[int, list[int]] = {}
        self._updates: list[dict] = []
        self._next_update_id = first_update_id if first_update_id is not None else random.randint(10_000, 99_999)
        self._confirmed_offset = 0
        self._allowed_updates = _DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._waiting_poll: int | None = None
        self._webhook_url = ""
        self._blocked_by_user: set[int] = set()
        self._forced_blocks: dict[int, str] = {}
        self._faults: list[_Fault] = []
        self._down = False
        self._delays: dict[str, float] = {}
        self._global_bucket: _Bucket | None = None
        self._chat_rate: tuple[float, int] | None = None
        self._chat_buckets: dict[int, _Bucket] = {}
        self._count_429 = 0
        self._commands: dict[tuple, list] = {}
        self._callback_queries: dict[str, dict] = {}
        self._callback_answers: dict[str, dict] = {}
        self._left_chats: list[int] = []
        self._files: dict[str, dict] = {}
        self._files_by_path: dict[str, dict] = {}
        self._topics: dict[int, dict[int, dict]] = {}  # chat -> thread id -> {"name", "icon_color", "closed"}
        self._send_thread: int | None = None  # the checked message_thread_id of the send being answered

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "FakeTelegram":
        """Bind 127.0.0.1 on a free port and serve requests in daemon threads."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakegram", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and drop every open connection."""
        self._stopping.set()
        with self._cond:
            self._changed()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._cond:
                connections = list(self._connections)
            for conn in connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _track_connection(self, conn, add: bool):
        with self._cond:
            (self._connections.add if add else self._connections.discard)(conn)

    def _changed(self):
        # Caller holds the lock.
        self._version += 1
        self._cond.notify_all()

    # ---- simulated people -----------------------------------------------------------------------

    def user(self, user_id: int, first_name: str, username: str | None = None, last_name: str | None = None,
             language_code: str | None = "en") -> dict:
        """Register a person and return their Telegram User dict."""
        if user_id <= 0 or user_id == self.bot_user["id"]:
            raise ValueError(f"user id {user_id} must be positive and differ from the bot's id")
        data = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            data["last_name"] = last_name
        if username:
            data["username"] = username
        if language_code:
            data["language_code"] = language_code
        with self._cond:
            self._users[user_id] = data
            self._changed()
        return dict(data)

    def send_text(self, user: dict, text: str, *, reply_to: int | None = None, thread_id: int | None = None) -> dict:
        """Have `user` write `text` to the bot in private (inside topic `thread_id`, if given); return the Message."""
        content = {"text": text}
        if text.startswith("/"):
            command = re.match(r"\S+", text).group(0)
            content["entities"] = [{"offset": 0, "length": _u16(command), "type": "bot_command"}]
        with self._cond:
            stored = self._user_writes(user, content, reply_to=reply_to, thread_id=thread_id)
            return self._api_view(stored)

    def send_media(self, user: dict, kind: str, *, caption: str | None = None,
                   media_group_id: str | None = None, thread_id: int | None = None) -> dict:
        """Have `user` send a photo, document, voice, ... to the bot; return the Message."""
        if kind not in _FILE_KINDS + _OTHER_KINDS:
            raise ValueError(f"unknown media kind {kind!r}")
        if caption is not None and kind not in _CAPTIONED:
            raise ValueError(f"a {kind} has no caption")
        with self._cond:
            content = self._made_up_content(kind)
            if caption is not None:
                content["caption"] = caption
            if media_group_id is not None:
                content["media_group_id"] = str(media_group_id)
            return self._api_view(self._user_writes(user, content, thread_id=thread_id))

    def edit_text(self, user: dict, message_id: int, new_text: str) -> dict:
        """Have `user` edit one of their text messages; the bot gets an edited_message."""
        with self._cond:
            stored = self._messages.get(user["id"], {}).get(message_id)
            if stored is None or stored.by_bot or "text" not in stored.msg:
                raise ValueError(f"user {user['id']} has no text message {message_id}")
            stored.msg["text"] = new_text
            stored.msg.pop("entities", None)
            stored.msg["edit_date"] = int(time.time())
            stored.edited = True
            view = self._api_view(stored)
            self._push("edited_message", view)
            return copy.deepcopy(view)

    def press_button(self, user: dict, message: dict, data: str, *, strict: bool = True) -> dict:
        """Have `user` press an inline button of a bot message; return the CallbackQuery."""
        chat_id = message["chat"]["id"]
        with self._cond:
            stored = self._messages.get(chat_id, {}).get(message["message_id"])
            if stored is None:
                raise ValueError(f"message {message['message_id']} is not in chat {chat_id} (deleted?)")
            if strict:
                buttons = [b for row in (stored.markup or {}).get("inline_keyboard", []) for b in row]
                if not any(b.get("callback_data") == data for b in buttons):
                    raise ValueError(f"message {message['message_id']} has no button with callback_data {data!r}; "
                                     f"buttons: {[b.get('callback_data') for b in buttons]}")
            query_id = str(random.randint(10**17, 10**18))
            query = {"id": query_id, "from": dict(user), "message": self._api_view(stored),
                     "chat_instance": str(abs(chat_id) * 7919 + 4_000_000_000_000_000), "data": data}
            self._callback_queries[query_id] = {"answered": False}
            self._push("callback_query", query)
            return copy.deepcopy(query)

    def user_creates_topic(self, user: dict, name: str) -> dict:
        """Have `user` create a topic in their chat with the bot (allowed only if users may); return the service
        message, which reaches the bot as a message."""
        with self._cond:
            if not (self.topics and self.users_may_create_topics):
                raise ValueError("users may not create topics in this bot's chats")
            stored = self._open_topic(user["id"], dict(user), name, 7322096, by_bot=False)
            view = self._api_view(stored)
            self._push("message", view)
            return copy.deepcopy(view)

    def user_deletes_topic(self, chat_id: int, thread_id: int) -> None:
        """Have the user delete a topic of their chat with the bot; Telegram tells the bot nothing."""
        with self._cond:
            if not self.users_may_create_topics:
                raise ValueError("users may not delete topics in this bot's chats")
            if thread_id not in self._topics.get(chat_id, {}):
                raise ValueError(f"chat {chat_id} has no topic {thread_id}")
            self._remove_topic(chat_id, thread_id)
            self._changed()

    def topics_in(self, chat_id: int) -> dict[int, dict]:
        """The chat's topics: thread id -> {"name", "icon_color", "closed"}."""
        with self._cond:
            return copy.deepcopy(self._topics.get(chat_id, {}))

    def messages_in_topic(self, chat_id: int, thread_id: int | None) -> list[dict]:
        """The messages of one topic of a chat (None: those outside any topic), oldest first."""
        return [m for m in self.messages_in(chat_id) if m.get("message_thread_id") == thread_id]

    def block_bot(self, user: dict) -> dict:
        """Have `user` block the bot: a my_chat_member "kicked" update, then 403 on sends."""
        with self._cond:
            self._blocked_by_user.add(user["id"])
            return self._member_update(self._private_chat(user), user, "member", "kicked")

    def unblock_bot(self, user: dict) -> dict:
        """Have `user` unblock the bot: a my_chat_member "member" update."""
        with self._cond:
            self._blocked_by_user.discard(user["id"])
            return self._member_update(self._private_chat(user), user, "kicked", "member")

    def add_bot_to_group(self, group_id: int, by_user: dict) -> dict:
        """Have `by_user` add the bot to a group; return the ChatMemberUpdated."""
        if group_id >= 0:
            raise ValueError("group ids are negative")
        with self._cond:
            chat = self._chats.setdefault(group_id, {"id": group_id, "title": f"Group {-group_id}",
                                                     "type": "group", "all_members_are_administrators": True})
            old = self._membership.get(group_id, "left")
            self._membership[group_id] = "member"
            self._seen.add(by_user["id"])
            update = self._member_update(chat, by_user, old, "member")
            stored = self._new_message(group_id, dict(by_user), {"new_chat_members": [dict(self.bot_user)],
                                                                 "new_chat_member": dict(self.bot_user),
                                                                 "new_chat_participant": dict(self.bot_user)},
                                       by_bot=False)
            self._push("message", self._api_view(stored))
            return update

    def group_message(self, group_id: int, user: dict, text: str) -> dict:
        """Have `user` write `text` in a group the bot is a member of; return the Message."""
        with self._cond:
            if self._membership.get(group_id) != "member":
                raise ValueError(f"the bot is not in group {group_id}; call add_bot_to_group first")
            self._seen.add(user["id"])
            content = {"text": text}
            if text.startswith("/"):
                command = re.match(r"\S+", text).group(0)
                content["entities"] = [{"offset": 0, "length": _u16(command), "type": "bot_command"}]
            stored = self._new_message(group_id, dict(user), content, by_bot=False)
            view = self._api_view(stored)
            self._push("message", view)
            return copy.deepcopy(view)

    def push_update(self, payload: dict) -> int:
        """Queue a raw update (the fake assigns update_id); return its update_id."""
        with self._cond:
            payload = {k: copy.deepcopy(v) for k, v in payload.items() if k != "update_id"}
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **payload})
            self._changed()
            return update_id

    # ---- observation ----------------------------------------------------------------------------

    @property
    def calls(self) -> list:
        """Return a snapshot of every request received so far."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list:
        """Return the requests to one method (any spelling of its name)."""
        wanted = _CANONICAL.get(method.lower(), method)
        with self._cond:
            return [c for c in self._calls if c.method == wanted]

    def clear_calls(self):
        """Forget the recorded requests (state of chats is kept)."""
        with self._cond:
            self._calls.clear()
            self._changed()

    def messages_in(self, chat_id: int) -> list[dict]:
        """Return the messages in a chat as its members see them, oldest first."""
        with self._cond:
            return [self._observe(s) for s in self._messages.get(chat_id, {}).values()]

    def bot_messages(self, chat_id: int) -> list[dict]:
        """Return the messages in a chat that the bot sent."""
        with self._cond:
            return [self._observe(s) for s in self._messages.get(chat_id, {}).values() if s.by_bot]

    def bot_texts(self, chat_id: int) -> list[str]:
        """Return the text or caption of each bot message in a chat ("" when it has neither)."""
        return [m.get("text", m.get("caption", "")) for m in self.bot_messages(chat_id)]

    def deleted(self, chat_id: int) -> list[int]:
        """Return the ids of messages the bot deleted in a chat."""
        with self._cond:
            return list(self._deleted.get(chat_id, []))

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list | None:
        """Return the commands stored for exactly this scope (None when none are set)."""
        with self._cond:
            found = self._commands.get(self._scope_key(scope or {"type": "default"}, language_code))
            return copy.deepcopy(found)

    def effective_commands(self, chat_id: int, user_id: int | None = None, language_code: str = "") -> list:
        """Return the command menu a chat would show, resolving scopes most specific first."""
        if chat_id > 0:
            scopes = [{"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"}]
        else:
            scopes = ([{"type": "chat_member", "chat_id": chat_id, "user_id": user_id}] if user_id else []) + [
                {"type": "chat", "chat_id": chat_id}, {"type": "all_group_chats"}]
        scopes.append({"type": "default"})
        with self._cond:
            for scope in scopes:
                for lang in ([language_code, ""] if language_code else [""]):
                    found = self._commands.get(self._scope_key(scope, lang))
                    if found:
                        return copy.deepcopy(found)
        return []

    @property
    def callback_answers(self) -> dict:
        """Return answerCallbackQuery parameters by callback query id."""
        with self._cond:
            return copy.deepcopy(self._callback_answers)

    @property
    def left_chats(self) -> list:
        """Return the chat ids the bot left with leaveChat, in order."""
        with self._cond:
            return list(self._left_chats)

    @property
    def pending_updates(self) -> list[int]:
        """Return the update_ids not yet confirmed by an offset."""
        with self._cond:
            return [u["update_id"] for u in self._updates]

    @property
    def confirmed_offset(self) -> int:
        """Return the highest offset getUpdates has confirmed."""
        with self._cond:
            return self._confirmed_offset

    @property
    def count_429(self) -> int:
        """Return how many 429 answers were given."""
        with self._cond:
            return self._count_429

    def wait_for(self, predicate, timeout: float = 10.0, what: str = ""):
        """Wait until predicate() is truthy and return its value; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = self._version
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(what or getattr(predicate, "__name__", "condition")))
            with self._cond:
                # Re-check at least every 0.1 s: predicates may also look at things outside the fake.
                if self._version == seen:
                    self._cond.wait(min(remaining, 0.1))
                seen = self._version

    def wait_bot_messages(self, chat_id: int, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until the bot has at least `count` messages in a chat; return them."""
        def enough():
            messages = self.bot_messages(chat_id)
            return messages if len(messages) >= count else None
        try:
            return self.wait_for(enough, timeout, f"{count} bot message(s) in chat {chat_id}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nbot texts in chat {chat_id}: {self.bot_texts(chat_id)}") from None

    def wait_idle_poll(self, timeout: float = 10.0):
        """Wait until a getUpdates long poll is held with nothing pending (every update consumed)."""
        def idle():
            with self._cond:
                return (self._waiting_poll is not None and self._waiting_poll == self._poll_generation
                        and not self._updates)
        self.wait_for(idle, timeout, "the bot to wait in getUpdates with nothing pending")

    def _timeout_report(self, what: str) -> str:
        with self._cond:
            lines = [f"timed out waiting for {what}", "last calls:"]
            for c in self._calls[-12:]:
                params = {k: (v if len(str(v)) < 80 else str(v)[:77] + "...") for k, v in c.params.items()}
                lines.append(f"  {c.method} -> {c.status} {c.description or ''} {params}")
            lines.append(f"pending updates: {[u['update_id'] for u in self._updates]}")
            if self.errors:
                lines.append("fake errors:\n" + "\n".join(self.errors))
            return "\n".join(lines)

    # ---- faults ---------------------------------------------------------------------------------

    def fail_next(self, method: str, error_code: int, description: str, *, times: int = 1,
                  retry_after: int | None = None, html: bool = False, chat_id: int | None = None,
                  applied: bool = False):
        """Make the next `times` calls of a method fail; applied=True lets the call take effect first."""
        with self._cond:
            self._faults.append(_Fault(_CANONICAL.get(method.lower(), method), error_code, description, times,
                                       retry_after, html, chat_id, applied))
            self._changed()

    def clear_faults(self):
        """Forget every fault still waiting from fail_next()."""
        with self._cond:
            self._faults.clear()
            self._changed()

    def block(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user"):
        """Answer 403 with `description` to every send to a chat."""
        with self._cond:
            self._forced_blocks[chat_id] = description
            self._changed()

    def unblock(self, chat_id: int):
        """Undo block()."""
        with self._cond:
            self._forced_blocks.pop(chat_id, None)
            self._changed()

    def set_down(self, down: bool):
        """While down, close every connection without answering (held long polls too)."""
        with self._cond:
            self._down = bool(down)
            self._changed()

    def set_delay(self, method: str, seconds: float):
        """Answer a method `seconds` late (its effect happens at once, like a slow network)."""
        with self._cond:
            self._delays[_CANONICAL.get(method.lower(), method)] = float(seconds)

    def set_rate_limits(self, per_second: float | None = 30, per_chat_per_second: float | None = 1,
                        per_chat_burst: int = 3, global_burst: int = 30):
        """Limit sends with token buckets like Telegram; None turns a limit off."""
        with self._cond:
            self._global_bucket = _Bucket(per_second, global_burst) if per_second else None
            self._chat_rate = (per_chat_per_second, per_chat_burst) if per_chat_per_second else None
            self._chat_buckets = {}

    # ---- request handling -----------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler):
        url = urllib.parse.urlsplit(h.path)
        try:
            body = self._read_body(h)
        except (OSError, ValueError):
            h.close_connection = True
            return
        file_match = re.fullmatch(r"/file/bot([^/]*)/(.+)", url.path)
        if file_match:
            self._serve_file(h, file_match.group(1), urllib.parse.unquote(file_match.group(2)))
            return
        method, params, early_error = url.path, {}, None
        try:
            method, params = self._route(h, url, body)
        except ApiError as exc:
            early_error = exc
            method = getattr(exc, "method", method)
        call = Call(method=method, params=params, time=time.monotonic(), http_method=h.command, path=url.path)
        with self._cond:
            self._calls.append(call)
            self._changed()
            down = self._down
        if down:
            self._drop(h, call)
            return
        delay = 0.0
        try:
            if early_error is not None:
                raise early_error
            with self._cond:
                delay = self._delays.get(method, 0.0)
                result = self._dispatch(method, params, h.connection)
                status, answer = 200, {"ok": True, "result": result}
                payload = _json_bytes(answer)
                ctype = "application/json"
        except _Dropped:
            self._drop(h, call)
            return
        except ApiError as exc:
            status = exc.code
            if exc.html_body:
                answer = self._html_page(exc.code)
                payload, ctype = answer.encode(), "text/html"
            else:
                answer = exc.body()
                payload, ctype = _json_bytes(answer), "application/json"
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test
            with self._cond:
                self.errors.append(traceback.format_exc())
            status = 500
            answer = {"ok": False, "error_code": 500,
                      "description": "Internal Server Error: fakegram bug, see fake.errors"}
            payload, ctype = json.dumps(answer).encode(), "application/json"
        # Book-keep before answering, so a client that has its answer always finds it recorded.
        with self._cond:
            call.status = status
            call.response = answer
            if status == 429:
                self._count_429 += 1
            self._changed()
        if delay > 0 and self._stopping.wait(delay):
            self._drop(h, call)
            return
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    def _drop(self, h, call: Call):
        h.close_connection = True
        with self._cond:
            call.status = 0
            self._changed()

    @staticmethod
    def _html_page(code: int) -> str:
        try:
            reason = http.HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        return (f"<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
                f"<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
                f"</body>\r\n</html>\r\n")

    @staticmethod
    def _read_body(h) -> bytes:
        if "chunked" in h.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _serve_file(self, h, token: str, path: str):
        with self._cond:
            info = self._files_by_path.get(path) if token == self.token else None
            data = info["data"] if info else None
        if data is None:
            status, ctype = 404, "application/json"
            payload = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
        else:
            status, payload, ctype = 200, data, "application/octet-stream"
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            h.close_connection = True

    def _route(self, h, url, body: bytes):
        m = re.fullmatch(r"/bot([^/]*)/([^/]*)", url.path)
        if not m:
            raise ApiError(404, "Not Found")
        token, name = m.group(1), m.group(2)
        method = _CANONICAL.get(name.lower())
        if token != self.token:
            exc = ApiError(401, "Unauthorized")
            exc.method = method or name
            raise exc
        if method is None:
            exc = ApiError(404, "Not Found")
            exc.method = name
            raise exc
        try:
            params = self._parse_params(h, url, body)
        except ApiError as exc:
            exc.method = method
            raise
        return method, params

    @staticmethod
    def _parse_params(h, url, body: bytes) -> dict:
        params: dict = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        ctype = h.headers.get("Content-Type", "")
        main_type = ctype.split(";")[0].strip().lower()
        if body:
            if main_type == "application/json":
                try:
                    data = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "Bad Request: JSON request body must be an object")
                params.update(data)
            elif main_type == "multipart/form-data":
                params.update(_parse_multipart(body, ctype))
            elif main_type == "application/x-www-form-urlencoded" or not main_type:
                params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        for key in _JSON_PARAMS & params.keys():
            value = params[key]
            if isinstance(value, str):
                if value == "":
                    params[key] = None
                    continue
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    what = "reply keyboard markup" if key == "reply_markup" else key.replace("_", " ")
                    raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
        return params

    def _dispatch(self, method: str, params: dict, sock):
        """Answer one API call; caller holds the lock. Return the result or raise ApiError."""
        fault = self._take_fault(method, params)
        if fault is not None and not fault.applied:
            raise self._fault_error(fault)
        handler = getattr(self, "_m_" + method, None)
        if handler is None and method not in _ACKNOWLEDGE_ONLY:
            if method in _SEND_KIND:
                handler = self._m_send_media
            else:
                raise ApiError(501, f"Not Implemented: fakegram does not simulate {method}")
        if method in _REFUSED_WHEN_BLOCKED:
            self._sendable_chat(self._chat_id(params))
        if method in _SENDS:
            self._send_thread = self._thread_param(params)
            self._take_rate_token(self._chat_id(params))
        try:
            if handler is None:
                result = True
            elif method == "getUpdates":
                result = handler(params, sock)
            elif handler == self._m_send_media:
                result = handler(params, method)
            else:
                result = handler(params)
        finally:
            self._send_thread = None
        if fault is not None:
            raise self._fault_error(fault)
        self._changed()
        return result

    def _take_fault(self, method, params):
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _fault_error(fault: _Fault) -> ApiError:
        parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        return ApiError(fault.code, fault.description, parameters, html_body=fault.html)

    def _take_rate_token(self, chat_id: int):
        now = time.monotonic()
        buckets = []
        if self._global_bucket is not None:
            buckets.append(self._global_bucket)
        if self._chat_rate is not None:
            rate, burst = self._chat_rate
            buckets.append(self._chat_buckets.setdefault(chat_id, _Bucket(rate, burst)))
        wait = max([b.wait_time(now) for b in buckets], default=0.0)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        for bucket in buckets:
            bucket.tokens -= 1

    # ---- chats and messages (caller holds the lock) ---------------------------------------------

    def _chat_id(self, params, key: str = "chat_id") -> int:
        value = params.get(key)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: {key} is empty")
        try:
            return _as_int(value, key)
        except ApiError:
            raise ApiError(400, "Bad Request: chat not found") from None  # e.g. an unknown @username

    def _known_chat(self, chat_id: int) -> dict:
        if chat_id > 0 and chat_id not in self._started and chat_id in self._seen:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _sendable_chat(self, chat_id: int) -> dict:
        if chat_id in self._forced_blocks:
            raise ApiError(403, self._forced_blocks[chat_id])
        chat = self._known_chat(chat_id)
        if chat_id in self._blocked_by_user:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        status = self._membership.get(chat_id)
        if chat["type"] != "private" and status != "member":
            if status == "kicked":
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        return chat

    def _private_chat(self, user: dict) -> dict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if user.get(key):
                chat[key] = user[key]
        return chat

    def _user_writes(self, user: dict, content: dict, reply_to: int | None = None,
                     thread_id: int | None = None) -> _Stored:
        uid = user["id"]
        self._users.setdefault(uid, dict(user))
        if uid in self._blocked_by_user:  # writing again unblocks, like "Restart" in the app
            self._blocked_by_user.discard(uid)
            self._member_update(self._private_chat(user), user, "kicked", "member")
        self._chats[uid] = self._private_chat(user)
        self._started.add(uid)
        self._seen.add(uid)
        replied = None
        if reply_to is not None:
            replied = self._messages.get(uid, {}).get(reply_to)
            if replied is None:
                raise ValueError(f"message {reply_to} is not in chat {uid}")
        if thread_id is not None and thread_id not in self._topics.get(uid, {}):
            raise ValueError(f"chat {uid} has no topic {thread_id}")
        stored = self._new_message(uid, dict(user), content, by_bot=False, reply_to=replied, thread=thread_id)
        self._push("message", self._api_view(stored))
        return stored

    def _new_message(self, chat_id: int, sender: dict | None, content: dict, *, by_bot: bool,
                     reply_to: _Stored | None = None, thread: int | None = None, **meta) -> _Stored:
        if thread is None and by_bot:
            thread = self._send_thread
        if thread is not None and reply_to is None:  # in a topic, a plain message answers its creation
            reply_to = self._messages.get(chat_id, {}).get(thread)
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        msg = {"message_id": message_id}
        if sender is not None:
            msg["from"] = sender
        msg["chat"] = dict(self._chats[chat_id])
        msg["date"] = int(time.time())
        if reply_to is not None:
            msg["reply_to_message"] = self._api_view(reply_to, nested=False)
        msg.update(copy.deepcopy(content))
        if thread is not None:
            msg["message_thread_id"] = thread
            msg["is_topic_message"] = True
        stored = _Stored(msg=msg, by_bot=by_bot, **meta)
        self._messages.setdefault(chat_id, {})[message_id] = stored
        self._changed()
        return stored

    def _member_update(self, chat: dict, by_user: dict, old: str, new: str) -> dict:
        member_update = {
            "chat": dict(chat), "from": dict(by_user), "date": int(time.time()),
            "old_chat_member": {"user": dict(self.bot_user), "status": old},
            "new_chat_member": {"user": dict(self.bot_user), "status": new},
        }
        if new == "kicked":
            member_update["new_chat_member"]["until_date"] = 0
        if old == "kicked":
            member_update["old_chat_member"]["until_date"] = 0
        self._push("my_chat_member", member_update)
        return copy.deepcopy(member_update)

    def _push(self, kind: str, obj: dict):
        self._updates.append({"update_id": self._next_update_id, kind: copy.deepcopy(obj)})
        self._next_update_id += 1
        self._changed()

    def _api_view(self, stored: _Stored, nested: bool = True) -> dict:
        msg = copy.deepcopy(stored.msg)
        if not nested:
            msg.pop("reply_to_message", None)
        if stored.markup and "inline_keyboard" in stored.markup:
            msg["reply_markup"] = copy.deepcopy(stored.markup)
        if stored.protect:
            msg["has_protected_content"] = True
        return msg

    def _observe(self, stored: _Stored) -> dict:
        view = self._api_view(stored)
        view["edited"] = stored.edited
        if stored.by_bot:
            view["protect_content"] = stored.protect
            view["reply_markup"] = copy.deepcopy(stored.markup)
            view["copied_from"] = stored.copied_from
            view["raw_text"] = stored.raw_text
            view["parse_mode"] = stored.parse_mode
        return view

    def _find_message(self, chat_id: int, message_id, missing: str) -> _Stored:
        mid = _as_int(message_id, "message_id") if message_id not in (None, "") else None
        stored = self._messages.get(chat_id, {}).get(mid) if mid is not None else None
        if stored is None:
            raise ApiError(400, f"Bad Request: {missing}")
        return stored

    def _reply_target(self, params: dict, chat_id: int) -> _Stored | None:
        reply = params.get("reply_parameters")
        if reply is not None and not isinstance(reply, dict):
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        if reply:
            message_id = reply.get("message_id")
            target_chat = _as_int(reply.get("chat_id", chat_id), "chat_id")
            allow = _as_bool(reply.get("allow_sending_without_reply", False))
        elif params.get("reply_to_message_id") not in (None, ""):
            message_id = params["reply_to_message_id"]
            target_chat = chat_id
            allow = _as_bool(params.get("allow_sending_without_reply", False))
        else:
            return None
        stored = self._messages.get(target_chat, {}).get(_as_int(message_id, "message_id"))
        if stored is None and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return stored

    def _text_fields(self, params: dict, key: str, limit: int, too_long: str):
        """Parse a text or caption parameter; return (plain, entities) or (None, []) when absent."""
        raw = params.get(key)
        if raw is None:
            return None, []
        raw = str(raw)
        entities_key = "entities" if key == "text" else "caption_entities"
        plain, entities = _parse_text(raw, params.get("parse_mode"), params.get(entities_key))
        if len(plain) > limit:
            raise ApiError(400, f"Bad Request: {too_long}")
        return plain, entities

    # ---- files ---------------------------------------------------------------------------------

    _FILE_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI",
                    "video": "BAACAgIAAxkBAAI", "video_note": "DQACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI",
                    "sticker": "CAACAgIAAxkBAAI", "animation": "CgACAgIAAxkBAAI"}
    _FILE_FOLDER = {"photo": ("photos", "jpg"), "document": ("documents", "pdf"), "voice": ("voice", "oga"),
                    "video": ("videos", "mp4"), "video_note": ("video_notes", "mp4"), "audio": ("music", "mp3"),
                    "sticker": ("stickers", "webp"), "animation": ("animations", "mp4")}

    def _new_file(self, kind: str, data: bytes | None = None, filename: str | None = None) -> dict:
        file_id = _random_id(self._FILE_PREFIX[kind], 56)
        unique = _random_id("AQAD", 12)
        if data is None:
            data = f"fake {kind} content {file_id}".encode()
        folder, ext = self._FILE_FOLDER[kind]
        if filename and "." in filename:
            ext = filename.rsplit(".", 1)[1]
        path = f"{folder}/file_{len(self._files)}.{ext}"
        info = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data), "file_path": path,
                "data": data, "kind": kind}
        self._files[file_id] = info
        self._files_by_path[path] = info
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}

    def _file_payload(self, kind: str, source=None) -> dict:
        """Build the media object for a file kind from an Upload, a known file_id, a URL or nothing."""
        data = filename = mime = None
        if isinstance(source, Upload):
            data, filename, mime = source.data, source.filename, source.content_type
        elif isinstance(source, str) and source in self._files:
            if self._files[source]["kind"] != kind:
                raise ApiError(400, "Bad Request: type of file mismatch")
            reused = self._files[source]
            ref = {"file_id": reused["file_id"], "file_unique_id": reused["file_unique_id"],
                   "file_size": reused["file_size"]}
            return self._shape(kind, ref, reused.get("filename"), reused.get("mime"))
        elif isinstance(source, str) and re.match(r"https?://", source):
            filename = source.rstrip("/").rsplit("/", 1)[-1] or None
        elif source is not None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        ref = self._new_file(kind, data, filename)
        self._files[ref["file_id"]].update(filename=filename, mime=mime)
        return self._shape(kind, ref, filename, mime)

    def _shape(self, kind: str, ref: dict, filename: str | None, mime: str | None):
        if kind == "photo":
            sizes = []
            for width, height in ((90, 67), (320, 240)):
                small = self._new_file("photo")
                sizes.append({**small, "width": width, "height": height})
            sizes.append({**ref, "width": 1280, "height": 960})
            return sizes
        thumb = lambda: {**self._new_file("photo"), "width": 320, "height": 180}  # noqa: E731
        shapes = {
            "document": {"file_name": filename or "invoice.pdf",
                         "mime_type": (mime or mimetypes.guess_type(filename or "x.pdf")[0]
                                       or "application/octet-stream")},
            "voice": {"duration": 3, "mime_type": "audio/ogg"},
            "video": {"duration": 5, "width": 1280, "height": 720, "file_name": filename or "video.mp4",
                      "mime_type": "video/mp4", "thumbnail": thumb()},
            "video_note": {"duration": 4, "length": 240, "thumbnail": thumb()},
            "audio": {"duration": 180, "performer": "Unknown Artist", "title": "Song",
                      "file_name": filename or "song.mp3", "mime_type": "audio/mpeg"},
            "sticker": {"width": 512, "height": 512, "emoji": "\U0001F44D", "set_name": "HotCherry",
                        "is_animated": False, "is_video": False, "type": "regular"},
            "animation": {"file_name": filename or "cat.mp4", "mime_type": "video/mp4", "duration": 2,
                          "width": 320, "height": 240},
        }
        return {**shapes[kind], **ref}

    def _made_up_content(self, kind: str) -> dict:
        if kind in _FILE_KINDS:
            payload = self._file_payload(kind)
            content = {kind: payload}
            if kind == "animation":  # Telegram also fills "document" for animations
                content["document"] = {k: payload[k] for k in ("file_name", "mime_type", "file_id",
                                                                 "file_unique_id", "file_size")}
            return content
        if kind == "location":
            return {"location": {"latitude": 55.755826, "longitude": 37.6173}}
        if kind == "contact":
            return {"contact": {"phone_number": "+15551234567", "first_name": "Alice", "last_name": "Smith"}}
        if kind == "venue":
            location = {"latitude": 48.858844, "longitude": 2.294351}
            return {"location": location, "venue": {"location": location, "title": "Eiffel Tower",
                                                    "address": "Champ de Mars, Paris"}}
        if kind == "dice":
            return {"dice": {"emoji": "\U0001F3B2", "value": random.randint(1, 6)}}
        if kind == "poll":
            return {"poll": {"id": str(random.randint(10**17, 10**18)), "question": "Which one?",
                             "options": [{"persistent_id": "0", "text": "A", "voter_count": 0},
                                         {"persistent_id": "1", "text": "B", "voter_count": 0}],
                             "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "quiz",
                             "allows_multiple_answers": False}}
        raise ValueError(kind)

    def _scope_key(self, scope, language_code) -> tuple:
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        kind = scope["type"]
        chat_id = user_id = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = self._chat_id(scope)
        if kind == "chat_member":
            if scope.get("user_id") in (None, ""):
                raise ApiError(400, "Bad Request: user_id is empty")
            user_id = _as_int(scope["user_id"], "user_id")
        return kind, chat_id, user_id, language_code or ""

    # ---- API methods (caller holds the lock) ----------------------------------------------------

    def _m_getMe(self, params):
        return dict(self._me, has_topics_enabled=bool(self.topics),
                    allows_users_to_create_topics=bool(self.users_may_create_topics))

    # ---- topics in private chats -----------------------------------------------------------------

    def _thread_param(self, params) -> int | None:
        """The send's message_thread_id, checked: it must name an existing topic of the chat."""
        raw = params.get("message_thread_id")
        if raw in (None, ""):
            return None
        thread_id = _as_int(raw, "message_thread_id")
        if thread_id not in self._topics.get(self._chat_id(params), {}):
            raise ApiError(400, "Bad Request: message thread not found")
        return thread_id

    def _topic_chat(self, params) -> int:
        chat_id = self._chat_id(params)
        chat = self._sendable_chat(chat_id)
        if chat["type"] != "private" or not self.topics:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        return chat_id

    def _topic(self, params) -> tuple[int, int, dict]:
        chat_id = self._topic_chat(params)
        raw = params.get("message_thread_id")
        thread_id = _as_int(raw, "message_thread_id") if raw not in (None, "") else None
        topic = self._topics.get(chat_id, {}).get(thread_id)
        if topic is None:
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        return chat_id, thread_id, topic

    @staticmethod
    def _topic_name(raw) -> str:
        name = "" if raw is None else str(raw)
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        return name

    def _open_topic(self, chat_id: int, creator: dict, name: str, icon_color: int, *, by_bot: bool) -> _Stored:
        stored = self._new_message(chat_id, creator, {"forum_topic_created": {"name": name, "icon_color": icon_color}},
                                   by_bot=by_bot)
        thread_id = stored.msg["message_id"]
        stored.msg["message_thread_id"] = thread_id
        stored.msg["is_topic_message"] = True
        self._topics.setdefault(chat_id, {})[thread_id] = {"name": name, "icon_color": icon_color, "closed": False}
        return stored

    def _remove_topic(self, chat_id: int, thread_id: int) -> None:
        del self._topics[chat_id][thread_id]
        messages = self._messages.get(chat_id, {})
        for mid in [m for m, s in messages.items() if s.msg.get("message_thread_id") == thread_id]:
            del messages[mid]

    def _topic_service(self, chat_id: int, thread_id: int, content: dict) -> None:
        self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, thread=thread_id)

    def _m_createForumTopic(self, params):
        chat_id = self._topic_chat(params)
        name = self._topic_name(params.get("name"))
        icon_color = _as_int(params.get("icon_color") or 7322096, "icon_color")
        if icon_color not in (7322096, 16766590, 13338331, 9367192, 16749490, 16478047):
            raise ApiError(400, "Bad Request: TOPIC_ICON_COLOR_INVALID")
        stored = self._open_topic(chat_id, dict(self.bot_user), name, icon_color, by_bot=True)
        return {"message_thread_id": stored.msg["message_id"], "name": name, "icon_color": icon_color}

    def _m_editForumTopic(self, params):
        chat_id, thread_id, topic = self._topic(params)
        changes = {}
        if params.get("name") not in (None, ""):
            changes["name"] = self._topic_name(params["name"])
        if params.get("icon_custom_emoji_id") is not None:
            changes["icon_custom_emoji_id"] = str(params["icon_custom_emoji_id"])
        if all(topic.get(k) == v for k, v in changes.items()):
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic.update(changes)
        self._topic_service(chat_id, thread_id, {"forum_topic_edited": changes})
        return True

    def _close_or_reopen(self, params, closed: bool):
        chat_id, thread_id, topic = self._topic(params)
        if topic["closed"] == closed:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        self._topic_service(chat_id, thread_id, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
        return True

    def _m_closeForumTopic(self, params):
        return self._close_or_reopen(params, True)

    def _m_reopenForumTopic(self, params):
        return self._close_or_reopen(params, False)

    def _m_deleteForumTopic(self, params):
        chat_id, thread_id, _topic = self._topic(params)
        self._remove_topic(chat_id, thread_id)
        return True

    def _m_getUpdates(self, params, sock):
        if self._webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = _as_int(params.get("offset") or 0, "offset")
        limit = min(100, max(1, _as_int(params.get("limit") or 100, "limit")))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except ValueError:
            raise ApiError(400, "Bad Request: invalid timeout specified") from None
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise ApiError(400, "Bad Request: can't parse allowed updates JSON object")
            self._allowed_updates = frozenset(allowed) or _DEFAULT_ALLOWED_UPDATES
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed_offset = max(self._confirmed_offset, offset)
        elif offset < 0:
            kept = self._updates[offset:]
            if len(kept) < len(self._updates):
                self._confirmed_offset = max(self._confirmed_offset, kept[0]["update_id"] if kept else 0)
            self._updates = kept
        self._poll_generation += 1
        mine = self._poll_generation
        self._changed()  # wakes an older held poll, which then answers 409
        deadline = time.monotonic() + timeout
        first = True
        try:
            while True:
                if not first and self._poll_generation != mine:
                    raise ApiError(409, _CONFLICT)
                first = False
                if self._down or self._stopping.is_set():
                    raise _Dropped()
                # Updates of kinds the bot did not ask for are never delivered (Telegram does not store them).
                self._updates = [u for u in self._updates if (u.keys() - {"update_id"}) & self._allowed_updates]
                if self._updates:
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if self._waiting_poll != mine:
                    self._waiting_poll = mine
                    self._changed()
                # Wake at least twice a second to notice a client that gave up on this request.
                self._cond.wait(min(remaining, 0.5))
                if _client_gone(sock):
                    raise _Dropped()
        finally:
            if self._waiting_poll == mine:
                self._waiting_poll = None

    def _m_setWebhook(self, params):
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        return True

    def _m_deleteWebhook(self, params):
        self._webhook_url = ""
        if _as_bool(params.get("drop_pending_updates", False)):
            if self._updates:
                self._confirmed_offset = self._updates[-1]["update_id"] + 1
            self._updates = []
        return True

    def _m_getWebhookInfo(self, params):
        return {"url": self._webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _m_sendMessage(self, params):
        chat_id = self._chat_id(params)
        chat = self._sendable_chat(chat_id)
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = self._text_fields(params, "text", 4096, "message is too long")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _validate_markup(params.get("reply_markup"))
        replied = self._reply_target(params, chat["id"])
        content = {"text": plain}
        if entities:
            content["entities"] = entities
        stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, reply_to=replied,
                                   markup=markup, protect=_as_bool(params.get("protect_content", False)),
                                   raw_text=str(raw), parse_mode=params.get("parse_mode"))
        return self._api_view(stored)

    def _m_send_media(self, params, method):
        kind = _SEND_KIND[method]
        chat_id = self._chat_id(params)
        self._sendable_chat(chat_id)
        if kind in _FILE_KINDS:
            source = params.get(kind)
            if source in (None, ""):
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            payload = self._file_payload(kind, source)
            content = {kind: payload}
            if kind == "animation":
                content["document"] = {k: payload[k] for k in ("file_name", "mime_type", "file_id",
                                                                 "file_unique_id", "file_size")}
        elif kind == "location":
            content = {"location": {"latitude": float(params.get("latitude", 0)),
                                    "longitude": float(params.get("longitude", 0))}}
        elif kind == "venue":
            location = {"latitude": float(params.get("latitude", 0)), "longitude": float(params.get("longitude", 0))}
            content = {"location": location, "venue": {"location": location, "title": str(params.get("title", "")),
                                                       "address": str(params.get("address", ""))}}
        elif kind == "contact":
            if not params.get("phone_number") or not params.get("first_name"):
                raise ApiError(400, "Bad Request: phone number and first name are required")
            content = {"contact": {"phone_number": str(params["phone_number"]),
                                   "first_name": str(params["first_name"])}}
        elif kind == "dice":
            emoji = params.get("emoji") or "\U0001F3B2"
            content = {"dice": {"emoji": emoji, "value": random.randint(1, 6)}}
        else:  # poll
            options = params.get("options")
            if not isinstance(options, list) or not 2 <= len(options) <= 12:
                raise ApiError(400, "Bad Request: poll must have at least 2 option")
            texts = [o.get("text", "") if isinstance(o, dict) else str(o) for o in options]
            content = {"poll": {"id": str(random.randint(10**17, 10**18)), "question": str(params.get("question", "")),
                                "options": [{"persistent_id": str(n), "text": t, "voter_count": 0}
                                            for n, t in enumerate(texts)],
                                "total_voter_count": 0, "is_closed": False,
                                "is_anonymous": _as_bool(params.get("is_anonymous", True)),
                                "type": params.get("type") or "regular",
                                "allows_multiple_answers": _as_bool(params.get("allows_multiple_answers", False))}}
        caption, caption_entities = (None, [])
        if kind in _CAPTIONED:
            caption, caption_entities = self._text_fields(params, "caption", 1024, "message caption is too long")
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        markup = _validate_markup(params.get("reply_markup"))
        replied = self._reply_target(params, chat_id)
        stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, reply_to=replied,
                                   markup=markup, protect=_as_bool(params.get("protect_content", False)),
                                   raw_text=params.get("caption"), parse_mode=params.get("parse_mode"))
        return self._api_view(stored)

    def _m_sendMediaGroup(self, params):
        chat_id = self._chat_id(params)
        self._sendable_chat(chat_id)
        media = params.get("media")
        if not isinstance(media, list):
            raise ApiError(400, "Bad Request: can't parse media JSON object")
        if len(media) < 2:
            raise ApiError(400, "Bad Request: too few media items in the album")
        if len(media) > 10:
            raise ApiError(400, "Bad Request: too many media items in the album")
        kinds = [str(item.get("type", "")) if isinstance(item, dict) else "" for item in media]
        for kind in kinds:
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: unsupported media type in the album")
        for lonely in ("document", "audio"):
            if lonely in kinds and set(kinds) != {lonely}:
                raise ApiError(400, f"Bad Request: {lonely} can't be mixed with other media types")
        group_id = str(random.randint(10**17, 10**18))
        replied = self._reply_target(params, chat_id)
        protect = _as_bool(params.get("protect_content", False))
        prepared = []
        for item, kind in zip(media, kinds):
            source = item.get("media")
            if isinstance(source, str) and source.startswith("attach://"):
                source = params.get(source[len("attach://"):])
                if not isinstance(source, Upload):
                    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            content = {kind: self._file_payload(kind, source), "media_group_id": group_id}
            sub = {"caption": item.get("caption"), "parse_mode": item.get("parse_mode"),
                   "caption_entities": item.get("caption_entities")}
            caption, caption_entities = self._text_fields(sub, "caption", 1024, "message caption is too long")
            if caption:
                content["caption"] = caption
                if caption_entities:
                    content["caption_entities"] = caption_entities
            prepared.append((content, item.get("caption")))
        messages = []
        for content, raw in prepared:
            stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, reply_to=replied,
                                       protect=protect, raw_text=raw)
            messages.append(self._api_view(stored))
        return messages

    def _copyable_content(self, source: _Stored) -> dict:
        content = {k: copy.deepcopy(v) for k, v in source.msg.items() if k in _CONTENT_KEYS}
        if not content or "poll" in content:  # service messages and (quiz) polls
            raise ApiError(400, "Bad Request: message can't be copied")
        return content

    def _m_copyMessage(self, params):
        chat_id = self._chat_id(params)
        self._sendable_chat(chat_id)
        from_chat = self._chat_id(params, "from_chat_id")
        self._known_chat(from_chat)
        source = self._find_message(from_chat, params.get("message_id"), "message to copy not found")
        content = self._copyable_content(source)
        if "caption" in params and "text" not in content:
            caption, caption_entities = self._text_fields(params, "caption", 1024, "message caption is too long")
            if not _CAPTIONED.intersection(content):
                caption, caption_entities = None, []  # a sticker, location, poll... shows no caption: it is lost
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if caption:
                content["caption"] = caption
                if caption_entities:
                    content["caption_entities"] = caption_entities
        markup = _validate_markup(params.get("reply_markup"))
        replied = self._reply_target(params, chat_id)
        stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, reply_to=replied,
                                   markup=markup, protect=_as_bool(params.get("protect_content", False)),
                                   copied_from=(from_chat, source.msg["message_id"]),
                                   raw_text=params.get("caption"), parse_mode=params.get("parse_mode"))
        return {"message_id": stored.msg["message_id"]}

    def _m_copyMessages(self, params):
        chat_id = self._chat_id(params)
        self._sendable_chat(chat_id)
        from_chat = self._chat_id(params, "from_chat_id")
        self._known_chat(from_chat)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        ids = [_as_int(i, "message_ids") for i in ids]
        if any(b <= a for a, b in zip(ids, ids[1:])):
            raise ApiError(400, "Bad Request: message identifiers must be in strictly increasing order")
        protect = _as_bool(params.get("protect_content", False))
        remove_caption = _as_bool(params.get("remove_caption", False))
        new_groups: dict[str, str] = {}
        result = []
        for mid in ids:
            source = self._messages.get(from_chat, {}).get(mid)
            if source is None:
                continue  # Telegram skips what it cannot find or copy
            try:
                content = self._copyable_content(source)
            except ApiError:
                continue
            if remove_caption:
                content.pop("caption", None)
                content.pop("caption_entities", None)
            group = source.msg.get("media_group_id")
            if group:  # albums stay together, under a new group id
                content["media_group_id"] = new_groups.setdefault(group, str(random.randint(10**17, 10**18)))
            stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True, protect=protect,
                                       copied_from=(from_chat, mid))
            result.append({"message_id": stored.msg["message_id"]})
        if not result:
            raise ApiError(400, "Bad Request: message to copy not found")
        return result

    def _m_forwardMessage(self, params):
        chat_id = self._chat_id(params)
        self._sendable_chat(chat_id)
        from_chat = self._chat_id(params, "from_chat_id")
        self._known_chat(from_chat)
        source = self._find_message(from_chat, params.get("message_id"), "message to forward not found")
        if source.protect:
            raise ApiError(400, "Bad Request: message has protected content and can't be forwarded")
        content = self._copyable_content(source)
        origin_user = source.msg.get("from", {})
        content["forward_origin"] = {"type": "user", "sender_user": origin_user, "date": source.msg["date"]}
        content["forward_from"] = origin_user
        content["forward_date"] = source.msg["date"]
        stored = self._new_message(chat_id, dict(self.bot_user), content, by_bot=True,
                                   protect=_as_bool(params.get("protect_content", False)))
        return self._api_view(stored)

    def _m_sendChatAction(self, params):
        return True

    def _m_deleteMessage(self, params):
        chat_id = self._chat_id(params)
        self._known_chat(chat_id)
        stored = self._find_message(chat_id, params.get("message_id"), "message to delete not found")
        if not stored.by_bot and self._chats[chat_id]["type"] != "private":
            raise ApiError(400, "Bad Request: message can't be deleted for everyone")
        del self._messages[chat_id][stored.msg["message_id"]]
        self._deleted.setdefault(chat_id, []).append(stored.msg["message_id"])
        return True

    def _m_deleteMessages(self, params):
        chat_id = self._chat_id(params)
        self._known_chat(chat_id)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for mid in ids:
            mid = _as_int(mid, "message_ids")
            if self._messages.get(chat_id, {}).pop(mid, None) is not None:
                self._deleted.setdefault(chat_id, []).append(mid)
        return True

    def _editable(self, params) -> _Stored:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        self._known_chat(chat_id)
        stored = self._find_message(chat_id, params.get("message_id"), "message to edit not found")
        if not stored.by_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return stored

    def _apply_edit(self, stored: _Stored, changes: dict, markup, raw_text=None, parse_mode=None):
        current = {k: stored.msg.get(k) for k in changes}
        if current == changes and markup == stored.markup:
            raise ApiError(400, _NOT_MODIFIED)
        for key, value in changes.items():
            if value in (None, []):
                stored.msg.pop(key, None)
            else:
                stored.msg[key] = value
        stored.markup = markup
        stored.edited = True
        if raw_text is not None:
            stored.raw_text, stored.parse_mode = raw_text, parse_mode
        stored.msg["edit_date"] = int(time.time())
        return self._api_view(stored)

    def _m_editMessageText(self, params):
        stored = self._editable(params)
        if "text" not in stored.msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = self._text_fields(params, "text", 4096, "message is too long")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        # Leaving reply_markup out removes the inline keyboard, exactly like Telegram.
        markup = _validate_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(stored, {"text": plain, "entities": entities or None}, markup,
                                str(raw), params.get("parse_mode"))

    def _m_editMessageCaption(self, params):
        stored = self._editable(params)
        if not any(k in stored.msg for k in _CAPTIONED):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = self._text_fields({**params, "caption": params.get("caption", "")}, "caption",
                                              1024, "message caption is too long")
        markup = _validate_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(stored, {"caption": caption or None, "caption_entities": entities or None},
                                markup, params.get("caption"), params.get("parse_mode"))

    def _m_editMessageReplyMarkup(self, params):
        stored = self._editable(params)
        markup = _validate_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(stored, {}, markup)

    def _m_answerCallbackQuery(self, params):
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query["answered"] = True
        self._callback_answers[query_id] = dict(params)
        return True

    def _m_leaveChat(self, params):
        chat_id = self._chat_id(params)
        chat = self._known_chat(chat_id)
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        if self._membership.get(chat_id) != "member":
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        self._membership[chat_id] = "left"
        self._left_chats.append(chat_id)
        self._member_update(chat, self.bot_user, "member", "left")
        return True

    def _m_getChat(self, params):
        chat_id = self._chat_id(params)
        chat = self._known_chat(chat_id)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def _m_getChatMember(self, params):
        chat_id = self._chat_id(params)
        self._known_chat(chat_id)
        user_id = _as_int(params.get("user_id"), "user_id")
        if user_id == self.bot_user["id"]:
            return {"user": dict(self.bot_user), "status": self._membership.get(chat_id, "member")}
        if user_id not in self._users or user_id not in self._seen:
            raise ApiError(400, "Bad Request: user not found")
        status = "kicked" if chat_id == user_id and user_id in self._blocked_by_user else "member"
        return {"user": dict(self._users[user_id]), "status": status}

    def _m_getFile(self, params):
        info = self._files.get(str(params.get("file_id") or ""))
        if info is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {k: info[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}

    def _m_setMyCommands(self, params):
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict) or not _COMMAND_RE.fullmatch(str(item.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(item.get("description", ""))
            if not 1 <= len(description.strip()) <= 256 or len(description) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": item["command"], "description": description})
        key = self._scope_key(params.get("scope") or {"type": "default"}, params.get("language_code"))
        if key[1] is not None:
            self._known_chat(key[1])
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _m_deleteMyCommands(self, params):
        key = self._scope_key(params.get("scope") or {"type": "default"}, params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _m_getMyCommands(self, params):
        key = self._scope_key(params.get("scope") or {"type": "default"}, params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))
