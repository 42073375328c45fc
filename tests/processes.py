"""Real helper processes for integration tests: the ASGI server and a Celery worker, both on
the test database and this run's Redis namespace."""

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from loyalty_platform.embedded import BASE_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Every helper's sessions are named HELPER_APPLICATION_NAME-<n>: stopping one waits for its own
# sessions only (the session's web server keeps its own open all along).
HELPER_APPLICATION_NAME = f"test-helper-{os.getpid()}"
_helper_numbers = itertools.count(1)


def helper_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_APPLICATION_NAME": f"{HELPER_APPLICATION_NAME}-{next(_helper_numbers)}",
        "DJANGO_SETTINGS_MODULE": "loyalty_platform.settings.test",
        "DATABASE_NAME": settings.DATABASES["default"]["NAME"],
        "TEST_REDIS_NAMESPACE": settings.REDIS_NAMESPACE,
        **extra,
    }


def helper_process(args: list[str], environment: dict[str, str], **popen) -> subprocess.Popen:
    """Start a helper with `environment` (helper_environment's); stop() knows its sessions."""
    process = subprocess.Popen(args, cwd=BASE_DIR, env=environment, **popen)
    process.application_name = environment["DATABASE_APPLICATION_NAME"]
    return process


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"helper process exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a helper (started by helper_process) and wait until its database sessions are
    gone, so that dropping the test database at the end of the run is not refused."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _wait_for_sessions_to_close(process.application_name)


def _wait_for_sessions_to_close(application_name: str, timeout: float = 10) -> None:
    from django.db import connections

    # A connection of its own, closed here: the caller may be inside a transaction, or in a
    # context (Playwright's event loop) whose connection nobody would close afterwards.
    probe = connections.create_connection("default")
    try:
        with probe.cursor() as cursor:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [application_name],
                )
                if cursor.fetchone()[0] == 0:
                    return
                time.sleep(0.05)
    finally:
        probe.close()


@dataclass(frozen=True)
class LiveServer:
    port: int

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def live_server(**environment: str) -> Iterator[LiveServer]:
    """uvicorn on a free port; `environment` adds to or overrides the helper's variables
    (DEBUG=false for production mode, another Redis or PostgreSQL for the fault tests)."""
    port = free_port()
    process = helper_process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "loyalty_platform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        helper_environment(PLATFORM_HOST=f"localhost:{port}", **environment),
    )
    try:
        wait_for_port(port, process)
        yield LiveServer(port=port)
    finally:
        stop(process)


@contextmanager
def celery_worker(name: str = "test", **environment: str) -> Iterator[subprocess.Popen]:
    """A real worker (solo pool) on the test database and Redis; give each of several workers
    running at once its own `name`. Returns when the worker answers a ping."""
    from loyalty_platform.celery import app

    hostname = f"{name}-{os.getpid()}"

    process = helper_process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "loyalty_platform",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"{hostname}@%h",
        ],
        helper_environment(**environment),
    )
    try:
        deadline = time.monotonic() + 30
        while not any(hostname in node for reply in app.control.ping(timeout=0.5) for node in reply):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not come up")
        yield process
    finally:
        stop(process)


PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@contextmanager
def pgbouncer(pool_size: int) -> Iterator[int]:
    """PgBouncer in transaction mode on a free loopback port, in front of this run's
    PostgreSQL with `pool_size` server sessions per database and user (so clients share
    them); yields its port."""
    database = settings.DATABASES["default"]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as directory:
        auth_file = os.path.join(directory, "userlist.txt")
        with open(auth_file, "w") as file:
            file.write(f'"{database["USER"]}" ""\n')
        config = os.path.join(directory, "pgbouncer.ini")
        with open(config, "w") as file:
            file.write(
                "\n".join(
                    [
                        "[databases]",
                        f"* = host={database['HOST']} port={database['PORT']}",
                        "[pgbouncer]",
                        "listen_addr = 127.0.0.1",
                        f"listen_port = {port}",
                        "unix_socket_dir =",
                        "auth_type = trust",
                        f"auth_file = {auth_file}",
                        "pool_mode = transaction",
                        f"default_pool_size = {pool_size}",
                        "min_pool_size = 0",
                        "reserve_pool_size = 0",
                        "max_client_conn = 200",
                        f"logfile = {os.path.join(directory, 'pgbouncer.log')}",
                        "",
                    ]
                )
            )
        command = [PGBOUNCER, config]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: run it as the owner of PostgreSQL's socket directory.
            owner = os.stat(database["HOST"]).st_uid
            os.chown(directory, owner, -1)
            command[1:1] = ["-u", pwd.getpwuid(owner).pw_name]
            os.chmod(directory, 0o755)  # noqa: S103 - read by that user; holds no secret
            for name in (auth_file, config):
                os.chmod(name, 0o644)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(port, process)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()
