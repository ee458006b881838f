"""UICC/USIM builders (byte-exact, specfacts §2 and §4.1) and response parsers (§2.3, §4.2)."""

from __future__ import annotations

import pytest

from simtool.commands import (
    ADM1,
    PIN1,
    PIN2,
    UNIVERSAL_PIN,
    Apdu,
    Ins,
    MalformedResponse,
    SecretFormatError,
    adm_bytes,
    adm_from_ascii,
    adm_from_hex,
    authenticate_3g,
    authenticate_gsm,
    change_pin,
    disable_pin,
    enable_pin,
    envelope,
    fetch,
    get_response,
    ins_name,
    keyref_name,
    life_cycle_name,
    manage_channel_close,
    manage_channel_open,
    parse_auth_response,
    parse_fcp,
    parse_manage_channel,
    parse_retry_counter,
    parse_search_record,
    pin_bytes,
    read_binary,
    read_record,
    search_record,
    select_aid,
    select_child_df,
    select_fid,
    select_mf,
    select_parent,
    select_path,
    select_path_from_current,
    status,
    terminal_profile,
    terminal_response,
    unblock_pin,
    update_binary,
    update_record,
    verify_pin,
)
from simtool.errors import EXIT_USAGE, InputError


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


AUTH_3G_NO_KC = (
    "DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB 10 F769BCD751044604127672711C6D3441"
)
PIN_1234 = h("31323334FFFFFFFF")
PIN_5678 = h("35363738FFFFFFFF")
PUK = h("3132333435363738")
USIM_AID = h("A0000000871002FFFFFFFF8907090000")
RAND = h("23553CBE9637A89D218AE64DAE47BF35")  # TS 35.208 set 1
AUTN = h("55F328B43577B9B94A9FFAC354DFAFB3")  # specfacts §2.3

BUILDERS: list[tuple[str, Apdu, str]] = [
    # SELECT
    ("select MF", select_mf(), "00A4000C 02 3F00"),
    ("select MF, FCP", select_mf(fcp=True), "00A40004 02 3F00 00"),
    ("select fid", select_fid(0x6F07), "00A4000C 02 6F07"),
    ("select fid, FCP", select_fid(0x2FE2, fcp=True), "00A40004 02 2FE2 00"),
    ("select child DF", select_child_df(0x7F10), "00A4010C 02 7F10"),
    ("select parent", select_parent(), "00A4030C"),
    ("select parent, FCP", select_parent(fcp=True), "00A40304 00"),
    ("select path list", select_path([0x7FFF, 0x6F07]), "00A4080C 04 7FFF6F07"),
    ("select path bytes with MF", select_path(h("3F007F206F07")), "00A4080C 04 7F206F07"),
    ("select path FCP", select_path([0x7F10, 0x6F3A], fcp=True), "00A40804 04 7F106F3A 00"),
    ("select path MF only", select_path([0x3F00]), "00A4000C 02 3F00"),
    ("select path from current", select_path_from_current([0x6F07]), "00A4090C 02 6F07"),
    ("select USIM prefix", select_aid(h("A0000000871002")), "00A4040C 07 A0000000871002"),
    ("select AID, FCP", select_aid(USIM_AID, fcp=True), "00A40404 10 A0000000871002FFFFFFFF8907090000 00"),
    ("select AID next", select_aid(USIM_AID[:7], occurrence="next"), "00A4040E 07 A0000000871002"),
    ("select AID terminate", select_aid(USIM_AID[:7], terminate=True), "00A4044C 07 A0000000871002"),
    # STATUS
    ("status FCP", status(), "80F20000 00"),
    ("status no data", status(0x00, 0x0C), "80F2000C"),
    ("status DF name, app init", status(0x01, 0x01), "80F20101 00"),
    # READ / UPDATE BINARY
    ("read IMSI by SFI", read_binary(0, 9, sfi=0x07), "00B08700 09"),
    ("read binary offset", read_binary(0x0102, 16), "00B00102 10"),
    ("read binary 256", read_binary(), "00B00000 00"),
    ("read binary SFI offset", read_binary(0x10, 4, sfi=0x1E), "00B09E10 04"),
    ("update IMSI by SFI", update_binary(0, h("0809101010325476"), sfi=7), "00D68700 08 0809101010325476"),
    ("update binary offset", update_binary(0x0110, h("0102")), "00D60110 02 0102"),
    # records
    ("read record 1", read_record(1, 0x28), "00B20104 28"),
    ("read record SFI", read_record(2, 0x28, sfi=0x1E), "00B202F4 28"),
    ("read next", read_record(0, 0x28, mode="next"), "00B20002 28"),
    ("read previous", read_record(0, 0x28, mode="previous"), "00B20003 28"),
    ("read current", read_record(0, 0x28, mode="current"), "00B20004 28"),
    ("update record", update_record(1, h("19F1FF01")), "00DC0104 04 19F1FF01"),
    ("update record SFI", update_record(3, h("AA"), sfi=1), "00DC030C 01 AA"),
    ("update cyclic", update_record(0, h("AABB"), mode="previous"), "00DC0003 02 AABB"),
    ("search forward", search_record(h("1234")), "00A20104 02 1234 00"),
    ("search backward SFI", search_record(h("1234"), rec=3, forward=False, sfi=1), "00A2030D 02 1234 00"),
    # PINs
    ("verify PIN1", verify_pin(PIN1, PIN_1234), "00200001 08 31323334FFFFFFFF"),
    ("verify ADM1", verify_pin(ADM1, h("3838383838383838")), "0020000A 08 3838383838383838"),
    ("ADM retry query", verify_pin(ADM1, None), "0020000A"),
    ("PIN2 retry query", verify_pin(PIN2, None), "00200081"),
    ("change PIN", change_pin(PIN1, PIN_1234, PIN_5678), "00240001 10 31323334FFFFFFFF 35363738FFFFFFFF"),
    ("disable PIN", disable_pin(PIN1, PIN_1234), "00260001 08 31323334FFFFFFFF"),
    ("disable PIN, universal", disable_pin(PIN1, PIN_1234, UNIVERSAL_PIN), "00261101 08 31323334FFFFFFFF"),
    ("enable PIN2", enable_pin(PIN2, PIN_1234), "00280081 08 31323334FFFFFFFF"),
    ("PUK retry query", unblock_pin(PIN1, None), "002C0001"),
    ("unblock", unblock_pin(PIN1, PUK, PIN_1234), "002C0001 10 3132333435363738 31323334FFFFFFFF"),
    # other ISO
    ("get response", get_response(0x19), "00C00000 19"),
    ("get response 256", get_response(256), "00C00000 00"),
    ("open channel", manage_channel_open(), "00700000 01"),
    ("open channel 2", manage_channel_open(2), "00700002"),
    ("close channel", manage_channel_close(1), "00708001"),
    (
        "AUTHENTICATE 3G (specfacts §2.3)",
        authenticate_3g(RAND, AUTN),
        "00880081 22 10 23553CBE9637A89D218AE64DAE47BF35 10 55F328B43577B9B94A9FFAC354DFAFB3 00",
    ),
    ("AUTHENTICATE GSM", authenticate_gsm(RAND), "00880080 11 10 23553CBE9637A89D218AE64DAE47BF35 00"),
    # CAT
    ("terminal profile", terminal_profile(h("FFFF")), "80100000 02 FFFF"),
    ("envelope menu selection", envelope(h("D30782020181900101")), "80C20000 09 D30782020181900101"),
    ("envelope with Le", envelope(h("D100"), le=256), "80C20000 02 D100 00"),
    ("fetch", fetch(0x12), "80120000 12"),
    ("terminal response", terminal_response(h("810301250082028281830100")),
     "80140000 0C 810301250082028281830100"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "apdu", "expected"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_builder_bytes(name: str, apdu: Apdu, expected: str) -> None:
    assert apdu.to_bytes() == h(expected)
    assert Apdu.from_bytes(apdu.to_bytes()) == apdu


@pytest.mark.parametrize(
    "apdu",
    [status(), terminal_profile(b"\x01"), envelope(b"\xd1\x00"), fetch(1), terminal_response(b"\x81\x00")],
)
def test_proprietary_class(apdu: Apdu) -> None:
    assert apdu.cla == 0x80


def test_select_fcp_is_case_4_and_no_fcp_case_3() -> None:
    assert select_fid(0x6F07, fcp=True).case == 4
    assert select_fid(0x6F07).case == 3


def test_builders_on_a_logical_channel() -> None:
    assert select_mf().with_channel(1).to_bytes() == h("01A4000C023F00")
    assert status().with_channel(5).to_bytes() == h("C1F2000000")


@pytest.mark.parametrize(
    "build",
    [
        lambda: select_fid(0x10000),
        lambda: select_path(h("3F007F")),
        lambda: select_path_from_current([]),
        lambda: select_aid(b""),
        lambda: select_aid(bytes(17)),
        lambda: select_aid(USIM_AID, occurrence="sideways"),
        lambda: status(p2=0x05),
        lambda: status(p1=0x07),
        lambda: read_binary(0, 9, sfi=0),
        lambda: read_binary(0, 9, sfi=31),
        lambda: read_binary(256, 1, sfi=7),
        lambda: read_binary(0x8000, 1),
        lambda: read_binary(0, 0),
        lambda: read_binary(0, 257),
        lambda: update_binary(0, b""),
        lambda: update_binary(0, bytes(256)),
        lambda: read_record(0, 10),
        lambda: read_record(255, 10),
        lambda: read_record(1, 10, mode="next"),
        lambda: read_record(1, 10, mode="sideways"),  # type: ignore[arg-type]
        lambda: update_record(0, b"\x00"),
        lambda: search_record(b""),
        lambda: search_record(b"\x00", rec=0),
        lambda: unblock_pin(PIN1, PUK),
        lambda: unblock_pin(PIN1, None, PIN_1234),
        lambda: manage_channel_open(20),
        lambda: manage_channel_close(0),
        lambda: authenticate_3g(RAND[:15], AUTN),
        lambda: authenticate_3g(RAND, AUTN + b"\x00"),
        lambda: authenticate_gsm(b""),
        lambda: fetch(0),
        lambda: get_response(257),
    ],
)
def test_builders_reject_bad_arguments(build) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: verify_pin(PIN1, b"1234"),
        lambda: change_pin(PIN1, PIN_1234, b"12345"),
        lambda: disable_pin(PIN1, bytes(9)),
        lambda: enable_pin(PIN1, b""),
        lambda: unblock_pin(PIN1, b"12345678", b"98765"),
    ],
)
def test_pin_builders_want_8_bytes_and_never_echo_the_value(build) -> None:
    with pytest.raises(SecretFormatError) as e:
        build()
    for secret in ("1234", "31323334", "98765"):
        assert secret not in str(e.value)


# --- PIN / ADM values ---------------------------------------------------------------------------------------


def test_pin_bytes() -> None:
    assert pin_bytes("1234") == h("31323334FFFFFFFF")
    assert pin_bytes("12345678") == h("3132333435363738")


@pytest.mark.parametrize("bad", ["123", "123456789", "12a4", "１２３４", "", " 1234"])
def test_pin_bytes_rejects_without_echo(bad: str) -> None:
    with pytest.raises(SecretFormatError) as e:
        pin_bytes(bad)
    assert isinstance(e.value, InputError) and isinstance(e.value, ValueError)
    assert e.value.exit_code == EXIT_USAGE
    if bad.strip():
        assert bad.strip() not in str(e.value)


def test_adm_forms() -> None:
    assert adm_from_hex("3838383838383838") == h("3838383838383838")
    assert adm_from_hex("a1 b2 c3 d4 e5 f6 07 18") == h("A1B2C3D4E5F60718")
    assert adm_from_ascii("88888888") == h("3838383838383838")
    assert adm_from_ascii("1234") == h("31323334FFFFFFFF")
    assert adm_bytes("3838383838383838") == h("3838383838383838")  # 16 characters: hex
    assert adm_bytes("88888888") == h("3838383838383838")  # up to 8 digits: ASCII
    assert adm_bytes("A1B2C3D4E5F60718") == h("A1B2C3D4E5F60718")
    assert adm_bytes(h("0102030405060708")) == h("0102030405060708")


@pytest.mark.parametrize(
    ("fn", "bad"),
    [
        (adm_from_hex, "38383838"),
        (adm_from_hex, "zz38383838383838"),
        (adm_from_ascii, "123456789"),
        (adm_from_ascii, "12ab"),
        (adm_bytes, "12ab"),
        (adm_bytes, "zzzzzzzzzzzzzzzz"),
        (adm_bytes, "1234567890"),
        (adm_bytes, b"\x01\x02"),
    ],
)
def test_adm_rejects_without_echo(fn, bad) -> None:
    with pytest.raises(SecretFormatError) as e:
        fn(bad)
    if isinstance(bad, str):
        assert bad not in str(e.value)


def test_names() -> None:
    assert ins_name(Ins.VERIFY_PIN) == "VERIFY PIN"
    assert ins_name(0xA4) == "SELECT"
    assert ins_name(0x89) == "AUTHENTICATE"
    assert ins_name(0x5A) == "INS 5A"
    assert [keyref_name(k) for k in (0x01, 0x81, 0x0A, 0x0B, 0x11, 0x8A, 0x02, 0x99)] == [
        "PIN1", "PIN2", "ADM1", "ADM2", "UNIVERSAL PIN", "ADM6", "PIN APPL 2", "KEY 99",
    ]  # fmt: skip


# --- parse_fcp (specfacts §4.2 real-card FCPs) --------------------------------------------------------------

EMPTY = {
    "fdb": None,
    "shareable": False,
    "structure": None,
    "data_coding": None,
    "record_length": None,
    "record_count": None,
    "file_id": None,
    "aid": None,
    "life_cycle": None,
    "life_cycle_status": None,
    "arr_fid": None,
    "arr_record": None,
    "arr_se_records": [],
    "compact_security": None,
    "expanded_security": None,
    "file_size": None,
    "total_size": None,
    "sfi": None,
    "pin_status": [],
    "proprietary": None,
    "uicc_characteristics": None,
    "available_memory": None,
    "other": {},
}


def test_fcp_mf() -> None:
    fcp = parse_fcp(h("621D 8202 7821 8302 3F00 A503 800171 8A0105 8B03 2F0603 C606 900100 830101"))
    assert fcp == {
        **EMPTY,
        "fdb": 0x78,
        "shareable": True,
        "structure": "df",
        "data_coding": 0x21,
        "file_id": 0x3F00,
        "life_cycle": 0x05,
        "life_cycle_status": "operational_activated",
        "arr_fid": 0x2F06,
        "arr_record": 3,
        "sfi": None,  # a DF has no SFI
        "pin_status": [{"keyref": PIN1, "enabled": False}],
        "proprietary": h("800171"),
        "uicc_characteristics": 0x71,
    }


def test_fcp_ef_imsi() -> None:
    fcp = parse_fcp(h("6217 8202 4121 8302 6F07 8A0105 8B03 6F0604 8002 0009 880138"))
    assert fcp == {
        **EMPTY,
        "fdb": 0x41,
        "shareable": True,
        "structure": "transparent",
        "data_coding": 0x21,
        "file_id": 0x6F07,
        "life_cycle": 0x05,
        "life_cycle_status": "operational_activated",
        "arr_fid": 0x6F06,
        "arr_record": 4,
        "file_size": 9,
        "sfi": 0x07,
    }


def test_fcp_ef_iccid() -> None:
    fcp = parse_fcp(h("6217 82024121 83022FE2 8A0105 8B032F060A 8002000A 880110"))
    assert fcp == {
        **EMPTY,
        "fdb": 0x41,
        "shareable": True,
        "structure": "transparent",
        "data_coding": 0x21,
        "file_id": 0x2FE2,
        "life_cycle": 0x05,
        "life_cycle_status": "operational_activated",
        "arr_fid": 0x2F06,
        "arr_record": 0x0A,
        "file_size": 10,
        "sfi": 0x02,
    }


def test_fcp_ef_dir() -> None:
    fcp = parse_fcp(h("621A 8205 4221 0028 02 8302 2F00 8A0105 8B03 2F0608 8002 0050 8801F0"))
    assert fcp == {
        **EMPTY,
        "fdb": 0x42,
        "shareable": True,
        "structure": "linear_fixed",
        "data_coding": 0x21,
        "record_length": 40,
        "record_count": 2,
        "file_id": 0x2F00,
        "life_cycle": 0x05,
        "life_cycle_status": "operational_activated",
        "arr_fid": 0x2F06,
        "arr_record": 8,
        "file_size": 80,
        "sfi": 0x1E,
    }


def test_fcp_adf_usim() -> None:
    fcp = parse_fcp(
        h(
            "6238 8202 7821 8410 A0000000871002FFFFFFFF8907090000 A509 800171 830400018D08 8A0105 8C0100"
            " C60F 900170 830101 830181 83010A 83010B"
        )
    )
    assert fcp == {
        **EMPTY,
        "fdb": 0x78,
        "shareable": True,
        "structure": "df",
        "data_coding": 0x21,
        "aid": USIM_AID,
        "life_cycle": 0x05,
        "life_cycle_status": "operational_activated",
        "compact_security": h("00"),
        # PS_DO 70 = 0111 0000: first listed reference (PIN1) disabled, the next three enabled.
        "pin_status": [
            {"keyref": 0x01, "enabled": False},
            {"keyref": 0x81, "enabled": True},
            {"keyref": 0x0A, "enabled": True},
            {"keyref": 0x0B, "enabled": True},
        ],
        "proprietary": h("800171 830400018D08"),
        "uicc_characteristics": 0x71,
        "available_memory": 0x00018D08,
    }


def fcp_of(*parts: str) -> bytes:
    body = h("".join(parts))
    return bytes([0x62, len(body)]) + body


def test_fcp_sfi_absent_is_low_bits_of_fid_and_8800_is_none() -> None:
    assert parse_fcp(fcp_of("82024121 83026F07 80020009 8A0105"))["sfi"] == 0x07
    assert parse_fcp(fcp_of("82024121 83026F46 80020011 8800 8A0105"))["sfi"] is None
    assert parse_fcp(fcp_of("82024121 83026F40"))["sfi"] is None  # 6F40: low 5 bits are 0, no SFI


def test_fcp_other_forms() -> None:
    fcp = parse_fcp(
        fcp_of("8205 46210011 0A", "8302 6F3C", "8A0104", "AB03 800101", "8102 0200", "8B01 05", "C700")
    )
    assert fcp["structure"] == "cyclic"
    assert (fcp["record_length"], fcp["record_count"]) == (0x11, 0x0A)
    assert fcp["life_cycle_status"] == "operational_deactivated"
    assert fcp["expanded_security"] == h("800101")
    assert fcp["total_size"] == 0x200
    assert fcp["arr_fid"] is None and fcp["arr_record"] == 5
    assert fcp["other"] == {0xC7: b""}
    ber = parse_fcp(fcp_of("82027921 8302 6F99 8B06 6F06 0101 0202"))
    assert ber["structure"] == "ber_tlv"
    assert ber["arr_fid"] == 0x6F06 and ber["arr_se_records"] == [(1, 1), (2, 2)]
    lf1 = parse_fcp(fcp_of("8204 42210A05"))
    assert (lf1["record_length"], lf1["record_count"]) == (10, 5)
    lf4 = parse_fcp(fcp_of("8206 4221 0100 0102"))
    assert (lf4["record_length"], lf4["record_count"]) == (256, 258)
    not_shareable = parse_fcp(fcp_of("82020121"))
    assert not_shareable["structure"] == "transparent" and not not_shareable["shareable"]
    status_padded = fcp_of("82027821 83023F00") + h("FFFF")  # STATUS answers may be padded
    assert parse_fcp(status_padded)["file_id"] == 0x3F00


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "6F07",  # not a 62 template
        "6205 82024121",  # truncated
        "6206 8205 4221002802",  # tag 82 overruns its template
        "6204 8302 3F",
        "6205 82024121 8B",
        "6204 8B02 2F06",  # 8B of 2 bytes: no form has that
        "6204 88023801",  # SFI of 2 bytes
        "6204 8A020501",  # life cycle of 2 bytes
        "6202 8200",  # empty file descriptor
        "second template",
    ],
)
def test_fcp_malformed(raw: str) -> None:
    if raw == "second template":
        data = fcp_of("82024121") + fcp_of("82024121")
    else:
        data = h(raw)
    with pytest.raises(MalformedResponse):
        parse_fcp(data)


@pytest.mark.parametrize(
    ("lcsi", "name"),
    [(0x00, "no_information"), (0x01, "creation"), (0x03, "initialisation"), (0x05, "operational_activated"),
     (0x07, "operational_activated"), (0x04, "operational_deactivated"), (0x06, "operational_deactivated"),
     (0x0C, "termination"), (0x0F, "termination"), (0x80, "proprietary")],
)  # fmt: skip
def test_life_cycle_names(lcsi: int, name: str) -> None:
    assert life_cycle_name(lcsi) == name


# --- parse_auth_response (specfacts §2.2 / §2.3) ---------------------------------------------------------


def test_auth_success_with_kc() -> None:
    data = h(
        "DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB 10 F769BCD751044604127672711C6D3441"
        " 08 EAE4BE823AF9A08B"
    )
    assert len(data) == 0x35
    assert parse_auth_response(data) == {
        "context": "3g",
        "result": "success",
        "res": h("A54211D5E3BA50BF"),
        "ck": h("B40BA9A3C58B2A05BBF0D987B21BF8CB"),
        "ik": h("F769BCD751044604127672711C6D3441"),
        "kc": h("EAE4BE823AF9A08B"),
        "auts": None,
        "sres": None,
    }


def test_auth_success_without_kc() -> None:
    data = h("DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB 10 F769BCD751044604127672711C6D3441")
    assert len(data) == 0x2C
    out = parse_auth_response(data)
    assert out["result"] == "success" and out["kc"] is None and out["res"] == h("A54211D5E3BA50BF")


def test_auth_sync_failure() -> None:
    assert parse_auth_response(h("DC 0E 451E8BECA41BF8EE589D46D835C9")) == {
        "context": "3g",
        "result": "sync_failure",
        "res": None,
        "ck": None,
        "ik": None,
        "kc": None,
        "auts": h("451E8BECA41BF8EE589D46D835C9"),
        "sres": None,
    }


def test_auth_gsm_context() -> None:
    assert parse_auth_response(h("04 46F8416A 08 A54211D5E3BA50BF")) == {
        "context": "gsm",
        "result": "success",
        "res": None,
        "ck": None,
        "ik": None,
        "kc": h("A54211D5E3BA50BF"),
        "auts": None,
        "sres": h("46F8416A"),
    }


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "9862",
        "DB 08 A54211D5E3BA50",  # truncated RES
        "DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB",  # no IK
        "DB 08 A54211D5E3BA50BF 08 B40BA9A3C58B2A05 10 F769BCD751044604127672711C6D3441",  # CK 8 bytes
        # Kc of 4 bytes
        AUTH_3G_NO_KC + " 04 01020304",
        "DC 0D 451E8BECA41BF8EE589D46D835",  # AUTS 13 bytes
        "DC 0E 451E8BECA41BF8EE589D46D835C9 00",  # trailing byte
        "04 46F8416A 04 A54211D5",  # Kc 4 bytes
    ],
)
def test_auth_malformed(raw: str) -> None:
    with pytest.raises(MalformedResponse):
        parse_auth_response(h(raw))


# --- small parsers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sw", "tries"), [(0x63C3, 3), (0x63CA, 10), (0x63C0, 0), (0x6983, 0), (0x9000, None), (0x6A88, None)]
)
def test_parse_retry_counter(sw: int, tries: int | None) -> None:
    assert parse_retry_counter(sw) == tries


def test_parse_search_record() -> None:
    assert parse_search_record(h("0103FE")) == [1, 3, 254]
    assert parse_search_record(b"") == []


def test_parse_manage_channel() -> None:
    assert parse_manage_channel(b"\x01") == 1
    for bad in (b"", b"\x00", b"\x01\x02", b"\x14"):
        with pytest.raises(MalformedResponse):
            parse_manage_channel(bad)
