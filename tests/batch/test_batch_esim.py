"""eSIM batches: `batch create --esim`, `batch run --esim OUTDIR [--smdp]`, status, export; the package-file rule
(`decide_package`) on real files; kill -9 at random points of a 200-package batch, then run again."""

from __future__ import annotations

import json
import random
import stat

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.decide import OnDisk, PackageAction, decide_package
from simtool.batch.keys import CardSecrets, Sealer, load_transport_key
from simtool.batch.ledger import open_ledger
from simtool.batch.package import CODES_FILE, read_codes
from simtool.batch.runner import identity_for, load_frozen_profile
from simtool.esim import build, inspect
from simtool.esim.sealed import seal_package
from tests.batch.batch_helpers import ADM_HEX, PROFILE
from tests.hardening import batchcut

ICCID0, IMSI0 = "8931080000000100017", "204080000100001"


@pytest.fixture
def esim_batch(tmp_path, sim, key_file):
    def make(count: int = 6, name: str = "e", *extra: str):
        d = tmp_path / name
        r = sim("batch", "create", d, "--esim", "--profile", PROFILE, "--count", count, "--iccid-start", ICCID0,
                "--imsi-start", IMSI0, "--transport-key", key_file, "--json", *extra)
        assert r.code == 0, r.err
        assert json.loads(r.out)["esim"] is True
        return d

    return make


def _ledger_identity(d, iccid, key_file):
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        batch = ledger.batch(bdir.batch_id)
        row = ledger.get(bdir.batch_id, iccid)
    sec = CardSecrets.unpack(Sealer(load_transport_key(key_file)).open(row.secrets, iccid))
    return load_frozen_profile(batch), identity_for(row, sec), row


def test_create_run_status_export_and_one_package_for_the_smdp(esim_batch, sim, key_file, tmp_path):
    d = esim_batch(6)
    out = tmp_path / "packages"
    r = sim("batch", "run", d, "--esim", out, "--smdp", "smdp.example.com", "--json")
    assert r.code == 0, r.err
    events = [json.loads(x) for x in r.out.splitlines()]
    summary = events[-1]
    assert summary["counts"]["verified"] == 6 and summary["verified_this_run"] == 6
    assert summary["activation_codes"] == {"file": str((out / CODES_FILE).resolve()), "rows": 6,
                                           "new_matching_ids": 6}
    st = json.loads(sim("batch", "status", d, "--json").out)
    assert st["batch"]["esim"] is True and st["counts"]["verified"] == 6 and st["left"] == 0
    assert [x["reader"] for x in st["readers"]] == [f"esim:{out}"]

    packages = sorted(out.glob("*.upp"))
    assert len(packages) == 6 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in packages)
    der_file = tmp_path / "one.der"
    assert sim("esim", "unseal", packages[0], "--transport-key", key_file, "--out", der_file).code == 0
    ins = sim("esim", "inspect", der_file, "--json")
    assert ins.code == 0, ins.err
    doc = json.loads(ins.out)
    assert (doc["iccid"], doc["imsi"], doc["problems"]) == (ICCID0, IMSI0, [])
    profile, identity, _ = _ledger_identity(d, ICCID0, key_file)
    assert der_file.read_bytes() == build(profile, identity)  # byte for byte the library's build

    # batch export covers the eSIM batch unchanged: decrypted, its rows are the packages' identities and keys
    assert sim("batch", "export", d, "--out", tmp_path / "x.txt").code == 0
    rows = json.loads(sim("batch", "decrypt", tmp_path / "x.txt", "--transport-key", key_file, "--json").out)
    rows = {c["iccid"]: c for c in rows["rows"]}
    assert set(rows) == {p.stem for p in packages}
    k = next(e for e in inspect(der_file.read_bytes(), show_secrets=True)["elements"] if e["kind"] == "akaParameter")
    assert k["k"].lower() == rows[ICCID0]["ki"] and k["opc"].lower() == rows[ICCID0]["opc"]

    codes = read_codes(out / CODES_FILE)
    assert set(codes) == set(rows) and len(set(codes.values())) == 6
    assert stat.S_IMODE((out / CODES_FILE).stat().st_mode) == 0o600
    lines = (out / CODES_FILE).read_text().splitlines()
    assert lines[1] == f"{ICCID0},{codes[ICCID0]},LPA:1$smdp.example.com${codes[ICCID0]}"
    assert batchcut.check_esim_batch(d, out, key_file, 6) == []


def test_json_events_are_the_card_runs_events(esim_batch, sim, tmp_path):
    d = esim_batch(3)
    r = sim("batch", "run", d, "--esim", tmp_path / "p", "--json")
    events = [json.loads(x) for x in r.out.splitlines()]
    assert [e["event"] for e in events[:1] + events[-3:]] == ["run", "reader", "run", "summary"]
    assert events[0]["state"] == "started" and events[0]["readers"] == [f"esim:{tmp_path / 'p'}"]
    cards = [e for e in events if e["event"] == "card"]
    assert [e["state"] for e in cards] == ["leased", "verified"] * 3
    done = [e for e in cards if e["state"] == "verified"]
    assert [e["iccid"] for e in done] == [ICCID0, "8931080000000100025", "8931080000000100033"]
    assert all(e["model"] == "saip-package" and e["bytes"] > 5000 and e["adopted"] is False for e in done)
    assert not any(k in json.dumps(events).lower() for k in ("\"ki\"", "opc", "matching"))


def test_an_esim_batch_and_a_card_batch_are_not_mixed_up(esim_batch, make_batch, sim, key_file, tmp_path):
    bad = sim("batch", "create", tmp_path / "x", "--esim", "--profile", PROFILE, "--count", 2, "--adm-hex", ADM_HEX,
              "--iccid-start", ICCID0, "--imsi-start", IMSI0, "--transport-key", key_file)
    assert bad.code == 2 and "no vendor ADM1" in bad.err and not (tmp_path / "x" / "batch.json").exists()
    e, c = esim_batch(2), make_batch(2)
    r = sim("batch", "run", e, "--reader", f"emu-feed:{tmp_path / 'feed'}")
    assert r.code == 2 and "eSIM batch" in r.err
    r = sim("batch", "run", c, "--esim", tmp_path / "p")
    assert r.code == 2 and "card batch" in r.err and not (tmp_path / "p").exists()
    assert sim("batch", "run", c, "--reader", "emu-feed:", "--smdp", "smdp.example.com").code == 2
    r = sim("batch", "run", e, "--esim", tmp_path / "p", "--smdp", "not a host!")
    assert r.code == 2 and "--smdp" in r.err and not (tmp_path / "p").exists()


@pytest.mark.parametrize(("on_disk", "journaled", "action"), [
    (OnDisk.ABSENT, False, PackageAction.WRITE), (OnDisk.ABSENT, True, PackageAction.WRITE),
    (OnDisk.SAME, False, PackageAction.ADOPT), (OnDisk.SAME, True, PackageAction.ADOPT),
    (OnDisk.OTHER, True, PackageAction.REPLACE), (OnDisk.OTHER, False, PackageAction.REFUSE)])
def test_decide_package_table(on_disk, journaled, action):
    assert decide_package(on_disk, journaled=journaled, name="X.upp").action is action


def test_a_package_cut_short_is_adopted_and_a_damaged_one_set_aside(esim_batch, key_file, tmp_path):
    d = esim_batch(3)
    out = tmp_path / "p"
    # killed with the first package in place but not checked: the rerun adopts it as it is
    assert batchcut.cut_run_esim(d, out, "upp:after:1")
    first = out / f"{ICCID0}.upp"
    before = first.read_bytes()
    p = batchcut.run_esim(d, out)
    assert p.returncode == 0, p.stderr
    ev = [json.loads(x) for x in p.stdout.splitlines()]
    adopted = [e for e in ev if e.get("state") == "verified" and e.get("adopted")]
    assert [e["iccid"] for e in adopted] == [ICCID0] and first.read_bytes() == before
    assert batchcut.check_esim_batch(d, out, key_file, 3) == []

    # killed again after the next package was written; that file damaged meanwhile: set aside, written again
    d2 = esim_batch(3, "e2")
    out2 = tmp_path / "p2"
    assert batchcut.cut_run_esim(d2, out2, "upp:after:2")
    second = out2 / "8931080000000100025.upp"
    damaged = second.read_bytes()[:-1] + bytes([second.read_bytes()[-1] ^ 1])
    second.write_bytes(damaged)
    assert batchcut.run_esim(d2, out2).returncode == 0
    assert (out2 / "rejected" / second.name).read_bytes() == damaged
    (out2 / "rejected" / second.name).unlink()
    (out2 / "rejected").rmdir()
    assert batchcut.check_esim_batch(d2, out2, key_file, 3) == []


def test_a_file_nobody_of_the_batch_wrote_is_left_alone(esim_batch, sim, key_file, tmp_path):
    d = esim_batch(2)
    out = tmp_path / "p"
    out.mkdir()
    key = load_transport_key(key_file)
    foreign = seal_package(key, ICCID0, b"another batch's package")
    (out / f"{ICCID0}.upp").write_bytes(foreign)
    r = sim("batch", "run", d, "--esim", out, "--json", "--max-failures", "1")
    assert r.code == 1
    refused = [json.loads(x) for x in r.out.splitlines() if '"refused"' in x]
    assert refused and "left alone" in refused[0]["detail"]
    assert (out / f"{ICCID0}.upp").read_bytes() == foreign  # untouched
    st = json.loads(sim("batch", "status", d, "--json").out)
    assert st["counts"]["free"] == 2 and st["counts"]["writing"] == 0  # nothing was journaled for it


def test_matching_ids_survive_a_crash_and_a_rerun(esim_batch, key_file, tmp_path):
    d = esim_batch(6)
    out = tmp_path / "p"
    assert batchcut.run_esim(d, out, smdp="smdp.example.com", extra=("--max-cards", "2")).returncode == 0
    first = read_codes(out / CODES_FILE)
    assert len(first) == 2
    assert batchcut.cut_run_esim(d, out, "verified:after:2", smdp="smdp.example.com")
    assert read_codes(out / CODES_FILE) == first  # the killed run did not touch the file
    assert batchcut.run_esim(d, out, smdp="smdp.example.com").returncode == 0
    after = read_codes(out / CODES_FILE)
    assert len(after) == 6 and {k: after[k] for k in first} == first
    (out / CODES_FILE).write_text("iccid,matching_id\n")  # damaged: refused, never silently re-drawn
    p = batchcut.run_esim(d, out, smdp="smdp.example.com")
    assert p.returncode == 2 and CODES_FILE in p.stderr and "Traceback" not in p.stderr
    assert batchcut.check_esim_batch(d, out, key_file, 6) != []  # the checker sees the damaged file too


def test_the_checker_sees_a_second_copy(esim_batch, sim, key_file, tmp_path):
    d = esim_batch(2)
    out = tmp_path / "p"
    assert sim("batch", "run", d, "--esim", out, "--json").code == 0
    assert batchcut.check_esim_batch(d, out, key_file, 2) == []
    (out / f".{ICCID0}.upp.abc.tmp").write_bytes((out / f"{ICCID0}.upp").read_bytes())
    assert any("besides the packages" in p for p in batchcut.check_esim_batch(d, out, key_file, 2))


def _random_cuts(seed: int, n: int, k: int) -> list[str]:
    rnd = random.Random(seed)
    points = [p for p in batchcut.ESIM_POINTS if p != "claim:after"]
    per_run = n // (k + 1)
    return [f"{rnd.choice(points)}:{rnd.randint(1, per_run)}" for _ in range(k)]


@pytest.mark.parametrize("seed", [17, 1704])
def test_200_packages_survive_kill_9_at_random_points(tmp_path, seed):
    """kill -9 at random points (a random cut point, at a random package of the run), one after the other, then a
    clean run: every identity verified once, exactly one package each, no second copy anywhere."""
    # then one package left written and unchecked, and the run after it cut in the recovery of that package
    cuts = _random_cuts(seed, 200, 4) + ["upp:after:3", "claim:after:1"]
    fired, problems = batchcut.esim_scenario(tmp_path, cuts, n=200, smdp="smdp.example.com")
    assert fired == len(cuts), f"only {fired} of the cuts {cuts} were reached"
    assert problems == [], cuts
