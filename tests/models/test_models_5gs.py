"""DF.5GS on both card models: the shipped profiles turn on the 5G files with the null scheme, the test profile
carries the TS 33.501 C.4 public keys, and what the card holds lets a SUCI be concealed and deconcealed.

Expected bytes are written out from TS 31.102 §4.4.11 here, not taken from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simtool.crypto import suci as ecies
from simtool.crypto.suci_id import HomeNetworkKey, Suci
from simtool.emulator.blank import create_card_file
from simtool.encoding.efs import UST
from simtool.fs import MODELS
from simtool.fs.cardmodel import CardModel
from simtool.fs.conformance import missing_files, needed
from simtool.profile import load_profile, validate_profile
from simtool.profile.capacity import capacities_for_model
from simtool.profile.render import render
from tests.models.models_helpers import ADM, ICCID, IMSI, KI, OPC, identity, run_cli

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
DATA = ROOT / "tests" / "data" / "suci"
TEST_PROFILE = DATA / "kpn-wechat-1gb-15d-suci.yaml"
G = "MF/ADF.USIM/DF.5GS"
FILES_5GS = ("EF.5GS3GPPLOCI", "EF.5GSN3GPPLOCI", "EF.5GS3GPPNSC", "EF.5GSN3GPPNSC", "EF.5GAUTHKEYS", "EF.UAC_AIC",
             "EF.SUCI_Calc_Info", "EF.OPL5G", "EF.Routing_Indicator")
# Sizes on a sysmoISIM-SJA2 (pySim's card-sanitizer backup of one): every file of DF.5GS simtool declares.
SJA2_SIZES = {"EF.5GS3GPPLOCI": 20, "EF.5GSN3GPPLOCI": 20, "EF.5GS3GPPNSC": 64, "EF.5GSN3GPPNSC": 64,
              "EF.5GAUTHKEYS": 68, "EF.UAC_AIC": 4, "EF.SUCI_Calc_Info": 100, "EF.OPL5G": 100,
              "EF.Routing_Indicator": 4}
A_PUB = "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650"
B_PUB = "0272da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1"


def _ust_bits(body: bytes) -> set[int]:
    return {8 * i + b + 1 for i, byte in enumerate(body) for b in range(8) if byte >> b & 1}


def test_the_sja2_model_holds_the_real_cards_5gs_sizes() -> None:
    fs = MODELS["sysmoISIM-SJA2"].fs
    assert {n: fs[f"{G}/{n}"].ef.body_size for n in FILES_5GS} == SJA2_SIZES
    assert fs[f"{G}/EF.5GS3GPPNSC"].ef.record_length == 64 and fs[f"{G}/EF.OPL5G"].ef.record_count == 10
    assert {f"{fs[f'{G}/{n}'].ef.sfi:02X}" for n in FILES_5GS} == {"01", "02", "03", "04", "05", "06", "07", "08", "0A"}
    assert f"{G}/EF.SUPI_NAI" not in fs  # service 130 stays off: simtool declares no SUPI_NAI
    assert not any(m.usim_computes_suci for m in MODELS.values())


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
@pytest.mark.parametrize("profile_path", PROFILES, ids=[p.stem for p in PROFILES])
def test_shipped_profiles_turn_on_the_5g_files_with_the_null_scheme(profile_path: Path, model: CardModel) -> None:
    profile = load_profile(profile_path, capacities_for_model(model))
    paths = {n.path for n in needed(profile.services)}
    assert {G, *(f"{G}/{n}" for n in FILES_5GS if n != "EF.OPL5G")} <= paths
    assert missing_files(profile.services, model.fs) == []
    image = render(profile, identity(), model)
    bits = _ust_bits(image.files["MF/ADF.USIM/EF.UST"])
    assert {122, 123, 124, 126} <= bits and not bits & {125, 129, 130}
    size = model.fs[f"{G}/EF.SUCI_Calc_Info"].ef.size
    # null scheme (0) with key index 0, an empty key list (TS 31.102 §4.4.11.8), FF to the file's end
    assert image.files[f"{G}/EF.SUCI_Calc_Info"] == bytes.fromhex("A0020000A100") + b"\xff" * (size - 6)
    assert image.files[f"{G}/EF.Routing_Indicator"] == bytes.fromhex("F0FFFFFF")  # "0", F padded
    assert image.files[f"{G}/EF.UAC_AIC"] == bytes.fromhex("00FFFFFF")  # neither MPS nor MCS
    assert image.files[f"{G}/EF.5GS3GPPLOCI"] == b"\xff" * 19 + b"\x01"  # no 5G-GUTI, not updated
    rec = model.fs[f"{G}/EF.5GS3GPPNSC"].ef.record_length
    assert image.files[f"{G}/EF.5GS3GPPNSC"] == [b"\xff" * rec]


def test_the_test_profile_is_the_shipped_one_but_for_its_suci_section() -> None:
    shipped = (ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml").read_text(encoding="utf-8")
    test = TEST_PROFILE.read_text(encoding="utf-8")

    def outside(text: str) -> str:  # the text without the suci section and the comment above it
        lines = text.splitlines(keepends=True)
        start = end = lines.index("suci:\n")
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        end += 1
        while end < len(lines) and lines[end].startswith("  "):
            end += 1
        return "".join(lines[:start] + lines[end:])

    assert outside(test).replace("-suci\n", "\n", 1) == outside(shipped)
    for name in ("hn-profile-a-id1.key", "hn-profile-b-id2.key"):
        key = HomeNetworkKey.load(DATA / name)
        assert key.public.hex() in test


@pytest.mark.parametrize("model", list(MODELS))
def test_a_card_flashed_with_test_keys_lets_a_suci_round_trip(tmp_path: Path, model: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "card.json"
    create_card_file(card, ADM, model=model)
    code, _, err = run_cli(["flash", "--profile", TEST_PROFILE, "--reader", f"emu:{card}", "--iccid", ICCID,
                            "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM.hex(), "--json"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--adm-hex", ADM.hex(), "--json"], capsys)
    assert code == 0, err
    files = json.loads(out)["files"]
    calc = files[f"{G}/EF.SUCI_Calc_Info"]["value"]
    assert calc == {"schemes": [{"scheme": "profile_b", "key_index": 1}, {"scheme": "profile_a", "key_index": 2},
                                {"scheme": "null_scheme", "key_index": 0}],
                    "keys": [{"id": 2, "public_key": B_PUB}, {"id": 1, "public_key": A_PUB}]}
    assert files[f"{G}/EF.Routing_Indicator"]["value"] == {"routing_indicator": "71"}
    assert UST.decode(bytes.fromhex(json.loads(card.read_text())["files"]["MF/ADF.USIM/EF.UST"]))[-4:] == [
        "5gs_mm_info", "5g_security_params", "suci_privacy", "uac_access_identities"]
    # What a handset does with the card's highest-priority scheme: conceal the MSIN under the card's key;
    # the home network's test key (tests/data/suci) gets the IMSI back.
    first = calc["schemes"][0]
    key = calc["keys"][first["key_index"] - 1]
    output = ecies.conceal(ecies.msin_encode(IMSI[5:]), "B", bytes.fromhex(key["public_key"]))
    suci = Suci("204", "08", "71", 2, key["id"], output.hex())
    assert HomeNetworkKey.load(DATA / "hn-profile-b-id2.key").deconceal(suci) == IMSI


def _variant(tmp_path: Path, suci_block: str, services_extra: str = "") -> Path:
    lines = TEST_PROFILE.read_text(encoding="utf-8").splitlines(keepends=True)
    start = end = lines.index("suci:\n")
    end += 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    text = "".join(lines[:start]) + suci_block + "".join(lines[end:])
    if services_extra:
        text = text.replace("  - uac_access_identities", services_extra + "\n  - uac_access_identities")
    p = tmp_path / "kpn-wechat-1gb-15d-suci.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _line(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in t)


def test_a_private_key_in_a_profile_is_refused_with_its_line(tmp_path: Path) -> None:
    p = _variant(tmp_path, "suci:\n  protection_schemes: [profile_a, null_scheme]\n  home_network_keys:\n"
                 f"    - id: 1\n      scheme: profile_a\n      public_key: \"{A_PUB}\"\n"
                 "      private_key: \"c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d\"\n")
    _, errors, _ = validate_profile(p)
    line = _line(p, "private_key:")
    assert errors == [f"{p}:{line}: suci.home_network_keys.0.private_key: 'private_key' looks like a home network "
                      "private key, which never goes into a profile: it stays with the network's SIDF (the file "
                      "`simtool suci keygen --out` writes); put only public_key here"]
    assert "c53c2220" not in errors[0]


@pytest.mark.parametrize(("block", "where", "reason"), [
    ("suci:\n  protection_schemes: [profile_a]\n  home_network_keys:\n"
     f"    - {{id: 1, scheme: profile_a, publc_key: \"{A_PUB}\"}}\n",
     "suci.home_network_keys.0.publc_key", "unknown key 'publc_key'; did you mean 'public_key'?"),
    ("suci:\n  protection_schemes: [profile_a, null_scheme]\n",
     "suci.protection_schemes.0", "profile_a needs exactly one key of scheme profile_a in home_network_keys, found 0"),
    ("suci:\n  protection_schemes: [profile_a]\n  home_network_keys:\n"
     "    - {id: 1, scheme: profile_a, public_key: \"00ff\"}\n",
     "suci.home_network_keys.0.public_key", "a profile A public key is 32 bytes, got 2"),
    ("suci:\n  protection_schemes: [profile_b]\n  home_network_keys:\n"
     f"    - {{id: 1, scheme: profile_b, public_key: \"02{'ff' * 32}\"}}\n",
     "suci.home_network_keys.0.public_key", "the profile B public key is not a point on P-256"),
    ("suci:\n  protection_schemes: [null_scheme, profil_a]\n", "suci.protection_schemes.1", "must be one of"),
    ("suci:\n  protection_schemes: [null_scheme]\n  routing_indicator: \"12345\"\n", "suci.routing_indicator",
     "must be 1 to 4 digits"),
])
def test_suci_section_errors_are_located(tmp_path: Path, block: str, where: str, reason: str) -> None:
    p = _variant(tmp_path, block)
    _, errors, _ = validate_profile(p)
    assert [e for e in errors if f": {where}: " in e and reason in e], errors
    assert all(e.startswith(f"{p}:") and e.split(":")[1].isdigit() for e in errors), errors


@pytest.mark.parametrize(("service", "reason"), [
    ("suci_by_usim", "card model simtool-emu does not calculate the SUCI itself; the handset does"),
    ("supi_nai", "the SUPI is the IMSI"),
])
def test_services_125_and_130_are_refused(tmp_path: Path, service: str, reason: str) -> None:
    p = _variant(tmp_path, "suci:\n  protection_schemes: [null_scheme]\n", f"  - {service}")
    _, errors, _ = validate_profile(p)
    assert len(errors) == 1 and f"service {service!r}: {reason}" in errors[0], errors
    assert f":{_line(p, '  - ' + service)}: services." in errors[0]


def test_a_key_list_too_big_for_the_sja2_file_is_refused_there_only(tmp_path: Path) -> None:
    uncompressed = ecies.uncompressed(bytes.fromhex(B_PUB)).hex()
    p = _variant(tmp_path, "suci:\n  protection_schemes: [profile_b, profile_a]\n  home_network_keys:\n"
                 f"    - {{id: 2, scheme: profile_b, public_key: \"{uncompressed}\"}}\n"
                 f"    - {{id: 1, scheme: profile_a, public_key: \"{A_PUB}\"}}\n")
    assert validate_profile(p, capacities_for_model("simtool-emu"))[1] == []
    _, errors, _ = validate_profile(p, capacities_for_model("sysmoISIM-SJA2"))
    assert len(errors) == 1 and "EF.SUCI_Calc_Info needs 115 bytes, card model sysmoISIM-SJA2 holds 100" in errors[0]


def test_suci_privacy_without_a_suci_section_is_refused(tmp_path: Path) -> None:
    p = _variant(tmp_path, "")
    _, errors, _ = validate_profile(p)
    assert len(errors) == 1 and "service 'suci_privacy' is set but the profile has no suci section" in errors[0]


def test_pysim_reads_the_5gs_files_as_simtool_means_them() -> None:
    """Replay of pySim's decoders on the bytes simtool writes (tests/data/suci/pysim-decoded-5gs.json)."""
    rec = json.loads((DATA / "pysim-decoded-5gs.json").read_text())
    image = render(load_profile(TEST_PROFILE), identity(), "simtool-emu")
    for name, seen in rec["files"].items():
        path = f"MF/ADF.USIM/{name}" if name == "EF.UST" else f"{G}/{name}"
        body = image.files[path]
        assert (body[0] if isinstance(body, list) else body).hex() == seen["hex"], name
    files = rec["files"]
    ours = image.decode(f"{G}/EF.SUCI_Calc_Info")
    ids = {"null_scheme": 0, "profile_a": 1, "profile_b": 2}
    assert [(s["identifier"], s["key_index"]) for s in files["EF.SUCI_Calc_Info"]["pysim"]["prot_scheme_id_list"]] == [
        (ids[s["scheme"]], s["key_index"]) for s in ours["schemes"]]
    assert [(k["hnet_pubkey_identifier"], k["hnet_pubkey"]) for k in files["EF.SUCI_Calc_Info"]["pysim"][
        "hnet_pubkey_list"]] == [(k["id"], k["public_key"].hex()) for k in ours["keys"]]
    assert files["EF.Routing_Indicator"]["pysim"]["routing_indicator"] == "71"
    assert files["EF.UAC_AIC"]["pysim"]["uac_access_id_config"] == {"multimedia_priority_service": False,
                                                                   "mission_critical_service": False}
    assert files["EF.5GS3GPPLOCI"]["pysim"]["5gs_update_status"] == "not_updated"
    assert files["EF.5GS3GPPNSC"]["pysim"] == {"five_gs_nas_security_context": None}
    assert set(files["EF.UST"]["pysim_activated"]) == {
        n for n in range(1, 137) if n in _ust_bits(image.files["MF/ADF.USIM/EF.UST"])}
    # pySim writes a null-scheme-only file as simtool does (and cannot read it back: see docs/interop.md)
    shipped = render(load_profile(PROFILES[0]), identity(), "simtool-emu").files[f"{G}/EF.SUCI_Calc_Info"]
    assert shipped.hex().upper().startswith(rec["null_scheme_only"]["pysim_encode_hex"])
    assert shipped.hex().upper().rstrip("F") == rec["null_scheme_only"]["pysim_encode_hex"].rstrip("F")
