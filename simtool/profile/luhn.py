"""Luhn (mod 10) check digit for ICCIDs (ISO/IEC 7812, ITU-T E.118)."""

from __future__ import annotations

# Real ICCIDs with their check digits (specfacts.md §7), checked by tests/profile/test_luhn.py.
LUHN_VECTORS: list[tuple[str, str]] = [
    ("8988211000000467343", "3"),
    ("8949440000001155314", "4"),
    ("89445310150011013678", "8"),
    ("89014103211118510720", "0"),
]


def luhn_digit(payload: str) -> str:
    """The check digit to append to `payload` (a string of decimal digits)."""
    if not payload or not payload.isascii() or not payload.isdigit():
        raise ValueError("Luhn payload must be a non-empty string of digits")
    total = 0
    # From the rightmost payload digit leftwards, double every second digit starting with that one.
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    """True if the last digit of `number` is the Luhn check digit of the digits before it."""
    if len(number) < 2 or not number.isascii() or not number.isdigit():
        return False
    return luhn_digit(number[:-1]) == number[-1]
