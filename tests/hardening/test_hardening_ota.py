"""OTA never applies without a valid MAC and a fresh counter: forged and malformed packets sent with
`simtool ota send` to an emulated card leave its state file byte-identical, and the PoR (or its absence) says
why. A valid packet first moves the card's counter to 5, so the old and replayed counters are real ones."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from pathlib import Path

import pytest

from simtool.cli.main import main
from simtool.commands import cat, plan
from simtool.crypto import ota
from tests.applet.applet_helpers import ROOT

ICCID = "8931080000000000019"
FLASH = ["--iccid", ICCID, "--imsi", "204080000000001", "--ki", "000102030405060708090a0b0c0d0e0f",
         "--opc", "0f0e0d0c0b0a09080706050403020100", "--adm-hex", "3131313131313131"]
CMD = plan.set_balance(10**12)  # 1 TB: never what the card holds, so a packet that applied would show


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _raw(keys: ota.OtaKeys, counter: int, data: bytes, pcntr: int) -> bytes:
    """A packet like `ota.command_packet` makes, but with any PCNTR (the padding counter), CC right."""
    pad = ota.padding_for(5 + 1 + ota.CC_LENGTH + len(data))
    head_len = 1 + ota.HEADER_FIXED + ota.CC_LENGTH + len(data) + pad
    head = head_len.to_bytes(2, "big") + bytes([ota.HEADER_FIXED + ota.CC_LENGTH]) + plan.SPI \
        + bytes([keys.kic_byte, keys.kid_byte]) + plan.TAR
    cntr = counter.to_bytes(5, "big") + bytes([pcntr])
    body = data + bytes(pad)
    return head + ota.cbc_encrypt(keys.kic, cntr + ota.cc(keys.kid, head + cntr + body) + body)


def _packets(keys: ota.OtaKeys) -> dict[str, tuple[bytes, str | None]]:
    """name: (command packet, the PoR status name expected, None for no PoR at all)."""

    def pkt(counter: int = 6, **kw: object) -> bytes:
        return ota.command_packet(kw.pop("k", keys), spi=kw.pop("spi", plan.SPI), tar=kw.pop("tar", plan.TAR),
                                  counter=counter, data=CMD, **kw)  # type: ignore[arg-type]

    good = pkt()
    other = replace(keys, kic=secrets.token_bytes(16), kid=secrets.token_bytes(16))
    return {
        "bad MAC (wrong KID)": (pkt(k=replace(keys, kid=secrets.token_bytes(16))), "RC/CC/DS failed"),
        "bad MAC (last byte flipped)": (good[:-1] + bytes([good[-1] ^ 1]), "RC/CC/DS failed"),
        "replayed counter": (pkt(5), "counter low"),
        "old counter": (pkt(2), "counter low"),
        "counter zero": (pkt(0), "counter low"),
        "unknown TAR": (pkt(tar=bytes.fromhex("BFFF4B")), "TAR unknown"),
        "truncated (CPL too long)": (good[:-16], None),
        "truncated (header only)": (good[:9], None),
        "bad padding (length not a block)": (
            (len(good) - 2 + 5).to_bytes(2, "big") + good[2:] + bytes(5), "ciphering error"),
        "bad padding (PCNTR past the data)": (_raw(keys, 6, CMD, 200), "ciphering error"),
        "wrong KIc (other key)": (pkt(k=replace(keys, kic=secrets.token_bytes(16))), "RC/CC/DS failed"),
        "wrong KIc (KVN 2)": (pkt(kic_byte=0x22), "ciphering error"),
        "wrong KID (KVN 2)": (pkt(kid_byte=0x22), "RC/CC/DS failed"),
        "other card's keys": (pkt(k=other), "RC/CC/DS failed"),
        "no CC, no ciphering": (pkt(spi=bytes([0x00, plan.SPI[1]])), "insufficient security level"),
    }


@pytest.fixture
def card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    keys, path = tmp_path / "ota.keys", tmp_path / "c.json"
    assert _run(capsys, "keys", "new-ota", keys, "--iccid", ICCID)[0] == 0
    assert _run(capsys, "emulator", "new", path, "--adm-hex", "3131313131313131")[0] == 0
    code, _, err = _run(capsys, "flash", "--profile", ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml",
                        "--reader", f"emu:{path}", *FLASH, "--ota-keys", keys)
    assert code == 0, err
    good = tmp_path / "good"
    code, out, err = _run(capsys, "ota", "build", "--iccid", ICCID, "--ota-keys", keys, "--counter", "5",
                          "set-balance", "--remaining", "700MB")
    assert code == 0, err
    good.write_text(out)
    code, out, err = _run(capsys, "ota", "send", "--reader", f"emu:{path}", good)
    assert code == 0 and "status 00 PoR OK" in out, out + err
    return path, keys


def test_forged_and_malformed_ota_packets_change_nothing(card, tmp_path, capsys):
    path, key_file = card
    keys = ota.read_ota_keys(key_file)
    packets = _packets(keys)
    for name, (packet, status) in packets.items():
        before = path.read_bytes()
        f = tmp_path / "forged"
        f.write_text(cat.sms_deliver(ota.CPI + packet, plan.DEFAULT_ORIGINATOR).hex().upper() + "\n")
        code, out, err = _run(capsys, "ota", "send", "--reader", f"emu:{path}", f, "--json")
        assert path.read_bytes() == before, f"{name}: the card's state changed"
        assert code != 0, f"{name}: accepted ({out})"
        doc = json.loads(out) if out.strip() else {}
        por = doc.get("por")
        if status is None:
            assert not por or por["status_name"] not in ("PoR OK",), (name, out, err)
        else:
            assert por and por["status_name"] == status, (name, out, err)
    # and the card still takes the next valid packet: nothing above moved its counter
    good = tmp_path / "next"
    code, out, _ = _run(capsys, "ota", "build", "--iccid", ICCID, "--ota-keys", key_file, "--counter", "6",
                        "set-balance", "--remaining", "600MB")
    good.write_text(out)
    code, out, err = _run(capsys, "ota", "send", "--reader", f"emu:{path}", good)
    assert code == 0 and "600 MB left" in out, out + err
    assert len(packets) == 15
