"""T=0 / T=1 exchange rules, driven by a scripted fake card (no I/O anywhere)."""

from __future__ import annotations

import pytest

from simtool.commands import (
    Apdu,
    ExchangeError,
    MalformedResponse,
    Response,
    authenticate_3g,
    get_response_cla,
    normalize_protocol,
    read_binary,
    read_record,
    run,
    search_record,
    select_fid,
    status,
    transact,
    verify_pin,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


FCP_IMSI = h("6217 8202 4121 8302 6F07 8A0105 8B03 6F0604 8002 0009 880138")
RAND = h("23553CBE9637A89D218AE64DAE47BF35")
AUTN = h("55F328B43577B9B94A9FFAC354DFAFB3")
AUTH_OK = h(
    "DB 08 A54211D5E3BA50BF 10 B40BA9A3C58B2A05BBF0D987B21BF8CB 10 F769BCD751044604127672711C6D3441"
    " 08 EAE4BE823AF9A08B"
)


class ScriptedCard:
    """A card that expects exactly the listed commands, in order, and answers each as scripted."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(h(c), h(r)) for c, r in script]
        self.seen: list[bytes] = []

    def __call__(self, command: bytes) -> bytes:
        assert self.script, f"unexpected extra command {command.hex().upper()}"
        expected, answer = self.script.pop(0)
        assert command == expected, f"sent {command.hex().upper()}, expected {expected.hex().upper()}"
        self.seen.append(command)
        return answer

    def done(self) -> bool:
        return not self.script


def test_t0_case4_strips_le_and_gets_response() -> None:
    card = ScriptedCard([("00A40004 02 6F07", "6119"), ("00C00000 19", FCP_IMSI.hex() + "9000")])
    r = run(select_fid(0x6F07, fcp=True), "T=0", card)
    assert r == Response(FCP_IMSI, 0x9000)
    assert r.exchanges == 2 and card.done()


def test_t1_sends_case4_unchanged() -> None:
    card = ScriptedCard([("00A40004 02 6F07 00", FCP_IMSI.hex() + "9000")])
    r = run(select_fid(0x6F07, fcp=True), "T=1", card)
    assert r.data == FCP_IMSI and r.sw == 0x9000 and r.exchanges == 1 and card.done()


def test_t0_chained_61xx_concatenates() -> None:
    card = ScriptedCard(
        [
            ("00880081 22 10" + RAND.hex() + "10" + AUTN.hex(), "6110"),
            ("00C00000 10", AUTH_OK[:16].hex() + "6120"),
            ("00C00000 20", AUTH_OK[16:48].hex() + "6105"),
            ("00C00000 05", AUTH_OK[48:].hex() + "9000"),
        ]
    )
    r = run(authenticate_3g(RAND, AUTN), "T=0", card)
    assert r.data == AUTH_OK and r.sw == 0x9000 and r.exchanges == 4 and card.done()


def test_6100_means_256_bytes() -> None:
    card = ScriptedCard([("00A40004 02 6F07", "6100"), ("00C00000 00", "AA" * 256 + "9000")])
    assert run(select_fid(0x6F07, fcp=True), "T=0", card).data == b"\xaa" * 256


def test_t0_6cxx_resends_with_le() -> None:
    card = ScriptedCard([("00B00000 00", "6C09"), ("00B00000 09", "080910101032547698 9000")])
    r = run(read_binary(), "T=0", card)
    assert r.data == h("080910101032547698") and r.sw == 0x9000 and r.exchanges == 2 and card.done()


def test_t0_6cxx_on_record_then_ok() -> None:
    card = ScriptedCard([("00B201F4 FF", "6C28"), ("00B201F4 28", "FF" * 40 + "9000")])
    r = run(read_record(1, 255, sfi=0x1E), "T=0", card)
    assert len(r.data) == 40 and r.exchanges == 2


def test_t0_61xx_then_6cxx_on_get_response() -> None:
    card = ScriptedCard(
        [
            ("80F20000 00", "6C20"),
            ("80F20000 20", "6120"),
            ("00C00000 20", "6C1F"),
            ("00C00000 1F", "11" * 31 + "9000"),
        ]
    )
    r = run(status(), "T=0", card)
    assert r.data == b"\x11" * 31 and r.exchanges == 4 and card.done()


def test_t0_6cxx_on_a_command_with_data_uses_get_response() -> None:
    # A T=0 command with data cannot carry Le: the bytes come through GET RESPONSE instead.
    card = ScriptedCard([("00A20104 02 1234", "6C02"), ("00C00000 02", "0103 9000")])
    r = run(search_record(h("1234")), "T=0", card)
    assert r.data == h("0103") and r.exchanges == 2


def test_t0_case3_error_is_final() -> None:
    card = ScriptedCard([("00200001 08 31323334FFFFFFFF", "63C2")])
    r = run(verify_pin(1, h("31323334FFFFFFFF")), "T=0", card)
    assert r == Response(b"", 0x63C2) and r.exchanges == 1


def test_retry_query_case1() -> None:
    card = ScriptedCard([("0020000A", "63C3")])
    assert run(verify_pin(0x0A, None), "T=0", card).sw == 0x63C3


def test_t0_case4_warning_fetches_data_and_keeps_warning() -> None:
    card = ScriptedCard(
        [("00A40004 02 6F07", "6283"), ("00C00000 00", "6C19"), ("00C00000 19", FCP_IMSI.hex() + "9000")]
    )
    r = run(select_fid(0x6F07, fcp=True), "T=0", card)
    assert r.data == FCP_IMSI and r.sw == 0x6283 and r.exchanges == 3 and card.done()


def test_t0_case4_warning_without_data() -> None:
    card = ScriptedCard([("00A20104 02 9999", "6282"), ("00C00000 00", "6985")])
    r = run(search_record(h("9999")), "T=0", card)
    assert r == Response(b"", 0x6282) and r.exchanges == 2


def test_t0_case4_error_is_final() -> None:
    card = ScriptedCard([("00A40004 02 6F99", "6A82")])
    r = run(select_fid(0x6F99, fcp=True), "T=0", card)
    assert r.sw == 0x6A82 and r.exchanges == 1


@pytest.mark.parametrize("sw", ["9000", "9112", "6982", "6A82", "63C1"])
def test_t1_passthrough(sw: str) -> None:
    card = ScriptedCard([("00B08700 09", "0809 " + sw)])
    r = run(read_binary(0, 9, sfi=7), "T=1", card)
    assert r.data == h("0809") and r.sw == int(sw, 16) and r.exchanges == 1


def test_t1_card_answering_61xx_is_followed() -> None:
    card = ScriptedCard([("80F20000 00", "AABB 6102"), ("00C00000 02", "CCDD 9000")])
    r = run(status(), "T=1", card)
    assert r.data == h("AABBCCDD") and r.exchanges == 2


def test_get_response_stays_on_the_logical_channel() -> None:
    card = ScriptedCard([("C1F20000 00", "6105"), ("41C00000 05", "0102030405 9000")])
    r = run(status().with_channel(5), "T=0", card)
    assert r.data == h("0102030405")
    card = ScriptedCard([("02A40004 02 6F07", "6119"), ("02C00000 19", FCP_IMSI.hex() + "9000")])
    assert run(select_fid(0x6F07, fcp=True).with_channel(2), "T=0", card).data == FCP_IMSI


def test_gsm_9fxx_with_a0_class() -> None:
    card = ScriptedCard([("A0A40000 02 6F07", "9F0F"), ("A0C00000 0F", "00" * 15 + "9000")])
    r = run(Apdu(0xA0, 0xA4, 0x00, 0x00, h("6F07")), "T=0", card)
    assert r.data == bytes(15) and r.exchanges == 2
    assert (
        get_response_cla(0xA0) == 0xA0 and get_response_cla(0x80) == 0x00 and get_response_cla(0xC3) == 0x43
    )


def test_transact_is_a_plain_generator() -> None:
    """The sans-I/O core: the caller moves the bytes however it likes."""
    gen = transact(select_fid(0x6F07, fcp=True), "T=0")
    assert next(gen) == h("00A40004026F07")
    assert gen.send(h("6119")) == h("00C0000019")
    with pytest.raises(StopIteration) as stop:
        gen.send(FCP_IMSI + h("9000"))
    assert stop.value.value == Response(FCP_IMSI, 0x9000)
    assert stop.value.value.exchanges == 2


def test_endless_61xx_is_cut_off() -> None:
    with pytest.raises(ExchangeError):
        run(status(), "T=0", lambda _cmd: h("6101"))


def test_short_response_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        run(status(), "T=1", lambda _cmd: b"\x90")


@pytest.mark.parametrize(
    ("given", "norm"), [("T=0", "T=0"), ("t0", "T=0"), (0, "T=0"), ("T=1", "T=1"), (1, "T=1")]
)
def test_normalize_protocol(given: str | int, norm: str) -> None:
    assert normalize_protocol(given) == norm


@pytest.mark.parametrize("bad", ["T=2", "", "T=CL"])
def test_bad_protocol(bad: str) -> None:
    with pytest.raises(ValueError):
        run(status(), bad, lambda _cmd: h("9000"))


def test_case2_under_t0_unchanged() -> None:
    card = ScriptedCard([("00B08700 09", "080910101032547698 9000")])
    assert run(read_binary(0, 9, sfi=7), "T=0", card).exchanges == 1
