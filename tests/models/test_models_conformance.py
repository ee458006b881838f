"""The card image conforms to TS 31.102: every shipped profile on every card model holds the mandatory files
and the files of every service it turns on (simtool.fs.conformance); a model that lacks them is refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simtool.emulator.blank import create_card_file
from simtool.errors import CardError
from simtool.fs import MODELS
from simtool.fs.cardmodel import CardModel
from simtool.fs.conformance import MANDATORY, SERVICE_FILES, missing_files, needed
from simtool.personalize.flash import flash
from simtool.profile import load_profile, validate_profile
from simtool.profile.capacity import capacities_for_model
from simtool.profile.render import render
from simtool.transport import open_reader
from tests.models.models_helpers import ADM, identity, run_cli

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
NEW_FILES = ("MF/ADF.USIM/EF.SMS", "MF/ADF.USIM/EF.SMSS", "MF/ADF.USIM/EF.START-HFN",
             "MF/ADF.USIM/EF.THRESHOLD", "MF/ADF.USIM/EF.NETPAR", "MF/ADF.USIM/EF.EPSNSC",
             "MF/ADF.USIM/DF.GSM-ACCESS/EF.Kc", "MF/ADF.USIM/DF.GSM-ACCESS/EF.KcGPRS")


def test_the_table_names_only_known_services_and_cites_every_entry() -> None:
    from simtool.encoding.services import UST_BY_NAME

    assert set(SERVICE_FILES) <= set(UST_BY_NAME)
    for need in (*MANDATORY, *(n for ns in SERVICE_FILES.values() for n in ns)):
        assert need.path.startswith("MF/") and need.clause.startswith("TS "), need


@pytest.mark.parametrize("model", list(MODELS.values()), ids=list(MODELS))
@pytest.mark.parametrize("profile_path", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_on_every_model_conforms(profile_path: Path, model: CardModel) -> None:
    profile = load_profile(profile_path, capacities_for_model(model))
    assert missing_files(profile.services, model.fs) == []
    # ...and the services that matter here are really in the table, with the files the issue named
    paths = {n.path for n in needed(profile.services)}
    assert {"MF/ADF.USIM/EF.SMS", "MF/ADF.USIM/EF.SMSS", "MF/ADF.USIM/DF.GSM-ACCESS/EF.Kc",
            "MF/ADF.USIM/DF.GSM-ACCESS/EF.KcGPRS", "MF/ADF.USIM/EF.EPSNSC", "MF/ADF.USIM/EF.START-HFN",
            "MF/ADF.USIM/EF.THRESHOLD"} <= paths
    # The rendered image writes the mandatory key-lifetime files with their initial values.
    image = render(profile, identity(), model)
    assert image.files["MF/ADF.USIM/EF.START-HFN"] == bytes.fromhex("F00000F00000")
    assert image.files["MF/ADF.USIM/DF.GSM-ACCESS/EF.Kc"] == bytes.fromhex("FF" * 8 + "07")


def _without_sms(model: CardModel) -> CardModel:
    """The model with EF.SMS taken out of ADF.USIM (as a card family without SMS storage would be)."""
    from simtool.fs import tree

    usim = dataclasses.replace(tree.USIM, children=tuple(c for c in tree.USIM.children if c.name != "EF.SMS"))
    mf = dataclasses.replace(tree.MF, children=tuple(usim if c.name == "ADF.USIM" else c for c in tree.MF.children))
    lean = dataclasses.replace(model, name="lean")
    orig = tree.MF
    try:
        tree.MF = mf
        lean.fs  # noqa: B018  (built now, from the lean tree; cached on the object)
    finally:
        tree.MF = orig
    return lean


def test_a_model_without_the_files_of_a_service_is_refused_naming_the_service() -> None:
    lean = _without_sms(MODELS["simtool-emu"])
    assert "MF/ADF.USIM/EF.SMS" not in lean.fs
    _, errors, _ = validate_profile(PROFILES[0], capacities_for_model(lean))
    assert len(errors) == 1
    text = PROFILES[0].read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.strip().startswith("- sms "))
    assert errors[0].startswith(f"{PROFILES[0]}:{line}: services.0: service 'sms' (UST 10) needs "
                                "MF/ADF.USIM/EF.SMS (TS 31.102 §4.2.25, §4.2.28); card model lean does not hold it")


def test_validate_for_every_model_reports_what_was_fitted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["profile", "validate", "--json", *PROFILES], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [r["models"] for r in doc["results"]] == [list(MODELS)] * len(PROFILES)
    for r in doc["results"]:
        (cut,) = r["fitted"]
        assert (cut["model"], cut["file"], cut["holds"]) == ("sysmoISIM-SJA2", "EF.OPLMNwACT", 12)
        assert any("leaves out " + ", ".join(cut["left_out"]) in w for w in r["warnings"])
    code, _, err = run_cli(["profile", "validate", "--model", "nope", *PROFILES], capsys)
    assert code == 2 and "unknown card model 'nope'" in err


# --- a card made before the model gained these files keeps its tree --------------------------------------


def _old_card(tmp_path: Path, model: str = "simtool-emu") -> Path:
    """A card file as the previous simtool wrote it: the same tree without the files added since."""
    card = tmp_path / "old.json"
    create_card_file(card, ADM, model=model)
    doc = json.loads(card.read_text())
    for path in NEW_FILES:
        del doc["files"][path]
    card.write_text(json.dumps(doc))
    return card


@pytest.mark.parametrize("model", list(MODELS))
def test_an_old_card_reads_with_the_new_files_absent(tmp_path: Path, model: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    card = _old_card(tmp_path, model)
    code, out, err = run_cli(["read", "--reader", f"emu:{card}", "--adm-hex", ADM.hex(), "--json"], capsys)
    assert code == 0, err
    files = json.loads(out)["files"]
    for path in NEW_FILES:
        assert files[path]["present"] is False, path
    assert files["MF/ADF.USIM/EF.IMSI"].get("present", True) and "value" in files["MF/ADF.USIM/EF.IMSI"]
    assert json.loads(card.read_text())["files"].keys().isdisjoint(NEW_FILES)  # reading changed nothing


def test_flash_refuses_an_old_card_naming_the_missing_file_before_any_write(tmp_path: Path) -> None:
    card = _old_card(tmp_path)
    before = json.loads(card.read_text())["files"]
    with open_reader(f"emu:{card}") as reader, pytest.raises(CardError) as info:
        flash(reader, load_profile(PROFILES[0]), identity())
    assert "MF/ADF.USIM/EF.NETPAR" in str(info.value) and "nothing was written" in str(info.value)
    assert info.value.details == {"missing": "MF/ADF.USIM/EF.NETPAR"}
    assert json.loads(card.read_text())["files"] == before  # (the ADM VERIFY saved its counter, nothing else)


def test_flash_names_a_missing_file_it_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A card that has EF.SMS/SMSS/NETPAR but not DF.GSM-ACCESS: exit 1, the DF named."""
    card = tmp_path / "c.json"
    create_card_file(card, ADM)
    doc = json.loads(card.read_text())
    for path in NEW_FILES[-2:]:
        del doc["files"][path]
    card.write_text(json.dumps(doc))
    from tests.models.models_helpers import ICCID, IMSI, KI, OPC

    code, _, err = run_cli(["flash", "--profile", PROFILES[0], "--reader", f"emu:{card}", "--iccid", ICCID,
                            "--imsi", IMSI, "--ki", KI, "--opc", OPC, "--adm-hex", ADM.hex()], capsys)
    assert code == 1 and "DF.GSM-ACCESS" in err and "6A82" in err
