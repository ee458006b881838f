"""Issue 2 acceptance through the CLI: `profile validate`, `profile render` (--json, --hex, secrets), `files`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simtool.fs import DEFAULT_MODEL
from simtool.fs.access import names
from simtool.profile import load_profile
from simtool.profile.render import act_names, render
from tests.personalize.personalize_helpers import (
    FS,
    ICCID,
    IMSI,
    KI,
    OPC,
    PROFILE_1G,
    PROFILE_4G,
    ROOT,
    body,
    identity,
    profile_copy,
    profile_yaml,
    run_cli,
    run_sub,
)

RENDER = ["profile", "render", str(PROFILE_1G), "--iccid", ICCID, "--imsi", IMSI, "--ki", KI, "--opc", OPC]
SECRET_FORMS = [KI, KI.upper(), OPC, OPC.upper()]


def test_validate_the_shipped_profiles_exit_0() -> None:
    shipped = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "profiles").glob("*.yaml"))
    proc = run_sub(["profile", "validate", *shipped])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["OK profiles/kpn-wechat-1gb-15d.yaml (1 warnings)",
                                        "OK profiles/kpn-wechat-4gb-28d.yaml (1 warnings)"]
    # judged against every known model: the stock SJA2 holds 12 roaming partners, the rest are named
    warnings = proc.stderr.splitlines()
    assert len(warnings) == 2 and all("sysmoISIM-SJA2's EF.OPLMNwACT holds 12 of the" in w for w in warnings)
    proc = run_sub(["profile", "validate", "--model", "simtool-emu", *shipped])
    assert proc.returncode == 0 and proc.stderr == ""


def test_render_json_acceptance_command() -> None:
    proc = run_sub(RENDER + ["--json"])
    assert proc.returncode == 0, proc.stderr
    for s in SECRET_FORMS:
        assert s not in proc.stdout and s not in proc.stderr
    files = json.loads(proc.stdout)["files"]
    y = profile_yaml()
    usim = "MF/ADF.USIM"
    assert files[f"{usim}/EF.IMSI"]["value"] == IMSI
    assert files["MF/DF.GSM/EF.IMSI"]["value"] == IMSI
    assert files["MF/EF.ICCID"]["value"] == ICCID
    assert files[f"{usim}/EF.ACC"]["value"] == [1]  # the last IMSI digit
    assert files[f"{usim}/EF.AD"]["value"]["mnc_length"] == 2
    oplmn = [(e["mcc"], e["mnc"], sorted(e["act"])) for e in files[f"{usim}/EF.OPLMNwACT"]["value"] if e]
    assert oplmn == [(p["mcc"], p["mnc"], sorted(act_names(p["act"]))) for p in y["oplmn_wact"]]
    assert files["MF/DF.PLAN/EF.PLAN_DEF"]["value"] == {
        "plan_id": y["plan"]["id"], "data_limit_bytes": 1_000_000_000, "validity_days": 15,
        "price": {"amount_minor": 1200, "currency": "EUR"}, "names": y["plan"]["names"],
        "topup_url": y["plan"]["topup_url"]}
    assert files["MF/EF.AUTH_KEY"]["value"] == {"algorithm": "milenage", "k": "<secret>", "opc": "<secret>"}
    pins = files["MF/EF.PINS"]["value"]
    assert {pins[k] for k in ("pin1", "puk1", "pin2", "puk2")} == {"<secret>"}
    assert pins["pin1_enabled"] is False


@pytest.mark.parametrize("digit", ["0", "7", "9"])
def test_acc_follows_the_last_imsi_digit(capsys: pytest.CaptureFixture[str], digit: str) -> None:
    argv = RENDER[:] + ["--json"]
    argv[argv.index(IMSI)] = IMSI[:-1] + digit
    code, out, _ = run_cli(argv, capsys)
    assert code == 0
    files = json.loads(out)["files"]
    assert files["MF/ADF.USIM/EF.ACC"]["value"] == files["MF/DF.GSM/EF.ACC"]["value"] == [int(digit)]


def test_show_secrets_shows_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(RENDER + ["--json", "--show-secrets"], capsys)
    assert code == 0
    key = json.loads(out)["files"]["MF/EF.AUTH_KEY"]["value"]
    assert key == {"algorithm": "milenage", "k": KI, "opc": OPC}
    code, out, _ = run_cli(RENDER + ["--hex", "--show-secrets"], capsys)
    assert KI.upper() in out and OPC.upper() in out


def test_render_hex_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(RENDER + ["--hex"], capsys)
    assert code == 0 and err == ""
    for s in SECRET_FORMS:
        assert s not in out
    image = render(load_profile(PROFILE_1G), identity())
    expected = []
    for path, content in image.files.items():
        secret = FS[path].ef.secret
        recs = content if isinstance(content, list) else [content]
        for i, rec in enumerate(recs, 1):
            name = f"{path}#{i}" if isinstance(content, list) else path
            expected.append(f"{name} {'<secret>' if secret else rec.hex().upper()}")
    assert out.splitlines() == expected
    assert "MF/ADF.USIM/EF.IMSI 082940800000000010" in out.splitlines()


def test_render_text_mode_masks_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(RENDER, capsys)
    assert code == 0
    assert "MF/ADF.USIM/EF.IMSI (6F07): 204080000000001" in out
    for s in SECRET_FORMS:
        assert s not in out


def test_broken_profile_one_located_line_per_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = profile_copy(tmp_path, edit={
        'home_plmn: {mcc: "204", mnc: "08"}': 'home_plmn: {mcc: "204", mnc: "8"}',
        'spn: {name: "KPN WeChat",': 'spn: {name: "KPN WeChat Travel EU",',  # 20 characters
        "  - eps_mm_info ": "  - warp_drive ",
    })
    lines = broken.read_text(encoding="utf-8").splitlines()
    line_of = {key: next(i for i, t in enumerate(lines, 1) if t.startswith(key))
               for key in ("home_plmn:", "spn:", "  - warp_drive")}
    code, out, err = run_cli(["profile", "validate", str(broken)], capsys)
    assert code == 2
    errs = [line for line in err.splitlines() if ": warning: " not in line]
    assert len(errs) == 3, err
    for line in errs:
        assert re.fullmatch(rf"{re.escape(str(broken))}:\d+: [\w.]+: .+", line), line
    by_field = {line.split(": ")[1]: line for line in errs}
    assert set(by_field) == {"home_plmn.mnc", "spn.name", "services.14"}
    assert by_field["home_plmn.mnc"].startswith(f"{broken}:{line_of['home_plmn:']}:")
    assert by_field["spn.name"].startswith(f"{broken}:{line_of['spn:']}:")
    assert by_field["services.14"].startswith(f"{broken}:{line_of['  - warp_drive']}:")
    assert "warp_drive" in by_field["services.14"]
    assert "OK" not in out

    # render refuses the same file the same way, before anything else
    argv = RENDER[:]
    argv[2] = str(broken)
    code, out, err2 = run_cli(argv, capsys)
    assert code == 2 and err2.splitlines() == errs


def test_validate_mixes_good_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = profile_copy(tmp_path, edit={"currency: EUR}": "currency: EUX}"}, src=PROFILE_4G)
    code, out, err = run_cli(["profile", "validate", str(PROFILE_1G), str(broken), "--json"], capsys)
    assert code == 2
    doc = json.loads(out)
    assert [r["ok"] for r in doc["results"]] == [True, False]
    assert len(doc["results"][1]["errors"]) == 1 and "plan.price.currency" in doc["results"][1]["errors"][0]


def test_render_is_deterministic_and_sized_to_the_model() -> None:
    for path in (PROFILE_1G, PROFILE_4G):
        profile = load_profile(path)
        a, b = render(profile, identity()), render(load_profile(path), identity())
        assert a.files == b.files
        assert list(a.files) == list(b.files)
        for p, content in a.files.items():
            ef = DEFAULT_MODEL.fs[p].ef
            if ef.is_record:
                assert len(content) == ef.record_count and all(len(r) == ef.record_length for r in content), p
            else:
                assert len(content) == ef.size, p
        assert len(body(a.files["MF/DF.PLAN/EF.PLAN_DEF"])) == FS["MF/DF.PLAN/EF.PLAN_DEF"].ef.size


def test_render_output_is_deterministic_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_cli(RENDER + ["--hex", "--show-secrets"], capsys)
    second = run_cli(RENDER + ["--hex", "--show-secrets"], capsys)
    assert first == second and first[0] == 0


def test_files_json_matches_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["files", "--json"], capsys)
    assert code == 0
    rows = {r["path"]: r for r in json.loads(out)["files"]}
    entries = list(DEFAULT_MODEL.fs.walk())
    assert list(rows) == [e.path for e in entries]
    n_efs = 0
    for e in entries:
        row = rows[e.path]
        assert row["fid"] == f"{e.node.fid:04X}"
        if hasattr(e.node, "codec"):
            n_efs += 1
            ef = e.ef
            assert row["sfi"] == (None if ef.sfi is None else f"{ef.sfi:02X}")
            assert row["structure"] == ef.structure
            assert row["size"] == ef.body_size
            assert row["record_length"] == (ef.record_length or None)
            assert row["record_count"] == (ef.record_count or None)
            assert row["read"] == names(ef.read) and row["update"] == names(ef.update)
    assert n_efs == len(list(DEFAULT_MODEL.fs.efs())) > 30
    assert rows["MF/ADF.USIM/EF.IMSI"]["sfi"] == "07" and rows["MF/ADF.USIM/EF.IMSI"]["size"] == 9
    assert rows["MF/EF.AUTH_KEY"]["read"] == ["never"]


def test_files_table_lists_every_ef(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["files"], capsys)
    assert code == 0
    table = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    for e in DEFAULT_MODEL.fs.efs():
        cols = table[e.path]
        ef = e.ef
        assert cols[1] == f"{ef.fid:04X}"
        assert cols[2] == (f"{ef.sfi:02X}" if ef.sfi is not None else "-")
        assert cols[3] == ef.structure
        assert cols[4] == (f"{ef.record_count}x{ef.record_length}" if ef.is_record else str(ef.size))
        assert cols[5].lower().split("|") == names(ef.read)
        assert cols[6].lower().split("|") == names(ef.update)
    proc = run_sub(["files"])
    assert proc.returncode == 0 and proc.stdout == out
