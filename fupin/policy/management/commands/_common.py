"""Argument parsing and output helpers shared by the policy commands."""

import argparse
import unicodedata


def year_arg(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        msg = f"the year must be a four-digit year, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return year


def width(text: str) -> int:
    """Display width in a terminal: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, *, right: bool = False) -> str:
    gap = " " * max(size - width(text), 0)
    return gap + text if right else text + gap
