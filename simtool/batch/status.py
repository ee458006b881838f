"""`batch status`: counts by state, failures with reasons, cards waiting to come back, and per-reader figures
taken from the audit trail (so they cover every run and every station, not just the last one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from simtool.batch.ledger import FAILED, FREE, LEASED, REFUSED, VERIFIED, VOIDED, WRITING, BatchRecord, Ledger


def _t(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def batch_status(ledger: Ledger, batch: BatchRecord) -> dict[str, Any]:
    counts = ledger.counts(batch.id)
    failures = [{"iccid": r.iccid, "imsi": r.imsi, "reason": r.reason, "updated": r.updated}
                for r in ledger.rows(batch.id, (FAILED,))]
    in_flight = [{"iccid": r.iccid, "state": r.state, "reader": r.lease_reader, "station": r.lease_owner,
                  "card": r.card_ref, "updated": r.updated}
                 for r in ledger.rows(batch.id, (LEASED, WRITING))]
    readers: dict[str, dict[str, Any]] = {}
    voided = []
    for ev in ledger.events(batch.id):
        if ev.state == VOIDED:
            voided.append({"iccid": ev.iccid, "time": ev.time, "detail": ev.detail})
        if not ev.reader or ev.state not in (LEASED, WRITING, VERIFIED, FAILED, REFUSED):
            continue
        r = readers.setdefault(ev.reader, {"reader": ev.reader, "verified": 0, "failed": 0, "refused": 0,
                                           "first": ev.time, "last": ev.time, "busy_s": 0.0})
        r["last"] = ev.time
        if ev.state in (VERIFIED, FAILED, REFUSED):
            r[ev.state] += 1
    for r in readers.values():
        span = max(_t(r["last"]) - _t(r["first"]), 1e-6)
        r["cards_per_min"] = round(60.0 * r["verified"] / span, 1) if r["verified"] else 0.0
        del r["busy_s"]
    return {
        "batch": {"id": batch.id, "created": batch.created, "count": batch.count, "profile": batch.profile_name,
                  "profile_sha256": batch.profile_sha256, "kcv": batch.kcv, "simtool_version": batch.simtool_version,
                  "adm": batch.adm_mode, "preprinted_iccids": batch.preprinted,
                  **{k: v for k, v in batch.options.items() if k.endswith(("_first", "_last"))}},
        "counts": counts,
        "left": counts[FREE] + counts[LEASED] + counts[WRITING],
        "failures": failures,
        "in_flight_or_waiting": in_flight,
        "voided": voided,
        "readers": sorted(readers.values(), key=lambda r: r["reader"]),
    }
