"""The operator profile: pydantic v2 models, strict and closed (unknown keys are errors).

Field-level rules live here (digit counts, lengths, names from fixed lists). Rules that look across fields
or depend on the card model's file sizes live in `checks.py`, so that every problem of a profile can be
reported in one go. Models are strict: YAML that reads as a number where text is expected (``mnc: 08``)
is an error, never a silent conversion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

from simtool.encoding.services import EST_BY_NAME, IST_BY_NAME, UST_BY_NAME, UST_SERVICES

from . import ims as ims_names
from . import rules

UeOperationMode = Literal[
    "normal", "type_approval", "normal_specific", "type_approval_specific", "maintenance", "cell_test"
]
# EF.AD byte 1 (TS 31.102 §4.2.18)
UE_OPERATION_MODE_BYTE: dict[str, int] = {
    "normal": 0x00,
    "type_approval": 0x80,
    "normal_specific": 0x01,
    "type_approval_specific": 0x81,
    "maintenance": 0x02,
    "cell_test": 0x04,
}

AccessTechnology = Literal[
    "utran",
    "eutran",
    "eutran_wb",
    "eutran_nb",
    "ngran",
    "gsm",
    "gsm_compact",
    "cdma2000_hrpd",
    "cdma2000_1xrtt",
    "ec_gsm_iot",
]

EmergencyCategory = Literal[
    "police",
    "ambulance",
    "fire_brigade",
    "marine_guard",
    "mountain_rescue",
    "manual_ecall",
    "automatic_ecall",
]
# EF.ECC service category bits (TS 24.008 §10.5.4.33), b1 = police ... b7 = automatic eCall
EMERGENCY_CATEGORY_BIT: dict[str, int] = {
    "police": 0x01,
    "ambulance": 0x02,
    "fire_brigade": 0x04,
    "marine_guard": 0x08,
    "mountain_rescue": 0x10,
    "manual_ecall": 0x20,
    "automatic_ecall": 0x40,
}

HPPLMN_MAX_MINUTES = 480  # TS 22.011 §3.2.2.5: 6 minutes to 8 hours, in steps of 6 minutes
DATA_LIMIT_MAX = 10**13  # 10 TB: anything above is a typo, not a travel plan
VALIDITY_MAX_DAYS = 3650
PLAN_NAME_MAX = 32

T = TypeVar("T")

_ID = re.compile(r"^[a-z0-9-]+$")


def _digits(value: str, lengths: tuple[int, ...] | range) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) not in lengths:
        if isinstance(lengths, range):
            want = f"{lengths.start} to {lengths.stop - 1} digits"
        elif len(lengths) == 1:
            want = f"exactly {lengths[0]} digits"
        else:
            want = " or ".join(str(n) for n in lengths) + " digits"
        raise ValueError(f"must be {want}, got {value!r}")
    return value


def _mcc(value: str) -> str:
    return _digits(value, (3,))


def _mnc(value: str) -> str:
    return _digits(value, (2, 3))


def _emergency_number(value: str) -> str:
    return _digits(value, range(1, 7))


def _smsc(value: str) -> str:
    digits = value[1:]
    if not (value.startswith("+") and digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 20):
        raise ValueError(f"must be an E.164 number: '+' and 1 to 20 digits, got {value!r}")
    return value


def _ident(max_len: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not _ID.match(value) or len(value) > max_len:
            raise ValueError(f"must be 1 to {max_len} characters of a-z, 0-9 and '-', got {value!r}")
        return value

    return check


def _operator(value: str) -> str:
    if not value.strip() or len(value) > 64:
        raise ValueError(f"must be 1 to 64 characters, got {value!r}")
    return value


def language_code(value: str) -> str:
    well_formed = len(value) == 2 and value.isascii() and value.islower()
    if not well_formed or pycountry.languages.get(alpha_2=value) is None:
        raise ValueError(f"must be an ISO 639-1 language code (like 'en'), got {value!r}")
    return value


def _apn(value: str) -> str:
    problem = rules.apn_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _spn_name(value: str) -> str:
    problem = rules.spn_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _service(value: str) -> str:
    if value in UST_BY_NAME:
        if value.startswith("rfu_"):
            raise ValueError(f"service {value!r} is reserved for future use and must not be set")
        return value
    known = [n for n in UST_BY_NAME if not n.startswith("rfu_")]
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    if near:
        raise ValueError(f"unknown service {value!r}; did you mean {near[0]!r}?")
    raise ValueError(
        f"unknown service {value!r} (no known name is close; see simtool.encoding.services.UST_SERVICES)"
    )


def _currency(value: str) -> str:
    well_formed = len(value) == 3 and value.isascii() and value.isupper()
    if not well_formed or pycountry.currencies.get(alpha_3=value) is None:
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return value


def _plan_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    problem = rules.display_text_problem(value)  # a SIM menu text: shown by the handset, in UCS2
    if problem:
        raise ValueError(problem)
    if len(value) > PLAN_NAME_MAX:
        raise ValueError(f"{value!r} is {len(value)} characters, at most {PLAN_NAME_MAX}")
    return value


def _hpplmn(value: int) -> int:
    if not 0 <= value <= HPPLMN_MAX_MINUTES or value % 6:
        raise ValueError(
            f"must be 0 (no search) or a multiple of 6 from 6 to {HPPLMN_MAX_MINUTES} minutes, got {value}"
        )
    return value


_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?$")
TOPUP_URL_MAX = 80


def _topup_url(value: str) -> str:
    """LAUNCH BROWSER carries the URL in ASCII (TS 102 223 §8.48): an http(s) URL the handset can open."""
    if not _URL.match(value):
        raise ValueError(f"must be an http:// or https:// URL in ASCII, got {value!r}")
    if len(value) > TOPUP_URL_MAX:
        raise ValueError(f"is {len(value)} characters, at most {TOPUP_URL_MAX}")
    return value


def _data_limit(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be more than 0 bytes, got {value}")
    if value > DATA_LIMIT_MAX:
        raise ValueError(f"{value} bytes is absurd (more than 10 TB = 10**13 bytes); sizes are in bytes")
    return value


def _validity(value: int) -> int:
    if not 1 <= value <= VALIDITY_MAX_DAYS:
        raise ValueError(f"must be 1 to {VALIDITY_MAX_DAYS} days, got {value}")
    return value


def _amount(value: int) -> int:
    if value < 0:
        raise ValueError(f"must be 0 or more (minor units, e.g. cents), got {value}")
    return value


def _no_duplicates(values: list[T]) -> list[T]:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{v!r} is listed twice")
        seen.add(v)
    return values


Mcc = Annotated[str, AfterValidator(_mcc)]
Mnc = Annotated[str, AfterValidator(_mnc)]
Apn = Annotated[str, AfterValidator(_apn)]
Language = Annotated[str, AfterValidator(language_code)]
ServiceName = Annotated[str, AfterValidator(_service)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Plmn(_Model):
    mcc: Mcc
    mnc: Mnc

    @property
    def key(self) -> str:
        """``"204/08"``: MCC/MNC as written (a 2-digit and a 3-digit MNC are different PLMNs)."""
        return rules.plmn_key(self.mcc, self.mnc)


class PlmnWithAct(Plmn):
    act: Annotated[list[AccessTechnology], Field(min_length=1), AfterValidator(_no_duplicates)]


class Spn(_Model):
    name: Annotated[str, AfterValidator(_spn_name)]
    # EF.SPN display condition b1: show the registered PLMN name also on the HPLMN
    show_in_hplmn: bool = False
    # b2: do not require the SPN to be shown on other PLMNs
    hide_in_oplmn: bool = False

    @property
    def coding(self) -> str:
        return rules.spn_coding(self.name)[0]


class ApnControlList(_Model):
    enforce: bool = False  # EST service 3 (ACL) on: the terminal only lets these APNs through
    apns: list[Apn] = []


class EmergencyNumber(_Model):
    number: Annotated[str, AfterValidator(_emergency_number)]
    categories: Annotated[list[EmergencyCategory], AfterValidator(_no_duplicates)] = []

    @property
    def category_byte(self) -> int:
        byte = 0
        for c in self.categories:
            byte |= EMERGENCY_CATEGORY_BIT[c]
        return byte


class Price(_Model):
    amount_minor: Annotated[int, AfterValidator(_amount)]
    currency: Annotated[str, AfterValidator(_currency)]


class Ambr(_Model):
    """The plan's aggregate maximum bit rates, in kbit/s (1 kbit/s = 1000 bit/s): what the HSS/UDM gives the
    core network for this subscriber (open5gs: `ambr` and the APN session's `ambr`). The card never sees it."""

    downlink_kbps: Annotated[int, Field(ge=1, le=10**9)]
    uplink_kbps: Annotated[int, Field(ge=1, le=10**9)]


class Plan(_Model):
    id: Annotated[str, AfterValidator(_ident(16))]
    data_limit_bytes: Annotated[int, AfterValidator(_data_limit)]
    validity_days: Annotated[int, AfterValidator(_validity)]
    price: Price
    names: dict[str, Annotated[str, AfterValidator(_plan_name)]]
    topup_url: Annotated[str, AfterValidator(_topup_url)] | None = None  # the page LAUNCH BROWSER opens
    ambr: Ambr | None = None  # the network side's rates (`batch decrypt --format open5gs`)


def _ist_service(value: str) -> str:
    if value in IST_BY_NAME:
        return value
    near = difflib.get_close_matches(value, list(IST_BY_NAME), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else " (see simtool.encoding.services.IST_SERVICES)"
    raise ValueError(f"unknown ISIM service {value!r}{hint}")


def _checked(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = problem(value)
        if found:
            raise ValueError(found)
        return value

    return check


class Ims(_Model):
    """The ISIM (TS 31.103), for VoLTE/IMS: home domain, identities and P-CSCFs. Left out, each is what TS
    23.003 derives from the card's IMSI (`simtool.profile.ims`); given, the identities are templates with
    `{imsi}`, `{msisdn}` and `{domain}`, filled in per card."""

    domain: Annotated[str, AfterValidator(_checked(ims_names.fqdn_problem))] | None = None
    impi: Annotated[str, AfterValidator(_checked(ims_names.impi_problem))] | None = None
    impu: Annotated[list[Annotated[str, AfterValidator(_checked(ims_names.impu_problem))]],
                    AfterValidator(_no_duplicates)] = []
    pcscf: Annotated[list[Annotated[str, AfterValidator(_checked(ims_names.pcscf_problem))]],
                     AfterValidator(_no_duplicates)] = []
    services: Annotated[list[Annotated[str, AfterValidator(_ist_service)]], AfterValidator(_no_duplicates)] = []


FitPolicy = Literal["error", "truncate"]


class Fit(_Model):
    """How a list longer than the card model's file is fitted (`simtool.profile.fit`). Only lists in
    priority order can be cut: "truncate" keeps the first entries the file holds; "error" refuses."""

    oplmn_wact: FitPolicy = "error"  # TS 31.102 §4.2.53: "defines the preferred PLMNs in priority order"
    hplmn_wact: FitPolicy = "error"  # §4.2.54: likewise


# --- suci: how the handset conceals the SUPI (TS 33.501 §6.12, Annex C; EF.SUCI_Calc_Info, EF.Routing_Indicator)

SuciScheme = Literal["null_scheme", "profile_a", "profile_b"]
# Keys that look like a home network private key: refused with their own reason wherever they appear (the
# private key stays with the network's SIDF; `simtool suci keygen` writes it to a 0600 file, never a profile).
PRIVATE_KEY_FIELD = re.compile(r"private|priv_?key|secret|(^|_)sk($|_)", re.IGNORECASE)
PRIVATE_KEY_REASON = ("looks like a home network private key, which never goes into a profile: it stays with the "
                      "network's SIDF (the file `simtool suci keygen --out` writes); put only public_key here")


def _hex_key(value: str) -> str:
    text = value.strip()
    if not text or len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"must be the public key in hex (an even number of hex digits), got {len(text)} characters")
    return text.lower()


def _routing_indicator(value: str) -> str:
    return _digits(value, range(1, 5))


class SuciKey(_Model):
    id: Annotated[int, Field(ge=0, le=255)]  # the home network public key identifier (one byte)
    scheme: Literal["profile_a", "profile_b"]
    public_key: Annotated[str, AfterValidator(_hex_key)]  # A: 32 bytes; B: 33 (compressed) or 65

    @property
    def public_bytes(self) -> bytes:
        return bytes.fromhex(self.public_key)


class Suci(_Model):
    """Protection schemes in priority order (highest first), the keys the non-null ones use, the routing
    indicator. Each non-null scheme uses the one key of its scheme (checks.py says which are missing)."""

    protection_schemes: Annotated[list[SuciScheme], Field(min_length=1), AfterValidator(_no_duplicates)]
    home_network_keys: list[SuciKey] = []
    routing_indicator: Annotated[str, AfterValidator(_routing_indicator)] = "0"


class Profile(_Model):
    profile_version: Literal[1]
    name: Annotated[str, AfterValidator(_ident(64))]
    operator: Annotated[str, AfterValidator(_operator)]
    home_plmn: Plmn
    ue_operation_mode: UeOperationMode = "normal"
    spn: Spn | None = None
    languages: Annotated[list[Language], Field(min_length=1)]
    apns: Annotated[list[Apn], Field(min_length=1)]
    apn_control_list: ApnControlList | None = None
    pin1_enabled: bool
    hplmn_wact: list[PlmnWithAct] = []
    oplmn_wact: list[PlmnWithAct] = []
    fit: Fit = Fit()
    fplmn: list[Plmn] = []
    ehplmn: list[Plmn] = []
    hpplmn_search_minutes: Annotated[int, AfterValidator(_hpplmn)] = 0
    smsc: Annotated[str, AfterValidator(_smsc)] | None = None
    emergency_numbers: list[EmergencyNumber] = []
    services: Annotated[list[ServiceName], Field(min_length=1)]
    suci: Suci | None = None  # EF.SUCI_Calc_Info and EF.Routing_Indicator (UST service 124)
    ims: Ims | None = None  # an ISIM on the card (ADF.ISIM); without it the ISIM files are left as they are
    plan: Plan

    _source_name: str = PrivateAttr(default="")
    _source_text: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")
    _warnings: list[str] = PrivateAttr(default_factory=list)

    # -- where it came from (for freezing a profile into a batch) --------------------------------------
    @property
    def source_name(self) -> str:
        """The file name as the caller gave it."""
        return self._source_name

    @property
    def source_text(self) -> str:
        """The YAML text this profile was loaded from, exactly."""
        return self._source_text

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes."""
        return self._sha256

    @property
    def warnings(self) -> list[str]:
        """Warning lines from validation (``FILE:LINE: field.path: warning: reason``)."""
        return list(self._warnings)

    # -- values the card files need ---------------------------------------------------------------
    @property
    def mnc_length(self) -> int:
        """EF.AD byte 4: the number of MNC digits in the IMSI."""
        return len(self.home_plmn.mnc)

    @property
    def imsi_prefix(self) -> str:
        """MCC+MNC: every IMSI of this profile starts with it."""
        return self.home_plmn.mcc + self.home_plmn.mnc

    @property
    def ue_operation_mode_byte(self) -> int:
        return UE_OPERATION_MODE_BYTE[self.ue_operation_mode]

    @property
    def ust_numbers(self) -> list[int]:
        """UST service numbers to set, ascending."""
        return sorted({UST_BY_NAME[s] for s in self.services})

    @property
    def est_names(self) -> list[str]:
        """EST services to enable: 'acl' when the APN control list is enforced."""
        return ["acl"] if self.apn_control_list is not None and self.apn_control_list.enforce else []

    @property
    def est_numbers(self) -> list[int]:
        return sorted(EST_BY_NAME[s] for s in self.est_names)

    def has_service(self, name: str) -> bool:
        if name not in UST_BY_NAME:
            raise KeyError(f"unknown UST service {name!r}")
        return name in self.services


__all__ = [
    "AccessTechnology",
    "ApnControlList",
    "EMERGENCY_CATEGORY_BIT",
    "EmergencyCategory",
    "EmergencyNumber",
    "Fit",
    "Ims",
    "Plan",
    "Plmn",
    "PlmnWithAct",
    "Price",
    "Profile",
    "Spn",
    "Suci",
    "SuciKey",
    "UE_OPERATION_MODE_BYTE",
    "UST_SERVICES",
]
