"""The password policy: long enough, not only whitespace, not holding the username, not a common password.

One function holds it (`passwords.problem`); every way of setting a password goes through it (the CLI, the admin
pages, the first-admin bootstrap and the change-my-password page, each tested with its own page or command)."""

from __future__ import annotations

import gzip

import pytest
from webapp_support import PASSWORD

from specscan.webapp import passwords


@pytest.mark.parametrize(("password", "username", "reason"), [
    ("short pw", "tina", "at least 12 characters"),
    ("x" * 1025, "tina", "at most 1024 characters"),
    (" " * 12, "tina", "only whitespace"),
    ("\t \n \u00a0" * 4, "tina", "only whitespace"),
    ("pw-username1", "pw-username", "contains the username"),
    ("my name is TINA, hello", "tina", "contains the username"),
    ("password1234", "tina", "commonly used passwords"),
    ("PassWord1234", "tina", "commonly used passwords"),  # the list is compared ignoring case
    ("123456789012", "tina", "commonly used passwords"),
    ("aaaaaaaaaaaa", "tina", "commonly used passwords"),
    ("qwertyuiop123", "tina", "commonly used passwords"),
], ids=["short", "long", "spaces", "any-whitespace", "username", "username-any-case", "common", "common-any-case",
        "digits", "one-letter", "keyboard"])
def test_a_weak_password_is_refused_with_the_reason(password: str, username: str, reason: str) -> None:
    assert reason in (passwords.problem(password, username) or "")


@pytest.mark.parametrize("password", [PASSWORD, "correct horse battery staple", "Tür zu, Fenster auf! 42", "x" * 1024])
def test_a_strong_password_passes(password: str) -> None:
    assert passwords.problem(password, "tina") is None


def test_the_bundled_list_holds_at_least_100000_common_passwords() -> None:
    with gzip.open(passwords.COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        assert sum(1 for line in lines if line.strip()) >= 100_000
