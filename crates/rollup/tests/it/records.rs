//! The sequencer's journal records (format version 1) are pinned:
//! `tests/fixtures/sequencer-records-v1.json` holds one record of each kind — the three log
//! entries and a posted batch — as the sequencer writes them. A change of their encoding fails
//! here, and must come with a new format version and a migration (or a refusal) of old stores.
//!
//! Run with `PLY_WRITE_FIXTURES=1` to write the file again (after a deliberate format change).

use alloy::primitives::{Address, B256, U256};
use ply_core::dev::dev_signer;
use ply_ledger::{Deposit, SigningDomain, Transfer, Tx, WithdrawalRecord};
use ply_rollup::sequencer::{LogEntry, PostedBatch};
use serde_json::{Value, json};

fn records() -> (Vec<LogEntry>, PostedBatch) {
    let alice = dev_signer(1).unwrap();
    let domain = SigningDomain::new(901, Address::repeat_byte(0x42));
    let tx = Tx::Transfer(Transfer {
        from: alice.address(),
        to: Address::repeat_byte(0xbb),
        token: 0,
        amount: U256::from(600u64),
        fee: U256::from(1u64),
        nonce: 3,
    });
    // ECDSA signing is deterministic (RFC 6979): the same bytes every run.
    let signed = tx.sign(&alice, &domain).unwrap();
    let entries = vec![
        LogEntry::Deposit {
            block: 4,
            deposit: Deposit {
                queue_index: 7,
                to: alice.address(),
                token: 2,
                amount: U256::from(1_000_000u64),
                kind: 0,
                from: Address::repeat_byte(0xaa),
                timestamp: 1_700_000_000,
            },
            applied: true,
        },
        LogEntry::Tx { block: 4, hash: signed.tx.signing_hash(&domain), tx: signed },
        LogEntry::Seal { block: 4, timestamp: 1_700_000_002, state_root: B256::repeat_byte(0x5e) },
    ];
    let batch = PostedBatch {
        index: 2,
        first_block: 3,
        last_block: 4,
        new_deposit_count: 8,
        l1_tx: B256::repeat_byte(0x11),
        state_root: B256::repeat_byte(0x22),
        withdrawal_root: B256::repeat_byte(0x33),
        withdrawals: vec![WithdrawalRecord {
            batch_index: 2,
            position: 0,
            from: alice.address(),
            to: Address::repeat_byte(0xcc),
            token: 0,
            amount: U256::from(5u64),
        }],
        proposed: true,
        finalized: false,
    };
    (entries, batch)
}

#[test]
fn the_sequencer_records_keep_their_bytes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sequencer-records-v1.json");
    let (entries, batch) = records();
    let now = json!({ "entries": entries, "batch": batch });
    if std::env::var_os("PLY_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(now, pinned, "the records' encoding changed");
    // And the pinned bytes read back into the same records.
    let read: Vec<LogEntry> = serde_json::from_value(pinned["entries"].clone()).unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), pinned["entries"]);
    let read: PostedBatch = serde_json::from_value(pinned["batch"].clone()).unwrap();
    assert_eq!(read, batch);
}
