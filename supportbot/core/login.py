"""Operator logins: PIN lockouts per account and across all accounts, PIN fingerprints, mistyped logins."""
from __future__ import annotations

import hashlib
import hmac
import secrets

LOGIN_MAX_FAILURES = 5
LOGIN_LOCK_SECONDS = 15 * 60


def login_locked_for(failures: int, locked_until: float | None, now: float) -> float:
    """Return the seconds an account is still locked out of /operator (0 if not)."""
    if locked_until is not None and locked_until > now:
        return locked_until - now
    return 0.0


def after_failed_login(failures: int, now: float) -> tuple[int, float | None]:
    """Count one more wrong PIN; lock the account once the limit is reached."""
    failures += 1
    if failures >= LOGIN_MAX_FAILURES:
        return 0, now + LOGIN_LOCK_SECONDS
    return failures, None


def pin_fingerprint(pin: str, salt: str | None = None) -> tuple[str, str]:
    """Return (salt, hash) of a PIN, so a seat can tell later whether its PIN was changed."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt.encode("ascii"), 50_000).hex()
    return salt, digest


def pin_still_valid(pin: str | None, salt: str | None, digest: str | None) -> bool:
    """Tell whether a seat's remembered fingerprint belongs to the PIN now configured for it."""
    if pin is None or not salt or not digest:
        return False
    return hmac.compare_digest(pin_fingerprint(pin, salt)[1], digest)



# --- across all accounts ---------------------------------------------------------------

GLOBAL_WINDOW_SECONDS = 60 * 60
GLOBAL_MAX_FAILURES = 20  # wrong PINs an hour from all accounts together


def login_closed_to_newcomers(failures_last_hour: int) -> bool:
    """Tell whether /operator is closed to accounts that never held a seat (too many wrong PINs lately)."""
    return failures_last_hour >= GLOBAL_MAX_FAILURES


def login_attack_begins(failures_last_hour: int) -> bool:
    """Tell whether one more wrong PIN (in Telegram or the panel) closes /operator to newcomers: the moment
    the operators on line are told, once."""
    return login_closed_to_newcomers(failures_last_hour + 1) and not login_closed_to_newcomers(failures_last_hour)


# --- mistyped logins -------------------------------------------------------------------

# Cyrillic letters that look like the Latin ones of "operator" (and a few more).
_LOOKALIKES = str.maketrans({"о": "o", "р": "p", "е": "e", "а": "a", "т": "t", "г": "r", "к": "k", "с": "c",
                             "х": "x", "у": "y", "О": "o", "Р": "p", "Е": "e", "А": "a", "Т": "t", "К": "k",
                             "С": "c", "Х": "x"})
_PUNCTUATION = " \t/\\:;,.-_=#!|"


def login_pin(text: str | None) -> str | None:
    """Return the PIN of a message that is evidently a login attempt, typos and all; None otherwise.

    "/operator 9753", "/оperator 9753" (Cyrillic о), "/operator: 9753", "/operator-9753",
    "/ operator 9753", "operator 9753", "/operator9753". A PIN is 3 or more digits.
    """
    if not text:
        return None
    folded = text.strip().translate(_LOOKALIKES).lower()
    head = folded.lstrip(_PUNCTUATION)
    if not head.startswith("operator"):
        return None
    rest = head.removeprefix("operator")
    if "@" in rest.split(" ", 1)[0]:  # "/operator@shop_bot 1234"
        rest = rest.split(" ", 1)[1] if " " in rest else ""
    pin = rest.strip(_PUNCTUATION)
    if len(pin) >= 3 and pin.isascii() and pin.isdigit():
        return pin
    return None
