"""Which files a conforming card image holds: the mandatory EFs, and the files each UST (and IST) service needs.

Pure data, cited clause by clause. TS 31.102 §4.2 marks each ADF.USIM EF "Mandatory" or "Optional"; an
optional one says "If service n°X is available, this file shall be present" (the UST, §4.2.8, tells the
terminal which services, and so which files, to expect). TS 102 221 §13 does the same for the MF.

Sources: the clause texts of TS 31.102 Rel-17 as published on itecspec.com (§4.2.3, 4.2.4, 4.2.5, 4.2.16,
4.2.25, 4.2.28, 4.2.32, 4.2.51, 4.2.52, 4.2.53, 4.2.57, 4.2.76, 4.2.77, 4.2.85, 4.2.92, 4.4.3, 4.4.11.2-11 read
for this table); /work/shared/reference/specfacts-network-esim.md §13.1 (status of the ADF.USIM EFs) and §13.2
(service -> files, from pySim's ts_31_102.py `service=` annotations, read for facts only). Where a
clause's M/O line was not reached, the entry says so.

TS 31.103 §4.2 does the same for ADF.ISIM and its service table, the IST (§4.2.7): `ISIM_MANDATORY` and
`IST_SERVICE_FILES` (clause numbers from the TS 31.103 Rel-18 table of contents on tech-invite.com; which
service needs which file from pySim's ts_31_103.py `service=` annotations, read for facts only).

    missing_files(["sms", "gsm_access"], model.fs)   # [] on a conforming model
    missing_files(["sms"], model.fs, ist=["pcscf_address"])   # an image with an ISIM, P-CSCF service on
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass

U = "MF/ADF.USIM"
GA = f"{U}/DF.GSM-ACCESS"
FG = f"{U}/DF.5GS"
ISIM = "MF/ADF.ISIM"


@dataclass(frozen=True)
class Need:
    """A file (or DF) a card must hold, and the clause that says so."""

    path: str
    clause: str


# Files every card image holds, whatever its services.
MANDATORY: tuple[Need, ...] = (
    Need("MF/EF.DIR", "TS 102 221 §13.1"),
    Need("MF/EF.ICCID", "TS 102 221 §13.2"),
    Need("MF/EF.PL", "TS 102 221 §13.3"),
    Need("MF/EF.ARR", "TS 102 221 §13.4"),
    # EF.IMSI is "Optional" only because with service 130 (SUPI as NAI) it shall not be there (§4.2.2);
    # simtool offers no service 130, so every image holds it.
    Need(f"{U}/EF.IMSI", "TS 31.102 §4.2.2 (absent only with service 130)"),
    Need(f"{U}/EF.KEYS", "TS 31.102 §4.2.3"),
    Need(f"{U}/EF.KEYSPS", "TS 31.102 §4.2.4"),
    Need(f"{U}/EF.HPPLMN", "TS 31.102 §4.2.6 (M/O line not reached; the SAIP mandatory USIM template holds it)"),
    Need(f"{U}/EF.UST", "TS 31.102 §4.2.8"),
    Need(f"{U}/EF.ACC", "TS 31.102 §4.2.15"),
    Need(f"{U}/EF.FPLMN", "TS 31.102 §4.2.16"),
    Need(f"{U}/EF.LOCI", "TS 31.102 §4.2.17"),
    Need(f"{U}/EF.AD", "TS 31.102 §4.2.18"),
    Need(f"{U}/EF.ECC", "TS 31.102 §4.2.21"),
    Need(f"{U}/EF.PSLOCI", "TS 31.102 §4.2.23"),
    Need(f"{U}/EF.START-HFN", "TS 31.102 §4.2.51"),
    Need(f"{U}/EF.THRESHOLD", "TS 31.102 §4.2.52"),
    Need(f"{U}/EF.ARR", "TS 31.102 §4.2.56"),
    Need(f"{U}/EF.NETPAR", "TS 31.102 §4.2.57 (M/O line not reached; a sysmoISIM-SJA2 and the SAIP mandatory "
                           "USIM template hold it)"),
)


def _s(clause: str, *paths: str) -> tuple[Need, ...]:
    return tuple(Need(p, f"TS 31.102 {clause}") for p in paths)


# UST service name (simtool.encoding.services) -> the files "shall be present" when it is available.
# Services not listed need no file of their own (e.g. 28 data download via SMS-PP, 33 "shall be set",
# 38 GSM security context); 22 IMG lives in DF.TELECOM, outside the USIM.
SERVICE_FILES: dict[str, tuple[Need, ...]] = {
    "local_phonebook": _s("§4.4.2", f"{U}/DF.PHONEBOOK"),
    "fdn": _s("§4.2.24, §4.2.47", f"{U}/EF.FDN", f"{U}/EF.EST"),
    "ext2": _s("§4.2.30", f"{U}/EF.EXT2"),
    "sdn": _s("§4.2.29", f"{U}/EF.SDN"),
    "ext3": _s("§4.2.31", f"{U}/EF.EXT3"),
    "bdn": _s("§4.2.42, §4.2.44, §4.2.47", f"{U}/EF.BDN", f"{U}/EF.CMI", f"{U}/EF.EST"),
    "ext4": _s("§4.2.43", f"{U}/EF.EXT4"),
    "oci_oct": _s("§4.2.34, §4.2.36", f"{U}/EF.OCI", f"{U}/EF.OCT"),
    "ici_ict": _s("§4.2.33, §4.2.35", f"{U}/EF.ICI", f"{U}/EF.ICT"),
    "sms": _s("§4.2.25, §4.2.28", f"{U}/EF.SMS", f"{U}/EF.SMSS"),
    "smsr": _s("§4.2.32", f"{U}/EF.SMSR"),
    "smsp": _s("§4.2.27", f"{U}/EF.SMSP"),
    "aoc": _s("§4.2.7, §4.2.9, §4.2.13", f"{U}/EF.ACMmax", f"{U}/EF.ACM", f"{U}/EF.PUCT"),
    "ccp2": _s("§4.2.38", f"{U}/EF.CCP2"),
    "cbmi": _s("§4.2.14", f"{U}/EF.CBMI"),
    "cbmir": _s("§4.2.22", f"{U}/EF.CBMIR"),
    "gid1": _s("§4.2.10", f"{U}/EF.GID1"),
    "gid2": _s("§4.2.11", f"{U}/EF.GID2"),
    "spn": _s("§4.2.12", f"{U}/EF.SPN"),
    "user_plmn_wact": _s("§4.2.5", f"{U}/EF.PLMNwAcT"),
    "msisdn": _s("§4.2.26", f"{U}/EF.MSISDN"),
    "emlpp": _s("§4.2.39", f"{U}/EF.eMLPP"),
    "aaem": _s("§4.2.40", f"{U}/EF.AAeM"),
    "gsm_access": _s("§4.4.3, §4.4.3.1, §4.4.3.2", GA, f"{GA}/EF.Kc", f"{GA}/EF.KcGPRS"),
    "data_download_sms_cb": _s("§4.2.20", f"{U}/EF.CBMID"),
    "est": _s("§4.2.47", f"{U}/EF.EST"),
    "acl": _s("§4.2.47, §4.2.48", f"{U}/EF.EST", f"{U}/EF.ACL"),
    "depersonalisation_keys": _s("§4.2.49", f"{U}/EF.DCK"),
    "cooperative_network_list": _s("§4.2.50", f"{U}/EF.CNL"),
    "cpbcch": _s("§4.4.3.3", f"{GA}/EF.CPBCCH"),
    "investigation_scan": _s("§4.4.3.4", f"{GA}/EF.InvScan"),
    "operator_plmn_wact": _s("§4.2.53", f"{U}/EF.OPLMNwACT"),
    "hplmn_wact": _s("§4.2.54", f"{U}/EF.HPLMNwAcT"),
    "ext5": _s("§4.2.37", f"{U}/EF.EXT5"),
    "pnn": _s("§4.2.58", f"{U}/EF.PNN"),
    "opl": _s("§4.2.59", f"{U}/EF.OPL"),
    "mbdn": _s("§4.2.60, §4.2.62", f"{U}/EF.MBDN", f"{U}/EF.MBI"),
    "mwis": _s("§4.2.63", f"{U}/EF.MWIS"),
    "cfis": _s("§4.2.64", f"{U}/EF.CFIS"),
    "spdi": _s("§4.2.66", f"{U}/EF.SPDI"),
    "mms": _s("§4.2.67, §4.2.69, §4.2.70", f"{U}/EF.MMSN", f"{U}/EF.MMSICP", f"{U}/EF.MMSUP"),
    "ext8": _s("§4.2.68", f"{U}/EF.EXT8"),
    "nia": _s("§4.2.72", f"{U}/EF.NIA"),
    "vgcs_gid_list": _s("§4.2.73, §4.2.74", f"{U}/EF.VGCS", f"{U}/EF.VGCSS"),
    "vbs_gid_list": _s("§4.2.75, §4.2.76", f"{U}/EF.VBS", f"{U}/EF.VBSS"),
    "vgcs_security": _s("§4.2.77", f"{U}/EF.VGCSCA"),
    "vbs_security": _s("§4.2.78", f"{U}/EF.VBSCA"),
    "gba": _s("§4.2.79", f"{U}/EF.GBABP"),
    "mbms_security": _s("§4.2.80, §4.2.81", f"{U}/EF.MSK", f"{U}/EF.MUK"),
    "ehplmn": _s("§4.2.84", f"{U}/EF.EHPLMN"),
    "spn_icon": _s("§4.2.87", f"{U}/EF.SPNI"),
    "pnn_icon": _s("§4.2.88", f"{U}/EF.PNNI"),
    "usim_ip_connection_params": _s("§4.2.89", f"{U}/EF.NCP-IP"),
    "eps_mm_info": _s("§4.2.91, §4.2.92", f"{U}/EF.EPSLOCI", f"{U}/EF.EPSNSC"),
    "nas_config": _s("§4.2.94", f"{U}/EF.NASCONFIG"),
    "pws_config": _s("§4.2.95", f"{U}/EF.PWS"),
    # DF.5GS (§4.4.11): each EF says "If service n°X is available, this file shall be present". Service 125
    # (SUCI calculated by the USIM) needs no file of its own but a card that computes the SUCI: the card
    # model says whether it does (`CardModel.usim_computes_suci`). 130 (SUPI as NAI) is never offered.
    "5gs_mm_info": _s("§4.4.11.2-5", FG, f"{FG}/EF.5GS3GPPLOCI", f"{FG}/EF.5GSN3GPPLOCI", f"{FG}/EF.5GS3GPPNSC",
                      f"{FG}/EF.5GSN3GPPNSC"),
    "5g_security_params": _s("§4.4.11.6", FG, f"{FG}/EF.5GAUTHKEYS"),
    "suci_privacy": _s("§4.4.11.8, §4.4.11.11", FG, f"{FG}/EF.SUCI_Calc_Info", f"{FG}/EF.Routing_Indicator"),
    "uac_access_identities": _s("§4.4.11.7", FG, f"{FG}/EF.UAC_AIC"),
    "5gs_operator_plmn_list": _s("§4.4.11.9", FG, f"{FG}/EF.OPL5G"),
}

# Files that a second service turns on only together with the first (both must be available).
SERVICE_PAIRS: dict[tuple[str, str], tuple[Need, ...]] = {
    ("ehplmn", "ehplmn_presentation_indication"): _s("§4.2.85", f"{U}/EF.EHPLMNPI"),
}


# --- ADF.ISIM (TS 31.103 §4.2) ----------------------------------------------------------------------------

# The files every ISIM holds (the §4.2 clauses of IMPI, DOMAIN, IMPU, AD and ARR say "Mandatory").
ISIM_MANDATORY: tuple[Need, ...] = (
    Need(f"{ISIM}/EF.IMPI", "TS 31.103 §4.2.2"),
    Need(f"{ISIM}/EF.DOMAIN", "TS 31.103 §4.2.3"),
    Need(f"{ISIM}/EF.IMPU", "TS 31.103 §4.2.4"),
    Need(f"{ISIM}/EF.AD", "TS 31.103 §4.2.5"),
    Need(f"{ISIM}/EF.ARR", "TS 31.103 §4.2.6"),
    Need(f"{ISIM}/EF.IST", "TS 31.103 §4.2.7 (M/O line not reached; the terminal reads the services here, and "
                           "a sysmoISIM-SJA2 and the SAIP ISIM template hold it)"),
)


def _i(clause: str, *names: str) -> tuple[Need, ...]:
    return tuple(Need(f"{ISIM}/{n}", f"TS 31.103 {clause}") for n in names)


# IST service name (simtool.encoding.services.IST_SERVICES) -> the ISIM files it needs. Services 3, 9, 11-16
# need no file of their own.
IST_SERVICE_FILES: dict[str, tuple[Need, ...]] = {
    "pcscf_address": _i("§4.2.8", "EF.P-CSCF"),
    "pcscf_discovery_local_breakout": _i("§4.2.8 (pySim annotates EF.P-CSCF with service 5)", "EF.P-CSCF"),
    "gba": _i("§4.2.9, §4.2.10, §4.2.11", "EF.GBABP", "EF.GBANL", "EF.NAFKCA"),
    "uicc_access_to_ims": _i("§4.2.16", "EF.UICCIARI"),
    "from_preferred": _i("§4.2.17", "EF.FromPreferred"),
    "ims_config_data": _i("§4.2.18", "EF.IMSConfigData"),
    "xcap_config_data": _i("§4.2.19", "EF.XCAPConfigData"),
    "webrtc_uri": _i("§4.2.20", "EF.WebRTCURI"),
    "mud_mid_config_data": _i("§4.2.21", "EF.MuDMiDConfigData"),
}

# SMS over IP needs the ISIM's own SMS files only with the SMS services on too (pySim's tuples).
IST_SERVICE_PAIRS: dict[tuple[str, str], tuple[Need, ...]] = {
    ("sms", "sm_over_ip"): _i("§4.2.12, §4.2.13", "EF.SMS", "EF.SMSS"),
    ("smsr", "sm_over_ip"): _i("§4.2.14", "EF.SMSR"),
}
IST_SERVICE_FILES["sm_over_ip"] = _i("§4.2.15", "EF.SMSP")


def _add(out: dict[str, Need], on: set[str], single: dict[str, tuple[Need, ...]],
         pairs: dict[tuple[str, str], tuple[Need, ...]]) -> None:
    for name, needs in single.items():
        if name in on:
            for n in needs:
                out.setdefault(n.path, n)
    for (a, b), needs in pairs.items():
        if a in on and b in on:
            for n in needs:
                out.setdefault(n.path, n)


def needed(services: Iterable[str], ist: Iterable[str] | None = None) -> list[Need]:
    """Mandatory files and the files `services` need, each path once, in table order; with `ist` (the image
    has an ISIM, these IST services on) the ISIM's mandatory files and the files of its services too."""
    out: dict[str, Need] = {n.path: n for n in MANDATORY}
    _add(out, set(services), SERVICE_FILES, SERVICE_PAIRS)
    if ist is not None:
        out.update({n.path: n for n in ISIM_MANDATORY if n.path not in out})
        _add(out, set(ist), IST_SERVICE_FILES, IST_SERVICE_PAIRS)
    return list(out.values())


def service_needs(service: str) -> tuple[Need, ...]:
    return SERVICE_FILES.get(service, ())


def ist_service_needs(service: str) -> tuple[Need, ...]:
    return IST_SERVICE_FILES.get(service, ())


def missing_files(services: Iterable[str], paths: Container[str], ist: Iterable[str] | None = None) -> list[Need]:
    """What a card holding `paths` lacks for a conforming image with `services` (and an ISIM with `ist`) on."""
    return [n for n in needed(services, ist) if n.path not in paths]
