"""Gas of the protocol on a real anvil node, beside the reference (iExec PoCo 6.1.0).

Scenarios (PROTOCOL.md B1): an app, a dataset and a workerpool, four ECDSA-signed orders,
a 90-byte result pointer, a fresh worker for every contribution. Per-task figures include
the task's share of `matchOrders`.

    .venv/bin/python benchmarks/gas.py --json gas.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from veritask.chain.anvil import Anvil
from veritask.chain.compiler import compile_contract
from veritask.chain.deploy import deploy_protocol
from veritask.chain.hub import Hub
from veritask.chain.transactions import send
from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.domain.ids import task_id
from veritask.domain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.domain.signing import sign_hash_eip191, sign_order
from veritask.domain.tasks import authorization_hash, enclave_message, result_hash, result_seal

RLC = 10**9
TEE_TAG = (1).to_bytes(32, "big")
# A 90-byte result pointer, in the shape the reference worker writes.
RESULTS = (
    b'{ "storage": "ipfs", "location": "/ipfs/QmTnxDh9ALDz1MiE1n9LGHgANh5A8KVzQmMUFRbn33Dc38" }\n'
)
assert len(RESULTS) == 90
REFERENCE_STEPS = {"matchOrders": 819_000}
REFERENCE = {
    "trust1_vol1": 1_823_201,
    "trust1_vol10": 1_116_794,
    "trust1_vol10_commit_reveal": 1_116_794,
    "trust3_vol10": 1_505_482,
    "tee_vol10": 882_099,
    "callback_vol1": 2_006_762,
    "claim_vol10": 310_213,
    # PoCo settles a failed task only by a claim after the final deadline.
    "failed_trust1_vol10": 310_213,
    "failed_trust3_vol10": 310_213,
}
TARGET = {
    "trust1_vol1": 600_000,
    "trust1_vol10": 200_000,
    "trust3_vol10": 350_000,
    "tee_vol10": 120_000,
}


@dataclass
class Bench:
    w3: Web3
    client: Hub
    deployer: LocalAccount
    app_owner: LocalAccount
    dataset_owner: LocalAccount
    scheduler: LocalAccount
    requester: LocalAccount
    app: str
    tee_app: str
    dataset: str
    workerpool: str
    counter: int = 0

    def account(self, name: str) -> LocalAccount:
        account: LocalAccount = Account.from_key(keccak(text=f"veritask gas bench {name}"))
        self.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
        return account

    def fresh_worker(self) -> LocalAccount:
        self.counter += 1
        worker = self.account(f"worker {self.counter}")
        self.client.transfer_tokens(self.deployer, worker.address, 100 * RLC)
        self.client.deposit(worker, 100 * RLC)
        return worker

    def match(
        self, name: str, volume: int, trust: int, *, tee: bool = False, callback: str = ZERO_ADDRESS
    ) -> tuple[bytes, int]:
        salt, domain = keccak(text=name), self.client.domain
        tag = TEE_TAG if tee else bytes(32)
        app = self.tee_app if tee else self.app
        orders = (
            sign_order(AppOrder(app, RLC, volume, tag=tag, salt=salt), domain, self.app_owner.key),
            sign_order(
                DatasetOrder(self.dataset, RLC, volume, salt=salt), domain, self.dataset_owner.key
            ),
            sign_order(
                WorkerpoolOrder(
                    self.workerpool, RLC, volume, tag=tag, category=0, trust=trust, salt=salt
                ),
                domain,
                self.scheduler.key,
            ),
            sign_order(
                RequestOrder(
                    app=app,
                    appmaxprice=RLC,
                    dataset=self.dataset,
                    datasetmaxprice=RLC,
                    workerpool=self.workerpool,
                    workerpoolmaxprice=RLC,
                    requester=self.requester.address,
                    volume=volume,
                    tag=tag,
                    category=0,
                    trust=trust,
                    beneficiary=self.requester.address,
                    callback=callback,
                    params='{"iexec_args":"bench"}',
                    salt=salt,
                ),
                domain,
                self.requester.key,
            ),
        )
        result = self.client.match_orders(self.requester, *orders)  # type: ignore[arg-type]
        return result.deal_id, result.receipt.gas_used

    def auth(self, worker: str, task: bytes, enclave: str = ZERO_ADDRESS) -> bytes:
        return sign_hash_eip191(authorization_hash(worker, task, enclave), self.scheduler.key)

    def run_task(
        self,
        deal: bytes,
        index: int,
        workers: int,
        callback_data: bytes = b"",
        failure: FailureRecord | None = None,
    ) -> int:
        """A task through commit-reveal: every worker contributes, all but the last reveal,
        and the last one (the uploader) reveals in its finalize call. With `failure`, the
        workers agree on that failure record and the task settles as failed."""
        task = task_id(deal, index)
        digest = keccak(callback_data) if callback_data else keccak(text=f"result {index}")
        if failure is not None:
            digest = failure.digest()
        crew = [self.fresh_worker() for _ in range(workers)]
        gas = 0
        for worker in crew:
            receipt = self.client.contribute(
                worker, deal, index, digest, self.auth(worker.address, task)
            )
            gas += receipt.gas_used
        for worker in crew[:-1]:
            gas += self.client.reveal(worker, deal, index, digest).gas_used
        receipt = self.client.finalize(
            crew[-1],
            deal,
            index,
            digest,
            RESULTS if failure is None else failure.encode(),
            [w.address for w in crew],
            results_callback=callback_data,
        )
        return gas + receipt.gas_used

    def run_one_call_task(
        self,
        deal: bytes,
        index: int,
        *,
        tee: bool,
        callback_data: bytes = b"",
        failure: FailureRecord | None = None,
    ) -> int:
        """A trust-1 task through `contribute_and_finalize` (with an enclave if `tee`);
        with `failure`, settled as failed with that record."""
        task = task_id(deal, index)
        worker = self.fresh_worker()
        digest = keccak(callback_data) if callback_data else keccak(text=f"result {index}")
        if failure is not None:
            digest = failure.digest()
        enclave, enclave_sign = ZERO_ADDRESS, b""
        if tee:
            key = self.account(f"enclave {self.counter}")
            enclave = key.address
            message = enclave_message(
                result_hash(task, digest), result_seal(worker.address, task, digest)
            )
            enclave_sign = sign_hash_eip191(message, key.key)
        receipt = self.client.contribute_and_finalize(
            worker,
            deal,
            index,
            digest,
            RESULTS if failure is None else failure.encode(),
            enclave,
            enclave_sign,
            self.auth(worker.address, task, enclave),
            results_callback=callback_data,
        )
        return receipt.gas_used


def setup(anvil: Anvil) -> Bench:
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    deployer: LocalAccount = Account.from_key(keccak(text="veritask gas bench deployer"))
    w3.provider.make_request("anvil_setBalance", [deployer.address, hex(10**20)])  # type: ignore[arg-type]
    client = Hub.over(w3, deploy_protocol(w3, deployer))
    bench = Bench(w3, client, deployer, *(4 * [deployer]), "", "", "", "")  # type: ignore[arg-type]
    bench.app_owner, bench.dataset_owner = bench.account("app owner"), bench.account("dataset")
    bench.scheduler, bench.requester = bench.account("scheduler"), bench.account("requester")
    bench.app = client.create_app(
        bench.app_owner, "bench", "DOCKER", b"docker.io/x/b:1", keccak(b"a")
    )
    bench.tee_app = client.create_app(
        bench.app_owner, "bench-tee", "DOCKER", b"docker.io/x/b:1", keccak(b"a"), b'{"tee":1}'
    )
    bench.dataset = client.create_dataset(bench.dataset_owner, "data", b"/ipfs/bafkd", keccak(b"d"))
    bench.workerpool = client.create_workerpool(bench.scheduler, "bench pool")
    for account in (bench.requester, bench.scheduler):
        client.transfer_tokens(deployer, account.address, 100_000 * RLC)
        client.deposit(account, 100_000 * RLC)
    return bench


def measure(bench: Bench) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    steps: dict[str, int] = {}
    scenarios: dict[str, dict[str, int]] = {}

    # Trust 1 runs in one call per task, as the scheduler does it; the commit-reveal
    # figures of the same scenarios are reported beside them.
    deal, match_gas = bench.match("trust1_vol1", 1, 1)
    steps["matchOrders"] = match_gas
    one_call = bench.run_one_call_task(deal, 0, tee=False)
    steps["contribute_and_finalize"] = one_call
    scenarios["trust1_vol1"] = {"gas_per_task": match_gas + one_call}

    deal, match_gas = bench.match("trust1_vol10", 10, 1)
    steps["matchOrders_vol10"] = match_gas
    total = match_gas + sum(bench.run_one_call_task(deal, i, tee=False) for i in range(10))
    scenarios["trust1_vol10"] = {"gas_per_task": total // 10}

    deal, match_gas = bench.match("trust1_vol10_commit_reveal", 10, 1)
    total = match_gas + sum(bench.run_task(deal, i, 1) for i in range(10))
    scenarios["trust1_vol10_commit_reveal"] = {"gas_per_task": total // 10}

    deal, match_gas = bench.match("trust3_vol10", 10, 3)
    total = match_gas + sum(bench.run_task(deal, i, 2) for i in range(10))
    scenarios["trust3_vol10"] = {"gas_per_task": total // 10}

    deal, match_gas = bench.match("tee_vol10", 10, 1, tee=True)
    total = match_gas + sum(bench.run_one_call_task(deal, i, tee=True) for i in range(10))
    scenarios["tee_vol10"] = {"gas_per_task": total // 10}

    # Failed and settled at once: the workers agree on a failure record (the app exited 1).
    failure = FailureRecord(FailureKind.APP_EXIT, 1, stderr_digest(b"Traceback: boom\n"))
    deal, match_gas = bench.match("failed_trust1_vol10", 10, 1)
    total = match_gas + sum(
        bench.run_one_call_task(deal, i, tee=False, failure=failure) for i in range(10)
    )
    scenarios["failed_trust1_vol10"] = {"gas_per_task": total // 10}

    deal, match_gas = bench.match("failed_trust3_vol10", 10, 3)
    total = match_gas + sum(bench.run_task(deal, i, 2, failure=failure) for i in range(10))
    scenarios["failed_trust3_vol10"] = {"gas_per_task": total // 10}

    store = compile_contract("mocks/result_store.vy")
    factory = bench.w3.eth.contract(abi=store.abi, bytecode=store.bytecode)
    receiver = send(bench.w3, bench.deployer, factory.constructor(0))["contractAddress"]
    deal, match_gas = bench.match("callback_vol1", 1, 1, callback=str(receiver))
    data = encode(["uint256", "uint256"], [123_456_789, 1_700_000_000])
    one_call = bench.run_one_call_task(deal, 0, tee=False, callback_data=data)
    scenarios["callback_vol1"] = {"gas_per_task": match_gas + one_call}

    deal, match_gas = bench.match("claim_vol10", 10, 1)
    bench.w3.provider.make_request("evm_increaseTime", [10 * 300 + 1])  # type: ignore[arg-type]
    bench.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    claim_gas = bench.client.claim(bench.requester, deal, list(range(10))).gas_used
    steps["claim_vol10"] = claim_gas
    scenarios["claim_vol10"] = {"gas_per_task": (match_gas + claim_gas) // 10}
    return steps, scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with Anvil() as anvil:
        steps, scenarios = measure(setup(anvil))
    print(f"{'scenario':<28} {'veritask':>10} {'reference':>10} {'ratio':>6} {'target':>9}")
    for name, figures in scenarios.items():
        gas, reference = figures["gas_per_task"], REFERENCE[name]
        target = TARGET.get(name)
        verdict = "" if target is None else ("ok" if gas <= target else "MISSED")
        target_text = f"{target:,}" if target else "-"
        ratio = gas / reference
        print(f"{name:<28} {gas:>10,} {reference:>10,} {ratio:>6.2f} {target_text:>9} {verdict}")
    print()
    for name, gas in steps.items():
        print(f"step {name:<23} {gas:>10,}")
    if args.json:
        payload = {"steps": steps, "scenarios": scenarios, "reference": REFERENCE}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
