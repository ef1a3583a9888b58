//! The plasma family of ply, after the OMG Network's MoreVP design: the pure core that the L1
//! contracts (`contracts/src/plasma/`), the operator and the watcher agree on.
//!
//! - [`tx`]: the payment transaction (version 1: up to 4 inputs named by [`UtxoPos`], 1 to 4
//!   outputs, metadata), its one canonical encoding ([`PaymentTx::encode`],
//!   [`PaymentTx::decode`] refuses every other byte string), its hash and output ids, and the
//!   EIP-712 signatures of its input owners in a [`SigningDomain`] bound to one framework on one
//!   chain;
//! - [`merkle`]: the depth-16 block tree and its 512-byte inclusion proofs;
//! - [`exit`]: exit ids (from canonical data only) and queue priorities;
//! - [`state`]: the child chain's UTXO state machine ([`ChainState`]): deposits, payments with
//!   fees to the operator, sealed blocks.
//!
//! Every value here matches the contracts byte for byte; `tests/fixtures/plasma_v1.json`, written
//! from a forge test, pins them. Formats and rules: `docs/plasma.md`.
//!
//! [`l1`] is the one I/O module: typed calls to the contracts on an L1 (deploy, deposit, submit
//! a block root, start, challenge and process exits) for the operator, users and watchers.
//!
//! The core does no I/O: no clock, no disk, no network, no threads. Validation is split as in
//! `ply-ledger`: [`SignedTx::verify`] recovers the signers (the costly, stateless half, to run
//! in parallel), [`ChainState::apply`] checks them against the state in order.
//!
//! ```
//! use alloy::primitives::{Address, U256};
//! use ply_plasma::{ChainState, Deposit, Output, PaymentTx, SignedTx, SigningDomain, UtxoPos};
//!
//! let alice = ply_core::dev::dev_signer(1).unwrap();
//! let bob = Address::repeat_byte(0xb0);
//! let domain = SigningDomain::new(31337, Address::repeat_byte(0x42));
//! let mut chain = ChainState::new(Address::repeat_byte(0x09));
//!
//! let deposit = Deposit { blknum: 1, owner: alice.address(), token: Address::ZERO, amount: U256::from(10) };
//! let input = chain.apply_deposit(&deposit).unwrap();
//! let pay = PaymentTx::new(
//!     vec![input],
//!     vec![
//!         Output { owner: bob, token: Address::ZERO, amount: U256::from(4) },
//!         Output { owner: alice.address(), token: Address::ZERO, amount: U256::from(5) },
//!     ],
//!     Default::default(),
//! )
//! .unwrap();
//! let signed = SignedTx::sign(pay, &[&alice], &domain).unwrap();
//! chain.apply(&signed.verify(&domain).unwrap()).unwrap();
//! let block = chain.seal_block().unwrap(); // the payment, then the operator's fee of 1
//! assert_eq!(block.transactions.len(), 2);
//! assert!(chain.unspent(UtxoPos::new(1000, 0, 0).unwrap()).is_some());
//! ```

pub mod error;
pub mod exit;
pub mod l1;
pub mod merkle;
pub mod state;
pub mod tx;

pub use error::{Error, ErrorKind, Result};
pub use merkle::{BlockTree, InclusionProof};
pub use state::{ChainState, Deposit, SealedBlock};
pub use tx::{Output, PaymentTx, SignedTx, SigningDomain, TxSignature, UtxoPos, VerifiedTx};
