//! Rebuilding the zk state without the operator: from L1 alone (zk rollup) or from L1 and the
//! data availability committee (validium), checked against every verified root. This is what
//! the derivation node runs, and what a user runs to build an exit proof when the operator is
//! gone.

use super::l1::{QueuedPriorityOp, VerifiedBatch, ZkL1};
use crate::{
    Result, ZkError,
    circuit::{
        BatchParams, DEPOSIT_RECORD_BYTES, PackedAmount, TRANSFER_RECORD_BYTES,
        WITHDRAWAL_RECORD_BYTES, ZkOperation, ZkState, ZkTransfer, ZkWithdrawal,
    },
    dac::DacClient,
    fr_to_b256,
};
use ply_core::B256;

fn u24(bytes: &[u8]) -> u64 {
    u64::from(bytes[0]) << 16 | u64::from(bytes[1]) << 8 | u64::from(bytes[2])
}

fn unpack(encoded: u32) -> u128 {
    PackedAmount {
        mantissa: encoded >> PackedAmount::EXPONENT_BITS,
        exponent: (encoded & 31) as u8,
    }
    .value()
}

/// The signature-less operations of a batch's public data, in the order the circuit applies
/// them (`queued` yields the priority operations the batch consumes, in order, with the account
/// index L1 gave each). The signatures are not in the public data: the proof covered them, so a
/// replay skips them.
fn replay_batch(
    state: &mut ZkState,
    params: &BatchParams,
    batch: &VerifiedBatch,
    transfers: &[u8],
    queued: &mut impl Iterator<Item = QueuedPriorityOp>,
) -> Result<()> {
    let bad = |reason: String| ZkError::Node(format!("batch {}: {reason}", batch.number));
    let (deposit_section, withdrawal_section) =
        batch.onchain.split_at(params.deposits * DEPOSIT_RECORD_BYTES);
    let apply = |state: &mut ZkState, op: ZkOperation| state.apply(&op, false).map_err(&bad);
    for record in deposit_section.chunks(DEPOSIT_RECORD_BYTES).filter(|r| r[0] != 0) {
        let op = queued.next().ok_or_else(|| bad("more priority records than the queue".into()))?;
        let (owner, full_exit) = match &op.op {
            ZkOperation::Deposit(d) => (d.to, false),
            ZkOperation::FullExit(e) => (e.owner, true),
            _ => return Err(bad(format!("queued operation {} is no priority operation", op.id))),
        };
        if full_exit != (record[0] == crate::circuit::OP_FULL_EXIT) {
            return Err(bad(format!("record op {} for queued operation {}", record[0], op.id)));
        }
        let expected = state.index_of(&owner).unwrap_or(state.account_count());
        if op.account != expected {
            return Err(bad(format!(
                "L1 gave {owner} account {}, the state expects {expected}",
                op.account
            )));
        }
        apply(state, op.op)?;
    }
    let nonce = |state: &ZkState, index: u64| state.account(index).map_or(0, |a| a.nonce);
    let null = crate::circuit::null_signature();
    for r in transfers.chunks(TRANSFER_RECORD_BYTES).filter(|r| r[0] == 2) {
        let from = u24(&r[1..4]);
        let amount = unpack(u32::from(r[8]) << 16 | u32::from(r[9]) << 8 | u32::from(r[10]));
        let tx = ZkTransfer {
            from,
            to: u24(&r[4..7]),
            token: u32::from(r[7]),
            amount,
            fee: unpack(u32::from(r[11])),
            nonce: nonce(state, from),
            signature: null,
        };
        apply(state, ZkOperation::Transfer(tx))?;
    }
    for r in withdrawal_section.chunks(WITHDRAWAL_RECORD_BYTES).filter(|r| r[0] == 3) {
        let from = u24(&r[1..4]);
        let tx = ZkWithdrawal {
            from,
            token: u32::from(r[4]),
            amount: u128::from_be_bytes(r[5..21].try_into().expect("16 bytes")),
            fee: unpack(u32::from(r[21])),
            nonce: nonce(state, from),
            signature: null,
        };
        apply(state, ZkOperation::Withdrawal(tx))?;
    }
    let root = fr_to_b256(state.root());
    if root != batch.new_root {
        return Err(bad(format!(
            "the rebuilt root {root} is not the verified root {}",
            batch.new_root
        )));
    }
    Ok(())
}

/// The transfer section of `batch` at full size: from its calldata (zk rollup) or from the
/// first committee member that serves data with the verified hash (validium).
async fn transfers_of(
    batch: &VerifiedBatch,
    params: &BatchParams,
    committee: &[DacClient],
) -> Result<Vec<u8>> {
    let full = params.transfers * TRANSFER_RECORD_BYTES;
    let mut data = match &batch.transfers {
        Some(posted) => posted.to_vec(),
        None => {
            let mut failures = Vec::new();
            let mut found = None;
            for member in committee {
                match member.get(batch.transfers_hash).await {
                    Ok(Some(data)) => {
                        found = Some(data);
                        break;
                    }
                    Ok(None) => failures.push(format!("{} does not have it", member.member())),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            found.ok_or_else(|| {
                ZkError::Node(format!(
                    "no committee member served batch {}'s data {}: {}",
                    batch.number,
                    batch.transfers_hash,
                    failures.join("; ")
                ))
            })?
        }
    };
    if data.len() > full {
        return Err(ZkError::Node(format!(
            "batch {}'s transfer section is too long",
            batch.number
        )));
    }
    data.resize(full, 0);
    if crate::dac::data_hash(&data) != batch.transfers_hash {
        return Err(ZkError::Node(format!(
            "batch {}'s transfers do not match their hash",
            batch.number
        )));
    }
    Ok(data)
}

/// The state after every batch verified on L1, rebuilt from L1 (and, for a validium, from
/// `committee`), each batch's root checked against the verified one. Also returns the
/// verified roots, in order.
pub async fn rebuild(l1: &ZkL1, committee: &[DacClient]) -> Result<(ZkState, Vec<B256>)> {
    let params = l1.params().await?;
    let (operator, key) = l1.operator().await?;
    let mut state = ZkState::new(&params, l1.domain().await?, operator, key)?;
    let mut roots = Vec::new();
    let mut next_deposit = 0;
    for batch in l1.verified_batches().await? {
        let transfers = transfers_of(&batch, &params, committee).await?;
        let mut queued = Vec::new();
        for id in next_deposit..batch.priority_head {
            queued.push(l1.priority_op(id).await?);
        }
        next_deposit = batch.priority_head;
        replay_batch(&mut state, &params, &batch, &transfers, &mut queued.into_iter())?;
        roots.push(batch.new_root);
    }
    Ok((state, roots))
}
