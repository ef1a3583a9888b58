//! The bridge's signed messages, version 1 (docs/sidechain.md, "Message formats"): the EIP-712
//! domain, the `Checkpoint`, `Withdrawal` and `ValidatorSetRotation` structs exactly as
//! `contracts/src/sidechain/SidechainMessages.sol` hashes them, their signing by validator keys,
//! and the quorum rule of `ValidatorSet.sol` mirrored for the validators and the relayer (a
//! relayer checks a signature list before it pays gas to submit it).

use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256, Bytes, Signature, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use std::borrow::Cow;

alloy::sol! {
    /// The validators' signed statement that sidechain blocks `startBlock..=endBlock` are final.
    #[derive(Debug, PartialEq, Eq)]
    struct Checkpoint {
        /// The sidechain's chain id.
        uint64 sidechainId;
        /// The checkpoint's number (1, 2, ...; consecutive).
        uint64 number;
        /// The first block of the range.
        uint64 startBlock;
        /// The last block of the range.
        uint64 endBlock;
        /// The hash of block `endBlock`.
        bytes32 endBlockHash;
        /// The state root after block `endBlock`.
        bytes32 stateRoot;
        /// The root of the range's withdrawals tree (never zero).
        bytes32 withdrawalsRoot;
        /// The epoch of the validator set that signs it.
        uint64 epoch;
    }

    /// A withdrawal burned on the sidechain: a leaf of a checkpoint's withdrawals tree.
    #[derive(Debug, PartialEq, Eq)]
    struct Withdrawal {
        /// The sidechain's chain id.
        uint64 sidechainId;
        /// The checkpoint whose range holds the burn.
        uint64 checkpointNumber;
        /// Its position in that checkpoint's withdrawals tree.
        uint64 index;
        /// The L1 account paid.
        address recipient;
        /// The L1 token paid (`address(0)` for ETH).
        address token;
        /// The amount, in the token's smallest unit.
        uint256 amount;
        /// The hash of the sidechain transaction that burned it.
        bytes32 burnTxHash;
    }

    /// The next validator set, signed by the current one.
    #[derive(Debug, PartialEq, Eq)]
    struct ValidatorSetRotation {
        /// The sidechain's chain id.
        uint64 sidechainId;
        /// The new set's epoch: the current epoch plus one.
        uint64 epoch;
        /// The new set's addresses, strictly ascending.
        address[] validators;
        /// Their weights, in the same order.
        uint64[] weights;
        /// The new set's threshold, in basis points of its total weight.
        uint32 thresholdNumerator;
    }
}

/// The EIP-712 domain of one `SidechainBridge` deployment: `{ name: "PlySidechainBridge",
/// version: "1", chainId: <L1 chain id>, verifyingContract: <bridge> }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeDomain {
    l1_chain_id: u64,
    bridge: Address,
    separator: B256,
}

impl BridgeDomain {
    /// The domain's `name`.
    pub const NAME: &'static str = "PlySidechainBridge";
    /// The domain's `version`: the version of the message formats.
    pub const VERSION: &'static str = "1";

    /// The domain of the bridge at `bridge` on the L1 chain `l1_chain_id`.
    pub fn new(l1_chain_id: u64, bridge: Address) -> Self {
        let separator = Self::eip712(l1_chain_id, bridge).separator();
        Self { l1_chain_id, bridge, separator }
    }

    fn eip712(l1_chain_id: u64, bridge: Address) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Borrowed(Self::NAME)),
            Some(Cow::Borrowed(Self::VERSION)),
            Some(U256::from(l1_chain_id)),
            Some(bridge),
            None,
        )
    }

    /// The L1 chain id.
    pub fn l1_chain_id(&self) -> u64 {
        self.l1_chain_id
    }

    /// The bridge's address.
    pub fn bridge(&self) -> Address {
        self.bridge
    }

    /// The domain separator.
    pub fn separator(&self) -> B256 {
        self.separator
    }

    /// The digest validators sign for `message`: `keccak256(0x1901 ‖ separator ‖ hashStruct)`.
    pub fn digest<T: SolStruct>(&self, message: &T) -> B256 {
        message.eip712_signing_hash(&Self::eip712(self.l1_chain_id, self.bridge))
    }
}

/// One 65-byte `r ‖ s ‖ v` signature with `v` 27 or 28, as the bridge takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeSignature(pub [u8; 65]);

impl BridgeSignature {
    /// Signs `digest` with `key`, low-`s` (the only form the bridge accepts).
    pub fn sign(key: &PrivateKeySigner, digest: &B256) -> Result<Self> {
        let signature = key
            .sign_hash_sync(digest)
            .map_err(|e| Error::SigningFailed { reason: e.to_string() })?
            .normalized_s();
        Ok(Self(signature.as_bytes()))
    }

    /// The signer of `digest`, refusing what the bridge refuses (`MalformedSignature`): `v`
    /// other than 27 or 28, a non-canonical `s` (the core check), a signature recovering no key.
    /// `index` names the signature in the error.
    pub fn recover(&self, digest: &B256, index: usize) -> Result<Address> {
        let bad = |reason: String| Error::BadSignature { index, reason };
        let v = self.0[64];
        if v != 27 && v != 28 {
            return Err(bad(format!("v is {v}, not 27 or 28")));
        }
        let signature = Signature::new(
            U256::from_be_slice(&self.0[..32]),
            U256::from_be_slice(&self.0[32..64]),
            v == 28,
        );
        ply_core::signature::check_canonical(&signature).map_err(|e| bad(e.to_string()))?;
        let signer =
            signature.recover_address_from_prehash(digest).map_err(|e| bad(e.to_string()))?;
        if signer.is_zero() {
            return Err(bad("recovers the zero address".to_owned()));
        }
        Ok(signer)
    }
}

/// Signs `digest` with every key and returns the signatures sorted by signer address, duplicates
/// removed, concatenated as `SidechainBridge` takes them.
pub fn sign_sorted(keys: &[PrivateKeySigner], digest: &B256) -> Result<Bytes> {
    let mut signed = Vec::with_capacity(keys.len());
    for key in keys {
        signed.push((key.address(), BridgeSignature::sign(key, digest)?));
    }
    signed.sort_by_key(|(address, _)| *address);
    signed.dedup_by_key(|(address, _)| *address);
    Ok(signed.iter().flat_map(|(_, s)| s.0).collect::<Vec<u8>>().into())
}

/// The denominator of a threshold (basis points).
pub const THRESHOLD_DENOMINATOR: u32 = 10_000;
/// The smallest threshold a set may have (more than 2/3).
pub const MIN_THRESHOLD_NUMERATOR: u32 = 6_667;
/// The largest number of validators in a set.
pub const MAX_VALIDATORS: usize = 128;

/// A validator set with weights, as `ValidatorSet.sol` holds it for one epoch, and its quorum
/// rule. Built only through [`ValidatorSet::new`], which applies the contract's rules, so a
/// zero total weight or a zero threshold cannot exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    epoch: u64,
    members: Vec<(Address, u64)>,
    total: u128,
    threshold_numerator: u32,
}

impl ValidatorSet {
    /// The set of `epoch`: `members` strictly ascending and non-zero, each weight non-zero, the
    /// threshold within `[6667, 10000]`, at most 128 members.
    pub fn new(epoch: u64, members: Vec<(Address, u64)>, threshold_numerator: u32) -> Result<Self> {
        let refuse = |reason: String| Err(Error::InvalidValidatorSet { reason });
        if members.is_empty() {
            return refuse("no validators (zero total weight)".to_owned());
        }
        if members.len() > MAX_VALIDATORS {
            return refuse(format!("{} validators, at most {MAX_VALIDATORS}", members.len()));
        }
        if !(MIN_THRESHOLD_NUMERATOR..=THRESHOLD_DENOMINATOR).contains(&threshold_numerator) {
            return refuse(format!(
                "threshold {threshold_numerator} outside [{MIN_THRESHOLD_NUMERATOR}, {THRESHOLD_DENOMINATOR}]"
            ));
        }
        let mut previous = Address::ZERO;
        let mut total = 0u128;
        for (i, (address, weight)) in members.iter().enumerate() {
            if address.is_zero() {
                return refuse(format!("validator {i} is the zero address"));
            }
            if *address <= previous {
                return refuse(format!("validator {i} ({address}) is not above {previous}"));
            }
            if *weight == 0 {
                return refuse(format!("{address} has weight zero"));
            }
            total += u128::from(*weight);
            previous = *address;
        }
        Ok(Self { epoch, members, total, threshold_numerator })
    }

    /// The set's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The members and their weights, ascending.
    pub fn members(&self) -> &[(Address, u64)] {
        &self.members
    }

    /// The total weight.
    pub fn total_weight(&self) -> u128 {
        self.total
    }

    /// The weight of `address` (0 if not a member).
    pub fn weight_of(&self, address: &Address) -> u64 {
        self.members.binary_search_by_key(address, |(a, _)| *a).map_or(0, |i| self.members[i].1)
    }

    /// Checks `signatures` over `digest` exactly as `ValidatorSet._verifySignatures` does:
    /// canonical, by members, strictly ascending, more than 2/3 of the weight and at least the
    /// threshold. Returns the signed weight.
    pub fn verify(&self, digest: &B256, signatures: &[u8]) -> Result<u128> {
        if signatures.is_empty() || !signatures.len().is_multiple_of(65) {
            return Err(Error::MalformedSignatures { length: signatures.len() });
        }
        let mut previous = Address::ZERO;
        let mut signed = 0u128;
        for (i, chunk) in signatures.chunks_exact(65).enumerate() {
            let mut bytes = [0u8; 65];
            bytes.copy_from_slice(chunk);
            let signer = BridgeSignature(bytes).recover(digest, i)?;
            let weight = self.weight_of(&signer);
            if weight == 0 {
                return Err(Error::NotAValidator { signer, epoch: self.epoch });
            }
            if signer == previous {
                return Err(Error::DuplicateSigner { signer });
            }
            if signer < previous {
                return Err(Error::SignersNotSorted { previous, signer });
            }
            signed += u128::from(weight);
            previous = signer;
        }
        let numerator = u128::from(self.threshold_numerator);
        if 3 * signed <= 2 * self.total
            || signed * u128::from(THRESHOLD_DENOMINATOR) < self.total * numerator
        {
            return Err(Error::InsufficientWeight {
                signed,
                total: self.total,
                threshold_numerator: self.threshold_numerator,
            });
        }
        Ok(signed)
    }
}
