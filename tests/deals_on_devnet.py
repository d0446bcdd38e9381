"""A deal in every task state on a devnet, for the deal and task tests of the SDK and CLI:
four trust-1 tasks of category XS (C = 300 s): task 0 completed in one call, task 1 started
(one contribution, in its reveal window), tasks 2 and 3 never started."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import RLC, Devnet, demo_account
from tests.orders import SigningKeys, signed_orders
from veritask.domain.ids import task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import FINAL_DEADLINE_RATIO, authorization_hash

APP_PRICE = 2 * RLC
WORKERPOOL_PRICE = 3 * RLC
TASK_PRICE = APP_PRICE + WORKERPOOL_PRICE
VOLUME = 4
TIME_REF = 300  # category 0
FINAL_AFTER_S = FINAL_DEADLINE_RATIO * TIME_REF
RESULTS = (
    b'{"storage":"ipfs","location":"/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy"}'
)
PARAMS = '{"iexec_args":"deal test"}'


@dataclass(frozen=True)
class DealOnDevnet:
    deal_id: bytes
    requester: LocalAccount
    scheduler: LocalAccount
    worker: LocalAccount
    app: str
    workerpool: str
    digest: bytes  # of task 0's result

    @property
    def deal_hex(self) -> str:
        return "0x" + self.deal_id.hex()

    def task_hex(self, index: int) -> str:
        return "0x" + task_id(self.deal_id, index).hex()


def make_deal(devnet: Devnet, requester: LocalAccount) -> DealOnDevnet:
    """Matches the deal for `requester` (funded here) and runs tasks 0 and 1."""
    developer = demo_account("deal test app developer")
    scheduler = demo_account("deal test scheduler")
    worker = demo_account("deal test worker")
    client = devnet.client
    for account in (developer, scheduler, worker, requester):
        devnet.fund(account.address, tokens_nrlc=100 * RLC)
    for account in (scheduler, worker, requester):
        client.deposit(account, 100 * RLC)
    app = client.create_app(
        developer, "deal test", "DOCKER", b"localhost/veritask/deal:1", keccak(b"deal")
    )
    workerpool = client.create_workerpool(scheduler, "deal test workerpool")
    orders = signed_orders(
        client.domain,
        SigningKeys(app=developer.key, workerpool=scheduler.key, requester=requester.key),
        app=app,
        workerpool=workerpool,
        requester=requester.address,
        app_price_nrlc=APP_PRICE,
        workerpool_price_nrlc=WORKERPOOL_PRICE,
        volume=VOLUME,
        params=PARAMS,
    )
    matched = client.match_orders(requester, *orders)
    deal = matched.deal_id
    digest = keccak(text="deal test result")

    def auth(index: int) -> bytes:
        message = authorization_hash(worker.address, task_id(deal, index), ZERO_ADDRESS)
        return sign_hash_eip191(message, scheduler.key)

    client.contribute_and_finalize(worker, deal, 0, digest, RESULTS, ZERO_ADDRESS, b"", auth(0))
    client.contribute(worker, deal, 1, keccak(text="started"), auth(1))
    return DealOnDevnet(deal, requester, scheduler, worker, app, workerpool, digest)


def travel(devnet: Devnet, seconds: int) -> None:
    devnet.rpc("evm_increaseTime", seconds)
    devnet.rpc("evm_mine")
