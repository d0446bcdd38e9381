"""The four PoCo order types and their EIP-712 identity, bit-compatible with iExec PoCo.

An order's identity everywhere (consumed volume, presignature, deal id) is its EIP-712
digest under the domain ("iExecODB", "5.0.0", chain id, hub address). `sign` is carried
with the order but is not part of the digest.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any, ClassVar, TypeAlias

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "ZERO_ADDRESS",
    "ZERO_BYTES32",
    "AppOrder",
    "DatasetOrder",
    "Domain",
    "Order",
    "RequestOrder",
    "WorkerpoolOrder",
    "domain_separator",
    "order_digest",
    "struct_hash",
    "typed_data",
]

DOMAIN_NAME = "iExecODB"
DOMAIN_VERSION = "5.0.0"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = b"\x00" * 32

_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"


@dataclass(frozen=True)
class Domain:
    """Where orders are valid: one hub on one chain."""

    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


@dataclass(frozen=True)
class _OrderBase:
    # (field name, EIP-712 type) in hashing order; set by each order type.
    TYPE_NAME: ClassVar[str]
    FIELDS: ClassVar[tuple[tuple[str, str], ...]]

    @classmethod
    def type_string(cls) -> str:
        members = ",".join(f"{kind} {name}" for name, kind in cls.FIELDS)
        return f"{cls.TYPE_NAME}({members})"

    @classmethod
    def typehash(cls) -> bytes:
        return keccak(text=cls.type_string())

    def as_tuple(self) -> tuple[Any, ...]:
        """The order as the hub's ABI takes it (all fields, `sign` last)."""
        return astuple(self)

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (every hashed field, `sign` excluded)."""
        return {name: getattr(self, name) for name, _ in self.FIELDS}

    def with_sign(self, sign: bytes) -> Order:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["sign"] = sign
        return type(self)(**values)  # type: ignore[return-value]


@dataclass(frozen=True)
class AppOrder(_OrderBase):
    """An app owner's offer: run `app` for `appprice` nRLC per task, `volume` times."""

    TYPE_NAME: ClassVar[str] = "AppOrder"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("app", "address"),
        ("appprice", "uint256"),
        ("volume", "uint256"),
        ("tag", "bytes32"),
        ("datasetrestrict", "address"),
        ("workerpoolrestrict", "address"),
        ("requesterrestrict", "address"),
        ("salt", "bytes32"),
    )

    app: str
    appprice: int
    volume: int
    tag: bytes = ZERO_BYTES32
    datasetrestrict: str = ZERO_ADDRESS
    workerpoolrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = ZERO_BYTES32
    sign: bytes = b""


@dataclass(frozen=True)
class DatasetOrder(_OrderBase):
    """A data owner's offer: let `dataset` be used for `datasetprice` nRLC per task."""

    TYPE_NAME: ClassVar[str] = "DatasetOrder"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("dataset", "address"),
        ("datasetprice", "uint256"),
        ("volume", "uint256"),
        ("tag", "bytes32"),
        ("apprestrict", "address"),
        ("workerpoolrestrict", "address"),
        ("requesterrestrict", "address"),
        ("salt", "bytes32"),
    )

    dataset: str = ZERO_ADDRESS
    datasetprice: int = 0
    volume: int = 0
    tag: bytes = ZERO_BYTES32
    apprestrict: str = ZERO_ADDRESS
    workerpoolrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = ZERO_BYTES32
    sign: bytes = b""


@dataclass(frozen=True)
class WorkerpoolOrder(_OrderBase):
    """A workerpool owner's offer: compute in `category` up to `trust` for a price."""

    TYPE_NAME: ClassVar[str] = "WorkerpoolOrder"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("workerpool", "address"),
        ("workerpoolprice", "uint256"),
        ("volume", "uint256"),
        ("tag", "bytes32"),
        ("category", "uint256"),
        ("trust", "uint256"),
        ("apprestrict", "address"),
        ("datasetrestrict", "address"),
        ("requesterrestrict", "address"),
        ("salt", "bytes32"),
    )

    workerpool: str
    workerpoolprice: int
    volume: int
    tag: bytes = ZERO_BYTES32
    category: int = 0
    trust: int = 0
    apprestrict: str = ZERO_ADDRESS
    datasetrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = ZERO_BYTES32
    sign: bytes = b""


@dataclass(frozen=True)
class RequestOrder(_OrderBase):
    """A requester's demand: run `app` (on `dataset`) `volume` times at most at these prices."""

    TYPE_NAME: ClassVar[str] = "RequestOrder"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("app", "address"),
        ("appmaxprice", "uint256"),
        ("dataset", "address"),
        ("datasetmaxprice", "uint256"),
        ("workerpool", "address"),
        ("workerpoolmaxprice", "uint256"),
        ("requester", "address"),
        ("volume", "uint256"),
        ("tag", "bytes32"),
        ("category", "uint256"),
        ("trust", "uint256"),
        ("beneficiary", "address"),
        ("callback", "address"),
        ("params", "string"),
        ("salt", "bytes32"),
    )

    app: str
    appmaxprice: int
    requester: str
    volume: int
    dataset: str = ZERO_ADDRESS
    datasetmaxprice: int = 0
    workerpool: str = ZERO_ADDRESS
    workerpoolmaxprice: int = 0
    tag: bytes = ZERO_BYTES32
    category: int = 0
    trust: int = 0
    beneficiary: str = ZERO_ADDRESS
    callback: str = ZERO_ADDRESS
    params: str = ""
    salt: bytes = ZERO_BYTES32
    sign: bytes = b""
    # The ABI's field order differs from the dataclass's (which puts required fields
    # first), so the tuple is built explicitly.
    _ABI_ORDER: ClassVar[tuple[str, ...]] = (*(name for name, _ in FIELDS), "sign")

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._ABI_ORDER)


Order: TypeAlias = AppOrder | DatasetOrder | WorkerpoolOrder | RequestOrder


def _encode_value(kind: str, value: Any) -> tuple[str, Any]:
    if kind == "string":
        return "bytes32", keccak(text=value)
    if kind == "address":
        return "address", to_checksum_address(value)
    return kind, value


def struct_hash(order: Order) -> bytes:
    """hashStruct(order) as EIP-712 defines it."""
    kinds = ["bytes32"]
    values: list[Any] = [order.typehash()]
    for name, kind in order.FIELDS:
        enc_kind, enc_value = _encode_value(kind, getattr(order, name))
        kinds.append(enc_kind)
        values.append(enc_value)
    return keccak(encode(kinds, values))


def domain_separator(domain: Domain) -> bytes:
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text=_DOMAIN_TYPE),
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                domain.chain_id,
                to_checksum_address(domain.verifying_contract),
            ],
        )
    )


def order_digest(order: Order, domain: Domain) -> bytes:
    """The order's identity: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(order))."""
    return keccak(b"\x19\x01" + domain_separator(domain) + struct_hash(order))


def typed_data(order: Order, domain: Domain) -> dict[str, Any]:
    """The full EIP-712 message, as wallets and eth-account's encoder take it."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            order.TYPE_NAME: [{"name": name, "type": kind} for name, kind in order.FIELDS],
        },
        "primaryType": order.TYPE_NAME,
        "domain": domain.as_dict(),
        "message": order.message(),
    }
