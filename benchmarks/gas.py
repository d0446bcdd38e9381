"""Gas of the protocol's steps on a real anvil node, beside the reference (iExec PoCo 6.1.0).

Scenario (PROTOCOL.md B1): an app, a dataset and a workerpool, four ECDSA-signed orders,
fresh accounts. Run: `.venv/bin/python benchmarks/gas.py --json gas.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from veritask.chain.anvil import Anvil
from veritask.chain.deploy import deploy_protocol
from veritask.chain.protocol import ProtocolClient
from veritask.domain.orders import AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder
from veritask.domain.signing import sign_order

RLC = 10**9
REFERENCE = {"matchOrders": 819_000, "matchOrders_vol10": 819_000}
TARGET = {"matchOrders": 350_000, "matchOrders_vol10": 350_000}


def _actor(w3: Web3, name: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"veritask gas bench {name}"))
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
    return account


def measure(anvil: Anvil) -> dict[str, int]:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    deployer = _actor(w3, "deployer")
    deployment = deploy_protocol(w3, deployer)
    client = ProtocolClient(w3, deployment)
    app_owner, dataset_owner = _actor(w3, "app owner"), _actor(w3, "dataset owner")
    scheduler, requester = _actor(w3, "scheduler"), _actor(w3, "requester")

    app = client.create_app(app_owner, "bench", "DOCKER", b"docker.io/x/bench:1", keccak(b"a"))
    dataset = client.create_dataset(dataset_owner, "data", b"/ipfs/bafkreidata", keccak(b"d"))
    workerpool = client.create_workerpool(scheduler, "bench pool")
    for account in (requester, scheduler):
        client.transfer_tokens(deployer, account.address, 10_000 * RLC)
        client.deposit(account, 10_000 * RLC)

    steps: dict[str, int] = {}
    for step, volume in (("matchOrders", 1), ("matchOrders_vol10", 10)):
        salt = keccak(text=step)
        domain = client.domain
        orders = (
            sign_order(AppOrder(app, 1 * RLC, volume, salt=salt), domain, app_owner.key),
            sign_order(
                DatasetOrder(dataset, 1 * RLC, volume, salt=salt), domain, dataset_owner.key
            ),
            sign_order(
                WorkerpoolOrder(workerpool, 1 * RLC, volume, category=0, trust=1, salt=salt),
                domain,
                scheduler.key,
            ),
            sign_order(
                RequestOrder(
                    app=app,
                    appmaxprice=1 * RLC,
                    dataset=dataset,
                    datasetmaxprice=1 * RLC,
                    workerpool=workerpool,
                    workerpoolmaxprice=1 * RLC,
                    requester=requester.address,
                    volume=volume,
                    category=0,
                    trust=1,
                    beneficiary=requester.address,
                    params='{"iexec_args":"bench"}',
                    salt=salt,
                ),
                domain,
                requester.key,
            ),
        )
        result = client.match_orders(requester, *orders)  # type: ignore[arg-type]
        steps[step] = int(result.receipt["gasUsed"])
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with Anvil() as anvil:
        steps = measure(anvil)
    print(f"{'step':<20} {'veritask':>10} {'reference':>10} {'ratio':>7} {'target':>9}")
    for step, gas in steps.items():
        ratio = gas / REFERENCE[step]
        ok = "ok" if gas <= TARGET[step] else "MISSED"
        print(f"{step:<20} {gas:>10,} {REFERENCE[step]:>10,} {ratio:>7.2f} {TARGET[step]:>9,} {ok}")
    if args.json:
        args.json.write_text(json.dumps({"steps": steps, "reference": REFERENCE}, indent=2) + "\n")


if __name__ == "__main__":
    main()
