"""`batch create`: check every input, allocate identities, draw per-card secrets, seal them, store the batch.

Every problem is found before anything is written (one InputError, exit 2, listing them all). The batch and
all its identities go into the ledger in one transaction: after a crash the batch is there whole or not at
all. Secrets for large batches are drawn and sealed in a small process pool (both cores), in bounded chunks,
while this process streams the rows into the ledger, so a million cards take seconds and little memory.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets as _secrets
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from simtool.batch.alloc import Allocation, allocate
from simtool.batch.batchdir import BatchDir
from simtool.batch.keys import CARD_RANDOM_BYTES, Sealer, load_transport_key, new_card_secrets
from simtool.batch.ledger import BatchRecord, default_url, now_iso, open_ledger, redact_url
from simtool.batch.vendor import VendorCards, read_vendor_file
from simtool.errors import InputError

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult

CHUNK = 5000
POOL_THRESHOLD = 20000  # below this, a pool costs more than it saves


@dataclass(repr=False)
class CreateRequest:
    """What `batch create` was asked for. `adm` and `op` are secrets: the repr leaves them out."""

    directory: str
    profile: str
    imsi_start: str
    transport_key: str | None
    count: int | None = None
    iccid_start: str | None = None
    append_luhn: bool = False
    msisdn_start: str | None = None
    adm: bytes | None = None
    adm_source: str = "--adm-hex"
    vendor_file: str | None = None
    op: bytes | None = None
    ledger: str | None = None
    workers: int | None = None
    problems: list[str] = field(default_factory=list)  # found by the caller (e.g. a bad ADM1 flag): reported too

    def __repr__(self) -> str:
        return f"CreateRequest({self.directory}, profile={self.profile}, count={self.count})"


@dataclass
class CreateResult:
    batch: BatchRecord
    directory: str
    ledger: str
    ranges: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    # The card model is known per card (its ATR) only when the batch runs: what fitting the profile to
    # each known model does, and which models' cards it cannot go on (`profile.permodel`).
    fit: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        b = self.batch
        return {"batch": b.id, "directory": self.directory, "ledger": redact_url(self.ledger), "count": b.count,
                "profile": b.profile_name, "profile_sha256": b.profile_sha256, "kcv": b.kcv,
                "simtool_version": b.simtool_version, "adm": b.adm_mode, "preprinted_iccids": b.preprinted,
                **self.ranges, "fit": self.fit}


# -- the secret generator (runs in pool workers or in this process) -------------------------------------------
_G: dict[str, Any] = {}


def _init(key: bytes, alloc: Allocation, op: bytes | None, adms: list[bytes] | bytes) -> None:
    _G.update(sealer=Sealer(key), alloc=alloc, op=op, adms=adms)


_T = TypeVar("_T")
_Row = tuple[int, str, str, str | None, bytes]  # seq, iccid, imsi, msisdn, sealed secrets


def _chunk(bounds: tuple[int, int]) -> list[_Row]:
    """Rows (seq, iccid, imsi, msisdn, sealed secrets) for cards start..end-1."""
    start, end = bounds
    sealer: Sealer = _G["sealer"]
    alloc: Allocation = _G["alloc"]
    op, adms = _G["op"], _G["adms"]
    raw = os.urandom((end - start) * CARD_RANDOM_BYTES)
    out: list[_Row] = []
    for j, i in enumerate(range(start, end)):
        adm = adms if isinstance(adms, bytes) else adms[i]
        card, nonce = new_card_secrets(adm, op, raw[j * CARD_RANDOM_BYTES : (j + 1) * CARD_RANDOM_BYTES])
        iccid = alloc.iccid(i)
        out.append((i, iccid, alloc.imsi(i), alloc.msisdn(i), sealer.seal(card.pack(), iccid, nonce)))
    return out


def _rows(key: bytes, alloc: Allocation, op: bytes | None, adms: list[bytes] | bytes,
          workers: int) -> Iterator[_Row]:
    bounds = [(s, min(s + CHUNK, alloc.count)) for s in range(0, alloc.count, CHUNK)]
    if workers <= 1 or alloc.count < POOL_THRESHOLD:
        _init(key, alloc, op, adms)
        try:
            for b in bounds:
                yield from _chunk(b)
        finally:
            _G.clear()
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with ctx.Pool(workers, initializer=_init, initargs=(key, alloc, op, adms)) as pool:
        pending: deque[AsyncResult[list[_Row]]] = deque()
        todo = iter(bounds)
        for b in todo:  # keep a few chunks in flight: memory stays flat however large the batch
            pending.append(pool.apply_async(_chunk, (b,)))
            if len(pending) >= 2 * workers + 2:
                break
        while pending:
            rows = pending.popleft().get()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.apply_async(_chunk, (nxt,)))
            yield from rows


# -- the command ------------------------------------------------------------------------------------------------
def _load_profile(path: str) -> Any:
    from simtool.profile.capacity import capacities_for_model
    from simtool.profile.load import ProfileError, validate_bytes
    from simtool.profile.yamlsrc import MAX_PROFILE_BYTES

    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PROFILE_BYTES + 1)  # validate_bytes refuses a larger one, located
    except OSError as e:
        raise InputError(f"--profile {path}: cannot read: {e.strerror}") from None
    profile, errors, warnings = validate_bytes(raw, path, capacities_for_model())
    if profile is None:
        raise ProfileError(errors, warnings)
    return profile


def create_batch(req: CreateRequest) -> CreateResult:
    import time

    import simtool

    t0 = time.perf_counter()
    problems: list[str] = list(req.problems)

    def collect(fn: Callable[..., _T], *args: Any) -> _T | None:
        try:
            return fn(*args)
        except InputError as e:
            problems.extend(e.errors)
            return None

    key = collect(load_transport_key, req.transport_key)
    profile = collect(_load_profile, req.profile)
    vendor: VendorCards | None = None
    if req.vendor_file is not None:
        if req.adm is not None:
            problems.append(f"{req.adm_source}: give the ADM1 key or --input FILE, not both")
        vendor = collect(read_vendor_file, req.vendor_file)
    elif req.adm is None and not any(p.startswith(("--adm-hex", "--adm-file")) for p in req.problems):
        problems.append("ADM1: give --adm-hex HEX, --adm-file FILE or --input vendor.csv (the vendor's keys)")
    count = req.count
    preprinted = vendor.iccids if vendor is not None else None
    if vendor is not None:
        if count is None:
            count = len(vendor.adms)
        elif count != len(vendor.adms):
            problems.append(f"--count: {count}, but {vendor.path} lists {len(vendor.adms)} cards")
    elif req.vendor_file is not None:  # the file was refused: check the rest as if it had been fine
        count, preprinted = count or 1, (None if req.iccid_start else ["0" * 19] * (count or 1))
    if count is None:
        problems.append("--count: required (how many cards)")
        count = 1
    alloc = None
    if profile is not None:
        alloc, errs = allocate(count=count, imsi_start=req.imsi_start, iccid_start=req.iccid_start,
                               append_luhn=req.append_luhn, msisdn_start=req.msisdn_start,
                               plmn=(profile.home_plmn.mcc, profile.home_plmn.mnc), preprinted=preprinted)
        problems += errs
    url = req.ledger or default_url(req.directory)
    if (Path(req.directory) / "batch.json").exists():
        old = collect(BatchDir.load, req.directory)
        if old is not None and _batch_exists(old):
            problems.append(f"{req.directory}: already holds batch {old.batch_id}; use a new directory")
    if problems:
        raise InputError(problems)
    assert key is not None and alloc is not None and profile is not None

    ledger = open_ledger(url, create=True)
    try:
        iccids = list(vendor.iccids) if vendor is not None and vendor.iccids else []
        clashes = ledger.overlaps(alloc.ranges(), iccids)
        if clashes:
            raise InputError([f"{_flag(c)}: {c}" for c in clashes])
        sealer = Sealer(key)
        batch_id = f"B{time.strftime('%Y%m%d')}-{_secrets.token_hex(3).upper()}"
        adms: bytes | list[bytes]
        if vendor is None:
            assert req.adm is not None  # refused above: without a vendor file the ADM1 key is required
            adm_mode, adms, adm_source = "batch", req.adm, req.adm_source
        else:
            single = vendor.single_adm
            adm_mode = "batch" if single is not None else "per-card"
            adms, adm_source = (single if single is not None else vendor.adms), f"--input {vendor.path}"
        desc = alloc.describe()
        options = {**desc, "adm_source": adm_source, "opc": "from --op-file OP" if req.op else "random",
                   "vendor_file": vendor.path if vendor else None}
        text = profile._source_text  # exactly what was validated (no second read of a file that may change)
        record = BatchRecord(
            id=batch_id, created=now_iso(), count=alloc.count, profile_name=profile.name,
            profile_source=os.path.abspath(req.profile), profile_text=text, profile_sha256=profile.sha256,
            simtool_version=simtool.__version__, kcv=sealer.kcv, adm_mode=adm_mode,
            preprinted=vendor is not None and vendor.iccids is not None, options=options)
        bdir = BatchDir(path=req.directory, batch_id=batch_id, ledger=redact_url(url),
                        transport_key=os.path.abspath(req.transport_key) if req.transport_key else None,
                        kcv=sealer.kcv, profile=profile.name, created=record.created)
        bdir.save()  # first: a committed batch always has its directory
        workers = req.workers if req.workers is not None else min(2, os.cpu_count() or 1)
        try:
            ledger.create_batch(record, _rows(key, alloc, req.op, adms, workers), alloc.ranges(), iccids)
        except BaseException:
            (Path(req.directory) / "batch.json").unlink(missing_ok=True)
            raise
    finally:
        ledger.close()
    return CreateResult(record, req.directory, url, desc, time.perf_counter() - t0, _fit_per_model(req.profile))


def _fit_per_model(path: str) -> dict[str, Any]:
    from simtool.fs.cardmodel import MODELS
    from simtool.profile.permodel import validate_for_models

    res = validate_for_models(path, list(MODELS))
    return {"models": res["models"], "warnings": res["warnings"], "fitted": res["fitted"],
            "refused_on": res["errors"]}


def _flag(clash: str) -> str:
    return {"iccid": "--iccid-start", "imsi": "--imsi-start", "msisdn": "--msisdn-start"}.get(
        clash.split(" ", 1)[0], "--input")


def _batch_exists(bdir: BatchDir) -> bool:
    try:
        with open_ledger(bdir.ledger) as ledger:
            return ledger.batch(bdir.batch_id) is not None
    except InputError:
        return False
