"""eSIM: the card image as a TCA "eUICC Profile Package: Interoperable Format" (SAIP) package.

`build(profile, identity) -> bytes` gives the DER an SM-DP+ serves; `inspect(bytes)` reads one back
(ours or anyone's), decoding every file with our codecs and running our structural checks. The ASN.1
module (pe_definitions.asn) follows the specification v3.3.1; `layout` is the one table of which element
holds which file. Docs: docs/esim.md.
"""

from simtool.esim.build import build, package_image
from simtool.esim.inspect import inspect
from simtool.esim.saip import PackageError

__all__ = ["PackageError", "build", "inspect", "package_image"]
