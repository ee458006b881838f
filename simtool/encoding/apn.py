"""APN network identifiers as stored and sent (TS 23.003 §9.1, RFC 1035 §3.1 label form): each label
preceded by its length, no terminating zero; "" (the network-provided APN) is no labels at all. One
coding for EF.ACL (`efs.ACL`) and for the profile rules that size it (`profile.rules`).

What a profile may call an APN (letters, digits, '-', reserved first labels) is the profile's rule; the
coding takes any label of 1..63 printable ASCII characters without a dot, and `apn_decode` refuses
bytes that are not whole labels.
"""

from __future__ import annotations

from simtool.encoding.blocks import Fn
from simtool.encoding.codec import Codec, Vector
from simtool.encoding.types import DecodeError, EncodeError

__all__ = ["CODEC", "LABEL_MAX", "apn_decode", "apn_encode"]

LABEL_MAX = 63  # RFC 1035 §2.3.4


def apn_encode(apn: str) -> bytes:
    """The label form of `apn`; EncodeError for an empty label or one that is not printable ASCII."""
    if not isinstance(apn, str):
        raise EncodeError(f"expected an APN, got {type(apn).__name__}")
    if apn == "":
        return b""
    out = b""
    for label in apn.split("."):
        if not 1 <= len(label) <= LABEL_MAX or not label.isascii() or not label.isprintable():
            raise EncodeError(f"APN label {label!r} must be 1..{LABEL_MAX} printable ASCII characters")
        out += bytes([len(label)]) + label.encode("ascii")
    return out


def apn_decode(data: bytes) -> str:
    """Strict: labels of 1..63 printable ASCII characters without a dot, nothing left over."""
    labels, i = [], 0
    while i < len(data):
        n = data[i]
        label = bytes(data[i + 1 : i + 1 + n])
        if (not 1 <= n <= LABEL_MAX or len(label) < n or not label.isascii() or b"." in label
                or not label.decode().isprintable()):
            raise DecodeError(f"APN {bytes(data).hex().upper()} is not a list of labels (TS 23.003 §9.1)")
        labels.append(label.decode("ascii"))
        i += 1 + n
    return ".".join(labels)


CODEC = Codec(
    "APN",
    Fn(apn_decode, apn_encode),
    vectors=(
        Vector("08696E7465726E6574", "internet", "specfacts §3.3 (EF.ACL example)"),
        Vector("03696D73076578616D706C6503636F6D", "ims.example.com", "specfacts §3.3 (EF.ACL example)"),
        Vector("", "", "the network-provided APN: no labels"),
    ),
)
