"""A throwaway PostgreSQL cluster for tests, benchmarks and CI: real server, temp dir.

`initdb` refuses to run as root, which CI is; so as root the cluster is created and run
as the `postgres` system user (`runuser -u postgres --`), in a temporary directory
chowned to it. The server listens on 127.0.0.1 on a free port (no Unix socket), trusts
local connections, and keeps PostgreSQL's default durability settings (fsync on).

    with PgCluster.start() as cluster:
        url = cluster.create_database("t")   # postgresql://postgres@127.0.0.1:PORT/t

Run as a script it starts a cluster, prints its URL and waits for Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

USER: Final = "postgres"
PREFIX: Final = "parcelfsm-pg-"


def server_bin() -> Path | None:
    """The directory holding `initdb`/`pg_ctl` (newest version), or None if there is none.

    `$PARCELFSM_PG_BIN` overrides; else `initdb` on `PATH`; else `/usr/lib/postgresql/*/bin`.
    """
    override = os.environ.get("PARCELFSM_PG_BIN")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _reap_orphans(bindir: Path) -> None:
    """Stop and delete clusters whose owner process is gone (a test run killed with
    SIGKILL/SIGTERM never runs its clean-up); clusters of live runs are left alone."""
    for owner in Path(tempfile.gettempdir()).glob(f"{PREFIX}*/owner"):
        try:
            if _alive(int(owner.read_text())):
                continue
        except (ValueError, OSError):
            continue
        orphan = PgCluster(bindir, owner.parent, 0)
        orphan.stop()


class PgCluster:
    """A running throwaway cluster; `stop()` (or leaving the `with`) removes it."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.port = port
        self.data = root / "data"

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", USER, "--", *args] if self.as_root else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.root)

    def _check(self, *args: str) -> None:
        result = self._run(*args)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}{log[-2000:]}")

    @classmethod
    def start(cls, bindir: Path | None = None) -> PgCluster:
        """initdb + start on a free port; raises RuntimeError when that is impossible."""
        found = bindir or server_bin()
        if found is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
        _reap_orphans(found)
        root = Path(tempfile.mkdtemp(prefix=PREFIX))
        root.chmod(0o755)
        (root / "owner").write_text(str(os.getpid()))
        if os.geteuid() == 0:
            shutil.chown(root, USER, USER)
        cluster = cls(found, root, 0)
        try:
            cluster._check(
                str(found / "initdb"),
                "-D",
                str(cluster.data),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            )
            for _attempt in range(5):
                cluster.port = _free_port()
                options = (
                    f"-p {cluster.port} -c listen_addresses=127.0.0.1 "
                    "-c unix_socket_directories='' -c max_connections=100"
                )
                result = cluster._run(
                    str(found / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(cluster.data),
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    options,
                )
                if result.returncode == 0:
                    return cluster
                time.sleep(0.2)  # the port was taken in between: try another
            raise RuntimeError(f"pg_ctl start failed: {result.stderr}")
        except BaseException:
            cluster.remove()
            raise

    def url(self, database: str = "postgres") -> str:
        """The connection URL of one database of this cluster."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database (name: letters, digits, `_`) and return its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        self._check(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database (forcing other sessions off)."""
        self._check(
            str(self.bindir / "dropdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "--force", name
        )

    def stop(self) -> None:
        """Stop the server (immediately: it is throwaway) and delete its directory."""
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(self.data))
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running() -> Iterator[PgCluster]:
    """A cluster for the duration of a `with` block."""
    cluster = PgCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Start a cluster, print its URL (database `parcelfsm`), wait for Ctrl-C/SIGTERM."""
    signal.signal(signal.SIGTERM, _interrupt)
    with running() as cluster:
        print(cluster.create_database("parcelfsm"), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
