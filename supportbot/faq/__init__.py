"""FAQ: the owner's CSV, matching customers' messages to it, and the owner's `faq` tool.

API for the bot (nothing here imports telebot, sqlite3 or reads the environment, except
`cli` and `gaps`, which the bot does not use):

    FaqFile(path, min_score=None)            the bot's FAQ; .matcher, .error, .reload_if_changed()
    FaqMatcher(entries, min_score=None, *, margin=DEFAULT_MARGIN)
        .classify(text) -> FaqVerdict        outcome "sure" / "likely" / "none", best entry, runner-up
        .match(text) -> FaqMatch | None      the entry only when the outcome is "sure"
        .find(query) -> FaqEntry | None      entry N, or the best fit for an operator's few words
        .entries                             the entries, numbered 1..N in file order
        .min_score, .likely_score            the thresholds in use (calibrated per FAQ unless given)
    FaqVerdict(outcome, best, runner_up)     .entry and .score of the best (None / 0.0 when none)
    FaqMatch(entry, score)                   score 0..1
    FaqEntry(number, questions, answer, keywords)
    SURE, LIKELY, NONE                       the three outcomes

What the bot does with the outcomes (handlers.py):
  - SURE: send verdict.entry.answer to the customer with «Помогло» / «Нет, нужен оператор»;
  - LIKELY: send nothing to the customer; show the operator «Возможно, подойдёт ответ N: …»
    with a one-tap button that sends verdict.entry.answer as the operator's reply;
  - NONE: nothing.
"""

from .entries import FaqEntry, FaqError, load_faq, parse_faq
from .file import FaqFile
from .match import DEFAULT_MARGIN, LIKELY, NONE, SURE, FaqMatch, FaqMatcher, FaqVerdict
from .text import content_words, normalize, stem, terms


def main(argv, **streams) -> int:
    """Run the owner's `faq` tool (see cli.py)."""
    from .cli import main as cli_main

    return cli_main(argv, **streams)


__all__ = [
    "DEFAULT_MARGIN", "LIKELY", "NONE", "SURE", "FaqEntry", "FaqError", "FaqFile", "FaqMatch",
    "FaqMatcher", "FaqVerdict", "content_words", "load_faq", "main", "normalize", "parse_faq",
    "stem", "terms",
]
