"""Making untrusted text (cells, paths) safe to print on a terminal or draw on a figure."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def count_range(counts) -> str:
    """'5' when every count is 5, else '4–5': how many samples per case, as printed."""
    lo, hi = int(min(counts)), int(max(counts))
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def clean(text: object) -> str:
    """Replace control and format characters (terminal escapes, newlines, bidi overrides) by '?'."""
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text))


def show(value: object) -> str:
    """A path or name as printed in a message."""
    return clean(value)


def quote(value: object, limit: int = 60) -> str:
    """A cell value as printed in a message: quoted, cleaned, shortened."""
    text = clean(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "'" + text + "'"


def figure_text(value: object) -> str:
    """Text drawn by matplotlib: cleaned, and '$' escaped so no cell is parsed as mathtext."""
    return clean(value).replace("$", r"\$")


def file_part(value: object) -> str:
    """A fragment safe inside a file name (no '/', no '..', no spaces)."""
    text = _UNSAFE_FILE_CHARS.sub("_", str(value)).strip("._") or "unnamed"
    return text[:80]
