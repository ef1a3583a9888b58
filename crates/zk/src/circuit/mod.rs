//! The batch circuit of the zk rollup: a proof that a batch of operations takes the account
//! tree from its old root to its new root, and one public input that commits to what L1 sees.
//!
//! # What it proves
//!
//! [`BatchCircuit`] applies, in this order, the batch's priority operations (taken from the L1
//! priority queue: deposits and full exits), transfers, withdrawals and, last, the fee credits
//! to the operator's account (index 0), each to the account tree, starting from `old_root` and
//! ending at `new_root`. Every transfer and withdrawal is signed (EdDSA over BabyJubjub,
//! [`crate::eddsa`]) by the key in the sender's leaf over [`ZkTransfer::message`] /
//! [`ZkWithdrawal::message`], which include the sender's current nonce; balances stay below
//! 2¹²⁸ and never go negative (128-bit range checks of every new balance). A batch has fixed
//! sections (their sizes are [`BatchParams`]); the unused slots of a section are padding.
//!
//! # Padding is neutral
//!
//! A padding slot (`enabled = false`) changes no leaf: every field of its record (indices,
//! token, amounts, fee, addresses, keys, payout) is constrained to zero, so its debit, credit
//! and fee are zero and its public-data and priority records are all zero bytes; L1 refuses a
//! padding record that is not all zero in every section it sees. Only a padding slot's
//! signature is free: it is checked against nothing, and the slot moves nothing.
//!
//! # Priority operations always have a provable outcome
//!
//! L1 queues deposits and full exits and assigns each new address the next account index (one
//! account per address; account 0 is the operator's). A priority slot takes the queue's next
//! operation with that index and proves one of three outcomes:
//!
//! - **deposit credited**: the account is created at the index (empty leaf, key on the curve)
//!   or is the depositor's, and its balance grows by the amount;
//! - **deposit refused**: the account is the depositor's and the credit would reach 2¹²⁸; the
//!   slot changes nothing and pays the amount back on L1 (the record's payout);
//! - **full exit**: the account is the requester's; its whole balance of the token is the
//!   payout, released on L1 with the batch, and the balance becomes zero. No L2 signature is
//!   needed: L1 queued it for the account's own address.
//!
//! L1 itself refuses deposits that no outcome covers (a token beyond the balance tree, a full
//! account tree, a key off the curve, zero), so an operator can always take the queue's head.
//!
//! Because the sections are applied in order, a batch holds deposits, then transfers, then
//! withdrawals: the sequencer cuts batches so (an operation out of that order starts the next
//! batch). Fees are collected per batch: each transfer and withdrawal pays its fee in its own
//! token, and the circuit adds up the fees of each of the batch's `fee_tokens` fee slots and
//! credits account 0 once per slot, rather than once per transaction (that would cost two more
//! Merkle paths a transaction).
//!
//! # The account tree of the zk family
//!
//! The ledger's `hash_account(address, nonce, balances_root)` has no room for the EdDSA key,
//! so the zk family's leaf is
//!
//! ```text
//! account leaf  = poseidon([address, pubkey.x, pubkey.y, nonce, balances_root])   (empty: 0)
//! balances_root = root of the account's balance tree (depth token_depth, leaf = the balance)
//! node          = poseidon([c0, c1, c2, c3]); empty subtrees as PoseidonHasher's
//! ```
//!
//! with the address read as a 160-bit integer. Both trees are quaternary: a node has four
//! children, a node level takes two bits of a leaf's index (the lowest two at the leaf
//! level), and a path lists three siblings a level in position order. Depths are therefore
//! even. One Poseidon of four inputs costs 297 constraints where the two binary levels it
//! replaces cost 480, which takes about 7,000 constraints off a transfer's four paths.
//! [`ZkState`] keeps these trees ([`SparseMerkleTree<PoseidonHasher>`](ply_ledger::SparseMerkleTree)s)
//! and produces the paths.
//! Accounts are created by deposits only (the deposit carries the new account's public key);
//! a transfer goes to an existing account index. A withdrawal pays out to the account's own
//! address on L1.
//!
//! # Public data (version 3)
//!
//! The public input is
//!
//! ```text
//! commitment = sha256(old_root ‖ new_root ‖ domain ‖ sha256(transfers) ‖ sha256(priority) ‖ onchain)
//!              with its top 3 bits cleared
//! ```
//!
//! read as a big-endian integer (below 2²⁵³, so a field element; on L1,
//! `uint256(sha256(...)) & (2**253 - 1)`). Roots and the [`signing_domain`] are 32 bytes
//! big-endian. A batch's public data has three sections, one record per slot, padding
//! records all zero bytes:
//!
//! | record | bytes | layout |
//! |---|---|---|
//! | priority outcome | 17 | `op u8 ‖ payout u128`: op 1 deposit credited (payout 0), 5 deposit refused (payout = its amount), 4 full exit (payout = the balance) |
//! | transfer | 12 | `0x02 ‖ from u24 ‖ to u24 ‖ token u8 ‖ amount u24 ‖ fee u8` |
//! | withdrawal | 42 | `0x03 ‖ from u24 ‖ token u8 ‖ amount u128 ‖ fee u8 ‖ L1 recipient (20 bytes)` |
//!
//! - `onchain` = the priority section ‖ the withdrawal section: always posted on L1, which
//!   needs them to consume its queue and to pay withdrawals, refused deposits and full exits;
//! - `transfers` = the transfer section at full size: the zk rollup posts it on L1 (leaving
//!   off trailing zero bytes, which L1 puts back), a validium gives it to its committee and L1
//!   sees only its hash, signed by the committee;
//! - `priority` = one 105-byte record per priority slot, `kind u8 ‖ account index u24 ‖
//!   address (20) ‖ token u8 ‖ amount u128 ‖ pubkey.x (32) ‖ pubkey.y (32)` (kind 1 deposit,
//!   4 full exit with amount and key zero; all zero for padding), which L1 rebuilds from its
//!   queue.
//!
//! Packed amounts are decimal floats ([`PackedAmount`]): a transfer's amount is
//! `mantissa (19 bits) ‖ exponent (5 bits)`, a fee `mantissa (3 bits) ‖ exponent (5 bits)`,
//! value `mantissa · 10^exponent`. All integers big-endian.

mod sha256;
mod state;
mod synth;
mod witness;

pub use sha256::{constraints::sha256_var, sha256};
pub use state::{ZkAccount, ZkState, account_leaf};
pub use synth::BatchCircuit;
pub(crate) use witness::null_signature;
pub use witness::{
    AccountSlot, BatchWitness, FeeSlot, PrioritySlot, TransferSlot, WithdrawalSlot, ZkDeposit,
    ZkFullExit, ZkOperation, ZkTransfer, ZkWithdrawal, batch_commitment, signing_domain,
};

/// The version of the public-data format above.
pub const PUBLIC_DATA_VERSION: u8 = 3;
/// The bytes of a priority-outcome record (deposit credited or refused, full exit) in the
/// public data.
pub const DEPOSIT_RECORD_BYTES: usize = 17;
/// The bytes of a transfer record in the public data.
pub const TRANSFER_RECORD_BYTES: usize = 12;
/// The bytes of a withdrawal record in the public data.
pub const WITHDRAWAL_RECORD_BYTES: usize = 42;
/// The bytes of a priority operation's record (as L1 rebuilds it from its queue).
pub const PRIORITY_RECORD_BYTES: usize = 105;
/// The deepest account tree the public data can address (indices are 3 bytes).
pub const MAX_ACCOUNT_DEPTH: usize = 24;
/// The deepest balance tree the public data can address (tokens are 1 byte).
pub const MAX_TOKEN_DEPTH: usize = 8;

/// Operation codes of the public-data records.
pub(crate) const OP_DEPOSIT: u8 = 1;
pub(crate) const OP_TRANSFER: u8 = 2;
pub(crate) const OP_WITHDRAWAL: u8 = 3;
pub(crate) const OP_FULL_EXIT: u8 = 4;
pub(crate) const OP_DEPOSIT_REFUSED: u8 = 5;

/// The shape of a batch circuit: tree depths and section sizes. A proving key is for one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchParams {
    /// Depth of the account tree (bits of an account index): even, 2 to [`MAX_ACCOUNT_DEPTH`].
    pub account_depth: usize,
    /// Depth of each balance tree (bits of a token id): even, 2 to [`MAX_TOKEN_DEPTH`].
    pub token_depth: usize,
    /// Priority slots: the deposits and full exits a batch takes from the L1 queue.
    pub deposits: usize,
    /// Transfer slots.
    pub transfers: usize,
    /// Withdrawal slots.
    pub withdrawals: usize,
    /// Fee slots: how many different tokens a batch may collect fees in (at least 1).
    pub fee_tokens: usize,
}

impl BatchParams {
    /// Checks the depths and the number of fee slots.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(CircuitError::InvalidParams(reason));
        for (tree, depth, max) in [
            ("account", self.account_depth, MAX_ACCOUNT_DEPTH),
            ("token", self.token_depth, MAX_TOKEN_DEPTH),
        ] {
            if !(1..=max).contains(&depth) || !depth.is_multiple_of(2) {
                return bad(format!(
                    "{tree} depth {depth} is not an even number in 2..={max} (the trees are quaternary)"
                ));
            }
        }
        if self.fee_tokens == 0 || self.fee_tokens > 1 << self.token_depth {
            return bad(format!(
                "{} fee slots: need 1 to {} (the number of tokens)",
                self.fee_tokens,
                1usize << self.token_depth
            ));
        }
        Ok(())
    }

    /// The siblings of a path in a tree of `depth`: three per quaternary level.
    pub fn siblings(depth: usize) -> usize {
        depth / 2 * 3
    }

    /// The length of the sections always posted on L1: deposits and withdrawals.
    pub fn onchain_len(&self) -> usize {
        self.deposits * DEPOSIT_RECORD_BYTES + self.withdrawals * WITHDRAWAL_RECORD_BYTES
    }

    /// The length of the transfer section at full size.
    pub fn transfers_len(&self) -> usize {
        self.transfers * TRANSFER_RECORD_BYTES
    }
}

/// A decimal floating-point amount as posted in the public data: `mantissa · 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedAmount {
    /// The mantissa.
    pub mantissa: u32,
    /// The exponent, below 32.
    pub exponent: u8,
}

impl PackedAmount {
    /// Mantissa bits of a transfer amount.
    pub const AMOUNT_MANTISSA_BITS: u32 = 19;
    /// Mantissa bits of a fee.
    pub const FEE_MANTISSA_BITS: u32 = 3;
    /// Exponent bits of both.
    pub const EXPONENT_BITS: u32 = 5;

    /// The exact packing of `value` with a mantissa of `mantissa_bits` bits (the smallest
    /// exponent), or `None` when `value` has too many significant digits.
    pub fn pack(value: u128, mantissa_bits: u32) -> Option<Self> {
        let mut mantissa = value;
        let mut exponent = 0u8;
        while mantissa >= 1 << mantissa_bits {
            if !mantissa.is_multiple_of(10) || exponent == 31 {
                return None;
            }
            mantissa /= 10;
            exponent += 1;
        }
        Some(Self { mantissa: mantissa as u32, exponent })
    }

    /// The value, `mantissa · 10^exponent` (below 2¹²⁸ for the mantissa sizes above).
    pub fn value(&self) -> u128 {
        u128::from(self.mantissa) * 10u128.pow(u32::from(self.exponent))
    }

    /// `mantissa ‖ exponent` as an integer (`mantissa << 5 | exponent`).
    pub fn encode(&self) -> u32 {
        (self.mantissa << Self::EXPONENT_BITS) | u32::from(self.exponent)
    }
}

/// What went wrong building or checking a batch witness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// The batch shape is not supported.
    #[error("invalid batch parameters: {0}")]
    InvalidParams(String),
    /// An operation cannot be applied; nothing was applied.
    #[error("operation {position} ({kind}) cannot go in the batch: {reason}")]
    InvalidOperation {
        /// The operation's position in the batch's list.
        position: usize,
        /// deposit, transfer or withdrawal.
        kind: &'static str,
        /// Why, in a sentence.
        reason: String,
    },
    /// The witness does not satisfy the circuit: the prover refuses it.
    #[error(
        "the witness does not satisfy the batch circuit at {slot} (constraint {constraint}): refusing to prove it"
    )]
    Unsatisfied {
        /// The slot whose constraints fail, e.g. `transfer 1`.
        slot: String,
        /// The first unsatisfied constraint.
        constraint: String,
    },
    /// Synthesis failed (a missing or inconsistent witness value).
    #[error("synthesising the batch circuit failed: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    /// The ledger's tree refused an update.
    #[error("tree: {0}")]
    Tree(#[from] ply_ledger::LedgerError),
}

/// The result type of the batch circuit.
pub type Result<T, E = CircuitError> = std::result::Result<T, E>;
