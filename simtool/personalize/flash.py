"""Flash one card as a transaction: guards first, then the fewest writes, then read-back and AKA.

Order (issue 3): everything that can be checked without the card is checked before the first APDU;
then the blank-card guard (ICCID), the ADM guard (tries left, one VERIFY, never retried), the writes,
the read-back of every readable file written, the PIN checks and an AUTHENTICATE with the new keys.

The first write is EF.ICCID when the card carries none (issue 12): from its first answered UPDATE on, a
card holding any part of an identity is recognised by its ICCID when it comes back. That rule costs one
SELECT on a blank card (the guard leaves the card in ADF.USIM, the ICCID is in the MF); the bound that
`lower_bound_write` reports is the one under the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from simtool.commands import admguard, uicc
from simtool.commands.apdu import Response
from simtool.crypto import aka
from simtool.encoding.codec import DecodeError
from simtool.encoding.efs import ICCID, IMSI
from simtool.errors import CardError, GuardError
from simtool.fs.cardmodel import CardModel, model_for_atr
from simtool.fs.model import EF
from simtool.personalize import plan
from simtool.personalize.auth import AuthResult, authenticate
from simtool.transport.base import Reader

if TYPE_CHECKING:
    from simtool.personalize.hlrauth import HlrAuthResult
    from simtool.profile.identity import Identity
    from simtool.profile.render import CardImage
    from simtool.profile.schema import Profile

log = logging.getLogger(__name__)
AuthLike = Union["AuthResult", "HlrAuthResult"]  # our own check, or the HLR's

DEFAULT_MIN_ADM_TRIES = admguard.DEFAULT_MIN_ADM_TRIES


class ReadBackMismatch(CardError):
    pass


@dataclass
class FlashResult:
    iccid: str
    imsi: str
    model: str
    protocol: str
    written: list[str] = field(default_factory=list)
    skipped_equal: list[str] = field(default_factory=list)
    preset: list[str] = field(default_factory=list)  # already on the card as the vendor set it: not written
    verified: list[str] = field(default_factory=list)
    adm_tries_before: int | None = None
    auth: AuthLike | None = None
    phases: dict[str, dict[str, int]] = field(default_factory=dict)
    lower_bound_write: int = 0
    fitted: list[dict[str, Any]] = field(default_factory=list)  # lists cut to the model (profile `fit:`)

    def as_dict(self) -> dict[str, Any]:
        total = sum(p["apdus"] for p in self.phases.values())
        return {
            "ok": True, "iccid": self.iccid, "imsi": self.imsi, "model": self.model, "protocol": self.protocol,
            "files_written": len(self.written), "files_skipped_equal": len(self.skipped_equal),
            "files_preset": self.preset,
            "files_verified": len(self.verified), "adm_tries_before": self.adm_tries_before,
            "fitted": self.fitted,
            "auth": self.auth.as_dict() if self.auth else None,
            "apdus": {"total": total, "per_phase": self.phases, "write_lower_bound": self.lower_bound_write},
        }


def detect_model(reader: Reader, model: CardModel | None) -> CardModel:
    if model is not None:
        return model
    found = model_for_atr(reader.atr)
    if found is None:
        raise CardError(f"{reader.name}: unknown card (ATR {reader.atr.hex().upper()}); name its model")
    return found


def verify_adm(reader: Reader, adm: bytes, min_tries: int = DEFAULT_MIN_ADM_TRIES) -> int | None:
    """VERIFY ADM1 behind the ADM guard (`commands.admguard`, run by `Reader.send`): the tries are asked
    first and the key is refused below `min_tries`; one VERIFY, never retried. Returns the tries left before."""
    reader.set_phase("adm")
    with reader.adm_guard.threshold(min_tries):
        resp = reader.send(uicc.verify_pin(uicc.ADM1, adm))
    tries = reader.adm_guard.tries_before.get(uicc.ADM1)
    if resp.sw == 0x9000:
        return tries
    left = uicc.parse_retry_counter(resp.sw)
    if left is not None:
        raise _with_details(CardError(f"{reader.name}: the card refused the ADM1 key; {left} tries left. "
                                      "Not retried."), adm_tries_left=left, sw=f"{resp.sw:04X}")
    raise _with_details(CardError(f"{reader.name}: VERIFY ADM1 answered {resp.sw:04X}"), sw=f"{resp.sw:04X}")


def _with_details(exc: Exception, **details: Any) -> Exception:
    """Attach machine-readable facts (no secrets) that `--json` error output reports beside the message."""
    exc.details = details  # type: ignore[attr-defined]
    return exc


def read_transparent(reader: Reader, size: int, sfi: int | None) -> bytes:
    out = b""
    while len(out) < size:
        n = min(256, size - len(out))
        use_sfi = sfi if not out else None
        resp = reader.send(uicc.read_binary(len(out), n, sfi=use_sfi))
        resp.check("READ BINARY")
        if not resp.data:
            break
        out += resp.data
    return out


def read_file(reader: Reader, model: CardModel, path: str) -> bytes | list[bytes]:
    """Read a whole EF; the caller has selected its DF (or the EF, when it has no SFI)."""
    ef = model.fs[path].ef
    if ef.is_record:
        recs = []
        for i in range(1, ef.record_count + 1):
            resp = reader.send(uicc.read_record(i, ef.record_length, sfi=ef.sfi))
            resp.check("READ RECORD")
            recs.append(resp.data)
        return recs
    return read_transparent(reader, ef.size, ef.sfi)


def select_df(reader: Reader, model: CardModel, df_path: str) -> None:
    reader.send(plan.df_select(model.fs, df_path)).check(f"SELECT {df_path}")


def read_card_iccid(reader: Reader) -> str | None:
    """The ICCID the card carries (None while EF.ICCID is erased). Unreadable content is refused as a
    guard: a card whose serial number we cannot read is not a blank card we may write."""
    reader.send(uicc.select_mf()).check("SELECT MF")
    raw = reader.send(uicc.read_binary(0, 10, sfi=0x02)).check("READ BINARY EF.ICCID").data
    try:
        return ICCID.decode(raw) or None
    except DecodeError:
        raise GuardError(f"{reader.name}: EF.ICCID holds {raw.hex().upper()}, which is not an ICCID; "
                         "refusing to write this card") from None


def flash(reader: Reader, profile: Profile, identity: Identity, *, model: CardModel | None = None,
          reprogram: bool = False, min_adm_tries: int = DEFAULT_MIN_ADM_TRIES, skip_equal: bool = False,
          verify_auth: bool = True, image: CardImage | None = None,
          before_write: Callable[[], None] | None = None,
          check_auth: Callable[[Reader, Identity], AuthLike] | None = None) -> FlashResult:
    """`before_write` runs after every guard and the ADM VERIFY, right before the first UPDATE (on a blank
    card: of EF.ICCID): a batch journals `writing` there, so a card can hold an identity only once the ledger
    says it may, and a card pulled after that holds the ICCID unless it was pulled in that one APDU.
    `check_auth` replaces the last check (our own Milenage with the identity's K/OPc): a batch run with
    `--gsup` asks the operator's HLR there (`hlrauth.authenticate_with_hlr`)."""
    from simtool.profile.render import render

    identity.check_against(profile)
    model = detect_model(reader, model)
    image = image or render(profile, identity, model)  # every input error surfaces here, before any APDU
    fs = model.fs
    result = FlashResult(identity.iccid, identity.imsi, model.name, reader.protocol,
                         fitted=[f.as_dict() for f in image.fitted])

    # 1. blank-card guard: a vendor-set ICCID is never replaced by a different one.
    reader.set_phase("guard")
    card_iccid = read_card_iccid(reader)
    if card_iccid and card_iccid != identity.iccid:
        raise GuardError(f"{reader.name}: the card carries ICCID {card_iccid}, not {identity.iccid}; "
                         "a vendor-set ICCID is never replaced")

    # 2. ADM guard and one VERIFY.
    result.adm_tries_before = verify_adm(reader, identity.adm1, min_adm_tries)

    # 1b. with ADM we can see whether the card already carries an identity.
    reader.set_phase("guard")
    select_df(reader, model, "MF/ADF.USIM")
    imsi_ef = fs["MF/ADF.USIM/EF.IMSI"].ef
    raw_imsi = reader.send(uicc.read_binary(0, imsi_ef.size, sfi=imsi_ef.sfi)).check("READ IMSI").data
    try:
        card_imsi = IMSI.decode(raw_imsi)
    except DecodeError:
        card_imsi = f"(undecodable: {raw_imsi.hex().upper()})"
    if card_imsi and card_imsi != identity.imsi and not reprogram:
        raise GuardError(f"{reader.name}: the card already carries IMSI {card_imsi}; use --reprogram to "
                         "overwrite it")
    current_df = "MF/ADF.USIM"
    probe_presence(reader, model, profile, image)

    # 3. writes. A vendor-set ICCID equal to ours stays untouched (many cards never let it be rewritten).
    files = dict(image.files)
    iccid_path = fs.find("EF.ICCID").path
    if card_iccid is not None and iccid_path in files:
        del files[iccid_path]
        result.preset = [iccid_path]
        result.verified.append(iccid_path)  # read in the guard and equal to the identity's
    bound_files = dict(files)
    first = iccid_path if iccid_path in files else None  # the card carries no ICCID: it is written first
    start_df = current_df
    if skip_equal:
        reader.set_phase("compare")
        for df_path, entries in plan.group_by_df(fs, list(files)).items():
            select_df(reader, model, df_path)
            current_df = df_path
            for entry in entries:
                if entry.ef.secret:
                    continue  # never readable: always written
                if entry.ef.sfi is None:
                    reader.send(uicc.select_fid(entry.ef.fid)).check("SELECT")
                if read_file(reader, model, entry.path) == files[entry.path]:
                    result.skipped_equal.append(entry.path)
                    result.verified.append(entry.path)  # read from the card and equal to the image
                    del files[entry.path]
    reader.set_phase("write")
    blank = card_imsi is None
    steps = plan.write_plan(fs, files, current_df=current_df, skip_blank_records=blank, first=first)
    result.lower_bound_write = plan.lower_bound(fs, bound_files, skip_blank_records=True, start_df=start_df,
                                                first=first) - 2
    journal = before_write  # committed right before the first UPDATE: a SELECT writes nothing
    for step in steps:
        if journal is not None and step.kind == "update":
            journal()
            journal = None
        resp = reader.send(step.apdu)
        if resp.sw == 0x6A82:
            raise _with_details(CardError(
                f"{reader.name}: the card has no {step.path} (6A82), which the profile needs; its file tree "
                f"is older than, or differs from, card model {model.name}"), missing=step.path)
        if not resp.ok:
            raise CardError(f"{reader.name}: writing {step.path} failed: card answered {resp.sw:04X}")
    if journal is not None:  # nothing to write: the journal still says the card may hold the identity
        journal()
    result.written = [p for p in files]

    # 4. read back every readable file written, and check the PINs took.
    reader.set_phase("verify")
    readable = [p for p in files if not fs[p].ef.secret]
    for df_path, entries in plan.group_by_df(fs, readable).items():
        select_df(reader, model, df_path)
        for entry in entries:
            if entry.ef.sfi is None:
                reader.send(uicc.select_fid(entry.ef.fid)).check("SELECT")
            got = read_file(reader, model, entry.path)
            if got != files[entry.path]:
                raise ReadBackMismatch(f"{reader.name}: read-back of {entry.path} differs from what was written")
            result.verified.append(entry.path)
    check_pins(reader, identity, profile.pin1_enabled, model.pin_tries)

    # 5. authenticate with the new keys.
    if verify_auth:
        reader.set_phase("auth")
        select_df(reader, model, "MF/ADF.USIM")
        if check_auth is not None:
            result.auth = check_auth(reader, identity)
        else:
            result.auth = authenticate(reader, aka.Milenage(identity.ki, identity.opc))
    result.phases = reader.counts()
    return result


def probe_presence(reader: Reader, model: CardModel, profile: Profile, image: CardImage) -> None:
    """Refuse, before any write, a card that lacks a file the profile needs and the image does not write
    (EF.SMS and EF.SMSS keep what the card was created with): a terminal trusting the UST would read a file
    that is not there. Files the image writes show their absence at their UPDATE. ADF.USIM is selected."""
    from simtool.fs.conformance import needed

    for need in needed(profile.services):
        if need.path in image.files or need.path not in model.fs:
            continue
        entry = model.fs[need.path]
        if entry.df_path != "MF/ADF.USIM" or not isinstance(entry.node, EF):
            continue  # EFs directly in ADF.USIM: SELECT by FID keeps the ADF current
        if reader.send(uicc.select_fid(entry.ef.fid, fcp=False)).sw == 0x6A82:
            raise _with_details(CardError(
                f"{reader.name}: the card has no {need.path} ({need.clause}), which the profile needs; "
                f"nothing was written"), missing=need.path)


def check_pins(reader: Reader, identity: Identity, pin1_enabled: bool, full: int = 3) -> None:
    """Counters reset and values set: the retry queries answer full counts, PIN2 verifies (and PIN1 when
    the profile enables it, which AUTHENTICATE then needs), and the PIN1 enable flag in the ADF's PIN
    status template is what the profile asked for."""
    for keyref, name in ((uicc.PIN1, "PIN1"), (uicc.PIN2, "PIN2")):
        sw = reader.send(uicc.verify_pin(keyref, None)).sw
        if uicc.parse_retry_counter(sw) != full and sw != 0x9000:
            raise CardError(f"{reader.name}: {name} retry counter is not reset after the PIN file write "
                            f"(SW {sw:04X})")
    checks = [(uicc.PIN2, "PIN2", identity.pin2)]
    if pin1_enabled:
        checks.insert(0, (uicc.PIN1, "PIN1", identity.pin1))
    for keyref, name, value in checks:
        resp: Response = reader.send(uicc.verify_pin(keyref, uicc.pin_bytes(value)))
        if resp.sw != 0x9000:
            raise CardError(f"{reader.name}: the new {name} was not accepted (SW {resp.sw:04X})")
    fcp = uicc.parse_fcp(reader.send(uicc.select_aid(bytes.fromhex("A0000000871002"), fcp=True))
                         .check("SELECT ADF.USIM").data)
    states = {p["keyref"]: p["enabled"] for p in fcp.get("pin_status") or []}
    if uicc.PIN1 not in states:
        raise CardError(f"{reader.name}: the ADF's FCP carries no PIN status for PIN1")
    if states[uicc.PIN1] != pin1_enabled:
        raise CardError(f"{reader.name}: PIN1 is {'en' if states[uicc.PIN1] else 'dis'}abled, the profile "
                        f"asks for {'en' if pin1_enabled else 'dis'}abled")
