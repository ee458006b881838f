"""The fixtures of simtool's pytest plugin (registered as `simtool.testing`).

* `emulated_card`: a `Reader` on a fresh blank card in memory (`open_reader("emu:")`). Indirect
  parametrization takes a dict: `{"protocol": "T=1", "adm_hex": "...", "iccid": "..."}`.
* `personalized_card`: a card flashed with a profile and `Identity.sample()`; yields a
  `PersonalizedCard` (reader, profile, identity, flash result, the emulator card). Parametrize with a
  profile path (indirect); default `profiles/kpn-wechat-1gb-15d.yaml` of the simtool checkout, or
  `--simtool-profile PATH`.
* `pcsc_card`: an emulated card behind pcscd and vpcd, served in-process on a thread in a free vpcd
  slot; yields its reader name (a `PcscCard` str: `.uri`, `.open()`, `.card`, `.eject()` ...).
  Parametrize with a dict like `emulated_card`'s, plus `"file": True` to keep the card in a state file
  (`.path`) instead of memory. Starts pcscd (`pcscd -f`, root) when it is not
  running. When pcscd/vpcd cannot be had the test is skipped with the reason, or fails when CI=true.
* `simtool_pcscd` (session): the `Pcscd` in use, for tests that restart it.
* `simtool_postgres` (session): a throw-away PostgreSQL cluster (`simtool.testing.postgres`), started from
  Debian's package in a temp dir on a loopback port, stopped and removed at the end. `postgres_url`: the URL
  of a new empty database on it, per test. Skipped with the reason when it cannot start, failed when CI=true.
* `osmo_hlr`: a fresh osmo-hlr (`simtool.testing.osmohlr.OsmoHlr`: `.vty`, `.gsup`, `.ctrl`, `.vty_address`,
  `.database`, `.log()`) on a throw-away SQLite database and its own loopback address, per test.
  `osmo_hlr_factory`: a callable starting more of them (`osmo_hlr_factory(hlr_lines=[...])`), all stopped at
  the end of the test. Skipped with the reason without /usr/bin/osmo-hlr, failed when CI=true.

Markers: a test using `pcsc_card`/`simtool_pcscd` is marked `pcsc`, one using `simtool_postgres`/`postgres_url`
`postgres`, one using `osmo_hlr`/`osmo_hlr_factory` `osmo_hlr` (`-m "not pcsc"` deselects them); tests marked
`pcscd_restart` run after all others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from simtool.testing.postgres import PostgresCluster


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simtool")
    group.addoption("--simtool-profile", default=None, metavar="PATH",
                    help="profile for the personalized_card fixture when not parametrized")


# A test that uses one of these fixtures (directly or through another fixture) gets the marker, so
# `-m "not pcsc"` / `-m "not postgres"` select by what a test really needs.
FIXTURE_MARKERS = {"simtool_pcscd": "pcsc", "pcsc_card": "pcsc", "simtool_postgres": "postgres",
                   "postgres_url": "postgres", "osmo_hlr": "osmo_hlr", "osmo_hlr_factory": "osmo_hlr"}
RUN_LAST = "pcscd_restart"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pcsc: needs pcscd and the vsmartcard vpcd driver (applied to every test "
                            "using simtool_pcscd or pcsc_card)")
    config.addinivalue_line("markers", "postgres: needs a throw-away PostgreSQL cluster (applied to every test "
                            "using simtool_postgres or postgres_url)")
    config.addinivalue_line("markers", "osmo_hlr: needs /usr/bin/osmo-hlr (applied to every test using osmo_hlr "
                            "or osmo_hlr_factory)")
    config.addinivalue_line("markers", f"{RUN_LAST}: restarts pcscd; run after every other test of the session, "
                            "so a restart never meets the session's other PC/SC tests")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the fixtures they use, and move the tests that restart pcscd to the end (stable order)."""
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            marker = FIXTURE_MARKERS.get(name)
            if marker is not None and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    items[:] = ([i for i in items if i.get_closest_marker(RUN_LAST) is None]
                + [i for i in items if i.get_closest_marker(RUN_LAST) is not None])


def _params(request: pytest.FixtureRequest) -> dict[str, Any]:
    p = getattr(request, "param", None)
    if p is None:
        return {}
    if isinstance(p, str):
        return {"protocol": p}
    if not isinstance(p, dict):
        raise pytest.UsageError(f"{request.fixturename}: parametrize with a dict, got {p!r}")
    return dict(p)


def _adm(params: dict[str, Any]) -> bytes:
    return bytes.fromhex(params.get("adm_hex", "3131313131313131"))


@pytest.fixture
def emulated_card(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A simtool `Reader` on a fresh blank in-memory card (ADM1 3131313131313131, T=0 unless asked)."""
    from urllib.parse import urlencode

    from simtool.transport import open_reader

    params = _params(request)
    query = {k: v for k, v in params.items() if k in ("protocol", "adm_hex", "iccid")}
    reader = open_reader("emu:" + (f"?{urlencode(query)}" if query else ""))
    try:
        yield reader
    finally:
        reader.close()


@dataclass
class PersonalizedCard:
    reader: Any  # simtool.transport.Reader, reset after flashing, counters zeroed
    profile: Any
    identity: Any
    result: Any  # simtool.personalize.flash.FlashResult
    card: Any  # the emulator's Card, for looking behind the wire

    @property
    def transport(self) -> Any:
        return self.reader.transport


def _default_profile(config: pytest.Config) -> Path:
    opt = config.getoption("--simtool-profile", default=None)
    if opt:
        return Path(opt)
    for base in (Path(config.rootpath), Path(__file__).resolve().parents[2]):
        candidate = base / "profiles" / "kpn-wechat-1gb-15d.yaml"
        if candidate.exists():
            return candidate
    raise pytest.UsageError("personalized_card: no profile; parametrize it (indirect=True) with a profile path "
                            "or pass --simtool-profile PATH")


@pytest.fixture
def personalized_card(request: pytest.FixtureRequest) -> Iterator[PersonalizedCard]:
    """A card flashed with a profile (the parameter, a path) and `Identity.sample()`."""
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.transport import open_reader
    from simtool.transport.base import Counter
    from simtool.transport.emulated import EmulatedTransport

    param = getattr(request, "param", None)
    options: dict[str, Any] = dict(param) if isinstance(param, dict) else {}
    profile_path = options.get("profile") or (param if isinstance(param, str | Path) else None)
    path = Path(profile_path) if profile_path else _default_profile(request.config)
    if not path.is_absolute() and not path.exists():
        path = Path(request.config.rootpath) / path
    profile = load_profile(path)
    identity = Identity.sample()
    protocol = options.get("protocol", "T=0")
    reader = open_reader(f"emu:?protocol={protocol}&adm_hex={identity.adm1.hex()}")
    try:
        result = flash(reader, profile, identity)
        reader.reset()  # as shipped: nothing verified
        reader.total, reader.phases, reader.phase = Counter(), {}, "other"
        assert isinstance(reader.transport, EmulatedTransport)  # an emu: URI gives one
        yield PersonalizedCard(reader, profile, identity, result, reader.transport.card)
    finally:
        reader.close()


def _unavailable(reason: str) -> None:
    from simtool.testing.pcscd import in_ci

    if in_ci():
        pytest.fail(f"PC/SC end-to-end tests cannot run and CI=true: {reason}", pytrace=False)
    pytest.skip(f"pcscd/vpcd not usable: {reason}")


@pytest.fixture(scope="session")
def simtool_pcscd() -> Iterator[Any]:
    """The pcscd with vpcd readers the session uses (started here, as root, if it was not running)."""
    from simtool.testing.pcscd import PcscUnavailable, ensure_pcscd

    try:
        daemon = ensure_pcscd()
    except PcscUnavailable as e:
        _unavailable(str(e))
    yield daemon


@pytest.fixture
def pcsc_card(request: pytest.FixtureRequest, simtool_pcscd: Any, tmp_path: Path) -> Iterator[Any]:
    """The reader name of a fresh blank emulated card behind pcscd (a `PcscCard` str)."""
    from simtool.testing.pcscd import PcscUnavailable, emulated_reader

    params = _params(request)
    path = tmp_path / "pcsc-card.json" if params.get("file") else None
    try:
        cm = emulated_reader(adm=_adm(params), protocol=params.get("protocol", "T=0"), iccid=params.get("iccid"),
                             path=path)
        name = cm.__enter__()
    except PcscUnavailable as e:
        _unavailable(str(e))
    try:
        yield name
    finally:
        cm.__exit__(None, None, None)


def _pg_unavailable(reason: str) -> None:
    from simtool.testing.postgres import in_ci

    if in_ci():
        pytest.fail(f"PostgreSQL tests cannot run and CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not usable: {reason}")


@pytest.fixture(scope="session")
def simtool_postgres() -> Iterator[Any]:
    """A throw-away PostgreSQL cluster for the session (a `PostgresCluster`: `.url(db)`, `.create_database()`)."""
    from simtool.testing.postgres import PostgresUnavailable, start_cluster

    try:
        import psycopg  # noqa: F401
    except ImportError:
        _pg_unavailable("psycopg 3 is not installed (pip install 'simtool[postgres]', or `make setup`)")
    try:
        cluster = start_cluster()
    except PostgresUnavailable as e:
        _pg_unavailable(str(e))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(simtool_postgres: PostgresCluster) -> str:
    """The URL (password included) of a new empty database on the session's cluster."""
    return simtool_postgres.create_database()


def _hlr_unavailable(reason: str) -> None:
    from simtool.testing.osmohlr import in_ci

    if in_ci():
        pytest.fail(f"osmo-hlr tests cannot run and CI=true: {reason}", pytrace=False)
    pytest.skip(f"osmo-hlr not usable: {reason}")


@pytest.fixture
def osmo_hlr_factory() -> Iterator[Any]:
    """A callable starting a fresh osmo-hlr per call (keywords of `start_hlr`); all are stopped afterwards."""
    from simtool.testing.osmohlr import OsmoHlrUnavailable, start_hlr

    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        try:
            hlr = start_hlr(**kwargs)
        except OsmoHlrUnavailable as e:
            _hlr_unavailable(str(e))
        started.append(hlr)
        return hlr

    try:
        yield start
    finally:
        for hlr in reversed(started):
            hlr.stop()


@pytest.fixture
def osmo_hlr(osmo_hlr_factory: Any) -> Any:
    """A fresh osmo-hlr on a throw-away database and its own loopback address (an `OsmoHlr`)."""
    return osmo_hlr_factory()
