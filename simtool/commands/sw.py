"""Status words (TS 102 221 §10.2.1, USIM additions TS 31.102 §7.3) and the errors they raise.

Callers catch a meaning (`FileNotFound`, `WrongPin`, ...) rather than compare numbers, and every message
says what the card meant. Messages carry the SW and a command name only, never command data: the data of
a failing VERIFY is a PIN.
"""

from __future__ import annotations

from typing import ClassVar

from simtool.encoding.sw import SW, SW1
from simtool.errors import CardError

SW_OK = SW.OK

#: Exact status words and what they mean.
STATUS_WORDS: dict[int, str] = {  # keyed by `SW` members, which are ints
    SW.OK: "normal ending of the command",
    SW.TOOLKIT_BUSY: "SIM Toolkit busy, command cannot be executed now (retry the ENVELOPE later)",
    SW.WARNING: "warning: no information given, state of non-volatile memory unchanged",
    SW.DATA_CORRUPTED: "warning: part of returned data may be corrupted",
    SW.END_REACHED: "warning: end of file or record reached before reading Le bytes, or unsuccessful search",
    SW.FILE_INVALIDATED: "warning: selected file invalidated (deactivated)",
    SW.FILE_TERMINATED: "warning: selected file in termination state",
    SW.MORE_DATA: "warning: more data available",
    SW.MORE_DATA_PROACTIVE: "warning: more data available and proactive command pending",
    SW.RESPONSE_DATA: "warning: response data available",
    SW.MORE_DATA_EXPECTED: "warning: more data expected",
    SW.MORE_DATA_EXPECTED_PROACTIVE: "warning: more data expected and proactive command pending",
    SW.EXECUTION_ERROR: "execution error: no information given, state of non-volatile memory unchanged",
    SW.EXECUTION_ERROR_CHANGED: "execution error: no information given, state of non-volatile memory changed",
    SW.MEMORY: "execution error: memory problem",
    SW.WRONG_LENGTH: "wrong length (Lc or Le inconsistent with the command)",
    SW.CLA_FUNCTION: "function in CLA not supported",
    SW.NO_CHANNEL: "logical channel not supported",
    SW.SM_NOT_SUPPORTED: "secure messaging not supported",
    SW.NOT_ALLOWED: "command not allowed: no information given",
    SW.WRONG_STRUCTURE: "command incompatible with file structure",
    SW.SECURITY: "security status not satisfied (access condition not fulfilled, PIN/ADM not verified)",
    SW.BLOCKED: "authentication/PIN method blocked (no tries left)",
    SW.INVALIDATED: "referenced data invalidated",
    SW.CONDITIONS: "conditions of use not satisfied",
    SW.NO_EF: "command not allowed (no EF selected)",
    SW.WRONG_DATA: "incorrect parameters in the data field",
    SW.FUNC_NOT_SUPPORTED: "function not supported",
    SW.NOT_FOUND: "file or application not found",
    SW.RECORD_NOT_FOUND: "record not found",
    SW.NOT_ENOUGH_MEMORY: "not enough memory space",
    SW.BAD_P1P2: "incorrect parameters P1-P2",
    SW.LC_INCONSISTENT: "Lc inconsistent with P1-P2",
    SW.REF_NOT_FOUND: "referenced data not found",
    SW.WRONG_OFFSET: "wrong parameters P1-P2 (e.g. offset beyond the end of the EF)",
    SW.INS_NOT_SUPPORTED: "instruction code not supported or invalid",
    SW.CLA_NOT_SUPPORTED: "class not supported",
    SW.TECHNICAL: "technical problem, no precise diagnosis",
    SW.AUTH_MAC: "authentication error, incorrect MAC",
    SW.CONTEXT_NOT_SUPPORTED: "authentication error, security context not supported",
    SW.KEY_FRESHNESS: "key freshness failure",
    SW.AUTH_NO_MEMORY: "authentication error, no memory space available",
    SW.AUTH_NO_MEMORY_MUK: "authentication error, no memory space available in EF MUK",
}


def is_ok(sw: int) -> bool:
    """Normal ending: 9000, 91xx (proactive command pending) and 92xx (data-transfer info)."""
    return sw == SW_OK or sw >> 8 in (SW1.PROACTIVE, SW1.DATA_TRANSFER)


def describe(sw: int) -> str:
    """What a status word means, in words, for messages and traces."""
    if sw in STATUS_WORDS:
        return STATUS_WORDS[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    n = sw2 or 256
    if sw1 == SW1.RESPONSE_AVAILABLE:
        return f"{n} response bytes available (T=0: send GET RESPONSE with Le={sw2:02X})"
    if sw1 == SW1.WRONG_LE:
        return f"wrong Le, {n} bytes available (re-send the command with Le={sw2:02X})"
    if sw1 == SW1.GSM_RESPONSE_AVAILABLE:
        return f"(GSM SIM) {n} response bytes available (send GET RESPONSE with Le={sw2:02X})"
    if sw1 == SW1.PROACTIVE:
        return f"normal ending, proactive command of {n} bytes pending (send FETCH with Le={sw2:02X})"
    if sw1 == SW1.DATA_TRANSFER:
        return f"normal ending, extra information about an ongoing data transfer session ({sw2:02X})"
    if sw1 == SW1.VERIFY_FAILED and sw2 & 0xF0 == 0xC0:
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

    default_sw: ClassVar[int] = SW.TECHNICAL

    def __init__(self, sw: int | None = None, command_name: str = "") -> None:
        self.sw = int(self.default_sw if sw is None else sw)  # a plain int: stored, printed, pickled
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

    default_sw = SW.WARNING


class EndOfData(CardWarning):
    """6282: end of file/record reached before Le bytes, or search found nothing."""

    default_sw = SW.END_REACHED


class FileDeactivated(CardWarning):
    """6283: the selected file is deactivated."""

    default_sw = SW.FILE_INVALIDATED


class WrongPin(StatusWordError):
    """63Cx: wrong PIN/PUK/ADM, `tries_left` attempts remain."""

    default_sw = SW.VERIFY_FAILED

    @property
    def tries_left(self) -> int:
        return self.sw & 0x0F

    @classmethod
    def with_tries(cls, tries_left: int, command_name: str = "") -> WrongPin:
        if not 0 <= tries_left <= 15:
            raise ValueError(f"tries left must be 0..15, got {tries_left}")
        return cls(SW.VERIFY_FAILED | tries_left, command_name)


class ExecutionError(StatusWordError):
    """64xx / 65xx: execution error."""

    default_sw = SW.EXECUTION_ERROR


class MemoryProblem(ExecutionError):
    """6581: memory problem (a write failed)."""

    default_sw = SW.MEMORY


class WrongLength(StatusWordError):
    """67xx: wrong Lc/Le."""

    default_sw = SW.WRONG_LENGTH


class ClaFunctionNotSupported(StatusWordError):
    """68xx: a function coded in CLA is not supported."""

    default_sw = SW.CLA_FUNCTION


class LogicalChannelNotSupported(ClaFunctionNotSupported):
    """6881."""

    default_sw = SW.NO_CHANNEL


class CommandNotAllowed(StatusWordError):
    """69xx: command not allowed."""

    default_sw = SW.NOT_ALLOWED


class IncompatibleFileStructure(CommandNotAllowed):
    """6981: e.g. READ RECORD on a transparent EF."""

    default_sw = SW.WRONG_STRUCTURE


class SecurityNotSatisfied(CommandNotAllowed):
    """6982: the access condition is not fulfilled (PIN/ADM not verified)."""

    default_sw = SW.SECURITY


class PinBlocked(CommandNotAllowed):
    """6983: the PIN/key is blocked (no tries left)."""

    default_sw = SW.BLOCKED


class InvalidatedData(CommandNotAllowed):
    """6984: referenced data invalidated (e.g. the PIN is disabled)."""

    default_sw = SW.INVALIDATED


class ConditionsNotSatisfied(CommandNotAllowed):
    """6985: conditions of use not satisfied."""

    default_sw = SW.CONDITIONS


class NoEfSelected(CommandNotAllowed):
    """6986: command not allowed, no EF selected."""

    default_sw = SW.NO_EF


class WrongParameters(StatusWordError):
    """6Axx: wrong parameters."""

    default_sw = SW.WRONG_PARAMETERS


class WrongData(WrongParameters):
    """6A80: incorrect parameters in the data field."""

    default_sw = SW.WRONG_DATA


class FunctionNotSupported(WrongParameters):
    """6A81."""

    default_sw = SW.FUNC_NOT_SUPPORTED


class FileNotFound(WrongParameters):
    """6A82: file or application not found."""

    default_sw = SW.NOT_FOUND


class RecordNotFound(WrongParameters):
    """6A83."""

    default_sw = SW.RECORD_NOT_FOUND


class NotEnoughMemory(WrongParameters):
    """6A84."""

    default_sw = SW.NOT_ENOUGH_MEMORY


class IncorrectParameters(WrongParameters):
    """6A86 / 6B00: P1-P2 wrong (6B00: e.g. offset beyond the EF)."""

    default_sw = SW.BAD_P1P2


class LcInconsistent(WrongParameters):
    """6A87: Lc inconsistent with P1-P2."""

    default_sw = SW.LC_INCONSISTENT


class ReferencedDataNotFound(WrongParameters):
    """6A88."""

    default_sw = SW.REF_NOT_FOUND


class InsNotSupported(StatusWordError):
    """6D00."""

    default_sw = SW.INS_NOT_SUPPORTED


class ClaNotSupported(StatusWordError):
    """6E00."""

    default_sw = SW.CLA_NOT_SUPPORTED


class TechnicalProblem(StatusWordError):
    """6Fxx."""

    default_sw = SW.TECHNICAL


class SecurityManagementError(StatusWordError):
    """98xx: application-specific security errors (USIM AUTHENTICATE)."""

    default_sw = SW.SECURITY_MANAGEMENT


class AuthMacFailure(SecurityManagementError):
    """9862: AUTHENTICATE, incorrect MAC (AUTN not from our network or wrong K/OPc)."""

    default_sw = SW.AUTH_MAC


class SecurityContextNotSupported(SecurityManagementError):
    """9864."""

    default_sw = SW.CONTEXT_NOT_SUPPORTED


class KeyFreshnessFailure(SecurityManagementError):
    """9865."""

    default_sw = SW.KEY_FRESHNESS


class ToolkitBusy(StatusWordError):
    """9300: SIM Toolkit busy."""

    default_sw = SW.TOOLKIT_BUSY


_EXACT: dict[int, type[StatusWordError]] = {
    SW.END_REACHED: EndOfData,
    SW.FILE_INVALIDATED: FileDeactivated,
    SW.MEMORY: MemoryProblem,
    SW.NO_CHANNEL: LogicalChannelNotSupported,
    SW.WRONG_STRUCTURE: IncompatibleFileStructure,
    SW.SECURITY: SecurityNotSatisfied,
    SW.BLOCKED: PinBlocked,
    SW.INVALIDATED: InvalidatedData,
    SW.CONDITIONS: ConditionsNotSatisfied,
    SW.NO_EF: NoEfSelected,
    SW.WRONG_DATA: WrongData,
    SW.FUNC_NOT_SUPPORTED: FunctionNotSupported,
    SW.NOT_FOUND: FileNotFound,
    SW.RECORD_NOT_FOUND: RecordNotFound,
    SW.NOT_ENOUGH_MEMORY: NotEnoughMemory,
    SW.BAD_P1P2: IncorrectParameters,
    SW.LC_INCONSISTENT: LcInconsistent,
    SW.REF_NOT_FOUND: ReferencedDataNotFound,
    SW.WRONG_OFFSET: IncorrectParameters,
    SW.INS_NOT_SUPPORTED: InsNotSupported,
    SW.CLA_NOT_SUPPORTED: ClaNotSupported,
    SW.TOOLKIT_BUSY: ToolkitBusy,
    SW.AUTH_MAC: AuthMacFailure,
    SW.CONTEXT_NOT_SUPPORTED: SecurityContextNotSupported,
    SW.KEY_FRESHNESS: KeyFreshnessFailure,
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
        if sw & 0xFFF0 == SW.VERIFY_FAILED:
            cls = WrongPin
        else:
            cls = _BY_SW1.get(sw >> 8, StatusWordError)
    return cls(sw, command_name)


def raise_for_sw(sw: int, command_name: str = "") -> None:
    """Raise the matching StatusWordError unless `sw` is a normal ending (9000/91xx/92xx)."""
    if not is_ok(sw):
        raise error_for_sw(sw, command_name)
