//! Exit ids and priorities (docs/plasma.md, "Exit ids and priority"), as the exit games and the
//! framework's queues compute them. Every id comes from canonical data only: the output id
//! (from the canonical transaction bytes) or the transaction hash, never from a proof.

use alloy::primitives::{B256, U160, U256};

use crate::tx::{UtxoPos, output_id};

/// The standard exit id of output `oindex` of the transaction `tx_hash`: the low 159 bits of
/// the output id (bit 159 clear).
pub fn standard_exit_id(tx_hash: B256, oindex: u64) -> U160 {
    let id = U256::from_be_bytes(output_id(tx_hash, oindex).0);
    U160::from(id & ((U256::from(1) << 159) - U256::from(1)))
}

/// The in-flight exit id of the transaction `tx_hash`: its low 159 bits with bit 159 set.
pub fn in_flight_exit_id(tx_hash: B256) -> U160 {
    let low = U256::from_be_bytes(tx_hash.0) & ((U256::from(1) << 160) - U256::from(1));
    U160::from(low | (U256::from(1) << 159))
}

/// Whether an exit id is an in-flight exit's.
pub fn is_in_flight(exit_id: U160) -> bool {
    exit_id.bit(159)
}

/// The queue priority `exitableAt << 224 | position << 160 | exitId`: lower leaves first.
pub fn priority(exitable_at: u32, position: UtxoPos, exit_id: U160) -> U256 {
    (U256::from(exitable_at) << 224) | (U256::from(position.as_u64()) << 160) | U256::from(exit_id)
}

/// The exitable time of an output of a block submitted at `block_time`, exited at `now`, with the
/// minimum exit period `period` (seconds): `max(block_time + 2 period, now + period)`, or
/// `now + period` for a deposit.
pub fn exitable_at(position: UtxoPos, block_time: u64, now: u64, period: u64) -> u64 {
    let soon = now + period;
    if position.is_deposit() { soon } else { soon.max(block_time + 2 * period) }
}
