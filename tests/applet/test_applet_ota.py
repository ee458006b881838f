"""OTA over SMS-PP (TS 102 225) into the plan applet: the card-side checks and the PoR, and every
refusal leaves the card byte for byte as it was (the state file compared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.commands import plan
from simtool.crypto import ota
from simtool.emulator import Card
from simtool.emulator import ota as card_ota
from tests.applet.applet_helpers import KEYS, TAR, decoded, new_card, raw_sms, send_ota, sms

OTHER_KEYS = ota.OtaKeys(bytes(range(0x40, 0x50)), bytes(range(0x50, 0x60)))


@pytest.fixture
def disk(tmp_path: Path) -> tuple[Card, Path]:
    path = tmp_path / "card.json"
    card = new_card(path=path)
    assert send_ota(card, sms(plan.set_balance(900_000_000), counter=5))[1].status == 0  # stored counter: 5
    return card, path


def _unchanged(card: Card, path: Path, envelope: bytes, status: int | None, applet_sw: bytes | None = None,
               sw: int = 0x9000) -> ota.Por | None:
    before, saves = path.read_bytes(), card.storage.saves
    got_sw, por = send_ota(card, envelope)
    assert got_sw == sw
    if status is None:
        assert por is None
    else:
        assert por is not None and por.status == status, por
        if status != 0:  # refusals go out unsecured, counter zero, nothing else
            assert not por.has_cc and por.counter == 0 and por.data == b"" and por.tar in (TAR, b"\xb0\x00\x10",
                                                                                       b"\x00\x00\x00")
        else:
            assert por.data == applet_sw and por.cc_ok
    assert path.read_bytes() == before, "the card changed"
    assert card.storage.saves == saves
    return por


def test_wrong_mac(disk) -> None:
    card, path = disk
    forged = ota.OtaKeys(KEYS.kic, OTHER_KEYS.kid)  # right KIc, wrong KID
    _unchanged(card, path, sms(plan.set_balance(1), 6, forged), 0x01)


def test_tampered_ciphertext(disk) -> None:
    card, path = disk
    env = bytearray(sms(plan.set_balance(1), 6))
    env[-1] ^= 0x01
    _unchanged(card, path, bytes(env), 0x01)


def test_replay_and_old_counter(disk) -> None:
    card, path = disk
    env = sms(plan.set_balance(800_000_000), 6)
    assert send_ota(card, env)[1].status == 0
    _unchanged(card, path, env, 0x02)  # the very same packet again
    _unchanged(card, path, sms(plan.set_balance(1), 3), 0x02)  # an old counter
    _unchanged(card, path, sms(plan.set_balance(1), 6), 0x02)  # the current one


def test_counter_must_be_next_when_the_spi_says_so(disk) -> None:
    card, path = disk
    spi = bytes([0x1E, 0x09])  # CC, ciphering, counter = stored + 1
    _unchanged(card, path, sms(plan.set_balance(1), 7, spi=spi), 0x03)
    _unchanged(card, path, sms(plan.set_balance(1), 5, spi=spi), 0x02)
    assert send_ota(card, sms(plan.set_balance(1), 6, spi=spi))[1].status == 0


def test_blocked_counter(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = new_card(path=path)
    card.state.files["MF/DF.PLAN/EF.OTA_CNTR"][:] = b"\xff" * 5
    card.storage.save(card.state)
    _unchanged(card, path, sms(plan.set_balance(1), 2**40 - 1), 0x04)


def test_unknown_tar(disk) -> None:
    card, path = disk
    _unchanged(card, path, sms(plan.set_balance(1), 6, tar=bytes.fromhex("B00010")), 0x09)


@pytest.mark.parametrize("spi1", [0x06, 0x12, 0x14, 0x00])  # no counter, no ciphering, no CC, nothing
def test_insufficient_security_level(disk, spi1: int) -> None:
    card, path = disk
    _unchanged(card, path, sms(plan.set_balance(1), 6, spi=bytes([spi1, 0x09])), 0x0A)


def test_undecipherable(disk) -> None:
    card, path = disk
    env = sms(plan.set_balance(1), 6)
    packet = card_ota.command_packet(card_ota.sms_user_data(env[2:]))
    short = (len(packet) - 3).to_bytes(2, "big") + packet[2:-1]  # 31 ciphered bytes
    _unchanged(card, path, raw_sms(ota.CPI + short), 0x05)
    # a packet ciphered under another KIc fails the CC (nothing tells the two apart in CBC)
    _unchanged(card, path, sms(plan.set_balance(1), 6, ota.OtaKeys(OTHER_KEYS.kic, KEYS.kid)), 0x01)
    # an authentic packet whose PCNTR says more padding than there is data
    head = bytes.fromhex("0028 15 1609 12 12") + TAR
    plain_tail = bytes(range(16))  # 16 bytes of "data", PCNTR 0x20
    cntr = (6).to_bytes(5, "big") + b"\x20"
    cc = ota.cc(KEYS.kid, head + cntr + plain_tail + bytes(2))
    body = ota.cbc_encrypt(KEYS.kic, cntr + cc + plain_tail + bytes(2))
    _unchanged(card, path, raw_sms(ota.CPI + head + body), 0x05)


def test_key_set_not_the_cards(disk) -> None:
    card, path = disk
    _unchanged(card, path, sms(plan.set_balance(1), 6, kic_byte=0xF2), 0x05)  # KVN 15
    _unchanged(card, path, sms(plan.set_balance(1), 6, kid_byte=0x22), 0x01)
    _unchanged(card, path, sms(plan.set_balance(1), 6, kic_byte=0x15, kid_byte=0x15), 0x05)  # 3DES


def test_card_without_keys(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    card = new_card(keys=False, path=path)
    _unchanged(card, path, sms(plan.set_balance(1), 1), 0x06)


@pytest.mark.parametrize("header", [
    "0030 15 1609 12 12 BFFF4A",  # CPL beyond the data
    "0028 0D 1609 12 12 BFFF4A",  # CHL without the CC that SPI1 announces
    "0028 15 3609 12 12 BFFF4A",  # reserved SPI1 bit
    "0028 15 1649 12 12 BFFF4A",  # reserved SPI2 bit
    "0028 15 1509 12 12 BFFF4A",  # a redundancy check instead of a CC
])
def test_unreadable_header(disk, header: str) -> None:
    card, path = disk
    packet = card_ota.command_packet(card_ota.sms_user_data(sms(plan.set_balance(1), 6)[2:]))
    _unchanged(card, path, raw_sms(ota.CPI + bytes.fromhex(header) + packet[10:]), 0x06)
    _unchanged(card, path, raw_sms(ota.CPI + bytes.fromhex("0005 15 1609")), 0x06)  # truncated


@pytest.mark.parametrize("commands", [
    b"",  # nothing (not even an empty list is a command)
    b"\xa3\x00",  # unknown command
    bytes.fromhex("A1 00"),  # a top-up of nothing
    bytes.fromhex("A2 0A 8108 0000000000000001 00"),  # trailing byte inside
    bytes.fromhex("A2 14 8108 0000000000000001 8108 0000000000000002"),  # field twice
    bytes.fromhex("A2 06 8104 00000001"),  # wrong field length
    bytes.fromhex("A2 0A 8108 00000000"),  # value overruns
    plan.set_balance(2_000_000_000),  # more than the total granted
    plan.topup(2**64 - 1),  # overflow
    plan.set_balance(1) + b"\xa3\x00",  # one good, one bad: none applies
])
def test_malformed_command_changes_nothing(disk, commands: bytes) -> None:
    card, path = disk
    por = _unchanged(card, path, sms(commands, 6), 0x00, applet_sw=b"\x6a\x80")
    assert plan.applet_answer(por.status, por.data) == {"sw": "6A80", "result":
                                                         "malformed or invalid command: nothing applied"}


@pytest.mark.parametrize("tpdu_change", ["not_deliver", "pid", "dcs", "udl", "no_udh", "no_cpi", "concat"])
def test_envelopes_that_carry_no_packet(disk, tpdu_change: str) -> None:
    from datetime import datetime

    from simtool.commands import cat

    card, path = disk
    ud = ota.CPI + bytes(40)
    tpdu = bytearray(cat.sms_deliver(ud, "12345", datetime.fromisoformat("2026-12-01T10:00+01:00")))
    i_pid = 2 + 1 + 3  # first octet, OA length, TON, 3 address bytes
    if tpdu_change == "not_deliver":
        tpdu[0] |= 0x01
    elif tpdu_change == "pid":
        tpdu[i_pid] = 0x00
    elif tpdu_change == "dcs":
        tpdu[i_pid + 1] = 0x00
    elif tpdu_change == "udl":
        tpdu[i_pid + 2 + 7] += 1
    elif tpdu_change == "no_udh":
        tpdu[0] &= ~0x40
    elif tpdu_change == "no_cpi":
        tpdu = bytearray(cat.sms_deliver(b"\x02\x71\x00" + bytes(40), "12345"))
    else:
        tpdu = bytearray(cat.sms_deliver(b"\x07\x70\x00\x00\x03\x01\x02\x01" + bytes(40), "12345"))
    _unchanged(card, path, cat.sms_pp_download(bytes(tpdu)), None, sw=0x6A80)


def test_malformed_envelope(disk) -> None:
    card, path = disk
    _unchanged(card, path, bytes.fromhex("D109820283"), None, sw=0x6A80)


# --- accepted packets and the PoR ----------------------------------------------------------------------


def test_accepted_packet_is_one_durable_write(disk) -> None:
    card, path = disk
    saves = card.storage.saves
    sw, por = send_ota(card, sms(plan.set_balance(734_000_000), 9))
    assert sw == 0x9000 and por.status == 0 and por.cc_ok and por.counter == 9
    assert card.storage.saves == saves + 1
    assert decoded(Card.load(path), "OTA_CNTR") == 9
    assert decoded(Card.load(path), "BALANCE")["remaining_bytes"] == 734_000_000


def test_a_failing_disk_applies_nothing(disk, monkeypatch: pytest.MonkeyPatch) -> None:
    card, path = disk
    before = {p: bytes(b) for p, b in card.state.files.items()}

    def broken(state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(card.storage, "save", broken)
    sw, por = send_ota(card, sms(plan.set_balance(1), 6))
    assert sw == 0x6581 and por is None
    assert {p: bytes(b) for p, b in card.state.files.items()} == before


@pytest.mark.parametrize("protocol", ["T=0", "T=1"])
def test_ciphered_por_and_por_modes(protocol: str) -> None:
    card = new_card(protocol=protocol)
    # SPI2 19: PoR ciphered and with a CC; only the keys open it
    sw, por = send_ota(card, sms(plan.topup(1, 0), 1, spi=bytes.fromhex("1619")))
    assert por.status == 0 and por.ciphered and por.cc_ok and por.data[:2] == b"\x90\x00"
    # SPI2 00: no PoR at all, but applied
    sw, por = send_ota(card, sms(plan.topup(1, 0), 2, spi=bytes.fromhex("1600")))
    assert sw == 0x9000 and por is None and decoded(card, "OTA_CNTR") == 2
    # SPI2 0A: PoR only on error
    assert send_ota(card, sms(plan.topup(1, 0), 3, spi=bytes.fromhex("160A")))[1] is None
    assert send_ota(card, sms(plan.topup(1, 0), 3, spi=bytes.fromhex("160A")))[1].status == 0x02
    assert send_ota(card, sms(b"\xa3\x00", 4, spi=bytes.fromhex("160A")))[1].data == b"\x6a\x80"
    # without keys the host still reads the status of the PoR it asked for unciphered
    _, por = send_ota(card, sms(plan.topup(1, 0), 5), keys=None)
    assert por.status == 0 and por.cc_ok is None and por.has_cc


def test_card_side_matches_the_worked_example() -> None:
    """specfacts §8.2.1: the card-side checks accept pySim's packet and build the same PoR, byte for byte."""
    packet = bytes.fromhex("002815161912" "12b00010bed4a21ef98e17fe81c5601cb3c4e38a34e90a81c7b45f493ec471d8602c5330")
    keys = card_ota.KeySet(1, bytes(range(16)), bytes(range(16, 32)))
    checked = card_ota.check(packet, {bytes.fromhex("b00010"): card_ota.TarPolicy(0x16, keys, 0)})
    assert checked.status == 0 and checked.counter == 1
    assert checked.data == bytes.fromhex("00a4000c026f3700d6000003000100")
    assert card_ota.por(checked, 0, bytes.fromhex("029000")) == bytes.fromhex(
        "027100002412b00010" "90335f0b02e1dee127e03fc051746e4ae0fb9261a63e0c582172fab02c708284")
    # the TPDU / ENVELOPE of the example unwrap to the same packet
    envelope = bytes.fromhex("d149820283818603919471" "8b3e" "400881214365877ff6227052000000002d027000") + packet
    assert card_ota.command_packet(card_ota.sms_user_data(envelope[2:])) == packet
    # and the host side builds exactly that packet
    host = ota.OtaKeys(bytes(range(16)), bytes(range(16, 32)))
    assert ota.command_packet(host, spi=bytes.fromhex("1619"), tar=bytes.fromhex("b00010"), counter=1,
                              data=bytes.fromhex("00a4000c026f3700d6000003000100")) == packet
