"""The bad-input corpus (issue 9): every file here is refused by the real CLI with a clear error.

Kinds: profiles/, carddata/ (card data CSV), keys/ (secret files), cards/ (emulated cards' state files,
opened as `--reader emu:FILE`; issue 12).

Each input file `NAME.EXT` has a sidecar `NAME.expect` (YAML):

    what: one line saying what is wrong with the file
    exit: 2                                  # the exit code (bad input)
    commands:                                # `python -m simtool` argument lines, run one by one
      - profile validate {file}
      - flash --profile {file} --reader emu:{card} ...
    stderr:                                  # text every run must print on stderr (after substitution)
      - "{file}:14: spn.name: contains the invisible or formatting character U+202E"
    located: false                           # optional: the message need not carry a line number

Placeholders: {file} the input (absolute path), {card} a fresh blank emulated card in the run's own
empty working directory {tmp}, {profile} the shipped 1 GB profile.

For every command: the exit code is the expected one; stderr names the file (with a line number,
`FILE:LINE: field: reason`, unless `located: false`) and carries each expected text; there is no
traceback and nothing on stdout; nothing is written: the card's state file is byte for byte as before
and no file appears in the working directory or in the corpus.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from simtool.emulator import create_card_file

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parents[1]
PROFILE = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
ADM = bytes.fromhex("3131313131313131")
KINDS = ("profiles", "carddata", "keys", "cards")


def cases() -> list[tuple[Path, Path]]:
    """(input file, .expect file) pairs; every input has exactly one sidecar and the other way round."""
    out = []
    for expect in sorted(CORPUS.glob("*/*.expect")):
        inputs = [p for p in expect.parent.glob(expect.stem + ".*") if p.suffix != ".expect"]
        assert len(inputs) == 1, f"{expect}: expected one input file beside it, found {inputs}"
        out.append((inputs[0], expect))
    return out


def _listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def run_case(inp: Path, expect: Path, work_root: Path) -> list[str]:
    """Every problem with one corpus file, as lines naming it (empty: all good)."""
    doc = yaml.safe_load(expect.read_text(encoding="utf-8"))
    problems: list[str] = []
    for i, line in enumerate(doc["commands"]):
        work = work_root / f"{inp.parent.name}-{inp.stem}-{i}"
        work.mkdir(parents=True)
        card = work / "card.json"
        create_card_file(card, ADM)
        card_before, listing_before = card.read_bytes(), _listing(work)
        subst = {"{file}": str(inp), "{card}": str(card), "{profile}": str(PROFILE), "{tmp}": str(work)}

        def fill(text: str, subst: dict[str, str] = subst) -> str:
            for k, v in subst.items():
                text = text.replace(k, v)
            return text

        argv = [fill(a) for a in shlex.split(line)]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "PYTHONIOENCODING": "utf-8"}
        env = {k: v for k, v in env.items() if not k.startswith("SIMTOOL_")}  # no secret from the environment
        proc = subprocess.run([sys.executable, "-m", "simtool", *argv], cwd=work, env=env, capture_output=True,
                              text=True, encoding="utf-8", errors="replace", timeout=120)
        where = f"{inp.relative_to(CORPUS)} [{line[:60]}...]"
        err = proc.stderr
        if proc.returncode != doc["exit"]:
            problems.append(f"{where}: exit {proc.returncode}, expected {doc['exit']}; stderr: {err[-500:]!r}")
        if "Traceback" in err:
            problems.append(f"{where}: a traceback on stderr: {err[-800:]!r}")
        if str(inp) not in err:
            problems.append(f"{where}: stderr does not name the file: {err[-300:]!r}")
        elif doc.get("located", True) and not re.search(re.escape(str(inp)) + r":\d+: \S", err):
            problems.append(f"{where}: stderr names the file without a line (FILE:LINE: field: reason): {err!r}")
        for want in doc.get("stderr") or []:
            if fill(want) not in err:
                problems.append(f"{where}: stderr lacks {fill(want)!r}; it was {err[-500:]!r}")
        if proc.stdout.strip():
            problems.append(f"{where}: printed on stdout: {proc.stdout[:200]!r}")
        if card.read_bytes() != card_before:
            problems.append(f"{where}: the card's state file changed")
        if _listing(work) != listing_before:
            problems.append(f"{where}: files were written: {sorted(set(_listing(work)) - set(listing_before))}")
    return problems


def test_every_bad_input_is_refused_naming_where_and_writing_nothing(tmp_path: Path) -> None:
    found = cases()
    kinds = {inp.parent.name for inp, _ in found}
    assert kinds == set(KINDS)
    assert len(found) >= 75
    corpus_before = _listing(CORPUS)
    with ThreadPoolExecutor(max_workers=4) as pool:  # each case is a few `python -m simtool` processes
        results = list(pool.map(lambda c: run_case(c[0], c[1], tmp_path), found))
    problems = [p for r in results for p in r]
    assert _listing(CORPUS) == corpus_before, "something was written into the corpus"
    assert problems == [], "\n".join(problems)


def test_every_expect_file_is_well_formed() -> None:
    for inp, expect in cases():
        doc = yaml.safe_load(expect.read_text(encoding="utf-8"))
        assert set(doc) <= {"what", "exit", "commands", "stderr", "located"}, expect
        assert doc["what"] and doc["exit"] == 2 and doc["commands"], expect
        assert all(isinstance(c, str) and "{file}" in c for c in doc["commands"]), expect
        assert inp.stat().st_size < 64 * 1024, inp
