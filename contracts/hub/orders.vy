# pragma version ~=0.4.3
"""
@title orders
@notice Owns order identity and signatures: the EIP-712 digests of the four order types
        (PoCo's domain and type strings, bit for bit), the volume each order has used, and
        presignatures. An order is signed by its asset's current owner (the requester for
        a request order) in one of three ways: ECDSA (65 or 64 bytes), a presignature
        made on chain, or ERC-1271 when the signer is a contract. Orders never expire;
        their owner cancels them on chain.
"""

from snekmate.utils import eip712_domain_separator as eip712
from . import assets

initializes: eip712
uses: assets

# Longest accepted signature: ECDSA needs 65 bytes, ERC-1271 wallets may need more.
SIGNATURE_MAX: constant(uint256) = 512
# Request parameters (the app's arguments, input files...) are a JSON string.
PARAMS_MAX: constant(uint256) = 4_096

# The upper bound of `s` in a canonical ECDSA signature (secp256k1 order / 2).
S_MAX: constant(uint256) = (
    57_896_044_618_658_097_711_785_492_504_343_953_926_418_782_139_537_452_191_302_581_570_759_080_747_168
)
_ERC1271_MAGIC: constant(bytes4) = 0x1626ba7e

APP_ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "AppOrder(address app,uint256 appprice,uint256 volume,bytes32 tag,address datasetrestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
)
DATASET_ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "DatasetOrder(address dataset,uint256 datasetprice,uint256 volume,bytes32 tag,address apprestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
)
WORKERPOOL_ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "WorkerpoolOrder(address workerpool,uint256 workerpoolprice,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address apprestrict,address datasetrestrict,address requesterrestrict,bytes32 salt)"
)
REQUEST_ORDER_TYPEHASH: constant(bytes32) = keccak256(
    "RequestOrder(address app,uint256 appmaxprice,address dataset,uint256 datasetmaxprice,address workerpool,uint256 workerpoolmaxprice,address requester,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address beneficiary,address callback,string params,bytes32 salt)"
)


struct AppOrder:
    app: address
    appprice: uint256
    volume: uint256
    tag: bytes32
    datasetrestrict: address
    workerpoolrestrict: address
    requesterrestrict: address
    salt: bytes32
    sign: Bytes[SIGNATURE_MAX]


struct DatasetOrder:
    dataset: address
    datasetprice: uint256
    volume: uint256
    tag: bytes32
    apprestrict: address
    workerpoolrestrict: address
    requesterrestrict: address
    salt: bytes32
    sign: Bytes[SIGNATURE_MAX]


struct WorkerpoolOrder:
    workerpool: address
    workerpoolprice: uint256
    volume: uint256
    tag: bytes32
    category: uint256
    trust: uint256
    apprestrict: address
    datasetrestrict: address
    requesterrestrict: address
    salt: bytes32
    sign: Bytes[SIGNATURE_MAX]


struct RequestOrder:
    app: address
    appmaxprice: uint256
    dataset: address
    datasetmaxprice: uint256
    workerpool: address
    workerpoolmaxprice: uint256
    requester: address
    volume: uint256
    tag: bytes32
    category: uint256
    trust: uint256
    beneficiary: address
    callback: address
    params: String[PARAMS_MAX]
    salt: bytes32
    sign: Bytes[SIGNATURE_MAX]


# @dev Volume used by each order, keyed by its digest; a cancelled order has used it all.
consumed: public(HashMap[bytes32, uint256])
# @dev Who presigned each order digest on chain.
presigned: public(HashMap[bytes32, address])


# @dev Emitted when `signer`, the owner, signs the order `order_hash` on chain.
event OrderPresigned:
    order_hash: indexed(bytes32)
    signer: indexed(address)


# @dev Emitted when `owner` cancels the order `order_hash` for good.
event OrderCancelled:
    order_hash: indexed(bytes32)
    owner: indexed(address)


@deploy
def __init__():
    eip712.__init__("iExecODB", "5.0.0")


@internal
@view
def _app_order_hash(order: AppOrder) -> bytes32:
    return eip712._hash_typed_data_v4(keccak256(abi_encode(
        APP_ORDER_TYPEHASH, order.app, order.appprice, order.volume, order.tag,
        order.datasetrestrict, order.workerpoolrestrict, order.requesterrestrict, order.salt,
    )))


@internal
@view
def _dataset_order_hash(order: DatasetOrder) -> bytes32:
    return eip712._hash_typed_data_v4(keccak256(abi_encode(
        DATASET_ORDER_TYPEHASH, order.dataset, order.datasetprice, order.volume, order.tag,
        order.apprestrict, order.workerpoolrestrict, order.requesterrestrict, order.salt,
    )))


@internal
@view
def _workerpool_order_hash(order: WorkerpoolOrder) -> bytes32:
    return eip712._hash_typed_data_v4(keccak256(abi_encode(
        WORKERPOOL_ORDER_TYPEHASH, order.workerpool, order.workerpoolprice, order.volume,
        order.tag, order.category, order.trust, order.apprestrict, order.datasetrestrict,
        order.requesterrestrict, order.salt,
    )))


@internal
@view
def _request_order_hash(order: RequestOrder) -> bytes32:
    return eip712._hash_typed_data_v4(keccak256(abi_encode(
        REQUEST_ORDER_TYPEHASH, order.app, order.appmaxprice, order.dataset,
        order.datasetmaxprice, order.workerpool, order.workerpoolmaxprice, order.requester,
        order.volume, order.tag, order.category, order.trust, order.beneficiary,
        order.callback, keccak256(order.params), order.salt,
    )))


@internal
@pure
def _ecrecover(digest: bytes32, signature: Bytes[65]) -> address:
    # The signer of a 65-byte or 64-byte (EIP-2098) ECDSA signature with a canonical s,
    # else the zero address, so that a failed ECDSA check can fall through to the
    # presignature and ERC-1271 checks. tasks.vy recovers authorizations and enclave
    # signatures with it on the per-task path, hence its shape: a Bytes[65] parameter
    # (a Bytes[SIGNATURE_MAX] one grows the memory of every caller's frame, about 60 gas
    # per `contribute`) and branches that pass the words straight to ecrecover.
    if len(signature) == 65:
        s: uint256 = extract32(signature, 32, output_type=uint256)
        if s > S_MAX:
            return empty(address)
        return ecrecover(
            digest,
            convert(slice(signature, 64, 1), uint256),
            extract32(signature, 0, output_type=uint256),
            s,
        )
    if len(signature) == 64:
        # EIP-2098 compact form: the top bit of the second word is v - 27.
        vs: uint256 = extract32(signature, 32, output_type=uint256)
        compact_s: uint256 = vs & convert(max_value(int256), uint256)
        if compact_s > S_MAX:
            return empty(address)
        # vs >> 255 is 0 or 1: the sum is 27 or 28.
        return ecrecover(
            digest, unsafe_add(vs >> 255, 27), extract32(signature, 0, output_type=uint256), compact_s
        )
    return empty(address)


@internal
@view
def _is_signed_by(signer: address, digest: bytes32, signature: Bytes[SIGNATURE_MAX]) -> bool:
    # ECDSA first because it is the common case and needs no storage read; the order of
    # the checks does not change which signatures are accepted, since an address with
    # code has no key to produce a valid ECDSA signature.
    if signer == empty(address):
        return False
    # An ECDSA signature is 65 or 64 bytes: a slice of that length fits `_ecrecover`.
    length: uint256 = len(signature)
    if length == 65 and self._ecrecover(digest, slice(signature, 0, 65)) == signer:
        return True
    if length == 64 and self._ecrecover(digest, slice(signature, 0, 64)) == signer:
        return True
    if self.presigned[digest] == signer:
        return True
    if signer.is_contract:
        success: bool = False
        response: Bytes[32] = b""
        success, response = raw_call(
            signer,
            abi_encode(digest, signature, method_id=method_id("isValidSignature(bytes32,bytes)")),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )
        return success and len(response) == 32 and convert(slice(response, 0, 4), bytes4) == _ERC1271_MAGIC
    return False


@internal
def _presign(order_hash: bytes32, owner: address):
    assert owner == msg.sender, "orders: caller is not the owner"
    self.presigned[order_hash] = msg.sender
    log OrderPresigned(order_hash=order_hash, signer=msg.sender)


@internal
def _cancel(order_hash: bytes32, owner: address, volume: uint256):
    assert owner == msg.sender, "orders: caller is not the owner"
    self.consumed[order_hash] = volume
    log OrderCancelled(order_hash=order_hash, owner=msg.sender)


@external
def presign_app_order(order: AppOrder):
    """
    @notice Signs an app order on chain; only the app's owner may.
    """
    self._presign(self._app_order_hash(order), assets._app_owner(order.app))


@external
def presign_dataset_order(order: DatasetOrder):
    """
    @notice Signs a dataset order on chain; only the dataset's owner may.
    """
    self._presign(self._dataset_order_hash(order), assets._dataset_owner(order.dataset))


@external
def presign_workerpool_order(order: WorkerpoolOrder):
    """
    @notice Signs a workerpool order on chain; only the workerpool's owner may.
    """
    self._presign(self._workerpool_order_hash(order), assets._workerpool_owner(order.workerpool))


@external
def presign_request_order(order: RequestOrder):
    """
    @notice Signs a request order on chain; only its requester may.
    """
    self._presign(self._request_order_hash(order), order.requester)


@external
def cancel_app_order(order: AppOrder):
    """
    @notice Cancels an app order for good (its whole volume becomes used); only the app's
            owner may.
    """
    self._cancel(self._app_order_hash(order), assets._app_owner(order.app), order.volume)


@external
def cancel_dataset_order(order: DatasetOrder):
    """
    @notice Cancels a dataset order for good; only the dataset's owner may.
    """
    self._cancel(
        self._dataset_order_hash(order), assets._dataset_owner(order.dataset), order.volume
    )


@external
def cancel_workerpool_order(order: WorkerpoolOrder):
    """
    @notice Cancels a workerpool order for good; only the workerpool's owner may.
    """
    self._cancel(
        self._workerpool_order_hash(order),
        assets._workerpool_owner(order.workerpool),
        order.volume,
    )


@external
def cancel_request_order(order: RequestOrder):
    """
    @notice Cancels a request order for good; only its requester may.
    """
    self._cancel(self._request_order_hash(order), order.requester, order.volume)


@external
@view
def hash_app_order(order: AppOrder) -> bytes32:
    """
    @notice The EIP-712 digest (the identity) of an app order.
    """
    return self._app_order_hash(order)


@external
@view
def hash_dataset_order(order: DatasetOrder) -> bytes32:
    """
    @notice The EIP-712 digest (the identity) of a dataset order.
    """
    return self._dataset_order_hash(order)


@external
@view
def hash_workerpool_order(order: WorkerpoolOrder) -> bytes32:
    """
    @notice The EIP-712 digest (the identity) of a workerpool order.
    """
    return self._workerpool_order_hash(order)


@external
@view
def hash_request_order(order: RequestOrder) -> bytes32:
    """
    @notice The EIP-712 digest (the identity) of a request order.
    """
    return self._request_order_hash(order)


@external
@view
def domain_separator() -> bytes32:
    """
    @notice The EIP-712 domain separator of the orders (name "iExecODB", version "5.0.0").
    """
    return eip712._domain_separator_v4()
