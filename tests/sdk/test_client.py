"""`Veritask` against a real anvil with the protocol deployed: info, accounts, deposits and
withdrawals, and every refusal (balances, gas, node, hub) leaving the chain unchanged."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import ETH, RLC, Devnet, closed_port_url, reverted, running_devnet
from veritask import __version__
from veritask.errors import ChainError, InvalidInput
from veritask.sdk import AccountView, ChainInfo, Profile, Veritask

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        yield node


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def profile(devnet: Devnet) -> Profile:
    return Profile("test", rpc_url=devnet.url, hub=devnet.hub)


@pytest.fixture
def user(devnet: Devnet) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text="veritask sdk client test user"))
    devnet.fund(account.address, tokens_nrlc=5 * RLC)
    return account


def test_info__chain_addresses_and_versions(devnet: Devnet, profile: Profile) -> None:
    info = Veritask(profile).info()
    d = devnet.deployment
    assert info == ChainInfo(
        profile="test",
        rpc_url=devnet.url,
        chain_id=31337,
        block_number=devnet.w3.eth.block_number,
        veritask_version=__version__,
        hub=d.hub,
        token=d.token,
        app_registry=d.app_registry,
        dataset_registry=d.dataset_registry,
        workerpool_registry=d.workerpool_registry,
        annex=d.annex,
        orders_domain_version="5.0.0",
        contracts_match_build=True,
    )


def test_info__profile_without_hub__chain_only(devnet: Devnet, profile: Profile) -> None:
    info = Veritask(replace(profile, hub=None)).info()
    assert (info.chain_id, info.hub, info.token, info.contracts_match_build) == (
        31337,
        None,
        None,
        None,
    )


def test_account__any_address_without_a_wallet(
    devnet: Devnet, profile: Profile, user: LocalAccount
) -> None:
    view = Veritask(profile).account(user.address.lower())
    assert view == AccountView(user.address, 0, 0, 5 * RLC, 10 * ETH)


def test_account__malformed_address__invalid_input(profile: Profile) -> None:
    with pytest.raises(InvalidInput, match="not an Ethereum address: '0x12'"):
        Veritask(profile).account("0x12")


def test_deposit_then_withdraw__moves_tokens_in_and_out(
    devnet: Devnet, profile: Profile, user: LocalAccount
) -> None:
    client = Veritask(profile, user)
    deposit = client.deposit(1_500_000_000)
    assert deposit.tx_hash.startswith("0x")
    assert len(deposit.tx_hash) == 66
    assert deposit.gas_used > 0
    view = client.account(user.address)
    assert (view.free_nrlc, view.frozen_nrlc, view.token_nrlc) == (
        1_500_000_000,
        0,
        3_500_000_000,
    )
    withdraw = client.withdraw(500_000_000)
    assert withdraw.block_number > deposit.block_number
    view = client.account(user.address)
    assert (view.free_nrlc, view.token_nrlc) == (1 * RLC, 4 * RLC)


def test_deposit__more_than_the_tokens_held__exact_remedy_and_nothing_sent(
    devnet: Devnet, profile: Profile, user: LocalAccount
) -> None:
    before = devnet.balances(user.address)
    with pytest.raises(InvalidInput) as raised:
        Veritask(profile, user).deposit(5_500_000_000)
    assert str(raised.value) == (
        "insufficient token balance: you hold 5 RLC and want to deposit 5.5 RLC: deposit at "
        "most 5 RLC, or get 0.5 RLC more tokens first"
    )
    assert devnet.balances(user.address) == before


def test_withdraw__more_than_free__says_how_much_and_what_is_frozen(
    devnet: Devnet, profile: Profile, user: LocalAccount
) -> None:
    client = Veritask(profile, user)
    client.deposit(1_500_000_000)
    devnet.freeze(user, app_price=100_000_000, workerpool_price=200_000_000)
    before = devnet.balances(user.address)
    assert before[:2] == (1_200_000_000, 300_000_000)
    with pytest.raises(InvalidInput) as raised:
        client.withdraw(1_500_000_000)
    assert str(raised.value) == (
        "insufficient free balance: withdraw at most 1.2 RLC (0.3 RLC is frozen in deals)"
    )
    assert devnet.balances(user.address) == before


@pytest.mark.parametrize("action", ["deposit", "withdraw"])
def test_deposit_or_withdraw__zero__refused(
    devnet: Devnet, profile: Profile, user: LocalAccount, action: str
) -> None:
    before = devnet.balances(user.address)
    with pytest.raises(InvalidInput, match=f"nothing to {action}: the amount must be more"):
        getattr(Veritask(profile, user), action)(0)
    assert devnet.balances(user.address) == before


def test_deposit__no_gas__says_to_send_eth_first(devnet: Devnet, profile: Profile) -> None:
    broke: LocalAccount = Account.from_key(keccak(text="veritask sdk client broke"))
    devnet.fund(broke.address, tokens_nrlc=1 * RLC, gas_wei=0)
    before = devnet.balances(broke.address)
    with pytest.raises(InvalidInput) as raised:
        Veritask(profile, broke).deposit(1 * RLC)
    assert str(raised.value).startswith(
        f"not enough ETH for gas: {broke.address} holds 0 ETH and this transaction needs about "
    )
    assert str(raised.value).endswith(" ETH; send it some ETH first")
    assert devnet.balances(broke.address) == before


def test_deposit__without_an_account__invalid_input(profile: Profile) -> None:
    with pytest.raises(InvalidInput, match="deposit needs a wallet"):
        Veritask(profile).deposit(1)


def test_client__node_down__chain_error_at_once() -> None:
    url = closed_port_url()
    started = time.monotonic()
    with pytest.raises(ChainError) as raised:
        Veritask(Profile("devnet", rpc_url=url))
    assert time.monotonic() - started < 3
    assert str(raised.value) == (
        f"the chain profile 'devnet' does not answer at {url}: start it with "
        "`./scripts/demo --keep` or check --rpc-url"
    )


def test_client__node_that_never_answers__chain_error_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ChainError) as raised:
            Veritask(Profile("slow", rpc_url=url), timeout_s=0.3)
        assert time.monotonic() - started < 2
    assert str(raised.value).startswith(
        f"the chain profile 'slow' does not answer at {url} (no answer within 0.3 s): "
    )


class _NotJsonRpc(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html>hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_client__http_server_that_is_not_a_node__chain_error() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotJsonRpc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(ChainError, match="answers, but not as an Ethereum JSON-RPC node"):
            Veritask(Profile("web", rpc_url=url))
    finally:
        server.shutdown()
        server.server_close()


def test_client__profile_expects_another_chain__chain_error(profile: Profile) -> None:
    with pytest.raises(ChainError, match="runs chain 31337, but profile 'test' expects chain 1:"):
        Veritask(replace(profile, chain_id=1))


def test_protocol__no_hub_in_profile__says_where_to_set_it(profile: Profile) -> None:
    with pytest.raises(InvalidInput) as raised:
        Veritask(replace(profile, hub=None)).account(profile.hub or "")
    assert "has no hub address: set hub in veritask.toml, VERITASK_HUB or --hub" in str(
        raised.value
    )


def test_protocol__hub_address_without_code__invalid_input(profile: Profile) -> None:
    empty = "0x" + "12" * 20
    with pytest.raises(InvalidInput, match=r"no contract at hub 0x1212.* on chain 31337"):
        Veritask(replace(profile, hub=empty)).info()


def test_protocol__hub_address_of_another_contract__invalid_input(
    devnet: Devnet, profile: Profile
) -> None:
    token = devnet.deployment.token
    with pytest.raises(InvalidInput, match=f"{token} on chain 31337 is not a Veritask hub"):
        Veritask(replace(profile, hub=token)).info()
