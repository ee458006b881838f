"""Per-card identity: ICCID, IMSI, Ki, OPc, PINs, PUKs, ADM1, MSISDN.

Secrets (Ki, OPc, OP, PINs, PUKs, ADM1) never appear in messages or reprs (DESIGN.md §4): errors say what
is wrong with a value (its length, that it is not hex) without echoing it, and `repr()` shows
``ki=<secret>``. ICCID, IMSI and MSISDN are not secret.

Errors are raised as one `IdentityError` listing every problem, one line each: ``SOURCE: field: reason``,
where SOURCE is where the value came from (``--imsi``, ``cards.csv:3``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simtool.errors import InputError

from .luhn import luhn_digit, luhn_ok

if TYPE_CHECKING:
    from simtool.crypto.ota import OtaKeys

    from .schema import Profile

SECRET = "<secret>"
_SECRET_FIELDS = ("ki", "opc", "pin1", "puk1", "pin2", "puk2", "adm1", "ota_keys")
_PIN_LENGTHS = {"pin1": range(4, 9), "puk1": range(8, 9), "pin2": range(4, 9), "puk2": range(8, 9)}


class IdentityError(InputError):
    """An invalid identity. `.errors` holds one ``SOURCE: field: reason`` line per problem."""


def _hex_bytes(value: Any, n: int) -> bytes:
    """`n` bytes from bytes or a hex string; ValueError (never echoing the value) otherwise."""
    if isinstance(value, bytes | bytearray):
        if len(value) != n:
            raise ValueError(f"must be {n} bytes, got {len(value)}")
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError(f"must be {2 * n} hex digits, got a {type(value).__name__} value")
    if len(value) != 2 * n:
        raise ValueError(f"must be {2 * n} hex digits ({n} bytes), got {len(value)} characters")
    if not all(c in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"must be {2 * n} hex digits ({n} bytes), but has characters that are not hex")
    return bytes.fromhex(value)


def adm_from_hex(text: str) -> bytes:
    """ADM1 given as 16 hex digits (8 bytes), e.g. ``3131313131313131``."""
    return _hex_bytes(text, 8)


def adm_from_digits(text: str) -> bytes:
    """ADM1 given as 4 to 8 ASCII digits (``"11111111"`` -> ``b"11111111"``); shorter ones are padded
    with FF to 8 bytes, as PIN values are (TS 102 221 §9.5.1)."""
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or not 4 <= len(text) <= 8:
        n = len(text) if isinstance(text, str) else 0
        raise ValueError(f"must be 4 to 8 decimal digits, got {n} characters that are not that")
    return text.encode("ascii").ljust(8, b"\xff")


def _pin(value: Any, lengths: range) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text of digits, got a {type(value).__name__} value")
    if not (value.isascii() and value.isdigit()) or len(value) not in lengths:
        want = f"{lengths.start} to {lengths.stop - 1}" if len(lengths) > 1 else str(lengths.start)
        kind = "digits" if value.isascii() and value.isdigit() else "characters, not all digits"
        raise ValueError(f"must be {want} digits, got {len(value)} {kind}")
    return value


def _iccid(value: Any, append_luhn: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text of digits, got a {type(value).__name__} value")
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"must be digits only, got {value!r}")
    if append_luhn:
        if len(value) not in (18, 19):
            raise ValueError(f"must be 18 or 19 digits when the check digit is appended, got {len(value)}")
        return value + luhn_digit(value)
    if len(value) not in (19, 20):
        raise ValueError(f"must be 19 or 20 digits including the Luhn check digit, got {len(value)}")
    if not luhn_ok(value):
        raise ValueError(
            f"check digit {value[-1]} of {value} is wrong:"
            f" the Luhn digit of {value[:-1]} is {luhn_digit(value[:-1])}"
        )
    return value


def _imsi(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text of digits, got a {type(value).__name__} value")
    if not (value.isascii() and value.isdigit()) or not 6 <= len(value) <= 15:
        raise ValueError(f"must be 6 to 15 digits (MCC + MNC + MSIN), got {value!r}")
    return value


def _msisdn(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text like '+31612345678', got a {type(value).__name__} value")
    digits = value[1:]
    if not value.startswith("+") or not (digits.isascii() and digits.isdigit()) or not 1 <= len(digits) <= 15:
        raise ValueError(f"must be an E.164 number: '+' and 1 to 15 digits, got {value!r}")
    return value


class _Problems:
    def __init__(self, source: str, field_sources: Mapping[str, str] | None):
        self.source = source
        self.field_sources = dict(field_sources or {})
        self.lines: list[str] = []

    def add(self, field: str, reason: str) -> None:
        self.lines.append(f"{self.field_sources.get(field, self.source)}: {field}: {reason}")

    def check(self, field: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as exc:
            self.add(field, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.lines:
            raise IdentityError(self.lines)


@dataclass(frozen=True, repr=False)
class Identity:
    """One card's identity. Build it with `Identity.create` (which parses and validates text input);
    the plain constructor takes already-parsed values and validates them too."""

    iccid: str
    imsi: str
    ki: bytes
    opc: bytes
    pin1: str
    puk1: str
    pin2: str
    puk2: str
    adm1: bytes
    msisdn: str | None = None
    ota_keys: OtaKeys | None = None  # KIc/KID for the plan applet's OTA updates (applet_spec/files.md)

    def __post_init__(self) -> None:
        p = _Problems("identity", None)
        p.check("iccid", _iccid, self.iccid, False)
        p.check("imsi", _imsi, self.imsi)
        for name in ("ki", "opc"):
            value = getattr(self, name)
            if not isinstance(value, bytes):
                p.add(name, f"must be bytes, got a {type(value).__name__} value (Identity.create takes hex)")
            else:
                p.check(name, _hex_bytes, value, 16)
        if not isinstance(self.adm1, bytes):
            kind = type(self.adm1).__name__
            p.add("adm1", f"must be bytes, got a {kind} value (use adm_from_hex or adm_from_digits)")
        else:
            p.check("adm1", _hex_bytes, self.adm1, 8)
        for name, lengths in _PIN_LENGTHS.items():
            p.check(name, _pin, getattr(self, name), lengths)
        if self.msisdn is not None:
            p.check("msisdn", _msisdn, self.msisdn)
        if self.ota_keys is not None:
            from simtool.crypto.ota import OtaKeys

            if not isinstance(self.ota_keys, OtaKeys):
                p.add("ota_keys", f"must be an OtaKeys key set, got a {type(self.ota_keys).__name__} value")
        p.raise_if_any()

    # -- construction ----------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        *,
        iccid: str,
        imsi: str,
        ki: str | bytes,
        pin1: str,
        puk1: str,
        pin2: str,
        puk2: str,
        opc: str | bytes | None = None,
        op: str | bytes | None = None,
        adm1: bytes | None = None,
        adm1_hex: str | None = None,
        adm1_digits: str | None = None,
        msisdn: str | None = None,
        ota_keys: OtaKeys | None = None,
        append_luhn: bool = False,
        source: str = "identity",
        field_sources: Mapping[str, str] | None = None,
    ) -> Identity:
        """Parse and check every field, raising one `IdentityError` that lists all problems.

        Keys are bytes or hex text. Give exactly one of `opc` and `op` (OPc is then derived with
        Milenage). ADM1 must be stated explicitly: `adm1` (8 bytes), `adm1_hex` (16 hex digits) or
        `adm1_digits` (ASCII digits), exactly one of them. With `append_luhn`, an 18- or 19-digit ICCID
        gets its check digit appended. `source` names where the values came from (``cards.csv:3``);
        `field_sources` can name a source per field (``{"imsi": "--imsi"}``).
        """
        p = _Problems(source, field_sources)
        v_iccid = p.check("iccid", _iccid, iccid, append_luhn)
        v_imsi = p.check("imsi", _imsi, imsi)
        v_ki = p.check("ki", _hex_bytes, ki, 16)

        v_opc = v_op = None
        if opc is not None and op is not None:
            p.add("opc", "give opc or op, not both")
        elif opc is not None:
            v_opc = p.check("opc", _hex_bytes, opc, 16)
        elif op is not None:
            v_op = p.check("op", _hex_bytes, op, 16)
        else:
            p.add("opc", "required (or op, from which OPc is derived)")

        forms = {"adm1": adm1, "adm1_hex": adm1_hex, "adm1_digits": adm1_digits}
        given = [(n, v) for n, v in forms.items() if v is not None]
        v_adm = None
        if not given:
            p.add("adm1", "required, stated explicitly as hex (adm1_hex) or ASCII digits (adm1_digits)")
        elif len(given) > 1:
            p.add("adm1", f"give one ADM1 form, not {len(given)} ({', '.join(n for n, _ in given)})")
        else:
            form, value = given[0]
            parse = {"adm1": adm_from_hex, "adm1_hex": adm_from_hex, "adm1_digits": adm_from_digits}
            v_adm = p.check("adm1", parse[form], value)

        given_pins = {"pin1": pin1, "puk1": puk1, "pin2": pin2, "puk2": puk2}
        v_pins = {name: p.check(name, _pin, given_pins[name], n) for name, n in _PIN_LENGTHS.items()}
        v_msisdn = p.check("msisdn", _msisdn, msisdn) if msisdn is not None else None
        p.raise_if_any()

        if v_op is not None:
            from simtool.crypto.milenage import opc as derive_opc  # lazy: crypto is optional here

            v_opc = derive_opc(v_ki, v_op)
        assert v_opc is not None and v_adm is not None  # raise_if_any: each was given and valid
        return cls(
            iccid=v_iccid,
            imsi=v_imsi,
            ki=v_ki,
            opc=bytes(v_opc),
            pin1=v_pins["pin1"],
            puk1=v_pins["puk1"],
            pin2=v_pins["pin2"],
            puk2=v_pins["puk2"],
            adm1=v_adm,
            msisdn=v_msisdn,
            ota_keys=ota_keys,
        )

    @classmethod
    def sample(cls) -> Identity:
        """The fixed sample identity for demos and tests (KPN home PLMN 204/08; test keys, not real ones)."""
        return cls.create(
            iccid="8931080000000000019",  # payload 893108000000000001, Luhn digit 9
            imsi="204080000000001",
            ki="000102030405060708090a0b0c0d0e0f",
            opc="0f0e0d0c0b0a09080706050403020100",
            pin1="0000",
            puk1="12345678",
            pin2="1234",
            puk2="87654321",
            adm1_hex="3131313131313131",  # ASCII "11111111"
        )

    # -- checks and views ------------------------------------------------------------------------------
    def check_against(self, profile: Profile, source: str = "identity") -> None:
        """Raise `IdentityError` if this identity does not belong to `profile` (IMSI vs. home PLMN)."""
        prefix = profile.home_plmn.mcc + profile.home_plmn.mnc
        if not self.imsi.startswith(prefix):
            raise IdentityError(
                f"{source}: imsi: {self.imsi} does not start with the profile's MCC+MNC {prefix}"
                f" (home_plmn {profile.home_plmn.mcc}/{profile.home_plmn.mnc})"
            )

    @property
    def last_imsi_digit(self) -> int:
        return int(self.imsi[-1])

    def to_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        """Plain dict for JSON output; secrets as ``"<secret>"`` unless `show_secrets` (keys as hex)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "ota_keys" and value is None:
                continue  # optional, and listed only when the identity carries OTA keys
            if f.name in _SECRET_FIELDS and not show_secrets:
                out[f.name] = SECRET
            elif f.name == "ota_keys":
                out[f.name] = value.card_file_value()
            elif isinstance(value, bytes):
                out[f.name] = value.hex()
            else:
                out[f.name] = value
        return out

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "ota_keys" and value is None:
                continue
            parts.append(f"{f.name}={SECRET}" if f.name in _SECRET_FIELDS else f"{f.name}={value!r}")
        return f"Identity({', '.join(parts)})"

    __str__ = __repr__
