//! The hash functions of the state tree, as a parameter ([`TreeHasher`]).
//!
//! The optimistic rollup uses [`KeccakHasher`], so that the L1 contracts can check proofs with the
//! `keccak256` opcode. The zk family brings a Poseidon hasher from its own crate: the ledger only
//! ever sees 32-byte digests ([`B256`]), so adding one touches nothing here. A hasher also picks
//! its trees' arity ([`TreeHasher::ARITY_BITS`]): Keccak's trees are binary, because a 64-byte
//! Keccak costs L1 the least; Poseidon's are quaternary, because a circuit pays for a Poseidon
//! of four inputs (width 5) about 60% of what it pays for the two binary levels it replaces.

use ply_core::{Address, B256, U256, keccak256};
use std::sync::OnceLock;

/// The hash functions that shape the state tree and the balance trees (`docs/rollup.md`).
///
/// Implementations are stateless (associated functions only), so trees and ledgers carry no
/// hasher value and monomorphise to direct calls.
///
/// Requirements every implementation must meet, which the ledger relies on:
/// - `ARITY_BITS` is 1 to [`MAX_ARITY_BITS`];
/// - the empty leaf is `B256::ZERO` and `empty(l + 1)` is `hash_children` of [`arity`] copies
///   of `empty(l)`;
/// - `balance_leaf(0) == B256::ZERO`, so a zero balance is the empty leaf;
/// - `hash_account` never returns `B256::ZERO` (an account is never mistaken for an empty slot).
pub trait TreeHasher: Send + Sync + 'static {
    /// A short name for messages and docs (`"keccak"`).
    const NAME: &'static str;

    /// `log2` of the number of children of an inner node: 1 for binary trees (the default), 2
    /// for quaternary ones; at most [`MAX_ARITY_BITS`]. A node level then takes `ARITY_BITS`
    /// bits of a leaf's index, and a tree's depth (the bits of its leaf indices) must be a
    /// multiple of it.
    const ARITY_BITS: u32 = 1;

    /// The parent of [`arity`] sibling nodes, given in position order.
    fn hash_children(children: &[B256]) -> B256;

    /// The leaf of a balance tree holding `amount` (at most [`MAX_BALANCE`](crate::MAX_BALANCE)).
    fn balance_leaf(amount: U256) -> B256;

    /// The leaf of the state tree for an account.
    fn hash_account(address: Address, nonce: u64, balances_root: B256) -> B256;

    /// The root of an empty subtree of `level` node levels (`empty(0)` is the empty leaf).
    ///
    /// The default recomputes the chain (`level` hashes); implementations should cache it, as
    /// [`KeccakHasher`] does. Trees precompute their own table either way.
    fn empty(level: usize) -> B256 {
        let mut node = B256::ZERO;
        for _ in 0..level {
            node = empty_parent::<Self>(node);
        }
        node
    }

    /// `empty(0)` to `empty(levels)`, the table a tree of `levels` node levels keeps.
    fn empty_hashes(levels: usize) -> Vec<B256> {
        let mut table = Vec::with_capacity(levels + 1);
        let mut node = B256::ZERO;
        table.push(node);
        for _ in 0..levels {
            node = empty_parent::<Self>(node);
            table.push(node);
        }
        table
    }
}

/// The largest [`TreeHasher::ARITY_BITS`] the trees support (quaternary trees).
pub const MAX_ARITY_BITS: u32 = 2;

/// The largest number of children of a node, `2^MAX_ARITY_BITS`.
pub(crate) const MAX_ARITY: usize = 1 << MAX_ARITY_BITS;

/// The number of children of an inner node of `H`'s trees, `2^ARITY_BITS`.
pub const fn arity<H: TreeHasher + ?Sized>() -> usize {
    1 << H::ARITY_BITS
}

/// The parent of `arity::<H>()` copies of `node`.
fn empty_parent<H: TreeHasher + ?Sized>(node: B256) -> B256 {
    H::hash_children(&[node; MAX_ARITY][..arity::<H>()])
}

/// Keccak-256 tree hashing, verifiable on L1 (`docs/rollup.md`, "With Keccak"):
///
/// | function | definition |
/// |---|---|
/// | `hash_children([l, r])` | `keccak256(l ‖ r)` (64 bytes): binary trees |
/// | `balance_leaf(amount)` | `bytes32(amount)` big-endian (no hash) |
/// | `hash_account(address, nonce, balances_root)` | `keccak256(address (20) ‖ nonce (8, BE) ‖ balances_root (32))` |
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KeccakHasher;

/// The number of levels [`KeccakHasher::empty`] keeps precomputed.
const KECCAK_EMPTY_LEVELS: usize = 64;

impl KeccakHasher {
    /// The parent of two nodes, `keccak256(left ‖ right)`.
    #[inline]
    pub fn hash_node(left: B256, right: B256) -> B256 {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(left.as_slice());
        buf[32..].copy_from_slice(right.as_slice());
        keccak256(buf)
    }
}

impl TreeHasher for KeccakHasher {
    const NAME: &'static str = "keccak";

    #[inline]
    fn hash_children(children: &[B256]) -> B256 {
        Self::hash_node(children[0], children[1])
    }

    #[inline]
    fn balance_leaf(amount: U256) -> B256 {
        B256::from(amount.to_be_bytes::<32>())
    }

    #[inline]
    fn hash_account(address: Address, nonce: u64, balances_root: B256) -> B256 {
        let mut buf = [0u8; 60];
        buf[..20].copy_from_slice(address.as_slice());
        buf[20..28].copy_from_slice(&nonce.to_be_bytes());
        buf[28..].copy_from_slice(balances_root.as_slice());
        keccak256(buf)
    }

    fn empty(level: usize) -> B256 {
        static TABLE: OnceLock<Vec<B256>> = OnceLock::new();
        cached_empty::<Self>(&TABLE, KECCAK_EMPTY_LEVELS, level)
    }
}

/// The empty-subtree hash at `level` for hasher `H`, from a table of the first `levels` levels
/// built once in `table` (levels beyond it are hashed on demand). Every [`TreeHasher`]'s
/// [`empty`](TreeHasher::empty) can be written with it and a `static` of its own.
pub fn cached_empty<H: TreeHasher>(
    table: &'static OnceLock<Vec<B256>>,
    levels: usize,
    level: usize,
) -> B256 {
    let table = table.get_or_init(|| {
        let mut table = Vec::with_capacity(levels + 1);
        let mut node = B256::ZERO;
        table.push(node);
        for _ in 0..levels {
            node = empty_parent::<H>(node);
            table.push(node);
        }
        table
    });
    match table.get(level) {
        Some(node) => *node,
        None => {
            let mut node = table[levels];
            for _ in levels..level {
                node = empty_parent::<H>(node);
            }
            node
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};

    #[test]
    fn keccak_hashes_match_the_definitions() {
        let l = B256::repeat_byte(0x11);
        let r = B256::repeat_byte(0x22);
        assert_eq!(KeccakHasher::hash_node(l, r), keccak256([l.as_slice(), r.as_slice()].concat()));

        let amount = U256::from(0x0102_0304u64);
        let leaf = KeccakHasher::balance_leaf(amount);
        assert_eq!(&leaf[28..], &[1, 2, 3, 4]);
        assert!(leaf[..28].iter().all(|b| *b == 0));
        assert_eq!(KeccakHasher::balance_leaf(U256::ZERO), B256::ZERO);

        let a = address!("0x00000000000000000000000000000000000000aa");
        let root = B256::repeat_byte(0x33);
        let mut pre = Vec::new();
        pre.extend_from_slice(a.as_slice());
        pre.extend_from_slice(&7u64.to_be_bytes());
        pre.extend_from_slice(root.as_slice());
        assert_eq!(pre.len(), 60);
        assert_eq!(KeccakHasher::hash_account(a, 7, root), keccak256(pre));
    }

    #[test]
    fn empty_hashes_agree_with_the_default_chain() {
        let table = KeccakHasher::empty_hashes(70);
        for (level, node) in table.iter().enumerate() {
            assert_eq!(KeccakHasher::empty(level), *node, "level {level}");
        }
        assert_eq!(KeccakHasher::empty(0), B256::ZERO);
        // keccak256(0^64), the well-known first empty subtree of Keccak Merkle trees.
        assert_eq!(
            KeccakHasher::empty(1),
            b256!("0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5")
        );
    }
}
