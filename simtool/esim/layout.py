"""Where each file of the card image goes in a profile package: one declared table, read by build and inspect.

A DF of our tree is one of the template DFs of the TCA Interoperable Format (recognised by its AID or by
its FID under the USIM), and each file of such a DF is a named field of a profile element (by FID).
Every DF or file the table does not name goes into a GenericFileManagement element at its path, so a
file `render` gains (issue 16's DF.5GS and ADF.ISIM files) lands in its element, or at least in the
package, without code here changing.
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.fs.model import Entry

OID = "2.23.143.1.2"  # tca(143) euicc-profile(1) templates(2): Interoperable Format annex A


@dataclass(frozen=True)
class DfKind:
    """A template DF: the element creating it, its template, the element's field for the DF itself, the
    element for its optional files (and that template), and the temporary FID used in paths (ADFs)."""

    element: str
    template: str
    field: str
    optional: str | None = None
    optional_template: str | None = None
    temp_fid: int | None = None


DF_KINDS: dict[str, DfKind] = {
    "mf": DfKind("mf", f"{OID}.1", "mf"),
    "usim": DfKind("usim", f"{OID}.4", "adf-usim", "opt-usim", f"{OID}.5", temp_fid=0x7FD0),
    "gsm-access": DfKind("gsm-access", f"{OID}.7", "df-gsm-access"),
    "5gs": DfKind("df-5gs", f"{OID}.13", "df-df-5gs"),
    "isim": DfKind("isim", f"{OID}.8", "adf-isim", "opt-isim", f"{OID}.9", temp_fid=0x7FB0),
}

# ADFs by AID prefix (RID A000000087 + application code, TS 31.102 / 31.103), DFs by FID under an ADF.
ADF_AIDS = {bytes.fromhex("A0000000871002"): "usim", bytes.fromhex("A0000000871004"): "isim"}
SUB_DFS = {("usim", 0x5F3B): "gsm-access", ("usim", 0x5FC0): "5gs"}

# (DF kind, EF FID) -> (element, field). "opt" means the DF kind's optional-files element.
_USIM = {
    0x6F07: "ef-imsi", 0x6F06: "ef-arr", 0x6F08: "ef-keys", 0x6F09: "ef-keysPS", 0x6F31: "ef-hpplmn",
    0x6F38: "ef-ust", 0x6F3B: "ef-fdn", 0x6F3C: "ef-sms", 0x6F42: "ef-smsp", 0x6F43: "ef-smss",
    0x6F46: "ef-spn", 0x6F56: "ef-est", 0x6F5B: "ef-start-hfn", 0x6F5C: "ef-threshold", 0x6F73: "ef-psloci",
    0x6F78: "ef-acc", 0x6F7B: "ef-fplmn", 0x6F7E: "ef-loci", 0x6FAD: "ef-ad", 0x6FB7: "ef-ecc",
    0x6FC4: "ef-netpar", 0x6FE3: "ef-epsloci", 0x6FE4: "ef-epsnsc",
}
_OPT_USIM = {
    0x6F05: "ef-li", 0x6F37: "ef-acmax", 0x6F39: "ef-acm", 0x6F3E: "ef-gid1", 0x6F3F: "ef-gid2",
    0x6F40: "ef-msisdn", 0x6F41: "ef-puct", 0x6F45: "ef-cbmi", 0x6F48: "ef-cbmid", 0x6F49: "ef-sdn",
    0x6F50: "ef-cbmir", 0x6F60: "ef-plmnwact", 0x6F61: "ef-oplmnwact", 0x6F62: "ef-hplmnwact",
    0x6F47: "ef-smsr", 0x6F57: "ef-acl", 0x6FC5: "ef-pnn", 0x6FC6: "ef-opl", 0x6FCD: "ef-spdi",
    0x6FD9: "ef-ehplmn", 0x6FDA: "ef-gbanl", 0x6FD6: "ef-gbabp",
}
_ISIM = {0x6F02: "ef-impi", 0x6F04: "ef-impu", 0x6F03: "ef-domain", 0x6F07: "ef-ist", 0x6FAD: "ef-ad",
         0x6F06: "ef-arr"}
_OPT_ISIM = {
    0x6F09: "ef-pcscf", 0x6F3C: "ef-sms", 0x6F42: "ef-smsp", 0x6F43: "ef-smss", 0x6F47: "ef-smsr",
    0x6FD5: "ef-gbabp", 0x6FD7: "ef-gbanl", 0x6FDD: "ef-nafkca", 0x6FE7: "ef-uicciari",
    0x6FF7: "ef-frompreferred", 0x6FF8: "ef-imsconfigdata", 0x6FFC: "ef-xcapconfigdata",
    0x6FFA: "ef-webrtcuri", 0x6FFE: "ef-mudmidconfigdata",
}
# TS 31.102 §4.4.11: DF.5GS files 4F01..4F0C in the order of PE-DF-5GS's fields.
_5GS = dict(zip(range(0x4F01, 0x4F0D), (
    "ef-5gs3gpploci", "ef-5gsn3gpploci", "ef-5gs3gppnsc", "ef-5gsn3gppnsc", "ef-5gauthkeys", "ef-uac-aic",
    "ef-suci-calc-info", "ef-opl5g", "ef-supinai", "ef-routing-indicator", "ef-ursp", "ef-tn3gppsnn"), strict=True))

FILE_FIELDS: dict[str, dict[int, tuple[str, str]]] = {
    "mf": {0x2F05: ("mf", "ef-pl"), 0x2FE2: ("mf", "ef-iccid"), 0x2F00: ("mf", "ef-dir"), 0x2F06: ("mf", "ef-arr")},
    "usim": {**{f: ("usim", n) for f, n in _USIM.items()}, **{f: ("opt-usim", n) for f, n in _OPT_USIM.items()}},
    "gsm-access": {0x4F20: ("gsm-access", "ef-kc"), 0x4F52: ("gsm-access", "ef-kcgprs")},
    "5gs": {f: ("df-5gs", n) for f, n in _5GS.items()},
    "isim": {**{f: ("isim", n) for f, n in _ISIM.items()}, **{f: ("opt-isim", n) for f, n in _OPT_ISIM.items()}},
}

# Element order in a package (as the TS.48 profiles have it): header, the MF and its PINs, the MF's other
# DFs, then each NAA with its optional files, PINs, AKA parameters and sub-DFs, then the end.
ORDER = ("header", "mf", "pukCodes", "pinCodes", "genericFileManagement", "usim", "opt-usim", "pinCodes",
         "akaParameter", "gsm-access", "df-5gs", "genericFileManagement", "isim", "opt-isim", "pinCodes",
         "end")


def df_kind(entry: Entry, parent_kind: str | None) -> str | None:
    """The template DF kind of a DF of our tree, or None for a DF the templates do not define."""
    df = entry.df
    if entry.path == "MF":
        return "mf"
    if df.aid is not None:
        return next((k for prefix, k in ADF_AIDS.items() if df.aid.startswith(prefix)), None)
    return SUB_DFS.get((parent_kind or "", df.fid))
