"""The power-cut sweep (issue 9): cut the power at every point of one card's personalization, restart the
card from its state file, flash it again with the same identity, and check that it ends verified.

Cut points, counted on an undisturbed run of the same flash:
* "apdu":    after the k-th APDU, for every k (the card answers APDUs 1..k, the next one finds no card);
* "written": inside the n-th durable write, after the temp file is written, before the rename;
* "renamed": inside the n-th durable write, after the rename, before the card answers.

At each point: the flash stops with `CardPowerLoss` (exit code 3); the state file holds exactly what the
card had answered for (plus, for "renamed", the write that was cut); restarting gives no free try (no
retry counter is higher than before the APDU that was cut, and a VERIFY cut after its decrement keeps the
decrement); the second flash either succeeds, or the ADM guard rightly refuses a card whose ADM try was
spent, and a person's lower bar (`min_adm_tries`) lets it through; the card then holds the rendered image
byte for byte, full retry counters, the vendor's ADM1, and authenticates with the identity's keys.

Used by tests/hardening/test_hardening_powercut.py (one case in `make test`) and by soak.py (`make soak`).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simtool.commands import Response, run, uicc
from simtool.crypto import aka
from simtool.emulator import Card, create_card_file
from simtool.emulator.faults import CardPowerLoss, FaultPlan, arm, restart
from simtool.emulator.state import max_tries
from simtool.errors import GuardError
from simtool.fs import MODELS, CardModel
from simtool.personalize.auth import authenticate, select_usim
from simtool.personalize.flash import flash
from simtool.profile import Identity, load_profile
from simtool.profile.capacity import capacities_for_model
from simtool.profile.render import CardImage, render
from simtool.transport.base import Reader

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"1gb": ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml", "4gb": ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"}
VARIANTS = ("apdu", "written", "renamed")
VERIFY_KEYREFS = {0x01: "pin1", 0x81: "pin2", 0x0A: "adm1"}

# A distinctive identity (nothing here is a default value a bug could fall back to).
IDENTITY = dict(iccid="8931080000000000019", imsi="204080000000001", ki="8e27b6af0e692e750f32667a3b14605d",
                opc="8e27b6af0e692e750f32667a3b14605d"[::-1], adm1_hex="3834313937353230",
                pin1="471108", puk1="83920174", pin2="592817", puk2="61830592")


class SweepFailure(AssertionError):
    pass


@dataclass(frozen=True)
class Case:
    model: str = "simtool-emu"
    protocol: str = "T=0"
    profile: str = "1gb"

    @property
    def name(self) -> str:
        return f"{self.model}/{self.protocol}/{self.profile}"


def all_cases() -> list[Case]:
    """Both profiles on every card model in every protocol it speaks."""
    return [Case(m.name, proto, prof) for prof in PROFILES for m in MODELS.values() for proto in m.protocols]


@dataclass
class Report:
    case: str
    apdus: int = 0  # APDUs of one undisturbed personalization
    saves: int = 0  # durable writes of it
    points: dict[str, int] = field(default_factory=dict)  # cut points tested, per variant
    survived: int = 0  # cuts after which the card ended verified with the same identity
    guard_refusals: int = 0  # second flashes the ADM guard refused (an ADM try spent by the cut)
    reflash_apdus: int = 0  # APDUs of all second flashes
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.points.values())

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case, "apdus_per_card": self.apdus, "saves_per_card": self.saves,
                "points": self.points, "total": self.total, "survived": self.survived,
                "guard_refusals": self.guard_refusals, "reflash_apdus": self.reflash_apdus,
                "failures": self.failures}


def profile_path(case: Case, workdir: Path) -> Path:
    """The case's profile; for a model whose EF.OPLMNwACT holds fewer partners than the profile lists,
    a copy (same file name) with the least used ones left out."""
    src = PROFILES[case.profile]
    keep = capacities_for_model(case.model).oplmn_entries
    out, section, n = [], None, 0
    for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
        if re.match(r"^[a-z_]+:", line):
            section = line.split(":", 1)[0]
        if section == "oplmn_wact" and line.startswith("  - "):
            n += 1
            if n > keep:
                continue
        out.append(line)
    if n <= keep:
        return src
    d = workdir / f"profile-{case.model}-{case.profile}"
    d.mkdir(parents=True, exist_ok=True)
    path = d / src.name
    path.write_text("".join(out), encoding="utf-8")
    return path


class _Recorder:
    """A transport to one emulated card that remembers, before each APDU, the APDU and the card's counters."""

    def __init__(self, card: Card, plan: FaultPlan | None = None) -> None:
        self.card = card
        self.plan = plan
        self.name = "emu:powercut"
        self.last: tuple[bytes, dict[str, int], int] | None = None  # APDU, counters, saves before it

    @property
    def atr(self) -> bytes:
        return self.card.atr

    @property
    def protocol(self) -> str:
        return self.card.protocol

    def transmit(self, apdu: bytes) -> bytes:
        self.last = (bytes(apdu), dict(self.card.state.counters), self.plan.saves if self.plan else 0)
        return self.card.process(apdu)

    def reset(self) -> bytes:
        return self.card.reset()

    def close(self) -> None:
        pass


class _Plan(FaultPlan):
    """A FaultPlan that, at the moment of the cut, notes what the state file and the card's memory hold."""

    path: Path | None = None
    card: Card | None = None
    file_at_cut: bytes | None = None
    memory_at_cut: dict[str, Any] | None = None

    def _cut(self, where: str) -> None:
        if self.path is not None:
            self.file_at_cut = self.path.read_bytes()
        if self.card is not None:
            self.memory_at_cut = self.card.state.to_json()
        super()._cut(where)


@dataclass
class _Setup:
    case: Case
    model: CardModel
    identity: Identity
    profile: Any
    image: CardImage


def _setup(case: Case, workdir: Path) -> _Setup:
    model = MODELS[case.model]
    profile = load_profile(profile_path(case, workdir), capacities_for_model(model))
    ident = Identity.create(**IDENTITY)
    return _Setup(case, model, ident, profile, render(profile, ident, model))


def _new_card(s: _Setup, path: Path) -> Card:
    create_card_file(path, s.identity.adm1, protocol=s.case.protocol, model=s.model)
    return Card.load(path)


def _flash(card: Card, s: _Setup, **kw: Any) -> tuple[_Recorder, Reader]:
    rec = _Recorder(card)
    reader = Reader(rec, secret_fids=(), secret_sfis=())
    flash(reader, s.profile, s.identity, image=s.image, **kw)
    return rec, reader


def baseline(s: _Setup, workdir: Path) -> tuple[int, int]:
    """(APDUs, durable writes) of one undisturbed personalization of a blank card."""
    card = _new_card(s, workdir / "baseline.json")
    plan = arm(card, FaultPlan())
    _flash(card, s)
    check_card(Card.load(card.storage.path), s)
    return plan.apdus, plan.saves


def points(apdus: int, saves: int, variants: tuple[str, ...] = VARIANTS) -> Iterator[tuple[str, dict[str, Any]]]:
    for v in variants:
        if v == "apdu":
            for k in range(apdus):
                yield v, {"after_apdus": k}
        else:
            for n in range(1, saves + 1):
                yield v, {"in_save": n, "stage": v}


def _host(card: Card, apdu: Any) -> Response:
    return run(apdu, card.protocol, card.process)


def check_card(card: Card, s: _Setup) -> None:
    """The card holds the image byte for byte, full counters, the vendor's ADM1, the identity's PINs and
    keys (it authenticates). Raises SweepFailure."""
    for path, content in s.image.files.items():
        want = b"".join(content) if isinstance(content, list) else content
        if card.file_bytes(path) != want:
            raise SweepFailure(f"{path} differs from the rendered image")
    full = max_tries(s.model)
    if card.state.counters != full:
        raise SweepFailure(f"retry counters {card.state.counters}, expected full {full}")
    if card.state.adm1 != s.identity.adm1:
        raise SweepFailure("the ADM1 key changed")
    for keyref, value in ((uicc.PIN1, s.identity.pin1), (uicc.PIN2, s.identity.pin2)):
        sw = _host(card, uicc.verify_pin(keyref, uicc.pin_bytes(value))).sw
        if sw != 0x9000:
            raise SweepFailure(f"VERIFY of the identity's PIN (keyref {keyref:02X}) answered {sw:04X}")
    reader = Reader(_Recorder(card), secret_fids=(), secret_sfis=())
    select_usim(reader)
    result = authenticate(reader, aka.Milenage(s.identity.ki, s.identity.opc))
    if not result.ok:
        raise SweepFailure("AUTHENTICATE with the identity's keys failed")


def run_point(s: _Setup, workdir: Path, variant: str, kw: dict[str, Any], report: Report) -> None:
    """One cut, restart, second flash and check. Raises SweepFailure naming what went wrong."""
    path = workdir / "card.json"
    for old in workdir.glob("card.json*"):
        old.unlink()
    for old in workdir.glob(".card.json.*"):
        old.unlink()
    card = _new_card(s, path)
    plan = _Plan(**kw)
    plan.path, plan.card = path, card
    arm(card, plan)
    rec = _Recorder(card, plan)
    try:
        flash(Reader(rec, secret_fids=(), secret_sfis=()), s.profile, s.identity, image=s.image)
    except CardPowerLoss:
        pass
    else:
        raise SweepFailure("the flash ended without meeting the cut")
    if not plan.dead or rec.last is None:
        raise SweepFailure("no cut happened")
    cut_apdu, counters_before, saves_before = rec.last

    # What the state file holds after the cut.
    temps = list(workdir.glob(".card.json.*.tmp"))
    on_disk = json.loads(path.read_bytes())
    if variant == "written":
        if path.read_bytes() != plan.file_at_cut:
            raise SweepFailure("the state file changed although the write was cut before its rename")
        if len(temps) != 1:
            raise SweepFailure(f"expected the cut write's temp file beside the state file, found {len(temps)}")
    else:
        if on_disk != plan.memory_at_cut:
            raise SweepFailure("the state file does not hold what the card had answered for")
        if temps:
            raise SweepFailure("a temp file was left behind although no write was cut before its rename")

    # Power back: no free try.
    card2 = restart(card)
    after = card2.state.counters
    for name, value in after.items():
        if value > counters_before[name]:
            raise SweepFailure(f"counter {name} went from {counters_before[name]} to {value} across the cut")
    name = VERIFY_KEYREFS.get(cut_apdu[3]) if cut_apdu[:3] == b"\x00\x20\x00" and len(cut_apdu) > 5 else None
    if name is not None:
        # A VERIFY writes twice: 1 the decrement (before comparing), 2 the restore (the value matched).
        # The counter is spent exactly when the decrement is on disk and the restore is not.
        i = plan.saves - saves_before if variant != "apdu" else 0
        spent = (i == 1 and variant == "renamed") or (i == 2 and variant == "written")
        want = counters_before[name] - 1 if spent else counters_before[name]
        if after[name] != want:
            raise SweepFailure(f"{name} counter {after[name]} after a VERIFY cut in its write {i} ({variant}); "
                               f"expected {want} (was {counters_before[name]})")

    # Second flash, same identity; the guard may refuse a card whose ADM try was spent.
    try:
        rec2, reader2 = _flash(card2, s)
    except GuardError as e:
        if "ADM1 has" not in str(e) or after["adm1"] >= counters_before["adm1"]:
            raise SweepFailure(f"second flash refused: {e}") from None
        report.guard_refusals += 1
        rec2, reader2 = _flash(card2, s, min_adm_tries=after["adm1"])  # a person lowers the bar, knowingly
    report.reflash_apdus += reader2.total.apdus
    if card2.internal_errors:
        raise SweepFailure(f"internal errors: {card2.internal_errors}")
    check_card(Card.load(path), s)
    report.survived += 1


def sweep(case: Case, workdir: Path, variants: tuple[str, ...] = VARIANTS,
          progress: Callable[[str], None] | None = None) -> Report:
    """Every cut point of `case`; failures are collected in the report (the caller asserts none)."""
    workdir.mkdir(parents=True, exist_ok=True)
    s = _setup(case, workdir)
    report = Report(case.name)
    report.apdus, report.saves = baseline(s, workdir)
    for variant, kw in points(report.apdus, report.saves, variants):
        report.points[variant] = report.points.get(variant, 0) + 1
        point_dir = workdir / "point"
        point_dir.mkdir(exist_ok=True)
        try:
            run_point(s, point_dir, variant, kw, report)
        except SweepFailure as e:
            report.failures.append(f"{case.name} {variant} {kw}: {e}")
        except Exception as e:  # anything else is a failure of the point too, reported with its type
            report.failures.append(f"{case.name} {variant} {kw}: {type(e).__name__}: {e}")
    shutil.rmtree(workdir / "point", ignore_errors=True)
    if progress:
        progress(f"{case.name}: {report.total} cut points, {report.survived} survived, "
                 f"{report.guard_refusals} guard refusals, {len(report.failures)} failures")
    return report
