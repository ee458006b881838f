"""A throw-away PostgreSQL cluster for tests, CI and benchmarks (DESIGN.md §3; issue 8).

    from simtool.testing.postgres import start_cluster
    with start_cluster() as pg:              # initdb + pg_ctl start in a new temp dir, on a free loopback port
        url = pg.create_database()           # postgresql://postgres:PW@127.0.0.1:PORT/simtool_1_ab12cd
        ...                                  # leaving the block stops the server and removes the directory

The binaries come from Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`; the newest version
wins; $SIMTOOL_PG_BINDIR overrides). initdb refuses to run as root, so as root everything runs as the
`postgres` user (`runuser -u postgres --`) in a temp directory owned by it. The server listens on 127.0.0.1
only (and on a Unix socket inside the temp directory), with password authentication (scram-sha-256) for a
random password that exists only in this process.

`durable=False` (the tests' default) turns fsync off: the cluster is thrown away anyway, and a `kill -9` of a
client does not depend on it. Benchmarks use `durable=True`, as a factory's server would run. Nothing here
imports pytest; psycopg is needed only by `create_database`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from simtool.batch.liveness import pid_running

SETUP_HINT = "install Debian's postgresql package (`make setup` as root, or `apt-get install -y postgresql`)"
SERVICE_USER = "postgres"
PREFIX = "simtool-pg-"
OWNER_FILE = "owner.pid"
_db_numbers = itertools.count(1)


class PostgresUnavailable(Exception):
    """A throw-away cluster cannot be started here; the message says what is missing and how to get it."""


def in_ci() -> bool:
    """CI=true: PostgreSQL tests must fail there, never skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_bindir() -> Path | None:
    """The directory with initdb, pg_ctl and postgres: $SIMTOOL_PG_BINDIR, the newest
    /usr/lib/postgresql/<version>/bin, or the one of an `initdb` on PATH."""
    env = os.environ.get("SIMTOOL_PG_BINDIR")
    if env:
        return Path(env) if (Path(env) / "initdb").exists() else None
    found = []
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        for d in base.iterdir():
            if (d / "bin" / "initdb").exists() and (d / "bin" / "pg_ctl").exists():
                m = re.match(r"(\d+)(?:\.(\d+))?$", d.name)
                found.append(((int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0), d / "bin"))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _parent_dir(run_as: str | None) -> Path:
    """Where the cluster's directory goes: the temp dir, unless the server's user could not reach it (a root-only
    $TMPDIR) or its socket path would be too long for a Unix socket; then /tmp."""
    tmp = Path(tempfile.gettempdir())
    if len(str(tmp)) > 60:
        return Path("/tmp")
    if run_as is not None:
        for d in (tmp, *tmp.parents):
            if not os.stat(d).st_mode & 0o001:  # others may not traverse it
                return Path("/tmp")
    return tmp


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """A running throw-away cluster. `url()` names a database on it; `stop()` ends and removes it."""

    bindir: Path
    base: Path
    port: int
    password: str = field(repr=False)
    user: str = SERVICE_USER
    host: str = "127.0.0.1"
    run_as: str | None = None  # the OS user the server runs as (None: this process's user)
    version: str = ""
    _stopped: bool = field(default=False, repr=False)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL with the password in it (pass it on to child processes; print it redacted)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL. The name defaults to a fresh unique one."""
        import psycopg
        from psycopg import sql

        name = name or f"simtool_{os.getpid()}_{next(_db_numbers)}_{secrets.token_hex(3)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def running(self) -> bool:
        return not self._stopped and _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
                                          self.run_as, self.base, check=False).returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate) and remove its directory. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        pg_ctl = str(self.bindir / "pg_ctl")
        try:
            if self.data.exists():
                r = _run([pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"], self.run_as,
                         self.base, check=False)
                if r.returncode != 0 and (self.data / "postmaster.pid").exists():
                    _run([pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"], self.run_as,
                         self.base, check=False)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _run(cmd: list[str], run_as: str | None, cwd: Path, check: bool = True,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = (["runuser", "-u", run_as, "--"] if run_as else []) + cmd
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no stray PGDATA, PGPORT, ...
    env["LC_ALL"] = "C"
    r = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise PostgresUnavailable(f"{Path(cmd[0]).name} failed ({r.returncode}): "
                                  f"{(r.stderr or r.stdout).strip()[-800:]}")
    return r


def _run_as() -> tuple[str | None, int, int]:
    """(user to run the server as or None, uid, gid) for this process."""
    if os.geteuid() != 0:
        return None, os.getuid(), os.getgid()
    try:
        pw = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root, and there is no `{SERVICE_USER}` user to run initdb as "
                                  f"({SETUP_HINT})") from None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root, and `runuser` (util-linux) is missing: cannot run initdb as "
                                  f"the {SERVICE_USER} user")
    return SERVICE_USER, pw.pw_uid, pw.pw_gid


def start_cluster(*, durable: bool = False, max_connections: int = 200, timeout: float = 60.0,
                  settings: dict[str, str] | None = None) -> PostgresCluster:
    """initdb + pg_ctl start a new cluster in a temp dir on a free loopback port. Raises PostgresUnavailable."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {SETUP_HINT}")
    run_as, uid, gid = _run_as()
    reap_stale(bindir, run_as)
    base = Path(tempfile.mkdtemp(prefix=PREFIX, dir=_parent_dir(run_as)))
    cluster: PostgresCluster | None = None
    try:
        (base / OWNER_FILE).write_text(f"{os.getpid()}\n")  # whose cluster: see reap_stale()
        os.chmod(base, 0o700)
        os.chown(base, uid, gid)
        password = secrets.token_urlsafe(18)
        pwfile = base / "pwfile"
        fd = os.open(pwfile, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        os.chown(pwfile, uid, gid)
        _run([str(bindir / "initdb"), "-D", str(base / "data"), "-U", SERVICE_USER, "-A", "scram-sha-256",
              f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
             run_as, base, timeout=timeout)
        pwfile.unlink()
        version = _run([str(bindir / "postgres"), "--version"], run_as, base, check=False).stdout.strip()
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{base}'",
            "max_connections": str(max_connections),
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        if not durable:
            conf.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        conf.update(settings or {})
        last_error = ""
        for _ in range(5):  # the port may be taken between choosing it and the server binding it: try another
            port = _free_port()
            cfg = base / "data" / "postgresql.auto.conf"
            with open(cfg, "a") as fh:  # the later lines win: each attempt appends its port
                fh.write("".join(f"{k} = {v}\n" for k, v in {**conf, "port": str(port)}.items()))
            cluster = PostgresCluster(bindir=bindir, base=base, port=port, password=password, run_as=run_as,
                                      version=version)
            r = _run([str(bindir / "pg_ctl"), "-D", str(base / "data"), "-l", str(cluster.log_file), "-w", "-t",
                      str(int(timeout)), "start"], run_as, base, check=False, timeout=timeout + 30)
            if r.returncode == 0:
                _wait_ready(cluster, timeout)
                return cluster
            last_error = _log_tail(cluster) or (r.stderr or r.stdout).strip()[-800:]
            if "already in use" not in last_error and "could not bind" not in last_error:
                break
        raise PostgresUnavailable(f"pg_ctl start failed: {last_error}")
    except BaseException:
        if cluster is not None:
            cluster.stop()
        else:
            shutil.rmtree(base, ignore_errors=True)
        raise



def reap_stale(bindir: Path, run_as: str | None) -> list[Path]:
    """Stop and remove the clusters of earlier processes that died without stopping them (a killed test run):
    those whose owner pid is gone. Clusters of live processes (another session's tests) are left alone."""
    reaped = []
    for base in _parent_dir(run_as).glob(PREFIX + "*"):
        try:
            pid = int((base / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # being set up right now, or not ours
        if pid == os.getpid() or pid_running(pid):
            continue
        if (base / "data" / "postmaster.pid").exists():
            _run([str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "-w", "-t", "30", "stop"],
                 run_as, base, check=False)
        shutil.rmtree(base, ignore_errors=True)
        reaped.append(base)
    return reaped


def _log_tail(cluster: PostgresCluster) -> str:
    with contextlib.suppress(OSError):
        return cluster.log_file.read_text(errors="replace").strip()[-800:]
    return ""


def _wait_ready(cluster: PostgresCluster, timeout: float) -> None:
    """pg_ctl -w waits for the server; make sure it also answers on the TCP port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((cluster.host, cluster.port), timeout=1):
                return
        except OSError as e:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"the server does not answer on {cluster.host}:{cluster.port}: {e}; "
                                          f"log: {_log_tail(cluster)}") from None
            time.sleep(0.05)
