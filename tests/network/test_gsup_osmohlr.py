"""The network side against the real thing: osmo-hlr (simtool.testing.osmohlr) authenticates our cards over our
own GSUP. A 20-card batch loaded with `hlr load DIR`, run on emulated readers with `--gsup`, exported,
decrypted to the osmo-hlr format and replayed (twice) into a second, fresh osmo-hlr; every card passes
`auth --gsup` on both; a replayed vector makes the card answer AUTS and osmo-hlr resynchronises; a card with
a wrong Ki fails (exit 1, MAC failure); an unknown IMSI fails; a card the HLR refuses in a run is `failed` with
its reason; an HLR killed mid-run stops the run (exit 3) with the cards in flight recoverable."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.feed import open_source
from simtool.batch.keys import load_transport_key
from simtool.batch.ledger import open_ledger
from simtool.batch.runner import Runner, RunOptions
from simtool.cli.main import main
from simtool.gsup import GsupClient
from simtool.gsup.message import AuthTuple
from simtool.network.vty import VtyClient
from simtool.personalize.auth import select_usim
from simtool.personalize.hlrauth import authenticate_with_hlr, read_imsi
from simtool.transport import open_reader

ROOT = Path(__file__).resolve().parents[2]
PROFILE = str(ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml")
ADM_HEX = "3131313131313131"
ICCID0, IMSI0, MSISDN0 = "8931080000000000019", "204080000000001", "+31612000001"


@pytest.fixture
def sim(capsys) -> Callable[..., tuple[int, str, str]]:
    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    return run


@pytest.fixture
def batch(tmp_path, sim) -> Callable[[int], tuple[Path, Path]]:
    def make(count: int) -> tuple[Path, Path]:
        key, d = tmp_path / "tk", tmp_path / "b"
        assert sim("keys", "new", key)[0] == 0
        code, _, err = sim("batch", "create", d, "--profile", PROFILE, "--count", count, "--adm-hex", ADM_HEX,
                           "--iccid-start", ICCID0, "--imsi-start", IMSI0, "--msisdn-start", MSISDN0,
                           "--transport-key", key)
        assert code == 0, err
        return d, key
    return make


def _load(sim, d: Path, key: Path, hlr) -> dict:
    code, out, err = sim("hlr", "load", d, "--transport-key", key, "--osmo-hlr-vty", hlr.vty_address, "--json")
    assert code == 0, err
    return json.loads(out)


def _subscribers(hlr) -> dict[str, str]:
    """IMSI → the `show subscriber` text of every subscriber in this osmo-hlr (its key lines included)."""
    with VtyClient(*hlr.vty) as vty:
        vty.enable()
        listing = vty.command("show subscribers all")
        imsis = re.findall(r"\b(\d{15})\b", listing)
        shows = vty.commands([f"subscriber imsi {i} show" for i in imsis])
    return dict(zip(imsis, shows, strict=True))


def _fields(show: str) -> tuple[str | None, ...]:
    def one(name: str) -> str | None:
        found = re.search(rf"{name}[:=]\s*(\S+)", show)
        return found.group(1) if found else None
    return one("MSISDN"), one("K"), one("OPC")


def _run(sim, d: Path, key: Path, hlr, *readers: str) -> tuple[int, list[dict]]:
    args = [a for r in readers for a in ("--reader", r)]
    code, out, err = sim("batch", "run", d, *args, "--transport-key", key, "--gsup", hlr.gsup_address, "--json")
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_batch_through_osmo_hlr_end_to_end(sim, batch, osmo_hlr_factory, tmp_path):
    d, key = batch(20)
    hlr = osmo_hlr_factory()
    assert _load(sim, d, key, hlr)["created"] == 20
    trays = [tmp_path / "t1", tmp_path / "t2"]
    code, events = _run(sim, d, key, hlr, *(f"emu-feed:{t}" for t in trays))
    assert code == 0, events[-1]
    summary = events[-1]
    assert summary["counts"]["verified"] == 20 and summary["counts"]["failed"] == 0
    with open_ledger(BatchDir.load(d).ledger) as ledger:
        bid = BatchDir.load(d).batch_id
        verified = [e for e in ledger.events(bid) if e.state == "verified"]
    assert len(verified) == 20
    assert all(f"authenticated by HLR at {hlr.gsup_address}" in e.detail for e in verified)

    # export, decrypt to osmo-hlr's VTY commands, replay them twice into a second, fresh osmo-hlr
    out, vtyfile = tmp_path / "b.out", tmp_path / "hlr.vty"
    assert sim("batch", "export", d, "--out", out, "--transport-key", key)[0] == 0
    code, _, err = sim("batch", "decrypt", out, "--transport-key", key, "--format", "osmo-hlr", "--out", vtyfile)
    assert code == 0, err
    assert vtyfile.stat().st_mode & 0o777 == 0o600
    lines = [ln for ln in vtyfile.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith(("!", "#"))]
    second = osmo_hlr_factory()
    with VtyClient(*second.vty) as vty:
        vty.enable()
        for _ in range(2):
            vty.commands(lines)
    first_subs, second_subs = _subscribers(hlr), _subscribers(second)
    assert len(second_subs) == 20 and set(second_subs) == set(first_subs)
    for imsi, show in first_subs.items():
        assert _fields(second_subs[imsi]) == _fields(show)
        assert None not in _fields(show)

    # every card passes the network's check on both HLRs (the second one's SQN is 0: the card resynchronises)
    cards = sorted(p for t in trays for p in (t / "done").glob("card-*.json"))
    assert len(cards) == 20
    imsis = []
    for h, resyncs in ((hlr, False), (second, True)):
        with GsupClient(*h.gsup) as client:
            for path in cards:
                with open_reader(f"emu:{path}") as reader:
                    imsi = read_imsi(reader)
                    select_usim(reader)
                    result = authenticate_with_hlr(reader, client, imsi, 2)
                    assert (result.vectors, result.resynchronised) == (2, resyncs)
                    imsis.append(imsi)
    assert sorted(set(imsis)) == sorted(first_subs)
    code, out, err = sim("auth", "--reader", f"emu:{cards[0]}", "--gsup", second.gsup_address, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["imsi"] == imsis[0] and doc["resynchronised"] is False
    assert not re.search(r"[0-9a-fA-F]{32}", out + err)  # no K, no OPc in any output


class _Replaying:
    """The HLR, except that its first answer is a vector the card has already seen."""

    def __init__(self, hlr: GsupClient, old: AuthTuple) -> None:
        self.hlr, self.old, self.where = hlr, old, hlr.where
        self.resyncs: list[tuple[bytes, bytes]] = []

    def send_auth_info(self, imsi: str, vectors: int = 1) -> list[AuthTuple]:
        if self.old is not None:
            old, self.old = self.old, None
            return [old]
        return self.hlr.send_auth_info(imsi, vectors)

    def resync(self, imsi: str, auts: bytes, rand: bytes, vectors: int = 1) -> list[AuthTuple]:
        self.resyncs.append((auts, rand))
        return self.hlr.resync(imsi, auts, rand, vectors)


@pytest.fixture
def one_card(sim, batch, osmo_hlr, tmp_path):
    """A 1-card batch loaded into osmo-hlr and flashed with `--gsup`: (card file, hlr, batch dir, key)."""
    d, key = batch(1)
    _load(sim, d, key, osmo_hlr)
    code, events = _run(sim, d, key, osmo_hlr, f"emu-feed:{tmp_path / 't'}")
    assert code == 0, events[-1]
    (card,) = (tmp_path / "t" / "done").glob("card-*.json")
    return card, osmo_hlr, d, key


def test_a_replayed_vector_gets_auts_and_osmo_hlr_resynchronises(one_card):
    card, hlr, _, _ = one_card
    with GsupClient(*hlr.gsup) as client, open_reader(f"emu:{card}") as reader:
        select_usim(reader)
        (seen,) = client.send_auth_info(IMSI0, 1)
        assert authenticate_with_hlr(reader, _Replaying(client, seen), IMSI0).resynchronised is False
        replaying = _Replaying(client, seen)
        result = authenticate_with_hlr(reader, replaying, IMSI0, 2)
    assert result.resynchronised and result.vectors == 2
    ((auts, rand),) = replaying.resyncs
    assert rand == seen.rand and len(auts) == 14


def test_a_wrong_ki_and_an_unknown_imsi_fail_with_the_reason(one_card, sim, tmp_path):
    _, hlr, _, _ = one_card
    wrong = tmp_path / "wrong.json"
    assert sim("emulator", "new", wrong, "--adm-hex", ADM_HEX)[0] == 0
    code, _, err = sim("flash", "--profile", PROFILE, "--reader", f"emu:{wrong}", "--iccid", ICCID0, "--imsi", IMSI0,
                       "--ki", "00" * 16, "--opc", "11" * 16, "--adm-hex", ADM_HEX)
    assert code == 0, err
    code, out, _ = sim("auth", "--reader", f"emu:{wrong}", "--gsup", hlr.gsup_address, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["reason"] == "MAC failure" and doc["imsi"] == IMSI0
    code, out, _ = sim("auth", "--reader", f"emu:{wrong}", "--gsup", hlr.gsup_address, "--imsi", "204089999999999",
                       "--json")
    doc = json.loads(out)
    assert code == 1 and doc["reason"] == "unknown IMSI" and doc["cause"] == 2
    assert "0000000000000000" not in out and "1111111111111111" not in out


def test_refused_flags_and_an_hlr_away(one_card, sim):
    card, hlr, _, _ = one_card
    for extra in (["--ki", "00" * 16], ["--rand", "00" * 16, "--autn", "00" * 16], ["--opc", "00" * 16]):
        code, _, err = sim("auth", "--reader", f"emu:{card}", "--gsup", hlr.gsup_address, *extra)
        assert code == 2 and "--gsup takes the vectors from the HLR" in err
    hlr.stop()
    code, out, _ = sim("auth", "--reader", f"emu:{card}", "--gsup", hlr.gsup_address, "--json")
    assert code == 3 and json.loads(out)["error"] == "HlrUnreachable"


def test_a_card_the_hlr_refuses_is_failed_with_its_reason(sim, batch, osmo_hlr, tmp_path):
    d, key = batch(3)
    _load(sim, d, key, osmo_hlr)
    gone = "204080000000002"
    with VtyClient(*osmo_hlr.vty) as vty:
        vty.enable()
        assert "Deleted" in vty.command(f"subscriber imsi {gone} delete")
    code, events = _run(sim, d, key, osmo_hlr, f"emu-feed:{tmp_path / 't'}")
    counts = events[-1]["counts"]
    assert (counts["verified"], counts["failed"]) == (2, 1)
    failed = [e for e in events if e.get("state") == "failed"]
    assert [e["imsi"] for e in failed] == [gone] and "IMSI unknown (cause 2)" in failed[0]["detail"]


def test_an_hlr_killed_mid_run_stops_it_with_the_cards_recoverable(sim, batch, osmo_hlr_factory, tmp_path):
    d, key = batch(6)
    hlr = osmo_hlr_factory()
    _load(sim, d, key, hlr)
    bdir = BatchDir.load(d)
    tray = tmp_path / "t"
    events: list[dict] = []

    def emit(ev: dict) -> None:
        events.append(ev)
        if ev.get("state") == "verified" and sum(e.get("state") == "verified" for e in events) == 2:
            hlr.process.kill()  # killed between two cards: the next card's check finds no HLR
            hlr.process.wait()

    with open_ledger(bdir.ledger) as ledger, GsupClient(*hlr.gsup, timeout=2) as client:
        batch_rec = ledger.batch(bdir.batch_id)
        runner = Runner(ledger, batch_rec, load_transport_key(key), [open_source(f"emu-feed:{tray}")],
                        RunOptions(hlr=client), emit=emit)
        summary = runner.run()
        counts = ledger.counts(bdir.batch_id)
    assert summary.exit_code == 3 and "HLR at" in summary.reason and "recoverable" in summary.reason
    assert counts["verified"] == 2 and counts["failed"] == 0 and counts["writing"] == 1
    held = [e for e in events if e.get("state") == "held"]
    assert len(held) == 1 and held[0]["iccid"] in summary.waiting
    assert len(list(tray.glob("card-*.json"))) == 1  # the held card stays in the tray, not in rejected/
    assert not list(tray.glob("rejected/*.json"))

    # the HLR is back (a fresh one, loaded again): the next run finishes the held card and the rest
    again = osmo_hlr_factory()
    _load(sim, d, key, again)
    code, evs = _run(sim, d, key, again, f"emu-feed:{tray}")
    assert code == 0, evs[-1]
    assert evs[-1]["counts"]["verified"] == 6 and evs[-1]["counts"]["failed"] == 0
    assert any(e.get("iccid") == held[0]["iccid"] and e.get("state") == "verified" for e in evs)
