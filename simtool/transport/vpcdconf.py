"""`/etc/reader.conf.d` entries for vsmartcard's vpcd driver: how many emulated readers pcscd offers.

Standard library only, so `scripts/install-system-deps.sh` can run this file directly with the system
Python before simtool is installed:  python3 simtool/transport/vpcdconf.py --slots 4 --install

Facts (DESIGN.md §3, specfacts §6):
* one entry gives 2 slots: ports base and base + 1 (`DEVICENAME /dev/null:<base>`, server mode);
* entry k has base port 0x8C7B + 2k (0x8C7B, 0x8C7D, 0x8C7F, ...), so slot s listens on 35963 + s;
* two entries that load the same library file break each other (no card is ever seen): every entry
  after Debian's own (`/etc/reader.conf.d/vpcd`) loads its own copy, `libifdvpcd-simtool-<k>.so`;
* pcscd names readers `FRIENDLYNAME NN SS` and numbers NN per name, so entries need distinct names:
  entry 0 keeps Debian's "Virtual PCD" (readers "Virtual PCD 00 00" and "Virtual PCD 00 01"),
  entry k is "Virtual PCD k" (readers "Virtual PCD 1 00 00", "Virtual PCD 1 00 01", ...);
* pcscd reads the files at start: restart it after a change.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

VPCD_PORT = 0x8C7B
CONF_DIR = Path("/etc/reader.conf.d")
DEBIAN_CONF = "vpcd"
OUR_CONF = "simtool-vpcd"
DRIVER_DIR = Path("/usr/lib/pcsc/drivers/serial")
DEBIAN_LIB = DRIVER_DIR / "libifdvpcd.so"
FRIENDLY = "Virtual PCD"


def entry_count(slots: int) -> int:
    if slots < 1:
        raise ValueError("--slots must be at least 1")
    return (slots + 1) // 2


def friendly_name(entry: int) -> str:
    return FRIENDLY if entry == 0 else f"{FRIENDLY} {entry}"


def entry_port(entry: int, base: int = VPCD_PORT) -> int:
    return base + 2 * entry


def library_path(entry: int, driver_dir: Path = DRIVER_DIR) -> Path:
    return driver_dir / "libifdvpcd.so" if entry == 0 else driver_dir / f"libifdvpcd-simtool-{entry}.so"


def reader_name(slot: int) -> str:
    """The PC/SC reader name of vpcd slot `slot` (port 35963 + slot) under the entries written here."""
    return f"{friendly_name(slot // 2)} 00 {slot % 2:02X}"


def slot_of_reader(name: str) -> int | None:
    """The inverse of `reader_name`, for any reader numbering pcscd chose; None if not a vpcd reader."""
    m = re.fullmatch(rf"{re.escape(FRIENDLY)}(?: (\d+))? [0-9A-F]{{2}} ([0-9A-F]{{2}})", name)
    if not m:
        return None
    return 2 * int(m.group(1) or 0) + int(m.group(2), 16)


def entry_text(entry: int, driver_dir: Path = DRIVER_DIR) -> str:
    port = entry_port(entry)
    return (f'FRIENDLYNAME "{friendly_name(entry)}"\n'
            f"DEVICENAME   /dev/null:0x{port:04X}\n"
            f"LIBPATH      {library_path(entry, driver_dir)}\n"
            f"CHANNELID    0x{port:04X}\n")


def reader_conf(slots: int, driver_dir: Path = DRIVER_DIR) -> dict[str, str]:
    """File name → content: Debian's `vpcd` (entry 0) and `simtool-vpcd` (entries 1..) when needed."""
    n = entry_count(slots)
    files = {DEBIAN_CONF: entry_text(0, driver_dir)}
    if n > 1:
        header = (f"# simtool: vpcd readers for slots 2..{2 * n - 1} (ports {entry_port(1)}..{entry_port(n - 1) + 1}),"
                  " written by `simtool emulator vpcd-config --install`.\n"
                  "# Each entry loads its own copy of libifdvpcd.so: entries sharing one library file break"
                  " each other.\n")
        files[OUR_CONF] = header + "\n".join(entry_text(k, driver_dir) for k in range(1, n))
    return files


def render(slots: int) -> str:
    """What `simtool emulator vpcd-config --slots N` prints."""
    parts = []
    for name, text in reader_conf(slots).items():
        parts.append(f"# --- {CONF_DIR / name}\n{text}")
    return "\n".join(parts)


def install(slots: int, conf_dir: Path = CONF_DIR, driver_dir: Path = DRIVER_DIR) -> list[str]:
    """Write the entries and copy the driver library per extra entry. Returns the paths written. Needs
    root and an installed vsmartcard-vpcd. A smaller `slots` removes the entries beyond it."""
    source = driver_dir / "libifdvpcd.so"
    if not source.exists():
        raise FileNotFoundError(f"{source}: vsmartcard-vpcd is not installed (apt-get install vsmartcard-vpcd)")
    real = source.resolve()
    conf_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    files = reader_conf(slots, driver_dir)
    for k in range(1, entry_count(slots)):
        lib = library_path(k, driver_dir)
        if not lib.exists() or lib.read_bytes() != real.read_bytes():
            tmp = lib.with_name(lib.name + ".tmp")
            shutil.copyfile(real, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, lib)
            written.append(str(lib))
    for name, text in files.items():
        path = conf_dir / name
        if name == DEBIAN_CONF and path.exists() and _entries(path.read_text()) == _entries(text):
            continue  # Debian's file already says this: leave the package's conffile alone
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(str(path))
    ours = conf_dir / OUR_CONF
    if OUR_CONF not in files and ours.exists():
        ours.unlink()
        written.append(f"{ours} (removed)")
    return written


def _entries(text: str) -> list[str]:
    return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def installed_slots(conf_dir: Path = CONF_DIR) -> list[int]:
    """The vpcd slots (port - 35963) that the reader.conf.d files on this machine give pcscd."""
    slots: list[int] = []
    try:
        files = sorted(conf_dir.iterdir())
    except OSError:
        return []
    for path in files:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        for block in re.split(r"\n\s*\n", text):
            if "libifdvpcd" not in block:
                continue
            m = re.search(r"^\s*DEVICENAME\s+/dev/null:(\S+)", block, re.M)
            if not m:
                continue
            try:
                port = int(m.group(1), 0)
            except ValueError:
                continue
            base = port - VPCD_PORT
            if base >= 0:
                slots += [base, base + 1]
    return sorted(set(slots))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="vpcd reader entries for pcscd")
    p.add_argument("--slots", type=int, default=2)
    p.add_argument("--install", action="store_true")
    args = p.parse_args(argv)
    if not args.install:
        sys.stdout.write(render(args.slots))
        return 0
    for line in install(args.slots):
        print(f"wrote {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
