"""`ChainSession`: what every SDK namespace works through — one chain profile's node, its
hub (located from the profile on first use) and the wallet that signs, if any. The
namespaces (`Assets`, `Orders`, `Deals`, `Runs`, `Categories`) take a session, never the
`Veritask` facade, so none of them imports the facade back.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from eth_account.signers.local import LocalAccount

from veritask.chain.hub import Hub
from veritask.chain.node import Node
from veritask.chain.transactions import GasPolicy
from veritask.errors import ChainError, InvalidInput

from .config import Profile

__all__ = ["DEFAULT_TIMEOUT_S", "ChainSession"]

DEFAULT_TIMEOUT_S = 5.0
# A person's transactions are checked against their gas money before anything is sent.
_GAS = GasPolicy(check_funds=True)


class ChainSession:
    """A connection to the chain of `profile`, signing as `signer` when one is given.

    The constructor contacts the node (and checks its chain id against the profile's);
    the hub is located from `profile.hub` on first use.
    """

    def __init__(
        self,
        profile: Profile,
        signer: LocalAccount | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.profile = profile
        self.signer = signer
        self.timeout_s = timeout_s
        self.node = Node.at(
            profile.rpc_url,
            timeout_s=timeout_s,
            label=f"profile {profile.name!r}",
            unreachable_hint="start it with `./scripts/demo --keep` or check --rpc-url",
            rpc_hint="check --rpc-url",
        )
        self._hub: Hub | None = None
        self.chain_id = self.node.chain_id()
        if profile.chain_id is not None and profile.chain_id != self.chain_id:
            raise ChainError(
                f"the node at {profile.rpc_url} runs chain {self.chain_id}, but profile "
                f"{profile.name!r} expects chain {profile.chain_id}: check its rpc_url and "
                "chain_id"
            )

    @property
    def hub(self) -> Hub:
        """The deployed protocol, found from the profile's hub address."""
        if self._hub is None:
            if self.profile.hub is None:
                raise InvalidInput(
                    f"profile {self.profile.name!r} has no hub address: set hub in "
                    "veritask.toml, VERITASK_HUB or --hub"
                )
            self._hub = Hub(self.node, self.node.deployment(self.profile.hub), gas=_GAS)
        return self._hub

    def require_signer(self, action: str) -> LocalAccount:
        """The wallet, or `InvalidInput` naming the `action` that needs one."""
        if self.signer is None:
            raise InvalidInput(f"{action} needs a wallet: give Veritask an unlocked account")
        return self.signer

    def errors(self) -> AbstractContextManager[None]:
        """Translates node failures for code that reads the node directly."""
        return self.node.errors()

    def now(self) -> int:
        """The latest block's timestamp: chain time."""
        return self.node.block_time()
