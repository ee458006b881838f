"""Card models: a card family's ATR, its proprietary key and PIN files, and its file sizes.

The standard tree (`simtool.fs.tree`) says what files exist; a card model says how big they are on a
given family and where that family keeps K/OPc and the PINs. Rendering pads to the model's sizes.

Where and how a family keeps its secrets is the model's `secrets` (a `SecretLayout`): pure functions over
file bodies, so that `render` produces the right key and PIN files per family, and the emulator finds
K/OPc, the PIN values, their enable flags and counters in the files of whichever model it emulates:

    files = model.secrets.secret_files(k, opc, "milenage", pins, pin1_enabled=False, pin2_enabled=True)
    model.secrets.read_key(state_files)               # {"algorithm": "milenage", "k": b"..", "opc": b".."}
    model.secrets.read_pins(state_files)["pin1"]      # PinValue(value=b"1234\\xff..", enabled=False, ...)
    model.secrets.write_pins(state_files, {"pin1": {"tries": 2}})   # {path: new body}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from simtool.encoding import efs as C
from simtool.encoding.types import EncodeError
from simtool.fs import tree
from simtool.fs.access import ADM, NEVER
from simtool.fs.model import DF, EF, FileSystem

PIN_NAMES = ("pin1", "puk1", "pin2", "puk2")
Files = Mapping[str, "bytes | bytearray"]


@dataclass(frozen=True)
class PinValue:
    """One PIN, PUK or ADM key as a card keeps it."""

    value: bytes  # 8 bytes, compared with what VERIFY presents (ASCII digits padded with FF)
    enabled: bool = True  # PIN1/PIN2 enable flag; PUKs and ADM keys are always "enabled"
    tries: int | None = None  # tries left, where the family keeps the counter in the PIN file
    max_tries: int | None = None  # that counter's ceiling, likewise


class SecretLayout:
    """Where and how a card family keeps K/OPc, the PIN values and (optionally) its SQN memory.

    Every method is a pure function over file bodies: `files` maps EF paths to bytes, as an emulated
    card's state or a card image holds them; nothing here talks to a card.
    """

    key_paths: tuple[str, ...] = ()  # files holding K/OPc: never readable, written under ADM1
    pin_paths: tuple[str, ...] = ()  # files holding PIN/PUK (and, on some families, ADM) values
    sqn_path: str | None = None  # a file mirroring the card's SQN memory, where the family has one
    # The ISIM's own key file, where the family keeps one apart from the USIM's (None: the ISIM runs IMS
    # AKA with the USIM's key). Not among `paths()`: a card made before the model had an ISIM lacks it.
    isim_key_path: str | None = None
    kept: tuple[str, ...] = PIN_NAMES  # the secrets the PIN files hold ("adm1" too on some families)
    counters_in_files = False  # whether retry counters live in the PIN files

    def paths(self) -> tuple[str, ...]:
        return self.key_paths + self.pin_paths + ((self.sqn_path,) if self.sqn_path else ())

    def secret_files(self, k: bytes, opc: bytes, algorithm: str = "milenage",
                     pins: Mapping[str, str] | None = None, pin1_enabled: bool = False, pin2_enabled: bool = True,
                     *, tuak: Mapping[str, int] | None = None) -> dict[str, Any]:
        """{path: decoded value} of the key and PIN files for a card with these secrets (what `render`
        writes; the model's codecs encode them). `pins` has pin1, puk1, pin2, puk2 as digit strings;
        `tuak` the TUAK sizes in bytes (mac_len, res_len, ck_len, ik_len) and iterations."""
        raise NotImplementedError

    def vendor_files(self, adm: bytes, pins: Mapping[str, str], pin1_enabled: bool = True,
                     pin2_enabled: bool = True) -> dict[str, Any]:
        """{path: decoded value} of what the vendor sets on a blank card: PIN files with default values
        and full counters (ADM1 where the family keeps it in a file), SQN settings. K and OPc stay erased
        (a family may configure the algorithm in the key files, as the SJA2 is shipped)."""
        raise NotImplementedError

    def read_key(self, files: Files, context: str = "3g") -> dict[str, Any] | None:
        """The key for AUTHENTICATE in `context` ("3g" or "gsm" for the USIM, "ims" for the ISIM's IMS AKA):
        {"algorithm", "k", and "opc" or "op"} as bytes, plus "tuak" (sizes in bytes, iterations) for TUAK.
        None while the key file is erased (or absent). Raises ValueError for a key file that does not decode."""
        raise NotImplementedError

    def read_pins(self, files: Files) -> dict[str, PinValue]:
        """Every secret of `kept` as stored."""
        raise NotImplementedError

    def write_pins(self, files: Files, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
        """New bodies of the PIN files after `changes` ({name: {"value": 8 bytes, "enabled": bool,
        "tries": int}}, each key optional). Only files that hold what changes are returned."""
        raise NotImplementedError

    def read_sqn(self, files: Files) -> dict[str, Any] | None:
        """SQN settings and slots ({"ind_len", "delta", "age_limit", "slots"}, as `SqnState.to_dict()`;
        delta and age limit in SEQ steps), or None when the family keeps no SQN file."""
        return None

    def write_sqn(self, files: Files, sqn: Mapping[str, Any]) -> dict[str, bytes]:
        """The SQN file's new body holding `sqn`'s slots; settings in the file stay as they are."""
        return {}


# --- simtool-emu: EF.AUTH_KEY and EF.PINS under the MF (applet_spec/files.md) -------------------------


class EmuSecrets(SecretLayout):
    """Our emulated card: one key file (algorithm, K, OPc) and one PIN file (four values and flags).
    Counters and the ADM1 key live in the card's private memory, not in files. Both files are read and
    written through their codecs (`C.AUTH_KEY`, `C.PINS`): the layout is declared there, once. The ISIM
    runs IMS AKA with the same K/OPc and the same SQN memory (one subscription, one HSS sequence)."""

    KEY = "MF/EF.AUTH_KEY"
    PINS = "MF/EF.PINS"
    ENABLED = {"pin1": "pin1_enabled", "pin2": "pin2_enabled"}

    key_paths = (KEY,)
    pin_paths = (PINS,)

    def _pins_value(self, pins: Mapping[str, str], pin1_enabled: bool, pin2_enabled: bool) -> dict[str, Any]:
        return {**{n: C.pin_encode(pins[n]) for n in PIN_NAMES}, "pin1_enabled": pin1_enabled,
                "pin2_enabled": pin2_enabled}

    def secret_files(self, k: bytes, opc: bytes, algorithm: str = "milenage",
                     pins: Mapping[str, str] | None = None, pin1_enabled: bool = False, pin2_enabled: bool = True,
                     *, tuak: Mapping[str, int] | None = None) -> dict[str, Any]:
        if algorithm == "tuak" and tuak and any(tuak.get(n, d) != d for n, d in _TUAK_DEFAULTS.items()):
            raise EncodeError(f"{self.KEY}: holds no TUAK sizes; only the defaults {_TUAK_DEFAULTS}")
        out: dict[str, Any] = {self.KEY: {"algorithm": algorithm, "k": bytes(k), "opc": bytes(opc)}}
        if pins is not None:
            out[self.PINS] = self._pins_value(pins, pin1_enabled, pin2_enabled)
        return out

    def vendor_files(self, adm: bytes, pins: Mapping[str, str], pin1_enabled: bool = True,
                     pin2_enabled: bool = True) -> dict[str, Any]:
        return {self.PINS: self._pins_value(pins, pin1_enabled, pin2_enabled)}

    def read_key(self, files: Files, context: str = "3g") -> dict[str, Any] | None:
        key = C.AUTH_KEY.decode(bytes(files[self.KEY]))
        if key is None:
            return None
        return {"algorithm": key["algorithm"], "k": key["k"], "opc": key["opc"]}

    def read_pins(self, files: Files) -> dict[str, PinValue]:
        v = C.PINS.decode(bytes(files[self.PINS]))
        return {n: PinValue(v[n], bool(v[self.ENABLED[n]]) if n in self.ENABLED else True) for n in PIN_NAMES}

    def write_pins(self, files: Files, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
        body = bytes(files[self.PINS])
        v = C.PINS.decode(body)
        for name, change in changes.items():
            if name not in PIN_NAMES:
                raise KeyError(name)
            if "value" in change:
                v[name] = _eight(change["value"])
            if "enabled" in change and name in self.ENABLED:
                v[self.ENABLED[name]] = bool(change["enabled"])
        return {self.PINS: C.PINS.encode(v, len(body))}


_TUAK_DEFAULTS = {"mac_len": 8, "res_len": 8, "ck_len": 16, "ik_len": 16, "iterations": 1}


def _eight(value: bytes) -> bytes:
    value = bytes(value)
    if len(value) != 8:
        raise ValueError("a PIN/PUK/ADM value is 8 bytes")
    return value


# --- sysmocom sysmoISIM-SJA2 ---------------------------------------------------------------------------
# Facts from sysmocom's public documentation of the card and pySim's decoders (codings only): the PIN
# files live in the proprietary DF.SYSTEM (A515) under the MF, each holding state, counters and the value
# (and the PUK for CHV1/CHV2); K/OPc for the USIM live in ADF.USIM/EF.USIM_AUTH_KEY (AF20), their 2G view
# in DF.SYSTEM/EF.SIM_AUTH_KEY (6F20); the SQN memory and its settings in ADF.USIM/EF.USIM_SQN (AF30).

SJA2_PIN_TRIES = 3  # pySim's SJA2 PIN-file vector: 3 of 3
SJA2_PUK_TRIES = 10  # likewise 10 of 10
SJA2_ADM_TRIES = 3  # a guess: the ADM1 file's counter ceiling is not in the sources we have
SJA2_ATRS = tuple(bytes.fromhex(a) for a in (
    "3b9f96801f878031e073fe211b674a4c753034054ba9",
    "3b9f96801f878031e073fe211b674a4c7531330251b2",
    "3b9f96801f878031e073fe211b674a4c5275310451d5",
))

# Sizes from a sysmocom card's file listing (sysmoISIM-SJA5, the same family and DF.SYSTEM layout);
# 21/11 bytes match the PIN-file coding with and without a PUK.
SJA2_CHV1 = EF("EF.CHV1", 0x6F01, C.SJA2_PIN, NEVER, ADM, size=21, secret=True,
               description="PIN1 and PUK1: state, counters, values (proprietary)")
SJA2_CHV2 = EF("EF.CHV2", 0x6F81, C.SJA2_PIN, NEVER, ADM, size=21, secret=True,
               description="PIN2 and PUK2 (proprietary)")
SJA2_ADM1 = EF("EF.ADM1", 0x6F0A, C.SJA2_PIN, NEVER, ADM, size=11, secret=True,
               description="ADM1 key: state, counters, value (proprietary)")
SJA2_SIM_AUTH_KEY = EF("EF.SIM_AUTH_KEY", 0x6F20, C.SJA2_SIM_AUTH_KEY, NEVER, ADM, size=33, secret=True,
                       description="K/OPc and algorithm in 2G context (proprietary)")
SJA2_SYSTEM = DF("DF.SYSTEM", 0xA515, description="sysmocom card OS files: PINs, 2G key (proprietary)",
                 children=(SJA2_CHV1, SJA2_CHV2, SJA2_ADM1, SJA2_SIM_AUTH_KEY))
SJA2_USIM_AUTH_KEY = EF("EF.USIM_AUTH_KEY", 0xAF20, C.SJA2_USIM_AUTH_KEY, NEVER, ADM, size=67, secret=True,
                        description="K/OPc and algorithm of the USIM (proprietary); 67 bytes hold the TUAK layout")
SJA2_USIM_SQN = EF("EF.USIM_SQN", 0xAF30, C.SJA2_USIM_SQN, ADM, ADM, size=206,
                   description="SQN check settings and 32 freshness slots (proprietary)")
# ADF.ISIM keeps its own copies (the card-sanitizer backup: AF20 of 33 bytes, AF30 of 206; pySim-prog writes
# Ki/OPc into this AF20 as well): the USIM's layouts, the key file too small for TUAK.
SJA2_ISIM_AUTH_KEY = EF("EF.ISIM_AUTH_KEY", 0xAF20, C.SJA2_USIM_AUTH_KEY, NEVER, ADM, size=33, secret=True,
                        description="K/OPc and algorithm of the ISIM (proprietary; Milenage/XOR layout only)")
SJA2_ISIM_SQN = EF("EF.ISIM_SQN", 0xAF30, C.SJA2_USIM_SQN, ADM, ADM, size=206,
                   description="the ISIM's SQN check settings and slots (proprietary; not emulated)")


SJA2_SHIPPED_KEY = {"algorithm": "milenage", "sres_function": 1, "only_4byte_res": False}
_ERASED16 = b"\xff" * 16


class Sja2Secrets(SecretLayout):
    """sysmoISIM-SJA2: DF.SYSTEM PIN files (state, counters, value, PUK), AF20 + 6F20 key files, AF30 SQN.

    Not emulated (the emulator reads the flags but does not act on them): "only 4-byte RES" and SRES
    function 2, AF30's skip-next-check and SQN-check flags, the change/unblock/disable-able PIN states;
    nor the other DF.SYSTEM files (ADM2..ADM4, MILENAGE_CFG constants, OTA keys and counters). The ISIM
    authenticates with its own key file (ADF.ISIM AF20) but the card's one SQN memory (ADF.USIM AF30):
    ADF.ISIM's AF30 is written as shipped and not kept in step.
    """

    CHV1 = "MF/DF.SYSTEM/EF.CHV1"
    CHV2 = "MF/DF.SYSTEM/EF.CHV2"
    ADM1 = "MF/DF.SYSTEM/EF.ADM1"
    KEY_2G = "MF/DF.SYSTEM/EF.SIM_AUTH_KEY"
    KEY = "MF/ADF.USIM/EF.USIM_AUTH_KEY"
    SQN = "MF/ADF.USIM/EF.USIM_SQN"
    ISIM_KEY = "MF/ADF.ISIM/EF.ISIM_AUTH_KEY"
    ISIM_SQN = "MF/ADF.ISIM/EF.ISIM_SQN"
    # name -> (PIN file, which of its secrets: the PIN part or the PUK part); the layout is C.SJA2_PIN's.
    WHERE = {"pin1": (CHV1, "pin"), "puk1": (CHV1, "puk"), "pin2": (CHV2, "pin"), "puk2": (CHV2, "puk"),
             "adm1": (ADM1, "pin")}
    PIN_STATE = {"valid": True, "change_able": True, "unblock_able": True, "disable_able": True,
                 "not_initialised": False}
    ADM_STATE = {"valid": True, "change_able": True, "unblock_able": False, "disable_able": False,
                 "not_initialised": False, "disabled": False}  # a guess: what an ADM key can be asked to do

    key_paths = (KEY, KEY_2G)
    pin_paths = (CHV1, CHV2, ADM1)
    sqn_path = SQN
    isim_key_path = ISIM_KEY
    kept = (*PIN_NAMES, "adm1")
    counters_in_files = True

    def _chv(self, pin: str, puk: str, enabled: bool) -> dict[str, Any]:
        return {"state": {**self.PIN_STATE, "disabled": not enabled}, "attempts_remaining": SJA2_PIN_TRIES,
                "maximum_attempts": SJA2_PIN_TRIES, "pin": C.pin_encode(pin),
                "puk": {"attempts_remaining": SJA2_PUK_TRIES, "maximum_attempts": SJA2_PUK_TRIES,
                        "puk": C.pin_encode(puk)}}

    def _pin_files(self, pins: Mapping[str, str], pin1_enabled: bool, pin2_enabled: bool) -> dict[str, Any]:
        return {self.CHV1: self._chv(pins["pin1"], pins["puk1"], pin1_enabled),
                self.CHV2: self._chv(pins["pin2"], pins["puk2"], pin2_enabled)}

    def secret_files(self, k: bytes, opc: bytes, algorithm: str = "milenage",
                     pins: Mapping[str, str] | None = None, pin1_enabled: bool = False, pin2_enabled: bool = True,
                     *, tuak: Mapping[str, int] | None = None) -> dict[str, Any]:
        key: dict[str, Any] = {"algorithm": algorithm, "sres_function": 1, "k": bytes(k), "opc": bytes(opc)}
        out: dict[str, Any] = {}
        if algorithm == "tuak":
            t = {**_TUAK_DEFAULTS, **(tuak or {})}
            if t["ck_len"] != t["ik_len"]:
                raise EncodeError(f"{self.KEY}: CK and IK have one size on this card")
            key.update(mac_bits=t["mac_len"] * 8, res_bits=t["res_len"] * 8, ck_ik_bits=t["ck_len"] * 8,
                       iterations=t["iterations"])
        else:
            key["only_4byte_res"] = False
            # The 2G and the ISIM key files have the non-TUAK layout only; for TUAK cards they stay as they are.
            out[self.KEY_2G] = dict(key)
            out[self.ISIM_KEY] = dict(key)
        out[self.KEY] = key
        if pins is not None:
            out.update(self._pin_files(pins, pin1_enabled, pin2_enabled))
        return dict(sorted(out.items()))

    def vendor_files(self, adm: bytes, pins: Mapping[str, str], pin1_enabled: bool = True,
                     pin2_enabled: bool = True) -> dict[str, Any]:
        out = self._pin_files(pins, pin1_enabled, pin2_enabled)
        out[self.ADM1] = {"state": dict(self.ADM_STATE), "attempts_remaining": SJA2_ADM_TRIES,
                          "maximum_attempts": SJA2_ADM_TRIES, "pin": _eight(adm), "puk": None}
        out[self.SQN] = C.SJA2_USIM_SQN.vectors[0].value  # as the card is shipped: IND 5 bits, Δ 2^33
        # The key files as shipped: Milenage with OPc configured (pySim-prog writes K and OPc at offsets 1
        # and 17 and leaves this byte as it is); K and OPc themselves erased until personalization.
        for path in (self.KEY, self.KEY_2G):
            out[path] = {**SJA2_SHIPPED_KEY, "k": _ERASED16, "opc": _ERASED16}
        out[self.ISIM_SQN] = C.SJA2_USIM_SQN.vectors[0].value
        return out

    def read_key(self, files: Files, context: str = "3g") -> dict[str, Any] | None:
        path, codec = {"gsm": (self.KEY_2G, C.SJA2_SIM_AUTH_KEY),
                       "ims": (self.ISIM_KEY, C.SJA2_USIM_AUTH_KEY)}.get(context, (self.KEY, C.SJA2_USIM_AUTH_KEY))
        if path not in files:
            return None  # a card made before the model had an ISIM
        key = codec.decode(bytes(files[path]))
        if key is None or key["k"] == b"\xff" * len(key["k"]):  # erased, or configured with no key yet
            return None
        out: dict[str, Any] = {"algorithm": key["algorithm"], "k": key["k"], "sres_function": key["sres_function"]}
        if "opc" in key:
            out["opc"] = key["opc"]
        else:
            out["op"] = key["op"]
        if key["algorithm"] == "tuak":
            out["tuak"] = {"mac_len": key["mac_bits"] // 8, "res_len": key["res_bits"] // 8,
                           "ck_len": key["ck_ik_bits"] // 8, "ik_len": key["ck_ik_bits"] // 8,
                           "iterations": key["iterations"]}
        else:
            out["only_4byte_res"] = key["only_4byte_res"]
        return out

    def read_pins(self, files: Files) -> dict[str, PinValue]:
        decoded = {p: C.SJA2_PIN.decode(bytes(files[p])) for p in self.pin_paths}
        out = {}
        for name, (path, part) in self.WHERE.items():
            v = decoded[path]
            enabled = not v["state"]["disabled"] if name in ("pin1", "pin2") else True
            holder = v if part == "pin" else v["puk"]
            out[name] = PinValue(holder[part], enabled, holder["attempts_remaining"], holder["maximum_attempts"])
        return out

    def write_pins(self, files: Files, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
        values: dict[str, Any] = {}
        for name, change in changes.items():
            path, part = self.WHERE[name]
            v = values.setdefault(path, C.SJA2_PIN.decode(bytes(files[path])))
            holder = v if part == "pin" else v["puk"]
            if "value" in change:
                holder[part] = _eight(change["value"])
            if "tries" in change:
                holder["attempts_remaining"] = max(0, min(255, int(change["tries"])))
            if "enabled" in change and name in ("pin1", "pin2"):
                v["state"]["disabled"] = not change["enabled"]
        return {p: C.SJA2_PIN.encode(v, len(files[p])) for p, v in values.items()}

    def read_sqn(self, files: Files) -> dict[str, Any] | None:
        v = C.SJA2_USIM_SQN.decode(bytes(files[self.SQN]))
        n = v["ind_len"]
        # delta_max and age_limit read as SQN values (SEQ steps << IND length): as shipped, 2^33 with a
        # 5-bit IND is 2^28 SEQ steps, the TS 33.102 Annex C example. The sources do not say it outright.
        return {"ind_len": n, "delta": (v["delta_max"] >> n) or None if v["delta_max_check"] else None,
                "age_limit": (v["age_limit"] >> n) or None if v["age_limit_check"] else None,
                "slots": v["freshness"][: 1 << n]}

    def write_sqn(self, files: Files, sqn: Mapping[str, Any]) -> dict[str, bytes]:
        body = bytes(files[self.SQN])
        v = C.SJA2_USIM_SQN.decode(body)
        slots = list(v["freshness"])
        for i, value in enumerate(sqn["slots"][: len(slots)]):  # the file's slots; more are not kept
            slots[i] = int(value)
        v["freshness"] = slots
        return {self.SQN: C.SJA2_USIM_SQN.encode(v, len(body))}


# --- models --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardModel:
    name: str
    description: str
    atr_t0: bytes
    atr_t1: bytes
    # extra (proprietary) EFs per DF path, and size overrides per EF path
    extra_files: dict[str, tuple[EF | DF, ...]] = field(default_factory=dict)
    sizes: dict[str, int | tuple[int, int]] = field(default_factory=dict)
    adm_tries: int = 3
    pin_tries: int = 3
    puk_tries: int = 10
    secrets: SecretLayout = field(default_factory=EmuSecrets)
    other_atrs: tuple[bytes, ...] = ()  # further ATRs the family answers with (firmware versions)
    protocols: tuple[str, ...] = ("T=0", "T=1")
    # Whether the USIM conceals the SUPI itself (UST service 125, TS 31.102 §4.4.11.8: then EF.SUCI_Calc_Info
    # is not available to the ME). Neither model does: with 124 on and 125 off the handset calculates the SUCI
    # from EF.SUCI_Calc_Info (TS 33.501 §6.12.2), so a profile may not turn 125 on.
    usim_computes_suci: bool = False

    @cached_property
    def fs(self) -> FileSystem:
        root = self._build(tree.MF, "MF")
        fs = FileSystem(root)
        # Size both EF.ARR files to hold every rule the tree's access sets need.
        rules = fs.arr_rules()
        rec_len = max(len(C.ARR_RECORD.encode(r)) for r in rules)
        arr_size = (max(rec_len, 16), len(rules))
        root = self._build(tree.MF, "MF", arr_size)
        fs = FileSystem(root)
        missing = [p for p in (*self.secrets.paths(), *self.sizes) if p not in fs]
        if missing:
            raise ValueError(f"card model {self.name}: no file {', '.join(missing)}")
        return fs

    def _build(self, df: DF, path: str, arr_size: tuple[int, int] | None = None) -> DF:
        children: list[EF | DF] = []
        for child in df.children + self.extra_files.get(path, ()):
            cpath = f"{path}/{child.name}"
            if isinstance(child, DF):
                children.append(self._build(child, cpath, arr_size))
                continue
            if child.name == "EF.ARR" and arr_size is not None:
                child = child.resized(arr_size)
            if cpath in self.sizes:
                child = child.resized(self.sizes[cpath])
            children.append(child)
        return replace(df, children=tuple(children))

    def dir_records(self, without: Collection[str] = ()) -> list[bytes]:
        """EF.DIR as the card is made: one application template per ADF of the tree, labelled by its name
        (`without`: ADF paths left out, as a profile package leaves out an application it does not carry)."""
        return [C.DIR_RECORD.encode({"aid": e.df.aid, "label": e.df.name.removeprefix("ADF.")})
                for e in self.fs.dfs() if e.df.aid is not None and e.path not in without]

    def arr_records(self) -> list[bytes]:
        """EF.ARR as the card is made: record n holds rule n of the tree's access sets (`arr_rules`)."""
        return [C.ARR_RECORD.encode(rule) for rule in self.fs.arr_rules()]

    @property
    def atrs(self) -> tuple[bytes, ...]:
        return tuple(a for a in (self.atr_t0, self.atr_t1, *self.other_atrs) if a)

    def matches_atr(self, atr: bytes) -> bool:
        return bool(atr) and bytes(atr) in self.atrs


def _atr(protocols: str) -> bytes:
    """An ATR with historical bytes "simtool" and a valid TCK (ISO/IEC 7816-3 §8.2)."""
    hist = b"simtool"
    if protocols == "T=0":
        # TS, T0 (TD1 present, K=7), TD1: T=0 only
        body = bytes([0x80 | len(hist), 0x00]) + hist
        return b"\x3b" + body  # T=0 only: no TCK
    # T0 (TA1, TD1 present), TA1 = 96, TD1 = 81 (T=1, TD2 present), TD2 = 31 (TA3, TB3, T=1)
    body = bytes([0x90 | len(hist), 0x96, 0x81, 0x31, 0xFE, 0x45]) + hist
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


SIMTOOL_EMU = CardModel(
    name="simtool-emu",
    description="simtool's emulated UICC/USIM",
    atr_t0=_atr("T=0"),
    atr_t1=_atr("T=1"),
    extra_files={"MF": (tree.AUTH_KEY, tree.PINS)},
    usim_computes_suci=False,  # the handset calculates the SUCI (UST 124 on, 125 off)
)

_U, _G, _T, _I = "MF/ADF.USIM", "MF/DF.GSM", "MF/DF.TELECOM", "MF/ADF.ISIM"
SYSMOISIM_SJA2 = CardModel(
    name="sysmoISIM-SJA2",
    description="sysmocom sysmoISIM-SJA2 programmable UICC/USIM/ISIM (T=0)",
    atr_t0=SJA2_ATRS[0],
    atr_t1=b"",  # T=0 only: the ATR's TD1 offers T=0 and T=15 (global bytes)
    other_atrs=SJA2_ATRS[1:],
    protocols=("T=0",),
    adm_tries=SJA2_ADM_TRIES,
    pin_tries=SJA2_PIN_TRIES,
    puk_tries=SJA2_PUK_TRIES,
    secrets=Sja2Secrets(),
    extra_files={"MF": (SJA2_SYSTEM,), _U: (SJA2_USIM_AUTH_KEY, SJA2_USIM_SQN),
                 _I: (SJA2_ISIM_AUTH_KEY, SJA2_ISIM_SQN)},
    # Sizes: "SJA2" = seen on a sysmoISIM-SJA2 (ATR ...4c753034054ba9): pySim's card-sanitizer backup of one
    # (osmocom/pysim tests/card_sanitizer/card_backup_3b9f96801f878031e073fe211b674a4c753034054ba9_
    # 8988211000000467343.script, every file with its FCP), and pySim-prog's read-out in pySim's test data.
    # Files not listed keep our tree's size, which matches that card where it holds the file (ICCID 10,
    # PL/LI 10, IMSI 9, KEYS 33, HPPLMN 1, SPN 17, PSLOCI 14, ACC 2, LOCI 11, ECC 16x5, EPSLOCI 18,
    # SMSS 2, START-HFN 6, THRESHOLD 3, EPSNSC 54x1, DF.GSM-ACCESS Kc/KcGPRS 9, DF.GSM AD 4, DF.GSM ECC 15,
    # and all of ADF.ISIM: IMPI 128, DOMAIN 50, IMPU 128x8, AD 3, IST 3, P-CSCF 128x8).
    # EF.ARR is sized from our access rules (the card's own rule set differs), EF.DIR holds our application
    # records (USIM, ISIM), and DF.PLAN is our applet's DF, not the vendor's.
    sizes={
        f"{_U}/EF.PLMNwAcT": 60,  # SJA2: 12 entries
        f"{_U}/EF.OPLMNwACT": 60,  # SJA2: 12 entries
        f"{_U}/EF.HPLMNwAcT": 60,  # SJA2: 12 entries
        f"{_U}/EF.FPLMN": 12,  # SJA2: 4 entries
        f"{_U}/EF.EHPLMN": 12,  # SJA2: 4 entries
        f"{_U}/EF.UST": 20,  # SJA2
        f"{_U}/EF.MSISDN": (34, 6),  # SJA2: 34-byte records (20-byte alpha), 6 records
        f"{_U}/EF.SMSP": (52, 2),  # SJA2: 52-byte records (24-byte alpha), 2 records
        f"{_U}/EF.SMS": (176, 30),  # SJA2: 30 records
        f"{_U}/EF.NETPAR": 64,  # SJA2
        f"{_U}/EF.EST": 9,  # SJA2
        f"{_U}/EF.ACL": 256,  # SJA2
        f"{_T}/EF.MSISDN": (34, 6),  # as in ADF.USIM
        f"{_T}/EF.SMSP": (52, 2),  # SJA2
        f"{_G}/EF.LP": 5,  # SJA2
        # DF.GSM's copies of the USIM lists: the same sizes, so one rendered list fits both.
        f"{_G}/EF.PLMNwAcT": 60,
        f"{_G}/EF.OPLMNwAcT": 60,
        f"{_G}/EF.HPLMNwAcT": 60,
        f"{_G}/EF.FPLMN": 12,
        f"{_G}/EF.PLMNsel": 36,  # as many PLMNs as EF.OPLMNwAcT (12)
        "MF/EF.DIR": (43, 8),  # SJA2
        # DF.5GS: the card holds all nine files (and EF.SUPI_NAI, 100 bytes, which simtool leaves alone);
        # these two differ from our tree's sizes, the other seven match.
        f"{_U}/DF.5GS/EF.5GS3GPPNSC": (64, 1),  # SJA2
        f"{_U}/DF.5GS/EF.5GSN3GPPNSC": (64, 1),  # SJA2
        f"{_U}/DF.5GS/EF.SUCI_Calc_Info": 100,  # SJA2
    },
    # The SUCI is calculated by the handset (UST 124 on, 125 off): nothing in the sources we have says the
    # card's OS conceals it itself.
    usim_computes_suci=False,
)

# --- eSIM profile packages (TCA Interoperable Format) ---------------------------------------------------


class PackageSecrets(SecretLayout):
    """A profile package keeps no key or PIN files: K/OPc go into its AKA element and the PINs and PUKs
    into its PIN and PUK elements (simtool.esim), so `render` writes no secret file for it."""

    def secret_files(self, k: bytes, opc: bytes, algorithm: str = "milenage",
                     pins: Mapping[str, str] | None = None, pin1_enabled: bool = False, pin2_enabled: bool = True,
                     *, tuak: Mapping[str, int] | None = None) -> dict[str, Any]:
        return {}

    def vendor_files(self, adm: bytes, pins: Mapping[str, str], pin1_enabled: bool = True,
                     pin2_enabled: bool = True) -> dict[str, Any]:
        return {}

    def read_key(self, files: Files, context: str = "3g") -> dict[str, Any] | None:
        return None

    def read_pins(self, files: Files) -> dict[str, PinValue]:
        return {}

    def write_pins(self, files: Files, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
        return {}


# Sizes of the TCA templates (Interoperable Format v3.3.1 annex A: ADF.USIM 2.4, USIM optional 2.5) where
# the shipped profiles fit in them; a file the profile needs larger (EF.OPLMNwACT: 14 and more partners,
# the template holds 8) keeps the size of our tree, and so do files without a template (DF.TELECOM,
# DF.GSM, DF.PLAN). The package states every file's size in its descriptor either way.
SAIP_PACKAGE = CardModel(
    name="saip-package",
    description="an eSIM profile package (TCA eUICC Profile Package: Interoperable Format)",
    atr_t0=b"",
    atr_t1=b"",
    protocols=(),
    secrets=PackageSecrets(),
    sizes={
        f"{_U}/EF.LI": 6,  # 2.5: TR 6
        f"{_U}/EF.PLMNwAcT": 40,  # 2.5: TR 40
        f"{_U}/EF.HPLMNwAcT": 5,  # 2.5: TR 5
        f"{_U}/EF.EHPLMN": 15,  # 2.5: TR 15
        f"{_U}/EF.MSISDN": (24, 1),  # 2.5: LF 1 x 24
        f"{_U}/EF.ACL": 101,  # 2.5: TR 101
        f"{_U}/EF.SMSP": (38, 1),  # 2.4: LF 1 x 38
        f"{_U}/EF.FPLMN": 12,  # 2.4: TR 12
        f"{_U}/EF.NETPAR": 128,  # 2.4: TR 128
        f"{_U}/EF.UST": 17,  # 2.4.2: TR 17 (2.4 has 14; the descriptor says 17)
    },
)


MODELS: dict[str, CardModel] = {m.name: m for m in (SIMTOOL_EMU, SYSMOISIM_SJA2)}
DEFAULT_MODEL = SIMTOOL_EMU


def model_for_atr(atr: bytes) -> CardModel | None:
    for m in MODELS.values():
        if m.matches_atr(atr):
            return m
    return None
