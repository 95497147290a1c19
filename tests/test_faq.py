"""FAQ: matching quality on the evaluation set, normalisation, loading, reloading, the owner's tool."""
from __future__ import annotations

import io
import os
import statistics
import time
from pathlib import Path

import pytest

from supportbot import faq
from supportbot.faq import FaqEntry, FaqError, FaqFile, FaqMatcher, load_faq
from tests.bench_faq import FAQ_PATH, matcher_answer, measure, read_eval, synthetic_faq

HEADER = "question,answer,keywords\n"


@pytest.fixture(scope="module")
def shop_faq() -> tuple[FaqEntry, ...]:
    return load_faq(FAQ_PATH)


@pytest.fixture(scope="module")
def matcher(shop_faq) -> FaqMatcher:
    return FaqMatcher(shop_faq)


def entry_by_first_phrasing(entries, first: str) -> FaqEntry:
    return next(e for e in entries if e.questions[0] == first)


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a file and move its mtime forward, so a change is seen even on coarse clocks."""
    data = content if isinstance(content, bytes) else content.encode(encoding)
    previous = path.stat().st_mtime_ns if path.exists() else time.time_ns()
    path.write_bytes(data)
    os.utime(path, ns=(previous + 10_000_000, previous + 10_000_000))
    return path


# --------------------------------------------------------------------------- quality


def test_eval_set_precision_and_recall(matcher):
    cases = read_eval()
    quality = measure(matcher_answer(matcher), cases)
    numbers = (
        f"precision {quality.precision:.3f} ({quality.correct}/{quality.answered} answers right), "
        f"recall {quality.recall:.3f} ({quality.correct}/{quality.expecting} expected answers given)"
    )
    assert quality.precision >= 0.95 and quality.recall >= 0.85, numbers


def test_eval_set_is_big_and_honest(shop_faq):
    cases = read_eval()
    first_phrasings = {e.questions[0] for e in shop_faq}
    assert len(cases) >= 220
    assert sum(1 for c in cases if not c.expected) >= 75
    assert {c.expected for c in cases if c.expected} <= first_phrasings


def test_starter_faq_shape(shop_faq):
    assert 12 <= len(shop_faq) <= 20
    assert [e.number for e in shop_faq] == list(range(1, len(shop_faq) + 1))
    for entry in shop_faq:
        assert 3 <= len(entry.questions) <= 6, entry.questions[0]
        assert entry.answer and entry.keywords


@pytest.mark.parametrize(
    "message, expected_first_phrasing",
    [
        ("Сколько стоит доставка?", "Сколько стоит доставка?"),
        ("скок стоит доставка", "Сколько стоит доставка?"),
        ("ПРИИИВЕТ, а самовывоз есть???", "Можно забрать заказ самовывозом?"),
        ("хочу вернуть куртку", "Как вернуть товар?"),
        ("вы возвращаете деньги", "Как вернуть товар?"),
        ("промакод не работает", "Есть ли скидки или промокоды?"),  # a typo
    ],
)
def test_match_answers_clear_questions(matcher, message, expected_first_phrasing):
    found = matcher.match(message)
    assert found is not None and found.entry.questions[0] == expected_first_phrasing
    assert 0 < found.score <= 1


@pytest.mark.parametrize("message", ["", "   ", "спасибо", "Здравствуйте!", "заказ 12345", "😊", "?!", "ок"])
def test_match_keeps_quiet_on_small_talk(matcher, message):
    assert matcher.match(message) is None


def test_match_keeps_quiet_when_two_entries_tie():
    entries = (
        FaqEntry(1, ("Как оплатить заказ?",), "Картой."),
        FaqEntry(2, ("Как оплатить заказ?",), "Наличными."),
    )
    assert FaqMatcher(entries).match("как оплатить заказ") is None
    assert FaqMatcher(entries, margin=0.0).match("как оплатить заказ").entry.number == 1


def test_min_score_is_respected(shop_faq):
    message = "сколько ждать доставку до Твери"
    best = FaqMatcher(shop_faq).score_all(message)[0]
    assert FaqMatcher(shop_faq, min_score=best.score + 0.01).match(message) is None


def test_keywords_favour_their_entry():
    plain = (
        FaqEntry(1, ("Как получить заказ?",), "Первый ответ."),
        FaqEntry(2, ("Как получить заказ?",), "Второй ответ."),
    )
    hinted = (plain[0], FaqEntry(2, ("Как получить заказ?",), "Второй ответ.", ("срочно",)))
    message = "как срочно получить заказ"
    assert FaqMatcher(plain).match(message) is None  # a tie
    found = FaqMatcher(hinted).match(message)
    assert found is not None and found.entry.number == 2


def test_match_is_fast_on_a_big_faq(shop_faq):
    # The bench prints the real figure; this only catches a slide back to scanning everything.
    big = FaqMatcher(synthetic_faq(shop_faq))
    times = []
    for case in read_eval()[:120]:
        started = time.perf_counter()
        big.match(case.message)
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.02


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "text, normalised",
    [
        ("ПРИИИИВЕТ!!!", "привет"),
        ("Ёжик в тумане", "ежик в тумане"),
        ("трек-номер,  пожалуйста...", "трек номер пожалуйста"),
        ("  много   пробелов\tи\nстрок ", "много пробелов и строк"),
        ("адресс", "адрес"),
        ("заказ №12345", "заказ 12345"),
    ],
)
def test_normalize(text, normalised):
    assert faq.normalize(text) == normalised


@pytest.mark.parametrize(
    "text, words",
    [
        ("Здравствуйте, подскажите пожалуйста, а у вас можно вернуть?", ["вернуть"]),
        ("ну скажите где мой заказ 12345", ["где", "заказ"]),
        ("Добрый день!", []),
    ],
)
def test_content_words_drop_filler(text, words):
    assert faq.content_words(text) == words


@pytest.mark.parametrize(
    "a, b",
    [
        ("вернуть", "возврат"),
        ("возвращаете", "возврат"),
        ("вернуть", "возвращаете"),
        ("доставка", "доставкой"),
        ("доставка", "доставляете"),
        ("оплатить", "оплачиваете"),
        ("работаете", "работы"),
        ("размеры", "размером"),
        ("куртку", "товар"),  # a product name stands for «товар»
        ("воскресенье", "выходные"),
        ("открываетесь", "закрываетесь"),
        ("доставка", "доствка"),  # a typo
    ],
)
def test_word_forms_come_close(a, b):
    assert faq.stem_similarity(faq.stem(faq.normalize(a)), faq.stem(faq.normalize(b))) >= 0.75


@pytest.mark.parametrize(
    "a, b",
    [
        ("платье", "платить"),
        ("наличии", "наличными"),
        ("доставка", "возврат"),
        ("сайт", "сдать"),
        ("менеджер", "поменять"),
    ],
)
def test_unrelated_words_stay_apart(a, b):
    assert faq.stem_similarity(faq.stem(faq.normalize(a)), faq.stem(faq.normalize(b))) == 0


# --------------------------------------------------------------------------- loading


def test_load_comma_csv_with_bom_phrasings_keywords_and_blank_lines(tmp_path):
    path = write(
        tmp_path / "faq.csv",
        HEADER
        + "\n"
        + 'Сколько стоит доставка?| Цена доставки ,"300 ₽, от 5000 ₽ бесплатно.","цена|стоимость, доставка"\n'
        + "\n\n"
        + "Где вы?,Ул. Садовая 12,\n",
        encoding="utf-8-sig",
    )
    entries = load_faq(path)
    assert entries == (
        FaqEntry(1, ("Сколько стоит доставка?", "Цена доставки"), "300 ₽, от 5000 ₽ бесплатно.",
                 ("цена", "стоимость", "доставка")),
        FaqEntry(2, ("Где вы?",), "Ул. Садовая 12", ()),
    )


def test_load_semicolon_csv_from_russian_excel(tmp_path):
    path = write(tmp_path / "faq.csv", "question;answer\nКак оплатить?;Картой, наличными\n;;\n")
    assert load_faq(path) == (FaqEntry(1, ("Как оплатить?",), "Картой, наличными"),)


def test_load_cp1251_fallback(tmp_path):
    content = "question;answer;keywords\nГде вы?;На Садовой;адрес\n"
    path = write(tmp_path / "faq.csv", content, encoding="cp1251")
    assert load_faq(path) == (FaqEntry(1, ("Где вы?",), "На Садовой", ("адрес",)),)


def test_load_russian_header_and_multiline_answer(tmp_path):
    path = write(tmp_path / "faq.csv", 'Вопрос,Ответ\nКак?,"Так:\nвот так"\n')
    assert load_faq(path)[0].answer == "Так:\nвот так"


def test_keywords_column_is_optional(tmp_path):
    path = write(tmp_path / "faq.csv", "answer,question\nДа.,Есть самовывоз?\n")
    assert load_faq(path) == (FaqEntry(1, ("Есть самовывоз?",), "Да."),)


@pytest.mark.parametrize(
    "content, message",
    [
        ("question,keywords\nГде?,адрес\n", "faq.csv line 1: missing column 'answer'"),
        ("\n\nanswer\nДа\n", "faq.csv line 3: missing column 'question'"),
        (HEADER + "Где?,Тут,\nКогда?,,\n", "faq.csv line 3: empty answer"),
        (HEADER + "Где?,Тут,\n | ,Никогда,\n", "faq.csv line 3: empty question"),
        (HEADER + 'Где?,"Тут\nи там",\nКогда?,   ,\n', "faq.csv line 4: empty answer"),
        ("", "faq.csv line 1: no header row"),
    ],
)
def test_load_errors_name_the_line(tmp_path, content, message):
    with pytest.raises(FaqError) as error:
        load_faq(write(tmp_path / "faq.csv", content))
    assert str(error.value).startswith(message)


def test_load_error_on_undecodable_bytes(tmp_path):
    # A UTF-8 BOM promises UTF-8, so a bad byte is an error, not a reason to guess cp1251.
    raw = "\ufeffquestion,answer\nГде?,Тут\n".encode("utf-8") + b"Bad,\xff\xfe\n"
    with pytest.raises(FaqError, match=r"^faq.csv line 3: undecodable bytes"):
        load_faq(write(tmp_path / "faq.csv", raw))


def test_load_error_on_bytes_neither_utf8_nor_cp1251(tmp_path):
    raw = "question,answer\nГде?,Тут\n".encode("utf-8") + b"\x98\n"
    with pytest.raises(FaqError, match=r"^faq.csv line 3: undecodable bytes"):
        load_faq(write(tmp_path / "faq.csv", raw))


def test_load_missing_file(tmp_path):
    with pytest.raises(FaqError, match="cannot read"):
        load_faq(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- find


@pytest.mark.parametrize("query, number", [("3", 3), (" 3 ", 3), ("#3", 3), ("№ 1", 1)])
def test_find_by_number(matcher, query, number):
    assert matcher.find(query).number == number


@pytest.mark.parametrize("query", ["0", "99", "-1"])
def test_find_by_number_out_of_range(matcher, query):
    assert matcher.find(query) is None


@pytest.mark.parametrize(
    "query, first_phrasing",
    [
        ("возврат", "Как вернуть товар?"),
        ("самовывоз", "Можно забрать заказ самовывозом?"),
        ("промокод", "Есть ли скидки или промокоды?"),
        ("адрес", "Где находится магазин?"),
        ("отменить заказ", "Как изменить или отменить заказ?"),
        ("гарантия", "Какая гарантия на товары?"),
    ],
)
def test_find_by_words(matcher, query, first_phrasing):
    assert matcher.find(query).questions[0] == first_phrasing


@pytest.mark.parametrize("query", ["", "абырвалг", "спасибо"])
def test_find_nothing(matcher, query):
    assert matcher.find(query) is None


# --------------------------------------------------------------------------- reloading


GOOD = HEADER + "Есть самовывоз?,Да,\n"
BETTER = HEADER + "Есть самовывоз?,Да,\nГде вы?,На Садовой,\n"
BROKEN = HEADER + "Есть самовывоз?,,\n"


def test_faq_file_keeps_last_good_and_reports_a_broken_version_once(tmp_path):
    path = write(tmp_path / "faq.csv", GOOD)
    faq_file = FaqFile(path)
    assert faq_file.error is None and len(faq_file.matcher.entries) == 1
    assert faq_file.reload_if_changed() is None

    write(path, BROKEN)
    problem = faq_file.reload_if_changed()
    assert problem == "faq.csv line 2: empty answer" == faq_file.error
    assert faq_file.reload_if_changed() is None  # the same broken version: told once
    assert len(faq_file.matcher.entries) == 1  # still the last good one
    assert faq_file.matcher.match("самовывоз есть?").entry.answer == "Да"

    write(path, BETTER)
    assert faq_file.reload_if_changed() == ""
    assert faq_file.error is None and len(faq_file.matcher.entries) == 2
    assert faq_file.reload_if_changed() is None


def test_faq_file_broken_again_is_reported_again(tmp_path):
    path = write(tmp_path / "faq.csv", GOOD)
    faq_file = FaqFile(path)
    write(path, BROKEN)
    assert faq_file.reload_if_changed()
    write(path, BROKEN + "\n")  # another broken version
    assert faq_file.reload_if_changed() == "faq.csv line 2: empty answer"


@pytest.mark.parametrize("start", [None, BROKEN])
def test_faq_file_missing_or_broken_at_start_never_raises(tmp_path, start):
    path = tmp_path / "faq.csv"
    if start is not None:
        write(path, start)
    faq_file = FaqFile(path, min_score=0.4)
    assert faq_file.error and faq_file.matcher.entries == ()
    assert faq_file.matcher.match("самовывоз") is None
    assert faq_file.reload_if_changed() is None

    write(path, GOOD)
    assert faq_file.reload_if_changed() == ""
    assert faq_file.error is None and faq_file.matcher.min_score == 0.4


def test_faq_file_deleted_keeps_last_good(tmp_path):
    path = write(tmp_path / "faq.csv", GOOD)
    faq_file = FaqFile(path)
    path.unlink()
    assert "cannot read" in faq_file.reload_if_changed()
    assert faq_file.reload_if_changed() is None
    assert len(faq_file.matcher.entries) == 1


# --------------------------------------------------------------------------- the owner's tool


def test_main_one_message(capsys):
    assert faq.main(["Сколько стоит доставка?"]) == 0
    out = capsys.readouterr().out
    assert "Вопрос №1: Сколько стоит доставка?" in out
    assert "Совпадение: 1.00" in out
    assert "Ответ: Доставка курьером" in out


def test_main_nothing_matches(capsys):
    assert faq.main(["вы продаёте велосипеды?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ничего не подходит") and out.count("\n") == 1


def test_main_batch_in_order(tmp_path):
    stdin = io.StringIO("Сколько стоит доставка?\nспасибо\n\nсамовывоз есть?\n")
    stdout = io.StringIO()
    assert faq.main(["--batch"], stdin=stdin, stdout=stdout) == 0
    lines = stdout.getvalue().splitlines()
    assert lines[0] == "1.00\tСколько стоит доставка?"
    assert lines[1:3] == ["0.00\t", "0.00\t"]
    score, first_phrasing = lines[3].split("\t")
    assert first_phrasing == "Можно забрать заказ самовывозом?" and float(score) > 0.58
    assert len(lines) == 4


def test_main_batch_reads_cp1251_bytes():
    stdin = io.TextIOWrapper(io.BytesIO("самовывоз есть?\r\n".encode("cp1251")), encoding="ascii")
    stdout = io.StringIO()
    assert faq.main(["--batch"], stdin=stdin, stdout=stdout) == 0
    assert stdout.getvalue().endswith("\tМожно забрать заказ самовывозом?\n")


def test_main_other_file_and_min_score(tmp_path, capsys):
    path = write(tmp_path / "my.csv", GOOD)
    assert faq.main(["--faq", str(path), "самовывоз есть?"]) == 0
    assert "Ответ: Да" in capsys.readouterr().out
    assert faq.main(["--faq", str(path), "--min-score", "1", "самовывоз в субботу"]) == 0
    assert capsys.readouterr().out.startswith("Ничего не подходит")


def test_main_broken_file_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path / "faq.csv", BROKEN)
    assert faq.main(["--faq", str(path), "самовывоз"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == ["error: faq.csv line 2: empty answer"]


@pytest.mark.parametrize("argv", [[], ["--batch", "текст"], ["--min-score", "2", "текст"]])
def test_main_usage_errors(argv, capsys):
    assert faq.main(argv) == 2
    assert "usage" in capsys.readouterr().err
