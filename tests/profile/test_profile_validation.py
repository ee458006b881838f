"""Profile validation: a valid base profile, and a corpus of broken copies of it.

Every broken copy asserts the complete list of error lines (``FILE:LINE: field.path: reason``), so a
test fails both when an error is missing and when an unexpected one appears.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simtool.errors import EXIT_USAGE, InputError
from simtool.profile import Capacities, ProfileError, load_profile, validate_profile, validate_text

# Line numbers matter: the tests below refer to them.
BASE = """\
profile_version: 1
name: test-profile
operator: KPN
home_plmn: {mcc: "204", mnc: "08"}
ue_operation_mode: normal
spn: {name: "KPN WeChat", show_in_hplmn: false, hide_in_oplmn: false}
languages: [zh, en]
apns: [internet, ims]
apn_control_list: {enforce: false, apns: [internet, ims]}
pin1_enabled: false
hplmn_wact:
  - {mcc: "204", mnc: "08", act: [eutran, utran, gsm]}
oplmn_wact:
  - {mcc: "262", mnc: "01", act: [eutran, gsm]}
  - {mcc: "262", mnc: "02", act: [eutran, gsm]}
  - {mcc: "262", mnc: "03", act: [eutran, gsm]}
  - {mcc: "208", mnc: "01", act: [eutran, utran, gsm]}
  - {mcc: "208", mnc: "10", act: [eutran, utran, gsm]}
  - {mcc: "208", mnc: "20", act: [eutran, utran, gsm]}
  - {mcc: "222", mnc: "01", act: [eutran, gsm]}
  - {mcc: "222", mnc: "10", act: [eutran, gsm]}
fplmn:
  - {mcc: "204", mnc: "04"}
  - {mcc: "204", mnc: "16"}
ehplmn:
  - {mcc: "204", mnc: "08"}
hpplmn_search_minutes: 60
smsc: "+31653131313"
emergency_numbers:
  - {number: "112", categories: []}
  - {number: "911", categories: [police, ambulance]}
services:
  - sms
  - smsp
  - spn
  - msisdn
  - gsm_access
  - data_download_sms_pp
  - shall_be_set
  - est
  - acl
  - operator_plmn_wact
  - hplmn_wact
  - ehplmn
  - eps_mm_info
plan:
  id: test-plan
  data_limit_bytes: 1000000000
  validity_days: 15
  price: {amount_minor: 1200, currency: EUR}
  names:
    zh: "1GB 15天 欧洲流量"
    en: "1 GB / 15 days Europe"
"""
BASE_LINES = BASE.splitlines()
F = "profiles/broken.yaml"  # the name the caller gives is the name in the messages


def line_no(text: str, needle: str) -> int:
    """1-based number of the only line of `text` that contains `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} found on lines {hits}"
    return hits[0]


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def check(text: str, caps: Capacities | None = None) -> tuple[list[str], list[str]]:
    profile, errors, warnings = validate_text(text, F, caps)
    assert (profile is None) == bool(errors)
    return errors, warnings


def test_base_is_valid():
    profile, errors, warnings = validate_text(BASE, "profiles/test-profile.yaml")
    assert errors == [] and warnings == []
    assert profile is not None
    assert profile.home_plmn.key == "204/08"
    assert profile.mnc_length == 2
    assert profile.imsi_prefix == "20408"
    assert profile.ust_numbers == [10, 12, 19, 21, 27, 28, 33, 34, 35, 42, 43, 71, 85]
    assert profile.est_names == [] and profile.est_numbers == []
    assert profile.ue_operation_mode_byte == 0x00
    assert profile.spn is not None and profile.spn.coding == "gsm7"
    assert [e.category_byte for e in profile.emergency_numbers] == [0x00, 0x03]
    assert profile.plan.names == {"zh": "1GB 15天 欧洲流量", "en": "1 GB / 15 days Europe"}
    assert profile.source_text == BASE
    assert profile.source_name == "profiles/test-profile.yaml"
    assert re.fullmatch(r"[0-9a-f]{64}", profile.sha256)


def test_base_has_the_lines_the_tests_assume():
    assert BASE_LINES[3].startswith("home_plmn")  # line 4
    assert BASE_LINES[5].startswith("spn:")  # line 6
    assert BASE_LINES[12] == "oplmn_wact:"  # line 13
    assert "208" in BASE_LINES[17] and '"10"' in BASE_LINES[17]  # line 18: oplmn_wact.4


def test_profile_is_frozen():
    profile, _, _ = validate_text(BASE, F)
    with pytest.raises(Exception):  # noqa: B017 (pydantic raises its ValidationError for frozen models)
        profile.name = "other"


# -- the acceptance case ------------------------------------------------------------------------


def test_bad_mnc_long_spn_unknown_service_all_reported_at_once(tmp_path: Path):
    text = edit('mnc: "08"}\nue', 'mnc: "8"}\nue')
    text = edit('name: "KPN WeChat"', 'name: "KPN WeChat Travel EU"', text)
    text = edit("  - eps_mm_info", "  - volte_magic", text)
    path = tmp_path / "kpn-broken.yaml"
    path.write_text(text, encoding="utf-8")
    name = str(path)
    profile, errors, _ = validate_profile(name)
    assert profile is None
    assert errors == [
        f"{name}:4: home_plmn.mnc: must be 2 or 3 digits, got '8'",
        f"{name}:6: spn.name: 'KPN WeChat Travel EU' takes 20 GSM 7-bit characters, EF.SPN holds 16",
        f"{name}:45: services.12: unknown service 'volte_magic'"
        " (no known name is close; see simtool.encoding.services.UST_SERVICES)",
    ]
    with pytest.raises(ProfileError) as info:
        load_profile(name)
    assert info.value.errors == errors
    assert isinstance(info.value, InputError) and info.value.exit_code == EXIT_USAGE
    assert str(info.value) == "\n".join(errors)


def test_relative_file_name_is_kept_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "profiles").mkdir()
    Path("profiles/x.yaml").write_text(edit('mnc: "08"}\nue', 'mnc: "8"}\nue'), encoding="utf-8")
    _, errors, _ = validate_profile("profiles/x.yaml")
    assert errors == ["profiles/x.yaml:4: home_plmn.mnc: must be 2 or 3 digits, got '8'"]


# -- the broken corpus ----------------------------------------------------------------------------------

OPLMN_41 = "oplmn_wact:\n" + "".join(
    f'  - {{mcc: "{200 + i // 10}", mnc: "{i % 10:02d}", act: [eutran]}}\n' for i in range(41)
)

CORPUS: dict[str, tuple[str, list[str]]] = {
    "mnc one digit": (
        edit('mnc: "08"}\nue', 'mnc: "8"}\nue'),
        ["4: home_plmn.mnc: must be 2 or 3 digits, got '8'"],
    ),
    "mnc four digits": (
        edit('mnc: "08"}\nue', 'mnc: "0801"}\nue'),
        ["4: home_plmn.mnc: must be 2 or 3 digits, got '0801'"],
    ),
    "mcc two digits in a list": (
        edit('{mcc: "262", mnc: "02"', '{mcc: "26", mnc: "02"'),
        ["15: oplmn_wact.1.mcc: must be exactly 3 digits, got '26'"],
    ),
    "mcc with a letter": (
        edit('{mcc: "204", mnc: "16"}', '{mcc: "2O4", mnc: "16"}'),
        ["24: fplmn.1.mcc: must be exactly 3 digits, got '2O4'"],
    ),
    "spn of 20 chars": (
        edit('name: "KPN WeChat"', 'name: "KPN WeChat Travel EU"'),
        ["6: spn.name: 'KPN WeChat Travel EU' takes 20 GSM 7-bit characters, EF.SPN holds 16"],
    ),
    "spn with extension characters counts two septets each": (
        edit('name: "KPN WeChat"', 'name: "KPN [WeChat] €uro"'),
        ["6: spn.name: 'KPN [WeChat] €uro' takes 20 GSM 7-bit characters, EF.SPN holds 16"],
    ),
    "spn in ucs2 too long": (
        edit('name: "KPN WeChat"', 'name: "KPN微信欧洲旅行卡"'),
        [
            "6: spn.name: 'KPN微信欧洲旅行卡' needs UCS2 ('微' is not in the GSM 7-bit alphabet):"
            " 1 + 2 x 10 = 21 bytes, EF.SPN holds 16 (at most 7 UCS2 characters)"
        ],
    ),
    "unknown service": (
        edit("  - eps_mm_info", "  - volte_magic"),
        [
            "45: services.12: unknown service 'volte_magic'"
            " (no known name is close; see simtool.encoding.services.UST_SERVICES)"
        ],
    ),
    "misspelt service": (
        edit("  - eps_mm_info", "  - eps_mm_infos"),
        ["45: services.12: unknown service 'eps_mm_infos'; did you mean 'eps_mm_info'?"],
    ),
    "reserved service": (
        edit("  - eps_mm_info", "  - rfu_26"),
        ["45: services.12: service 'rfu_26' is reserved for future use and must not be set"],
    ),
    "apn label of 64 chars": (
        edit("apns: [internet, ims]\n", f"apns: [internet, {'a' * 64}]\n"),
        ["8: apns.1: label 'aaaaaaaaaaaaaaaaa...' is 64 characters, at most 63"],
    ),
    "apn total over 100": (
        edit("apns: [internet, ims]\n", f"apns: [internet, {'a' * 50}.{'b' * 49}]\n"),
        ["8: apns.1: encodes to 101 bytes, at most 100 (TS 23.003)"],
    ),
    "apn with bad characters": (
        edit("apns: [internet, ims]\n", "apns: [internet, my_apn]\n"),
        ["8: apns.1: label 'my_apn' may hold only letters A-Z, digits and '-'"],
    ),
    "acl apn label of 64 chars": (
        edit("apns: [internet, ims]}", f"apns: [internet, ims, {'c' * 64}]}}"),
        ["9: apn_control_list.apns.2: label 'ccccccccccccccccc...' is 64 characters, at most 63"],
    ),
    "negative data limit": (
        edit("data_limit_bytes: 1000000000", "data_limit_bytes: -1"),
        ["48: plan.data_limit_bytes: must be more than 0 bytes, got -1"],
    ),
    "absurd data limit": (
        edit("data_limit_bytes: 1000000000", "data_limit_bytes: 100000000000000"),
        [
            "48: plan.data_limit_bytes: 100000000000000 bytes is absurd (more than 10 TB = 10**13 bytes);"
            " sizes are in bytes"
        ],
    ),
    "unknown currency": (
        edit("currency: EUR", "currency: QQQ"),
        ["50: plan.price.currency: unknown ISO 4217 currency 'QQQ'"],
    ),
    "lower-case currency": (
        edit("currency: EUR", "currency: eur"),
        ["50: plan.price.currency: unknown ISO 4217 currency 'eur'"],
    ),
    "negative price": (
        edit("amount_minor: 1200", "amount_minor: -5"),
        ["50: plan.price.amount_minor: must be 0 or more (minor units, e.g. cents), got -5"],
    ),
    "zero validity": (
        edit("validity_days: 15", "validity_days: 0"),
        ["49: plan.validity_days: must be 1 to 3650 days, got 0"],
    ),
    "duplicate oplmn": (
        edit('{mcc: "208", mnc: "10"', '{mcc: "262", mnc: "01"'),
        ["18: oplmn_wact.4: duplicate PLMN 262/01 (same as oplmn_wact.0)"],
    ),
    "duplicate fplmn": (
        edit('{mcc: "204", mnc: "16"}', '{mcc: "204", mnc: "04"}'),
        ["24: fplmn.1: duplicate PLMN 204/04 (same as fplmn.0)"],
    ),
    "41 oplmn entries": (
        edit(
            "".join(line + "\n" for line in BASE_LINES[12:21]),
            OPLMN_41,
        ),
        ["13: oplmn_wact: 41 entries (205 bytes), card model simtool-emu's EF.OPLMNwACT holds 40 (200 bytes);"
         " shorten the list or set fit: {oplmn_wact: truncate} to keep the first 40"],
    ),
    "too many fplmn entries": (
        edit(
            'fplmn:\n  - {mcc: "204", mnc: "04"}\n',
            "fplmn:\n"
            + "".join(
                f'  - {{mcc: "204", mnc: "{n}"}}\n' for n in ("02", "03", "05", "06", "07", "09", "20", "04")
            ),
        ),
        ["22: fplmn: 9 entries, the card model's EF.FPLMN holds 8"],
    ),
    "home plmn forbidden": (
        edit('{mcc: "204", mnc: "04"}', '{mcc: "204", mnc: "08"}'),
        [
            "23: fplmn.0: the home PLMN 204/08 must not be forbidden",
            "23: fplmn.0: 204/08 is also preferred in hplmn_wact.0; a PLMN cannot be preferred and forbidden",
        ],
    ),
    "preferred and forbidden": (
        edit('{mcc: "204", mnc: "16"}', '{mcc: "262", mnc: "02"}'),
        ["24: fplmn.1: 262/02 is also preferred in oplmn_wact.1; a PLMN cannot be preferred and forbidden"],
    ),
    "unknown key at top level": (
        BASE + "colour: orange\n",
        [
            "54: colour: unknown key 'colour' (allowed: profile_version, name, operator, home_plmn,"
            " ue_operation_mode, spn, languages, apns, apn_control_list, pin1_enabled, hplmn_wact,"
            " oplmn_wact, fit,"
            " fplmn, ehplmn, hpplmn_search_minutes, smsc, emergency_numbers, services, suci, ims, plan)"
        ],
    ),
    "misspelt top-level key": (
        edit("pin1_enabled: false", "pin_enabled: false"),
        [
            "1: pin1_enabled: required field missing",
            "10: pin_enabled: unknown key 'pin_enabled'; did you mean 'pin1_enabled'?",
        ],
    ),
    "unknown nested key": (
        edit("hide_in_oplmn: false}", "hide_in_oplmn: false, show_in_hplmm: true}"),
        ["6: spn.show_in_hplmm: unknown key 'show_in_hplmm'; did you mean 'show_in_hplmn'?"],
    ),
    "unknown key in a list item": (
        edit('{mcc: "262", mnc: "01", act: [eutran, gsm]}', '{mcc: "262", mnc: "01", acts: [eutran, gsm]}'),
        [
            "14: oplmn_wact.0.act: required field missing",
            "14: oplmn_wact.0.acts: unknown key 'acts'; did you mean 'act'?",
        ],
    ),
    "unknown key deep in plan": (
        edit(
            "price: {amount_minor: 1200, currency: EUR}",
            "price: {amount_minor: 1200, currency: EUR, vat: 21}",
        ),
        ["50: plan.price.vat: unknown key 'vat' (allowed: amount_minor, currency)"],
    ),
    "duplicate key": (
        BASE + "pin1_enabled: true\n",
        ["54: pin1_enabled: duplicate key (first written at line 10)"],
    ),
    "unquoted mcc": (
        edit('home_plmn: {mcc: "204"', "home_plmn: {mcc: 204"),
        ['4: home_plmn.mcc: must be text in quotes, got the number 204 (write "204" with the quotes)'],
    ),
    "unquoted mnc with a leading zero": (
        edit('{mcc: "262", mnc: "01"', '{mcc: "262", mnc: 01'),
        ['14: oplmn_wact.0.mnc: must be text in quotes, got the number 1 (write "01" with the quotes)'],
    ),
    "number where a whole number is wanted given as text": (
        edit("validity_days: 15", 'validity_days: "15"'),
        ["49: plan.validity_days: must be a whole number, got the text '15'"],
    ),
    "float data limit": (
        edit("data_limit_bytes: 1000000000", "data_limit_bytes: 1.5e+9"),
        ["48: plan.data_limit_bytes: must be a whole number, got the number 1500000000.0"],
    ),
    "yes is not a boolean": (
        edit("pin1_enabled: false", "pin1_enabled: yes"),
        ["10: pin1_enabled: must be true or false, got the text 'yes'"],
    ),
    "scalar where a list is wanted": (
        edit("languages: [zh, en]", "languages: zh"),
        [
            "7: languages: must be a list, got the text 'zh'",
        ],
    ),
    "scalar where a mapping is wanted": (
        edit('home_plmn: {mcc: "204", mnc: "08"}', "home_plmn: 20408"),
        ["4: home_plmn: must be a mapping of key: value, got the number 20408"],
    ),
    "unknown operation mode": (
        edit("ue_operation_mode: normal", "ue_operation_mode: turbo"),
        [
            "5: ue_operation_mode: must be one of 'normal', 'type_approval', 'normal_specific',"
            " 'type_approval_specific', 'maintenance' or 'cell_test'; got the text 'turbo'"
        ],
    ),
    "unknown access technology": (
        edit('mnc: "02", act: [eutran, gsm]', 'mnc: "02", act: [eutran, lte]'),
        [
            "15: oplmn_wact.1.act.1: must be one of 'utran', 'eutran', 'eutran_wb', 'eutran_nb', 'ngran',"
            " 'gsm',"
            " 'gsm_compact', 'cdma2000_hrpd', 'cdma2000_1xrtt' or 'ec_gsm_iot'; got the text 'lte'"
        ],
    ),
    "no access technology": (
        edit('mnc: "02", act: [eutran, gsm]', 'mnc: "02", act: []'),
        ["15: oplmn_wact.1.act: must have at least 1 entry"],
    ),
    "profile version 2": (
        edit("profile_version: 1", "profile_version: 2"),
        ["1: profile_version: must be 1, got the number 2"],
    ),
    "missing plan": (
        "".join(line + "\n" for line in BASE_LINES[:45]),
        ["1: plan: required field missing"],
    ),
    "bad language code": (
        edit("languages: [zh, en]", "languages: [zh, en, xx]"),
        [
            "7: languages.2: must be an ISO 639-1 language code (like 'en'), got 'xx'",
        ],
    ),
    "duplicate language": (
        edit("languages: [zh, en]", "languages: [zh, en, zh]"),
        ["7: languages.2: duplicate language 'zh' (same as languages.0)"],
    ),
    "missing plan name for a language": (
        edit('    en: "1 GB / 15 days Europe"\n', ""),
        ["51: plan.names: no name for language 'en' (one per entry of languages)"],
    ),
    "plan name in a language not offered": (
        edit(
            '    en: "1 GB / 15 days Europe"\n',
            '    en: "1 GB / 15 days Europe"\n    fr: "1 Go / 15 jours"\n',
        ),
        ["54: plan.names.fr: language 'fr' is not in languages"],
    ),
    "plan name too long": (
        edit('en: "1 GB / 15 days Europe"', 'en: "1 GB of data for 15 days in all of Europe"'),
        ["53: plan.names.en: '1 GB of data for 15 days in all of Europe' is 41 characters, at most 32"],
    ),
    "bad plan id": (
        edit("id: test-plan", "id: Test_Plan"),
        ["47: plan.id: must be 1 to 16 characters of a-z, 0-9 and '-', got 'Test_Plan'"],
    ),
    "hpplmn not a multiple of 6": (
        edit("hpplmn_search_minutes: 60", "hpplmn_search_minutes: 61"),
        ["27: hpplmn_search_minutes: must be 0 (no search) or a multiple of 6 from 6 to 480 minutes, got 61"],
    ),
    "hpplmn over 8 hours": (
        edit("hpplmn_search_minutes: 60", "hpplmn_search_minutes: 486"),
        [
            "27: hpplmn_search_minutes: must be 0 (no search) or a multiple of 6 from 6 to 480 minutes,"
            " got 486"
        ],
    ),
    "smsc without plus": (
        edit('smsc: "+31653131313"', 'smsc: "0031653131313"'),
        ["28: smsc: must be an E.164 number: '+' and 1 to 20 digits, got '0031653131313'"],
    ),
    "emergency number too long": (
        edit('{number: "112"', '{number: "1120000"'),
        ["30: emergency_numbers.0.number: must be 1 to 6 digits, got '1120000'"],
    ),
    "unknown emergency category": (
        edit("categories: [police, ambulance]", "categories: [police, coastguard]"),
        [
            "31: emergency_numbers.1.categories.1: must be one of 'police', 'ambulance', 'fire_brigade',"
            " 'marine_guard', 'mountain_rescue', 'manual_ecall' or 'automatic_ecall';"
            " got the text 'coastguard'"
        ],
    ),
    "duplicate emergency number": (
        edit('{number: "911"', '{number: "112"'),
        ["31: emergency_numbers.1: duplicate emergency number 112 (same as emergency_numbers.0)"],
    ),
    "acl list without the acl service": (
        edit("  - acl\n", ""),
        ["9: apn_control_list: EF.ACL is only on the card with service 'acl' (UST 35); add it to services"],
    ),
    "acl service without a list": (
        edit("apn_control_list: {enforce: false, apns: [internet, ims]}\n", ""),
        ["40: services.8: service 'acl' is set but the profile has no apn_control_list (EF.ACL content)"],
    ),
    "enforced acl without est": (
        edit("  - est\n", "", edit("{enforce: false", "{enforce: true")),
        [
            "9: apn_control_list.enforce: enforcing the list is EST service 3,"
            " and EF.EST is only on the card with service 'est' (UST 34)"
        ],
    ),
    "spn without its service": (
        edit("  - spn\n", ""),
        ["6: spn: EF.SPN is only on the card with service 'spn' (UST 19); add it to services"],
    ),
    "oplmn without its service": (
        edit("  - operator_plmn_wact\n", ""),
        [
            "13: oplmn_wact: EF.OPLMNwACT is only on the card with service 'operator_plmn_wact' (UST 42);"
            " add it to services"
        ],
    ),
    "not a mapping": (
        "- just\n- a list\n",
        ["1: (profile): must be a mapping of profile fields, got a list"],
    ),
    "empty file": (
        "# nothing but a comment\n",
        ["1: (profile): must be a mapping of profile fields, got an empty file"],
    ),
    "merge keys": (
        BASE + "x: &a {mcc: '204'}\ny:\n  <<: *a\n",
        ["56: (yaml): merge keys (<<) are not supported; write the keys out"],
    ),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_broken_corpus(case: str):
    text, expected = CORPUS[case]
    errors, _ = check(text)
    assert errors == [f"{F}:{e}" for e in expected]


def test_yaml_syntax_error_is_one_line():
    text = edit(
        'spn: {name: "KPN WeChat", show_in_hplmn: false, hide_in_oplmn: false}',
        'spn: {name: "KPN WeChat", show_in_hplmn: false',
    )
    errors, warnings = check(text)
    assert len(errors) == 1 and warnings == []
    assert errors == [
        f"{F}:7: (yaml): expected ',' or '}}', but got ':' (while parsing a flow mapping started at line 6)"
    ]


def test_yaml_bad_indentation():
    text = edit("  id: test-plan\n", "  id: test-plan\n     stray: 1\n")
    errors, _ = check(text)
    assert errors == [f"{F}:48: (yaml): mapping values are not allowed here"]


def test_yaml_tab_indentation():
    errors, _ = check(edit("  id: test-plan", "\tid: test-plan"))
    assert len(errors) == 1 and errors[0].startswith(f"{F}:47: (yaml): ")


def test_all_errors_reported_at_once():
    """Every kind of break in one file: every error line of every single break comes out, in line order."""
    cases = [
        ("mnc one digit", ('mnc: "08"}\nue', 'mnc: "8"}\nue')),
        ("spn of 20 chars", ('name: "KPN WeChat"', 'name: "KPN WeChat Travel EU"')),
        ("unknown service", ("  - eps_mm_info", "  - volte_magic")),
        ("apn label of 64 chars", ("apns: [internet, ims]\n", f"apns: [internet, {'a' * 64}]\n")),
        ("negative data limit", ("data_limit_bytes: 1000000000", "data_limit_bytes: -1")),
        ("unknown currency", ("currency: EUR", "currency: QQQ")),
        ("unknown nested key", ("hide_in_oplmn: false}", "hide_in_oplmn: false, show_in_hplmm: true}")),
        ("yes is not a boolean", ("pin1_enabled: false", "pin1_enabled: yes")),
        ("unquoted mnc with a leading zero", ('{mcc: "262", mnc: "01"', '{mcc: "262", mnc: 01')),
        ("duplicate oplmn", ('{mcc: "208", mnc: "10"', '{mcc: "262", mnc: "01"')),
        ("hpplmn not a multiple of 6", ("hpplmn_search_minutes: 60", "hpplmn_search_minutes: 61")),
    ]
    text = BASE
    expected: list[str] = []
    for name, (old, new) in cases:
        text = edit(old, new, text)
        expected += CORPUS[name][1]
    errors, _ = check(text)
    # Entry 0's MNC is now an (invalid) number, so entry 4 (262/01) no longer duplicates anything.
    expected.remove("18: oplmn_wact.4: duplicate PLMN 262/01 (same as oplmn_wact.0)")
    assert sorted(errors) == sorted(f"{F}:{e}" for e in expected)
    numbers = [int(e.split(":")[1]) for e in errors]
    assert numbers == sorted(numbers)
    assert len(errors) == len(cases) - 1


def test_capacities_come_from_the_caller():
    text = edit("".join(line + "\n" for line in BASE_LINES[12:21]), OPLMN_41)
    assert check(text, Capacities(oplmn_entries=41))[0] == []
    errors, _ = check(
        BASE, Capacities(fplmn_entries=1, languages=1, ecc_records=1, acl_bytes=10, hplmn_entries=0)
    )
    assert errors == [
        f"{F}:7: languages: 2 entries, the card model's EF.LI holds 1",
        f"{F}:9: apn_control_list.apns: the list encodes to 18 bytes, the card model's EF.ACL holds 10",
        f"{F}:11: hplmn_wact: 1 entries (5 bytes), card model simtool-emu's EF.HPLMNwAcT holds 0 (0 bytes);"
        " shorten the list or set fit: {hplmn_wact: truncate} to keep the first 0",
        f"{F}:22: fplmn: 2 entries, the card model's EF.FPLMN holds 1",
        f"{F}:29: emergency_numbers: 2 entries, the card model's EF.ECC holds 1 record",
    ]


def test_capacities_from_file_sizes():
    caps = Capacities.from_sizes(
        oplmnwact=200, hplmnwact=10, fplmn=24, ehplmn=12, acl=128, ecc_records=5, li=10
    )
    assert caps == Capacities()
    assert Capacities.from_sizes(oplmnwact=100).oplmn_entries == 20


# -- warnings -------------------------------------------------------------------------------------------


def test_enforced_acl_without_a_plan_apn_warns():
    text = edit("{enforce: false, apns: [internet, ims]}", "{enforce: true, apns: [internet]}")
    profile, errors, warnings = validate_text(text, "profiles/test-profile.yaml")
    assert errors == []
    assert warnings == [
        "profiles/test-profile.yaml:9: apn_control_list.apns: warning: enforce is on but the plan's APN 'ims'"
        " is not listed; terminals will refuse it"
    ]
    assert profile is not None and profile.est_names == ["acl"] and profile.est_numbers == [3]
    assert profile.warnings == warnings


def test_enforced_acl_with_every_plan_apn_is_quiet():
    text = edit("{enforce: false, apns: [internet, ims]}", "{enforce: true, apns: [IMS, internet]}")
    assert validate_text(text, "profiles/test-profile.yaml")[1:] == ([], [])


def test_load_profile_keeps_warnings(tmp_path: Path):
    path = tmp_path / "other-name.yaml"
    path.write_text(
        edit("{enforce: false, apns: [internet, ims]}", "{enforce: true, apns: []}"), encoding="utf-8"
    )
    profile = load_profile(path)
    assert profile.warnings == [
        f"{path}:2: name: warning: 'test-profile' differs from the file name 'other-name'",
        f"{path}:9: apn_control_list.apns: warning: enforce is on but the plan's APN 'internet'"
        " is not listed;"
        " terminals will refuse it",
        f"{path}:9: apn_control_list.apns: warning: enforce is on but the plan's APN 'ims' is not listed;"
        " terminals will refuse it",
    ]


def test_other_warnings():
    text = edit("  - shall_be_set\n", "")
    text = edit("  - data_download_sms_pp\n", "", text)
    text = edit('ehplmn:\n  - {mcc: "204", mnc: "08"}', 'ehplmn:\n  - {mcc: "204", mnc: "10"}', text)
    text = edit('{mcc: "262", mnc: "03", act', '{mcc: "204", mnc: "08", act', text)
    _, errors, warnings = validate_text(text, "profiles/test-profile.yaml")
    assert errors == []
    assert warnings == [
        "profiles/test-profile.yaml:16: oplmn_wact.2: warning: 204/08 is a home PLMN;"
        " OPLMNwACT is meant for roaming partners",
        "profiles/test-profile.yaml:25: ehplmn: warning: the home PLMN 204/08 is not listed;"
        " with an EHPLMN list the phone treats only the listed PLMNs as home",
        "profiles/test-profile.yaml:32: services: warning:"
        " TS 31.102 says service 33 'shall_be_set' shall be set to 1",
        "profiles/test-profile.yaml:32: services: warning: without 'data_download_sms_pp' (UST 28)"
        " the plan applet cannot be reached by OTA SMS-PP",
    ]


# -- files ----------------------------------------------------------------------------------------------


def test_missing_file():
    profile, errors, warnings = validate_profile("profiles/does-not-exist.yaml")
    assert profile is None and warnings == []
    assert errors == ["profiles/does-not-exist.yaml: cannot read: No such file or directory"]
    with pytest.raises(ProfileError):
        load_profile("profiles/does-not-exist.yaml")


def test_not_utf8(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("KPN WeChat", "KPN Caf\u00e9").encode("latin-1", errors="replace"))
    _, errors, _ = validate_profile(path)
    assert errors == [f"{path}:6: (file): not UTF-8 text (byte 0xE9)"]


def test_sha256_is_of_the_file_bytes(tmp_path: Path):
    import hashlib

    path = tmp_path / "test-profile.yaml"
    path.write_bytes(BASE.encode("utf-8"))
    profile = load_profile(path)
    assert profile.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert profile.source_text == BASE
    assert profile.source_name == str(path)


def test_byte_order_mark_is_accepted(tmp_path: Path):
    path = tmp_path / "test-profile.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_profile(path).name == "test-profile"


# -- capacities from the card model ---------------------------------------------------------------------


def test_capacities_of_the_emulated_card_model_are_the_defaults():
    pytest.importorskip("simtool.fs.cardmodel", reason="the file-system model is not there yet")
    from simtool.profile import capacities_for_model

    assert capacities_for_model() == Capacities()
    assert capacities_for_model("simtool-emu") == Capacities()


def test_capacities_follow_a_card_models_file_sizes():
    cardmodel = pytest.importorskip("simtool.fs.cardmodel", reason="the file-system model is not there yet")
    import dataclasses

    from simtool.profile import capacities_for_model

    small = dataclasses.replace(
        cardmodel.DEFAULT_MODEL,
        name="small",
        sizes={"MF/ADF.USIM/EF.OPLMNwACT": 40, "MF/ADF.USIM/EF.ECC": (16, 2), "MF/EF.PL": 2},
    )
    caps = capacities_for_model(small)
    assert (caps.oplmn_entries, caps.ecc_records, caps.languages) == (8, 2, 1)
    errors, _ = check(BASE, caps)
    assert errors == [
        f"{F}:7: languages: 2 entries, the card model's EF.LI holds 1",
    ]
    with pytest.raises(InputError) as info:
        capacities_for_model("no-such-card")
    known = ", ".join(sorted(cardmodel.MODELS))
    assert info.value.errors == [f"--model: unknown card model 'no-such-card' (known: {known})"]
