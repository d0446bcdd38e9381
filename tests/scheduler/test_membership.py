"""Who may work for a pool (security H3): an allow-listed pool admits the keys of its
members file (re-read when it changes) and gives a task at most one replicate per
operator label; an open pool admits keys whose free balance and score reach its floors,
read on the chain and read again after `membership_recheck_s`. Real schedulers on
loopback over the in-process chain, on SQLite and PostgreSQL where assignment is involved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tests.devnet import RLC, Devnet, inprocess_chain, reverted
from tests.scheduler.conftest import Pool, admit, make_scheduler
from veritask.errors import InvalidInput, Refusal, SchedulerApiError
from veritask.scheduler.membership import AllowList, OpenPool, parse_members, write_members_file
from veritask.scheduler.service import Scheduler
from veritask.sdk.scheduler_api import (
    Registration,
    ReplicateStatus,
    SchedulerClient,
    StatusReport,
    WorkKind,
)
from veritask.serving import RunningServer, serve_app_in_thread
from veritask.worker.agent import MAX_RETRY_PAUSE_S, retry_pause

REGISTRATION = Registration(name="w", cpus=1, memory_bytes=2**30, runtimes=("oci",))
DIGEST = b"\x42" * 32


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


@pytest.fixture
def chain(pool: Pool) -> Iterator[Pool]:
    """The pool, on a snapshot of the chain reverted after the test."""
    with reverted(pool.devnet):
        yield pool


class Served:
    """A scheduler served on loopback, stopped by the fixture that made it."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.server: RunningServer = serve_app_in_thread(scheduler.app, name="membership")
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()
        self.scheduler.engine.dispose()


@pytest.fixture
def serve() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def _served(started: list[Served], scheduler: Scheduler) -> Served:
    served = Served(scheduler)
    started.append(served)
    return served


def _funded(pool: Pool, deposit: int = 10 * RLC) -> LocalAccount:
    key: LocalAccount = Account.create()
    pool.devnet.fund(key.address, tokens_nrlc=deposit)
    if deposit:
        pool.devnet.client.deposit(key, deposit)
    return key


def _join(url: str, key: LocalAccount) -> SchedulerClient:
    client = SchedulerClient(url)
    client.login(key)
    client.register(REGISTRATION)
    return client


def _refused(url: str, key: LocalAccount) -> SchedulerApiError:
    with SchedulerClient(url) as client, pytest.raises(SchedulerApiError) as refused:
        client.login(key)
    return refused.value


def test_allow_list__member_logs_in_and_gets_work__stranger_refused_at_login(
    chain: Pool, tmp_path: Path, serve: list[Served]
) -> None:
    member, stranger = _funded(chain), _funded(chain)
    served = _served(serve, make_scheduler(chain, tmp_path, members=(member,)))
    deal = chain.match()
    served.scheduler.run_once()

    refusal = _refused(served.url, stranger)
    assert (refusal.status, refusal.code) == (403, "not_a_member")
    assert stranger.address.lower() in str(refusal)
    assert "owner" in str(refusal)
    # A refused worker backs off (1, 2, 4 … 30 s) instead of asking again every 0.5 s.
    pauses = [retry_pause(refusal, 0.0)]
    while pauses[-1] < MAX_RETRY_PAUSE_S:
        pauses.append(retry_pause(refusal, pauses[-1]))
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_RETRY_PAUSE_S]
    assert retry_pause(SchedulerApiError("down", status=0), pauses[-1]) == 0.5
    with _join(served.url, member) as client:
        work = client.ask_for_work()
    assert work is not None
    assert work.deal_id == "0x" + deal.hex()


def test_allow_list__file_changes__read_again_without_a_restart(
    chain: Pool, tmp_path: Path, serve: list[Served]
) -> None:
    late = _funded(chain)
    served = _served(serve, make_scheduler(chain, tmp_path))
    assert _refused(served.url, late).code == "not_a_member"
    admit(served.scheduler, late)
    with SchedulerClient(served.url) as client:
        assert client.login(late).token


def _reveal(pool: Pool, key: LocalAccount, client: SchedulerClient, deal: bytes) -> None:
    order = client.ask_for_work()
    assert order is not None
    assert order.kind is WorkKind.REVEAL
    pool.devnet.client.reveal(key, deal, 0, DIGEST)
    client.report(order.task_id, StatusReport(status=ReplicateStatus.REVEALED))


def test_allow_list__member_removed__gets_its_reveal_order_then_no_more_work(
    chain: Pool, tmp_path: Path, database_url: str, serve: list[Served]
) -> None:
    first, second = _funded(chain), _funded(chain)
    scheduler = make_scheduler(chain, tmp_path, members=(first, second), database_url=database_url)
    served = _served(serve, scheduler)
    deal = chain.match(trust=3)
    scheduler.run_once()
    clients = [_join(served.url, key) for key in (first, second)]
    try:
        for key, client in zip((first, second), clients, strict=True):
            work = client.ask_for_work()
            assert work is not None
            assert work.kind is WorkKind.COMPUTE
            authorization = bytes.fromhex(work.authorization[2:])
            chain.devnet.client.contribute(key, deal, 0, DIGEST, authorization)
        scheduler.run_once()  # consensus: both winners are told to reveal
        _reveal(chain, second, clients[1], deal)  # and the second is asked to upload

        write_members_file(tmp_path / "members", {second.address: ""})  # first is removed
        _reveal(chain, first, clients[0], deal)
        with pytest.raises(SchedulerApiError) as refused:
            clients[0].ask_for_work()
        assert refused.value.code == "not_a_member"
        with pytest.raises(SchedulerApiError) as refused:
            clients[0].register(REGISTRATION)
        assert refused.value.code == "not_a_member"
    finally:
        for client in clients:
            client.close()


def test_allow_list__keys_of_one_operator__one_replicate_of_a_task_between_them(
    chain: Pool, tmp_path: Path, database_url: str, serve: list[Served]
) -> None:
    mallory = [_funded(chain) for _ in range(3)]
    honest = _funded(chain)
    scheduler = make_scheduler(chain, tmp_path, members=(honest,), database_url=database_url)
    admit(scheduler, *mallory, operator="mallory")
    served = _served(serve, scheduler)
    chain.match(trust=3)  # a fresh task at trust 3 wants two workers
    scheduler.run_once()

    got = []
    for key in mallory:
        with _join(served.url, key) as client:
            got.append(client.ask_for_work())
    assert got[0] is not None
    assert got[1:] == [None, None]
    with _join(served.url, honest) as client:
        work = client.ask_for_work()
    assert work is not None
    assert work.task_id == got[0].task_id


def test_open_pool__below_the_balance_floor__refused_until_it_deposits(
    chain: Pool, tmp_path: Path, serve: list[Served]
) -> None:
    scheduler = make_scheduler(chain, tmp_path, membership="open", min_free_balance_nrlc=5 * RLC)
    served = _served(serve, scheduler)
    key = _funded(chain, deposit=4 * RLC)
    refusal = _refused(served.url, key)
    assert (refusal.status, refusal.code) == (403, "below_floor")
    assert "5 RLC" in str(refusal)
    assert "it has 4" in str(refusal)

    chain.devnet.fund(key.address, tokens_nrlc=1 * RLC)
    chain.devnet.client.deposit(key, 1 * RLC)  # a refusal is not remembered
    with _join(served.url, key) as client:
        assert client.ask_for_work() is None


def test_open_pool__score_floor__a_fresh_key_is_refused(
    chain: Pool, tmp_path: Path, serve: list[Served]
) -> None:
    scheduler = make_scheduler(
        chain, tmp_path, membership="open", min_free_balance_nrlc=0, min_score=1
    )
    refusal = _refused(_served(serve, scheduler).url, _funded(chain))
    assert refusal.code == "below_floor"
    assert "a score of 1 (it has 0)" in str(refusal)


def test_open_pool__labels_file__one_replicate_per_operator(
    chain: Pool, tmp_path: Path, database_url: str, serve: list[Served]
) -> None:
    twins = [_funded(chain) for _ in range(2)]
    labels = tmp_path / "labels"
    write_members_file(labels, {key.address: "twins" for key in twins})
    scheduler = make_scheduler(
        chain,
        tmp_path,
        database_url=database_url,
        membership="open",
        min_free_balance_nrlc=1 * RLC,
        members_file=labels,
    )
    served = _served(serve, scheduler)
    chain.match(trust=3)
    scheduler.run_once()
    got = []
    for key in (*twins, _funded(chain)):  # a key the file does not list is admitted too
        with _join(served.url, key) as client:
            got.append(client.ask_for_work())
    assert [work is not None for work in got] == [True, False, True]


def test_open_pool__admission__read_again_after_the_recheck_interval(chain: Pool) -> None:
    now = [0.0]
    members = OpenPool(
        chain.devnet.client,
        workerpool=chain.workerpool,
        min_free_balance_nrlc=5 * RLC,
        min_score=0,
        recheck_s=60.0,
        clock=lambda: now[0],
    )
    key = _funded(chain, deposit=5 * RLC)
    worker = key.address.lower()
    assert members.admit(worker).keys == frozenset({worker})
    chain.devnet.client.withdraw(key, 5 * RLC)
    now[0] = 59.0
    members.admit(worker)  # the admission still holds
    now[0] = 60.0
    with pytest.raises(Refusal) as refused:
        members.admit(worker)
    assert refused.value.code == "below_floor"


def test_scheduler__membership_it_cannot_enforce__refused_at_start(
    pool: Pool, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="members_file"):
        make_scheduler(pool, tmp_path, members_file=None)
    with pytest.raises(InvalidInput, match="needs a floor"):
        make_scheduler(pool, tmp_path, membership="open", min_free_balance_nrlc=0)
    (tmp_path / "bad").write_text("0x1234 someone\n")
    with pytest.raises(InvalidInput, match="line 1"):
        make_scheduler(pool, tmp_path, members_file=tmp_path / "bad")


def test_allow_list__file_broken_later__last_good_list_stays_and_health_degrades(
    chain: Pool, tmp_path: Path, serve: list[Served]
) -> None:
    member = _funded(chain)
    served = _served(serve, make_scheduler(chain, tmp_path, members=(member,)))
    (tmp_path / "members").write_text(f"{member.address} one two\n")
    health = httpx.get(f"{served.url}/health").json()
    assert health["status"] == "degraded"
    assert "line 1" in health["error"]
    with SchedulerClient(served.url) as client:
        assert client.login(member).token
    write_members_file(tmp_path / "members", {member.address: ""})
    assert httpx.get(f"{served.url}/health").json()["status"] == "ok"


def test_parse_members__labels_comments_and_mistakes() -> None:
    a, b = "0x" + "aa" * 20, "0x" + "bB" * 20
    text = f"# pool members\n\n{a} alice  # her laptop\n{a.upper()[2:]}\n"
    with pytest.raises(InvalidInput, match="line 4: 'AA"):
        parse_members(text, source="m")
    assert parse_members(f"{a} alice\n  {b.lower()}\n", source="m") == {
        a: "alice",
        b.lower(): "",
    }
    for line, mistake in (
        (f"{b}", "not a 0x address"),  # mixed case that is not its checksum
        (f"{a} al/ice", "operator label"),
        (f"{a} a b", "line 1: write `0x<worker address>"),
        (f"{a}\n{a.upper().replace('0X', '0x')}", "line 2: .* is listed twice"),
    ):
        with pytest.raises(InvalidInput, match=mistake):
            parse_members(line, source="m")


def test_allow_list__labels__name_every_key_of_the_operator(tmp_path: Path) -> None:
    keys = ["0x" + f"{n:02x}" * 20 for n in (1, 2, 3)]
    write_members_file(tmp_path / "m", {keys[0]: "op", keys[1]: "op", keys[2]: ""})
    members = AllowList(tmp_path / "m", workerpool="0xpool")
    assert members.admit(keys[0]).keys == frozenset(keys[:2])
    assert members.admit(keys[2]).keys == frozenset({keys[2]})
    assert members.admit(keys[2]).operator == ""
