"""A devnet with a workerpool, its owner's scheduler and helpers that match deals for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import RLC, Devnet, demo_account, running_devnet
from tests.orders import SigningKeys, signed_orders
from tests.postgres import fresh_database
from veritask.domain.orders import ZERO_ADDRESS
from veritask.scheduler.membership import parse_members, write_members_file
from veritask.scheduler.service import Scheduler
from veritask.scheduler.settings import SchedulerSettings

WORKERPOOL_PRICE = 2 * RLC
APP_PRICE = 1 * RLC


@dataclass
class Pool:
    devnet: Devnet
    owner: LocalAccount
    developer: LocalAccount
    requester: LocalAccount
    workerpool: str
    app: str
    salt: int = 0

    def match(self, *, volume: int = 1, trust: int = 1, callback: str = ZERO_ADDRESS) -> bytes:
        self.salt += 1
        client = self.devnet.client
        orders = signed_orders(
            client.domain,
            SigningKeys(
                app=self.developer.key, workerpool=self.owner.key, requester=self.requester.key
            ),
            app=self.app,
            workerpool=self.workerpool,
            requester=self.requester.address,
            app_price_nrlc=APP_PRICE,
            workerpool_price_nrlc=WORKERPOOL_PRICE,
            volume=volume,
            trust=trust,
            callback=callback,
            params='{"iexec_args": "hello"}',
            salt=keccak(text=f"pool deal {self.salt}"),
        )
        return client.match_orders(self.requester, *orders).deal_id

    def worker(self, name: str, deposit: int = 10 * RLC) -> LocalAccount:
        account = demo_account(f"scheduler test worker {name}")
        self.devnet.fund(account.address, tokens_nrlc=deposit)
        if deposit:
            self.devnet.client.deposit(account, deposit)
        return account


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The scheduler's database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scheduler.db'}"
        return
    with fresh_database("veritask_scheduler") as url:
        yield url


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as devnet:
        yield devnet


@pytest.fixture(scope="module")
def pool(devnet: Devnet) -> Pool:
    owner, developer, requester = (
        demo_account("workerpool owner"),
        demo_account("app developer"),
        demo_account("requester"),
    )
    for account in (owner, developer, requester):
        devnet.fund(account.address, tokens_nrlc=1_000 * RLC)
    devnet.client.deposit(owner, 1_000 * RLC)
    devnet.client.deposit(requester, 1_000 * RLC)
    app = devnet.client.create_app(
        developer, "hello", "DOCKER", b"localhost/veritask/hello:1", keccak(b"hello")
    )
    workerpool = devnet.client.create_workerpool(owner, "scheduler tests")
    return Pool(devnet, owner, developer, requester, workerpool, app)


def make_scheduler(
    pool: Pool,
    tmp_path: Path,
    *,
    members: Iterable[LocalAccount] = (),
    clock: Callable[[], float] = time.time,
    **settings: object,
) -> Scheduler:
    """A scheduler of the pool with the default membership, an allow-list, holding
    `members` (see `admit` for more); `settings` override any of it."""
    members_file = tmp_path / "members"
    write_members_file(members_file, {account.address: "" for account in members})
    values: dict[str, object] = {
        "hub": pool.devnet.hub,
        "workerpool": pool.workerpool,
        "database_url": f"sqlite:///{tmp_path / 'scheduler.db'}",
        "from_block": pool.devnet.w3.eth.block_number,
        "chain_poll_s": 0.05,
        "members_file": members_file,
    }
    values.update(settings)
    settings_ = SchedulerSettings(**values)  # type: ignore[arg-type]
    return Scheduler(settings_, account=pool.owner, hub=pool.devnet.client, clock=clock)


def admit(scheduler: Scheduler, *accounts: LocalAccount, operator: str = "") -> None:
    """Adds `accounts` to the scheduler's members file (one `operator` label for all)."""
    path = scheduler.settings.members_file
    assert path is not None, "the scheduler has no members file"
    members = parse_members(path.read_text(), source=str(path))
    members.update({account.address.lower(): operator for account in accounts})
    write_members_file(path, members)
