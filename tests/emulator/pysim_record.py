"""Record the pySim-read / pySim-prog traces that test_emulator_pysim_replay.py replays (docs/interop.md).

    python -m tests.emulator.pysim_record [--pysim /tmp/pysim] [--python /tmp/pysim-venv/bin/python]

Builds the two cards the replay test builds, serves each through pcscd + vpcd (a locked slot), runs the real
tool against it, and writes every command the card received with its answer, secrets as placeholders. Re-run
it when the card's file tree changes (the MF's FCP carries the total size of its files, so answers change).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from simtool.emulator import Card
from simtool.emulator.blank import create_card_file
from simtool.personalize.flash import flash
from simtool.profile import Identity, load_profile
from simtool.testing.pcscd import emulated_reader, ensure_pcscd
from simtool.transport import open_reader
from tests.emulator.test_emulator_pysim_replay import DATA, KI, OPC, ROOT, SECRETS, SJA2_ADM

PROG_ARGS = ["-t", "sysmoISIM-SJA2", "-a", SJA2_ADM.decode(), "-x", "204", "-y", "08", "-n", "KPN",
             "-s", "8988211000000467343", "-i", "204080000000042", "-k", KI.hex(), "-o", OPC.hex()]


def record(card_path: Path, tool: list[str]) -> list[str]:
    """Serve the card, run `tool` with `-p <its reader index>`, return the exchanges, one a line."""
    from smartcard.System import readers

    card = Card.load(card_path)
    log: list[str] = []
    process, reset = card.process, card.reset

    def logged(apdu: bytes) -> bytes:
        out = process(apdu)
        log.append(f"{bytes(apdu).hex()} {out.hex()}")
        return out

    def logged_reset() -> None:
        log.append("reset ")
        reset()

    card.process, card.reset = logged, logged_reset  # type: ignore[method-assign]
    with emulated_reader(card) as name:
        index = [str(r) for r in readers()].index(str(name))
        log.clear()
        subprocess.run([*tool[:2], "-p", str(index), *tool[2:]], stdin=subprocess.DEVNULL, check=True)
    return log


def write(name: str, lines: list[str]) -> None:
    path = DATA / name
    header = [h for h in path.read_text().splitlines() if h.startswith("#")]
    body = "\n".join(lines) + "\n"
    for placeholder, value in SECRETS.items():
        body = body.replace(value, placeholder)
    path.write_text("\n".join(header) + "\n" + body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pysim", type=Path, default=Path("/tmp/pysim"))
    ap.add_argument("--python", default="/tmp/pysim-venv/bin/python")
    a = ap.parse_args()
    ensure_pcscd()
    with tempfile.TemporaryDirectory() as tmp:
        ident = Identity.sample()
        read_card, prog_card = Path(tmp, "read.json"), Path(tmp, "prog.json")
        create_card_file(read_card, ident.adm1)
        reader = open_reader(f"emu:{read_card}")
        flash(reader, load_profile(ROOT / "profiles/kpn-wechat-1gb-15d.yaml"), ident)
        reader.close()
        create_card_file(prog_card, SJA2_ADM, iccid="8988211000000467343", model="sysmoISIM-SJA2")
        write("pysim-read.trace", record(read_card, [a.python, str(a.pysim / "pySim-read.py")]))
        write("pysim-prog-sja2.trace", record(prog_card, [a.python, str(a.pysim / "pySim-prog.py"), *PROG_ARGS]))


if __name__ == "__main__":
    main()
