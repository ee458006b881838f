"""`simtool.personalize.flash` at library level: what ends up on the card, APDU counts, guards, PINs, AKA.

Card contents are checked on the card's own memory (the state file / `Card.file_bytes`), never through the
flasher's own read-back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import simtool
from simtool.commands import uicc
from simtool.emulator import Card
from simtool.errors import EXIT_GUARD, EXIT_USAGE, GuardError, InputError
from simtool.personalize import plan
from simtool.personalize.flash import flash
from simtool.profile import load_profile
from simtool.profile.render import render
from simtool.transport.emulated import EmulatedTransport
from tests.personalize.personalize_helpers import (
    ADM,
    FS,
    ICCID,
    IMSI,
    KEY_PATH,
    KI,
    OPC,
    PIN1,
    PIN2,
    PINS_PATH,
    PROFILE_1G,
    PROFILE_4G,
    PUK1,
    PUK2,
    body,
    commands,
    identity,
    key_file_bytes,
    lower_bound,
    new_card,
    pin_file_bytes,
    profile_copy,
)

P1G = load_profile(PROFILE_1G)
P4G = load_profile(PROFILE_4G)
USIM_AID = FS["MF/ADF.USIM"].df.aid


def card_of(reader: simtool.Reader) -> Card:
    return reader.transport.card


def test_every_image_file_is_on_the_card_byte_for_byte(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    ident = identity()
    with simtool.open_reader(f"emu:{path}") as reader:
        result = flash(reader, P1G, ident)
    image = render(P1G, ident)
    card = Card.load(path)  # what was made durable, read back from the state file
    assert set(image.files) >= {"MF/ADF.USIM/EF.IMSI", "MF/DF.PLAN/EF.PLAN_DEF", KEY_PATH, PINS_PATH}
    for p, content in image.files.items():
        assert card.file_bytes(p) == body(content), p
    assert card.file_bytes("MF/ADF.USIM/EF.IMSI") == bytes.fromhex("082940800000000010")
    assert result.iccid == ICCID and result.imsi == IMSI
    assert set(result.written) == set(image.files)
    assert set(result.verified) == {p for p in image.files if not FS[p].ef.secret}


def test_key_and_pin_files_hold_the_identity(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    with simtool.open_reader(f"emu:{path}") as reader:
        flash(reader, P1G, identity())
    card = Card.load(path)
    assert card.file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, FS[KEY_PATH].ef.size)
    assert card.file_bytes(PINS_PATH) == pin_file_bytes(PIN1, PUK1, PIN2, PUK2, pin1_enabled=False)
    assert card.state.adm1 == ADM  # simtool verifies ADM1 and never changes it
    assert card.state.counters == {"pin1": 3, "pin2": 3, "puk1": 10, "puk2": 10, "adm1": 3}


@pytest.mark.parametrize("protocol", ["T=0", "T=1"])
@pytest.mark.parametrize("profile", [P1G, P4G], ids=["1gb", "4gb"])
def test_write_phase_meets_the_lower_bound(protocol: str, profile) -> None:
    """On a blank card the writes begin in ADF.USIM (the IMSI guard's DF) and must write EF.ICCID (MF)
    first: the bound under that rule is the any-order bound plus the SELECT back to ADF.USIM, and the plan
    meets it."""
    ident = identity()
    image = render(profile, ident)
    any_order = lower_bound(image.files)
    assert plan.lower_bound(FS, image.files) == any_order
    bound = lower_bound(image.files, free_df=None)
    assert bound == any_order + 1
    assert plan.lower_bound(FS, image.files, start_df="MF/ADF.USIM", first="MF/EF.ICCID") == bound
    assert plan.lower_bound(FS, image.files, start_df="MF", first="MF/EF.ICCID") == any_order
    trace: list[str] = []
    with simtool.open_reader(f"emu:?protocol={protocol}", trace=trace.append) as reader:
        assert reader.protocol == protocol
        result = flash(reader, profile, ident)
        assert reader.phases["write"].apdus == bound - 2
        assert reader.phases["adm"].apdus == 2
    assert result.lower_bound_write == bound - 2
    assert result.as_dict()["apdus"]["per_phase"]["write"]["apdus"] == bound - 2
    # Every transparent file with an SFI is written by SFI (P1 = 80|SFI), never after a SELECT.
    cmds = commands(trace)
    for p in image.files:
        ef = FS[p].ef
        if ef.sfi is not None and not ef.is_record:
            assert any(c.startswith(f"00D6{0x80 | ef.sfi:02X}00") for c in cmds), p
    assert not any(c.startswith("00A40004") or c.startswith("00A40804") for c in cmds[:60])  # no FCP selects


def test_invalid_input_stops_before_the_first_apdu(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    before = path.read_bytes()
    ident = identity(imsi="262010000000001")  # a valid IMSI, but not in the profile's PLMN 204/08
    with simtool.open_reader(f"emu:{path}") as reader, pytest.raises(InputError) as exc:
        flash(reader, P1G, ident)
    assert exc.value.exit_code == EXIT_USAGE
    assert "imsi" in str(exc.value) and "20408" in str(exc.value)
    assert reader.total.apdus == 0
    assert path.read_bytes() == before


@pytest.mark.parametrize("bad", [
    {"iccid": "8931080000000000018"},  # Luhn digit wrong
    {"ki": "000102030405060708090a0b0c0d0e"},  # 15 bytes
    {"adm1_hex": "31313131313131zz"},
    {"pin1": "12"},
])
def test_identity_errors_are_input_errors(bad: dict[str, str]) -> None:
    with pytest.raises(InputError) as exc:
        identity(**bad)
    field = next(iter(bad)).replace("_hex", "")
    assert f"{field}:" in str(exc.value)
    for secret in (KI, OPC, "31313131313131zz"):
        assert secret not in str(exc.value)


def test_vendor_iccid_that_differs_is_a_guard_refusal(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json", iccid="8931080000000000027")
    before = path.read_bytes()
    trace: list[str] = []
    with simtool.open_reader(f"emu:{path}", trace=trace.append) as reader, pytest.raises(GuardError) as exc:
        flash(reader, P1G, identity())
    assert exc.value.exit_code == EXIT_GUARD
    assert "8931080000000000027" in str(exc.value)
    assert path.read_bytes() == before
    assert not any(c.startswith("0020000A08") for c in commands(trace))  # ADM never presented
    assert not any(c[2:4] in ("D6", "DC") for c in commands(trace))


def test_vendor_iccid_that_matches_is_left_untouched(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json", iccid=ICCID)
    iccid_before = Card.load(path).file_bytes("MF/EF.ICCID")
    trace: list[str] = []
    with simtool.open_reader(f"emu:{path}", trace=trace.append) as reader:
        result = flash(reader, P1G, identity())
    assert result.preset == ["MF/EF.ICCID"]
    assert "MF/EF.ICCID" not in result.written
    iccid_bytes = body(render(P1G, identity()).files["MF/EF.ICCID"]).hex().upper()
    assert iccid_before.hex().upper() == iccid_bytes
    updates = [c for c in commands(trace) if c[2:4] in ("D6", "DC")]
    assert updates and not any(iccid_bytes in c for c in updates)
    card = Card.load(path)
    assert card.file_bytes("MF/EF.ICCID") == iccid_before
    assert card.file_bytes("MF/ADF.USIM/EF.IMSI") == bytes.fromhex("082940800000000010")


def test_a_card_with_another_imsi_needs_reprogram(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    old = identity(msisdn="+31612345678")
    with simtool.open_reader(f"emu:{path}") as reader:
        flash(reader, P4G, old)
    msisdn_old = Card.load(path).file_bytes("MF/ADF.USIM/EF.MSISDN")
    assert msisdn_old != b"\xff" * len(msisdn_old)

    new = identity(imsi="204080000000002")  # same card (ICCID), other subscriber, no MSISDN, no SPN
    no_spn = load_profile(profile_copy(tmp_path, drop=[r"^spn:.*\n", r"^  - spn .*\n"]))
    assert no_spn.spn is None
    before = path.read_bytes()
    with simtool.open_reader(f"emu:{path}") as reader, pytest.raises(GuardError) as exc:
        flash(reader, no_spn, new)
    assert "204080000000001" in str(exc.value) and exc.value.exit_code == EXIT_GUARD
    assert path.read_bytes() == before

    with simtool.open_reader(f"emu:{path}") as reader:
        flash(reader, no_spn, new, reprogram=True)
    card = Card.load(path)
    image = render(no_spn, new)
    for p, content in image.files.items():
        assert card.file_bytes(p) == body(content), p
    assert card.file_bytes("MF/ADF.USIM/EF.IMSI") == bytes.fromhex("082940800000000020")
    assert card.file_bytes("MF/ADF.USIM/EF.MSISDN") == b"\xff" * len(msisdn_old)
    assert card.file_bytes("MF/DF.TELECOM/EF.MSISDN") == b"\xff" * len(msisdn_old)
    assert card.file_bytes("MF/ADF.USIM/EF.SPN") == b"\xff" * 17
    assert card.file_bytes("MF/DF.GSM/EF.SPN") == b"\xff" * 17
    assert b"ims" not in card.file_bytes("MF/ADF.USIM/EF.ACL")  # the 4 GB plan's second APN is gone


def test_skip_equal_on_a_flashed_card_writes_only_the_secret_files() -> None:
    ident = identity()
    with simtool.open_reader("emu:") as first:
        flash(first, P1G, ident)
    first.reset()  # power cycle; a second session on the same card
    trace: list[str] = []
    reader = simtool.Reader(first.transport, trace=trace.append)  # masks secret files by default
    result = flash(reader, P1G, ident, skip_equal=True)
    card = card_of(reader)
    image = render(P1G, ident)
    readable = {p for p in image.files if not FS[p].ef.secret}
    secrets = {p: c for p, c in image.files.items() if FS[p].ef.secret}
    assert {KEY_PATH, PINS_PATH} <= set(secrets)
    assert result.preset == ["MF/EF.ICCID"]  # the card carries our ICCID now: left as it is
    assert set(result.skipped_equal) == readable - {"MF/EF.ICCID"}
    assert set(result.written) == set(secrets)
    assert set(result.verified) == readable
    assert result.auth is not None and result.auth.ok
    cmds = commands(trace)
    write_cmds = [c for c in cmds if c[2:4] in ("D6", "DC")]
    assert len(write_cmds) == len(secrets) and all("**" in c for c in write_cmds)
    assert result.phases["write"]["apdus"] == lower_bound(secrets) - 2
    assert card.file_bytes(KEY_PATH) == key_file_bytes(KI, OPC, FS[KEY_PATH].ef.size)


def _imsi_read(reader: simtool.Reader) -> int:
    reader.send(uicc.select_aid(USIM_AID, fcp=False)).check("SELECT")
    return reader.send(uicc.read_binary(0, 9, sfi=0x07)).sw


def _pin1_enabled_in_fcp(reader: simtool.Reader) -> bool:
    fcp = uicc.parse_fcp(reader.send(uicc.select_aid(USIM_AID, fcp=True)).check("SELECT").data)
    return {p["keyref"]: p["enabled"] for p in fcp["pin_status"]}[uicc.PIN1]


def test_pin1_enabled_profile(tmp_path: Path) -> None:
    prof = load_profile(profile_copy(tmp_path, edit={"pin1_enabled: false": "pin1_enabled: true"}))
    assert prof.pin1_enabled
    path = new_card(tmp_path / "c.json")
    with simtool.open_reader(f"emu:{path}") as reader:
        result = flash(reader, prof, identity())
    assert result.auth is not None and result.auth.ok
    assert Card.load(path).file_bytes(PINS_PATH) == pin_file_bytes(PIN1, PUK1, PIN2, PUK2, pin1_enabled=True)
    with simtool.open_reader(f"emu:{path}") as reader:  # a new session: nothing verified
        assert _pin1_enabled_in_fcp(reader)
        assert _imsi_read(reader) == 0x6982
        assert reader.send(uicc.verify_pin(uicc.PIN1, uicc.pin_bytes("0000"))).sw == 0x63C2  # the old default
        assert reader.send(uicc.verify_pin(uicc.PIN1, uicc.pin_bytes(PIN1))).sw == 0x9000
        resp = reader.send(uicc.read_binary(0, 9, sfi=0x07))
        assert resp.sw == 0x9000 and resp.data == bytes.fromhex("082940800000000010")


def test_pin1_disabled_profile(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    with simtool.open_reader(f"emu:{path}") as reader:
        flash(reader, P1G, identity())
    with simtool.open_reader(f"emu:{path}") as reader:
        assert not _pin1_enabled_in_fcp(reader)
        assert _imsi_read(reader) == 0x9000


def test_flash_result_carries_the_authenticate_outcome(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    with simtool.open_reader(f"emu:{path}") as reader:
        result = flash(reader, P1G, identity())
    auth = result.as_dict()["auth"]
    assert auth["ok"] is True and auth["sw"] == "9000" and auth["sqn"] == 32 and not auth["resynchronised"]
    assert auth["kc_present"] is True  # gsm_access is in the profile's services
    assert result.phases["auth"]["apdus"] >= 2
    sqn = Card.load(path).state.sqn.to_dict()
    assert sqn != type(Card.load(path).state.sqn)().to_dict()  # the card accepted SQN 32 and remembers it


def test_no_auth_leaves_the_sqn_alone(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json")
    fresh = Card.load(path).state.sqn.to_dict()
    with simtool.open_reader(f"emu:{path}") as reader:
        result = flash(reader, P1G, identity(), verify_auth=False)
    assert result.auth is None and "auth" not in result.phases
    assert Card.load(path).state.sqn.to_dict() == fresh


@pytest.mark.parametrize("protocol", ["T=0", "T=1"])
def test_the_first_write_after_verify_adm_is_the_iccid(protocol: str) -> None:
    """A blank card: after VERIFY ADM (and the IMSI guard read in ADF.USIM) the writes begin with SELECT MF
    and UPDATE BINARY of EF.ICCID (SFI 02 under the MF, FID 2FE2) with the identity's ICCID."""
    ident = identity()
    image = render(P1G, ident)
    trace: list[str] = []
    journaled: list[int] = []
    with simtool.open_reader(f"emu:?protocol={protocol}", trace=trace.append) as reader:
        flash(reader, P1G, ident, before_write=lambda: journaled.append(len(commands(trace))))
    cmds = commands(trace)
    verify = next(i for i, c in enumerate(cmds) if c.startswith("0020000A08"))
    writes = [i for i, c in enumerate(cmds) if i > verify and c[2:4] in ("D6", "DC")]
    first = writes[0]
    assert journaled == [first]  # `writing` is committed once, right before that UPDATE: a one-APDU window
    assert cmds[first] == f"00D682000A{image.files['MF/EF.ICCID'].hex().upper()}"
    selects = [c for c in cmds[verify + 1 : first] if c.startswith("00A4")]
    assert selects[-1] == "00A4000C023F00"  # the SFI is the MF's: EF.ICCID, not ADF.USIM's EF.LI (also 02)
    assert FS["MF/EF.ICCID"].ef.fid == 0x2FE2 and FS["MF/EF.ICCID"].ef.sfi == 0x02


def test_a_card_carrying_its_iccid_keeps_the_any_order_plan(tmp_path: Path) -> None:
    """With the ICCID already on the card (a vendor's pre-printed card) nothing must come first: the writes
    begin in ADF.USIM where the guard left the card, and the plan meets the any-order bound."""
    ident = identity()
    image = render(P1G, ident)
    card = Card.blank(adm=ADM, iccid=ICCID)
    files = {p: c for p, c in image.files.items() if p != "MF/EF.ICCID"}
    trace: list[str] = []
    reader = simtool.Reader(EmulatedTransport(card, "emu:"), trace=trace.append)
    result = flash(reader, P1G, ident)
    assert result.preset == ["MF/EF.ICCID"]
    assert result.phases["write"]["apdus"] == lower_bound(files) - 2 == result.lower_bound_write
    cmds = commands(trace)
    verify = next(i for i, c in enumerate(cmds) if c.startswith("0020000A08"))
    iccid_update = f"00D682000A{image.files['MF/EF.ICCID'].hex().upper()}"
    assert iccid_update not in cmds[verify:]  # the ICCID is not written again
    imsi_read = cmds.index("00B0870009", verify)  # the IMSI guard, in ADF.USIM: the writes go on from there
    after = imsi_read + 1
    while cmds[after].startswith("00A4000C02"):  # presence probes of ADF.USIM's EFs (SELECT by FID, no DF change)
        after += 1
    assert cmds[after][2:4] == "D6"
