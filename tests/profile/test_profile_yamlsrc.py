"""YAML with source lines (simtool.profile.yamlsrc)."""

from __future__ import annotations

import pytest

from simtool.profile.yamlsrc import YamlSyntaxError, format_path, load_yaml, parse_path

TEXT = """\
# a comment
name: x
oplmn_wact:
  - {mcc: "262", mnc: "01"}
  - mcc: "208"
    mnc: "10"
  - {mcc: "222",
     mnc: "01"}
  - {mcc: "214", mnc: "07"}
languages: [zh, en, no]
flags: {a: yes, b: on, c: true, d: False}
mnc: 08
octal: 01
1: one
"""


def test_data_is_plain_python():
    doc = load_yaml(TEXT)
    assert doc.problems == []
    assert doc.data["oplmn_wact"][1] == {"mcc": "208", "mnc": "10"}
    assert doc.data["languages"] == ["zh", "en", "no"]  # Norway stays Norway
    assert doc.data["flags"] == {"a": "yes", "b": "on", "c": True, "d": False}
    assert doc.data["mnc"] == "08"
    assert doc.data["octal"] == 1  # YAML 1.1 octal; `written` keeps what was typed
    assert doc.data["1"] == "one"  # keys are the text as written


def test_lines_of_keys_and_items():
    src = load_yaml(TEXT).source
    assert src.line("name") == 2
    assert src.line("oplmn_wact") == 3
    assert src.line("oplmn_wact.0") == 4
    assert src.line("oplmn_wact.1") == 5
    assert src.line("oplmn_wact.1.mcc") == 5
    assert src.line("oplmn_wact.1.mnc") == 6
    assert src.line("oplmn_wact.2.mnc") == 8
    assert src.line("oplmn_wact.3.mnc") == 9
    assert src.line(("oplmn_wact", 3, "mnc")) == 9
    assert src.line("languages.2") == 10


def test_line_falls_back_to_the_nearest_parent():
    src = load_yaml(TEXT).source
    assert src.line("oplmn_wact.3.act") == 9
    assert src.line("oplmn_wact.7.mnc") == 3
    assert src.line("plan.names.zh") == 2  # nothing at all: the document's first line
    assert src.line("") == 2


def test_written_text_of_scalars():
    src = load_yaml(TEXT).source
    assert src.written("octal") == "01"
    assert src.written("oplmn_wact.0.mnc") == "01"
    assert src.written("oplmn_wact") is None


def test_duplicate_keys_are_problems_and_the_first_value_wins():
    doc = load_yaml("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")
    assert doc.data == {"a": 1, "b": {"c": 2}}
    assert doc.problems == [
        (("b", "c"), 4, "duplicate key (first written at line 3)"),
        (("a",), 5, "duplicate key (first written at line 1)"),
    ]


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\n b: 2\n", 2),
        ("a: 'open\n", 2),
        ("a: 1\n---\nb: 2\n", 2),
        ("a: *nowhere\n", 1),
        ("a: !!python/object:os.system x\n", 1),
        ("a: &x [*x]\n", 1),
        ("? [a, b]\n: 1\n", 1),
    ],
)
def test_syntax_errors_carry_a_line(text: str, line: int):
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(text)
    assert info.value.line == line
    assert info.value.reason


def test_empty_document():
    doc = load_yaml("# only a comment\n")
    assert doc.data is None


def test_paths_round_trip():
    assert parse_path("oplmn_wact.3.mnc") == ("oplmn_wact", 3, "mnc")
    assert format_path(("oplmn_wact", 3, "mnc")) == "oplmn_wact.3.mnc"
    assert parse_path(("a", 1)) == ("a", 1)
    assert parse_path("") == ()
