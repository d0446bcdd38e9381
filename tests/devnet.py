"""A chain with the protocol deployed: a real anvil node for the SDK, CLI and integration
tests, or an in-process EVM (eth-tester over py-evm, the contracts' real bytecode behind the
same `Hub`) for the services' logic tests that need no node. Funded accounts, token
transfers from the deployer, and snapshots reverted after each test.

The deployer is `./scripts/demo`'s, so on a fresh node the addresses are the ones the demo
prints (and docs/cli.md shows).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.types import RPCEndpoint

from tests.orders import SigningKeys, signed_orders
from veritask.chain.anvil import Anvil
from veritask.chain.deploy import Deployment, deploy_protocol
from veritask.chain.hub import Hub

RLC = 10**9
ETH = 10**18


@dataclass(frozen=True)
class Devnet:
    anvil: Anvil | None  # None: an in-process chain, no node to dial
    w3: Web3
    deployer: LocalAccount
    deployment: Deployment
    client: Hub

    @property
    def url(self) -> str:
        if self.anvil is None:
            raise RuntimeError("an in-process chain has no URL: inject its `client` (the Hub)")
        return self.anvil.url

    @property
    def hub(self) -> str:
        return self.deployment.hub

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        assert "error" not in response, f"{method} failed: {response}"
        return response["result"]

    def fund(self, address: str, *, tokens_nrlc: int = 0, gas_wei: int = 10 * ETH) -> None:
        """Gives `address` native coin for gas and `tokens_nrlc` RLC tokens (not deposited)."""
        if self.anvil is not None:
            self.rpc("anvil_setBalance", address, hex(gas_wei))
        else:
            self.w3.eth.send_transaction(
                {"from": self.w3.eth.accounts[0], "to": address, "value": gas_wei}  # type: ignore[typeddict-item]
            )
        if tokens_nrlc:
            self.client.transfer_tokens(self.deployer, address, tokens_nrlc)

    def balances(self, address: str) -> tuple[int, int, int, int, int]:
        """(free, frozen, tokens, gas, nonce) of `address`: all that a refused command must
        leave unchanged."""
        free, frozen = self.client.account(address)
        checksummed = Web3.to_checksum_address(address)
        return (
            free,
            frozen,
            int(self.client.contracts.token.functions.balanceOf(checksummed).call()),
            int(self.w3.eth.get_balance(checksummed)),
            int(self.w3.eth.get_transaction_count(checksummed)),
        )

    def freeze(self, requester: LocalAccount, *, app_price: int, workerpool_price: int) -> None:
        """Matches a deal of one task for `requester` (who must have deposited
        app_price + workerpool_price): that much of its balance becomes frozen."""
        developer, pool_owner = demo_account("app developer"), demo_account("workerpool owner")
        self.fund(developer.address)
        self.fund(pool_owner.address, tokens_nrlc=100 * RLC)
        self.client.deposit(pool_owner, 100 * RLC)
        app = self.client.create_app(
            developer, "hello", "DOCKER", b"localhost/veritask/hello:1", keccak(b"hello")
        )
        workerpool = self.client.create_workerpool(pool_owner, "test workerpool")
        orders = signed_orders(
            self.client.domain,
            SigningKeys(app=developer.key, workerpool=pool_owner.key, requester=requester.key),
            app=app,
            workerpool=workerpool,
            requester=requester.address,
            app_price_nrlc=app_price,
            workerpool_price_nrlc=workerpool_price,
        )
        self.client.match_orders(requester, *orders)


def demo_account(name: str) -> LocalAccount:
    """The demo's deterministic accounts ("deployer", "requester", ...)."""
    account: LocalAccount = Account.from_key(keccak(text=f"veritask devnet {name}"))
    return account


@contextmanager
def running_devnet() -> Iterator[Devnet]:
    with Anvil(startup_timeout_s=10) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 10}))
        deployer = demo_account("deployer")
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [deployer.address, hex(10**21)])
        deployment = deploy_protocol(w3, deployer)
        yield Devnet(anvil, w3, deployer, deployment, Hub.over(w3, deployment))


@contextmanager
def inprocess_chain() -> Iterator[Devnet]:
    """The protocol on an in-process EVM: no node, no port, about a second to deploy."""
    w3 = Web3(EthereumTesterProvider())
    deployer = demo_account("deployer")
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": deployer.address, "value": 10**21})
    deployment = deploy_protocol(w3, deployer)
    yield Devnet(None, w3, deployer, deployment, Hub.over(w3, deployment))


@contextmanager
def reverted(devnet: Devnet) -> Iterator[None]:
    """Runs the body on a snapshot of the chain, reverted after it."""
    snapshot = devnet.rpc("evm_snapshot")
    try:
        yield
    finally:
        reverted_ = devnet.rpc("evm_revert", snapshot)
        assert reverted_ is True or (devnet.anvil is None and reverted_ is None)


def closed_port_url() -> str:
    """An http URL on a loopback port nothing listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}"
