//! Pinned Keccak fixtures: if any of these move, a format changed, and the L1 contracts, the
//! batch codec and every stored snapshot with it. Change them only together with
//! `docs/rollup.md`.
//!
//! The hashes, the signing hashes and the signature were checked once against Foundry's `cast`
//! (`cast keccak`, `cast abi-encode`, `cast wallet sign --data` on the EIP-712 JSON), an
//! implementation independent of this crate.

use crate::util::*;
use alloy::{
    primitives::{b256, hex},
    sol_types::SolStruct,
};
use ply_core::{Address, U256};
use ply_ledger::{
    Account, KeccakHasher, Ledger, Transfer, TreeHasher, Tx, Withdrawal, WithdrawalRecord,
};
use std::collections::BTreeMap;

#[test]
fn empty_roots() {
    assert_eq!(
        KeccakHasher::empty(24),
        b256!("0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef")
    );
    assert_eq!(
        KeccakHasher::empty(8),
        b256!("0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af")
    );
    assert_eq!(
        ply_ledger::WithdrawalTree::empty_root(),
        b256!("0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f")
    );
}

#[test]
fn account_leaf() {
    let account = Account {
        address: addr(1),
        nonce: 3,
        balances: BTreeMap::from([(0, eth(1)), (2, U256::from(5000u64))]),
    };
    let leaf = account.leaf::<KeccakHasher>(8);
    assert_eq!(
        leaf.balances_root,
        b256!("0x2e6de8a0ed6388910ad8eae6394498bd1ddf7806d8f8fd5f4ad5b40e1e5967d8")
    );
    assert_eq!(
        leaf.hash::<KeccakHasher>(),
        b256!("0xaf63032da6cb3eff51a0152a7f417b5e0a0dffa0ddbe46d912562a047355a519")
    );
    // The genesis leaf of the fee account: nonce 0, empty balance tree.
    assert_eq!(
        KeccakHasher::hash_account(addr(0), 0, KeccakHasher::empty(8)),
        b256!("0x8d8012e7f325c49331c683d9e4324a72dd619a2a8a1508f3c3adcc837ddf0450")
    );
}

#[test]
fn eip712_hashes_and_signature() {
    let domain = domain();
    assert_eq!(
        domain.separator(),
        b256!("0xdb153112ce63c967a17ca75947987df00557b4ef7a01701d1b8b686623457906")
    );
    let transfer = Transfer {
        from: addr(1),
        to: addr(2),
        token: 0,
        amount: eth(1),
        fee: U256::from(21_000u64),
        nonce: 7,
    };
    let hash = domain.signing_hash(&transfer);
    assert_eq!(hash, transfer.eip712_signing_hash(&domain.eip712_domain()));
    assert_eq!(hash, b256!("0x4148127272eb4cc1db24b06848db6f4683fc4d2861c8057564eec5d3e4ae26fb"));
    let withdrawal = Withdrawal {
        from: transfer.from,
        to: transfer.to,
        token: transfer.token,
        amount: transfer.amount,
        fee: transfer.fee,
        nonce: transfer.nonce,
    };
    let whash = domain.signing_hash(&withdrawal);
    assert_eq!(whash, withdrawal.eip712_signing_hash(&domain.eip712_domain()));
    assert_eq!(whash, b256!("0x4e42461b2839b3bebbf0258f00b4426846cb2c80066c397cc2843c9180bbcb3e"));
    // RFC 6979 signing is deterministic, so the compact signature is pinned too.
    let signed = Tx::from(transfer).sign(&signer(1), &domain).unwrap();
    assert_eq!(
        hex::encode(signed.compact_signature().unwrap()),
        "7b6fdece289cc37cd4423c5f418b85b2cee72041dc049ee1499ad3a022f9ea07\
         d7b38c89811d074dbee63a5bf5d6a700d9f4440289e89903f318850f386caf2a"
    );
}

#[test]
fn withdrawal_leaf() {
    let record = WithdrawalRecord {
        batch_index: 3,
        position: 1,
        from: addr(1),
        to: Address::repeat_byte(0xee),
        token: 2,
        amount: eth(5),
    };
    assert_eq!(
        record.leaf_hash(),
        b256!("0x5cde9438466ec7f9a8d288266251ac40d77d1954f5c23a8d871c8e902d67eaa8")
    );
}

/// Genesis, deposits, transfers (one creating an account), a withdrawal, and the roots after.
#[test]
fn roots_after_a_fixed_sequence() {
    let mut ledger: Ledger = ledger();
    assert_eq!(
        ledger.root(),
        b256!("0x6080f42c8095a4dac0cfdf6544168309f36690dc3a31d8cca54bf2726ec974b4")
    );
    deposit(&mut ledger, addr(1), 0, eth(10)).unwrap();
    deposit(&mut ledger, addr(2), 1, U256::from(1_000_000u64)).unwrap();
    ledger.apply(&transfer(1, addr(2), 0, eth(1), U256::from(1000u64), 0)).unwrap();
    ledger.apply(&transfer(1, Address::repeat_byte(0xbb), 0, eth(2), U256::ZERO, 1)).unwrap();
    ledger.apply(&transfer(2, addr(1), 1, U256::from(250_000u64), U256::from(5u64), 0)).unwrap();
    ledger
        .apply(&withdrawal(
            2,
            Address::repeat_byte(0xee),
            1,
            U256::from(100_000u64),
            U256::from(7u64),
            1,
        ))
        .unwrap();
    ledger
        .apply(&withdrawal(1, Address::repeat_byte(0xee), 0, eth(3), U256::from(1u64), 2))
        .unwrap();
    assert_eq!(
        ledger.root(),
        b256!("0x0b77a6941087726a6332862a117884acd0c6b92c88ac2e9a6ccfd1f456b7d7ba")
    );
    let output = ledger.finish_batch();
    assert_eq!(
        output.withdrawal_root,
        b256!("0xec22d3883cea4f54d7b926c0abebd718848a7df3ab104d74a46b772fc2bd11c7")
    );
    assert_eq!(
        output.output_root(),
        b256!("0xfda0b6e4f8cfad5283aff7afc2054b5a0bfd9ebfc4718a0e8f06063c4ed44921")
    );
    assert_eq!(ledger.account_count(), 4);
    assert_eq!(ledger.balance(&addr(0), 0), U256::from(1001u64));
    assert_eq!(ledger.balance(&addr(0), 1), U256::from(12u64));
}
