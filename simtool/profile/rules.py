"""Size and character rules that decide whether a profile value fits its elementary file.

Kept apart from the pydantic models so that `render` can apply the same decisions (which SPN coding,
how many bytes an APN takes) that validation applied. The codings themselves (GSM 7-bit, the APN label
form) are `simtool.encoding`'s; what a profile may hold is decided here.
"""

from __future__ import annotations

import re
import unicodedata

from simtool.encoding import gsm7
from simtool.encoding.apn import LABEL_MAX, apn_encode

SPN_NAME_BYTES = 16  # EF.SPN: 1 display-condition byte + 16 name bytes (TS 31.102 §4.2.12)
APN_MAX_BYTES = 100  # TS 23.003 §9.1: the encoded APN is at most 100 octets
_APN_LABEL = re.compile(r"^[A-Za-z0-9-]+$")


def spn_coding(name: str) -> tuple[str, int]:
    """('gsm7', bytes) when the name is GSM 7-bit (unpacked: one byte per septet), else ('ucs2', bytes)
    for the UCS2 '80' coding (one coding byte + two bytes per character)."""
    septets = gsm7.septet_count(name)
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
    odd = next(ch for ch in name if gsm7.to_septets(ch) is None)
    return (
        f"{name!r} needs UCS2 ({odd!r} is not in the GSM 7-bit alphabet): 1 + 2 x {len(name)} = {size} bytes,"
        f" EF.SPN holds {SPN_NAME_BYTES} (at most {(SPN_NAME_BYTES - 1) // 2} UCS2 characters)"
    )


def apn_problem(apn: str) -> str | None:
    """Why `apn` is not a valid APN network identifier (TS 23.003 §9.1), or None."""
    if not apn:
        return "must not be empty"
    labels = apn.split(".")
    for label in labels:
        if not label:
            return f"{apn!r} has an empty label (two dots, or a dot at an end)"
        if len(label) > LABEL_MAX:
            shown = label if len(label) <= 20 else label[:17] + "..."
            return f"label {shown!r} is {len(label)} characters, at most {LABEL_MAX}"
        if not _APN_LABEL.match(label):
            return f"label {label!r} may hold only letters A-Z, digits and '-'"
        if label.startswith("-") or label.endswith("-"):
            return f"label {label!r} must not start or end with '-'"
    size = len(apn_encode(apn))
    if size > APN_MAX_BYTES:
        return f"encodes to {size} bytes, at most {APN_MAX_BYTES} (TS 23.003)"
    if labels[0].lower() in ("rac", "lac", "sgsn", "rnc"):
        return f"must not start with the reserved label {labels[0]!r} (TS 23.003 §9.1.1)"
    if apn.lower().endswith(".gprs"):
        return "must not end in '.gprs' (that suffix is reserved for the operator identifier)"
    return None


def acl_size(apns: list[str]) -> int:
    """Bytes EF.ACL needs for these APNs: a count byte, then `DD L apn` per entry."""
    return 1 + sum(2 + len(apn_encode(a)) for a in apns)


def plmn_key(mcc: str, mnc: str) -> str:
    return f"{mcc}/{mnc}"
