"""Every text a person reads from the bot, in Russian, in one place.

No logic here beyond filling placeholders; nothing is sent with a parse_mode,
so customer text can be put into these strings as it is.
"""

# Defaults of the AUTO_REPLY_* settings.
GREETING = "Здравствуйте! Напишите ваш вопрос, и оператор магазина ответит вам здесь."
QUEUED = "Все операторы сейчас заняты. Вы в очереди: {position}-й, примерное ожидание — {wait}."
OFF_HOURS = "Сейчас магазин не работает. Мы откроемся {opens} и сразу ответим — ваше сообщение сохранено."
NO_OPERATORS = "Сейчас нет операторов на связи. Ваше сообщение сохранено, мы ответим, как только появимся."
CLOSED = "Диалог завершён. Спасибо за обращение! Если появится новый вопрос, просто напишите."

OPERATOR_JOINED = "К вам подключился оператор {name}. Можете писать."
FAQ_PREFIX = "Возможно, это ответ на ваш вопрос:\n\n{answer}"
BUTTON_FAQ_HELPED = "Помогло"
BUTTON_FAQ_NOT_HELPED = "Нет, нужен оператор"
FAQ_HELPED_THANKS = "Рады помочь! Если появится ещё вопрос — просто напишите."
FAQ_NOT_HELPED_OK = "Хорошо, ваше место в очереди сохранено — оператор ответит."
FAQ_NOT_HELPED_RELAY = "[нажал(а) «Нет, нужен оператор»: ответ FAQ №{number} «{question}» не помог]"
FAQ_SUGGESTION = "💡 Возможно, подойдёт ответ {number}: «{question}»\n{answer}"
BUTTON_FAQ_SEND = "Отправить ответ {number}"
FAQ_SUGGESTION_SENT = "Ответ {number} отправлен: {who}."
STATS_FAQ = ("FAQ: ответов покупателям {answered}, «Помогло» {helped}, «Нет, нужен оператор» {not_helped}"
             " ({share}); подсказок операторам {suggested}, отправлено по кнопке {sent}.")
CUSTOMER_HELP = (
    "Напишите сюда ваш вопрос — оператор магазина ответит в этом чате.\n"
    "/start — приветствие и частые вопросы"
)
QUEUE_UPDATE = "Вы в очереди уже {position}-й, примерное ожидание — {wait}. Спасибо, что ждёте!"
FLOOD_WARNING = ("Вы пишете очень часто. Следующие сообщения оператор получит одним сообщением,"
                 " как только вы сделаете паузу в минуту. Ничего не потеряется.")
RATE_PROMPT = "Оцените, пожалуйста, как мы вам помогли:"
RATE_THANKS = "Спасибо за оценку!"
FAQ_STALE = "Этот вопрос уже убрали из списка. Напишите его своими словами."
BUTTON_STALE = "Кнопка устарела."

# Operators.
LOGIN_OK = (
    "Вы вошли как оператор линии {seat}. Лимит одновременных диалогов: {limit}.\n"
    "Сообщение с PIN-кодом удалено. Команды: /help"
)
LOGIN_ALREADY = "Вы уже оператор линии {seat}."
LOGIN_OTHER_SEAT = "Вы уже вошли на линию {seat}. Сначала выйдите: /logout"
LOGIN_WRONG = "Неверный PIN. Осталось попыток: {left}."
LOGIN_LOCKED = "Слишком много неверных попыток. Попробуйте через {minutes} мин."
LOGIN_USAGE = "Использование: /operator <PIN>"
SEAT_TAKEN_OVER = "В линию {seat} вошли с другого аккаунта. Вы больше не оператор; ваши диалоги переданы новому входу."
LOGOUT_OK = "Вы вышли. Ваши диалоги ({count}) возвращены в очередь или переданы другим операторам."
UNKNOWN_COMMAND = "Неизвестная команда. Список команд: /help"

OPERATOR_HELP = (
    "Команды оператора:\n"
    "/list — мои диалоги и очередь\n"
    "/who — кто из операторов на линии\n"
    "/next — взять следующего клиента из очереди\n"
    "/use <id> — сделать диалог текущим или взять клиента из очереди вне очереди\n"
    "/done [id] — завершить диалог (по умолчанию текущий)\n"
    "/history <id> [N] — последние N сообщений клиента\n"
    "/transfer <id> <линия или имя> — передать диалог другому оператору\n"
    "/note <id> <текст> — внутренняя заметка (клиент её не увидит)\n"
    "/ban <id>, /unban <id> — заблокировать / разблокировать клиента\n"
    "/stats [today|week] — статистика\n"
    "/report [today|yesterday|week] — отчёт за день (его же бот шлёт сам в REPORT_TIME)\n"
    "/logout — выйти\n\n"
    "Обычные сообщения (текст, фото, файлы) уходят клиенту текущего диалога. "
    "Ответ (reply) на сообщение клиента уходит этому клиенту.\n"
    "<id> — короткий номер клиента (#3) или его Telegram id. Под уведомлениями есть кнопки."
)

NEW_DIALOG = "Новый клиент {who}.{current}"
TAKEN_FROM_QUEUE = "Вам передан клиент {who} из очереди (ждал {waited}).{current}"
NOW_CURRENT = " Теперь это ваш текущий диалог."
NOT_CURRENT = (" Текущий диалог не изменился: чтобы ответить этому клиенту, нажмите «Сделать текущим»"
               " или ответьте (reply) на его сообщение.")
CHOOSE_CURRENT = "Текущего диалога нет. Выберите: /use <id> (список — /list) или ответьте на сообщение клиента."
REQUEUED = "Оператор отключился. Вы снова в очереди: {position}-й, вам ответят в первую очередь."
PIN_CHANGED = "PIN-код вашей линии изменён или удалён. Войдите снова: /operator PIN"
RELAY_HEADER = "{who}:"
RELAY_TEXT = "{who}:\n{text}"
NO_CURRENT = "У вас нет текущего диалога, сообщение никуда не отправлено. Возьмите клиента: /next или /use <id>"
CURRENT_SET = "Текущий диалог: {who}."
NEXT_EMPTY = "Очередь пуста."
NEXT_FULL = "У вас уже {count} открытых диалогов — это лимит. Завершите один: /done"
USE_USAGE = "Использование: /use <id>"
DONE_USAGE = "Использование: /done [id]"
HISTORY_USAGE = "Использование: /history <id> [N], N от 1 до 200"
NO_SUCH_CUSTOMER = "Клиент {ref} не найден."
NOT_YOUR_DIALOG = "Клиент {who} сейчас у другого оператора (линия {seat})."
NO_OPEN_DIALOG = "У клиента {who} нет открытого диалога."
DONE_OK = "Диалог с {who} завершён."
HISTORY_EMPTY = "У клиента {who} нет сообщений."
HISTORY_HEAD = "История {who}, последние {count}:"
HISTORY_AUTHOR_BOT = "бот"
HISTORY_AUTHOR_NOTE = "заметка"

CONTENT_NAMES = {
    "text": "текст",
    "photo": "фото",
    "document": "файл",
    "voice": "голосовое сообщение",
    "video": "видео",
    "video_note": "видеосообщение",
    "audio": "аудио",
    "sticker": "стикер",
    "animation": "GIF",
    "location": "геопозиция",
    "contact": "контакт",
    "venue": "место",
    "poll": "опрос",
    "dice": "кубик",
}

QUEUED_NOTICE = "Клиент {who} ждёт в очереди ({position}-й). Все ваши линии заняты."
WAIT_ALERT = "⏰ Клиент {who} ждёт в очереди уже {waited}."
UNANSWERED_ALERT = "⏰ Клиент {who} ждёт ответа уже {waited}."
IDLE_QUESTION = "Вы на связи? Вас ждут клиенты. Напишите что-нибудь, иначе через {minutes} мин. вы будете отключены."
IDLE_LOGGED_OUT = ("Вы долго не отвечали и отключены от линии. Ваши диалоги переданы другим операторам"
                   " или возвращены в начало очереди. Войти снова: /operator PIN")
EDITED_RELAY = "✏️ {who} исправил(а) сообщение:\n{text}"
REPLY_TARGET_GONE = "Диалог с {who} уже не ваш или закрыт — ответ не отправлен."
LIST_HEAD_MINE = "Мои диалоги ({count}):"
LIST_HEAD_QUEUE = "Очередь ({count}):"
LIST_LINE = "#{id} {name} — {waited}{current}: {last}"
LIST_EMPTY = "—"
WHO_LINE = "Линия {seat}: {name} — {count} из {limit}"
WHO_OFFLINE = "Линия {seat}: не занята"
TRANSFER_USAGE = "Использование: /transfer <id> <линия или имя оператора>"
TRANSFER_NO_SEAT = "Оператор «{seat}» не на линии."
TRANSFER_FULL = "У оператора {name} нет свободных мест."
TRANSFER_SELF = "Это и так ваш диалог."
TRANSFER_DONE = "Диалог с {who} передан оператору {name}."
TRANSFER_RECEIVED = "Вам передан диалог с {who} от оператора {name}.{current}"
NOTE_USAGE = "Использование: /note <id> <текст>"
NOTE_SAVED = "Заметка к {who} сохранена."
BAN_USAGE = "Использование: /ban <id> или /unban <id>"
BANNED = "Клиент {who} заблокирован: его сообщения сохраняются, но не пересылаются."
UNBANNED = "Клиент {who} разблокирован."
STATS_USAGE = "Использование: /stats [today|week]"
STATS_HEAD = "Статистика за {period}:"
STATS_LINE = (
    "{who}: открыто {opened}, закрыто {closed}; ожидание в очереди — медиана {wait_p50}, 90% {wait_p90}; "
    "первый ответ — медиана {first_p50}, 90% {first_p90}; оценка {rating}"
)
STATS_TOTAL = "Всего"
PERIOD_NAMES = {"today": "сегодня", "week": "7 дней"}
CANNED_USAGE = "Использование: /a <номер или слова из FAQ>. Список: /faq"
CANNED_NOT_FOUND = "В FAQ нет подходящего ответа. Список: /faq"
FAQ_LIST_HEAD = "Ответы из FAQ (отправить клиенту: /a <номер>):"
FAQ_EMPTY = "FAQ пуст."
FAQ_BROKEN = "⚠️ Файл FAQ не обновлён, бот отвечает по прежней версии: {problem}"
HERE_THANKS = "Спасибо, вы на линии."
NEXT_USAGE = "Использование: /next"
LIST_USAGE = "Использование: /list"
BUTTON_HERE = "Я здесь"
BUTTON_TAKE = "Взять"
BUTTON_MAKE_CURRENT = "Сделать текущим"
BUTTON_HISTORY = "История"
BUTTON_CLOSE = "Закрыть"
TAKE_REFUSED_FULL = "У вас нет свободных мест."
TAKEN_ALREADY = "Этого клиента уже взяли."
DELIVERY_FAILED = "Не удалось доставить сообщение клиенту {who}: {error}"
CANNOT_COPY = "[{kind}: переслать не удалось]"
FLOOD_HELD_NOTICE = ("{who} пишет очень часто: следующие сообщения придержаны и придут вам одним сообщением,"
                     " когда покупатель сделает паузу в минуту.")
FLOOD_RELEASED = "{who}: ещё {count} сообщ., задержанных антифлудом:"
CAPTION_APART = "{who}, подпись:\n{text}"

# Endings the operator did not cause, keyed by core.Cause values.
DIALOG_ENDED = {
    "blocked": "Клиент {who} заблокировал бота или удалил аккаунт. Диалог закрыт.",
    "banned": "Клиента {who} заблокировал другой оператор. Диалог закрыт.",
    "done": "Диалог с {who} закрыт другим оператором.",
    "became_operator": "Клиент {who} сам вошёл как оператор. Его диалог закрыт.",
}
OWN_DIALOG_CLOSED = ("Ваш собственный диалог покупателя (#{number}) закрыт: пока вы оператор, всё, что вы пишете, "
                     "уходит покупателям. Проверить бота как покупатель можно со второго аккаунта Telegram или после /logout.")
CURRENT_CLEARED = " Это был ваш текущий диалог: сейчас текущего нет, следующее сообщение никуда не уйдёт, пока вы не выберете."

# Operator messages that were not sent.
HELD_NONE = "Сообщение не отправлено: текущего диалога нет. Кому отправить?"
HELD_CHANGED = "Сообщение не отправлено: текущий диалог сменился с тех пор, как вы писали. Кому отправить?"
HELD_UNKNOWN_REPLY = "Не понял, какому клиенту этот ответ — сообщение не отправлено. Кому отправить?"
HELD_NO_DIALOGS = " У вас нет открытых диалогов: возьмите клиента (/next) — сообщение можно будет отправить отсюда."
CANNED_NOT_SENT = "Ответ не отправлен: текущий диалог сменился. Выберите диалог (/list, /use <id>) и повторите."
HELD_SENT = "Отправлено: {who}."
HELD_DROPPED = "Сообщение удалено, никому не отправлено."
BUTTON_SEND_TO = "→ {who}"
BUTTON_DROP = "Не отправлять"
EDIT_NOT_SENT = "Исправление не отправлено: вы больше не ведёте этот диалог (он закрыт, передан или вы вышли)."

# Logins.
LOGIN_CLOSED = "Вход временно закрыт из-за множества неверных PIN-кодов. Попробуйте позже."
LOGIN_ATTACK = ("⚠️ За последний час введено много неверных PIN-кодов. Вход для новых аккаунтов закрыт на час;"
                " операторы, уже входившие раньше, могут войти. Смените PIN-коды, если это не вы.")


def content_name(content_type: str) -> str:
    """Name a message kind for a person ("фото", "голосовое сообщение")."""
    return CONTENT_NAMES.get(content_type, content_type)


def seconds_text(seconds: float | None) -> str:
    """Say a short duration: "45 с", "3 мин", "1 ч 5 мин"; "—" for none."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{round(seconds)} с"
    return minutes_text(seconds)


def minutes_text(seconds: float) -> str:
    """Say a waiting time briefly: "3 мин", "1 ч 5 мин"."""
    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} мин"
    return f"{minutes // 60} ч {minutes % 60} мин"


# Topics mode.
TOPICS_HOW_TO_ENABLE = ("в @BotFather откройте бота (/mybots или мини-приложение BotFather) → Bot Settings и включите"
                        " темы в личных чатах (Threaded Mode / Topics), затем перезапустите бота")
TOPICS_REQUIRED = ("В .env указано OPERATOR_TOPICS=on, но у бота не включены темы в личных чатах: "
                   + TOPICS_HOW_TO_ENABLE + ". Или поставьте OPERATOR_TOPICS=auto, чтобы работать без тем.")
TOPIC_RECREATED = "Тема диалога с {who} была удалена — открыта новая. Последние сообщения:"
TOPIC_BY_HAND = ("Темы здесь открывает бот: по одной на каждого покупателя. Пишите покупателю в его теме;"
                 " сообщения в других темах и в «General» никому не отправляются.")
TOPICS_NOW_ON = ("Включены темы: у каждого покупателя теперь своя тема в этом чате. Пишите покупателю в его теме;"
                 " открытые диалоги перенесены в темы.")
TOPICS_NOW_OFF = ("Темы выключены: все покупатели снова в одном чате. Ваши сообщения уходят в текущий диалог"
                  " (/list, /use <id>) или тому, чьё сообщение вы цитируете (reply).")
HELD_GENERAL = "Это сообщение написано не в теме покупателя, поэтому никуда не отправлено. Кому отправить?"
TOPIC_CLOSED = "Диалог этой темы уже завершён или передан — сообщение не отправлено."
TOPIC_MOVED = "↪ "
TOPIC_DONE = "✅ "


# The web panel: what the seat's Telegram chat sees of what its operator did in the browser.
PANEL_REPLY_ECHO = "🖥 Ответ из панели для {who}:\n{text}"
PANEL_NOTE_ECHO = "🖥 Заметка из панели к {who}:\n{text}"
PANEL_NOT_SENT = "🖥 Действие из панели не выполнено: диалог с {who} не у вас (или уже завершён)."


# The daily report and /report.
REPORT_USAGE = "Использование: /report [today|yesterday|week]"
REPORT_PERIODS = {"today": "сегодня", "yesterday": "вчера", "week": "7 дней"}
REPORT_HEAD = "📊 Отчёт за {period}"
REPORT_DIALOGS = "Новых диалогов: {opened}, завершено: {closed}; FAQ ответил сам: {faq}"
REPORT_WAIT = "Ожидание: медиана {wait_p50}, дольше всех {wait_max}; первый ответ: медиана {first_p50}"
REPORT_NOW = "Сейчас ждут в очереди: {queued}; без ответа оператора: {unanswered}"
REPORT_RATING = "Средняя оценка: {rating}"
REPORT_OPERATOR = "• {who}: диалогов {opened}, первый ответ {first_p50}, оценка {rating}"
REPORT_GAPS_HEAD = "Чаще всего FAQ не ответил на:"
REPORT_GAP = "• «{question}» ×{count}"
REPORT_OUTAGE = "⚠️ Бот не мог связаться с Telegram {minutes} (с {start})."
REPORT_BACKUP_FAILED = "⚠️ Резервная копия базы не сделалась ({at}); проверьте место на диске."
