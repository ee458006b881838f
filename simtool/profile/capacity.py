"""What the card model's files can hold, as far as profile validation is concerned.

The real numbers come from the file-system model of the card model in use (`simtool.fs`); until that is
wired in, the defaults below are our emulator's card model. Validation takes a `Capacities` so a caller
can pass the sizes of another card model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capacities:
    oplmn_entries: int = 40  # EF.OPLMNwACT: 5 bytes per entry
    hplmn_entries: int = 2  # EF.HPLMNwAcT: 5 bytes per entry
    fplmn_entries: int = 8  # EF.FPLMN: 3 bytes per entry
    ehplmn_entries: int = 4  # EF.EHPLMN: 3 bytes per entry
    acl_bytes: int = 128  # EF.ACL: count byte + TLVs `DD L apn`
    ecc_records: int = 5  # EF.ECC: one record per emergency number
    languages: int = 5  # EF.LI: 2 bytes per language

    @classmethod
    def from_sizes(
        cls,
        *,
        oplmnwact: int | None = None,
        hplmnwact: int | None = None,
        fplmn: int | None = None,
        ehplmn: int | None = None,
        acl: int | None = None,
        ecc_records: int | None = None,
        li: int | None = None,
    ) -> Capacities:
        """Capacities from file sizes in bytes (records for EF.ECC); unspecified ones keep the default."""
        d = cls()
        return cls(
            oplmn_entries=oplmnwact // 5 if oplmnwact is not None else d.oplmn_entries,
            hplmn_entries=hplmnwact // 5 if hplmnwact is not None else d.hplmn_entries,
            fplmn_entries=fplmn // 3 if fplmn is not None else d.fplmn_entries,
            ehplmn_entries=ehplmn // 3 if ehplmn is not None else d.ehplmn_entries,
            acl_bytes=acl if acl is not None else d.acl_bytes,
            ecc_records=ecc_records if ecc_records is not None else d.ecc_records,
            languages=li // 2 if li is not None else d.languages,
        )


DEFAULT_CAPACITIES = Capacities()
