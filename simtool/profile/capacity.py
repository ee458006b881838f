"""What the card model's files can hold, as far as profile validation is concerned.

The real numbers come from the file-system model of the card model in use (`simtool.fs`):
`capacities_for_model()` reads them from there. The defaults below are our emulator's card model, so
validation without a model (`load_profile(path)`) judges against the card the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from simtool.errors import InputError

if TYPE_CHECKING:
    from simtool.fs.cardmodel import CardModel
    from simtool.fs.model import EF


# {file name: (bytes of the body or of one record, records)} of our emulated card's ADF.ISIM
DEFAULT_ISIM = {"EF.IMPI": (128, 1), "EF.DOMAIN": (50, 1), "EF.IMPU": (128, 8), "EF.P-CSCF": (128, 8)}


@dataclass(frozen=True)
class Capacities:
    oplmn_entries: int = 40  # EF.OPLMNwACT: 5 bytes per entry
    hplmn_entries: int = 2  # EF.HPLMNwAcT: 5 bytes per entry
    fplmn_entries: int = 8  # EF.FPLMN: 3 bytes per entry
    ehplmn_entries: int = 4  # EF.EHPLMN: 3 bytes per entry
    acl_bytes: int = 128  # EF.ACL: count byte + TLVs `DD L apn`
    ecc_records: int = 5  # EF.ECC: one record per emergency number
    languages: int = 5  # EF.LI: 2 bytes per language
    plan_def_bytes: int = 192  # EF.PLAN_DEF: the plan's TLVs, names and top-up URL included
    suci_calc_info_bytes: int = 128  # DF.5GS/EF.SUCI_Calc_Info: the scheme list and the public keys
    usim_computes_suci: bool = False  # the card model conceals the SUPI itself (UST service 125)
    # ADF.ISIM (TS 31.103): the identity files' bytes, and records of the record files (None: no ISIM)
    isim: dict[str, tuple[int, int]] | None = field(default_factory=lambda: dict(DEFAULT_ISIM), compare=False)
    model: str = "simtool-emu"  # the card model these numbers are of, named in errors
    paths: frozenset[str] = field(default_factory=frozenset, compare=False)  # its files; empty: not checked

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
        plan_def: int | None = None,
        suci_calc_info: int | None = None,
        usim_computes_suci: bool | None = None,
        model: str | None = None,
        paths: frozenset[str] | None = None,
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
            plan_def_bytes=plan_def if plan_def is not None else d.plan_def_bytes,
            suci_calc_info_bytes=suci_calc_info if suci_calc_info is not None else d.suci_calc_info_bytes,
            usim_computes_suci=usim_computes_suci if usim_computes_suci is not None else d.usim_computes_suci,
            model=model if model is not None else d.model,
            paths=paths if paths is not None else d.paths,
        )


DEFAULT_CAPACITIES = Capacities()


def capacities_for_model(model: CardModel | str | None = None) -> Capacities:
    """The capacities of a card model's files (by name or object; None = the default model)."""
    from simtool.fs.cardmodel import DEFAULT_MODEL, MODELS  # lazy: the fs layer sits below profiles

    if isinstance(model, str):
        if model not in MODELS:
            raise InputError(f"--model: unknown card model {model!r} (known: {', '.join(sorted(MODELS))})")
        model = MODELS[model]
    fs = (model or DEFAULT_MODEL).fs

    def ef(path: str) -> EF | None:
        return fs[path].ef if path in fs else None

    def size(path: str) -> int | None:
        f = ef(path)
        return f.size if f is not None else None

    usim = "MF/ADF.USIM"
    li_sizes = [s for s in (size(f"{usim}/EF.LI"), size("MF/EF.PL")) if s is not None]
    ecc_counts = []
    if (usim_ecc := ef(f"{usim}/EF.ECC")) is not None:
        ecc_counts.append(usim_ecc.record_count)
    if (gsm_ecc := size("MF/DF.GSM/EF.ECC")) is not None:
        ecc_counts.append(gsm_ecc // 3)
    isim = {name: (f.record_length, f.record_count) if f.is_record else (f.size, 1)
            for name in DEFAULT_ISIM if (f := ef(f"MF/ADF.ISIM/{name}")) is not None}
    caps = Capacities.from_sizes(
        oplmnwact=size(f"{usim}/EF.OPLMNwACT"),
        hplmnwact=size(f"{usim}/EF.HPLMNwAcT"),
        fplmn=size(f"{usim}/EF.FPLMN"),
        ehplmn=size(f"{usim}/EF.EHPLMN"),
        acl=size(f"{usim}/EF.ACL"),
        ecc_records=min(ecc_counts) if ecc_counts else None,
        li=min(li_sizes) if li_sizes else None,
        plan_def=size("MF/DF.PLAN/EF.PLAN_DEF"),
        suci_calc_info=size(f"{usim}/DF.5GS/EF.SUCI_Calc_Info"),
        usim_computes_suci=(model or DEFAULT_MODEL).usim_computes_suci,
        model=(model or DEFAULT_MODEL).name,
        paths=frozenset(fs.entries),
    )
    return replace(caps, isim=isim if len(isim) == len(DEFAULT_ISIM) else None)
