"""Shared fixtures: the protocol deployed once per session in titanoboa, every test on a
snapshot reverted after it, and named actors with private keys that sign orders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boa
import pytest

from tests.support import Actor, Protocol, deploy_protocol_boa, make_actor

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def actors() -> dict[str, Actor]:
    names = ["deployer", "app_owner", "dataset_owner", "scheduler", "requester", "stranger"]
    return {name: make_actor(name) for name in names}


@pytest.fixture(scope="session")
def _session_protocol(actors: dict[str, Actor]) -> Protocol:
    return deploy_protocol_boa(actors)


@pytest.fixture
def protocol(_session_protocol: Protocol) -> Iterator[Protocol]:
    with boa.env.anchor():
        yield _session_protocol
