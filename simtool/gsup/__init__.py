"""The network side: osmocom's GSUP over IPA (sans-I/O codec and session) and a thin client for an HLR.

Layer: above `transport`, below `personalize` and `batch` (docs/ARCHITECTURE.md); imports only `errors` and
`encoding`. Facts: specfacts-network-esim §9; written from the protocol documentation, no osmocom code.
"""

from simtool.gsup.client import GsupClient, parse_address
from simtool.gsup.errors import GsupDecodeError, HlrRefused, HlrUnreachable
from simtool.gsup.message import AuthTuple, Cause, CnDomain, Message, MsgType

__all__ = ["AuthTuple", "Cause", "CnDomain", "GsupClient", "GsupDecodeError", "HlrRefused", "HlrUnreachable",
           "Message", "MsgType", "parse_address"]
