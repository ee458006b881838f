"""Checks that look across fields or at the card model's capacities.

They run on the plain data from the YAML, next to (not after) the pydantic models, so that a profile
with a bad MNC *and* a duplicate PLMN gets both reported at once. Each check looks only at values that are
well-formed enough to judge and leaves malformed ones to the schema.

Errors are for profiles that would give an inconsistent or impossible card; warnings for choices that
are legal but probably not what the operator wants.
"""

from __future__ import annotations

from typing import Any

from simtool.encoding import efs_isim
from simtool.encoding.efs import PLAN_DEFINITION
from simtool.encoding.services import IST_BY_NAME, UST_BY_NAME
from simtool.encoding.types import EncodeError
from simtool.fs.conformance import ist_service_needs, service_needs

from . import fit, ims, rules, schema
from . import suci as suci_rules
from .capacity import Capacities
from .yamlsrc import Path

Finding = tuple[Path, str]

# profile key, Capacities field, file name
_PLMN_LISTS = (
    ("hplmn_wact", "hplmn_entries", "EF.HPLMNwAcT"),
    ("oplmn_wact", "oplmn_entries", "EF.OPLMNwACT"),
    ("fplmn", "fplmn_entries", "EF.FPLMN"),
    ("ehplmn", "ehplmn_entries", "EF.EHPLMN"),
)


def _digits(v: Any, lengths: tuple[int, ...]) -> bool:
    return isinstance(v, str) and v.isascii() and v.isdigit() and len(v) in lengths


def _plmn(item: Any) -> str | None:
    """'262/01' for a well-formed PLMN mapping, else None."""
    if isinstance(item, dict) and _digits(item.get("mcc"), (3,)) and _digits(item.get("mnc"), (2, 3)):
        return rules.plmn_key(item["mcc"], item["mnc"])
    return None


def _list(data: dict[str, Any], key: str) -> list[Any]:
    v = data.get(key)
    return v if isinstance(v, list) else []


def _entries(n: int, one: str = "entry", many: str = "entries") -> str:
    return f"{n} {one if n == 1 else many}"


def _valid_language(v: Any) -> bool:
    try:
        schema.language_code(v)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _valid_apn(v: Any) -> bool:
    return isinstance(v, str) and rules.apn_problem(v) is None


class _Collector:
    def __init__(self) -> None:
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []

    def error(self, path: Path, msg: str) -> None:
        self.errors.append((path, msg))

    def warn(self, path: Path, msg: str) -> None:
        self.warnings.append((path, msg))


def cross_check(
    data: Any, caps: Capacities, file_stem: str | None = None
) -> tuple[list[Finding], list[Finding]]:
    """(errors, warnings) as (field path, reason) pairs."""
    out = _Collector()
    if not isinstance(data, dict):
        return out.errors, out.warnings
    _plmn_lists(data, caps, out)
    _lists(data, caps, out)
    _acl(data, caps, out)
    _services(data, caps, out)
    _model_holds_services(data, caps, out)
    _plan_names(data, out)
    _plan_size(data, caps, out)
    _ims(data, caps, out)
    name = data.get("name")
    if file_stem and isinstance(name, str) and name != file_stem:
        out.warn(("name",), f"{name!r} differs from the file name {file_stem!r}")
    return out.errors, out.warnings


def _plmn_lists(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    keys: dict[str, dict[str, int]] = {}  # list name -> PLMN -> first index
    for name, cap_field, ef in _PLMN_LISTS:
        items = _list(data, name)
        cap = getattr(caps, cap_field)
        if name in fit.FITTABLE and len(items) > cap:
            _, cut = fit.fit_list(name, items, fit.policy_of(data, name), caps)
            if cut is not None:
                out.warn((name,), cut.message())
            else:
                out.error((name,), fit.too_long(name, len(items), caps))
        elif len(items) > cap:
            out.error((name,), f"{len(items)} entries, the card model's {ef} holds {cap}")
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            key = _plmn(item)
            if key is None:
                continue
            if key in first:
                out.error((name, i), f"duplicate PLMN {key} (same as {name}.{first[key]})")
            else:
                first[key] = i
        keys[name] = first

    home = _plmn(data.get("home_plmn"))
    ehplmn = keys["ehplmn"]
    homes = set(ehplmn) | ({home} if home else set())
    for key, i in keys["fplmn"].items():
        if key == home:
            out.error(("fplmn", i), f"the home PLMN {key} must not be forbidden")
        elif key in ehplmn:
            reason = f"{key} is an equivalent home PLMN (ehplmn.{ehplmn[key]}), it cannot be forbidden"
            out.error(("fplmn", i), reason)
        for other in ("oplmn_wact", "hplmn_wact"):
            if key in keys[other]:
                out.error(
                    ("fplmn", i),
                    f"{key} is also preferred in {other}.{keys[other][key]};"
                    " a PLMN cannot be preferred and forbidden",
                )
    if ehplmn and home and home not in ehplmn:
        out.warn(
            ("ehplmn",),
            f"the home PLMN {home} is not listed; with an EHPLMN list"
            " the phone treats only the listed PLMNs as home",
        )
    for key, i in keys["oplmn_wact"].items():
        if key in homes:
            out.warn(("oplmn_wact", i), f"{key} is a home PLMN; OPLMNwACT is meant for roaming partners")
    for key, i in keys["hplmn_wact"].items():
        if homes and key not in homes:
            out.warn(("hplmn_wact", i), f"{key} is neither the home PLMN nor in ehplmn")


def _duplicates(items: list[Any], path: str, what: str, out: _Collector, fold: bool = False) -> None:
    first: dict[Any, int] = {}
    for i, v in enumerate(items):
        if not isinstance(v, str):
            continue
        k = v.lower() if fold else v
        if k in first:
            out.error((path, i), f"duplicate {what} {v!r} (same as {path}.{first[k]})")
        else:
            first[k] = i


def _lists(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    languages = _list(data, "languages")
    if len(languages) > caps.languages:
        out.error(("languages",), f"{len(languages)} entries, the card model's EF.LI holds {caps.languages}")
    _duplicates(languages, "languages", "language", out)
    _duplicates(_list(data, "apns"), "apns", "APN", out, fold=True)  # APNs compare case-insensitively

    numbers = _list(data, "emergency_numbers")
    if len(numbers) > caps.ecc_records:
        out.error(
            ("emergency_numbers",),
            f"{len(numbers)} entries, the card model's EF.ECC holds"
            f" {_entries(caps.ecc_records, 'record', 'records')}",
        )
    first: dict[str, int] = {}
    for i, item in enumerate(numbers):
        n = item.get("number") if isinstance(item, dict) else None
        if not isinstance(n, str):
            continue
        if n in first:
            same = f"emergency_numbers.{first[n]}"
            out.error(("emergency_numbers", i), f"duplicate emergency number {n} (same as {same})")
        else:
            first[n] = i


def _acl(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    acl = data.get("apn_control_list")
    if not isinstance(acl, dict):
        return
    listed = acl.get("apns", [])
    if not isinstance(listed, list):
        return
    _duplicates(listed, "apn_control_list.apns", "APN", out, fold=True)
    good = [a for a in listed if _valid_apn(a)]
    if good:
        size = rules.acl_size(good)
        if size > caps.acl_bytes:
            out.error(
                ("apn_control_list", "apns"),
                f"the list encodes to {size} bytes, the card model's EF.ACL holds {caps.acl_bytes}",
            )
    if acl.get("enforce") is True:
        have = {a.lower() for a in good}
        for apn in _list(data, "apns"):
            if _valid_apn(apn) and apn.lower() not in have:
                out.warn(
                    ("apn_control_list", "apns"),
                    f"enforce is on but the plan's APN {apn!r} is not listed; terminals will refuse it",
                )


# (profile key that needs the service, service, what the service is for)
_NEEDS_SERVICE = (
    ("spn", "spn", "EF.SPN"),
    ("apn_control_list", "acl", "EF.ACL"),
    ("oplmn_wact", "operator_plmn_wact", "EF.OPLMNwACT"),
    ("hplmn_wact", "hplmn_wact", "EF.HPLMNwAcT"),
    ("ehplmn", "ehplmn", "EF.EHPLMN"),
    ("smsc", "smsp", "EF.SMSP"),
    ("suci", "suci_privacy", "EF.SUCI_Calc_Info"),
)


def _present(v: Any) -> bool:
    return v is not None and v != [] and v != {}


def _services(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    services = data.get("services")
    if not isinstance(services, list):
        return
    index: dict[str, int] = {}
    for i, s in enumerate(services):
        if not isinstance(s, str):
            continue
        if s in index:
            out.warn(("services", i), f"service {s!r} is listed twice (same as services.{index[s]})")
        else:
            index[s] = i

    for key, service, ef in _NEEDS_SERVICE:
        if _present(data.get(key)) and service not in index:
            out.error(
                (key,),
                f"{ef} is only on the card with service {service!r} (UST {UST_BY_NAME[service]});"
                " add it to services",
            )
    if "spn" in index and data.get("spn") is None:
        out.error(("services", index["spn"]), "service 'spn' is set but the profile has no spn section")
    if "acl" in index and data.get("apn_control_list") is None:
        out.error(
            ("services", index["acl"]),
            "service 'acl' is set but the profile has no apn_control_list (EF.ACL content)",
        )
    acl = data.get("apn_control_list")
    if isinstance(acl, dict) and acl.get("enforce") is True and "est" not in index:
        out.error(
            ("apn_control_list", "enforce"),
            "enforcing the list is EST service 3, and EF.EST is only on the card with service 'est' (UST 34)",
        )
    for path, reason in suci_rules.findings(data, index, caps):
        out.error(path, reason)
    if "shall_be_set" not in index:
        out.warn(("services",), "TS 31.102 says service 33 'shall_be_set' shall be set to 1")
    if isinstance(data.get("plan"), dict) and "data_download_sms_pp" not in index:
        out.warn(
            ("services",),
            "without 'data_download_sms_pp' (UST 28) the plan applet cannot be reached by OTA SMS-PP",
        )


def _model_holds_services(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    """A service turned on promises its files to the terminal (TS 31.102 §4.2.8): the model must hold them."""
    services = data.get("services")
    if not isinstance(services, list) or not caps.paths:
        return
    for i, s in enumerate(services):
        if not isinstance(s, str):
            continue
        lacking = [n for n in service_needs(s) if n.path not in caps.paths]
        if lacking:
            files = ", ".join(f"{n.path} ({n.clause})" for n in lacking)
            out.error(("services", i), f"service {s!r} (UST {UST_BY_NAME.get(s, '?')}) needs {files}; "
                      f"card model {caps.model} does not hold {'it' if len(lacking) == 1 else 'them'}")


def _plan_names(data: dict[str, Any], out: _Collector) -> None:
    plan = data.get("plan")
    if not isinstance(plan, dict):
        return
    names = plan.get("names")
    if not isinstance(names, dict) or not isinstance(data.get("languages"), list):
        return
    languages = [lang for lang in _list(data, "languages") if _valid_language(lang)]
    for lang in languages:
        if lang not in names:
            out.error(("plan", "names"), f"no name for language {lang!r} (one per entry of languages)")
    for key in names:
        if key not in languages:
            out.error(("plan", "names", key), f"language {key!r} is not in languages")


def _plan_size(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    """The plan's definition (id, limits, price and every name) must fit EF.PLAN_DEF; without this check a
    long name passed validation and failed only at render, naming no line of the profile."""
    plan = data.get("plan")
    if not isinstance(plan, dict) or not isinstance(plan.get("names"), dict):
        return
    price: dict[str, Any] = plan["price"] if isinstance(plan.get("price"), dict) else {}
    value = {"plan_id": plan.get("id"), "data_limit_bytes": plan.get("data_limit_bytes"),
             "validity_days": plan.get("validity_days"),
             "price": {"amount_minor": price.get("amount_minor"), "currency": price.get("currency")},
             "names": plan["names"]}
    if isinstance(plan.get("topup_url"), str):
        value["topup_url"] = plan["topup_url"]
    try:
        size = len(PLAN_DEFINITION.encode(value))
    except (EncodeError, AttributeError, TypeError, ValueError):
        return  # malformed values: the schema reports them
    if size > caps.plan_def_bytes:
        out.error(("plan", "names"), f"the plan's definition takes {size} bytes with these names, the card "
                  f"model's EF.PLAN_DEF holds {caps.plan_def_bytes}: shorten the names or the top-up URL "
                  "(a name with a character outside the GSM 7-bit alphabet takes 2 bytes a character)")


PCSCF_SERVICES = ("pcscf_address", "pcscf_discovery_local_breakout")  # IST 1, 5: the terminal reads EF.P-CSCF


def _ims(data: dict[str, Any], caps: Capacities, out: _Collector) -> None:
    """The ISIM: the model must have one (with the files of the IST services on), P-CSCFs go with their
    service, and the identities fit the model's files for the longest IMSI and MSISDN a card can have."""
    section = data.get("ims")
    if not isinstance(section, dict):
        return
    if caps.isim is None:
        out.error(("ims",), f"card model {caps.model} has no ISIM (MF/ADF.ISIM)")
        return
    services = [s for s in _list(section, "services") if isinstance(s, str)]
    for i, s in enumerate(services):
        lacking = [n for n in ist_service_needs(s) if caps.paths and n.path not in caps.paths]
        if lacking:
            files = ", ".join(f"{n.path} ({n.clause})" for n in lacking)
            out.error(("ims", "services", i), f"ISIM service {s!r} (IST {IST_BY_NAME.get(s, '?')}) needs {files}; "
                      f"card model {caps.model} does not hold {'it' if len(lacking) == 1 else 'them'}")
    pcscf = _list(section, "pcscf")
    if pcscf and not any(s in services for s in PCSCF_SERVICES):
        out.error(("ims", "pcscf"), "P-CSCF addresses are read only with ISIM service 'pcscf_address' (IST 1) "
                  "or 'pcscf_discovery_local_breakout' (IST 5); add one to ims.services")
    for s in PCSCF_SERVICES:
        if s in services and not pcscf:
            out.error(("ims", "services", services.index(s)),
                      f"ISIM service {s!r} (IST {IST_BY_NAME[s]}) promises EF.P-CSCF addresses; ims.pcscf is empty")
    home = data.get("home_plmn")
    if not isinstance(home, dict) or _plmn(home) is None:
        return
    try:
        worst = ims.identities(section, home["mcc"], home["mnc"], ims.WORST_CASE["imsi"], ims.WORST_CASE["msisdn"])
    except (ValueError, TypeError, AttributeError):
        return  # malformed templates: the schema reports them
    targets = (("impi", "EF.IMPI", efs_isim.IMPI, [worst["impi"]]), ("domain", "EF.DOMAIN", efs_isim.DOMAIN,
             [worst["domain"]]), ("impu", "EF.IMPU", efs_isim.IMPU_RECORD, worst["impu"]),
             ("pcscf", "EF.P-CSCF", efs_isim.PCSCF_RECORD, worst["pcscf"]))
    for key, name, codec, values in targets:
        size, records = caps.isim[name]
        if len(values) > records:
            out.error(("ims", key), f"{_entries(len(values))}; the card model's {name} holds {records}")
        for i, value in enumerate(values):
            try:
                n = len(codec.encode(value))
            except (EncodeError, ValueError):
                continue  # reported by the schema
            if n > size:
                where = ("ims", key, i) if key in ("impu", "pcscf") else ("ims", key)
                out.error(where, f"{value!r} takes {n} bytes (with a 15-digit IMSI/MSISDN); the card model's "
                          f"{name} holds {size}")
