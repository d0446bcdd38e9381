# pragma version ~=0.4.3
"""
@title ResultStore
@notice A callback target for tests and benchmarks: keeps the last result it received,
        or reverts / burns all its gas when told to.
"""

MODE_STORE: constant(uint256) = 0
MODE_REVERT: constant(uint256) = 1
MODE_BURN: constant(uint256) = 2

# @dev What `receiveResult` does: one of the MODE_* constants.
mode: public(uint256)
# @dev The last callback data received for each task.
results: public(HashMap[bytes32, Bytes[1_024]])
# @dev How many callbacks the store accepted (a MODE_BURN call runs out of gas and counts
# none).
calls: public(uint256)


@deploy
def __init__(mode: uint256):
    self.mode = mode


@external
def receiveResult(task_id: bytes32, data: Bytes[1_024]):
    if self.mode == MODE_REVERT:
        raise "result_store: refused"
    if self.mode == MODE_BURN:
        for i: uint256 in range(1_000_000):
            self.calls += 1
    self.results[task_id] = data
    self.calls += 1
