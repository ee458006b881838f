"""Crash safety: `kill -9` of `batch run` at several moments, then run again. Every identity ends verified exactly
once, the cards in the feeds carry distinct ICCIDs and IMSIs that match the ledger, and the trail never shows an
identity going back to free once it was journaled `writing`. Ctrl-C lets the cards in flight finish."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import defaultdict

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.ledger import open_ledger
from tests.batch.batch_helpers import ROOT, card_files, card_ids
from tests.hardening import batchcut


def _start(d, feeds, latency_ms):
    args = [sys.executable, "-m", "simtool", "batch", "run", str(d), "--json", "--lease-ttl", "30"]
    for f in feeds:
        args += ["--reader", f"emu-feed:{f}?latency_ms={latency_ms}"]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _verified(ev):
    return ev.get("event") == "card" and ev.get("state") == "verified"


# Five kills of one 20-card batch on two trays, one after the other, each where the run itself reaches the moment
# (tests/hardening/batchcut.py kills the process there: no timing), then a clean run.
KILLS = [
    "lease:after:1",  # leased, nothing written yet
    "apdu:60",  # in the middle of the writes of both cards
    "verified:after:1",  # verified in the ledger, the card not yet out of the reader
    "apdu:200",  # read-back / authentication
    "apdu:10",  # ADM verify or the first writes, right after a restart
]


def test_kill_9_at_any_moment_then_run_again(tmp_path):
    n = 20
    fired, problems = batchcut.scenario(tmp_path, KILLS, n=n)
    assert fired == len(KILLS), f"only {fired} of the kills {KILLS} came before the run ended"
    # check_batch: every identity verified exactly once and never free again once `writing`; the cards carry
    # distinct ICCIDs and IMSIs that match the ledger, each in done/ and named by the journal; the export is
    # complete and every card authenticates with its exported keys.
    assert problems == []
    bdir = BatchDir.load(tmp_path / "b")
    with open_ledger(bdir.ledger) as ledger:
        events = list(ledger.events(bdir.batch_id))
    assert any(e.detail and "came back" in e.detail for e in events), "no card was recovered by the journal"
    per = defaultdict(list)
    for e in events:
        if e.iccid:
            per[e.iccid].append(e.state)
    assert any(states.count("writing") > 1 for states in per.values()), "no card was written twice"


def test_ctrl_c_finishes_the_cards_in_flight(make_batch, tmp_path):
    d = make_batch(12)
    # Ctrl-C at the third `writing` commit: one reader has finished its first card, both have one in flight
    proc = subprocess.Popen([sys.executable, "-m", "tests.hardening.batchcut", "--signal", "INT", "--cut",
                             "writing:after:3", "--", "batch", "run", str(d), "--json", "--lease-ttl", "30",
                             *[a for f in ("f1", "f2") for a in ("--reader", f"emu-feed:{tmp_path / f}?latency_ms=5")]],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            # as started from a terminal: a suite run in the background (`make test &`, CI
                            # runners) ignores SIGINT, the child would inherit that and Ctrl-C would do nothing
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert any(e.get("state") == "stopping" for e in lines)
    summary = lines[-1]
    assert summary["interrupted"] is True
    assert summary["counts"]["leased"] == 0 and summary["counts"]["writing"] == 0
    assert 1 <= summary["counts"]["verified"] < 12
    assert all(p.parent.name == "done" for p in card_files(tmp_path / "f1", tmp_path / "f2")
               if card_ids(p) != (None, None))


# The precise batch-level cut points (tests/hardening/batchcut.py): the same `batch run`, killed by SIGKILL at a
# chosen ledger transition, APDU or card change instead of a moment of the --json stream; `make soak` runs every
# point for every card (tests/hardening/soak.py batch_sweep).
CUT_SCENARIOS = [
    ["lease:after:1"],  # leased, nothing written
    ["lease:after:3"],  # the third lease: two cards on the way, one of them maybe verified
    ["writing:before:1"],  # ADM1 verified, `writing` not committed
    ["writing:after:1"],  # `writing` committed, no write APDU sent
    ["writing:after:2", "claim:after:1"],  # then the card that came back, claimed and not yet re-flashed
    ["apdu:20"],  # ADM1 VERIFY and the first writes of both cards
    ["apdu:100", "apdu:40"],  # in the writes, then inside the re-flash of the card that came back
    ["apdu:250"],  # read-back and AUTHENTICATE
    ["verified:before:1", "verified:before:1"],  # after the card's last APDU, twice: the re-flash too
    ["verified:after:1"],  # verified, the card still in the reader
    ["finish:after:1", "finish:after:2"],  # between cards
    ["writing:after:1", "apdu:30", "claim:after:1", "verified:before:1"],  # a recovery cut again and again
]


@pytest.mark.parametrize("cuts", CUT_SCENARIOS, ids=["+".join(c) for c in CUT_SCENARIOS])
def test_batch_level_cut_points(cuts, tmp_path):
    fired, problems = batchcut.scenario(tmp_path, cuts, n=3)
    assert fired == len(cuts), f"only {fired} of the cuts {cuts} were reached before the run ended"
    assert problems == []


def test_batch_cut_check_sees_a_card_issued_twice(tmp_path):
    """check_batch is not blind: a copy of a verified card in another tray is an identity issued twice."""
    d, key = batchcut.make_batch(tmp_path, 2)
    feeds = [tmp_path / "f1", tmp_path / "f2"]
    assert batchcut.run(d, feeds).returncode == 0
    assert batchcut.check_batch(d, feeds, key, 2, tmp_path / "out.txt") == []
    card = card_files(*feeds)[0]
    (feeds[1] / "done").mkdir(parents=True, exist_ok=True)
    shutil.copy(card, feeds[1] / "done" / "card-000099.json")
    problems = batchcut.check_batch(d, feeds, key, 2, tmp_path / "out.txt")
    assert any("distinct ICCIDs" in p for p in problems) and any("the ledger gives to card" in p for p in problems)


@pytest.mark.parametrize("kills", [1, 3])
def test_kill_9_while_writing_then_restart_at_once_finishes_the_batch(tmp_path, kills):
    """Issue 12 item 1: the only station killed while a card is in `writing` and not yet reaped (a zombie, as a
    `kill -9`'d background job is), then started again at once with the same readers: it sees the old station
    dead, takes back its cards, and finishes the batch (leases live 30 s: no timeout helps it)."""
    n = 12
    d, key = batchcut.make_batch(tmp_path, n)
    feeds = [tmp_path / "f1", tmp_path / "f2"]
    bdir = BatchDir.load(d)
    zombies: list[subprocess.Popen] = []
    for _ in range(kills):  # each restart starts while the run before it is a zombie
        # the run kills itself right after committing `writing` for its second card (batchcut's cut point)
        proc = subprocess.Popen([sys.executable, "-m", "tests.hardening.batchcut", "--cut", "writing:after:2", "--",
                                 "batch", "run", str(d), "--json", "--lease-ttl", "30",
                                 *[a for f in feeds for a in ("--reader", f"emu-feed:{f}?latency_ms=5")]],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # dead, and left unreaped
        assert info.si_code == os.CLD_KILLED and info.si_status == signal.SIGKILL
        with open(f"/proc/{proc.pid}/stat") as fh:
            assert fh.read().rsplit(")", 1)[1].split()[0] == "Z"
        zombies.append(proc)
    with open_ledger(bdir.ledger) as ledger:
        assert ledger.counts(bdir.batch_id)["writing"] >= 1
    rerun = batchcut.run(d, feeds)
    for proc in zombies:
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout.splitlines()[-1])
    assert (summary["counts"]["verified"], summary["counts"]["writing"], summary["counts"]["leased"]) == (n, 0, 0)
    assert "other stations" not in summary["reason"]
    with open_ledger(bdir.ledger) as ledger:
        events = list(ledger.events(bdir.batch_id))
    assert any(e.detail and "is gone" in e.detail for e in events), "no lease of the dead station was taken back"
    assert batchcut.check_batch(d, feeds, key, n, tmp_path / "out.txt") == []
