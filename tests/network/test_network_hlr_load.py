"""`simtool hlr load` and `batch decrypt --format` against a real osmo-hlr (the `osmo_hlr` fixture), on a
40-card batch flashed on emulated readers and exported (built once per module)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"


def simtool(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SIMTOOL_TRANSPORT_KEY", None)
    r = subprocess.run([sys.executable, "-m", "simtool", *args], capture_output=True, text=True, env=env,
                       timeout=300)
    if check is not None:
        assert r.returncode == check, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return r


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hlrbatch")
    tk, b, out = d / "tk", d / "b", d / "b.out"
    simtool("keys", "new", str(tk))
    simtool("batch", "create", str(b), "--profile", str(PROFILE), "--count", "40", "--adm-hex", "3131313131313131",
            "--iccid-start", "8931080000000000019", "--imsi-start", "204080000000001", "--msisdn-start",
            "+31612000001", "--transport-key", str(tk))
    simtool("batch", "run", str(b), "--reader", f"emu-feed:{d / 'f1'}", "--reader", f"emu-feed:{d / 'f2'}", "--json")
    simtool("batch", "export", str(b), "--out", str(out))
    clear = json.loads(simtool("batch", "decrypt", str(out), "--transport-key", str(tk), "--json").stdout)
    return {"dir": b, "tk": tk, "out": out, "tmp": d, "rows": clear["rows"]}  # type: ignore[dict-item]


def _db(hlr) -> list[tuple]:
    with sqlite3.connect(hlr.database) as db:
        return db.execute("SELECT s.imsi, s.msisdn, a.algo_id_3g, a.k, a.opc, a.op, a.sqn FROM subscriber s "
                          "LEFT JOIN auc_3g a ON a.subscriber_id = s.id ORDER BY s.imsi").fetchall()


def _expected(rows) -> list[tuple]:
    return sorted((r["imsi"], r["msisdn"].lstrip("+"), 5, r["ki"], r["opc"], None, 0) for r in rows)


def test_load_creates_then_changes_nothing_then_updates_one_k(osmo_hlr, batch) -> None:
    vty = osmo_hlr.vty_address
    args = ("hlr", "load", str(batch["out"]), "--transport-key", str(batch["tk"]), "--osmo-hlr-vty", vty, "--json")
    dry = json.loads(simtool(*args, "--dry-run").stdout)
    assert (dry["created"], dry["dry_run"]) == (40, True) and _db(osmo_hlr) == []
    first = json.loads(simtool(*args).stdout)
    assert {k: first[k] for k in ("created", "updated", "unchanged", "failed")} == {
        "created": 40, "updated": 0, "unchanged": 0, "failed": 0}
    assert _db(osmo_hlr) == _expected(batch["rows"])
    with sqlite3.connect(osmo_hlr.database) as db:  # a card authenticated meanwhile: its SQN moved on
        db.execute("UPDATE auc_3g SET sqn = 96")
    second = simtool(*args)
    assert {k: json.loads(second.stdout)[k] for k in ("created", "updated", "unchanged")} == {
        "created": 0, "updated": 0, "unchanged": 40}
    assert {r[6] for r in _db(osmo_hlr)} == {96}  # untouched: no aud3g update, so no SQN reset
    for r in batch["rows"]:  # no key in any output
        assert r["ki"] not in json.dumps(first) + second.stdout + second.stderr and r["opc"] not in second.stdout
    # one subscriber's K changes in the HLR (as if loaded wrong): the next load puts it right, that one only
    imsi = batch["rows"][3]["imsi"]
    with sqlite3.connect(osmo_hlr.database) as db:
        db.execute("UPDATE auc_3g SET k = ? WHERE subscriber_id = (SELECT id FROM subscriber WHERE imsi = ?)",
                   ("00" * 16, imsi))
    third = json.loads(simtool(*args).stdout)
    assert (third["updated"], third["unchanged"], third["created"]) == (1, 39, 0)
    rows = {r[0]: r for r in _db(osmo_hlr)}
    assert rows[imsi][3] == batch["rows"][3]["ki"] and rows[imsi][6] == 0  # re-keyed: SQN back to 0
    assert {r[6] for i, r in rows.items() if i != imsi} == {96}


def test_load_from_the_batch_directory_and_a_refused_msisdn_fails(osmo_hlr, batch) -> None:
    from simtool.network.vty import VtyClient

    with VtyClient(*osmo_hlr.vty) as vty:  # someone else already holds card 5's MSISDN
        vty.enable()
        vty.command("subscriber imsi 001010000000099 create")
        vty.command(f"subscriber imsi 001010000000099 update msisdn {batch['rows'][4]['msisdn'].lstrip('+')}")
    r = simtool("hlr", "load", str(batch["dir"]), "--osmo-hlr-vty", osmo_hlr.vty_address, "--json", check=1)
    doc = json.loads(r.stdout)
    assert (doc["created"], doc["failed"], doc["ok"]) == (39, 1, False)
    assert doc["failures"] == [{"imsi": batch["rows"][4]["imsi"],
                                "reason": f"% Error: cannot update MSISDN for subscriber IMSI='"
                                          f"{batch['rows'][4]['imsi']}'"}]


def test_unreachable_hlr_exits_3_and_bad_mac_exits_1_bad_input_2(osmo_hlr, batch, tmp_path: Path) -> None:
    args = ("--transport-key", str(batch["tk"]), "--json")
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = simtool("hlr", "load", str(batch["out"]), "--osmo-hlr-vty", f"127.0.0.1:{port}", *args, check=3)
    assert json.loads(r.stdout)["exit_code"] == 3 and "cannot connect" in r.stderr
    bad = tmp_path / "bad.out"
    text = batch["out"].read_text().replace(batch["rows"][0]["msisdn"], batch["rows"][1]["msisdn"], 1)
    bad.write_text(text)
    r = simtool("hlr", "load", str(bad), "--osmo-hlr-vty", osmo_hlr.vty_address, *args, check=1)
    assert "MAC does not verify" in r.stderr
    simtool("hlr", "load", str(tmp_path / "missing"), "--osmo-hlr-vty", osmo_hlr.vty_address, *args, check=2)
    simtool("hlr", "load", str(batch["out"]), "--osmo-hlr-vty", "127.0.0.1:x", *args, check=2)
    assert _db(osmo_hlr) == []  # nothing changed in any case


def test_osmo_hlr_file_replays_into_a_fresh_hlr_without_duplicates(osmo_hlr_factory, batch) -> None:
    out = batch["tmp"] / "hlr.vty"
    simtool("batch", "decrypt", str(batch["out"]), "--transport-key", str(batch["tk"]), "--format", "osmo-hlr",
            "--out", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    r = simtool("batch", "decrypt", str(batch["out"]), "--transport-key", str(batch["tk"]), "--format", "osmo-hlr",
                "--out", str(out), check=2)
    assert "exists" in r.stderr
    hlr = osmo_hlr_factory()
    for _ in range(2):  # replayed: the same 40, no duplicate (fed as `nc HOST 4258 < FILE` would)
        with socket.create_connection(hlr.vty, timeout=10) as s:
            s.sendall(out.read_bytes() + b"exit\n")
            while s.recv(65536):
                pass
        assert _db(hlr) == _expected(batch["rows"])


def test_pysim_and_open5gs_formats(batch, tmp_path: Path) -> None:
    key = ("--transport-key", str(batch["tk"]))
    pysim = simtool("batch", "decrypt", str(batch["out"]), *key, "--format", "pysim").stdout
    rows = list(csv.DictReader(io.StringIO(pysim)))  # as pySim's CardKeyProviderCsv reads it
    first = batch["rows"][0]
    assert list(rows[0]) == ["ICCID", "IMSI", "MSISDN", "KI", "OPC", "ADM1", "PIN1", "PUK1", "PIN2", "PUK2",
                             "KIC1", "KID1"]
    assert rows[0]["ADM1"] == "3131313131313131" and len(rows[0]["ADM1"]) > 8  # > 8 chars: pySim takes it as hex
    assert (rows[0]["ICCID"], rows[0]["KI"], rows[0]["PIN1"]) == (first["iccid"], first["ki"], first["pin1"])
    subs = tmp_path / "subs.json"
    simtool("batch", "decrypt", str(batch["out"]), *key, "--format", "open5gs", "--profile", str(PROFILE),
            "--out", str(subs))
    docs = [json.loads(line) for line in subs.read_text().splitlines()]
    assert len(docs) == 40 and subs.stat().st_mode & 0o777 == 0o600
    d = docs[0]
    assert (d["imsi"], d["msisdn"], d["security"]) == (first["imsi"], [first["msisdn"][1:]], {
        "k": first["ki"], "opc": first["opc"], "op": None, "amf": "8000", "sqn": {"$numberLong": "0"}})
    assert d["ambr"] == {"downlink": {"value": 150, "unit": 2}, "uplink": {"value": 50, "unit": 2}}
    assert [s["name"] for s in d["slice"][0]["session"]] == ["internet"] and d["slice"][0]["sst"] == 1
    r = simtool("batch", "decrypt", str(batch["out"]), *key, "--format", "open5gs", check=2)
    assert "--profile" in r.stderr
    other = ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"
    r = simtool("batch", "decrypt", str(batch["out"]), *key, "--format", "open5gs", "--profile", str(other), check=2)
    assert "is not the batch's profile" in r.stderr
    same = json.loads(simtool("batch", "decrypt", str(batch["out"]), *key, "--format", "json").stdout)
    assert same == json.loads(simtool("batch", "decrypt", str(batch["out"]), *key, "--json").stdout)
