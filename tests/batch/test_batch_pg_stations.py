"""Several stations, one batch, a PostgreSQL ledger (issue 8): 4 `batch run` processes with 4 emulated readers
each over one batch created once. Every identity goes to exactly one card, and the export is complete. Then the
same with one station killed (`kill -9`) half-way: the others go on, the killed one restarts with its trays
and recovers its cards, nothing is issued twice or lost.

The batch has $SIMTOOL_PG_STATION_CARDS cards (default 1000). In the first test the cards live in memory and
every station reports each verified card on its JSON event stream; in the second they live in feed
directories (a real station's cards stay in its readers when it dies), so every card can be read afterwards.
The stations get the ledger URL without its password and the password in $PGPASSWORD, as a factory would run
them (nothing for `ps` to show).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from simtool.batch.alloc import Allocation
from simtool.batch.export import read_export
from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
from simtool.batch.ledger import open_ledger, redact_url
from tests.batch.batch_helpers import ADM_HEX, ICCID0, IMSI0, PROFILE, ROOT, card_files, card_ids

CARDS = int(os.environ.get("SIMTOOL_PG_STATION_CARDS", "1000"))
STATIONS, READERS = 4, 4

pytestmark = pytest.mark.postgres


class Station:
    """One `simtool batch run` process; a thread drains its JSON event stream. With `cut` ("POINT:N", see
    tests/hardening/batchcut.py) the process kills itself (SIGKILL) the N-th time it reaches POINT."""

    def __init__(self, d: Path, url: str, password: str, readers: list[str], cut: str | None = None) -> None:
        args = ["batch", "run", str(d), "--ledger", redact_url(url), "--json", "--lease-ttl", "30"]
        for r in readers:
            args += ["--reader", r]
        pre = ["-m", "tests.hardening.batchcut", "--cut", cut, "--"] if cut else ["-m", "simtool"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PGPASSWORD": password}
        self.proc = subprocess.Popen([sys.executable, *pre, *args], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.events: list[dict] = []
        self.err = ""
        self.started = threading.Event()
        self._seen = threading.Condition()
        self._out = threading.Thread(target=self._drain, daemon=True)
        self._err = threading.Thread(target=self._drain_err, daemon=True)
        self._out.start()
        self._err.start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("{"):
                ev = json.loads(line)
                with self._seen:
                    self.events.append(ev)
                    self._seen.notify_all()
                if ev.get("event") == "run":
                    self.started.set()
        self.started.set()
        with self._seen:
            self._seen.notify_all()

    def wait_verified(self, n: int, timeout: float = 240) -> bool:
        """Until this station reported `n` verified cards (False if it ended or `timeout` went by first)."""
        with self._seen:
            return self._seen.wait_for(lambda: len(self.verified()) >= n or self.proc.poll() is not None, timeout) \
                and len(self.verified()) >= n

    def _drain_err(self) -> None:
        self.err = self.proc.stderr.read()

    @property
    def station(self) -> str | None:
        return next((e["station"] for e in self.events if e.get("event") == "run" and "station" in e), None)

    def verified(self) -> list[dict]:
        return [e for e in self.events if e.get("event") == "card" and e.get("state") == "verified"]

    def summary(self) -> dict:
        return next(e for e in reversed(self.events) if e.get("event") == "summary")

    def wait(self, timeout: float = 300) -> int:
        code = self.proc.wait(timeout)
        self._out.join(30)
        self._err.join(30)
        return code

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.wait(30)


def _create(sim, d: Path, key_file: Path, url: str) -> str:
    r = sim("batch", "create", d, "--profile", PROFILE, "--count", CARDS, "--adm-hex", ADM_HEX, "--iccid-start", ICCID0,
            "--imsi-start", IMSI0, "--msisdn-start", "+31612000001", "--transport-key", key_file, "--ledger", url,
            "--json")
    assert r.code == 0, r.err
    return r.json()["batch"]


def _check_trail(ledger, batch_id: str, iccids: list[str]) -> dict[str, list[str]]:
    """Each identity verified once; once journaled `writing`, never free or leased again."""
    per: dict[str, list[str]] = defaultdict(list)
    for e in ledger.events(batch_id):
        if e.iccid:
            per[e.iccid].append(e.state)
    assert set(per) == set(iccids)
    for iccid, states in per.items():
        assert states.count("verified") == 1, (iccid, states)
        assert not {"free", "leased"} & set(states[states.index("writing"):]), (iccid, states)
    return per


def _check_export(sim, d: Path, url: str, key_file: Path, tmp_path: Path, ledger, batch_id: str) -> None:
    out = tmp_path / "export.txt"
    r = sim("batch", "export", d, "--ledger", url, "--out", out, "--json")
    assert r.code == 0, r.err
    assert r.json()["rows"] == CARDS and r.json()["not_exported"] == {}
    key = load_transport_key(key_file)
    exp = read_export(out, key)
    rows = {r.iccid: r for r in ledger.rows(batch_id)}
    clear = list(exp.decrypt(key))
    assert sorted(c["iccid"] for c in clear) == sorted(rows) and len(clear) == CARDS
    sealer = Sealer(key)
    for c in clear:
        row = rows[c["iccid"]]
        assert (c["imsi"], c["msisdn"]) == (row.imsi, row.msisdn)
        assert c["ki"] == CardSecrets.unpack(sealer.open(row.secrets, row.iccid)).ki.hex()


def _elapsed(t0: float) -> str:
    return f"{time.monotonic() - t0:.1f} s"


def test_four_stations_share_one_batch(sim, simtool_postgres, postgres_url, key_file, tmp_path):
    t0 = time.monotonic()
    d = tmp_path / "b"
    batch_id = _create(sim, d, key_file, postgres_url)
    assert simtool_postgres.password not in (d / "batch.json").read_text()
    created = time.monotonic()
    stations = [Station(d, postgres_url, simtool_postgres.password, ["emu-feed:"] * READERS) for _ in range(STATIONS)]
    codes = [s.wait() for s in stations]
    ran = time.monotonic() - created
    assert codes == [0] * STATIONS, [(s.summary()["reason"], s.summary()["counts"], s.err[-2000:]) if s.events
                                     else s.err[-2000:] for s in stations]
    for s in stations:
        assert simtool_postgres.password not in s.err and simtool_postgres.password not in json.dumps(s.events)

    cards = [e for s in stations for e in s.verified()]  # one event per physical card that left verified
    per_station = [len(s.verified()) for s in stations]
    assert sum(per_station) == CARDS and all(per_station), per_station  # every station took part
    assert Counter(e["iccid"] for e in cards).most_common(1)[0][1] == 1  # no identity on two cards
    assert len({e["imsi"] for e in cards}) == CARDS

    with open_ledger(postgres_url) as ledger:
        assert ledger.counts(batch_id) == {"free": 0, "leased": 0, "writing": 0, "verified": CARDS, "failed": 0,
                                           "voided": 0}
        rows = {r.iccid: r for r in ledger.rows(batch_id)}
        assert {e["iccid"]: e["imsi"] for e in cards} == {i: r.imsi for i, r in rows.items()}
        per = _check_trail(ledger, batch_id, list(rows))
        assert all(states == ["leased", "writing", "verified"] for states in per.values())  # no crash: no retry
        owners = {e.station for e in ledger.events(batch_id) if e.state == "verified"}
        assert owners == {s.station for s in stations}
        _check_export(sim, d, postgres_url, key_file, tmp_path, ledger, batch_id)
    print(f"\n{STATIONS} stations x {READERS} readers, {CARDS} cards: run {ran:.1f} s "
          f"({60 * CARDS / ran:.0f} cards/min, per station {per_station}); whole test {_elapsed(t0)}")


def test_a_station_killed_half_way_recovers_its_cards(sim, simtool_postgres, postgres_url, key_file, tmp_path):
    t0 = time.monotonic()
    d = tmp_path / "b"
    batch_id = _create(sim, d, key_file, postgres_url)
    pw = simtool_postgres.password
    trays = [[tmp_path / f"station{s}" / f"tray{i}" for i in range(READERS)] for s in range(STATIONS)]
    victim_readers = [f"emu-feed:{t}" for t in trays[0]]
    # Half-way through its share of the batch, right after it committed `writing` for a card (nothing of it
    # written yet): the victim kills itself with SIGKILL (batchcut's cut, at that very transition).
    half = max(1, CARDS // STATIONS // 2)
    victim = Station(d, postgres_url, pw, victim_readers, cut=f"writing:after:{half}")
    others = [Station(d, postgres_url, pw, [f"emu-feed:{t}" for t in trays[s]]) for s in range(1, STATIONS)]

    assert victim.wait() == -signal.SIGKILL, f"the victim was not killed: {victim.err[-2000:]}"
    with open_ledger(postgres_url) as ledger:
        killed_at = ledger.counts(batch_id)
        last_event = max(e.id for e in ledger.events(batch_id))
        in_flight = [r for r in ledger.rows(batch_id, ("leased", "writing")) if r.lease_owner == victim.station]
    writing_at_kill = {r.iccid for r in in_flight if r.state == "writing"}
    assert writing_at_kill and killed_at["verified"] < CARDS, killed_at
    first_run = victim.verified()

    # The others go on without it (one more card verified after the kill), and it comes back with its trays.
    at_kill = [len(s.verified()) for s in others]
    assert any(s.wait_verified(n + 1) for s, n in zip(others, at_kill, strict=True)), "nobody went on"
    restarted = Station(d, postgres_url, pw, victim_readers)
    assert restarted.wait() == 0, restarted.err[-3000:]
    codes = [s.wait() for s in others]
    for s, code in zip(others, codes, strict=True):  # done, or done with the victim's cards still in its readers
        assert code == 0 or "wait for their cards" in s.summary()["reason"], (code, s.err[-2000:])

    with open_ledger(postgres_url) as ledger:
        assert ledger.counts(batch_id) == {"free": 0, "leased": 0, "writing": 0, "verified": CARDS, "failed": 0,
                                           "voided": 0}
        rows = {r.iccid: r for r in ledger.rows(batch_id)}
        per = _check_trail(ledger, batch_id, list(rows))
        events = list(ledger.events(batch_id))
        came_back = {e.iccid for e in events if e.station == restarted.station and e.detail
                     and "came back" in e.detail}
        assert writing_at_kill <= came_back, (writing_at_kill, came_back)  # recovered by the station that had them
        for iccid in writing_at_kill:  # re-flashed onto its own card, never leased to another
            assert per[iccid].count("leased") == 1, per[iccid]
        _check_export(sim, d, postgres_url, key_file, tmp_path, ledger, batch_id)

    # Cards (their state files, the cards' own memory): each identity on exactly one card, every card that
    # carries one is among the done ones of its station, and the victim's cards in writing are its own.
    holder: dict[str, Path] = {}
    for p in card_files(*(t for station in trays for t in station)):
        iccid, imsi = card_ids(p)
        if iccid is None and imsi is None:
            assert p.parent.name != "done", p  # a blank card may be left in a tray, never among the done ones
            continue
        assert p.parent.name == "done" and rows[iccid].imsi == imsi, p
        assert iccid not in holder, (p, holder.get(iccid))
        holder[iccid] = p
    assert set(holder) == set(rows)
    victim_cards = {i for i, p in holder.items() if tmp_path / "station0" in p.parents}
    assert writing_at_kill <= victim_cards
    assert {e["iccid"] for e in first_run + restarted.verified()} <= victim_cards
    other_cards = [e["iccid"] for s in others for e in s.verified()]
    assert sorted(other_cards) == sorted(set(holder) - victim_cards)
    others_ids = {s.station for s in others}
    after = sum(1 for e in events if e.state == "verified" and e.station in others_ids and e.id > last_event)
    assert after > 0, "the other stations did not go on after the kill"
    print(f"\nkilled at {killed_at['verified']}/{CARDS} verified with {len(writing_at_kill)} cards in writing; "
          f"victim: {len(first_run)} + {len(restarted.verified())} cards, others: {len(other_cards)}; "
          f"whole test {_elapsed(t0)}")


def test_every_batch_command_takes_a_postgres_ledger(sim, simtool_postgres, postgres_url, key_file, tmp_path):
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--count", 6, "--adm-hex", ADM_HEX, "--iccid-start", ICCID0,
            "--imsi-start", IMSI0, "--transport-key", key_file, "--ledger", postgres_url, "--json")
    assert r.code == 0, r.err
    assert r.json()["ledger"] == redact_url(postgres_url)
    r = sim("batch", "create", tmp_path / "clash", "--profile", PROFILE, "--count", 2, "--adm-hex", ADM_HEX,
            "--iccid-start", ICCID0, "--imsi-start", "204080000000100", "--transport-key", key_file,
            "--ledger", postgres_url)
    assert r.code == 2 and "overlaps batch" in r.err  # one ledger, many batches: ranges checked inside it
    r = sim("batch", "run", d, "--ledger", postgres_url, "--reader", "emu-feed:", "--max-cards", 3, "--json")
    assert r.code == 0, r.err
    iccid = Allocation(count=6, imsi_start=int(IMSI0), imsi_width=15, iccid_payload_start=int(ICCID0[:-1]),
                       iccid_payload_width=18).iccid(5)
    r = sim("batch", "void", d, iccid, "--reason", "card broken at the vendor", "--ledger", postgres_url, "--json")
    assert r.code == 0 and r.json()["state"] == "voided", r.err
    r = sim("batch", "status", d, "--ledger", postgres_url, "--json")
    assert r.code == 0 and r.json()["counts"] == {"free": 2, "leased": 0, "writing": 0, "verified": 3, "failed": 0,
                                                 "voided": 1}
    assert r.json()["voided"][0]["iccid"] == iccid
    r = sim("batch", "export", d, "--ledger", postgres_url, "--out", tmp_path / "out.txt", "--json")
    assert r.code == 0 and r.json()["rows"] == 3, r.err
    r = sim("batch", "decrypt", tmp_path / "out.txt", "--transport-key", key_file, "--json")
    assert r.code == 0 and len(r.json()["rows"]) == 3
    out = "".join(sim(*a).out for a in [("batch", "status", d, "--ledger", postgres_url)])
    assert simtool_postgres.password not in out + (d / "batch.json").read_text()
