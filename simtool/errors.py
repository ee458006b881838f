"""Exit codes (DESIGN.md §5) and the exception hierarchy that maps onto them.

Every layer raises a subclass of `SimtoolError`; the CLI turns `exit_code` into the process status.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the card refused, read-back or authentication did not match
EXIT_USAGE = 2  # bad input or usage
EXIT_NO_CARD = 3  # no reader, no card, pcscd down, card went away
EXIT_GUARD = 4  # refused by a safety guard


class SimtoolError(Exception):
    exit_code = EXIT_FAILED


class InputError(SimtoolError):
    """Bad input: a profile, identity, CSV row, key or flag. Carries one message per problem."""

    exit_code = EXIT_USAGE

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


class CardError(SimtoolError):
    """The card answered with an unexpected status word or data."""

    exit_code = EXIT_FAILED


class NoCardError(SimtoolError):
    exit_code = EXIT_NO_CARD


class GuardError(SimtoolError):
    exit_code = EXIT_GUARD


class ServiceUnreachable(SimtoolError):
    """A network service (an HLR's VTY or GSUP port) cannot be reached or stopped answering: exit 3, like a
    missing reader, since nothing was decided about the cards."""

    exit_code = EXIT_NO_CARD
