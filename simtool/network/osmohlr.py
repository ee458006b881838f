"""osmo-hlr provisioning over its VTY (1.5.0; specfacts-network-esim §10.3): the commands, the `show` parser,
and the one rule for what a load changes.

Every subscriber is written with the same three commands, as `batch decrypt --format osmo-hlr` prints them
and `hlr load` sends them:

    subscriber imsi IMSI create
    subscriber imsi IMSI update msisdn (MSISDN | none)
    subscriber imsi IMSI update aud3g milenage k K opc OPC      (aud3g xor k K for an XOR batch)

`plan` compares what the HLR holds with what the batch wants and returns only the commands that differ. The
aud3g update is never sent for a subscriber whose K/OPc already match: osmo-hlr deletes and re-inserts the
auc_3g row, which puts its SQN back to 0, and the card would then refuse the next vectors until it
resynchronises (AUTS). osmo-hlr 1.5 has no TUAK; a TUAK batch is refused before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from simtool.errors import InputError

Algorithm = Literal["milenage", "xor", "tuak"]
Action = Literal["create", "update", "unchanged"]
IND_BITLEN = 5  # osmo-hlr's default; `show` prints it, and a different value counts as a difference
_ALGO_SHOW = {"MILENAGE": "milenage", "XOR": "xor"}  # `3G auth:` line → our name
_IMSI = re.compile(r"\d{6,15}")
_MSISDN = re.compile(r"\d{1,15}")


@dataclass(frozen=True, repr=False)
class Subscriber:
    """What one card needs in the HLR. `k`/`opc` are key bytes (16 each; `opc` unused for XOR)."""

    imsi: str
    msisdn: str | None
    algorithm: Algorithm
    k: bytes
    opc: bytes

    def __repr__(self) -> str:
        return f"Subscriber({self.imsi}, msisdn={self.msisdn}, {self.algorithm}, k=<secret>, opc=<secret>)"


@dataclass(frozen=True, repr=False)
class HlrRecord:
    """A subscriber as `subscriber imsi X show` prints it."""

    id: int
    imsi: str
    msisdn: str | None
    algorithm_3g: str | None  # "milenage", "xor", another name as printed (lowercase), None: no 3G auth
    k: bytes | None
    opc: bytes | None
    op: bytes | None
    ind_bitlen: int | None
    last_sqn: int | None

    def __repr__(self) -> str:
        return f"HlrRecord({self.imsi}, id={self.id}, msisdn={self.msisdn}, {self.algorithm_3g})"


def hlr_msisdn(msisdn: str | None) -> str | None:
    """The MSISDN as osmo-hlr keeps it: digits only (an E.164 `+` dropped)."""
    if not msisdn:
        return None
    digits = msisdn.removeprefix("+")
    if not _MSISDN.fullmatch(digits):
        raise InputError(f"MSISDN {msisdn!r}: osmo-hlr takes 1-15 digits")
    return digits


def check_subscriber(sub: Subscriber) -> None:
    """InputError when osmo-hlr cannot hold this subscriber (bad IMSI, key size, TUAK)."""
    if sub.algorithm == "tuak":
        raise InputError(f"IMSI {sub.imsi}: a TUAK batch cannot go into osmo-hlr 1.5 (it has no TUAK; only "
                         "MILENAGE and XOR for 3G)")
    if sub.algorithm not in ("milenage", "xor"):
        raise InputError(f"IMSI {sub.imsi}: algorithm {sub.algorithm!r} is not one osmo-hlr knows")
    if not _IMSI.fullmatch(sub.imsi):
        raise InputError(f"IMSI {sub.imsi!r}: osmo-hlr takes 6-15 digits")
    if len(sub.k) != 16 or (sub.algorithm == "milenage" and len(sub.opc) != 16):
        raise InputError(f"IMSI {sub.imsi}: K and OPc must be 16 bytes each")
    hlr_msisdn(sub.msisdn)


def create_command(imsi: str) -> str:
    return f"subscriber imsi {imsi} create"


def msisdn_command(imsi: str, msisdn: str | None) -> str:
    return f"subscriber imsi {imsi} update msisdn {hlr_msisdn(msisdn) or 'none'}"


def aud3g_command(sub: Subscriber) -> str:
    if sub.algorithm == "xor":
        return f"subscriber imsi {sub.imsi} update aud3g xor k {sub.k.hex()}"
    return f"subscriber imsi {sub.imsi} update aud3g milenage k {sub.k.hex()} opc {sub.opc.hex()}"


def show_command(imsi: str) -> str:
    return f"subscriber imsi {imsi} show"


def provisioning_commands(sub: Subscriber) -> list[str]:
    """The full, replay-safe block for one subscriber (create; MSISDN; keys)."""
    check_subscriber(sub)
    return [create_command(sub.imsi), msisdn_command(sub.imsi, sub.msisdn), aud3g_command(sub)]


def parse_show(text: str) -> HlrRecord | None:
    """The output of `subscriber imsi X show`; None for `% No subscriber for imsi = '…'`.
    ValueError for anything else (an error line, or output that is not a subscriber)."""
    if text.lstrip().startswith("% No subscriber"):
        return None
    fields: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("%"):
            raise ValueError(line)
        name, sep, value = line.partition(":")
        if sep and name in ("ID", "IMSI", "MSISDN", "2G auth", "3G auth", "IMEI", "IMEISV"):
            section = name
            fields[name] = value.strip()
            continue
        for item in line.split():
            k, eq, v = item.partition("=")
            if eq and section in ("2G auth", "3G auth"):
                fields[f"{section}.{k}"] = v
    if "IMSI" not in fields or "ID" not in fields:
        raise ValueError(f"not a subscriber: {text.strip()[:80]!r}")

    def hexkey(name: str) -> bytes | None:
        v = fields.get(f"3G auth.{name}")
        return bytes.fromhex(v) if v else None

    algo = fields.get("3G auth")
    msisdn = fields.get("MSISDN")
    bitlen, sqn = fields.get("3G auth.IND-bitlen"), fields.get("3G auth.last-SQN")
    return HlrRecord(id=int(fields["ID"]), imsi=fields["IMSI"], msisdn=None if msisdn in (None, "none") else msisdn,
                     algorithm_3g=_ALGO_SHOW.get(algo, algo.lower()) if algo else None,
                     k=hexkey("K"), opc=hexkey("OPC"), op=hexkey("OP"),
                     ind_bitlen=int(bitlen) if bitlen else None, last_sqn=int(sqn) if sqn else None)


def keys_match(rec: HlrRecord, sub: Subscriber) -> bool:
    """The HLR computes the same vectors as the card: algorithm, K and (for Milenage) OPc given as OPc."""
    if rec.algorithm_3g != sub.algorithm or rec.k != sub.k or rec.ind_bitlen != IND_BITLEN:
        return False
    if sub.algorithm == "milenage":
        return rec.op is None and rec.opc == sub.opc
    return True


def matches(rec: HlrRecord | None, sub: Subscriber) -> bool:
    return rec is not None and rec.msisdn == hlr_msisdn(sub.msisdn) and keys_match(rec, sub)


def plan(rec: HlrRecord | None, sub: Subscriber) -> tuple[Action, list[str]]:
    """What a load does for one subscriber: create it, update only what differs, or leave it untouched."""
    check_subscriber(sub)
    if rec is None:
        return "create", provisioning_commands(sub)
    cmds: list[str] = []
    if rec.msisdn != hlr_msisdn(sub.msisdn):
        cmds.append(msisdn_command(sub.imsi, sub.msisdn))
    if not keys_match(rec, sub):
        cmds.append(aud3g_command(sub))  # resets this subscriber's SQN to 0: only when the keys differ
    return ("update", cmds) if cmds else ("unchanged", [])


def script(subs: list[Subscriber], header: list[str]) -> str:
    """The `--format osmo-hlr` file: header comments, `enable`, one block per subscriber."""
    for s in subs:
        check_subscriber(s)
    lines = [f"! {h}" if h else "!" for h in header]
    lines += [
        "!",
        "! osmo-hlr VTY commands, one block per subscriber. Feed them to the VTY (port 4258) of osmo-hlr 1.5,",
        "! e.g. `nc -q 5 127.0.0.1 4258 < FILE`, or let `simtool hlr load` do it (it reads back and compares).",
        "! Safe to replay: `create` of an IMSI that exists only answers \"% Subscriber already exists\" and",
        "! changes nothing; the updates then set the same MSISDN and keys again. But a replay re-sets aud3g,",
        "! which puts each subscriber's SQN back to 0: the next authentication of each card then fails with a",
        "! synchronisation failure once (AUTS) and osmo-hlr resynchronises. `simtool hlr load` leaves an",
        "! unchanged subscriber untouched instead.",
        "enable",
    ]
    for s in subs:
        lines.append("!")
        lines.extend(provisioning_commands(s))
    return "\n".join(lines) + "\n"
