//! Hash-time locks and the locks root that commits to them (spec, "Locks").

use crate::{ChannelError, Result};
use ply_core::{B256, U256, keccak256};
use serde::{Deserialize, Serialize};

/// The most pending locks one side of a channel may hold: the contract's `unlock` walks every
/// one of them, and must stay well within a block's gas.
pub const MAX_PENDING_LOCKS: usize = 160;

/// The length of a lock's on-chain encoding.
pub const LOCK_ENCODED_LEN: usize = 96;

/// A conditional payment: `amount` is the receiver's if the secret hashing to `secrethash` is
/// registered on L1 at a block `<= expiration`, else it returns to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lock {
    /// The amount locked.
    pub amount: U256,
    /// The last L1 block at which registering the secret still pays the receiver.
    pub expiration: u64,
    /// `keccak256(secret)`.
    pub secrethash: B256,
}

impl Lock {
    /// `abi.encode(amount, uint256(expiration), secrethash)`: 96 bytes.
    pub fn encode(&self) -> [u8; LOCK_ENCODED_LEN] {
        let mut out = [0u8; LOCK_ENCODED_LEN];
        out[..32].copy_from_slice(&self.amount.to_be_bytes::<32>());
        out[56..64].copy_from_slice(&self.expiration.to_be_bytes());
        out[64..].copy_from_slice(self.secrethash.as_slice());
        out
    }
}

/// `keccak256(secret)`.
pub fn secrethash(secret: &B256) -> B256 {
    keccak256(secret)
}

/// The pending locks of one side of a channel, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLocks {
    locks: Vec<Lock>,
}

impl PendingLocks {
    /// The locks, oldest first.
    pub fn locks(&self) -> &[Lock] {
        &self.locks
    }

    /// How many locks are pending.
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    /// Whether no lock is pending.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// The sum of the amounts (saturating: a sum that overflows is refused when locks are
    /// added, so it never does).
    pub fn locked_amount(&self) -> U256 {
        self.locks.iter().fold(U256::ZERO, |acc, l| acc.saturating_add(l.amount))
    }

    /// `keccak256(encoded locks)`, or zero when there are none.
    pub fn root(&self) -> B256 {
        if self.locks.is_empty() {
            return B256::ZERO;
        }
        keccak256(self.encode())
    }

    /// The concatenated encodings, as `unlock` takes them.
    pub fn encode(&self) -> Vec<u8> {
        self.locks.iter().flat_map(|l| l.encode()).collect()
    }

    /// The lock with this secret hash.
    pub fn get(&self, secrethash: &B256) -> Option<&Lock> {
        self.locks.iter().find(|l| &l.secrethash == secrethash)
    }

    /// The locks with `lock` added at the end (refused: a duplicate secret hash, too many
    /// locks, a zero amount or a sum that overflows).
    pub fn with(&self, lock: Lock) -> Result<Self> {
        if lock.amount.is_zero() {
            return Err(ChannelError::InvalidAmount { reason: "a lock of zero".into() });
        }
        if self.get(&lock.secrethash).is_some() {
            return Err(ChannelError::DuplicateLock { secrethash: lock.secrethash });
        }
        if self.locks.len() >= MAX_PENDING_LOCKS {
            return Err(ChannelError::TooManyLocks { max: MAX_PENDING_LOCKS });
        }
        if self.locked_amount().checked_add(lock.amount).is_none() {
            return Err(ChannelError::InvalidAmount { reason: "locked amount overflows".into() });
        }
        let mut locks = self.locks.clone();
        locks.push(lock);
        Ok(Self { locks })
    }

    /// The locks without the one with `secrethash`, and that lock.
    pub fn without(&self, secrethash: &B256) -> Result<(Self, Lock)> {
        let i = self
            .locks
            .iter()
            .position(|l| &l.secrethash == secrethash)
            .ok_or(ChannelError::UnknownLock { secrethash: *secrethash })?;
        let mut locks = self.locks.clone();
        let lock = locks.remove(i);
        Ok((Self { locks }, lock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_root() {
        let lock =
            Lock { amount: U256::from(5), expiration: 300, secrethash: B256::repeat_byte(9) };
        let enc = lock.encode();
        assert_eq!(enc[31], 5);
        assert_eq!(u64::from_be_bytes(enc[56..64].try_into().unwrap()), 300);
        assert_eq!(&enc[64..], &[9u8; 32]);
        let empty = PendingLocks::default();
        assert_eq!(empty.root(), B256::ZERO);
        let one = empty.with(lock).unwrap();
        assert_eq!(one.root(), keccak256(enc));
        assert!(matches!(one.with(lock), Err(ChannelError::DuplicateLock { .. })));
        let (back, removed) = one.without(&lock.secrethash).unwrap();
        assert_eq!(removed, lock);
        assert!(back.is_empty());
    }
}
