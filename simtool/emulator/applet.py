"""The plan applet: activation, expiry, "My plan", top-ups over OTA (applet_spec/behaviour.md).

It lives in DF.PLAN: EF.PLAN_DEF says what was sold, EF.BALANCE / EF.VALIDITY hold the state,
EF.OTA_KEYS / EF.OTA_CNTR secure the operator's updates. Every change is one durable write of the card
(`CardPort.commit`) before the command that caused it is answered. The CAT runtime (`simtool.emulator.cat`)
calls the `on_*` hooks; the applet answers by queueing proactive commands.

State machine: inactive → (location status "normal service", then PROVIDE LOCAL INFORMATION date-time)
→ active → (a date-time at or past the expiry) → expired; a top-up that moves the expiry past the last
time the terminal reported makes an expired plan active again. The balance changes only through OTA.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from simtool.emulator import cat as C
from simtool.emulator import ota
from simtool.emulator.port import CardPort
from simtool.encoding import efs
from simtool.encoding.codec import DecodeError
from simtool.encoding.ctlv import ctlv
from simtool.encoding.sizes import format_bytes
from simtool.encoding.sw import SW

TAR = bytes.fromhex("BFFF4A")  # proprietary range BFFF00-BFFFFF (TS 101 220 Annex D)
MSL = 0x16  # minimum security level, SPI1 coding: CC (10), ciphering (1), counter higher (10)
DAY = 86_400

# OTA commands (secured data), applet_spec/behaviour.md
CMD_TOPUP = 0xA1
CMD_SET_BALANCE = 0xA2

ITEM_MY_PLAN, ITEM_TOP_UP = 1, 2
CHOICE_TOP_UP, CHOICE_CLOSE = 1, 2

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "menu": "Travel plan",
        "my_plan": "My plan",
        "top_up": "Top up",
        "close": "Close",
        "welcome": "Welcome! {name} is active until {until}.",
        "active": "{name}\nData left: {left} of {total}\nValid until {until}",
        "inactive": "{name}\nNot active yet. Your {days} days start when your phone first connects to a "
                    "network.\nData: {total}",
        "expired": "Your plan expired on {until}.",
        "used_up": "No data left ({total} used).",
    },
    "zh": {
        "menu": "旅行套餐",
        "my_plan": "我的套餐",
        "top_up": "充值",
        "close": "关闭",
        "welcome": "欢迎！{name}已激活，有效期至 {until}。",
        "active": "{name}\n剩余流量：{left}（共 {total}）\n有效期至 {until}",
        "inactive": "{name}\n尚未激活。手机首次连接网络时开始计算 {days} 天有效期。\n流量：{total}",
        "expired": "您的套餐已于 {until} 到期。",
        "used_up": "流量已用完（共 {total}）。",
    },
}
LANGUAGES = tuple(TEXTS)


def format_time(utc: int, tz_quarters: int) -> str:
    """Local time of the terminal: `2026-12-11 10:00 (UTC+01:00)`."""
    minutes = 15 * tz_quarters
    local = datetime.fromtimestamp(utc, timezone(timedelta(minutes=minutes)))
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{local:%Y-%m-%d %H:%M} (UTC{sign}{hh:02d}:{mm:02d})"


def parse_date_time(value: bytes) -> tuple[int, int] | None:
    """Date-time and time zone (TS 102 223 §8.39, TS 23.040 SCTS coding) → (UTC seconds, quarter hours)."""
    if len(value) != 7:
        return None
    digits = []
    for b in value[:6]:
        lo, hi = b & 0x0F, b >> 4
        if lo > 9 or hi > 9:
            return None
        digits.append(lo * 10 + hi)
    tz = value[6]
    tens, units = tz & 0x07, tz >> 4
    if units > 9:
        return None
    quarters = -(tens * 10 + units) if tz & 0x08 else tens * 10 + units
    yy, mo, dd, hh, mi, ss = digits
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError:
        return None
    return int(local.timestamp()), quarters


class PlanApplet:
    """One instance per card, created by the CAT runtime; it sees the card through its `CardPort`."""

    def __init__(self, card: CardPort, cat: C.CatRuntime) -> None:
        self.card = card
        self.cat = cat
        fs = card.model.fs
        try:
            self.paths = {n: fs.find(f"DF.PLAN/EF.{n}").path
                          for n in ("PLAN_DEF", "BALANCE", "VALIDITY", "OTA_CNTR", "OTA_KEYS")}
        except KeyError:
            self.paths = {}  # a card model without the plan DF: the applet is not installed

    def reset(self) -> None:
        self.lang = "en"
        self.activating = False
        self.registered_plmn: bytes | None = None

    # --- the files --------------------------------------------------------------------------------------

    def _raw(self, name: str) -> bytes:
        return self.card.file_bytes(self.paths[name])

    def _decode(self, name: str, codec: Any) -> Any:
        try:
            return codec.decode(self._raw(name))
        except DecodeError:
            return None

    def _plan(self) -> dict[str, Any] | None:
        if not self.paths:
            return None
        plan: dict[str, Any] | None = self._decode("PLAN_DEF", efs.PLAN_DEFINITION)
        if plan is None or self._decode("BALANCE", efs.BALANCE) is None:
            return None
        if self._decode("VALIDITY", efs.VALIDITY) is None:
            return None
        return plan

    def _validity(self) -> dict[str, Any]:
        """EF.VALIDITY as numbers: state, activation/expiry/last seen in UTC seconds with their zones."""
        v = efs.VALIDITY.decode(self._raw("VALIDITY"))
        act, tz_act = efs.plan_time_encode(v["activated"])
        exp, _ = efs.plan_time_encode(v["expires"])
        seen, tz_seen = efs.plan_time_encode(v["last_seen"])
        return {"state": v["state"], "activated": act, "tz_act": tz_act, "plmn": v["activation_plmn"],
                "expires": exp, "extra_days": v["extra_days"], "last_seen": seen, "tz_seen": tz_seen}

    def _validity_bytes(self, v: dict[str, Any]) -> bytes:
        size = len(self._raw("VALIDITY"))
        return efs.VALIDITY.encode({
            "state": v["state"],
            "activated": efs.plan_time_decode(v["activated"], v["tz_act"]),
            "activation_plmn": v["plmn"],
            "expires": efs.plan_time_decode(v["expires"], v["tz_act"]),
            "extra_days": v["extra_days"],
            "last_seen": efs.plan_time_decode(v["last_seen"], v["tz_seen"]),
        }, size)

    def _write(self, bodies: dict[str, bytes]) -> None:
        """Replace file bodies and make them durable in one save; on failure memory is as before (6581)."""
        self.card.commit({self.paths[name]: body for name, body in bodies.items()})

    # --- texts ------------------------------------------------------------------------------------------

    def _t(self, key: str, **kw: Any) -> str:
        return TEXTS[self.lang][key].format(**kw)

    def _name(self, plan: dict[str, Any]) -> str:
        names = plan.get("names") or {}
        name: str = names.get(self.lang) or names.get("en") or plan["plan_id"]
        return name

    def _set_language(self, code: bytes) -> None:
        lang = code.decode("ascii", "replace").lower()
        # Chinese needs UCS2 on the display (terminal profile byte 2 b7); English is the fallback.
        if lang == "zh" and not self.cat.supports(2, 0x40):
            lang = "en"
        self.lang = lang if lang in LANGUAGES else "en"

    # --- proactive commands -----------------------------------------------------------------------------

    def _menu(self) -> None:
        items = (ctlv(C.T_ITEM, bytes([ITEM_MY_PLAN]) + C.alpha(self._t("my_plan")), cr=True)
                 + ctlv(C.T_ITEM, bytes([ITEM_TOP_UP]) + C.alpha(self._t("top_up")), cr=True))
        self.cat.proactive(C.SET_UP_MENU, 0x00, ctlv(C.T_ALPHA, C.alpha(self._t("menu")), cr=True) + items,
                           purpose="menu")

    def _ask_time(self, why: str) -> bool:
        if not self.cat.supports(8, 0x04):  # PROVIDE LOCAL INFORMATION (date, time and time zone)
            return False
        self.cat.proactive(C.PROVIDE_LOCAL_INFO, 0x03, b"", purpose="date_time", why=why)
        return True

    def _display(self, text: str, qualifier: int = 0x80) -> None:
        self.cat.proactive(C.DISPLAY_TEXT, qualifier, ctlv(C.T_TEXT, C.text_string(text), cr=True),
                           dest=C.DISPLAY, purpose="display")

    def _offer_top_up(self, title: str) -> None:
        body = (ctlv(C.T_ALPHA, C.alpha(title), cr=True)
                + ctlv(C.T_ITEM, bytes([CHOICE_TOP_UP]) + C.alpha(self._t("top_up")), cr=True)
                + ctlv(C.T_ITEM, bytes([CHOICE_CLOSE]) + C.alpha(self._t("close")), cr=True))
        self.cat.proactive(C.SELECT_ITEM, 0x00, body, purpose="offer_top_up")

    def _browser(self, plan: dict[str, Any]) -> None:
        url = (plan.get("topup_url") or "").encode("ascii", "replace")
        body = ctlv(C.T_URL, url, cr=True) + ctlv(C.T_ALPHA, C.alpha(self._t("top_up")), cr=True)
        self.cat.proactive(C.LAUNCH_BROWSER, 0x00, body, purpose="browser")

    # --- hooks from the CAT runtime ---------------------------------------------------------------------

    def on_terminal_profile(self) -> None:
        if self._plan() is None:
            return
        events = bytes([0x03]) + (bytes([0x07]) if self.cat.supports(6, 0x01) else b"")
        if self.cat.supports(5, 0x01):  # SET UP EVENT LIST
            self.cat.proactive(C.SET_UP_EVENT_LIST, 0x00, ctlv(C.T_EVENT_LIST, events, cr=True),
                               purpose="event_list")
        else:
            self._after_event_list()

    def _after_event_list(self) -> None:
        if self.cat.supports(9, 0x08):  # PROVIDE LOCAL INFORMATION (language)
            self.cat.proactive(C.PROVIDE_LOCAL_INFO, 0x04, b"", purpose="language")
        elif self.cat.supports(4, 0x20):
            self._menu()

    def on_response(self, sent: C.Sent, result: int, additional: bytes, items: list[tuple[int, bytes]]) -> None:
        ok = result < 0x10
        found = dict(items)
        if sent.purpose == "event_list":
            self._after_event_list()
        elif sent.purpose == "language":
            if ok and C.T_LANGUAGE in found:
                self._set_language(found[C.T_LANGUAGE])
            if self.cat.supports(4, 0x20):
                self._menu()
        elif sent.purpose == "date_time":
            now = parse_date_time(found.get(C.T_DATE_TIME, b"")) if ok else None
            if sent.extra.get("why") == "activate":
                self._activate(now)
            else:
                self._show_plan(now)
        elif sent.purpose == "offer_top_up":
            item = found.get(C.T_ITEM_ID, b"")
            plan = self._plan()
            if ok and item[:1] == bytes([CHOICE_TOP_UP]) and plan is not None:
                self._browser(plan)

    def on_menu_selection(self, item: int) -> None:
        plan = self._plan()
        if plan is None:
            return
        if item == ITEM_MY_PLAN:
            if not self._ask_time("my_plan"):
                self._show_plan(None)
        elif item == ITEM_TOP_UP:
            self._browser(plan)

    def on_event(self, event: int, items: dict[int, bytes]) -> None:
        if self._plan() is None:
            return
        if event == 0x03:  # location status
            status = items.get(C.T_LOCATION_STATUS, b"")
            if status[:1] != b"\x00" or self.activating:
                return  # limited or no service: no activation
            if self._validity()["state"] != "inactive":
                return
            info = items.get(C.T_LOCATION_INFO, b"")
            self.registered_plmn = info[:3] if len(info) >= 3 else None
            self.activating = self._ask_time("activate")
        elif event == 0x07 and C.T_LANGUAGE in items:  # language selection
            self._set_language(items[C.T_LANGUAGE])
            if self.cat.supports(4, 0x20):
                self._menu()

    # --- activation and "My plan" -----------------------------------------------------------------------

    def _activate(self, now: tuple[int, int] | None) -> None:
        self.activating = False
        plan = self._plan()
        if now is None or plan is None:
            return  # no time from the terminal: stay inactive, try again at the next registration
        v = self._validity()
        if v["state"] != "inactive":
            return
        utc, tz = now
        days = plan["validity_days"] + v["extra_days"]
        plmn = efs.plmn_decode(self.registered_plmn) if self.registered_plmn else None
        v.update(state="active", activated=utc, tz_act=tz, plmn=plmn, expires=utc + days * DAY, extra_days=0,
                 last_seen=max(v["last_seen"], utc), tz_seen=tz)
        self._write({"VALIDITY": self._validity_bytes(v)})
        self._display(self._t("welcome", name=self._name(plan), until=format_time(v["expires"], tz)), 0x00)

    def _show_plan(self, now: tuple[int, int] | None) -> None:
        plan = self._plan()
        if plan is None:
            return
        v = self._validity()
        balance = efs.BALANCE.decode(self._raw("BALANCE"))
        tz = v["tz_seen"] if v["last_seen"] else v["tz_act"]
        if now is not None:
            utc, tz = now
            changed = False
            if utc > v["last_seen"]:
                v.update(last_seen=utc, tz_seen=tz)
                changed = True
            if v["state"] == "active" and utc >= v["expires"]:
                v["state"] = "expired"
                changed = True
            if changed:
                self._write({"VALIDITY": self._validity_bytes(v)})
        name = self._name(plan)
        total = format_bytes(balance["total_bytes"])
        if v["state"] == "inactive":
            days = plan["validity_days"] + v["extra_days"]
            self._display(self._t("inactive", name=name, days=days, total=total))
        elif v["state"] == "expired":
            self._offer_top_up(self._t("expired", until=format_time(v["expires"], tz)))
        elif balance["remaining_bytes"] == 0:
            self._offer_top_up(self._t("used_up", total=total))
        else:
            self._display(self._t("active", name=name, left=format_bytes(balance["remaining_bytes"]),
                                  total=total, until=format_time(v["expires"], tz)))

    # --- OTA --------------------------------------------------------------------------------------------

    def on_sms_pp(self, value: bytes) -> bytes | None:
        """An SMS-PP data download: the PoR to answer with (None: SPI2 asks for none). SmsError → 6A80."""
        packet = ota.command_packet(ota.sms_user_data(value))
        keys = None
        counter = ota.COUNTER_MAX
        if self.paths:
            stored = self._decode("OTA_KEYS", efs.OTA_KEYS)
            if stored is not None:
                keys = ota.KeySet(stored["kvn"], stored["kic"], stored["kid"])
            counter = int.from_bytes(self._raw("OTA_CNTR"), "big")
        policies = {TAR: ota.TarPolicy(MSL, keys, counter)} if self.paths else {}
        checked = ota.check(packet, policies)
        if checked.status != ota.OK:
            return ota.por(checked, checked.status)
        sw, bodies = self._run(checked.data)
        if sw == SW.OK.raw:
            bodies["OTA_CNTR"] = checked.counter.to_bytes(5, "big")
            self._write(bodies)
            return ota.por(checked, ota.OK, sw + self._summary())
        return ota.por(checked, ota.OK, sw)

    def _run(self, data: bytes) -> tuple[bytes, dict[str, bytes]]:
        """Check and compute every command of the secured data; nothing is written here.
        (SW, new file bodies): 9000 and the bodies, or an error SW and nothing."""
        plan = self._plan()
        if plan is None:
            return SW.CONDITIONS.raw, {}
        try:
            commands = _parse_commands(data)
        except ValueError:
            return SW.WRONG_DATA.raw, {}
        balance = efs.BALANCE.decode(self._raw("BALANCE"))
        v = self._validity()
        for tag, fields in commands:
            if tag == CMD_TOPUP:
                add, days = fields.get(0x81, 0), fields.get(0x82, 0)
                balance["remaining_bytes"] += add
                balance["total_bytes"] += add
                if v["state"] == "inactive":
                    v["extra_days"] += days
                elif days:
                    v["expires"] = max(v["expires"], v["last_seen"]) + days * DAY
                    if v["state"] == "expired" and v["expires"] > v["last_seen"]:
                        v["state"] = "active"
            else:  # CMD_SET_BALANCE
                balance["remaining_bytes"] = fields[0x81]
            if (balance["total_bytes"] >= 2**64 or balance["remaining_bytes"] > balance["total_bytes"]
                    or v["extra_days"] > 0xFFFF or v["expires"] >= 2**32):
                return SW.WRONG_DATA.raw, {}
        size = len(self._raw("BALANCE"))
        return SW.OK.raw, {"BALANCE": efs.BALANCE.encode(balance, size), "VALIDITY": self._validity_bytes(v)}

    def _summary(self) -> bytes:
        """The plan as it stands, for the PoR: A0 { 81 remaining, 82 total, 83 state, 84 expiry, 85 days }."""
        balance = efs.BALANCE.decode(self._raw("BALANCE"))
        v = self._validity()
        plan = self._plan() or {"validity_days": 0}
        return _tlv(0xA0, _inner(balance, v, plan))


def _inner(balance: dict[str, int], v: dict[str, Any], plan: dict[str, Any]) -> bytes:
    return (_tlv(0x81, balance["remaining_bytes"].to_bytes(8, "big"))
            + _tlv(0x82, balance["total_bytes"].to_bytes(8, "big"))
            + _tlv(0x83, bytes([efs.PLAN_STATE_IDS[v["state"]]]))
            + _tlv(0x84, v["expires"].to_bytes(4, "big"))
            + _tlv(0x85, (plan["validity_days"] + v["extra_days"]).to_bytes(2, "big")))


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def _parse_commands(data: bytes) -> list[tuple[int, dict[int, int]]]:
    """The secured data: one or more commands A1 (top-up: 81 bytes to add, 82 days to add, at least one)
    and A2 (set balance: 81 bytes remaining), each field once, nothing else. ValueError otherwise."""
    out = []
    i = 0
    if not data:
        raise ValueError("no command")
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError("truncated")
        tag, n = data[i], data[i + 1]
        if n > 0x7F or i + 2 + n > len(data):
            raise ValueError("bad length")
        value = data[i + 2 : i + 2 + n]
        i += 2 + n
        sizes = {CMD_TOPUP: {0x81: 8, 0x82: 2}, CMD_SET_BALANCE: {0x81: 8}}.get(tag)
        if sizes is None:
            raise ValueError(f"unknown command {tag:02X}")
        fields: dict[int, int] = {}
        j = 0
        while j < len(value):
            if j + 2 > len(value):
                raise ValueError("truncated field")
            t, m = value[j], value[j + 1]
            if t not in sizes or m != sizes[t] or t in fields or j + 2 + m > len(value):
                raise ValueError("bad field")
            fields[t] = int.from_bytes(value[j + 2 : j + 2 + m], "big")
            j += 2 + m
        if not fields or (tag == CMD_SET_BALANCE and 0x81 not in fields):
            raise ValueError("missing field")
        out.append((tag, fields))
    return out
