"""The ledger's interface: a batch, its identities and every state change, behind one `Ledger` class.

The engines (`ledger_sql.py` over SQLite or PostgreSQL) import this module; `ledger.py` opens them. So:

- every operation is one transaction that changes an identity *and* appends its event, or fails whole;
- which change is allowed is decided by the one lifecycle table (`lifecycle.py`); a caller whose lease was
  taken away (its token is stale) gets `LedgerConflict` and leaves a ``refused`` event, never a silent double
  issue;
- times are passed in (epoch seconds for leases, ISO 8601 text for events), so every engine records the
  same values and tests can control the clock;
- the ledger never sees the transport key: it stores sealed blobs and opaque text.

Identity states (DESIGN.md §5, issue 6)::

    free ─lease─► leased ─before the first write─► writing ─► verified
      ▲             │                                 │  ▲
      └─release / lease expired (nothing written)     ▼  │ the card comes back
                                                    failed
    any state but verified-in-flight ─► voided (a person, with a reason)

An identity in `writing` or `failed` may be on a card: it is never issued to another card. It waits for its
card to come back (recognised by ICCID, IMSI or the journal's `card_ref`) or for a void.
"""

from __future__ import annotations

import datetime as _dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from simtool.batch.lifecycle import (  # the states, re-exported for the ledger's users
    FAILED,
    FREE,
    LEASED,
    ON_A_CARD,
    REFUSED,
    STATES,
    TERMINAL,
    VERIFIED,
    VOIDED,
    WRITING,
    State,
)
from simtool.errors import InputError, SimtoolError

__all__ = ["EV_CREATED", "EV_EXPORTED", "EV_READER_STOP", "EV_RUN_START", "EV_RUN_STOP", "FAILED", "FREE", "LEASED",
           "ON_A_CARD", "REFUSED", "STATES", "TERMINAL", "VERIFIED", "VOIDED", "WRITING", "BatchRecord", "DamagedRow",
           "Event", "IdentityRow", "Ledger", "LedgerConflict", "LedgerError", "NewIdentity", "OverlapError", "Range",
           "State", "now_iso", "redact_url"]

# Batch-level event kinds (the `state` column of an event that names no identity).
EV_CREATED, EV_RUN_START, EV_RUN_STOP, EV_READER_STOP, EV_EXPORTED = (
    "batch-created", "run-started", "run-stopped", "reader-stopped", "exported")


class LedgerError(SimtoolError):
    """The ledger cannot be opened or used (exit 1); the message names the ledger, never a secret."""


class LedgerConflict(LedgerError):
    """A conditional state change found the identity in another state or under another lease."""


class DamagedRow(LedgerError):
    """A stored identity that cannot be read back (its sealed secrets are not a blob): names the ICCID."""

    def __init__(self, url: str, batch_id: str, iccid: str, why: str) -> None:
        super().__init__(f"ledger {url}: ICCID {iccid} of batch {batch_id}: damaged row: {why}")
        self.batch_id, self.iccid, self.why = batch_id, iccid, why


class OverlapError(InputError):
    """A new batch's ICCIDs, IMSIs or MSISDNs meet identities already in the ledger (exit 2)."""


def now_iso() -> str:
    """ISO 8601 with the local zone and milliseconds: the time format of every event (DESIGN.md §5)."""
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class BatchRecord:
    """A batch as frozen at creation: the profile's content and hash, the tool version, the key's KCV."""

    id: str
    created: str
    count: int
    profile_name: str
    profile_source: str
    profile_text: str
    profile_sha256: str
    simtool_version: str
    kcv: str
    adm_mode: str  # "batch": one vendor ADM1 for all cards; "per-card": from the vendor's file
    preprinted: bool  # the vendor set the ICCIDs: cards are matched by ICCID
    options: dict[str, Any] = field(default_factory=dict)  # ranges and sources, for status and audits


@dataclass(frozen=True)
class IdentityRow:
    """One identity as the ledger holds it; `secrets` is the sealed blob (AES-GCM, ICCID as AAD)."""

    batch_id: str
    seq: int
    iccid: str
    imsi: str
    msisdn: str | None
    state: str
    secrets: bytes
    lease_owner: str | None = None
    lease_reader: str | None = None
    lease_until: float | None = None
    card_ref: str | None = None
    attempts: int = 0
    updated: str | None = None
    reason: str | None = None
    token: int = 0  # the fencing token: moves on whenever a lease is given or taken away (lifecycle.py)

    def __repr__(self) -> str:  # the blob is sealed, but keep reprs short and obviously secret-free
        return f"IdentityRow({self.batch_id}, #{self.seq}, {self.iccid}, {self.imsi}, {self.state})"


class NewIdentity(NamedTuple):
    """A row for `create_batch`. Any 5-tuple in this order will do: millions of them stream cheaply."""

    seq: int
    iccid: str
    imsi: str
    msisdn: str | None
    secrets: bytes


@dataclass(frozen=True)
class Event:
    """One row of the append-only audit trail."""

    id: int
    time: str
    batch_id: str
    iccid: str | None
    reader: str | None
    state: str
    detail: str | None
    station: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "batch": self.batch_id, "iccid": self.iccid,
                "reader": self.reader, "state": self.state, "detail": self.detail, "station": self.station}


@dataclass(frozen=True)
class Range:
    """A consecutive range of identifiers of one kind, for overlap checks: `first`..`last` as digit text of
    equal length (ICCIDs with their check digit; MSISDNs without the '+')."""

    kind: str  # "iccid" | "imsi" | "msisdn"
    first: str
    last: str


class Ledger(ABC):
    """What batches need from a ledger. Every method is one transaction; every state change writes an event.

    `owner` names a running station (``host:pid:starttime:nonce``, `liveness.py`); `reader` names the reader
    the card is in; `ttl` is how long a lease lives without a heartbeat, in seconds; `token` is the fencing
    token of the lease (`IdentityRow.token` as `lease_next`/`claim` returned it).
    """

    url: str

    # -- batches -----------------------------------------------------------------------------------------
    @abstractmethod
    def overlaps(self, ranges: Iterable[Range], iccids: Iterable[str] = ()) -> list[str]:
        """One line per clash between the given ranges or single ICCIDs and identities already stored."""

    @abstractmethod
    def create_batch(self, batch: BatchRecord, rows: Iterable[tuple[Any, ...]], ranges: Iterable[Range],
                     iccids: Iterable[str] = ()) -> None:
        """Store the batch and all its identities (`NewIdentity` tuples, state free) in one transaction, after
        checking `ranges` and the single `iccids` (vendor-printed) for overlaps inside that transaction;
        raises OverlapError and stores nothing when they clash."""

    @abstractmethod
    def batch(self, batch_id: str) -> BatchRecord | None: ...

    @abstractmethod
    def batches(self) -> list[BatchRecord]: ...

    # -- identities --------------------------------------------------------------------------------------
    @abstractmethod
    def get(self, batch_id: str, iccid: str) -> IdentityRow | None: ...

    @abstractmethod
    def find(self, batch_id: str, *, imsi: str | None = None, card_ref: str | None = None) -> IdentityRow | None:
        """The identity a returning card holds: by IMSI, or by the journal's `card_ref` (among the states in
        which a card may hold it; the latest when a reference was reused)."""

    @abstractmethod
    def rows(self, batch_id: str, states: Iterable[str] | None = None) -> Iterator[IdentityRow]:
        """Identities in allocation order, optionally only those in `states`."""

    @abstractmethod
    def counts(self, batch_id: str) -> dict[str, int]:
        """{state: number} with every state present."""

    @abstractmethod
    def any_in(self, batch_id: str, states: Iterable[str]) -> bool:
        """Whether any identity of the batch is in one of `states` (cheap, unlike `counts` on a big batch)."""

    @abstractmethod
    def peek_free(self, batch_id: str, skip: Iterable[str] = (), limit: int = 1) -> list[IdentityRow]:
        """Free identities in allocation order without leasing them (the emulated feed uses this to print a
        vendor's ICCID on a fresh card), leaving out the ICCIDs in `skip`."""

    # -- allocation and state changes -------------------------------------------------------------------
    @abstractmethod
    def lease_next(self, batch_id: str, owner: str, reader: str, ttl: float, now: float) -> IdentityRow | None:
        """free → leased for the lowest free identity (skipping rows locked by other stations), or None. The row
        carries the lease's token. A free row whose secrets are damaged is set aside (voided, with an event
        naming its ICCID) and the next one is taken."""

    @abstractmethod
    def claim(self, batch_id: str, iccid: str, owner: str, reader: str, ttl: float, now: float,
              card_ref: str | None = None) -> IdentityRow:
        """Take the identity of a card that came back, with a new token: free or leased → leased; writing or
        failed → writing under this owner (event ``writing``, 'card came back'). Refused (LedgerConflict, and a
        ``refused`` event) for verified/voided identities or a live lease held by another owner."""

    @abstractmethod
    def heartbeat(self, owner: str, ttl: float, now: float) -> int:
        """Extend every lease of `owner`; returns how many."""

    @abstractmethod
    def release(self, iccid: str, owner: str, detail: str, *, token: int) -> None:
        """leased → free: nothing was written, the identity can go to another card."""

    @abstractmethod
    def mark_writing(self, iccid: str, owner: str, reader: str, card_ref: str | None, *, token: int) -> None:
        """leased/writing → writing, durably, before the first write APDU; only with the current token."""

    @abstractmethod
    def mark_verified(self, iccid: str, owner: str, reader: str, detail: str, *, token: int) -> None: ...

    @abstractmethod
    def mark_failed(self, iccid: str, owner: str, reader: str, reason: str, *, token: int) -> None: ...

    @abstractmethod
    def void(self, batch_id: str, iccid: str, reason: str, station: str, now: float) -> IdentityRow:
        """Any state but voided → voided, unless a live lease says a reader is on it right now."""

    @abstractmethod
    def set_aside(self, batch_id: str, iccid: str, reason: str, station: str) -> None:
        """free → voided for an identity whose stored secrets cannot be used (they do not unseal): never
        issued; the event names the ICCID and the reason."""

    @abstractmethod
    def reclaim(self, batch_id: str, now: float, dead_owners: Iterable[str] = ()) -> list[str]:
        """leased → free for expired leases and leases of owners known dead; returns their ICCIDs. Identities
        in writing are never freed (a card may hold them): for dead owners only their lease is dropped, so the
        card can be claimed at once when it comes back. Every lease taken away moves the token on."""

    @abstractmethod
    def lease_owners(self, batch_id: str) -> list[str]:
        """Distinct owners of current leases (to find dead stations on this host)."""

    # -- audit trail --------------------------------------------------------------------------------------
    @abstractmethod
    def add_event(self, batch_id: str, state: str, detail: str | None = None, *, iccid: str | None = None,
                  reader: str | None = None, station: str | None = None) -> None: ...

    @abstractmethod
    def events(self, batch_id: str, iccid: str | None = None) -> Iterator[Event]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def redact_url(url: str) -> str:
    """The URL without a password (in the user part, or libpq's ``?password=``), for batch.json, events and
    messages."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in query):
        parts = parts._replace(query=urlencode([(k, v) for k, v in query if k != "password"]))
        url = urlunsplit(parts)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
