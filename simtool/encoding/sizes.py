"""Byte quantities as people read them: one answer for the card's screen (applet_spec/behaviour.md),
`simtool read`'s summary and `simtool phone`'s plan line.

Decimal units as the plan states them (1 GB = 10^9 bytes, DESIGN.md §5): the largest of TB, GB, MB, kB
that fits, at most two decimals, truncated (never more than is there): `734 MB`, `1.5 GB`, `999.99 MB`.
Below 1 kB the bytes themselves (`999 B`); nothing at all is `0 MB`, the plan's own unit, as the card's
screen says "no data left".
"""

from __future__ import annotations

__all__ = ["FORMAT_BYTES_VECTORS", "format_bytes"]

_UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def format_bytes(n: int) -> str:
    for unit, size in _UNITS:
        if n >= size:
            whole, hundredths = divmod(n * 100 // size, 100)
            return f"{whole} {unit}" if not hundredths else f"{whole}.{hundredths:02d}".rstrip("0") + f" {unit}"
    return "0 MB" if n == 0 else f"{n} B"


# (bytes, shown): applet_spec/behaviour.md's examples and the edges between units
FORMAT_BYTES_VECTORS: list[tuple[int, str]] = [
    (0, "0 MB"), (1, "1 B"), (999, "999 B"), (1_000, "1 kB"), (1_999, "1.99 kB"), (734_000_000, "734 MB"),
    (999_999_999, "999.99 MB"), (1_000_000_000, "1 GB"), (1_500_000_000, "1.5 GB"), (1_734_567_890, "1.73 GB"),
    (1_999_999_999, "1.99 GB"), (4_000_000_000, "4 GB"), (2 * 10**12 + 10**10, "2.01 TB"),
]
