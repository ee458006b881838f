"""`build(profile, identity) -> bytes`: the card image `render` gives, as a TCA Interoperable Profile package.

Every file carries an explicit file descriptor (type, FID, our EF.ARR rule, size, SFI) and its whole body
as `render` gives it (records back to back), so the installed files are the rendered bytes whatever a
template's defaults are; the template elements (MF, USIM, optional USIM, GSM-ACCESS, DF.5GS, ISIM) take
the files the layout table names, and GenericFileManagement creates the rest (DF.TELECOM, DF.GSM,
DF.PLAN, any file of a template DF the table does not name). K/OPc become the AKA element, the PINs,
PUKs and ADM1 the PIN and PUK elements: a package holds no key or PIN file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simtool.encoding import efs as C
from simtool.esim import layout as L
from simtool.esim.saip import encode_pe
from simtool.fs.cardmodel import SAIP_PACKAGE, CardModel
from simtool.fs.model import EF, Entry
from simtool.profile.render import render

if TYPE_CHECKING:
    from simtool.profile.identity import Identity
    from simtool.profile.schema import Profile

HEADER_VERSION = (2, 3)  # the SAIP version the elements used here need; TS.48 v5 packages say 2.3 too
PROFILE_TYPE = "simtool operational profile"
FDB = {"transparent": 0x41, "linear_fixed": 0x42, "cyclic": 0x46}
DF_FDB = b"\x78\x21"
DATA_CODING = 0x21
# PIN and PUK key references (Interoperable Format PINKeyReferenceValue; TS 102 221 §9.5.1).
PIN1, PIN2, ADM1 = 1, 129, 10
PUK1, PUK2 = 1, 129
# pinAttributes as the TS.48 profiles set them: 6 for a PIN that starts disabled, 3 for one that is
# enabled (and for ADM keys). Their bit meanings are not in the sources we read (specfacts §16).
PIN_DISABLED, PIN_ENABLED = 6, 3
ALGORITHMS = {"milenage": 1, "tuak": 2}
MILENAGE_OPTIONS = b"\x00"  # not used for Milenage (pySim's set_milenage)


def iccid_header_bytes(iccid: str) -> bytes:
    """The header's ICCID: BCD in reading order, F-padded to 10 bytes (EF.ICCID is nibble-swapped)."""
    return bytes.fromhex(iccid.ljust(20, "F"))


def retries(max_tries: int, left: int | None = None) -> int:
    """maxNumOfAttemps-retryNumLeft: the maximum in the high nibble, the tries left in the low one."""
    left = max_tries if left is None else left
    if not 1 <= max_tries <= 15 or not 0 <= left <= max_tries:
        raise ValueError("retry counters are 1..15")
    return max_tries << 4 | left


def package_image(profile: Profile, identity: Identity, model: CardModel = SAIP_PACKAGE) -> dict[str, bytes]:
    """Every file the package creates, as flat bodies: `render`'s files plus EF.DIR and the EF.ARRs as the
    card is made (blank cards get them from the vendor; a package must bring them)."""
    image = render(profile, identity, model)
    fs = model.fs
    out: dict[str, bytes] = {}
    for e in fs.efs():
        ef = e.ef
        if e.path in image.files:
            content = image.files[e.path]
            out[e.path] = b"".join(content) if isinstance(content, list) else content
        elif ef.name == "EF.DIR":
            out[e.path] = _records(ef, model.dir_records())
        elif ef.name == "EF.ARR":
            out[e.path] = _records(ef, model.arr_records())
    return out


def _records(ef: EF, records: list[bytes]) -> bytes:
    if len(records) > ef.record_count:
        raise ValueError(f"{ef.name}: {len(records)} records, the file holds {ef.record_count}")
    padded = [r.ljust(ef.record_length, b"\xff") for r in records]
    return b"".join(padded + [b"\xff" * ef.record_length] * (ef.record_count - len(records)))


def _size(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


@dataclass
class _Ctx:
    model: CardModel
    kinds: dict[str, str | None] = field(default_factory=dict)  # DF path -> template kind

    def arr_fid(self, e: Entry) -> int:
        """The EF.ARR an EF refers to: its ADF's own, otherwise the MF's (as the emulator's FCPs)."""
        for p in reversed(e.parents):
            if p.aid is not None and any(c.name == "EF.ARR" for c in p.children):
                return next(c.fid for c in p.children if c.name == "EF.ARR")
        return next(c.fid for c in self.model.fs.root.children if c.name == "EF.ARR")

    def fid_path(self, df_path: str) -> bytes:
        """A DF's path for filePath: FIDs below the MF, an ADF by its temporary FID."""
        out = b""
        parts = df_path.split("/")
        for i in range(1, len(parts)):
            path = "/".join(parts[: i + 1])
            df = self.model.fs[path].df
            kind = self.kinds.get(path)
            fid = L.DF_KINDS[kind].temp_fid if kind and L.DF_KINDS[kind].temp_fid else None
            out += (fid or df.fid).to_bytes(2, "big")
        return out


def ef_fcp(ctx: _Ctx, e: Entry) -> dict[str, Any]:
    ef = e.ef
    fd = bytes([FDB[ef.structure], DATA_CODING])
    if ef.is_record:
        fd += ef.record_length.to_bytes(2, "big")
    return {
        "fileDescriptor": fd,
        "fileID": ef.fid.to_bytes(2, "big"),
        "securityAttributesReferenced": ctx.arr_fid(e).to_bytes(2, "big") + bytes([ctx.model.fs.arr_record(ef)]),
        "efFileSize": _size(ef.body_size),
        "shortEFID": bytes([ef.sfi << 3]) if ef.sfi is not None else b"",
    }


def df_fcp(ctx: _Ctx, e: Entry) -> dict[str, Any]:
    df = e.df
    kind = ctx.kinds.get(e.path)
    temp = L.DF_KINDS[kind].temp_fid if kind else None
    fcp: dict[str, Any] = {"fileDescriptor": DF_FDB, "fileID": (temp or df.fid).to_bytes(2, "big")}
    if df.aid is not None:
        fcp["dfName"] = df.aid
    # DFs take the "read always, update ADM1" rule of the MF's EF.ARR (the rule EF.DIR has).
    rule = ctx.model.fs.arr_record(ctx.model.fs["MF/EF.DIR"].ef)
    fcp["securityAttributesReferenced"] = bytes([rule])
    local = bytes([PIN2]) if df.aid is not None else b""
    fcp["pinStatusTemplateDO"] = bytes([PIN1]) + local + bytes([ADM1])
    return fcp


def build(profile: Profile, identity: Identity, *, algorithm: str = "milenage",
          model: CardModel = SAIP_PACKAGE) -> bytes:
    """The DER package for `identity` under `profile`. Raises InputError when the profile does not fit."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    files = package_image(profile, identity, model)
    fs = model.fs
    ctx = _Ctx(model)
    for d in fs.dfs():
        parent = d.path.rsplit("/", 1)[0] if "/" in d.path else None
        ctx.kinds[d.path] = L.df_kind(d, ctx.kinds.get(parent) if parent else None)

    elements: dict[str, dict[str, Any]] = {}  # template element -> its fields
    gfm: dict[str, list[tuple[str, Any]]] = {"MF": [], "NAA": []}  # MF-level and NAA-level commands
    for d in fs.dfs():
        kind = ctx.kinds[d.path]
        if kind is not None:
            spec = L.DF_KINDS[kind]
            el = elements.setdefault(spec.element, {"templateID": spec.template})
            el[spec.field] = [("fileDescriptor", df_fcp(ctx, d))]
        else:
            parent = d.path.rsplit("/", 1)[0]
            cmds = gfm["NAA" if _in_naa(ctx, d.path) else "MF"]
            cmds += [("filePath", ctx.fid_path(parent)), ("createFCP", df_fcp(ctx, d))]
        for child in d.df.children:
            cpath = f"{d.path}/{child.name}"
            if cpath not in files:
                continue
            e = fs[cpath]
            body = files[cpath]
            target = L.FILE_FIELDS.get(kind or "", {}).get(e.ef.fid)
            if target is not None:
                el = elements.setdefault(target[0], {"templateID": _template(target[0])})
                el[target[1]] = [("fileDescriptor", ef_fcp(ctx, e)), ("fillFileContent", body)]
            else:
                cmds = gfm["NAA" if _in_naa(ctx, cpath) else "MF"]
                cmds += [("filePath", ctx.fid_path(d.path)), ("createFCP", ef_fcp(ctx, e)),
                         ("fillFileContent", body)]

    pes: list[tuple[str, dict[str, Any]]] = []
    services = {"usim": None, ("milenage" if algorithm == "milenage" else "tuak128"): None}
    if "isim" in elements:
        services["isim"] = None
    gfste = [elements[k]["templateID"] for k in ("mf", "usim", "opt-usim", "gsm-access", "df-5gs", "isim", "opt-isim")
             if k in elements]
    pes.append(("header", {"major-version": HEADER_VERSION[0], "minor-version": HEADER_VERSION[1],
                           "profileType": PROFILE_TYPE, "iccid": iccid_header_bytes(identity.iccid),
                           "eUICC-Mandatory-services": services, "eUICC-Mandatory-GFSTEList": gfste}))
    pes.append(("mf", elements["mf"]))
    pin1_attr = PIN_ENABLED if profile.pin1_enabled else PIN_DISABLED
    pes.append(("pukCodes", {"pukCodes": [
        {"keyReference": PUK1, "pukValue": C.pin_encode(identity.puk1), "maxNumOfAttemps-retryNumLeft":
         retries(model.puk_tries)},
        {"keyReference": PUK2, "pukValue": C.pin_encode(identity.puk2), "maxNumOfAttemps-retryNumLeft":
         retries(model.puk_tries)}]}))
    pes.append(("pinCodes", {"pinCodes": ("pinconfig", [
        {"keyReference": PIN1, "pinValue": C.pin_encode(identity.pin1), "unblockingPINReference": PUK1,
         "pinAttributes": pin1_attr, "maxNumOfAttemps-retryNumLeft": retries(model.pin_tries)},
        {"keyReference": ADM1, "pinValue": bytes(identity.adm1), "pinAttributes": PIN_ENABLED,
         "maxNumOfAttemps-retryNumLeft": retries(model.adm_tries)}])}))
    if gfm["MF"]:
        pes.append(("genericFileManagement", {"fileManagementCMD": [gfm["MF"]]}))
    pes.append(("usim", elements["usim"]))
    if "opt-usim" in elements:
        pes.append(("opt-usim", elements["opt-usim"]))
    pes.append(("pinCodes", {"pinCodes": ("pinconfig", [
        {"keyReference": PIN2, "pinValue": C.pin_encode(identity.pin2), "unblockingPINReference": PUK2,
         "pinAttributes": PIN_ENABLED, "maxNumOfAttemps-retryNumLeft": retries(model.pin_tries)}])}))
    aka = ("akaParameter", {"algoConfiguration": ("algoParameter", {
        "algorithmID": ALGORITHMS[algorithm], "algorithmOptions": MILENAGE_OPTIONS,
        "key": bytes(identity.ki), "opc": bytes(identity.opc)})})
    pes.append(aka)
    for kind in ("gsm-access", "df-5gs"):
        if kind in elements:
            pes.append((kind, elements[kind]))
    if gfm["NAA"]:
        pes.append(("genericFileManagement", {"fileManagementCMD": [gfm["NAA"]]}))
    if "isim" in elements:
        pes.append(("isim", elements["isim"]))
        if "opt-isim" in elements:
            pes.append(("opt-isim", elements["opt-isim"]))
        pes.append(("pinCodes", {"pinCodes": ("filePath", ctx.fid_path(_adf_path(ctx, "usim")))}))
        pes.append(aka)  # the ISIM authenticates with the same K/OPc (as the TS.48 profiles do)
    pes.append(("end", {}))
    out = bytearray()
    for i, (kind, value) in enumerate(pes):
        if kind != "header":  # the ProfileHeader has no PE header; the others are numbered from 1
            value = {_HEADER_FIELD.get(kind, f"{kind}-header"): {"identification": i}, **value}
        out += encode_pe(kind, value)
    return bytes(out)


_HEADER_FIELD = {
    "genericFileManagement": "gfm-header", "pinCodes": "pin-Header", "pukCodes": "puk-Header",
    "akaParameter": "aka-header", "end": "end-header", "opt-usim": "optusim-header", "opt-isim": "optisim-header",
}


def _template(element: str) -> str:
    for spec in L.DF_KINDS.values():
        if spec.element == element:
            return spec.template
        if spec.optional == element and spec.optional_template:
            return spec.optional_template
    raise KeyError(element)


def _in_naa(ctx: _Ctx, path: str) -> bool:
    parts = path.split("/")
    return any(ctx.kinds.get("/".join(parts[: i + 1])) in ("usim", "isim") for i in range(1, len(parts)))


def _adf_path(ctx: _Ctx, kind: str) -> str:
    return next(p for p, k in ctx.kinds.items() if k == kind)
