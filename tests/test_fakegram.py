"""Tests of the fake Telegram Bot API server, driven by pyTelegramBotAPI's real client and urllib."""
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import telebot
from telebot import apihelper, types

try:
    from tests.fakegram import FakeTelegram
except ImportError:  # tests/ run as plain rootdir modules
    from fakegram import FakeTelegram

TOKEN = "1234:test"


@pytest.fixture
def fake():
    """Serve a fresh fake Telegram; fail the test if the fake itself hit a bug."""
    server = FakeTelegram(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()
    assert server.errors == []


@pytest.fixture
def client(fake):
    """Point pyTelegramBotAPI's apihelper at the fake; restore it afterwards."""
    saved = apihelper.API_URL, apihelper.FILE_URL
    apihelper.API_URL = fake.base_url + "/bot{0}/{1}"
    apihelper.FILE_URL = fake.base_url + "/file/bot{0}/{1}"
    try:
        yield apihelper
    finally:
        apihelper.API_URL, apihelper.FILE_URL = saved


def customer(fake, user_id=501, name="Ann"):
    """Register a person who has started the bot in private."""
    person = fake.user(user_id, name, username=name.lower())
    fake.send_text(person, "/start")
    return person


def encode_multipart(fields):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            filename, data, ctype = value
            chunks.append(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                          f"Content-Type: {ctype}\r\n\r\n".encode())
            chunks.append(data)
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def raw(fake, method, *, query=None, form=None, json_body=None, multipart=None, token=TOKEN):
    """Call the fake with urllib; return (HTTP status, parsed JSON body)."""
    url = f"{fake.base_url}/bot{token}/{method}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data, headers = None, {}
    if form is not None:
        data, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    elif json_body is not None:
        data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif multipart is not None:
        data, headers["Content-Type"] = encode_multipart(multipart)
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def in_thread(target):
    """Run target in a thread; return (thread, outcome dict with 'value' or 'error')."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target()
        except Exception as exc:  # handed to the test to assert on
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# ---- routing and authentication ------------------------------------------------------------------


def test_get_me_answers_a_bot_user_that_telebot_accepts(client, fake):
    me = client.get_me(TOKEN)
    assert me["is_bot"] is True and me["id"] == 1234 and me["username"] == "shop_support_bot"
    assert telebot.TeleBot(TOKEN).get_me().username == "shop_support_bot"


def test_wrong_token_is_401(client):
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.get_me("999:wrong")
    assert info.value.error_code == 401
    assert info.value.result_json == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_unknown_method_is_404_names_are_case_insensitive_and_gaps_say_501(fake):
    assert raw(fake, "sendMessag") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = raw(fake, "GETME")
    assert status == 200 and body["result"]["is_bot"] is True
    assert fake.calls_to("getme")[-1].method == "getMe"
    status, body = raw(fake, "sendInvoice", query={"chat_id": 1})
    assert status == 501 and "does not simulate sendInvoice" in body["description"]


# ---- getUpdates ------------------------------------------------------------------------------------


def test_long_poll_holds_and_returns_early_when_an_update_arrives(client, fake):
    person = fake.user(501, "Ann")
    started = time.monotonic()
    thread, outcome = in_thread(lambda: client.get_updates(TOKEN, long_polling_timeout=5))
    fake.wait_idle_poll(timeout=5)
    assert "value" not in outcome  # still held
    fake.send_text(person, "hello")
    thread.join(5)
    assert [u["message"]["text"] for u in outcome["value"]] == ["hello"]
    assert time.monotonic() - started < 4


def test_long_poll_with_nothing_to_deliver_answers_empty_after_its_timeout(client):
    started = time.monotonic()
    assert client.get_updates(TOKEN, long_polling_timeout=1) == []
    assert time.monotonic() - started >= 0.9


def test_offset_confirms_updates_and_they_never_come_back(client, fake):
    person = fake.user(501, "Ann")
    fake.send_text(person, "one")
    fake.send_text(person, "two")
    first_id, second_id = [u["update_id"] for u in client.get_updates(TOKEN, long_polling_timeout=1)]
    assert second_id == first_id + 1 and first_id >= 10_000
    assert [u["update_id"] for u in client.get_updates(TOKEN, offset=first_id + 1)] == [second_id]
    assert fake.pending_updates == [second_id]
    # A lower offset does not resurrect a confirmed update.
    assert [u["update_id"] for u in client.get_updates(TOKEN, offset=first_id)] == [second_id]
    assert raw(fake, "getUpdates", query={"offset": second_id + 1, "timeout": 0}) == (200, {"ok": True, "result": []})
    assert fake.pending_updates == [] and fake.confirmed_offset == second_id + 1


def test_negative_offset_keeps_only_the_last_updates(fake):
    person = fake.user(501, "Ann")
    for text in ("a", "b", "c"):
        fake.send_text(person, text)
    status, body = raw(fake, "getUpdates", query={"offset": -1, "timeout": 0})
    assert status == 200 and [u["message"]["text"] for u in body["result"]] == ["c"]
    assert len(fake.pending_updates) == 1


def test_allowed_updates_filters_kinds(fake):
    person = customer(fake)
    fake.edit_text(person, 1, "/start please")
    status, body = raw(fake, "getUpdates", query={"timeout": 0, "allowed_updates": '["edited_message"]'})
    assert [list(u)[1] for u in body["result"]] == ["edited_message"]


def test_a_second_concurrent_get_updates_terminates_the_first_with_409(client, fake):
    person = fake.user(501, "Ann")
    first, first_outcome = in_thread(lambda: client.get_updates(TOKEN, long_polling_timeout=5))
    fake.wait_idle_poll(timeout=5)
    second, second_outcome = in_thread(lambda: client.get_updates(TOKEN, long_polling_timeout=5))
    first.join(5)
    error = first_outcome["error"]
    assert isinstance(error, apihelper.ApiTelegramException) and error.error_code == 409
    assert error.description.startswith("Conflict: terminated by other getUpdates request")
    fake.wait_idle_poll(timeout=5)  # the second one is the poll now
    fake.send_text(person, "hi")
    second.join(5)
    assert [u["message"]["text"] for u in second_outcome["value"]] == ["hi"]


def test_updates_parse_as_telebot_types_with_the_right_content_type(fake):
    person = customer(fake)
    kinds = ["photo", "document", "voice", "video", "video_note", "audio", "sticker", "animation",
             "location", "contact", "venue", "dice", "poll"]
    for kind in kinds:
        fake.send_media(person, kind)
    status, body = raw(fake, "getUpdates", query={"timeout": 0})
    parsed = [types.Update.de_json(u) for u in body["result"]]
    assert [u.message.content_type for u in parsed] == ["text"] + kinds
    assert parsed[0].message.entities[0].type == "bot_command"
    assert parsed[1].message.photo[-1].width == 1280  # largest size last


# ---- parameters ------------------------------------------------------------------------------------

MARKUP = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}


@pytest.mark.parametrize("how", ["query", "form", "json", "multipart"])
def test_parameters_arrive_by_query_form_json_and_multipart(fake, how):
    person = customer(fake)
    params = {"chat_id": str(person["id"]), "text": f"via {how}", "reply_markup": json.dumps(MARKUP),
              "protect_content": "True"}
    if how == "json":
        params = {"chat_id": person["id"], "text": f"via {how}", "reply_markup": MARKUP, "protect_content": True}
    status, body = raw(fake, "sendMessage", **{{"query": "query", "form": "form", "json": "json_body",
                                                "multipart": "multipart"}[how]: params})
    assert status == 200 and body["result"]["text"] == f"via {how}"
    assert body["result"]["has_protected_content"] is True
    sent = fake.bot_messages(person["id"])[-1]
    assert sent["reply_markup"] == MARKUP and sent["protect_content"] is True


def test_query_string_and_body_are_merged(fake):
    person = customer(fake)
    status, _ = raw(fake, "sendMessage", query={"chat_id": person["id"]}, form={"text": "merged"})
    assert status == 200 and fake.bot_texts(person["id"]) == ["merged"]


def test_multipart_upload_becomes_a_downloadable_document(client, fake):
    person = customer(fake)
    status, body = raw(fake, "sendDocument", multipart={
        "chat_id": str(person["id"]), "caption": "your invoice",
        "document": ("invoice.txt", b"total: 42", "text/plain")})
    assert status == 200
    document = body["result"]["document"]
    assert document["file_name"] == "invoice.txt" and body["result"]["caption"] == "your invoice"
    path = client.get_file(TOKEN, document["file_id"])["file_path"]
    assert client.download_file(TOKEN, path) == b"total: 42"


def test_bad_reply_markup_json_is_400(fake):
    person = customer(fake)
    status, body = raw(fake, "sendMessage", query={"chat_id": person["id"], "text": "x", "reply_markup": "{oops"})
    assert (status, body["description"]) == (400, "Bad Request: can't parse reply keyboard markup JSON object")


def test_the_real_client_sends_markup_html_and_booleans(client, fake):
    person = customer(fake)
    bot = telebot.TeleBot(TOKEN)
    markup = types.InlineKeyboardMarkup()
    markup.add(types.InlineKeyboardButton("Take", callback_data="take:1"))
    message = bot.send_message(person["id"], "<b>New</b> dialog &amp; more", parse_mode="HTML",
                               reply_markup=markup, protect_content=True)
    assert message.text == "New dialog & more" and message.entities[0].type == "bold"
    sent = fake.bot_messages(person["id"])[-1]
    assert sent["raw_text"] == "<b>New</b> dialog &amp; more"
    assert sent["protect_content"] is True and sent["reply_markup"] == MARKUP


# ---- sendMessage validation ------------------------------------------------------------------------

SEND_ERRORS = [
    ({"chat_id": 999}, 400, "Bad Request: chat not found"),
    ({"text": ""}, 400, "Bad Request: message text is empty"),
    ({"text": "x" * 4097}, 400, "Bad Request: message is too long"),
    ({"text": "<foo>x</foo>", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities: Unsupported start tag"),
    ({"text": "1 < 2", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities:"),
    ({"text": "fish & chips", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities:"),
    ({"text": "<b>unclosed", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities: Can't find end tag"),
    ({"text": "<b>x</i>", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities:"),
    ({"text": "Total: 5.00", "parse_mode": "MarkdownV2"}, 400, "Bad Request: can't parse entities: Character '.'"),
    ({"text": "*bold", "parse_mode": "MarkdownV2"}, 400, "Bad Request: can't parse entities: Can't find end"),
    ({"text": "x", "reply_parameters": json.dumps({"message_id": 999})}, 400,
     "Bad Request: message to be replied not found"),
    ({"text": "x", "reply_to_message_id": 999}, 400, "Bad Request: message to be replied not found"),
]


@pytest.mark.parametrize("override, code, description", SEND_ERRORS)
def test_send_message_rejects_what_telegram_rejects(fake, override, code, description):
    person = customer(fake)
    status, body = raw(fake, "sendMessage", json_body={"chat_id": person["id"], "text": "hi", **override})
    assert status == code and body["error_code"] == code and body["ok"] is False
    assert body["description"].startswith(description)
    assert fake.bot_messages(person["id"]) == []


@pytest.mark.parametrize("text, parse_mode, plain", [
    ("x" * 4096, None, "x" * 4096),
    ("a < b & c", None, "a < b & c"),
    ('fish &amp; chips <b>hot</b> <a href="https://x.org">link</a> 1 &lt; 2 &#33;', "HTML",
     "fish & chips hot link 1 < 2 !"),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler><pre><code class="language-py">x</code></pre>',
     "HTML", "stx"),
    ("Total: 5\\.00 *now* _really_ [site](https://x.org/a\\)b)", "MarkdownV2", "Total: 5.00 now really site"),
    ("*bold* _it_ `code`", "Markdown", "bold it code"),
])
def test_send_message_stores_parsed_text(fake, text, parse_mode, plain):
    person = customer(fake)
    status, body = raw(fake, "sendMessage", json_body={"chat_id": person["id"], "text": text,
                                                      **({"parse_mode": parse_mode} if parse_mode else {})})
    assert status == 200, body
    assert body["result"]["text"] == plain and fake.bot_texts(person["id"]) == [plain]


def test_html_entities_have_utf16_offsets(fake):
    person = customer(fake)
    _, body = raw(fake, "sendMessage", json_body={"chat_id": person["id"], "parse_mode": "HTML",
                                                 "text": "\U0001F600 <b>hi</b>"})
    assert body["result"]["entities"] == [{"offset": 3, "length": 2, "type": "bold"}]


def test_replies_and_allow_sending_without_reply(fake):
    person = customer(fake)
    status, body = raw(fake, "sendMessage", json_body={"chat_id": person["id"], "text": "re",
                                                      "reply_parameters": {"message_id": 1}})
    assert status == 200 and body["result"]["reply_to_message"]["text"] == "/start"
    status, body = raw(fake, "sendMessage", json_body={
        "chat_id": person["id"], "text": "re",
        "reply_parameters": {"message_id": 999, "allow_sending_without_reply": True}})
    assert status == 200 and "reply_to_message" not in body["result"]


def test_a_user_seen_only_in_a_group_cannot_be_messaged_first(fake):
    person = fake.user(777, "Op")
    fake.add_bot_to_group(-100, person)
    status, body = raw(fake, "sendMessage", json_body={"chat_id": 777, "text": "hi"})
    assert (status, body["description"]) == (403, "Forbidden: bot can't initiate conversation with a user")


# ---- copy, delete, edit ----------------------------------------------------------------------------


def test_copy_message_carries_content_and_overrides_caption(client, fake):
    ann = customer(fake)
    operator = customer(fake, 900, "Olga")
    photo = fake.send_media(ann, "photo", caption="broken item")
    result = client.copy_message(TOKEN, operator["id"], ann["id"], photo["message_id"], caption="From Ann",
                              protect_content=True)
    assert set(result) == {"message_id"}
    copied = fake.messages_in(operator["id"])[-1]
    assert copied["message_id"] == result["message_id"] and copied["from"]["is_bot"] is True
    assert copied["photo"] == photo["photo"] and copied["caption"] == "From Ann"
    assert copied["copied_from"] == (ann["id"], photo["message_id"]) and copied["protect_content"] is True
    text_copy = client.copy_message(TOKEN, operator["id"], ann["id"], 1)
    assert fake.messages_in(operator["id"])[-1]["text"] == "/start"
    assert text_copy["message_id"] == copied["message_id"] + 1


def test_copy_message_errors(client, fake):
    ann = customer(fake)
    operator = customer(fake, 900, "Olga")
    poll = fake.send_media(ann, "poll")
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.copy_message(TOKEN, operator["id"], ann["id"], 999)
    assert info.value.description == "Bad Request: message to copy not found"
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.copy_message(TOKEN, operator["id"], ann["id"], poll["message_id"])
    assert info.value.description == "Bad Request: message can't be copied"
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.copy_message(TOKEN, 424242, ann["id"], 1)
    assert info.value.description == "Bad Request: chat not found"


def test_copy_messages_keeps_an_album_together(client, fake):
    ann = customer(fake)
    operator = customer(fake, 900, "Olga")
    first = fake.send_media(ann, "photo", media_group_id="album1", caption="both")
    second = fake.send_media(ann, "photo", media_group_id="album1")
    result = client.copy_messages(TOKEN, operator["id"], ann["id"], [first["message_id"], second["message_id"]])
    assert len(result) == 2
    copies = fake.messages_in(operator["id"])[-2:]
    assert copies[0]["media_group_id"] == copies[1]["media_group_id"] != "album1"


def test_send_media_group(client, fake):
    ann = customer(fake)
    media = [types.InputMediaPhoto("https://example.org/a.jpg", caption="a"),
             types.InputMediaPhoto("https://example.org/b.jpg")]
    messages = client.send_media_group(TOKEN, ann["id"], media)
    assert len(messages) == 2 and messages[0]["media_group_id"] == messages[1]["media_group_id"]
    with pytest.raises(apihelper.ApiTelegramException):
        client.send_media_group(TOKEN, ann["id"], media[:1])


def test_delete_message(client, fake):
    ann = customer(fake)
    sent = client.send_message(TOKEN, ann["id"], "temporary")
    assert client.delete_message(TOKEN, ann["id"], sent["message_id"]) is True
    assert [m["message_id"] for m in fake.messages_in(ann["id"])] == [1]
    assert fake.deleted(ann["id"]) == [sent["message_id"]]
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.delete_message(TOKEN, ann["id"], sent["message_id"])
    assert info.value.description == "Bad Request: message to delete not found"


def test_edit_message_text(client, fake):
    ann = customer(fake)
    sent = client.send_message(TOKEN, ann["id"], "Queued", reply_markup=json.dumps(MARKUP))
    edited = client.edit_message_text(TOKEN, "Taken by Olga", ann["id"], sent["message_id"])
    assert edited["text"] == "Taken by Olga" and "edit_date" in edited
    now = fake.bot_messages(ann["id"])[-1]
    assert now["edited"] is True and now["reply_markup"] is None  # no markup given: keyboard removed
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.edit_message_text(TOKEN, "Taken by Olga", ann["id"], sent["message_id"])
    assert info.value.description.startswith("Bad Request: message is not modified")
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.edit_message_text(TOKEN, "x", ann["id"], 1)
    assert info.value.description == "Bad Request: message can't be edited"
    assert client.edit_message_reply_markup(TOKEN, ann["id"], sent["message_id"], reply_markup=json.dumps(MARKUP))
    assert fake.bot_messages(ann["id"])[-1]["reply_markup"] == MARKUP


# ---- people ----------------------------------------------------------------------------------------


def test_block_bot_gives_an_update_and_403_on_sends(client, fake):
    ann = customer(fake)
    fake.block_bot(ann)
    _, body = raw(fake, "getUpdates", query={"timeout": 0})
    member = body["result"][-1]["my_chat_member"]
    assert member["new_chat_member"]["status"] == "kicked" and member["chat"]["id"] == ann["id"]
    for call in (lambda: client.send_message(TOKEN, ann["id"], "hi"),
                 lambda: client.copy_message(TOKEN, ann["id"], ann["id"], 1),
                 lambda: client.send_photo(TOKEN, ann["id"], "https://example.org/p.jpg")):
        with pytest.raises(apihelper.ApiTelegramException) as info:
            call()
        assert (info.value.error_code, info.value.description) == (403, "Forbidden: bot was blocked by the user")
    fake.send_text(ann, "/start")  # writing again unblocks, with a my_chat_member update first
    _, body = raw(fake, "getUpdates", query={"timeout": 0})
    assert [list(u)[1] for u in body["result"][-2:]] == ["my_chat_member", "message"]
    assert client.send_message(TOKEN, ann["id"], "welcome back")["text"] == "welcome back"


def test_block_forces_a_description(client, fake):
    ann = customer(fake)
    fake.block(ann["id"], "Forbidden: user is deactivated")
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.send_message(TOKEN, ann["id"], "hi")
    assert info.value.description == "Forbidden: user is deactivated"


def test_callback_query_and_its_answer(client, fake):
    ann = customer(fake)
    sent = client.send_message(TOKEN, ann["id"], "Rate us", reply_markup=json.dumps(MARKUP))
    query = fake.press_button(ann, sent, "take:1")
    _, body = raw(fake, "getUpdates", query={"timeout": 0})
    parsed = types.Update.de_json(body["result"][-1]).callback_query
    assert parsed.data == "take:1" and parsed.message.message_id == sent["message_id"] and parsed.chat_instance
    assert client.answer_callback_query(TOKEN, query["id"], text="Done") is True
    assert fake.callback_answers[query["id"]]["text"] == "Done"
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.answer_callback_query(TOKEN, query["id"])
    assert info.value.description.startswith("Bad Request: query is too old")
    with pytest.raises(ValueError):
        fake.press_button(ann, sent, "no-such-button")


def test_groups_join_talk_and_leave(client, fake):
    olga = fake.user(900, "Olga")
    fake.add_bot_to_group(-100500, olga)
    message = fake.group_message(-100500, olga, "/stats")
    assert message["chat"]["type"] == "group" and message["entities"][0]["type"] == "bot_command"
    assert client.send_message(TOKEN, -100500, "stats: 0")["chat"]["id"] == -100500
    assert client.leave_chat(TOKEN, -100500) is True and fake.left_chats == [-100500]
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.send_message(TOKEN, -100500, "still here?")
    assert info.value.error_code == 403
    _, body = raw(fake, "getUpdates", query={"timeout": 0})
    statuses = [u["my_chat_member"]["new_chat_member"]["status"] for u in body["result"] if "my_chat_member" in u]
    assert statuses == ["member", "left"]


def test_commands_are_validated_and_stored_per_scope(client, fake):
    olga = customer(fake, 900, "Olga")
    scope = types.BotCommandScopeChat(olga["id"])
    assert client.set_my_commands(TOKEN, [types.BotCommand("queue", "Show the queue")], scope=scope) is True
    client.set_my_commands(TOKEN, [types.BotCommand("start", "Start")])
    assert fake.commands_for({"type": "chat", "chat_id": olga["id"]}) == [
        {"command": "queue", "description": "Show the queue"}]
    assert fake.effective_commands(olga["id"])[0]["command"] == "queue"
    assert fake.effective_commands(42)[0]["command"] == "start"
    assert client.get_my_commands(TOKEN, scope=scope)[0]["command"] == "queue"
    for command, description, error in [("Queue!", "x", "Bad Request: BOT_COMMAND_INVALID"),
                                        ("x" * 33, "x", "Bad Request: BOT_COMMAND_INVALID"),
                                        ("queue", "", "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"),
                                        ("queue", "d" * 257, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")]:
        with pytest.raises(apihelper.ApiTelegramException) as info:
            client.set_my_commands(TOKEN, [types.BotCommand(command, description)])
        assert info.value.description == error
    assert client.delete_my_commands(TOKEN, scope=scope) is True
    assert fake.commands_for({"type": "chat", "chat_id": olga["id"]}) is None


# ---- faults ----------------------------------------------------------------------------------------


def test_fail_next_with_retry_after_then_recovers(client, fake):
    ann = customer(fake)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.send_message(TOKEN, ann["id"], "hi")
    assert info.value.error_code == 429 and info.value.result_json["parameters"] == {"retry_after": 7}
    assert fake.bot_messages(ann["id"]) == [] and fake.count_429 == 1
    assert client.send_message(TOKEN, ann["id"], "hi")["text"] == "hi"


def test_fail_next_variants(client, fake):
    ann = customer(fake)
    olga = customer(fake, 900, "Olga")
    fake.fail_next("sendMessage", 502, "Bad Gateway", html=True)
    with pytest.raises(apihelper.ApiHTTPException):
        client.send_message(TOKEN, ann["id"], "hi")
    fake.fail_next("sendMessage", 403, "Forbidden: user is deactivated", chat_id=olga["id"])
    assert client.send_message(TOKEN, ann["id"], "first")["text"] == "first"  # other chats unaffected
    with pytest.raises(apihelper.ApiTelegramException):
        client.send_message(TOKEN, olga["id"], "hi")
    fake.fail_next("sendMessage", 500, "Internal Server Error", applied=True)
    with pytest.raises(apihelper.ApiTelegramException):
        client.send_message(TOKEN, ann["id"], "delivered anyway")
    assert fake.bot_texts(ann["id"]) == ["first", "delivered anyway"]


def test_rate_limit_answers_429_with_retry_after(client, fake):
    ann = customer(fake)
    olga = customer(fake, 900, "Olga")
    fake.set_rate_limits(per_second=None, per_chat_per_second=1, per_chat_burst=3)
    for i in range(3):
        client.send_message(TOKEN, ann["id"], f"burst {i}")
    with pytest.raises(apihelper.ApiTelegramException) as info:
        client.send_message(TOKEN, ann["id"], "one too many")
    retry_after = info.value.result_json["parameters"]["retry_after"]
    assert info.value.error_code == 429 and isinstance(retry_after, int) and retry_after >= 1
    assert info.value.description == f"Too Many Requests: retry after {retry_after}"
    assert client.send_message(TOKEN, olga["id"], "other chat is fine")
    fake.set_rate_limits(per_second=2, per_chat_per_second=None, global_burst=2)
    client.send_message(TOKEN, ann["id"], "g1")
    client.send_message(TOKEN, olga["id"], "g2")
    with pytest.raises(apihelper.ApiTelegramException):
        client.send_message(TOKEN, olga["id"], "g3")
    assert fake.count_429 == 2


def test_set_down_gives_connection_errors_and_cuts_held_polls(client, fake):
    client.get_me(TOKEN)  # a kept-alive connection exists
    poll, outcome = in_thread(lambda: client.get_updates(TOKEN, long_polling_timeout=5))
    fake.wait_idle_poll(timeout=5)
    fake.set_down(True)
    poll.join(5)
    assert isinstance(outcome["error"], requests.exceptions.ConnectionError)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get_me(TOKEN)
    assert fake.calls_to("getMe")[-1].status == 0
    fake.set_down(False)
    assert client.get_me(TOKEN)["is_bot"] is True


def test_set_delay_answers_late_but_acts_at_once(client, fake):
    ann = customer(fake)
    fake.set_delay("sendMessage", 0.5)
    thread, outcome = in_thread(lambda: client.send_message(TOKEN, ann["id"], "slow"))
    fake.wait_bot_messages(ann["id"], 1, timeout=5)
    assert "value" not in outcome
    thread.join(5)
    assert outcome["value"]["text"] == "slow"


# ---- observation and concurrency -------------------------------------------------------------------


def test_wait_for_times_out_with_a_report(fake):
    raw(fake, "getMe")
    with pytest.raises(AssertionError, match="timed out waiting for nothing") as info:
        fake.wait_for(lambda: False, timeout=0.2, what="nothing")
    assert "getMe -> 200" in str(info.value)


def test_many_parallel_sends_get_distinct_message_ids(client, fake):
    ann = customer(fake)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: client.send_message(TOKEN, ann["id"], f"m{i}"), range(40)))
    ids = sorted(r["message_id"] for r in results)
    assert ids == list(range(2, 42))
    assert len(fake.bot_messages(ann["id"])) == 40
    assert all(c.status == 200 for c in fake.calls_to("sendMessage"))


def test_a_real_polling_telebot_cannot_tell_the_difference(client, fake):
    ann = customer(fake)
    bot = telebot.TeleBot(TOKEN)

    def echo(message):
        bot.reply_to(message, f"echo: {message.text}")

    bot.register_message_handler(echo, content_types=["text"])
    poller = threading.Thread(target=bot.infinity_polling, kwargs={"long_polling_timeout": 1, "skip_pending": True},
                              daemon=True)
    poller.start()
    try:
        fake.wait_idle_poll(timeout=5)
        fake.send_text(ann, "where is my order?")
        replies = fake.wait_bot_messages(ann["id"], 2)  # skip_pending keeps the last update: "/start"
        assert sorted(m["text"] for m in replies) == ["echo: /start", "echo: where is my order?"]
        assert replies[-1]["reply_to_message"]["chat"]["id"] == ann["id"]
        fake.wait_idle_poll(timeout=5)
        assert fake.pending_updates == []
    finally:
        bot.stop_polling()
        poller.join(5)


def test_a_lone_surrogate_travels_as_a_json_escape_like_telegram_sends_it(fake):
    person = fake.user(501, "Ann")
    fake.send_text(person, "broken \ud800 text")
    with urllib.request.urlopen(f"{fake.base_url}/bot{TOKEN}/getUpdates", timeout=10) as response:
        body = response.read()
    assert b"\\ud800" in body  # valid JSON, pure ASCII: UTF-8 cannot hold the surrogate itself
    update = json.loads(body)["result"][-1]
    assert update["message"]["text"] == "broken \ud800 text"


# --- topics in private chats (Bot API 9.3/9.4) -------------------------------------------------------

def _api_error(call):
    with pytest.raises(apihelper.ApiTelegramException) as info:
        call()
    return info.value.error_code, info.value.description


def test_get_me_says_whether_topics_are_enabled_and_users_may_create_them(client, fake):
    me = client.get_me(TOKEN)
    assert (me["has_topics_enabled"], me["allows_users_to_create_topics"]) == (False, False)
    fake.topics, fake.users_may_create_topics = True, True
    me = client.get_me(TOKEN)
    assert (me["has_topics_enabled"], me["allows_users_to_create_topics"]) == (True, True)
    assert types.User.de_json(me).has_topics_enabled is True


def test_create_forum_topic_needs_topics_enabled_and_a_private_chat(client, fake):
    ann = customer(fake)
    assert _api_error(lambda: client.create_forum_topic(TOKEN, ann["id"], "#1 Ann")) == \
        (400, "Bad Request: the chat is not a forum")
    fake.topics = True
    assert _api_error(lambda: client.create_forum_topic(TOKEN, ann["id"], "x" * 129)) == \
        (400, "Bad Request: TOPIC_NAME_INVALID")
    topic = client.create_forum_topic(TOKEN, ann["id"], "#1 Ann")
    assert set(topic) == {"message_thread_id", "name", "icon_color"} and topic["name"] == "#1 Ann"
    created = fake.messages_in(ann["id"])[-1]
    assert created["forum_topic_created"] == {"name": "#1 Ann", "icon_color": topic["icon_color"]}
    assert created["message_thread_id"] == topic["message_thread_id"] == created["message_id"]
    assert created["is_topic_message"] is True
    assert all("forum_topic_created" not in json.dumps(u) for u in client.get_updates(TOKEN, timeout=0))


def test_sends_go_into_a_topic_and_a_missing_thread_is_refused(client, fake):
    fake.topics = True
    ann = customer(fake)
    thread = client.create_forum_topic(TOKEN, ann["id"], "#1 Ann")["message_thread_id"]
    sent = client.send_message(TOKEN, ann["id"], "hello", message_thread_id=thread)
    assert sent["message_thread_id"] == thread and sent["is_topic_message"] is True
    assert sent["reply_to_message"]["message_id"] == thread  # not an explicit reply: the creation message
    source = fake.send_text(ann, "to copy")
    copied = client.copy_message(TOKEN, ann["id"], ann["id"], source["message_id"], message_thread_id=thread)
    both = client.copy_messages(TOKEN, ann["id"], ann["id"], [source["message_id"]], message_thread_id=thread)
    in_topic = [m["message_id"] for m in fake.messages_in_topic(ann["id"], thread)]
    assert copied["message_id"] in in_topic and both[0]["message_id"] in in_topic
    assert _api_error(lambda: client.send_message(TOKEN, ann["id"], "x", message_thread_id=thread + 100)) == \
        (400, "Bad Request: message thread not found")
    client.delete_forum_topic(TOKEN, ann["id"], thread)
    assert fake.messages_in_topic(ann["id"], thread) == [] and fake.topics_in(ann["id"]) == {}
    assert _api_error(lambda: client.send_message(TOKEN, ann["id"], "x", message_thread_id=thread)) == \
        (400, "Bad Request: message thread not found")


def test_edit_close_reopen_and_their_not_modified_errors(client, fake):
    fake.topics = True
    ann = customer(fake)
    thread = client.create_forum_topic(TOKEN, ann["id"], "#1 Ann")["message_thread_id"]
    assert _api_error(lambda: client.edit_forum_topic(TOKEN, ann["id"], thread, name="#1 Ann")) == \
        (400, "Bad Request: TOPIC_NOT_MODIFIED")
    assert client.edit_forum_topic(TOKEN, ann["id"], thread, name="✅ #1 Ann") is True
    assert client.close_forum_topic(TOKEN, ann["id"], thread) is True
    assert _api_error(lambda: client.close_forum_topic(TOKEN, ann["id"], thread)) == \
        (400, "Bad Request: TOPIC_NOT_MODIFIED")
    assert fake.topics_in(ann["id"])[thread] == {"name": "✅ #1 Ann", "icon_color": 7322096, "closed": True}
    assert client.reopen_forum_topic(TOKEN, ann["id"], thread) is True
    kinds = [next(k for k in m if k.startswith("forum_topic_")) for m in fake.messages_in_topic(ann["id"], thread)]
    assert kinds == ["forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened"]
    assert _api_error(lambda: client.close_forum_topic(TOKEN, ann["id"], thread + 50)) == \
        (400, "Bad Request: TOPIC_ID_INVALID")


def test_a_user_writes_in_a_topic_creates_one_and_deletes_one(client, fake):
    fake.topics = True
    ann = customer(fake)
    thread = client.create_forum_topic(TOKEN, ann["id"], "#1 Ann")["message_thread_id"]
    offset = fake.pending_updates[-1] + 1
    written = fake.send_text(ann, "inside", thread_id=thread)
    assert written["message_thread_id"] == thread and written["reply_to_message"]["message_id"] == thread
    with pytest.raises(ValueError):
        fake.user_creates_topic(ann, "mine")  # the owner did not allow it
    with pytest.raises(ValueError):
        fake.user_deletes_topic(ann["id"], thread)
    fake.users_may_create_topics = True
    mine = fake.user_creates_topic(ann, "mine")
    updates = client.get_updates(TOKEN, offset=offset, timeout=0)
    assert [u["message"].get("forum_topic_created") for u in updates] == [None, {"name": "mine",
                                                                                 "icon_color": 7322096}]
    assert updates[1]["message"]["from"]["id"] == ann["id"]
    assert types.Message.de_json(updates[1]["message"]).content_type == "forum_topic_created"
    fake.user_deletes_topic(ann["id"], thread)
    assert set(fake.topics_in(ann["id"])) == {mine["message_thread_id"]}
    assert client.get_updates(TOKEN, offset=updates[-1]["update_id"] + 1, timeout=0) == []  # no update for it
