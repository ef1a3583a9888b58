//! The rollup ledger of ply: the state machine that every rollup-like family shares.
//!
//! A ledger holds accounts (an Ethereum address, a nonce and one balance per token) and commits
//! to them with a sparse Merkle **state tree** whose leaves are account leaves over per-account
//! **balance trees**, exactly as `docs/rollup.md` specifies. Deposits from the L1 queue and
//! signed transfers and withdrawals change it; every change is atomic, and every refusal is a
//! [`LedgerError`] whose message carries the numbers.
//!
//! The ledger is pure and deterministic: no I/O, no clock, no threads, no randomness. The same
//! code therefore serves every party that must agree on a state root:
//! - the **sequencer** applies transactions as they arrive and posts batches and roots;
//! - the **derivation node** replays batches read from L1 and checks the posted roots;
//! - the **one-step proof** (fraud proofs) re-executes a single transaction from
//!   [`AccountProof`]s and [`BalanceProof`]s, whose `verify` functions take nothing but roots
//!   and proofs, as the L1 contract does;
//! - the **zk witness generator** replays batches with a Poseidon [`TreeHasher`] (brought by the
//!   zk crate; digests are [`B256`](ply_core::B256) either way) to produce circuit witnesses.
//!
//! Validation is split in two. [`SignedTx::verify`] checks the EIP-712 signature, the costly
//! and stateless half, which callers run in parallel; [`Ledger::apply`] takes the resulting
//! [`VerifiedTx`] and checks it against the state, cheaply and in order.
//!
//! Performance: `apply` only updates accounts and marks them changed (well under a
//! microsecond); the state root is brought up to date lazily, when [`Ledger::root`] or a proof
//! is asked for, rehashing each changed account once. `examples/ledger_throughput.rs` measures
//! the hot path; on the 2-core development machine, with a root every 1,000 transfers, apply
//! plus root cost about 5 µs per transfer, next to some 45 µs of one core for the signature.
//!
//! ```
//! use ply_core::{U256, dev::dev_signer};
//! use ply_ledger::{Deposit, Ledger, LedgerConfig, SigningDomain, Transfer};
//!
//! let alice = dev_signer(1).unwrap();
//! let mut ledger: Ledger = Ledger::new(LedgerConfig::new(dev_signer(0).unwrap().address())).unwrap();
//! ledger
//!     .apply_deposit(&Deposit {
//!         queue_index: 0,
//!         to: alice.address(),
//!         token: 0,
//!         amount: U256::from(1000u64),
//!         ..Default::default()
//!     })
//!     .unwrap();
//!
//! let domain = SigningDomain::new(901, ply_core::Address::repeat_byte(0x42));
//! let transfer = Transfer {
//!     from: alice.address(),
//!     to: ply_core::Address::repeat_byte(0xbb),
//!     token: 0,
//!     amount: U256::from(600u64),
//!     fee: U256::from(1u64),
//!     nonce: 0,
//! };
//! let verified = transfer.sign(&alice, &domain).unwrap().verify(&domain).unwrap();
//! let effects = ledger.apply(&verified).unwrap();
//! assert_eq!(effects.created_account, Some(2));
//! assert_eq!(ledger.balance(&alice.address(), 0), U256::from(399u64));
//! let root = ledger.root();
//! let proof = ledger.balance_proof(2, 0).unwrap();
//! assert!(proof.verify::<ply_ledger::KeccakHasher>(root, 24, 8));
//! ```

mod account;
mod address;
mod commitment;
mod error;
mod hasher;
mod ledger;
mod priority;
pub mod signature;
mod smt;
mod sparse;
mod tx;
mod withdrawal;

pub use account::{Account, AccountIndex, AccountLeaf, ETH, FEE_ACCOUNT, MAX_BALANCE, TokenId};
pub use address::{ADDRESS_TREE_DEPTH, address_leaf, address_position};
pub use commitment::StateCommitment;
pub use error::{LedgerError, Result};
pub use hasher::{KeccakHasher, MAX_ARITY_BITS, TreeHasher, arity, cached_empty};
pub use ledger::{
    AccountProof, BalanceProof, Effects, Ledger, LedgerConfig, MAX_LEDGER_TREE_DEPTH,
    SNAPSHOT_VERSION,
};
pub use priority::{OpKind, PriorityOp};
pub use smt::{MAX_TREE_DEPTH, MerkleProof, SparseMerkleTree, tree_levels};
pub use sparse::{MAX_SPARSE_DEPTH, SparseProof, keccak_empty};
pub use tx::{Deposit, SignedTx, SigningDomain, Transfer, Tx, VerifiedTx, Withdrawal};
pub use withdrawal::{
    BatchOutput, MAX_WITHDRAWALS_PER_BATCH, WITHDRAWAL_TREE_DEPTH, WithdrawalRecord,
    WithdrawalTree, output_root,
};
