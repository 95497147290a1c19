"""Every text a person reads from the bot, in Russian, in one place.

No logic here beyond filling placeholders; nothing is sent with a parse_mode,
so customer text can be put into these strings as it is.
"""

# Defaults of the AUTO_REPLY_* settings.
GREETING = "Здравствуйте! Напишите ваш вопрос, и оператор магазина ответит вам здесь."
QUEUED = "Все операторы сейчас заняты. Вы в очереди: {position}-й. Мы ответим, как только освободимся."
NO_OPERATORS = "Сейчас нет операторов на связи. Ваше сообщение сохранено, мы ответим, как только появимся."
CLOSED = "Диалог завершён. Спасибо за обращение! Если появится новый вопрос, просто напишите."

OPERATOR_JOINED = "К вам подключился оператор {name}. Можете писать."
FAQ_PREFIX = "Возможно, это ответ на ваш вопрос:\n\n{answer}"
CUSTOMER_HELP = "Напишите сюда ваш вопрос — оператор магазина ответит в этом чате.\n/start — приветствие"

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
NOT_OPERATOR = "Неизвестная команда."
UNKNOWN_COMMAND = "Неизвестная команда. Список команд: /help"

OPERATOR_HELP = (
    "Команды оператора:\n"
    "/next — взять следующего клиента из очереди\n"
    "/use <id> — сделать диалог текущим или взять клиента из очереди вне очереди\n"
    "/done [id] — завершить диалог (по умолчанию текущий)\n"
    "/history <id> [N] — последние N сообщений клиента\n"
    "/logout — выйти\n"
    "Обычные сообщения (текст, фото, файлы) уходят клиенту текущего диалога.\n"
    "<id> — короткий номер клиента (#3) или его Telegram id."
)

NEW_DIALOG = "Новый клиент {who}. Теперь это ваш текущий диалог."
TAKEN_FROM_QUEUE = "Вам передан клиент {who} из очереди ({waited}). Теперь это ваш текущий диалог."
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
HISTORY_LINE = "[{time}] {author}: {body}"
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

CUSTOMER_BLOCKED = "Клиент {who} заблокировал бота или удалил аккаунт. Диалог закрыт."
DELIVERY_FAILED = "Не удалось доставить сообщение клиенту {who}: {error}"
CANNOT_COPY = "[{kind}: переслать не удалось]"


def content_name(content_type: str) -> str:
    """Name a message kind for a person ("фото", "голосовое сообщение")."""
    return CONTENT_NAMES.get(content_type, content_type)


def minutes_text(seconds: float) -> str:
    """Say a waiting time briefly: "3 мин", "1 ч 5 мин"."""
    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} мин"
    return f"{minutes // 60} ч {minutes % 60} мин"
