"""Whatever the YAML holds, validation answers with error lines; it never raises."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simtool.profile import validate_text

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "kpn-wechat-1gb-15d.yaml"
BASE_DATA = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["08", "204", "internet", "zh", "acl", "EUR", "+31653131313", "eutran"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


def paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths(v, prefix + (i,))


ALL_PATHS = [p for p in paths(BASE_DATA) if p]


def replaced(data, path, value):
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], value)
    return copy


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), junk), min_size=1, max_size=3))
def test_validation_never_raises(edits):
    data = BASE_DATA
    for path, value in edits:
        try:
            data = replaced(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path
    text = yaml.safe_dump(data, allow_unicode=True)
    profile, errors, warnings = validate_text(text, "fuzz.yaml")
    assert (profile is None) == bool(errors)
    for line in errors + warnings:
        assert line.startswith("fuzz.yaml:")
        assert line.split(":")[1].isdigit()
