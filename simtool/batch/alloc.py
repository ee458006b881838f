"""Identity allocation: consecutive ICCIDs (each with its Luhn digit), IMSIs inside the profile's PLMN and
MSISDNs, checked for overflow before anything is written.

A range overflows when the counter would need another digit (ICCID payload, MSIN, MSISDN number), or when
an ICCID range would carry into the first 7 digits (the longest issuer identification number of E.118):
the numbers beyond belong to someone else. Overlaps with batches already in the ledger are
checked by the ledger (`Ledger.overlaps`), inside the transaction that stores the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simtool.batch.ledger import Range
from simtool.profile.luhn import luhn_digit, luhn_ok

# ITU-T E.118: "89" + country code + issuer, at most 7 digits. A range never carries into them.
IIN_DIGITS = 7
# E.164: a country code has up to 3 digits. An MSISDN range never carries into them.
CC_DIGITS = 3


def _width_overflow(flag: str, start: int, width: int, count: int, what: str) -> str | None:
    last = start + count - 1
    if len(str(last)) > width:
        room = 10**width - start
        return (f"{flag}: {count} {what}s from here overflow the {width}-digit range "
                f"(room for {room}); start lower or make the batch smaller")
    return None


def parse_iccid_start(text: str, append_luhn: bool = False) -> tuple[str, list[str]]:
    """(payload without the check digit, problems). 19/20 digits must carry a valid Luhn digit; an 18-digit
    value is a payload (its digit is appended); with `append_luhn` 18 or 19 digits are payloads."""
    flag = "--iccid-start"
    if not (text.isascii() and text.isdigit()):
        return "", [f"{flag}: must be digits only, got {text!r}"]
    if append_luhn:
        if len(text) not in (18, 19):
            return "", [f"{flag}: with --append-luhn, 18 or 19 digits (without the check digit), got {len(text)}"]
        return text, []
    if len(text) == 18:
        return text, []
    if len(text) not in (19, 20):
        return "", [f"{flag}: must be 19 or 20 digits with a valid Luhn check digit (or 18 digits, to which the "
                    f"check digit is appended), got {len(text)}"]
    if not luhn_ok(text):
        return "", [f"{flag}: check digit {text[-1]} of {text} is wrong: the Luhn digit of {text[:-1]} is "
                    f"{luhn_digit(text[:-1])} (or give --append-luhn if {text} is the payload)"]
    return text[:-1], []


@dataclass(frozen=True)
class Allocation:
    """The identifiers of a batch, computed on demand: `iccid(i)`, `imsi(i)`, `msisdn(i)` for i in 0..count-1.

    Consecutive ranges hold only their start; vendor-printed ICCIDs are a list (they need not be consecutive).
    """

    count: int
    imsi_start: int
    imsi_width: int
    iccid_payload_start: int | None = None
    iccid_payload_width: int = 0
    preprinted: tuple[str, ...] | None = None
    msisdn_start: int | None = None
    msisdn_width: int = 0

    def iccid(self, i: int) -> str:
        if self.preprinted is not None:
            return self.preprinted[i]
        payload = str(self.iccid_payload_start + i).zfill(self.iccid_payload_width)  # type: ignore[operator]
        return payload + luhn_digit(payload)

    def imsi(self, i: int) -> str:
        return str(self.imsi_start + i).zfill(self.imsi_width)

    def msisdn(self, i: int) -> str | None:
        if self.msisdn_start is None:
            return None
        return "+" + str(self.msisdn_start + i).zfill(self.msisdn_width)

    def ranges(self) -> list[Range]:
        """The consecutive ranges (for overlap checks and the ledger's `ranges` table)."""
        last = self.count - 1
        out = []
        if self.preprinted is None:
            out.append(Range("iccid", self.iccid(0), self.iccid(last)))
        out.append(Range("imsi", self.imsi(0), self.imsi(last)))
        if self.msisdn_start is not None:
            out.append(Range("msisdn", self.msisdn(0)[1:], self.msisdn(last)[1:]))  # type: ignore[index]
        return out

    def describe(self) -> dict[str, str | None]:
        last = self.count - 1
        return {
            "iccid_first": self.iccid(0), "iccid_last": self.iccid(last),
            "imsi_first": self.imsi(0), "imsi_last": self.imsi(last),
            "msisdn_first": self.msisdn(0), "msisdn_last": self.msisdn(last),
        }


def allocate(*, count: int, imsi_start: str, plmn: tuple[str, str], iccid_start: str | None = None,
             append_luhn: bool = False, preprinted: list[str] | None = None,
             msisdn_start: str | None = None) -> tuple[Allocation | None, list[str]]:
    """Check every range; return (allocation, []) or (None, one `--flag: reason` line per problem)."""
    problems: list[str] = []
    if count < 1:
        problems.append(f"--count: must be at least 1, got {count}")
        count = 1
    alloc: dict[str, Any] = {"count": count}

    if preprinted is not None:
        if iccid_start is not None:
            problems.append("--iccid-start: the vendor's file sets the ICCIDs (its iccid column); leave it out")
        alloc["preprinted"] = tuple(preprinted)
    elif iccid_start is None:
        problems.append("--iccid-start: required (or an --input file whose cards carry pre-printed ICCIDs)")
    else:
        payload, errs = parse_iccid_start(iccid_start, append_luhn)
        problems += errs
        if payload:
            start, width = int(payload), len(payload)
            over = _width_overflow("--iccid-start", start, width, count, "ICCID")
            last = str(start + count - 1).zfill(width)
            if not over and last[:IIN_DIGITS] != payload[:IIN_DIGITS]:
                over = (f"--iccid-start: {count} ICCIDs from here run out of the issuer's block {payload[:IIN_DIGITS]} "
                        f"(the last would start {last[:IIN_DIGITS]}; E.118 keeps the issuer identification number in "
                        f"the first {IIN_DIGITS} digits); start lower or make the batch smaller")
            if over:
                problems.append(over)
            alloc.update(iccid_payload_start=start, iccid_payload_width=width)

    mcc, mnc = plmn
    prefix = mcc + mnc
    if not (imsi_start.isascii() and imsi_start.isdigit()) or not 6 <= len(imsi_start) <= 15:
        problems.append(f"--imsi-start: must be 6 to 15 digits (MCC + MNC + MSIN), got {imsi_start!r}")
    elif not imsi_start.startswith(prefix):
        problems.append(f"--imsi-start: {imsi_start} is not in the profile's PLMN {mcc}/{mnc}: an IMSI of this "
                        f"profile starts with {prefix}")
    elif len(imsi_start) == len(prefix):
        problems.append(f"--imsi-start: {imsi_start} has no MSIN digits after MCC+MNC {prefix}")
    else:
        msin = imsi_start[len(prefix):]
        over = _width_overflow("--imsi-start", int(msin), len(msin), count, "IMSI")
        if over:
            problems.append(over + f" (the MSIN after {prefix})")
        alloc.update(imsi_start=int(imsi_start), imsi_width=len(imsi_start))

    if msisdn_start is not None:
        digits = msisdn_start[1:]
        if not msisdn_start.startswith("+") or not (digits.isascii() and digits.isdigit()) or not 1 <= len(
                digits) <= 15:
            problems.append(f"--msisdn-start: must be an E.164 number: '+' and 1 to 15 digits, got {msisdn_start!r}")
        else:
            over = _width_overflow("--msisdn-start", int(digits), len(digits), count, "MSISDN")
            last = str(int(digits) + count - 1)
            if not over and last[:CC_DIGITS] != digits[:CC_DIGITS]:
                over = (f"--msisdn-start: {count} MSISDNs from here run out of the block +{digits[:CC_DIGITS]} (the "
                        f"last would be +{last}; the first {CC_DIGITS} digits may be the country code)")
            if over:
                problems.append(over)
            alloc.update(msisdn_start=int(digits), msisdn_width=len(digits))
    if problems:
        return None, problems
    return Allocation(**alloc), []
