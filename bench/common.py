"""Helpers shared by the benchmarks: a throwaway database on the same server."""

import math

import psycopg

# A table's plain indexes (the unique ones stay: they are the table's constraints).
PLAIN_INDEXES_SQL = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
    "AND tablename = ANY(%s) AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
)


def drop_indexes(cursor, tables: tuple[str, ...]) -> list[str]:
    """Drops the tables' plain indexes (kept: the unique ones) and returns their definitions,
    to build again once the tables are filled (faster than keeping them up to date)."""
    cursor.execute(PLAIN_INDEXES_SQL, [list(tables)])
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


FOREIGN_KEYS_SQL = (
    "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
    "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = ANY(%s)"
)


def drop_foreign_keys(cursor, tables: tuple[str, ...]) -> list[str]:
    """Drops the tables' foreign keys and returns the statements adding them again: checked
    in one pass once the tables are filled instead of row by row (as pg_restore does), and
    without the superuser that switching their triggers off would need."""
    cursor.execute(FOREIGN_KEYS_SQL, [list(tables)])
    keys = cursor.fetchall()
    for table, name, _definition in keys:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    return [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in keys]


def print_goal_table(rows: list[tuple[str, str, str, str]], headings: tuple[str, str, str]) -> None:
    """Rows of (figure, measured, goal, met), in aligned columns."""
    widths = [max(len(row[column]) for row in [headings, *rows]) for column in range(3)]
    print("  ".join(f"{heading:{width}}" for heading, width in zip(headings, widths, strict=True)) + "  met")
    for *cells, met in rows:
        print("  ".join(f"{cell:{width}}" for cell, width in zip(cells, widths, strict=True)) + f"  {met}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def unlimited_api_key(organization) -> str:
    """A POS key of the organization that no rate limit slows down; its secret."""
    from tenants.services import api_key_create

    issued = api_key_create(organization=organization, label="bench")
    issued.api_key.rate_limits = {"transactions": 100_000_000, "customer": 100_000_000}
    issued.api_key.save(update_fields=["rate_limits"])
    return issued.secret_key


def _admin_connection():
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ), db["NAME"]


def recreate_database() -> None:
    conn, name = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    conn, name = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure_production(
    *, database_name: str, redis_namespace: str, platform_host: str = "localhost:8000"
) -> None:
    """Production settings (DEBUG off) for this process and any it starts (both read
    os.environ), on the benchmark's own database and Redis namespace."""
    import os
    import secrets

    from loyalty_platform import embedded

    os.environ.update(
        DJANGO_SETTINGS_MODULE="loyalty_platform.settings",
        DATABASE_NAME=database_name,
        REDIS_NAMESPACE=redis_namespace,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        PLATFORM_HOST=platform_host,
        REDIS_URL=embedded.ensure_redis(),
        LOG_LEVEL="WARNING",
    )


WORKER_COMMAND = ["-m", "celery", "-A", "loyalty_platform", "worker", "--pool", "solo"]


def start_worker(name: str):
    """One Celery worker (solo pool, as deployed per process) with this process's
    environment; returns once it answers a ping by its own name."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from loyalty_platform.celery import app

    hostname = f"{name}-{os.getpid()}"
    process = subprocess.Popen(
        [sys.executable, *WORKER_COMMAND, "--loglevel", "WARNING", "--hostname", f"{hostname}@%h"],
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while not any(hostname in node for reply in app.control.ping(timeout=0.5) for node in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the Celery worker did not come up")
    return process


def stop_worker(process) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
