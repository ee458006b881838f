"""Operator profiles: the YAML schema, validation with FILE:LINE errors, and per-card identities.

    from simtool.profile import load_profile, Identity
    profile = load_profile("profiles/kpn-wechat-1gb-15d.yaml")   # raises ProfileError (exit code 2)
    identity = Identity.sample()
    identity.check_against(profile)

`render(profile, identity)` (the card image) lives in `simtool.profile.render`.
"""

from .capacity import DEFAULT_CAPACITIES, Capacities, capacities_for_model
from .identity import Identity, IdentityError, adm_from_digits, adm_from_hex
from .load import ProfileError, load_profile, validate_bytes, validate_profile, validate_text
from .luhn import luhn_digit, luhn_ok
from .schema import Profile

__all__ = [
    "DEFAULT_CAPACITIES",
    "Capacities",
    "Identity",
    "IdentityError",
    "Profile",
    "ProfileError",
    "adm_from_digits",
    "capacities_for_model",
    "adm_from_hex",
    "load_profile",
    "luhn_digit",
    "luhn_ok",
    "validate_bytes",
    "validate_profile",
    "validate_text",
]
