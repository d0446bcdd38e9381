"""The market's composition root: the database (migrated), the chain view and event feed
(from the settings' node and hub, unless injected), the book, live updates and the
follower. `Market.open` builds it; the HTTP app and the server wrap it."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils.address import to_checksum_address

from veritask.chain.hub import Hub
from veritask.chain.node import Node
from veritask.chain.order_facts import OrderReader
from veritask.errors import InvalidInput
from veritask.serving import make_engine, migrate

from .follower import EventFeed, FollowerThread, MarketFollower
from .live import Broadcaster
from .migrations import MIGRATIONS
from .settings import MarketSettings
from .store import Store

__all__ = ["Market"]


@dataclass
class Market:
    settings: MarketSettings
    store: Store
    chain: OrderReader
    broadcaster: Broadcaster
    follower: MarketFollower | None
    _thread: FollowerThread | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        settings: MarketSettings,
        *,
        chain: OrderReader | None = None,
        feed: EventFeed | None = None,
        registries: dict[str, str] | None = None,
    ) -> Market:
        """Connects to the database (migrating it) and to the chain. With `chain` given
        (tests), no node is contacted and the follower exists only if `feed` is given."""
        engine = make_engine(settings.database_url)
        migrate(engine, MIGRATIONS)
        store = Store(engine)
        broadcaster = Broadcaster()
        if chain is None:
            if settings.hub is None:
                raise InvalidInput("the market needs the hub address: --hub or VERITASK_MARKET_HUB")
            node = Node.at(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
            hub_port = Hub(node, node.deployment(settings.hub))
            deployment = hub_port.deployment
            chain = hub_port
            registries = {
                deployment.app_registry: "app",
                deployment.dataset_registry: "dataset",
                deployment.workerpool_registry: "workerpool",
            }
            feed = hub_port.follower(
                registries=True,
                confirmations=settings.confirmations,
                max_blocks=settings.max_blocks,
            )
        domain = chain.domain
        hub = to_checksum_address(domain.verifying_contract)
        try:
            store.init_cursor(domain.chain_id, hub, settings.start_block)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        follower = None
        if feed is not None:
            follower = MarketFollower(
                store,
                feed,
                chain,
                broadcaster,
                hub=hub,
                registries=registries or {},
                start_block=settings.start_block,
            )
        return cls(settings, store, chain, broadcaster, follower)

    def start(self) -> None:
        """Starts following the chain in a thread (when the settings ask for it)."""
        if self.follower is not None and self.settings.follow_chain and self._thread is None:
            self._thread = FollowerThread(self.follower, self.settings.poll_interval_s)
            self._thread.start()

    def stop(self) -> None:
        self.broadcaster.close()
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.store.engine.dispose()
