"""Issue 9: no secret in any output. A whole batch with `--trace --json -v`, status, the export and an
OTA top-up; then every byte printed and every file written is searched for every Ki, OPc, ADM1, PIN,
PUK and OTA key of the run, as hex in any case (and PUKs as digits). The only places they may be are
the encrypted stores (ledger, export), the emulated cards' state files (the cards' secure memory,
DESIGN.md §4) and the key files the operator hands in (transport key, OTA key file)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"


def sim(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "simtool", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    if check:
        assert proc.returncode == 0, f"simtool {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def needles(values: dict[str, str]) -> dict[str, str]:
    """What a leak of each secret would look like: hex of keys, ASCII-hex of PIN/PUK digits, PUK digits."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if not value:
            continue
        if name in ("pin1", "pin2", "puk1", "puk2"):
            out[f"{name} as ASCII hex"] = value.encode().hex()
            if name.startswith("puk"):
                out[f"{name} as digits"] = value
        else:
            out[name] = value.lower()
    return out


def test_no_secret_in_any_output_or_file(tmp_path: Path) -> None:
    adm = secrets.token_hex(8)
    tk = tmp_path / "tk"
    printed: list[tuple[str, str]] = []

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = sim(*args)
        printed.append((" ".join(args[:2]), proc.stdout + proc.stderr))
        return proc

    run("keys", "new", str(tk))
    bdir = tmp_path / "b"
    run("batch", "create", str(bdir), "--profile", str(PROFILE), "--count", "4", "--adm-hex", adm,
        "--iccid-start", "8931080000000000019", "--imsi-start", "204080000000001", "--transport-key", str(tk),
        "--json", "-v")
    run("batch", "run", str(bdir), "--reader", f"emu-feed:{tmp_path / 'feed1'}", "--reader",
        f"emu-feed:{tmp_path / 'feed2'}", "--json", "--trace", "-v")
    run("batch", "status", str(bdir), "--json", "-v")
    run("batch", "export", str(bdir), "--out", str(tmp_path / "b.out"), "-v")
    # The operator's side prints secrets by purpose: its output is where we learn them, not searched.
    rows = json.loads(sim("batch", "decrypt", str(tmp_path / "b.out"), "--transport-key", str(tk), "--json").stdout)
    assert len(rows["rows"]) == 4

    # An OTA top-up on a card flashed with its own keys.
    ota = tmp_path / "ota.keys"
    run("keys", "new-ota", str(ota))
    card = tmp_path / "card.json"
    ki, opc = secrets.token_hex(16), secrets.token_hex(16)
    run("emulator", "new", str(card), "--adm-hex", adm)
    run("flash", "--profile", str(PROFILE), "--reader", f"emu:{card}", "--iccid", "8931080000000000092",
        "--imsi", "204080000000009", "--ki", ki, "--opc", opc, "--adm-hex", adm, "--pin1", "4711",
        "--puk1", "93715286", "--ota-keys", str(ota), "--json", "--trace", "-v")
    packet = tmp_path / "packet"
    run("ota", "build", "--iccid", "8931080000000000092", "--ota-keys", str(ota), "--counter", "1",
        "--out", str(packet), "topup", "--add", "1GB", "--extend", "7d")
    send = run("ota", "send", "--reader", f"emu:{card}", str(packet), "--trace", "--json", "-v")
    assert json.loads(send.stdout)["ok"] is True
    run("read", "--reader", f"emu:{card}", "--adm-hex", adm, "--json", "--trace", "-v")

    keys = json.loads(ota.read_text())
    secret_values: list[dict[str, str]] = [
        {k: r[k] for k in ("pin1", "puk1", "pin2", "puk2", "ki", "opc", "adm1", "kic", "kid")} for r in rows["rows"]
    ]
    secret_values.append({"ki": ki, "opc": opc, "adm1": adm, "pin1": "4711", "puk1": "93715286",
                          "kic": keys["kic"], "kid": keys["kid"]})
    wanted = {f"{i}:{n}": v for i, row in enumerate(secret_values) for n, v in needles(row).items()}
    assert len(wanted) > 40

    # Places that may hold secrets by design.
    allowed = {tk, ota, tmp_path / "b.out", card}
    allowed |= {p for p in bdir.rglob("ledger.db*")}
    allowed |= {p for p in tmp_path.rglob("card-*.json")}  # the feeds' emulated cards
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p not in allowed]
    assert any(p.name == "batch.json" for p in files) and packet in files

    hits = []
    for where, text in printed:
        low = text.lower()
        hits += [f"output of `{where}`: {name}" for name, needle in wanted.items() if needle in low]
    for path in files:
        low = path.read_bytes().decode("latin-1").lower()
        hits += [f"{path.relative_to(tmp_path)}: {name}" for name, needle in wanted.items() if needle in low]
    assert hits == []
    # The needles do match where secrets are kept by design: the card's own state file holds K and OPc.
    state = card.read_text().lower()
    assert ki in state and opc in state
    # The trace was really on: masked VERIFY ADM1 and key-file writes show up in it.
    run_out = next(t for w, t in printed if w == "batch run")
    assert "0020000A08" in run_out.upper() and "**" in run_out
