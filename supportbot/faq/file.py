"""Keep the bot's FAQ current: reload the file when it changes, keep the last good version.

Reads only the FAQ file (its size and mtime, then its bytes).
"""

from __future__ import annotations

from pathlib import Path

from .entries import FaqError, load_faq
from .match import FaqMatcher


_NOT_CHECKED = object()


class FaqFile:
    """Holds the last good FAQ of a file and reloads it when the file changes (mtime+size),
    keeping the last good one when the new one is broken."""

    def __init__(self, path: Path, min_score: float | None = None) -> None:
        self.path = Path(path)
        self.min_score = min_score
        self.matcher = FaqMatcher((), min_score)
        self.error: str | None = None
        self._signature: tuple[int, int] | None | object = _NOT_CHECKED
        self.reload_if_changed()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def reload_if_changed(self) -> str | None:
        """Reload when the file changed: None if nothing changed, "" if reloaded, else the error once."""
        signature = self._stat()  # None while the file is missing
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            entries = load_faq(self.path)
        except FaqError as exc:
            self.error = str(exc)
            return self.error
        self.matcher = FaqMatcher(entries, self.min_score)
        self.error = None
        return ""
