"""Domain-neutral text normalisation for FAQ matching: no I/O, nothing about any one shop.

A text becomes a list of terms: lower case, ё→е, Latin look-alike letters inside Cyrillic
words repaired, punctuation dropped, stretched letters squeezed, filler words removed, each
word stemmed by Snowball's Russian stemmer and folded through a small general-purpose
synonym list (payment, delivery, returns, hours… words any shop's customers use).
Words typed in the wrong keyboard layout are repaired by the matcher, which knows which
words its FAQ uses (`from_latin_layout`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("russian")

_NON_WORD = re.compile(r"[\W_]+")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"[a-z]")
# A run a customer may have typed on the Latin layout: letters and the keys that hold х ъ ж э б ю ё.
# Only whole words: a Latin letter inside a Cyrillic word is a look-alike, not a layout slip.
LATIN_RUN = re.compile(r"(?<![а-яё\w])[a-z\[\];',.`]*[a-z][a-z\[\];',.`]*(?![а-яё\w])")

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюё"
_LAYOUT = str.maketrans(_QWERTY, _JCUKEN)
# Latin letters that look like Cyrillic ones; upper case first, since «B», «H», «M», «T» look
# like «В», «Н», «М», «Т» only as capitals.
_LOOKALIKE_UPPER = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_LOOKALIKE_LOWER = str.maketrans("aceopxyk", "асеорхук")
_MIXED_WORD = re.compile(r"\w+")

# Words that carry no topic in a customer's message to any shop: greetings, politeness,
# pronouns, particles, prepositions, auxiliaries, chat slang.
_FILLER_RAW = """
здравствуйте здраствуйте здрасте здрасьте здравствуй привет приветик приветствую доброго добрый
доброе день дня вечер вечера утро утра ночи хай хелоу алло ау
подскажите подскажи скажите скажи расскажите уточните уточнить пожалуйста пожалуйсто пожалуста
пжл пж плз плиз пожалуй заранее благодарю извините простите
а и ну но да нет не или ли же ж бы вот вообще просто тогда типа кстати еще уже тоже также
вроде короче блин значит нибудь либо как-то какой-то че чо чё что-то кое вдруг очень прям прямо сразу
можно могу можете может мочь нельзя надо нужно нужен нужна нужны хочу хотел хотела хотелось
хотим хотела бы интересует интересно вопрос вопросик
скиньте скинь скинуть дайте дай узнать подскажете сориентируйте посоветуйте
только совсем примерно где-то какой-то вообще-то случайно реально
у вас вы вам вами ваш ваша ваше ваши вашего вашей вашем вашу вашим вашими ваших вашему
я мне меня мной мы нам нас нами наш наша наше наши нашего нашей нашем нашу нашим нашими наших
мой моя мое мои моего моей мою моем моим моими моих моему ты тебя тебе твой
он она оно они его ее их им ему ней нем них
это этот эта эти этого этой этом тот та то те так такой такая такие тут там здесь сюда
есть будет буду будут был была было были быть является
в во на с со по к ко о об обо от из за для до при про без через над под у
что чтобы чем если ведь лишь делать сделать все всё всего всех
который которая которое которые которого которой котором которую которых
ок окей ok хорошо ладно понятно ясно
"""
# A message made only of these (and filler) is small talk: never answered.
_SMALL_TALK_RAW = """
спасибо спасиб спс пасиб благодарю благодарочка сенкс thanks thx большое огромное
ок окей ok ага угу ясно понятно хорошо ладно отлично супер класс круто норм нормально
"""
# Question frames carry the form of a question, not its topic: «сколько стоит» fits any price.
# Words that name the topic of almost any shop's question: alone they never decide an answer.
_GENERIC_RAW = """
заказ товар вопрос магазин покупка сайт информация помощь проблема ситуация человек оператор
менеджер консультант штука вещь позиция продукция ассортимент номер
"""
# Everyday words of any customer's message to any shop (time, people, common verbs and
# adjectives): they tell little about which answer is wanted. A FAQ that uses one gives it at
# most a small weight; a message word of this list that the FAQ lacks is no sign of a topic
# the FAQ misses, so it neither helps nor hurts.
_COMMON_RAW = """
сегодня завтра вчера послезавтра сейчас потом скоро когда утром утро вечером вечер днем ночью
неделя неделю недели неделе месяц месяца год года час часа часов минут минуты раньше позже после
перед пока давно недавно уже ещё опять снова сразу быстрее быстро долго примерно около
понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье
муж мужем жена мама маме папа ребенок ребенку дети детей сын дочь подруга подруге друг другу
бабушка бабушке коллега сосед знакомый
купить купила купил купили куплю покупать брать беру взять взял взяла возьму
идти пойти прийти приду придем зайти зайду заехать заеду приехать приеду поехать поеду ехать
жить живу знать знаю думать думаю видеть вижу найти нашла нашел искать ищу писать написать пишу
ждать жду ждем подождать сделать делать сделали получиться получилось понять стать стала стал
оказаться оказалась оказался сказать сказали говорить смотреть посмотреть помочь помогите
дать дадите давать держать хватит успеть успею бывает бывают идет идут
новый новая новое старый большой больше маленький меньше хороший лучше плохой самый другой
другое такой такое такая весь целый целая свой своя разный первый последний
раз раза деньги денег рубль рублей руб рублях штук штуки
тут туда оттуда отсюда здесь сюда вот всегда никогда иногда обычно сильно немного много мало
спрашиваю спросить интересно подскажите ответьте напишите
"""
_FRAME_RAW = "как какой какая какие каким когда где куда откуда сколько почему зачем кто чем ли"

# General-purpose synonyms that hold for any shop: every word of a line stands for its first word.
_SYNONYMS_RAW = """
оплата оплатить оплачивать оплачиваете оплачу заплачу заплатить платить плачу платите платеж оплачивается рассчитаться расплатиться
доставка доставить доставлять доставляете доставите доставим привезти привезете привезут привозите привоз привозить курьер курьером
развозите развозить развоз
возврат вернуть верну вернете возвращать возвращаете возвращается сдать сдам
обмен обменять поменять меняете замена заменить
цена стоимость стоит стоить стоят ценник почем обойдется обойдутся
сколько скок скока скоко скольк
сейчас щас
адрес находитесь находится расположены располагаетесь доехать добраться проехать
отложить отложите отложенный отложили забронировать бронировать бронь придержать
запись записаться записать записаны записывать
перенести перенесите перенос перенесем перенесли
телефон позвонить звонить позвоню созвониться
почта email емейл имейл мейл
скидка скидки акция акции распродажа
брак бракованный дефект сломался сломалось испорченный порвался
выходные выходной суббота воскресенье праздники праздничные
работаете работает работы режим график открываетесь открыты закрываетесь
получить получу получение получать
забрать заберу забирать
наличные наличными наличка налом налик кэш
сегодня седня сёдня сегодняшний
отменить отмена отменять отмените
заказ заказать закажу заказывать заказывала заказывал заказала заказал заказы заказик
"""


def _words(raw: str) -> list[str]:
    # Squeezed like a message's words («ассортимент» → «асортимент»), so that the lists match them.
    return [_REPEATED_LETTER.sub(r"\1", word) for word in raw.lower().replace("ё", "е").split()]


def normalize(text: str) -> str:
    """Lower-case, repair look-alike letters, ё→е, punctuation to spaces, stretched letters squeezed."""
    text = repair_lookalikes(text).lower().replace("ё", "е")
    text = _NON_WORD.sub(" ", text)
    text = _REPEATED_LETTER.sub(r"\1", text)
    return " ".join(text.split())


def repair_lookalikes(text: str) -> str:
    """Replace Latin look-alike letters in words that also hold Cyrillic ones («еcть» → «есть»)."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        if _CYRILLIC.search(lower) and _LATIN.search(lower):
            return word.translate(_LOOKALIKE_UPPER).translate(_LOOKALIKE_LOWER)
        return word

    return _MIXED_WORD.sub(fix, text)


def from_latin_layout(run: str) -> str:
    """Return what a Latin-layout run would read as on the Russian layout («ljcnfdrf» → «доставка»)."""
    return run.lower().translate(_LAYOUT)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the term of a normalised word: its general synonym's stem, else its Snowball stem."""
    stemmed = _STEMMER.stemWord(word)
    return _SYNONYM_OF.get(stemmed, stemmed)


_FILLER = frozenset(_words(_FILLER_RAW))
_SMALL_TALK = frozenset(_words(_SMALL_TALK_RAW))
_SYNONYM_OF: dict[str, str] = {}
for _line in _SYNONYMS_RAW.strip().splitlines():
    _group = _words(_line)
    _head = _STEMMER.stemWord(_group[0])
    for _word in _group:
        _SYNONYM_OF.setdefault(_STEMMER.stemWord(_word), _head)
COMMON_TERMS = frozenset(stem(word) for word in _words(_COMMON_RAW))
GENERIC_TERMS = frozenset(stem(word) for word in _words(_GENERIC_RAW))
FRAME_TERMS = frozenset(stem(word) for word in _words(_FRAME_RAW))


def content_words(text: str) -> list[str]:
    """Return the normalised words of a text without filler, small talk and bare numbers."""
    return [w for w in normalize(text).split() if w not in _FILLER and w not in _SMALL_TALK and not w.isdigit()]


def terms(text: str) -> list[str]:
    """Return the terms of a text's content words, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in content_words(text):
        seen.setdefault(stem(word), None)
    return list(seen)


def is_closing_remark(text: str) -> bool:
    """Tell whether a message thanks or acknowledges («спасибо, всё пришло») rather than asks."""
    return "?" not in text and any(word in _SMALL_TALK for word in normalize(text).split())


_REFERENCE_NUMBER = re.compile(r"\d{3,}")


def is_order_reference(text: str) -> bool:
    """Tell whether a message names an order or a booking rather than asks («заказ 4410 на фамилию Петрова»):
    a number of three digits or more, no question mark and no question word."""
    if "?" in text or not _REFERENCE_NUMBER.search(text):
        return False
    return not any(stem(word) in FRAME_TERMS for word in normalize(text).split())


def is_known_word(word: str) -> bool:
    """Tell whether a normalised word is one of the general lists (filler, small talk, synonyms,
    everyday words, question frames)."""
    if word in _FILLER or word in _SMALL_TALK or _STEMMER.stemWord(word) in _SYNONYM_OF:
        return True
    term = stem(word)
    return term in COMMON_TERMS or term in FRAME_TERMS


def char_grams(word: str) -> set[str]:
    """Return the character 3-, 4- and 5-grams of a word padded with boundary marks."""
    padded = f"<{word}>"
    return {padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)}
