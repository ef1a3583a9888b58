//! The Data Availability Committee (DAC) of the validium.
//!
//! A validium keeps its batches' transfer data off L1: each batch's transfer section (the
//! `transfers` of the [public data](crate::circuit), whole 12-byte records) goes to a committee
//! of N members, and L1 accepts the batch only with M of N member signatures over the data's
//! hash. A member stores the data durably before it signs, and serves it to anyone, so that
//! users can rebuild the state and exit without the operator.
//!
//! - [`store`]: a member's database (redb), `hash → data`;
//! - [`rpc`]: a member's JSON-RPC server and the in-process [`DacMember`];
//! - [`client`]: [`DacClient`], which checks every answer of a member, and
//!   [`collect_signatures`] / [`encode_signatures`] for the operator.
//!
//! # What a member signs
//!
//! | value | definition |
//! |---|---|
//! | `dataHash` | `sha256(data)` ([`data_hash`]) |
//! | digest | `keccak256(keccak256("ply.validium.dac.v1") ‖ uint256 chainId ‖ address contract ‖ bytes32 dataHash)`, packed (32 + 32 + 20 + 32 bytes; [`dac_digest`]) |
//! | signature | the digest signed raw (no EIP-191 prefix) with the member's secp256k1 key, low `s`, 65 bytes `r ‖ s ‖ v` with `v ∈ {27, 28}` |
//!
//! The L1 contract takes the signatures concatenated in strictly increasing order of signer
//! address ([`encode_signatures`]).

pub mod client;
pub mod rpc;
pub mod store;

pub use client::{DacClient, Signed, collect_signatures, encode_signatures};
pub use rpc::{DacMember, DacMemberConfig, MemberInfo, StoredBatch};
pub use store::DacStore;

use crate::{Result, ZkError, circuit::TRANSFER_RECORD_BYTES};
use alloy::{
    primitives::{Address, B256, Signature, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};

/// The domain tag hashed into every digest (its keccak256 leads the signed message).
pub const DAC_DOMAIN_TAG: &str = "ply.validium.dac.v1";

/// The largest batch a member stores unless configured otherwise: 64 KiB.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 64 * 1024;

/// The port of devnet member 0; member `i` listens on `DEFAULT_PORT + i`.
pub const DEFAULT_PORT: u16 = 9560;

/// The length of a member's signature, `r ‖ s ‖ v`.
pub const SIGNATURE_BYTES: usize = 65;

/// What a committee signs for: the L2 chain and the L1 contract that checks the signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DacDomain {
    /// The validium's chain id.
    pub chain_id: u64,
    /// The L1 contract that verifies the committee's signatures.
    pub contract: Address,
}

/// The hash a committee signs for: `sha256(data)`.
pub fn data_hash(data: &[u8]) -> B256 {
    B256::from(crate::circuit::sha256(data))
}

/// The digest a member signs for `data_hash` in `domain` (see the [module](self) docs).
pub fn dac_digest(domain: &DacDomain, data_hash: B256) -> B256 {
    let mut packed = [0u8; 32 + 32 + 20 + 32];
    packed[..32].copy_from_slice(keccak256(DAC_DOMAIN_TAG).as_slice());
    packed[32..64].copy_from_slice(&U256::from(domain.chain_id).to_be_bytes::<32>());
    packed[64..84].copy_from_slice(domain.contract.as_slice());
    packed[84..].copy_from_slice(data_hash.as_slice());
    keccak256(packed)
}

/// Refuses batch data that is not whole transfer records (a multiple of
/// [`TRANSFER_RECORD_BYTES`]) or is longer than `max_bytes`.
pub fn check_batch_data(data: &[u8], max_bytes: usize) -> Result<()> {
    if data.len() > max_bytes {
        return Err(ZkError::DacData(format!(
            "{} bytes is more than this member's limit of {max_bytes} bytes",
            data.len()
        )));
    }
    if !data.len().is_multiple_of(TRANSFER_RECORD_BYTES) {
        return Err(ZkError::DacData(format!(
            "{} bytes is not a whole number of {TRANSFER_RECORD_BYTES}-byte transfer records",
            data.len()
        )));
    }
    Ok(())
}

/// Signs `data_hash` in `domain` as a member: 65 bytes `r ‖ s ‖ v`, low `s`, `v ∈ {27, 28}`.
pub fn sign_data_hash(
    signer: &PrivateKeySigner,
    domain: &DacDomain,
    data_hash: B256,
) -> Result<[u8; SIGNATURE_BYTES]> {
    let signature = signer
        .sign_hash_sync(&dac_digest(domain, data_hash))
        .map_err(|e| ZkError::DacServer(format!("the member key cannot sign: {e}")))?;
    // RFC 6979 signing with k256 already gives a low `s`; normalising keeps that a guarantee.
    Ok(signature.normalize_s().unwrap_or(signature).as_bytes())
}

/// The member whose signature `signature` is over `data_hash` in `domain`, after checking that
/// it is 65 bytes, has `v ∈ {27, 28}` and is canonical (low `s`), as the L1 contract requires.
pub fn recover_member(
    domain: &DacDomain,
    data_hash: B256,
    signature: &[u8],
) -> std::result::Result<Address, String> {
    let bytes: &[u8; SIGNATURE_BYTES] = signature.try_into().map_err(|_| {
        format!("a signature is {SIGNATURE_BYTES} bytes (r ‖ s ‖ v), got {}", signature.len())
    })?;
    let v = bytes[SIGNATURE_BYTES - 1];
    if v != 27 && v != 28 {
        return Err(format!("signature v must be 27 or 28, got {v}"));
    }
    let signature = Signature::from_raw_array(bytes).map_err(|e| format!("bad signature: {e}"))?;
    ply_ledger::signature::check_canonical(&signature).map_err(|e| e.to_string())?;
    signature
        .recover_address_from_prehash(&dac_digest(domain, data_hash))
        .map_err(|e| format!("no key recovers from the signature: {e}"))
}

/// Checks that `signature` is `member`'s over `data_hash` in `domain`; returns it as an array.
pub fn verify_signature(
    domain: &DacDomain,
    data_hash: B256,
    member: Address,
    signature: &[u8],
) -> Result<[u8; SIGNATURE_BYTES]> {
    let refused = |reason: String| ZkError::DacMember { member: member.to_string(), reason };
    let signer = recover_member(domain, data_hash, signature).map_err(refused)?;
    if signer != member {
        return Err(refused(format!(
            "the signature over {data_hash} recovers {signer}, not the member"
        )));
    }
    Ok(signature.try_into().expect("recover_member checked the length"))
}

/// Checks that `data` is the batch whose hash is `hash` (`sha256(data) == hash`).
pub fn verify_batch_data(hash: B256, data: &[u8]) -> Result<()> {
    let actual = data_hash(data);
    if actual != hash {
        return Err(ZkError::DacData(format!(
            "the {} bytes served for batch {hash} hash to {actual}",
            data.len()
        )));
    }
    Ok(())
}
