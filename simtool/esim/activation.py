"""The GSMA activation code a phone scans to download a profile: `LPA:1$SM-DP+ address$matching ID` (SGP.22,
format 1, no options). Checked here once, for `esim activation-code` and `batch run --esim --smdp`."""

from __future__ import annotations

import re

from simtool.errors import InputError

ACTIVATION_FORMAT = "LPA:1${host}${matching_id}"
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*$")
_MATCHING_ID = re.compile(r"^[A-Za-z0-9-]{1,255}$")


def check_host(host: str) -> str:
    if not _HOST.match(host):
        raise InputError(f"--smdp: {host!r} is not a host name")
    return host


def activation_code(host: str, matching_id: str) -> str:
    check_host(host)
    if not _MATCHING_ID.match(matching_id):
        raise InputError("--matching-id: 1 to 255 letters, digits or '-'")
    return ACTIVATION_FORMAT.format(host=host, matching_id=matching_id)
