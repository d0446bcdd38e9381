"""`python -m veritask.cli.demo`: starts anvil on 127.0.0.1, deploys the whole protocol,
prints the addresses, then registers demo assets and matches a first deal.

With `--keep` the node listens on 127.0.0.1:8545 (the CLI's default "devnet" profile) and
stays up until Ctrl-C, and the deployment is written to `--out` (default
`.veritask/devnet.json`) for other tools to use.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from veritask.chain.anvil import Anvil
from veritask.chain.deploy import Deployment, deploy_protocol
from veritask.chain.protocol import ProtocolClient
from veritask.domain.ids import task_ids
from veritask.domain.orders import AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder
from veritask.domain.signing import sign_order
from veritask.errors import InvalidInput, VeritaskError

RLC = 10**9
# The port of the CLI's default "devnet" profile.
DEVNET_PORT = 8545


def _account(w3: Web3, name: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"veritask devnet {name}"))
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])  # type: ignore[arg-type]
    return account


def _first_deal(client: ProtocolClient, deployer: LocalAccount) -> None:
    w3 = client.w3
    developer, pool_owner, requester = (
        _account(w3, "app developer"),
        _account(w3, "workerpool owner"),
        _account(w3, "requester"),
    )
    app = client.create_app(
        developer, "hello-world", "DOCKER", b"localhost/veritask/hello:1", keccak(b"hello")
    )
    workerpool = client.create_workerpool(pool_owner, "demo workerpool")
    for account in (requester, pool_owner):
        client.transfer_tokens(deployer, account.address, 100 * RLC)
        client.deposit(account, 100 * RLC)
    domain = client.domain
    result = client.match_orders(
        requester,
        sign_order(AppOrder(app, 1 * RLC, 10), domain, developer.key),  # type: ignore[arg-type]
        DatasetOrder(),
        sign_order(  # type: ignore[arg-type]
            WorkerpoolOrder(workerpool, 2 * RLC, 10, category=0, trust=1), domain, pool_owner.key
        ),
        sign_order(  # type: ignore[arg-type]
            RequestOrder(
                app=app,
                appmaxprice=1 * RLC,
                workerpool=workerpool,
                workerpoolmaxprice=2 * RLC,
                requester=requester.address,
                volume=1,
                category=0,
                trust=1,
                beneficiary=requester.address,
                params='{"iexec_args": "hello"}',
            ),
            domain,
            requester.key,
        ),
    )
    deal = client.deal(result.deal_id)
    free, frozen = client.account(requester.address)
    print()
    print(f"app          {app}  (owner {developer.address})")
    print(f"workerpool   {workerpool}  (owner {pool_owner.address})")
    print(f"deal         0x{result.deal_id.hex()}  volume {result.volume}, trust {deal.trust}")
    for task in task_ids(result.deal_id, deal.bot_first, deal.bot_size):
        print(f"task         0x{task.hex()}  waiting for a worker")
    print(f"requester    {requester.address}  free {free / RLC} RLC, frozen {frozen / RLC} RLC")
    print(f"gas          matchOrders {result.receipt['gasUsed']:,}")


def _fund(client: ProtocolClient, deployer: LocalAccount, address: str) -> None:
    if not Web3.is_address(address):
        raise InvalidInput(f"--fund {address!r} is not an address (expected 0x and 40 hex digits)")
    target = Web3.to_checksum_address(address)
    client.w3.provider.make_request("anvil_setBalance", [target, hex(10 * 10**18)])  # type: ignore[arg-type]
    client.transfer_tokens(deployer, target, 100 * RLC)
    print(f"funded       {target}  10 ETH for gas, 100 RLC in its wallet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="veritask-demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep anvil running until Ctrl-C")
    parser.add_argument("--out", type=Path, default=Path(".veritask/devnet.json"))
    parser.add_argument(
        "--fund",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="give this address 10 ETH for gas and 100 RLC (devnet only; repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        with Anvil(port=DEVNET_PORT if args.keep else None) as anvil:
            w3 = Web3(Web3.HTTPProvider(anvil.url))
            deployer = _account(w3, "deployer")
            started = time.monotonic()
            deployment: Deployment = deploy_protocol(w3, deployer)
            print(f"anvil        {anvil.url}  chain id {deployment.chain_id}")
            for name in (
                "token",
                "app_registry",
                "dataset_registry",
                "workerpool_registry",
                "annex",
                "hub",
            ):
                print(f"{name:<20} {getattr(deployment, name)}")
            print(f"deployed in {time.monotonic() - started:.1f} s")
            client = ProtocolClient(w3, deployment)
            _first_deal(client, deployer)
            for address in args.fund:
                _fund(client, deployer, address)
            if args.keep:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(deployment.to_json())
                print(f"\ndeployment written to {args.out}; anvil runs until Ctrl-C")
                print(f"use it: export VERITASK_HUB={deployment.hub}; veritask info")
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
                while anvil.running:
                    time.sleep(0.5)
    except VeritaskError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
