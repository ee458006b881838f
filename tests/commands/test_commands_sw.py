"""Status words: meanings in words and the typed exceptions they raise."""

from __future__ import annotations

import pickle

import pytest

from simtool.commands.sw import (
    STATUS_WORDS,
    AuthMacFailure,
    CardWarning,
    ClaNotSupported,
    CommandNotAllowed,
    ConditionsNotSatisfied,
    EndOfData,
    ExecutionError,
    FileDeactivated,
    FileNotFound,
    IncompatibleFileStructure,
    IncorrectParameters,
    InsNotSupported,
    InvalidatedData,
    KeyFreshnessFailure,
    LcInconsistent,
    LogicalChannelNotSupported,
    MemoryProblem,
    NoEfSelected,
    NotEnoughMemory,
    PinBlocked,
    RecordNotFound,
    ReferencedDataNotFound,
    SecurityContextNotSupported,
    SecurityManagementError,
    SecurityNotSatisfied,
    StatusWordError,
    TechnicalProblem,
    ToolkitBusy,
    WrongData,
    WrongLength,
    WrongParameters,
    WrongPin,
    describe,
    error_for_sw,
    is_ok,
    raise_for_sw,
)
from simtool.errors import EXIT_FAILED, CardError

# Every SW of specfacts §4.4 that has a fixed value.
SPEC_SWS = [
    0x9000, 0x9300, 0x6200, 0x6281, 0x6282, 0x6283, 0x6400, 0x6500, 0x6581, 0x6700, 0x6881, 0x6981,
    0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6A80, 0x6A81, 0x6A82, 0x6A83, 0x6A84, 0x6A86, 0x6A87,
    0x6A88, 0x6B00, 0x6D00, 0x6E00, 0x6F00, 0x9862, 0x9864, 0x9865,
]  # fmt: skip


@pytest.mark.parametrize("sw", SPEC_SWS)
def test_every_spec_sw_is_in_the_table(sw: int) -> None:
    assert sw in STATUS_WORDS
    assert describe(sw) == STATUS_WORDS[sw]


@pytest.mark.parametrize(
    ("sw", "words"),
    [
        (0x6982, "security status not satisfied"),
        (0x6A82, "file or application not found"),
        (0x6119, "25 response bytes available"),
        (0x6100, "256 response bytes available"),
        (0x6C0A, "wrong Le, 10 bytes available"),
        (0x63C2, "2 tries left"),
        (0x63C1, "1 try left"),
        (0x63C0, "blocked"),
        (0x9112, "proactive command of 18 bytes pending"),
        (0x9200, "data transfer session"),
        (0x9F0C, "12 response bytes available"),
        (0x6790, "wrong length"),
        (0x6999, "command not allowed"),
        (0x98FF, "security management"),
        (0x1234, "unknown status word"),
    ],
)
def test_describe(sw: int, words: str) -> None:
    assert words in describe(sw)


@pytest.mark.parametrize(
    ("sw", "cls"),
    [
        (0x6282, EndOfData),
        (0x6283, FileDeactivated),
        (0x6200, CardWarning),
        (0x6310, CardWarning),
        (0x63C2, WrongPin),
        (0x6400, ExecutionError),
        (0x6500, ExecutionError),
        (0x6581, MemoryProblem),
        (0x6700, WrongLength),
        (0x6790, WrongLength),
        (0x6881, LogicalChannelNotSupported),
        (0x6981, IncompatibleFileStructure),
        (0x6982, SecurityNotSatisfied),
        (0x6983, PinBlocked),
        (0x6984, InvalidatedData),
        (0x6985, ConditionsNotSatisfied),
        (0x6986, NoEfSelected),
        (0x6999, CommandNotAllowed),
        (0x6A80, WrongData),
        (0x6A82, FileNotFound),
        (0x6A83, RecordNotFound),
        (0x6A84, NotEnoughMemory),
        (0x6A86, IncorrectParameters),
        (0x6B00, IncorrectParameters),
        (0x6A87, LcInconsistent),
        (0x6A88, ReferencedDataNotFound),
        (0x6A00, WrongParameters),
        (0x6D00, InsNotSupported),
        (0x6E00, ClaNotSupported),
        (0x6F00, TechnicalProblem),
        (0x6FC1, TechnicalProblem),
        (0x9300, ToolkitBusy),
        (0x9862, AuthMacFailure),
        (0x9864, SecurityContextNotSupported),
        (0x9865, KeyFreshnessFailure),
        (0x9866, SecurityManagementError),
        (0x6119, StatusWordError),
        (0x1234, StatusWordError),
    ],
)
def test_raise_for_sw_types(sw: int, cls: type[StatusWordError]) -> None:
    with pytest.raises(cls) as e:
        raise_for_sw(sw, "SELECT")
    assert type(e.value) is cls
    assert e.value.sw == sw and e.value.command_name == "SELECT"
    assert isinstance(e.value, CardError) and e.value.exit_code == EXIT_FAILED
    assert type(error_for_sw(sw)) is cls


@pytest.mark.parametrize("sw", [0x9000, 0x9100, 0x911F, 0x9200])
def test_normal_endings_do_not_raise(sw: int) -> None:
    assert is_ok(sw)
    raise_for_sw(sw, "FETCH")


def test_message_says_what_it_means_and_names_the_command() -> None:
    err = error_for_sw(0x6982, "UPDATE BINARY")
    assert str(err) == (
        "UPDATE BINARY: card answered 6982: security status not satisfied "
        "(access condition not fulfilled, PIN/ADM not verified)"
    )
    assert str(error_for_sw(0x6A82)).startswith("card answered 6A82: file or application not found")


def test_wrong_pin_tries_left() -> None:
    err = error_for_sw(0x63C2, "VERIFY PIN")
    assert isinstance(err, WrongPin) and err.tries_left == 2
    assert "2 tries left" in str(err)
    assert WrongPin.with_tries(1).sw == 0x63C1
    with pytest.raises(ValueError):
        WrongPin.with_tries(16)


def test_default_sw_lets_a_card_raise_by_meaning() -> None:
    assert SecurityNotSatisfied().sw == 0x6982
    assert PinBlocked().sw == 0x6983
    assert FileNotFound().sw == 0x6A82
    assert WrongLength().sw == 0x6700
    assert IncorrectParameters(0x6B00).sw == 0x6B00
    assert StatusWordError().sw == 0x6F00


def test_hierarchy() -> None:
    assert issubclass(SecurityNotSatisfied, CommandNotAllowed)
    assert issubclass(PinBlocked, CommandNotAllowed)
    assert issubclass(FileNotFound, WrongParameters)
    assert issubclass(AuthMacFailure, SecurityManagementError)
    assert issubclass(StatusWordError, CardError)


def test_pickle_keeps_type_sw_and_command() -> None:
    err = pickle.loads(pickle.dumps(error_for_sw(0x63C1, "VERIFY PIN")))
    assert type(err) is WrongPin and err.sw == 0x63C1 and err.command_name == "VERIFY PIN"
    assert err.tries_left == 1 and str(err) == str(error_for_sw(0x63C1, "VERIFY PIN"))


def test_sw1_sw2() -> None:
    err = error_for_sw(0x6A82)
    assert (err.sw1, err.sw2) == (0x6A, 0x82)
