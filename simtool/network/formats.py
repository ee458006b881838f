"""The clear formats `batch decrypt --format` writes, in one place: what each network-side system reads.

- `csv` (default) and `json`: simtool's own clear rows (docs/export-format.md), unchanged since issue 6.
- `pysim`: the card-data CSV osmocom's pySim-shell reads with `--csv` (CardKeyProviderCsv: upper-cased column
  names, looked up by ICCID). ADM1 is written as 16 hex digits: pySim's `verify_adm` takes a value longer than
  8 characters as hex (`sanitize_pin_adm(None, value)`), while 8 or fewer would be taken as ASCII digits.
- `osmo-hlr`: VTY command blocks (`simtool.network.osmohlr.script`).
- `open5gs`: one subscriber document per line (what `mongoimport` reads by default; specfacts-network-esim
  §11), with the plan's APNs as sessions of the default slice and its AMBR, from the batch's profile.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from simtool.batch.export import COLUMNS
from simtool.errors import InputError
from simtool.network.cards import BATCH_ALGORITHM, Card, Cards
from simtool.network.osmohlr import Algorithm, hlr_msisdn, script

FORMATS = ("csv", "json", "pysim", "osmo-hlr", "open5gs")
NEEDS_PROFILE = frozenset({"open5gs"})
# pySim's column name → ours (pySim's own test data names the OTA keys KIC1/KID1).
PYSIM_COLUMNS = {"ICCID": "iccid", "IMSI": "imsi", "MSISDN": "msisdn", "KI": "ki", "OPC": "opc", "ADM1": "adm1",
                 "PIN1": "pin1", "PUK1": "puk1", "PIN2": "pin2", "PUK2": "puk2", "KIC1": "kic", "KID1": "kid"}

# open5gs: what `open5gs-dbctl add` and the WebUI write besides the keys (§11).
OPEN5GS_AMF = "8000"
OPEN5GS_SST = 1
OPEN5GS_SESSION_TYPE = 3  # IPv4v6
OPEN5GS_QOS = {"index": 9, "arp": {"priority_level": 8, "pre_emption_capability": 1, "pre_emption_vulnerability": 2}}
OPEN5GS_FIXED = {"access_restriction_data": 32, "subscriber_status": 0, "operator_determined_barring": 0,
                 "network_access_mode": 0, "subscribed_rau_tau_timer": 12}


def clear_row(card: Card) -> dict[str, str]:
    """The row `ExportFile.decrypt` gives: keys lowercase hex, PINs as digits, no MSISDN as ""."""
    return {"iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn or "",
            "pin1": card.pin1, "puk1": card.puk1, "pin2": card.pin2, "puk2": card.puk2,
            "ki": card.ki.hex(), "opc": card.opc.hex(), "adm1": card.adm1.hex(), "kic": card.kic.hex(),
            "kid": card.kid.hex()}


def write_csv(cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    buf = io.StringIO()
    buf.write("".join(f"# {k}: {v}\n" for k, v in cards.header.items()))
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for c in cards.cards:
        row = clear_row(c)
        w.writerow([row[k] for k in COLUMNS])
    return buf.getvalue()


def write_json(cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    return json.dumps({"header": cards.header, "rows": [clear_row(c) for c in cards.cards]}, indent=2) + "\n"


def write_pysim(cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    """No comment lines: pySim's csv.DictReader would take the first line as the column names."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PYSIM_COLUMNS)
    for c in cards.cards:
        row = clear_row(c)
        w.writerow([row[ours] for ours in PYSIM_COLUMNS.values()])
    return buf.getvalue()


def write_osmo_hlr(cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    head = [f"simtool batch {cards.batch}: {len(cards.cards)} subscribers for osmo-hlr",
            f"profile {cards.profile} (sha256 {cards.profile_sha256}), from {cards.source}",
            "This file holds every card's K and OPc: keep it as the export's clear rows are kept (0600)."]
    return script([c.subscriber(algorithm) for c in cards.cards], head)


def ambr_doc(kbps: int) -> dict[str, int]:
    """open5gs' {value, unit}: bit/s = value x 1000^unit; the largest unit that keeps the value exact."""
    value, unit = kbps, 1
    while value % 1000 == 0 and unit < 4:
        value, unit = value // 1000, unit + 1
    return {"value": value, "unit": unit}


def open5gs_document(card: Card, profile: Any, algorithm: Algorithm = BATCH_ALGORITHM) -> dict[str, Any]:
    if algorithm != "milenage":
        raise InputError(f"--format open5gs: open5gs authenticates with Milenage only; this batch is {algorithm}")
    rates = profile.plan.ambr
    ambr = {"downlink": ambr_doc(rates.downlink_kbps), "uplink": ambr_doc(rates.uplink_kbps)}
    msisdn = hlr_msisdn(card.msisdn)
    return {
        "schema_version": 1,
        "imsi": card.imsi,
        "msisdn": [msisdn] if msisdn else [],
        "security": {"k": card.ki.hex(), "opc": card.opc.hex(), "op": None, "amf": OPEN5GS_AMF,
                     "sqn": {"$numberLong": "0"}},  # int64, as lib/dbi reads it (an int32 there is ignored)
        "ambr": ambr,
        "slice": [{"sst": OPEN5GS_SST, "default_indicator": True,
                   "session": [{"name": apn, "type": OPEN5GS_SESSION_TYPE, "qos": OPEN5GS_QOS, "ambr": ambr}
                               for apn in profile.apns]}],
        **OPEN5GS_FIXED,
    }


def check_profile(cards: Cards, profile: Any, fmt: str) -> None:
    """The profile given must be the one the batch was made with, and hold what the format needs."""
    if profile is None:
        raise InputError(f"--format {fmt}: give the batch's profile with --profile (the APN and the rates come "
                         "from it)")
    if profile.sha256 != cards.profile_sha256:
        raise InputError(f"--profile {profile.source_name}: sha256 {profile.sha256} is not the batch's profile "
                         f"(profile_sha256 {cards.profile_sha256} in {cards.source})")
    if fmt == "open5gs" and profile.plan.ambr is None:
        raise InputError(f"{profile.source_name}: plan.ambr: the profile states no rates "
                         "(plan: ambr: {downlink_kbps: N, uplink_kbps: N}), which open5gs needs")


def write_open5gs(cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    check_profile(cards, profile, "open5gs")
    return "".join(json.dumps(open5gs_document(c, profile, algorithm), separators=(",", ":")) + "\n"
                   for c in cards.cards)


WRITERS: dict[str, Callable[..., str]] = {"csv": write_csv, "json": write_json, "pysim": write_pysim,
                                          "osmo-hlr": write_osmo_hlr, "open5gs": write_open5gs}


def render(fmt: str, cards: Cards, profile: Any = None, algorithm: Algorithm = BATCH_ALGORITHM) -> str:
    """The file text of one format; InputError for an unknown format or a profile that does not fit."""
    writer = WRITERS.get(fmt)
    if writer is None:
        raise InputError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
    if profile is not None and fmt not in NEEDS_PROFILE:
        check_profile(cards, profile, fmt)
    return writer(cards, profile, algorithm)
