"""The PostgreSQL test database: one per pytest-xdist worker, since every test empties
its schema and two workers sharing one would empty each other's tables mid-test."""

from __future__ import annotations

import functools
import os

import sqlalchemy as sa
from sqlalchemy.engine import make_url

BASE_URL = os.environ.get("DIGESTBOT_TEST_POSTGRES_URL")


@functools.cache  # one connection to look for (and make) the database, per worker
def worker_url() -> str | None:
    """This worker's database URL (created on first use), or None where none is configured."""
    if not BASE_URL:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… under xdist; unset otherwise
    if not worker:
        return BASE_URL
    base = make_url(BASE_URL)
    url = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")  # CREATE DATABASE refuses a transaction
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": url.database}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)


def empty(url: str) -> str:
    """Drop and recreate the public schema of `url`, so a test starts from nothing."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url
