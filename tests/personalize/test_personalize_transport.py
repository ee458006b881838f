"""`open_reader` and `Reader` as the personalization layer uses them: URIs, counters, T=0, trace, latency."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import simtool
from simtool.commands import uicc
from simtool.errors import InputError, NoCardError
from tests.personalize.personalize_helpers import FS, new_card

USIM_AID = FS["MF/ADF.USIM"].df.aid


def test_in_memory_card_options() -> None:
    with simtool.open_reader("emu:?protocol=T=1&adm_hex=3838383838383838&iccid=8931080000000000019") as r:
        assert r.protocol == "T=1" and r.name == "emu:"
        card = r.transport.card
        assert card.state.adm1 == b"88888888"
        assert r.send(uicc.read_binary(0, 10, sfi=0x02)).data == bytes.fromhex("981380000000000010F9")
    with simtool.open_reader("emu:") as r:
        assert r.protocol == "T=0" and r.transport.card.state.adm1 == b"11111111"


@pytest.mark.parametrize("uri", ["emu:?adm_hex=31", "emu:?adm_hex=zz", "emu:?protocol=T=2", "emu:?foo=1",
                                 "emu:?latency_ms=x", "emu:?latency_ms=-5", "emu:?latency_ms=nan", "nfc:0", "emu"])
def test_bad_uris_are_input_errors(uri: str) -> None:
    with pytest.raises(InputError):
        simtool.open_reader(uri)


def test_card_file_options_belong_to_the_file(tmp_path: Path) -> None:
    path = new_card(tmp_path / "c.json", protocol="T=1")
    with pytest.raises(InputError, match="card in memory"):
        simtool.open_reader(f"emu:{path}?protocol=T=0")
    with simtool.open_reader(f"emu:{path}?latency_ms=0") as r:
        assert r.protocol == "T=1" and r.name == f"emu:{path}"


def test_missing_card_file_is_no_card(tmp_path: Path) -> None:
    with pytest.raises(NoCardError) as exc:
        simtool.open_reader(f"emu:{tmp_path / 'none.json'}")
    assert exc.value.exit_code == 3


def test_without_pcsc_support_the_reader_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "simtool.transport.pcsc", None)  # as if pyscard's module were absent
    with pytest.raises(NoCardError, match="PC/SC support is not available"):
        simtool.open_reader("pcsc:0")


def test_counters_per_phase_and_t0_get_response() -> None:
    with simtool.open_reader("emu:") as r:
        r.set_phase("a")
        resp = r.send(uicc.select_aid(USIM_AID, fcp=True))  # T=0: 61xx, then GET RESPONSE
        assert resp.ok and resp.data[0] == 0x62
        r.set_phase("b")
        r.send(uicc.read_binary(0, 4, sfi=0x03))
        assert r.phases["a"].apdus == 2 and r.phases["b"].apdus == 1 and r.total.apdus == 3
        assert r.total.bytes_out == sum(c.bytes_out for c in r.phases.values())
        assert r.counts()["b"] == {"apdus": 1, "bytes_out": 5, "bytes_in": 6}
    with simtool.open_reader("emu:?protocol=T=1") as r:
        r.send(uicc.select_aid(USIM_AID, fcp=True))
        assert r.total.apdus == 1


def test_trace_masks_pin_and_key_file_data() -> None:
    lines: list[str] = []
    with simtool.open_reader("emu:", trace=lines.append) as r:
        r.send(uicc.verify_pin(uicc.ADM1, b"11111111"))
        r.send(uicc.select_fid(0x2F1A, fcp=False))
        r.send(uicc.update_binary(0, b"\x01\x10" + b"\xab" * 16))
        r.send(uicc.select_fid(0x2F05, fcp=False))
        r.send(uicc.update_binary(0, b"\xab" * 4))
    assert lines[:4] == [">> 0020000A", "<< 63C3", ">> 0020000A08" + "**" * 8, "<< 9000"]  # the guard asks first
    assert ">> 00D6000012" + "**" * 18 in lines
    assert ">> 00D6000004ABABABAB" in lines  # EF.PL is not secret
    assert not any("3131313131313131" in line or "AB" * 16 in line for line in lines)


def test_latency_injection() -> None:
    with simtool.open_reader("emu:?latency_ms=5") as r:
        t = time.perf_counter()
        for _ in range(10):
            r.send(uicc.select_mf(fcp=False))
        assert time.perf_counter() - t >= 0.05
