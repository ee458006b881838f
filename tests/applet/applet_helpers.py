"""Shared helpers for the plan applet tests: personalized cards (flashed once per plan, then copied),
a scripted handset over the in-process transport, OTA packets, and the expectations of
applet_spec/behaviour.md stated independently of the applet's code."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from simtool.commands import cat, plan, uicc
from simtool.crypto import ota
from simtool.emulator import Card, CardFile, CardState
from simtool.encoding import efs
from simtool.profile import Identity, load_profile
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"1gb": ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml", "4gb": ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"}
# what the plans sell (DESIGN.md §1), restated here rather than read from the code under test
SOLD = {"1gb": {"bytes": 1_000_000_000, "days": 15, "en": "1 GB / 15 days Europe", "zh": "1GB 15天 欧洲流量",
                "total": "1 GB"},
        "4gb": {"bytes": 4_000_000_000, "days": 28, "en": "4 GB / 28 days Europe", "zh": "4GB 28天 欧洲流量",
                "total": "4 GB"}}
KEYS = ota.OtaKeys(bytes.fromhex("000102030405060708090a0b0c0d0e0f"), bytes.fromhex("101112131415161718191a1b1c1d1e1f"))
PLAN = "MF/DF.PLAN"
TAR = bytes.fromhex("BFFF4A")


@cache
def _flashed(plan_name: str, protocol: str, with_keys: bool) -> str:
    from simtool.personalize.flash import flash

    profile = load_profile(PROFILES[plan_name])
    identity = Identity.sample()
    if with_keys:
        identity = dataclasses.replace(identity, ota_keys=KEYS)
    card = Card.blank(adm=identity.adm1, protocol=protocol)
    reader = Reader(EmulatedTransport(card, "emu:"))
    flash(reader, profile, identity, verify_auth=False)
    return json.dumps(card.state.to_json())


def new_card(plan_name: str = "1gb", *, protocol: str = "T=0", keys: bool = True, path: Path | None = None) -> Card:
    """A freshly personalized card (a copy of one flashed once per plan): in memory, or in a state file."""
    state = CardState.from_json(copy.deepcopy(json.loads(_flashed(plan_name, protocol, keys))))
    if path is None:
        return Card(state)
    CardFile(path).create(state)
    return Card.load(path)


def decoded(card: Card, name: str) -> Any:
    codec = {"BALANCE": efs.BALANCE, "VALIDITY": efs.VALIDITY, "OTA_CNTR": efs.OTA_COUNTER}[name]
    return codec.decode(card.file_bytes(f"{PLAN}/EF.{name}"))


class Phone:
    """A handset on an emulated card: terminal profile, events, menu selections, as `simtool phone` does."""

    def __init__(self, card: Card, language: str = "en", date: str = "2026-11-26T10:00+01:00",
                 profile: bytes = cat.TERMINAL_PROFILE) -> None:
        self.card = card
        self.reader = Reader(EmulatedTransport(card, "emu:test"))
        self.choices: list[int] = []
        self.terminal = cat.Terminal(language=language, profile=profile, clock=lambda: self.now,
                                     choose=lambda cmd: self.choices.pop(0) if self.choices else None)
        self.now = datetime.fromisoformat(date)
        self.start()

    def start(self) -> list[dict[str, Any]]:
        self.card.reset()
        return self._session(self.reader.send(uicc.terminal_profile(self.terminal.profile)))

    def _session(self, first) -> list[dict[str, Any]]:
        n = len(self.terminal.transcript)
        assert first.ok, f"{first.sw:04X}"
        last = cat.run_session(self.reader.send, first, self.terminal)
        assert last.sw == 0x9000
        return self.terminal.transcript[n:]

    def envelope(self, data: bytes) -> list[dict[str, Any]]:
        return self._session(self.reader.send(uicc.envelope(data)))

    def at(self, date: str) -> Phone:
        self.now = datetime.fromisoformat(date)
        return self

    def register(self, plmn: str = "262-01", status: int = cat.LOCATION_NORMAL) -> list[dict[str, Any]]:
        return self.envelope(cat.location_status(status, cat.parse_plmn(plmn)))

    def select(self, item: str, *choices: int) -> list[dict[str, Any]]:
        self.choices = list(choices)
        return self.envelope(cat.menu_selection(self.terminal.find_item(item)))

    def my_plan(self, *choices: int) -> list[dict[str, Any]]:
        """What "My plan" (menu item 1) shows, after the applet has asked for the date-time."""
        screens = self.select(self.terminal.menu["items"][0]["text"], *choices)
        assert screens[0]["command"] == "PROVIDE LOCAL INFORMATION" and screens[0]["asks"] == "date-time"
        return screens[1:]


def sms(commands: bytes, counter: int, keys: ota.OtaKeys = KEYS, *, spi: bytes = plan.SPI, tar: bytes = TAR,
        **kw: Any) -> bytes:
    """The ENVELOPE data of a secured SMS to the applet."""
    packet = ota.command_packet(keys, spi=spi, tar=tar, counter=counter, data=commands, **kw)
    return raw_sms(ota.CPI + packet)


def raw_sms(user_data: bytes) -> bytes:
    tpdu = cat.sms_deliver(user_data, "12345", datetime.fromisoformat("2026-12-01T10:00+01:00"))
    return cat.sms_pp_download(tpdu)


def send_ota(card: Card, envelope_data: bytes, keys: ota.OtaKeys | None = KEYS) -> tuple[int, ota.Por | None]:
    """(SW, decoded PoR or None) for one SMS-PP download."""
    reader = Reader(EmulatedTransport(card, "emu:test"))
    resp = reader.send(uicc.envelope(envelope_data, le=256))
    if not resp.data:
        return resp.sw, None
    return resp.sw, ota.decode_por(resp.data, keys)
