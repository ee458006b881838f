"""Both travel plans end to end on the emulated card (issue 7): start-up in zh and en, activation
abroad, "My plan", OTA usage update, top-up, expiry and the top-up offer, top-up before activation."""

from __future__ import annotations

import pytest

from simtool.commands import plan
from simtool.emulator import Card, load_card
from tests.applet.applet_helpers import SOLD, Phone, decoded, new_card, send_ota, sms

PLANS = ["1gb", "4gb"]


def _texts(screens):
    return [s.get("text") or s.get("alpha") for s in screens]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_start_up_menu_in_the_terminals_language(lang: str) -> None:
    phone = Phone(new_card(), language=lang)
    names = [s["command"] for s in phone.terminal.transcript]
    assert names == ["SET UP EVENT LIST", "PROVIDE LOCAL INFORMATION", "SET UP MENU"]
    assert phone.terminal.events == ["location status", "language selection"]
    want = {"en": ("Travel plan", ["My plan", "Top up"]), "zh": ("旅行套餐", ["我的套餐", "充值"])}[lang]
    assert phone.terminal.menu == {"title": want[0], "items": [{"id": 1, "text": want[1][0]},
                                                                {"id": 2, "text": want[1][1]}]}


def test_language_selection_event_resends_the_menu() -> None:
    phone = Phone(new_card(), language="en")
    from simtool.commands import cat

    screens = phone.envelope(cat.language_selection("zh"))
    assert [s["command"] for s in screens] == ["SET UP MENU"]
    assert phone.terminal.menu["title"] == "旅行套餐"


def test_no_ucs2_display_means_english() -> None:
    from simtool.commands import cat

    profile = bytes([cat.TERMINAL_PROFILE[0], 0x01]) + cat.TERMINAL_PROFILE[2:]
    phone = Phone(new_card(), language="zh", profile=profile)
    assert phone.terminal.menu["title"] == "Travel plan"


def test_unpersonalized_card_sets_up_nothing() -> None:
    card = Card.blank(adm=bytes.fromhex("3131313131313131"))
    phone = Phone(card)
    assert phone.terminal.transcript == [] and phone.terminal.menu is None


@pytest.mark.parametrize("name", PLANS)
def test_inactive_until_the_first_registration(name: str) -> None:
    sold = SOLD[name]
    card = new_card(name)
    phone = Phone(card)
    assert decoded(card, "VALIDITY")["state"] == "inactive"
    (screen,) = phone.my_plan()
    assert screen["command"] == "DISPLAY TEXT" and screen["qualifier"] == 0x80
    assert screen["text"] == (f"{sold['en']}\nNot active yet. Your {sold['days']} days start when your phone first "
                              f"connects to a network.\nData: {sold['total']}")
    # limited service and no service do not start the clock
    assert phone.register("262-01", status=1) == []
    assert phone.register("262-01", status=2) == []
    assert decoded(card, "VALIDITY")["state"] == "inactive"


@pytest.mark.parametrize("name", PLANS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_full_life_of_a_plan(name: str, lang: str, tmp_path) -> None:
    sold = SOLD[name]
    path = tmp_path / "card.json"
    card = new_card(name, path=path)
    phone = Phone(card, language=lang, date="2026-11-26T10:00+01:00")

    # activation abroad: Telekom Deutschland, 10:00 in Frankfurt (UTC+1)
    screens = phone.register("262-01")
    assert [s["command"] for s in screens] == ["PROVIDE LOCAL INFORMATION", "DISPLAY TEXT"]
    days = sold["days"]
    until = {15: "2026-12-11 10:00 (UTC+01:00)", 28: "2026-12-24 10:00 (UTC+01:00)"}[days]
    welcome = {"en": f"Welcome! {sold['en']} is active until {until}.",
               "zh": f"欢迎！{sold['zh']}已激活，有效期至 {until}。"}[lang]
    assert screens[1]["text"] == welcome
    v = decoded(load_card(path), "VALIDITY")  # durable: a fresh process sees it
    assert v["state"] == "active" and v["activated"] == "2026-11-26T10:00:00+01:00"
    assert v["activation_plmn"] == {"mcc": "262", "mnc": "01"}
    assert v["expires"] == {15: "2026-12-11T10:00:00+01:00", 28: "2026-12-24T10:00:00+01:00"}[days]
    # a second registration (another country) changes nothing
    assert phone.at("2026-11-27T10:00+01:00").register("208-01") == []
    assert decoded(card, "VALIDITY")["activated"] == "2026-11-26T10:00:00+01:00"

    # "My plan" in the terminal's language and local time: in Greece (UTC+2) the expiry shows an hour later
    (screen,) = phone.at("2026-11-28T12:00+02:00").my_plan()
    until_2 = {15: "2026-12-11 11:00 (UTC+02:00)", 28: "2026-12-24 11:00 (UTC+02:00)"}[days]
    total = sold["total"]
    assert screen["text"] == {
        "en": f"{sold['en']}\nData left: {total} of {total}\nValid until {until_2}",
        "zh": f"{sold['zh']}\n剩余流量：{total}（共 {total}）\n有效期至 {until_2}"}[lang]

    # OTA usage update from the network: 734 MB left
    sw, por = send_ota(card, sms(plan.set_balance(734_000_000), counter=1))
    assert sw == 0x9000 and por.status == 0 and por.cc_ok and por.counter == 1
    assert por.data[:2] == b"\x90\x00"
    assert plan.applet_answer(por.status, por.data)["plan"]["remaining_bytes"] == 734_000_000
    assert decoded(load_card(path), "BALANCE") == {"remaining_bytes": 734_000_000, "total_bytes": sold["bytes"]}
    (screen,) = phone.at("2026-11-29T09:00+01:00").my_plan()
    assert ("734 MB" in screen["text"]) and (f"{total}" in screen["text"])

    # top-up: +1 GB, +7 days
    sw, por = send_ota(card, sms(plan.topup(10**9, 7), counter=2))
    assert por.status == 0 and por.data[:2] == b"\x90\x00"
    assert decoded(card, "BALANCE") == {"remaining_bytes": 1_734_000_000, "total_bytes": sold["bytes"] + 10**9}
    expires = {15: "2026-12-18T10:00:00+01:00", 28: "2026-12-31T10:00:00+01:00"}[days]
    assert decoded(card, "VALIDITY")["expires"] == expires
    (screen,) = phone.my_plan()
    assert "1.73 GB" in screen["text"]

    # usage down to nothing: "no data left" and the top-up offer
    send_ota(card, sms(plan.set_balance(0), counter=3))
    (screen,) = phone.my_plan()
    assert screen["command"] == "SELECT ITEM"
    total2 = {"1gb": "2 GB", "4gb": "5 GB"}[name]
    assert screen["alpha"] == {"en": f"No data left ({total2} used).", "zh": f"流量已用完（共 {total2}）。"}[lang]

    # after the expiry: expired, offered the top-up page; the user takes it
    screens = phone.at("2027-01-05T08:00+01:00").my_plan(1)
    assert [s["command"] for s in screens] == ["SELECT ITEM", "LAUNCH BROWSER"]
    exp_local = {15: "2026-12-18 10:00 (UTC+01:00)", 28: "2026-12-31 10:00 (UTC+01:00)"}[days]
    assert screens[0]["alpha"] == {"en": f"Your plan expired on {exp_local}.",
                                   "zh": f"您的套餐已于 {exp_local} 到期。"}[lang]
    assert [i["text"] for i in screens[0]["items"]] == {"en": ["Top up", "Close"], "zh": ["充值", "关闭"]}[lang]
    assert screens[1]["alpha"] == {"en": "Top up", "zh": "充值"}[lang]
    assert decoded(load_card(path), "VALIDITY")["state"] == "expired"
    # the user closes it instead: nothing follows
    screens = phone.my_plan(2)
    assert [s["command"] for s in screens] == ["SELECT ITEM"]

    # a top-up after the expiry counts from the last time the phone reported (2027-01-05 08:00)
    sw, por = send_ota(card, sms(plan.topup(10**9, 7), counter=4))
    answer = plan.applet_answer(por.status, por.data)
    assert answer["plan"]["state"] == "active"
    v = decoded(card, "VALIDITY")
    assert v["state"] == "active" and v["expires"] == "2027-01-12T08:00:00+01:00"
    (screen,) = phone.at("2027-01-06T08:00+01:00").my_plan()
    assert screen["command"] == "DISPLAY TEXT" and "1 GB" in screen["text"]


@pytest.mark.parametrize("name", PLANS)
def test_top_up_before_activation_adds_days_at_activation(name: str) -> None:
    sold = SOLD[name]
    card = new_card(name)
    sw, por = send_ota(card, sms(plan.topup(500_000_000, 3), counter=7))
    assert por.status == 0 and plan.applet_answer(por.status, por.data)["plan"] == {
        "remaining_bytes": sold["bytes"] + 500_000_000, "total_bytes": sold["bytes"] + 500_000_000,
        "state": "inactive", "expires": None, "validity_days": sold["days"] + 3}
    assert decoded(card, "VALIDITY")["extra_days"] == 3
    phone = Phone(card, date="2026-11-26T10:00+01:00")
    phone.register("204-08")  # at home, in the Netherlands
    v = decoded(card, "VALIDITY")
    assert v["extra_days"] == 0 and v["activation_plmn"] == {"mcc": "204", "mnc": "08"}
    assert v["expires"] == ("2026-12-14T10:00:00+01:00" if name == "1gb" else "2026-12-27T10:00:00+01:00")


def test_top_up_menu_item_launches_the_browser() -> None:
    phone = Phone(new_card())
    screens = phone.select("Top up")
    assert screens == [{"command": "LAUNCH BROWSER", "number": screens[0]["number"], "qualifier": 0,
                        "alpha": "Top up", "url": "https://www.kpn.com/prepaid/travel/1gb-15d/opwaarderen"}]


def test_activation_waits_for_a_terminal_that_can_tell_the_time() -> None:
    from simtool.commands import cat

    profile = cat.TERMINAL_PROFILE[:7] + b"\x00" + cat.TERMINAL_PROFILE[8:]  # no PLI date-time
    card = new_card()
    phone = Phone(card, profile=profile)
    assert phone.register() == []
    assert decoded(card, "VALIDITY")["state"] == "inactive"
    # with a clock the next registration activates
    phone2 = Phone(card)
    assert [s["command"] for s in phone2.register()] == ["PROVIDE LOCAL INFORMATION", "DISPLAY TEXT"]


def test_terminal_without_time_answer_leaves_the_plan_inactive() -> None:
    card = new_card()
    phone = Phone(card)
    from simtool.commands import cat, uicc

    resp = phone.reader.send(uicc.envelope(cat.location_status(0, cat.parse_plmn("262-01"))))
    assert resp.sw >> 8 == 0x91
    fetched = phone.reader.send(uicc.fetch(resp.sw & 0xFF))
    cmd = cat.parse_proactive(fetched.data)
    assert cmd.type == 0x26 and cmd.qualifier == 0x03
    resp = phone.reader.send(uicc.terminal_response(cat.terminal_response(cmd, 0x30)))  # beyond capability
    assert resp.sw == 0x9000
    assert decoded(card, "VALIDITY")["state"] == "inactive"
