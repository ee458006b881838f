"""Cryptography for SIM personalization: AKA algorithms, tokens, GSM conversion, secrets at rest.

A leaf package: it imports only the standard library, `cryptography` and `simtool.errors`. The submodules
are imported here so `import simtool.crypto` is enough to reach e.g. `simtool.crypto.milenage.f1`.
Every algorithm module keeps its published test vectors in `VECTORS` beside the code.
"""

from simtool.crypto import aka, gsm, keccak, milenage, secrets, tuak, vector, xor

__all__ = ["aka", "gsm", "keccak", "milenage", "secrets", "tuak", "vector", "xor"]
