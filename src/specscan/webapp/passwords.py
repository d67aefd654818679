"""The password policy, in one place for every way a password is set (the CLI, the admin pages, the first-admin
bootstrap, the change-my-password page): 12 to 1,024 characters, not only whitespace, not holding the username,
and not on a list of 437,651 common passwords shipped with the package (no network: source and licence in
`common-passwords.NOTICE` beside it)."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


def problem(password: str, username: str) -> str | None:
    """What is wrong with `password` as the new password of `username`, or None when it may be set."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"the password must have at most {MAX_PASSWORD} characters"
    if not password.strip():
        return "the password is only whitespace: use other characters too"
    if username and username.casefold() in password.casefold():
        return "the password contains the username: choose one that does not"
    if password.casefold() in common_passwords():
        return "the password is on a list of commonly used passwords, which are guessed first: choose another"
    return None


@cache
def common_passwords() -> frozenset[str]:
    """The list's passwords (case-folded) that the length rule alone would let through; read once, when first
    needed. Case-folding never shortens a text, so a shorter entry can never match an allowed password."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(entry for entry in (line.rstrip("\r\n").casefold() for line in lines)
                         if len(entry) >= MIN_PASSWORD)
