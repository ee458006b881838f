"""The card's CAT runtime at the APDU level (behaviour.md §3, §5, §9): 91xx, FETCH, TERMINAL RESPONSE,
ENVELOPE status words, T=0 `6Cxx` on FETCH."""

from __future__ import annotations

from simtool.emulator import Card
from tests.applet.applet_helpers import new_card

TP = "80100000 09 0B4101211101000449"


def tx(card: Card, apdu: str) -> str:
    return card.process(bytes.fromhex(apdu.replace(" ", ""))).hex().upper()


def test_no_91xx_before_the_terminal_profile_and_after_it_on_any_command() -> None:
    card = new_card()
    assert tx(card, "00A4000C023F00") == "9000"
    assert tx(card, TP) == "910F"
    assert tx(card, "00A4000C023F00") == "910F"  # a normal ending of another command announces it too
    assert tx(card, "0020000A") == "63C3"  # not a normal ending: no 91xx
    assert tx(card, "80100001 01 00") == "6A86"
    assert tx(card, "8010000000") == "6700"


def test_fetch_under_t0_wants_the_exact_length() -> None:
    card = new_card(protocol="T=0")
    assert tx(card, TP) == "910F"
    assert tx(card, "8012000010") == "6C0F"  # the command stays pending
    assert tx(card, "801200000F").startswith("D00D")
    assert tx(card, "801200000F") == "6985"  # fetched, its response outstanding


def test_fetch_under_t1_le_00_gives_it_all() -> None:
    card = new_card(protocol="T=1")
    tx(card, TP)
    assert tx(card, "8012000000").startswith("D00D")


def test_terminal_responses_must_match_the_command() -> None:
    card = new_card()
    tx(card, TP)
    tx(card, "801200000F")
    assert tx(card, "80140000 0C 8103022500 82028281 830100") == "6A80"  # wrong number and type
    assert tx(card, "80140000 05 8103010500") == "6A80"  # no result
    assert tx(card, "80140000 03 810301") == "6A80"  # truncated
    assert tx(card, "80140000 0C 8103010500 82028281 830100") == "910B"


def test_envelopes() -> None:
    card = new_card()
    assert tx(card, "80C20000 06 D404 82028281") == "6A81"  # call control: not this card's business
    assert tx(card, "80C20000 04 D3020101") == "6A80"  # no item identifier
    assert tx(card, "80C20000 02 D603") == "6A80"
    assert tx(card, "80C2000000") == "6700"
    tx(card, TP)
    assert tx(card, "80C20000 09 D30782020181900101") == "9300"  # SET UP EVENT LIST still pending


def test_reset_forgets_the_session() -> None:
    card = new_card()
    tx(card, TP)
    card.reset()
    assert tx(card, "801200000F") == "6985"
    assert tx(card, "00A4000C023F00") == "9000"
