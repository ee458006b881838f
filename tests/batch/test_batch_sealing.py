"""Secrets at rest and on screen (DESIGN.md §4): nothing in the ledger file, the export, batch.json, the JSON
streams or the messages shows a Ki, OPc, OP, ADM1, KIc, KID, PIN, PUK or the transport key in the clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
from simtool.batch.ledger import open_ledger
from tests.batch.batch_helpers import ICCID0, IMSI0, PROFILE

ADM = "a1b2c3d4e5f60718"
OP = "00112233445566778899aabbccddeeff"


def _needles(secrets: list[CardSecrets], key: bytes) -> list[bytes]:
    out = [key, key.hex().encode(), key.hex().upper().encode(), bytes.fromhex(OP), OP.encode(), OP.upper().encode()]
    for s in secrets:
        for k in (s.ki, s.opc, s.adm1, s.kic, s.kid):
            out += [k, k.hex().encode(), k.hex().upper().encode()]
        # the PINs as the blob lays them out, and as text next to each other
        out.append(s.pin1.encode().ljust(8, b"\xff") + s.puk1.encode())
        out.append(s.pin2.encode().ljust(8, b"\xff") + s.puk2.encode())
        out.append(f"{s.pin1},{s.puk1}".encode())
        out.append(f"{s.pin2},{s.puk2}".encode())
    return out


def _files(d: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(d.iterdir()) if p.is_file())


def test_nothing_in_the_clear_at_rest_or_on_screen(tmp_path, sim, key_file):
    d = tmp_path / "b"
    outputs = []
    adm_file = tmp_path / "adm.txt"
    adm_file.write_text(ADM + "\n")
    op_file = tmp_path / "op.txt"
    op_file.write_text(OP + "\n")
    r = sim("batch", "create", d, "--profile", PROFILE, "--count", 6, "--adm-file", adm_file, "--op-file", op_file,
            "--iccid-start", ICCID0, "--imsi-start", IMSI0, "--transport-key", key_file, "--json")
    assert r.code == 0, r.err
    outputs.append(r.out + r.err)
    r = sim("batch", "run", d, "--reader", f"emu-feed:{tmp_path}/feed", "--max-cards", 4, "--json")
    assert r.code == 0, r.err
    outputs.append(r.out + r.err)
    for args in (("status", d, "--json"), ("status", d), ("export", d, "--out", tmp_path / "x.out", "--json")):
        r = sim("batch", *args)
        assert r.code == 0, r.err
        outputs.append(r.out + r.err)

    key = load_transport_key(key_file)
    sealer = Sealer(key)
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        rows = list(ledger.rows(bdir.batch_id))
        secrets = [CardSecrets.unpack(sealer.open(r.secrets, r.iccid)) for r in rows]
        with pytest.raises(Exception, match="cannot open sealed data"):  # a blob is bound to its ICCID
            sealer.open(rows[0].secrets, rows[1].iccid)
    assert all(s.adm1.hex() == ADM for s in secrets)
    assert repr(secrets[0]).count("<secret>") == 9 and ADM not in repr(secrets[0])

    at_rest = {"ledger": _files(d), "export": (tmp_path / "x.out").read_bytes()}
    screens = "\n".join(outputs).encode()
    for needle in _needles(secrets, key):
        for where, data in at_rest.items():
            assert needle not in data, f"a secret in the clear in the {where}"
        assert needle not in screens, "a secret in the clear on screen"
    for p in list(d.iterdir()) + [tmp_path / "x.out"]:
        if p.is_file() and p.name != "batch.json":
            assert p.stat().st_mode & 0o077 == 0, p


def test_wrong_key_and_altered_export(tmp_path, sim, make_batch, key_file):
    d = make_batch(3)
    assert sim("batch", "run", d, "--reader", "emu-feed:", "--json").code == 0
    out = tmp_path / "e.out"
    assert sim("batch", "export", d, "--out", out).code == 0
    other = tmp_path / "other.key"
    sim("keys", "new", other)
    r = sim("batch", "decrypt", out, "--transport-key", other)
    assert r.code == 2 and "KCV" in r.err
    r = sim("batch", "export", d, "--out", tmp_path / "e2.out", "--transport-key", other)
    assert r.code == 2 and "is not the batch's KCV" in r.err
    lines = out.read_text().splitlines(keepends=True)
    rows = [i for i, line in enumerate(lines) if line.startswith("8931")]
    a, b = lines[rows[0]].split(","), lines[rows[1]].split(",")
    a[7], b[7] = b[7], a[7]  # swap two cards' sealed Ki: each fails its AAD, and the MAC
    lines[rows[0]], lines[rows[1]] = ",".join(a), ",".join(b)
    out.write_text("".join(lines))
    r = sim("batch", "decrypt", out, "--transport-key", key_file)
    assert r.code == 1 and "MAC does not verify" in r.err
    out.write_text("".join(lines[:-1]))
    r = sim("batch", "decrypt", out, "--transport-key", key_file)
    assert r.code == 2 and "no closing '# mac:' line" in r.err


def test_keys_new(tmp_path, sim):
    p = tmp_path / "k"
    r = sim("keys", "new", p, "--json")
    assert r.code == 0
    kcv = r.json()["kcv"]
    assert len(kcv) == 6 and p.stat().st_mode & 0o777 == 0o600
    assert len(load_transport_key(p)) == 32
    from simtool.crypto.secrets import kcv as kcv_of

    assert kcv_of(load_transport_key(p)) == kcv
    assert load_transport_key(p).hex() not in r.out
    r = sim("keys", "new", p)
    assert r.code == 2 and "refusing to overwrite" in r.err
