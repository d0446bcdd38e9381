"""The market's databases: every test gets a fresh SQLite file or a fresh PostgreSQL
schema (dropped afterwards), so parallel tests and other people's tests never share rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'market.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    schema = f"market_test_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432: {exc}")
    with connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url
