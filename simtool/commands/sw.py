"""Status words (TS 102 221 §10.2.1, USIM additions TS 31.102 §7.3) and the errors they raise.

Callers catch a meaning (`FileNotFound`, `WrongPin`, ...) rather than compare numbers, and every message
says what the card meant. Messages carry the SW and a command name only, never command data: the data of
a failing VERIFY is a PIN.
"""

from __future__ import annotations

from typing import ClassVar

from simtool.errors import CardError

SW_OK = 0x9000

#: Exact status words and what they mean.
STATUS_WORDS: dict[int, str] = {
    0x9000: "normal ending of the command",
    0x9300: "SIM Toolkit busy, command cannot be executed now (retry the ENVELOPE later)",
    0x6200: "warning: no information given, state of non-volatile memory unchanged",
    0x6281: "warning: part of returned data may be corrupted",
    0x6282: "warning: end of file or record reached before reading Le bytes, or unsuccessful search",
    0x6283: "warning: selected file invalidated (deactivated)",
    0x6285: "warning: selected file in termination state",
    0x62F1: "warning: more data available",
    0x62F2: "warning: more data available and proactive command pending",
    0x62F3: "warning: response data available",
    0x63F1: "warning: more data expected",
    0x63F2: "warning: more data expected and proactive command pending",
    0x6400: "execution error: no information given, state of non-volatile memory unchanged",
    0x6500: "execution error: no information given, state of non-volatile memory changed",
    0x6581: "execution error: memory problem",
    0x6700: "wrong length (Lc or Le inconsistent with the command)",
    0x6800: "function in CLA not supported",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6900: "command not allowed: no information given",
    0x6981: "command incompatible with file structure",
    0x6982: "security status not satisfied (access condition not fulfilled, PIN/ADM not verified)",
    0x6983: "authentication/PIN method blocked (no tries left)",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed (no EF selected)",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A84: "not enough memory space",
    0x6A86: "incorrect parameters P1-P2",
    0x6A87: "Lc inconsistent with P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2 (e.g. offset beyond the end of the EF)",
    0x6D00: "instruction code not supported or invalid",
    0x6E00: "class not supported",
    0x6F00: "technical problem, no precise diagnosis",
    0x9862: "authentication error, incorrect MAC",
    0x9864: "authentication error, security context not supported",
    0x9865: "key freshness failure",
    0x9866: "authentication error, no memory space available",
    0x9867: "authentication error, no memory space available in EF MUK",
}


def is_ok(sw: int) -> bool:
    """Normal ending: 9000, 91xx (proactive command pending) and 92xx (data-transfer info)."""
    return sw == SW_OK or sw >> 8 in (0x91, 0x92)


def describe(sw: int) -> str:
    """What a status word means, in words, for messages and traces."""
    if sw in STATUS_WORDS:
        return STATUS_WORDS[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    n = sw2 or 256
    if sw1 == 0x61:
        return f"{n} response bytes available (T=0: send GET RESPONSE with Le={sw2:02X})"
    if sw1 == 0x6C:
        return f"wrong Le, {n} bytes available (re-send the command with Le={sw2:02X})"
    if sw1 == 0x9F:
        return f"(GSM SIM) {n} response bytes available (send GET RESPONSE with Le={sw2:02X})"
    if sw1 == 0x91:
        return f"normal ending, proactive command of {n} bytes pending (send FETCH with Le={sw2:02X})"
    if sw1 == 0x92:
        return f"normal ending, extra information about an ongoing data transfer session ({sw2:02X})"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        x = sw2 & 0x0F
        return (
            f"verification failed, {x} {'try' if x == 1 else 'tries'} left"
            f"{' (blocked)' if x == 0 else ''} (other commands: success after {x} internal retries)"
        )
    families = {
        0x62: "warning, state of non-volatile memory unchanged",
        0x63: "warning, state of non-volatile memory changed",
        0x64: "execution error, state of non-volatile memory unchanged",
        0x65: "execution error, state of non-volatile memory changed",
        0x67: "wrong length",
        0x68: "function in CLA not supported",
        0x69: "command not allowed",
        0x6A: "wrong parameters",
        0x6F: "technical problem",
        0x98: "security management error (application specific)",
    }
    if sw1 in families:
        return f"{families[sw1]} (diagnosis {sw2:02X})"
    return "unknown status word"


class StatusWordError(CardError):
    """The card ended a command with a status word other than normal ending.

    Subclasses stand for meanings; each has a `default_sw` so a card implementation can
    `raise SecurityNotSatisfied()` and answer `err.sw`.
    """

    default_sw: ClassVar[int] = 0x6F00

    def __init__(self, sw: int | None = None, command_name: str = "") -> None:
        self.sw = self.default_sw if sw is None else sw
        self.command_name = command_name
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.command_name}: " if self.command_name else ""
        return f"{where}card answered {self.sw:04X}: {describe(self.sw)}"

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def __reduce__(self) -> tuple[type, tuple[int, str]]:  # survive pickling across processes
        return (type(self), (self.sw, self.command_name))


class CardWarning(StatusWordError):
    """62xx / 63xx (other than 63Cx): the command ran, with a warning."""

    default_sw = 0x6200


class EndOfData(CardWarning):
    """6282: end of file/record reached before Le bytes, or search found nothing."""

    default_sw = 0x6282


class FileDeactivated(CardWarning):
    """6283: the selected file is deactivated."""

    default_sw = 0x6283


class WrongPin(StatusWordError):
    """63Cx: wrong PIN/PUK/ADM, `tries_left` attempts remain."""

    default_sw = 0x63C0

    @property
    def tries_left(self) -> int:
        return self.sw & 0x0F

    @classmethod
    def with_tries(cls, tries_left: int, command_name: str = "") -> WrongPin:
        if not 0 <= tries_left <= 15:
            raise ValueError(f"tries left must be 0..15, got {tries_left}")
        return cls(0x63C0 | tries_left, command_name)


class ExecutionError(StatusWordError):
    """64xx / 65xx: execution error."""

    default_sw = 0x6400


class MemoryProblem(ExecutionError):
    """6581: memory problem (a write failed)."""

    default_sw = 0x6581


class WrongLength(StatusWordError):
    """67xx: wrong Lc/Le."""

    default_sw = 0x6700


class ClaFunctionNotSupported(StatusWordError):
    """68xx: a function coded in CLA is not supported."""

    default_sw = 0x6800


class LogicalChannelNotSupported(ClaFunctionNotSupported):
    """6881."""

    default_sw = 0x6881


class CommandNotAllowed(StatusWordError):
    """69xx: command not allowed."""

    default_sw = 0x6900


class IncompatibleFileStructure(CommandNotAllowed):
    """6981: e.g. READ RECORD on a transparent EF."""

    default_sw = 0x6981


class SecurityNotSatisfied(CommandNotAllowed):
    """6982: the access condition is not fulfilled (PIN/ADM not verified)."""

    default_sw = 0x6982


class PinBlocked(CommandNotAllowed):
    """6983: the PIN/key is blocked (no tries left)."""

    default_sw = 0x6983


class InvalidatedData(CommandNotAllowed):
    """6984: referenced data invalidated (e.g. the PIN is disabled)."""

    default_sw = 0x6984


class ConditionsNotSatisfied(CommandNotAllowed):
    """6985: conditions of use not satisfied."""

    default_sw = 0x6985


class NoEfSelected(CommandNotAllowed):
    """6986: command not allowed, no EF selected."""

    default_sw = 0x6986


class WrongParameters(StatusWordError):
    """6Axx: wrong parameters."""

    default_sw = 0x6A00


class WrongData(WrongParameters):
    """6A80: incorrect parameters in the data field."""

    default_sw = 0x6A80


class FunctionNotSupported(WrongParameters):
    """6A81."""

    default_sw = 0x6A81


class FileNotFound(WrongParameters):
    """6A82: file or application not found."""

    default_sw = 0x6A82


class RecordNotFound(WrongParameters):
    """6A83."""

    default_sw = 0x6A83


class NotEnoughMemory(WrongParameters):
    """6A84."""

    default_sw = 0x6A84


class IncorrectParameters(WrongParameters):
    """6A86 / 6B00: P1-P2 wrong (6B00: e.g. offset beyond the EF)."""

    default_sw = 0x6A86


class LcInconsistent(WrongParameters):
    """6A87: Lc inconsistent with P1-P2."""

    default_sw = 0x6A87


class ReferencedDataNotFound(WrongParameters):
    """6A88."""

    default_sw = 0x6A88


class InsNotSupported(StatusWordError):
    """6D00."""

    default_sw = 0x6D00


class ClaNotSupported(StatusWordError):
    """6E00."""

    default_sw = 0x6E00


class TechnicalProblem(StatusWordError):
    """6Fxx."""

    default_sw = 0x6F00


class SecurityManagementError(StatusWordError):
    """98xx: application-specific security errors (USIM AUTHENTICATE)."""

    default_sw = 0x9800


class AuthMacFailure(SecurityManagementError):
    """9862: AUTHENTICATE, incorrect MAC (AUTN not from our network or wrong K/OPc)."""

    default_sw = 0x9862


class SecurityContextNotSupported(SecurityManagementError):
    """9864."""

    default_sw = 0x9864


class KeyFreshnessFailure(SecurityManagementError):
    """9865."""

    default_sw = 0x9865


class ToolkitBusy(StatusWordError):
    """9300: SIM Toolkit busy."""

    default_sw = 0x9300


_EXACT: dict[int, type[StatusWordError]] = {
    0x6282: EndOfData,
    0x6283: FileDeactivated,
    0x6581: MemoryProblem,
    0x6881: LogicalChannelNotSupported,
    0x6981: IncompatibleFileStructure,
    0x6982: SecurityNotSatisfied,
    0x6983: PinBlocked,
    0x6984: InvalidatedData,
    0x6985: ConditionsNotSatisfied,
    0x6986: NoEfSelected,
    0x6A80: WrongData,
    0x6A81: FunctionNotSupported,
    0x6A82: FileNotFound,
    0x6A83: RecordNotFound,
    0x6A84: NotEnoughMemory,
    0x6A86: IncorrectParameters,
    0x6A87: LcInconsistent,
    0x6A88: ReferencedDataNotFound,
    0x6B00: IncorrectParameters,
    0x6D00: InsNotSupported,
    0x6E00: ClaNotSupported,
    0x9300: ToolkitBusy,
    0x9862: AuthMacFailure,
    0x9864: SecurityContextNotSupported,
    0x9865: KeyFreshnessFailure,
}

_BY_SW1: dict[int, type[StatusWordError]] = {
    0x62: CardWarning,
    0x63: CardWarning,
    0x64: ExecutionError,
    0x65: ExecutionError,
    0x67: WrongLength,
    0x68: ClaFunctionNotSupported,
    0x69: CommandNotAllowed,
    0x6A: WrongParameters,
    0x6B: IncorrectParameters,
    0x6F: TechnicalProblem,
    0x98: SecurityManagementError,
}


def error_for_sw(sw: int, command_name: str = "") -> StatusWordError:
    """The exception that stands for `sw` (not raised; see raise_for_sw)."""
    cls = _EXACT.get(sw)
    if cls is None:
        if sw & 0xFFF0 == 0x63C0:
            cls = WrongPin
        else:
            cls = _BY_SW1.get(sw >> 8, StatusWordError)
    return cls(sw, command_name)


def raise_for_sw(sw: int, command_name: str = "") -> None:
    """Raise the matching StatusWordError unless `sw` is a normal ending (9000/91xx/92xx)."""
    if not is_ok(sw):
        raise error_for_sw(sw, command_name)
