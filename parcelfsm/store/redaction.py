"""Database targets fit to print: a URL's password never reaches a message."""

from __future__ import annotations

import re


def redact(target: str) -> str:
    """`target` with a URL's password (`user:PW@`, `password=PW`) shown as ***."""
    shown = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", target)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", shown)
