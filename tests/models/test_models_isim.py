"""ADF.ISIM (TS 31.103) on both card models: the TS 23.003 names, the profile's `ims` section, the IST
conformance table, the emulated card's SELECT by AID and IMS AKA, and `simtool auth --app isim`.

Expected values are written out from the specs (TS 23.003 §13, TS 31.103 §4.2/§7.1, TS 35.208 Milenage
through our crypto's own vectors), not taken from the code under test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simtool.commands import uicc
from simtool.crypto import aka
from simtool.emulator import Card
from simtool.emulator.blank import create_card_file
from simtool.encoding import efs_isim
from simtool.errors import InputError
from simtool.fs import MODELS, CardModel
from simtool.fs.conformance import ISIM_MANDATORY, IST_SERVICE_FILES, missing_files
from simtool.personalize.flash import flash
from simtool.profile import load_profile, validate_profile
from simtool.profile.capacity import capacities_for_model
from simtool.profile.render import render
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.models.models_helpers import ADM, ADM_HEX, ICCID, IMSI, KI, OPC, PROFILE_1G, host, identity, run_cli

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
I = "MF/ADF.ISIM"  # noqa: E741
ISIM_AID = bytes.fromhex("A0000000871004FFFFFFFF8907090000")
DOMAIN = "ims.mnc008.mcc204.3gppnetwork.org"
IMS_OFF = "ims:\n  services: []\n"


def _profile(tmp_path: Path, ims: str) -> Path:
    """The 1 GB profile with its `ims` section replaced (sysmoISIM-SJA2's fit rule keeps it valid there)."""
    text = PROFILE_1G.read_text(encoding="utf-8")
    assert IMS_OFF in text
    path = tmp_path / PROFILE_1G.name
    path.write_text(text.replace(IMS_OFF, ims), encoding="utf-8")
    return path


# --- TS 23.003 names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("imsi", "mcc", "mnc", "domain"), [
    ("234150999999999", "234", "15", "ims.mnc015.mcc234.3gppnetwork.org"),  # TS 23.003 §13.3 example
    ("204080000000001", "204", "08", DOMAIN),  # KPN: a 2-digit MNC gets a leading 0
    ("310410123456789", "310", "410", "ims.mnc410.mcc310.3gppnetwork.org"),  # a 3-digit MNC as it is
])
def test_names_derived_from_the_imsi(imsi: str, mcc: str, mnc: str, domain: str) -> None:
    assert efs_isim.ims_domain(mcc, mnc) == domain
    assert efs_isim.impi(imsi, domain) == f"{imsi}@{domain}"
    assert efs_isim.impu(imsi, domain) == f"sip:{imsi}@{domain}"


# --- the image -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_kpn_profile_renders_the_isim_derived_from_the_imsi(model: CardModel) -> None:
    profile = load_profile(PROFILE_1G, capacities_for_model(model))
    image = render(profile, identity(), model)
    impi = f"{IMSI}@{DOMAIN}".encode()
    assert image.files[f"{I}/EF.IMPI"] == b"\x80" + bytes([len(impi)]) + impi + b"\xff" * (128 - 2 - len(impi))
    assert image.files[f"{I}/EF.DOMAIN"][:2 + len(DOMAIN)] == b"\x80\x21" + DOMAIN.encode()
    impu = f"sip:{IMSI}@{DOMAIN}".encode()
    records = image.files[f"{I}/EF.IMPU"]
    assert records[0][:2 + len(impu)] == b"\x80" + bytes([len(impu)]) + impu
    assert records[1:] == [b"\xff" * 128] * 7
    assert image.files[f"{I}/EF.IST"] == b"\x00\x00\x00"  # no P-CSCF stored: service 1 off
    assert image.files[f"{I}/EF.AD"] == b"\x00\x00\x00"  # normal operation, no ciphering indicator
    decoded = image.decoded()
    assert decoded[f"{I}/EF.IMPI"]["value"] == f"{IMSI}@{DOMAIN}"
    if model.name == "sysmoISIM-SJA2":  # the ISIM's own key file: cfg 14 (Milenage, OPc) ‖ K ‖ OPc
        assert image.files[f"{I}/EF.ISIM_AUTH_KEY"] == bytes([0x14]) + bytes.fromhex(KI + OPC)
        assert decoded[f"{I}/EF.ISIM_AUTH_KEY"]["value"]["k"] == "<secret>"


def test_templates_pcscf_and_services(tmp_path: Path) -> None:
    path = _profile(tmp_path, 'ims:\n  impi: "{imsi}@ims.kpn.example"\n'
                              '  impu: ["sip:{imsi}@{domain}", "tel:{msisdn}"]\n'
                              '  pcscf: ["pcscf.ims.mnc008.mcc204.3gppnetwork.org", "192.0.2.10", "2001:db8::1"]\n'
                              '  services: [pcscf_address]\n')
    image = render(load_profile(path), identity(msisdn="+31612345678"))
    assert image.decode(f"{I}/EF.IMPI") == f"{IMSI}@ims.kpn.example"
    assert image.decode(f"{I}/EF.IMPU")[:3] == [f"sip:{IMSI}@{DOMAIN}", "tel:+31612345678", None]
    assert image.files[f"{I}/EF.P-CSCF"][1][:7] == bytes.fromhex("800501C000020A")  # type 01 IPv4
    assert image.decode(f"{I}/EF.P-CSCF")[2] == {"type": "ipv6", "address": "2001:db8::1"}
    assert image.files[f"{I}/EF.IST"] == b"\x01\x00\x00"
    with pytest.raises(InputError, match=r"ims.impu 'tel:\{msisdn\}' needs the card's msisdn"):
        render(load_profile(path), identity())


@pytest.mark.parametrize(("ims", "where", "reason"), [
    ('ims:\n  impi: "kpn@ims.example"\n', "ims.impi", "must contain {imsi}"),
    ('ims:\n  impu: ["http://{imsi}"]\n', "ims.impu.0", "SIP or TEL URI"),
    ('ims:\n  impu: ["sip:{iccid}@x.example"]\n', "ims.impu.0", "unknown placeholder {iccid}"),
    ('ims:\n  services: [pcscf_adress]\n', "ims.services.0", "did you mean 'pcscf_address'"),
    ('ims:\n  pcscf: ["192.0.2.10"]\n', "ims.pcscf", "add one to ims.services"),
    ('ims:\n  services: [pcscf_address]\n', "ims.services.0", "ims.pcscf is empty"),
    ('ims:\n  domain: "not a domain"\n', "ims.domain", "must be a domain name"),
    ('ims:\n  colour: red\n', "ims.colour", "unknown key"),
    ('ims:\n  impi: "{imsi}@' + "a" * 60 + '.' + "b" * 60 + '.example"\n', "ims.impi",
     "takes 148 bytes (with a 15-digit IMSI/MSISDN); the card model's EF.IMPI holds 128"),
    ('ims:\n  services: [gba]\n', "ims.services.0", "needs MF/ADF.ISIM/EF.GBABP (TS 31.103 §4.2.9"),
])
def test_bad_ims_sections_are_refused_with_their_line(tmp_path: Path, ims: str, where: str, reason: str) -> None:
    path = _profile(tmp_path, ims)
    _, errors, _ = validate_profile(path, capacities_for_model(MODELS["simtool-emu"]))
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if t == "ims:")
    assert any(e.startswith(f"{path}:") and f": {where}: " in e and reason in e for e in errors), errors
    assert all(int(e.split(":")[1]) >= line for e in errors if f": {where}: " in e)


# --- conformance: the IST -------------------------------------------------------------------------------


def test_the_ist_table_names_only_ist_services_and_cites_every_entry() -> None:
    from simtool.encoding.services import IST_BY_NAME

    assert set(IST_SERVICE_FILES) <= set(IST_BY_NAME)
    for need in (*ISIM_MANDATORY, *(n for ns in IST_SERVICE_FILES.values() for n in ns)):
        assert need.path.startswith(f"{I}/") and need.clause.startswith("TS 31.103 §"), need


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
@pytest.mark.parametrize("profile_path", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_on_every_model_conforms_with_its_isim(profile_path: Path, model: CardModel) -> None:
    profile = load_profile(profile_path, capacities_for_model(model))
    assert profile.ims is not None  # the KPN profiles carry an ISIM for VoLTE while roaming
    assert missing_files(profile.services, model.fs, ist=profile.ims.services) == []
    image = render(profile, identity(), model)
    assert {n.path for n in ISIM_MANDATORY} - {f"{I}/EF.ARR"} <= set(image.files)  # the blank card has EF.ARR


def test_an_ist_service_whose_file_the_model_lacks_is_named() -> None:
    fs = MODELS["simtool-emu"].fs
    assert [n.path for n in missing_files([], fs, ist=["pcscf_address", "gba"])] == [
        f"{I}/EF.GBABP", f"{I}/EF.GBANL", f"{I}/EF.NAFKCA"]
    assert missing_files([], fs, ist=["sm_over_ip"])[0].path == f"{I}/EF.SMSP"
    assert missing_files([], {"MF/EF.DIR"}, ist=[])[0].path == "MF/EF.ICCID"
    assert f"{I}/EF.IST" in {n.path for n in missing_files([], {"MF/EF.DIR"}, ist=[])}
    assert f"{I}/EF.IST" not in {n.path for n in missing_files([], {"MF/EF.DIR"})}  # no ISIM asked for


# --- the emulated card -------------------------------------------------------------------------------------


def _flashed(model: CardModel, tmp_path: Path) -> Card:
    """A card of `model` flashed with the 1 GB profile, PIN1 enabled with value 0000."""
    card = Card.blank(adm=ADM, model=model)
    text = PROFILE_1G.read_text(encoding="utf-8")
    assert "pin1_enabled: false" in text
    path = tmp_path / PROFILE_1G.name
    path.write_text(text.replace("pin1_enabled: false", "pin1_enabled: true"), encoding="utf-8")
    reader = Reader(EmulatedTransport(card, "emu:test"))
    try:
        flash(reader, load_profile(path, capacities_for_model(model)), identity(pin1="0000"), model=model)
    finally:
        reader.close()
    return card


def _auth(card: Card, alg: aka.Algorithm, sqn: int = 32, p2: int = 0x81) -> tuple[bytes, int]:
    rand = bytes(range(16))
    autn = aka.build_autn(alg, rand, aka.int_to_sqn(sqn), bytes.fromhex("8000"))
    resp = host(card, dataclasses.replace(uicc.authenticate_3g(rand, autn), p2=p2))
    return resp.data, resp.sw


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_select_isim_by_full_and_partial_aid(model: CardModel) -> None:
    card = Card.blank(adm=ADM, model=model)
    for aid in (ISIM_AID, ISIM_AID[:7]):
        resp = host(card, uicc.select_aid(aid, fcp=True))
        assert resp.sw == 0x9000
        assert uicc.parse_fcp(resp.data)["aid"] == ISIM_AID
        assert card.selection()["app"] == I
    # EF.DIR lists it after the USIM: 61 L 4F 10 <AID> 50 04 "ISIM"
    assert host(card, uicc.select_aid(ISIM_AID[:7], fcp=False)).sw == 0x9000
    ef_dir = model.fs["MF/EF.DIR"].ef
    rec = card.file_bytes("MF/EF.DIR")[ef_dir.record_length:2 * ef_dir.record_length]
    assert rec[:26] == bytes.fromhex("61184F10") + ISIM_AID + bytes.fromhex("5004") + b"ISIM"


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
def test_ims_aka_in_the_isim(model: CardModel, tmp_path: Path) -> None:
    card = _flashed(model, tmp_path)
    alg = aka.Milenage(bytes.fromhex(KI), bytes.fromhex(OPC))
    card.reset()
    assert host(card, uicc.select_aid(ISIM_AID[:7], fcp=False)).sw == 0x9000
    assert _auth(card, alg, 96)[1] == 0x6982  # PIN1 (enabled on this identity) not verified
    assert host(card, uicc.verify_pin(uicc.PIN1, uicc.pin_bytes("0000"))).sw == 0x9000
    assert _auth(card, alg, 96, p2=0x80)[1] == 0x9864  # no GSM context in the ISIM (TS 31.103 §7.1)
    data, sw = _auth(card, alg, 96)
    res, ck, ik, _ = alg.f2345(bytes(range(16)))
    assert sw == 0x9000
    assert data == b"\xdb" + bytes([len(res)]) + res + b"\x10" + ck + b"\x10" + ik  # no Kc (TS 31.103 §7.1.2)
    assert _auth(card, alg, 96)[0][:1] == b"\xdc"  # the same SQN again: sync failure with AUTS
    wrong = aka.Milenage(bytes.fromhex(KI), bytes(16))
    assert _auth(card, wrong, 128)[1] == 0x9862


def test_sja2_isim_authenticates_with_its_own_key_file(tmp_path: Path) -> None:
    """On a sysmoISIM-SJA2 the ISIM's K/OPc live in ADF.ISIM/AF20: a different key there is the one IMS
    AKA uses, while the USIM keeps its own."""
    model = MODELS["sysmoISIM-SJA2"]
    card = _flashed(model, tmp_path)
    other = bytes(range(0x20, 0x30))
    raw = bytearray(card.file_bytes(f"{I}/EF.ISIM_AUTH_KEY"))
    raw[1:17] = other
    assert host(card, uicc.verify_pin(uicc.ADM1, ADM)).sw == 0x9000
    assert host(card, uicc.select_aid(ISIM_AID[:7], fcp=False)).sw == 0x9000
    assert host(card, uicc.select_fid(0xAF20, fcp=False)).sw == 0x9000
    assert host(card, uicc.update_binary(0, bytes(raw))).sw == 0x9000
    assert host(card, uicc.verify_pin(uicc.PIN1, uicc.pin_bytes("0000"))).sw == 0x9000
    usim_alg = aka.Milenage(bytes.fromhex(KI), bytes.fromhex(OPC))
    assert _auth(card, usim_alg, 96)[1] == 0x9862  # the ISIM no longer has the USIM's key
    assert _auth(card, aka.Milenage(other, bytes.fromhex(OPC)), 96)[1] == 0x9000
    assert host(card, uicc.select_aid(bytes.fromhex("A0000000871002"), fcp=False)).sw == 0x9000
    assert _auth(card, usim_alg, 128)[1] == 0x9000


# --- the CLI: the issue's acceptance commands --------------------------------------------------------------


@pytest.mark.parametrize("model", list(MODELS))
def test_acceptance_flash_read_auth_isim(tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "i.json"
    assert run_cli(["emulator", "new", card, "--adm-hex", ADM_HEX, "--model", model], capsys)[0] == 0
    code, out, err = run_cli(["flash", "--profile", PROFILE_1G, "--reader", f"emu:{card}", "--iccid", ICCID,
                              "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM_HEX, "--json"], capsys)
    assert code == 0, err
    assert KI not in out and OPC not in out
    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--json"], capsys)
    assert code == 0, err
    files = json.loads(out)["files"]
    assert files[f"{I}/EF.IMPI"]["value"] == f"{IMSI}@{DOMAIN}"
    assert files[f"{I}/EF.DOMAIN"]["value"] == DOMAIN
    assert files[f"{I}/EF.IMPU"]["value"][0] == f"sip:{IMSI}@{DOMAIN}"
    assert files[f"{I}/EF.IST"]["value"] == []
    assert files[f"{I}/EF.AD"]["value"] == {"ue_operation_mode": "normal", "ciphering_indicator": False}
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--app", "isim", "--ki", KI, "--opc", OPC], capsys)
    assert code == 0, err
    assert "authenticated: RES, CK, IK match" in out and "Kc" not in out
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--app", "isim", "--ki", KI, "--opc", "00" * 16,
                              "--json"], capsys)
    assert code == 1 and json.loads(out)["sw"] == "9862"
    code, out, err = run_cli(["auth", "--reader", f"emu:{card}", "--ki", KI, "--opc", OPC, "--json"], capsys)
    assert code == 0 and json.loads(out)["kc_present"] is True  # the USIM, the default, unchanged


def test_auth_on_a_card_without_an_isim_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A card file made before the model had an ISIM keeps its tree: SELECT answers 6A82, exit 1."""
    card = tmp_path / "old.json"
    create_card_file(card, ADM)
    doc = json.loads(card.read_text())
    doc["files"] = {p: v for p, v in doc["files"].items() if not p.startswith(f"{I}/")}
    card.write_text(json.dumps(doc))
    code, _, err = run_cli(["auth", "--reader", f"emu:{card}", "--app", "isim", "--ki", KI, "--opc", OPC], capsys)
    assert code == 1 and "has no ADF.ISIM" in err and "Traceback" not in err


def test_render_json_and_files_show_the_isim(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["profile", "render", PROFILE_1G, "--iccid", ICCID, "--imsi", IMSI, "--ki", KI,
                              "--opc", OPC, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    files = doc.get("files", doc)
    assert files[f"{I}/EF.DOMAIN"]["value"] == DOMAIN
    assert files[f"{I}/EF.IMPU"]["structure"] == "linear_fixed"
    code, out, err = run_cli(["files", "--json"], capsys)
    assert code == 0, err
    assert f"{I}/EF.P-CSCF" in out and "A0000000871004FFFFFFFF8907090000" in out.upper()
