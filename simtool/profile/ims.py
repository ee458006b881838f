"""The ISIM's values for one card: home domain, IMPI, IMPUs and P-CSCFs from a profile's `ims` section.

Left out of the profile, the identities are the ones TS 23.003 derives from the IMSI (§13.2-13.4,
`simtool.encoding.efs_isim`): `<imsi>@ims.mnc008.mcc204.3gppnetwork.org` and `sip:<imsi>@...`. Given,
they are templates with `{imsi}`, `{msisdn}` and `{domain}`, so each card gets its own. Pure functions,
shared by the schema (field checks), the cross checks (sizes, worst case) and `render`.

    identities(None, "204", "08", "204080000000001", None)["impi"]
    # '204080000000001@ims.mnc008.mcc204.3gppnetwork.org'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from simtool.encoding import efs_isim

PLACEHOLDERS = ("imsi", "msisdn", "domain")
_FIELD = re.compile(r"\{([^{}]*)\}")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# The longest values a card of any profile can fill in (TS 23.003: IMSI at most 15 digits; E.164 15).
WORST_CASE = {"imsi": "9" * 15, "msisdn": "+" + "9" * 15}


def fqdn_problem(value: str) -> str | None:
    """A domain name of labels a-z, 0-9 and '-' (RFC 1035), at least two of them, 253 characters at most."""
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return f"must be a domain name like 'ims.mnc008.mcc204.3gppnetwork.org', got {value!r}"
    return None


def _template_problem(value: str, what: str) -> str | None:
    unknown = [f for f in _FIELD.findall(value) if f not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} in {what} (known: " + ", ".join(
            f"{{{p}}}" for p in PLACEHOLDERS) + ")"
    if not value.isascii() or any(c.isspace() for c in value):
        return f"{what} must be ASCII without spaces, got {value!r}"
    return None


def impi_problem(value: str) -> str | None:
    """An NAI template `user@realm` naming the card's IMSI: one private identity per subscriber."""
    problem = _template_problem(value, "the IMPI")
    if problem:
        return problem
    if "{imsi}" not in value:
        return f"the IMPI must contain {{imsi}} (one private identity per card), got {value!r}"
    user, at, realm = value.partition("@")
    if not at or not user or not realm:
        return f"the IMPI is an NAI, user@realm (TS 23.003 §13.3), got {value!r}"
    return None


def impu_problem(value: str) -> str | None:
    """A SIP or TEL URI template (TS 31.103 §4.2.4) naming the card's IMSI or MSISDN."""
    problem = _template_problem(value, "an IMPU")
    if problem:
        return problem
    if not value.startswith(("sip:", "tel:")):
        return f"an IMPU is a SIP or TEL URI ('sip:...', 'tel:...'), got {value!r}"
    if "{imsi}" not in value and "{msisdn}" not in value:
        return f"an IMPU must contain {{imsi}} or {{msisdn}} (each card its own), got {value!r}"
    return None


def pcscf_problem(value: str) -> str | None:
    """An IPv4/IPv6 address or a domain name (EF.P-CSCF types 01, 02, 00)."""
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if fqdn_problem(value):
        return f"a P-CSCF is an IP address or a domain name, got {value!r}"
    return None


def fill(template: str, values: dict[str, str | None], what: str) -> str:
    def one(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            raise ValueError(f"{what} {template!r} needs the card's {m.group(1)}, which this identity lacks")
        return v

    return _FIELD.sub(one, template)


def identities(ims: Mapping[str, Any] | None, mcc: str, mnc: str, imsi: str, msisdn: str | None) -> dict[str, Any]:
    """{"domain", "impi", "impu": [...], "pcscf": [record values]} for one card. `ims` is the profile's
    section as plain data (None or {}: every value derived); raises ValueError when a template needs what
    the card lacks (an MSISDN)."""
    ims = ims or {}
    domain = ims.get("domain") or efs_isim.ims_domain(mcc, mnc)
    values: dict[str, str | None] = {"imsi": imsi, "msisdn": msisdn, "domain": domain}
    impi_t = ims.get("impi")
    impu_t = list(ims.get("impu") or [])
    return {
        "domain": domain,
        "impi": fill(impi_t, values, "ims.impi") if impi_t else efs_isim.impi(imsi, domain),
        "impu": [fill(t, values, "ims.impu") for t in impu_t] if impu_t else [efs_isim.impu(imsi, domain)],
        "pcscf": [efs_isim.pcscf_value(p) for p in ims.get("pcscf") or []],
    }
