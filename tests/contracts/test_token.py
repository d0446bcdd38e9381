"""RLC token (contracts/token/rlc.vy): the snekmate ERC-20 it exports, its minter and owner
roles, EIP-2612 permit, and `approveAndCall`, which deposits into the hub in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_utils import keccak

from tests.support import RLC, ZERO

TOKEN_PATH = str(Path(__file__).resolve().parents[2] / "contracts/token/rlc.vy")
SUPPLY = 87_000_000 * RLC
MAX_UINT256 = 2**256 - 1


def _events(logs: list[Any], name: str) -> list[Any]:
    return [ev for ev in logs if type(ev).__name__ == name]


def _one(logs: list[Any], name: str) -> Any:
    found = _events(logs, name)
    assert len(found) == 1, [type(ev).__name__ for ev in logs]
    return found[0]


def _names(logs: list[Any]) -> list[str]:
    return [type(ev).__name__ for ev in logs]


def _give(protocol, actor, amount: int) -> None:
    with boa.env.prank(protocol.actors["deployer"].address):
        protocol.token.transfer(actor.address, amount)


def _sign_permit(
    protocol, signer, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> tuple[int, bytes, bytes]:
    signed = Account.sign_typed_data(
        signer.key,
        domain_data={
            "name": "RLC",
            "version": "1",
            "chainId": boa.env.evm.patch.chain_id,
            "verifyingContract": protocol.token.address,
        },
        message_types={
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ]
        },
        message_data={
            "owner": owner,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# --- deployment and views -------------------------------------------------------------------


def test_deploy__initial_supply__mints_to_deployer_with_9_decimals(protocol) -> None:
    token = protocol.token
    deployer = protocol.actors["deployer"].address

    assert token.name() == "RLC"
    assert token.symbol() == "RLC"
    assert token.decimals() == 9
    assert token.totalSupply() == SUPPLY
    assert token.balanceOf(deployer) == SUPPLY
    assert token.balanceOf(protocol.actors["stranger"].address) == 0
    assert token.owner() == deployer
    assert token.is_minter(deployer) is True
    assert token.is_minter(protocol.actors["stranger"].address) is False
    assert token.nonces(deployer) == 0


def test_deploy__zero_initial_supply__mints_nothing(protocol) -> None:
    deployer = protocol.actors["stranger"].address
    with boa.env.prank(deployer):
        token = boa.load(TOKEN_PATH, 0)

    assert token.totalSupply() == 0
    assert token.balanceOf(deployer) == 0
    assert token.owner() == deployer
    assert token.is_minter(deployer) is True


def test_domain_separator__eip712_domain__matches_name_version_chain_and_address(
    protocol,
) -> None:
    token = protocol.token
    chain_id = boa.env.evm.patch.chain_id
    type_hash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        type_hash
        + keccak(text="RLC")
        + keccak(text="1")
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(token.address[2:]).rjust(32, b"\0")
    )

    assert bytes(token.DOMAIN_SEPARATOR()) == expected
    fields, name, version, domain_chain_id, contract, _salt, extensions = token.eip712Domain()
    assert bytes(fields) == b"\x0f"
    assert (name, version, domain_chain_id, contract) == ("RLC", "1", chain_id, token.address)
    assert list(extensions) == []


# --- transfer -------------------------------------------------------------------------------


def test_transfer__enough_balance__moves_tokens_and_emits_transfer(protocol) -> None:
    token = protocol.token
    deployer = protocol.actors["deployer"].address
    stranger = protocol.actors["stranger"].address

    with boa.env.prank(deployer):
        assert token.transfer(stranger, 7 * RLC) is True
    logs = token.get_logs()

    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.value) == (deployer, stranger, 7 * RLC)
    assert token.balanceOf(stranger) == 7 * RLC
    assert token.balanceOf(deployer) == SUPPLY - 7 * RLC
    assert token.totalSupply() == SUPPLY


def test_transfer__amount_above_balance__reverts(protocol) -> None:
    stranger = protocol.actors["stranger"]
    _give(protocol, stranger, 5)
    with boa.env.prank(stranger.address), boa.reverts("erc20: transfer amount exceeds balance"):
        protocol.token.transfer(protocol.actors["requester"].address, 6)


def test_transfer__zero_recipient__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("erc20: transfer to the zero address"),
    ):
        protocol.token.transfer(ZERO, 1)


# --- approve / transferFrom -----------------------------------------------------------------


def test_approve__spender__sets_allowance_and_emits_approval(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"].address
    spender = protocol.actors["stranger"].address

    with boa.env.prank(owner):
        assert token.approve(spender, 11 * RLC) is True
    logs = token.get_logs()

    ev = _one(logs, "Approval")
    assert (ev.owner, ev.spender, ev.value) == (owner, spender, 11 * RLC)
    assert token.allowance(owner, spender) == 11 * RLC
    assert token.allowance(spender, owner) == 0


def test_approve__zero_spender__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["requester"].address),
        boa.reverts("erc20: approve to the zero address"),
    ):
        protocol.token.approve(ZERO, 1)


def test_transfer_from__within_allowance__moves_tokens_and_spends_allowance(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    receiver = protocol.actors["scheduler"].address
    _give(protocol, owner, 10 * RLC)
    with boa.env.prank(owner.address):
        token.approve(spender, 8 * RLC)

    with boa.env.prank(spender):
        assert token.transferFrom(owner.address, receiver, 3 * RLC) is True
    logs = token.get_logs()

    approval = _one(logs, "Approval")
    assert (approval.owner, approval.spender, approval.value) == (owner.address, spender, 5 * RLC)
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        owner.address,
        receiver,
        3 * RLC,
    )
    assert token.allowance(owner.address, spender) == 5 * RLC
    assert token.balanceOf(owner.address) == 7 * RLC
    assert token.balanceOf(receiver) == 3 * RLC


def test_transfer_from__infinite_allowance__keeps_allowance(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    _give(protocol, owner, 10 * RLC)
    with boa.env.prank(owner.address):
        token.approve(spender, MAX_UINT256)

    with boa.env.prank(spender):
        token.transferFrom(owner.address, spender, 4 * RLC)
    logs = token.get_logs()

    assert _names(logs) == ["Transfer"]
    assert token.allowance(owner.address, spender) == MAX_UINT256
    assert token.balanceOf(spender) == 4 * RLC


def test_transfer_from__above_allowance__reverts(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    _give(protocol, owner, 10 * RLC)
    with boa.env.prank(owner.address):
        token.approve(spender, 2 * RLC)

    with boa.env.prank(spender), boa.reverts("erc20: insufficient allowance"):
        token.transferFrom(owner.address, spender, 2 * RLC + 1)


def test_transfer_from__above_balance__reverts(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    _give(protocol, owner, 1 * RLC)
    with boa.env.prank(owner.address):
        token.approve(spender, 5 * RLC)

    with boa.env.prank(spender), boa.reverts("erc20: transfer amount exceeds balance"):
        token.transferFrom(owner.address, spender, 2 * RLC)


# --- burn / burn_from -----------------------------------------------------------------------


def test_burn__own_tokens__reduces_balance_and_supply(protocol) -> None:
    token = protocol.token
    holder = protocol.actors["stranger"]
    _give(protocol, holder, 10 * RLC)

    with boa.env.prank(holder.address):
        token.burn(4 * RLC)
    logs = token.get_logs()

    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.value) == (holder.address, ZERO, 4 * RLC)
    assert token.balanceOf(holder.address) == 6 * RLC
    assert token.totalSupply() == SUPPLY - 4 * RLC


def test_burn__amount_above_balance__reverts(protocol) -> None:
    holder = protocol.actors["stranger"]
    _give(protocol, holder, 3)
    with boa.env.prank(holder.address), boa.reverts("erc20: burn amount exceeds balance"):
        protocol.token.burn(4)


def test_burn_from__within_allowance__burns_and_spends_allowance(protocol) -> None:
    token = protocol.token
    holder = protocol.actors["requester"]
    burner = protocol.actors["stranger"].address
    _give(protocol, holder, 10 * RLC)
    with boa.env.prank(holder.address):
        token.approve(burner, 6 * RLC)

    with boa.env.prank(burner):
        token.burn_from(holder.address, 6 * RLC)
    logs = token.get_logs()

    assert _one(logs, "Approval").value == 0
    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.value) == (holder.address, ZERO, 6 * RLC)
    assert token.allowance(holder.address, burner) == 0
    assert token.balanceOf(holder.address) == 4 * RLC
    assert token.totalSupply() == SUPPLY - 6 * RLC


def test_burn_from__above_allowance__reverts(protocol) -> None:
    holder = protocol.actors["requester"]
    _give(protocol, holder, 10 * RLC)
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("erc20: insufficient allowance"),
    ):
        protocol.token.burn_from(holder.address, 1)


# --- mint and minters -----------------------------------------------------------------------


def test_mint__by_minter__credits_and_grows_supply(protocol) -> None:
    token = protocol.token
    receiver = protocol.actors["stranger"].address

    with boa.env.prank(protocol.actors["deployer"].address):
        token.mint(receiver, 9 * RLC)
    logs = token.get_logs()

    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.value) == (ZERO, receiver, 9 * RLC)
    assert token.balanceOf(receiver) == 9 * RLC
    assert token.totalSupply() == SUPPLY + 9 * RLC


def test_mint__by_non_minter__reverts(protocol) -> None:
    stranger = protocol.actors["stranger"].address
    with boa.env.prank(stranger), boa.reverts("erc20: access is denied"):
        protocol.token.mint(stranger, 1)


def test_mint__zero_recipient__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("erc20: mint to the zero address"),
    ):
        protocol.token.mint(ZERO, 1)


def test_set_minter__by_owner__grants_and_revokes_minting(protocol) -> None:
    token = protocol.token
    deployer = protocol.actors["deployer"].address
    minter = protocol.actors["stranger"].address

    with boa.env.prank(deployer):
        token.set_minter(minter, True)
    logs = token.get_logs()

    ev = _one(logs, "RoleMinterChanged")
    assert (ev.minter, ev.status) == (minter, True)
    assert token.is_minter(minter) is True
    with boa.env.prank(minter):
        token.mint(minter, 2)
    assert token.balanceOf(minter) == 2

    with boa.env.prank(deployer):
        token.set_minter(minter, False)
    ev = _one(token.get_logs(), "RoleMinterChanged")
    assert (ev.minter, ev.status) == (minter, False)
    assert token.is_minter(minter) is False
    with boa.env.prank(minter), boa.reverts("erc20: access is denied"):
        token.mint(minter, 2)


def test_set_minter__by_non_owner__reverts(protocol) -> None:
    stranger = protocol.actors["stranger"].address
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        protocol.token.set_minter(stranger, True)


def test_set_minter__zero_address__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("erc20: minter is the zero address"),
    ):
        protocol.token.set_minter(ZERO, True)


def test_set_minter__owner_itself__reverts(protocol) -> None:
    deployer = protocol.actors["deployer"].address
    with boa.env.prank(deployer), boa.reverts("erc20: minter is owner address"):
        protocol.token.set_minter(deployer, False)


# --- ownership ------------------------------------------------------------------------------


def test_transfer_ownership__by_owner__moves_owner_and_minter_role(protocol) -> None:
    token = protocol.token
    deployer = protocol.actors["deployer"].address
    new_owner = protocol.actors["stranger"].address

    with boa.env.prank(deployer):
        token.transfer_ownership(new_owner)
    logs = token.get_logs()

    roles = _events(logs, "RoleMinterChanged")
    assert [(ev.minter, ev.status) for ev in roles] == [(deployer, False), (new_owner, True)]
    moved = _one(logs, "OwnershipTransferred")
    assert (moved.previous_owner, moved.new_owner) == (deployer, new_owner)
    assert token.owner() == new_owner
    assert token.is_minter(deployer) is False
    assert token.is_minter(new_owner) is True


def test_transfer_ownership__by_non_owner__reverts(protocol) -> None:
    stranger = protocol.actors["stranger"].address
    with boa.env.prank(stranger), boa.reverts("ownable: caller is not the owner"):
        protocol.token.transfer_ownership(stranger)


def test_transfer_ownership__zero_address__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("erc20: new owner is the zero address"),
    ):
        protocol.token.transfer_ownership(ZERO)


def test_renounce_ownership__by_owner__leaves_no_owner_and_no_minter(protocol) -> None:
    token = protocol.token
    deployer = protocol.actors["deployer"].address

    with boa.env.prank(deployer):
        token.renounce_ownership()
    logs = token.get_logs()

    role = _one(logs, "RoleMinterChanged")
    assert (role.minter, role.status) == (deployer, False)
    moved = _one(logs, "OwnershipTransferred")
    assert (moved.previous_owner, moved.new_owner) == (deployer, ZERO)
    assert token.owner() == ZERO
    assert token.is_minter(deployer) is False
    with boa.env.prank(deployer), boa.reverts("erc20: access is denied"):
        token.mint(deployer, 1)


def test_renounce_ownership__by_non_owner__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("ownable: caller is not the owner"),
    ):
        protocol.token.renounce_ownership()


# --- permit ---------------------------------------------------------------------------------


def test_permit__owner_signature__sets_allowance_and_bumps_nonce(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    deadline = boa.env.evm.patch.timestamp + 3_600
    v, r, s = _sign_permit(protocol, owner, owner.address, spender, 12 * RLC, 0, deadline)

    with boa.env.prank(spender):
        token.permit(owner.address, spender, 12 * RLC, deadline, v, r, s)
    logs = token.get_logs()

    ev = _one(logs, "Approval")
    assert (ev.owner, ev.spender, ev.value) == (owner.address, spender, 12 * RLC)
    assert token.allowance(owner.address, spender) == 12 * RLC
    assert token.nonces(owner.address) == 1


def test_permit__expired_deadline__reverts(protocol) -> None:
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    deadline = boa.env.evm.patch.timestamp - 1
    v, r, s = _sign_permit(protocol, owner, owner.address, spender, 1, 0, deadline)

    with boa.reverts("erc20: expired deadline"):
        protocol.token.permit(owner.address, spender, 1, deadline, v, r, s)


def test_permit__signed_by_someone_else__reverts(protocol) -> None:
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"]
    deadline = boa.env.evm.patch.timestamp + 3_600
    v, r, s = _sign_permit(protocol, spender, owner.address, spender.address, 1, 0, deadline)

    with boa.reverts("erc20: invalid signature"):
        protocol.token.permit(owner.address, spender.address, 1, deadline, v, r, s)
    assert protocol.token.allowance(owner.address, spender.address) == 0


def test_permit__replayed_signature__reverts(protocol) -> None:
    token = protocol.token
    owner = protocol.actors["requester"]
    spender = protocol.actors["stranger"].address
    deadline = boa.env.evm.patch.timestamp + 3_600
    v, r, s = _sign_permit(protocol, owner, owner.address, spender, 1, 0, deadline)
    token.permit(owner.address, spender, 1, deadline, v, r, s)

    with boa.reverts("erc20: invalid signature"):
        token.permit(owner.address, spender, 1, deadline, v, r, s)


# --- approveAndCall -------------------------------------------------------------------------


def test_approve_and_call__hub__deposits_in_one_transaction(protocol) -> None:
    token, hub = protocol.token, protocol.hub
    requester = protocol.actors["requester"]
    _give(protocol, requester, 50 * RLC)

    with boa.env.prank(requester.address):
        assert token.approveAndCall(hub.address, 20 * RLC, b"ignored") is True
    logs = token.get_logs()

    assert _names(logs) == ["Approval", "Approval", "Transfer", "Deposit"]
    granted, spent = _events(logs, "Approval")
    assert (granted.owner, granted.spender, granted.value) == (
        requester.address,
        hub.address,
        20 * RLC,
    )
    assert spent.value == 0
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        requester.address,
        hub.address,
        20 * RLC,
    )
    deposit = _one(logs, "Deposit")
    assert deposit.address == hub.address
    assert (deposit.owner, deposit.account, deposit.amount) == (
        requester.address,
        requester.address,
        20 * RLC,
    )
    assert hub.balance_of(requester.address) == 20 * RLC
    assert hub.frozen_of(requester.address) == 0
    assert token.balanceOf(requester.address) == 30 * RLC
    assert token.balanceOf(hub.address) == 20 * RLC
    assert token.allowance(requester.address, hub.address) == 0


def test_approve_and_call__amount_above_balance__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    _give(protocol, requester, 1 * RLC)
    with (
        boa.env.prank(requester.address),
        boa.reverts("erc20: transfer amount exceeds balance"),
    ):
        protocol.token.approveAndCall(protocol.hub.address, 2 * RLC, b"")
    assert protocol.hub.balance_of(requester.address) == 0
    assert protocol.token.allowance(requester.address, protocol.hub.address) == 0


def test_approve_and_call__zero_amount__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("escrow: zero amount"),
    ):
        protocol.token.approveAndCall(protocol.hub.address, 0, b"")


def test_approve_and_call__zero_spender__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["deployer"].address),
        boa.reverts("erc20: approve to the zero address"),
    ):
        protocol.token.approveAndCall(ZERO, 1, b"")


def test_approve_and_call__spender_without_hook__reverts(protocol) -> None:
    # The app registry is a contract with no receiveApproval: the call fails without reason
    # and the approval is rolled back with it.
    deployer = protocol.actors["deployer"].address
    with boa.env.prank(deployer), boa.reverts():
        protocol.token.approveAndCall(protocol.apps.address, 1, b"")
    assert protocol.token.allowance(deployer, protocol.apps.address) == 0


def test_approve_and_call__other_token_into_hub__reverts(protocol) -> None:
    # A second, genuine RLC deployment is not the hub's token.
    deployer = protocol.actors["deployer"].address
    with boa.env.prank(deployer):
        other = boa.load(TOKEN_PATH, 10 * RLC)
        with boa.reverts("escrow: caller is not the token"):
            other.approveAndCall(protocol.hub.address, 1 * RLC, b"")


@pytest.mark.parametrize("amount", [1, 87_000_000 * RLC])
def test_approve_and_call__bounds__credits_exact_amount(protocol, amount: int) -> None:
    deployer = protocol.actors["deployer"].address
    with boa.env.prank(deployer):
        protocol.token.approveAndCall(protocol.hub.address, amount, b"")
    deposit = _one(protocol.token.get_logs(), "Deposit")

    assert deposit.amount == amount
    assert protocol.hub.balance_of(deployer) == amount
    assert protocol.token.balanceOf(deployer) == SUPPLY - amount
