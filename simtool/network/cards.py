"""The cards of a batch in the clear, typed, from an export (MAC and KCV checked first) or from a batch
directory (every allocated identity): what the network-side formats and `hlr load` start from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from simtool.errors import InputError
from simtool.network.osmohlr import Algorithm, Subscriber

# Every factory card is written with Milenage (`simtool.profile.render` passes "milenage" to the card model's
# key file), and an export records no algorithm: so a batch's subscribers are Milenage. The writers take the
# algorithm as a parameter (XOR and TUAK are handled there) for the day a profile chooses one.
BATCH_ALGORITHM: Algorithm = "milenage"


@dataclass(frozen=True, repr=False)
class Card:
    """One card's identity and secrets; keys as bytes, PINs as digit strings."""

    iccid: str
    imsi: str
    msisdn: str | None
    ki: bytes
    opc: bytes
    adm1: bytes
    kic: bytes
    kid: bytes
    pin1: str
    puk1: str
    pin2: str
    puk2: str

    def subscriber(self, algorithm: Algorithm = BATCH_ALGORITHM) -> Subscriber:
        return Subscriber(imsi=self.imsi, msisdn=self.msisdn or None, algorithm=algorithm, k=self.ki, opc=self.opc)

    def __repr__(self) -> str:
        return f"Card({self.iccid}, {self.imsi}, <secrets>)"


@dataclass
class Cards:
    """Where the cards came from (an export's header, or the batch record) and the cards."""

    source: str
    batch: str
    profile: str
    profile_sha256: str
    header: dict[str, str]
    cards: list[Card]


def card_from_clear(row: dict[str, str]) -> Card:
    """A row of `ExportFile.decrypt` (keys as hex, PINs as digits)."""
    return Card(iccid=row["iccid"], imsi=row["imsi"], msisdn=row["msisdn"] or None, ki=bytes.fromhex(row["ki"]),
                opc=bytes.fromhex(row["opc"]), adm1=bytes.fromhex(row["adm1"]), kic=bytes.fromhex(row["kic"]),
                kid=bytes.fromhex(row["kid"]), pin1=row["pin1"], puk1=row["puk1"], pin2=row["pin2"], puk2=row["puk2"])


def from_export(path: str | os.PathLike[str], key: bytes) -> Cards:
    """An export's verified cards. InputError (2) for a malformed file or another key; SecretError (1) when
    the MAC or a sealed value does not verify: both before any card is returned."""
    from simtool.batch.export import read_export

    exp = read_export(path, key)
    cards = [card_from_clear(r) for r in exp.decrypt(key)]
    h = exp.header
    return Cards(source=str(path), batch=h.get("batch", ""), profile=h.get("profile", ""),
                 profile_sha256=h.get("profile_sha256", ""), header=dict(h), cards=cards)


def from_batch_dir(path: str | os.PathLike[str], key_file: str | None, ledger_url: str | None = None) -> Cards:
    """Every allocated identity of a batch directory (all but the voided ones), so the HLR knows the cards
    before they are flashed. The transport key must be the batch's (KCV), else InputError."""
    from simtool.batch.batchdir import BatchDir
    from simtool.batch.keys import CardSecrets, Sealer, check_kcv, load_transport_key
    from simtool.batch.ledger import VOIDED, open_ledger

    bdir = BatchDir.load(path)
    with open_ledger(ledger_url or bdir.ledger) as ledger:
        batch = ledger.batch(bdir.batch_id)
        if batch is None:
            raise InputError(f"{path}: batch {bdir.batch_id} is not in ledger {bdir.ledger}")
        key = load_transport_key(key_file or bdir.transport_key)
        check_kcv(key, batch.kcv, key_file or bdir.transport_key or "$SIMTOOL_TRANSPORT_KEY")
        sealer = Sealer(key)
        cards = []
        for row in ledger.rows(batch.id):
            if row.state == VOIDED:
                continue
            sec = CardSecrets.unpack(sealer.open(row.secrets, row.iccid))
            cards.append(Card(iccid=row.iccid, imsi=row.imsi, msisdn=row.msisdn or None, ki=sec.ki, opc=sec.opc,
                              adm1=sec.adm1, kic=sec.kic, kid=sec.kid, pin1=sec.pin1, puk1=sec.puk1, pin2=sec.pin2,
                              puk2=sec.puk2))
        header = {"batch": batch.id, "profile": batch.profile_name, "profile_sha256": batch.profile_sha256,
                  "kcv": batch.kcv}
        return Cards(source=str(path), batch=batch.id, profile=batch.profile_name,
                     profile_sha256=batch.profile_sha256, header=header, cards=cards)


def load_cards(path: str, key_file: str | None) -> Cards:
    """A batch directory or an export file, by what `path` is."""
    from simtool.batch.keys import load_transport_key

    p = Path(path)
    if p.is_dir():
        return from_batch_dir(p, key_file)
    if not p.exists():
        raise InputError(f"{path}: no such file or batch directory")
    return from_export(p, load_transport_key(key_file))

