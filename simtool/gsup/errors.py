"""The errors of the network side: bytes that do not follow IPA/GSUP, an HLR that refused, an HLR away."""

from __future__ import annotations

from typing import Any

from simtool.errors import CardError, ServiceUnreachable


class GsupDecodeError(ValueError):
    """Bytes that are not a well-formed IPA frame or GSUP message (says which IE, at which offset)."""


class HlrUnreachable(ServiceUnreachable):
    """The HLR cannot be reached, dropped the connection or did not answer in time (exit 3)."""


class HlrRefused(CardError):
    """The HLR answered with an error (a SEND_AUTH_INFO error and its GMM cause; exit 1)."""

    def __init__(self, message: str, cause: int | None = None):
        super().__init__(message)
        self.cause = cause
        self.details: dict[str, Any] = {"cause": cause}  # shown in --json
