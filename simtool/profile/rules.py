"""Size and character rules that decide whether a profile value fits its elementary file.

Kept apart from the pydantic models so that `render` can apply the same decisions (which SPN coding,
how many bytes an APN takes) that validation applied.
"""

from __future__ import annotations

import re
import unicodedata

# GSM 03.38 / TS 23.038 default alphabet (positions 0x00..0x7F) and its extension table (each costs two
# septets: ESC + char). Cross-checked against the `gsm0338` codec in tests/profile/test_rules.py.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\x0c^{}\\[~]|€"

SPN_NAME_BYTES = 16  # EF.SPN: 1 display-condition byte + 16 name bytes (TS 31.102 §4.2.12)
APN_MAX_BYTES = 100  # TS 23.003 §9.1: the encoded APN is at most 100 octets
APN_LABEL_MAX = 63
_APN_LABEL = re.compile(r"^[A-Za-z0-9-]+$")
_GSM7_SET = frozenset(GSM7_BASIC)
_GSM7_EXT_SET = frozenset(GSM7_EXTENSION)


def gsm7_septets(text: str) -> int | None:
    """Number of septets `text` takes in the GSM 7-bit default alphabet, or None if it does not fit it."""
    n = 0
    for ch in text:
        if ch in _GSM7_SET:
            n += 1
        elif ch in _GSM7_EXT_SET:
            n += 2
        else:
            return None
    return n


def spn_coding(name: str) -> tuple[str, int]:
    """('gsm7', bytes) when the name is GSM 7-bit (unpacked: one byte per septet), else ('ucs2', bytes)
    for the UCS2 '80' coding (one coding byte + two bytes per character)."""
    septets = gsm7_septets(name)
    if septets is not None:
        return "gsm7", septets
    return "ucs2", 1 + 2 * len(name)


MAX_COMBINING = 2  # combining marks on one base character; more is "Zalgo" text, not a language


def display_text_problem(text: str) -> str | None:
    """Why `text` is unfit for a handset's display (SPN, SIM menu texts), or None: control characters,
    invisible formatting characters (bidi overrides, zero-width joiners, BOM) that make a text show other
    than it reads, characters UCS2 cannot hold, text that is not in Unicode NFC, stacked combining marks."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            return "must not contain control characters (NUL, line breaks, tabs)"
        if cat in ("Cf", "Cs", "Zl", "Zp"):
            name = unicodedata.name(ch, "unnamed")
            return f"contains the invisible or formatting character U+{ord(ch):04X} {name}; write the text without it"
        if ord(ch) > 0xFFFF:
            return "contains a character outside the Basic Multilingual Plane, which UCS2 cannot hold"
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        return f"is not in Unicode NFC form (a letter and its accent written apart); write it as {nfc!r}"
    run = 0
    for ch in text:
        run = run + 1 if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me") else 0
        if run > MAX_COMBINING:
            return f"stacks more than {MAX_COMBINING} combining marks on one character"
    return None


def spn_problem(name: str) -> str | None:
    """Why `name` cannot be stored in EF.SPN, or None."""
    if not name:
        return "must not be empty"
    problem = display_text_problem(name)
    if problem:
        return problem
    coding, size = spn_coding(name)
    if size <= SPN_NAME_BYTES:
        return None
    if coding == "gsm7":
        return f"{name!r} takes {size} GSM 7-bit characters, EF.SPN holds {SPN_NAME_BYTES}"
    odd = next(ch for ch in name if ch not in _GSM7_SET and ch not in _GSM7_EXT_SET)
    return (
        f"{name!r} needs UCS2 ({odd!r} is not in the GSM 7-bit alphabet): 1 + 2 x {len(name)} = {size} bytes,"
        f" EF.SPN holds {SPN_NAME_BYTES} (at most {(SPN_NAME_BYTES - 1) // 2} UCS2 characters)"
    )


def apn_encoded(apn: str) -> bytes:
    """TS 23.003 §9.1 / RFC 1035 label form: each label preceded by its length, no terminating zero."""
    out = bytearray()
    for label in apn.split("."):
        raw = label.encode("ascii")
        out.append(len(raw))
        out += raw
    return bytes(out)


def apn_problem(apn: str) -> str | None:
    """Why `apn` is not a valid APN network identifier (TS 23.003 §9.1), or None."""
    if not apn:
        return "must not be empty"
    labels = apn.split(".")
    for label in labels:
        if not label:
            return f"{apn!r} has an empty label (two dots, or a dot at an end)"
        if len(label) > APN_LABEL_MAX:
            shown = label if len(label) <= 20 else label[:17] + "..."
            return f"label {shown!r} is {len(label)} characters, at most {APN_LABEL_MAX}"
        if not _APN_LABEL.match(label):
            return f"label {label!r} may hold only letters A-Z, digits and '-'"
        if label.startswith("-") or label.endswith("-"):
            return f"label {label!r} must not start or end with '-'"
    size = len(apn_encoded(apn))
    if size > APN_MAX_BYTES:
        return f"encodes to {size} bytes, at most {APN_MAX_BYTES} (TS 23.003)"
    if labels[0].lower() in ("rac", "lac", "sgsn", "rnc"):
        return f"must not start with the reserved label {labels[0]!r} (TS 23.003 §9.1.1)"
    if apn.lower().endswith(".gprs"):
        return "must not end in '.gprs' (that suffix is reserved for the operator identifier)"
    return None


def acl_size(apns: list[str]) -> int:
    """Bytes EF.ACL needs for these APNs: a count byte, then `DD L apn` per entry."""
    return 1 + sum(2 + len(apn_encoded(a)) for a in apns)


def plmn_key(mcc: str, mnc: str) -> str:
    return f"{mcc}/{mnc}"
