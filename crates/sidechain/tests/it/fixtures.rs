//! The EIP-712 fixtures written by forge (`contracts/test/sidechain/SidechainFixtures.t.sol`):
//! every hash, root, proof, digest and signature computed here must equal the fixture's byte for
//! byte, and the quorum rule must accept and refuse what the contract does.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolStruct,
};
use ply_sidechain::{
    BridgeDomain, BridgeSignature, Checkpoint, Error, ValidatorSet, ValidatorSetRotation,
    Withdrawal, WithdrawalsTree, messages::MIN_THRESHOLD_NUMERATOR, sign_sorted, verify_proof,
    withdrawals,
};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/eip712_v1.json")).expect("fixture parses")
}

fn s(v: &Value) -> &str {
    v.as_str().expect("a string")
}
fn b(v: &Value) -> B256 {
    s(v).parse().expect("bytes32")
}
fn a(v: &Value) -> Address {
    s(v).parse().expect("address")
}
fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| s(v).parse().expect("u64"))
}
fn hex(v: &Value) -> Bytes {
    s(v).parse().expect("hex")
}

fn domain(f: &Value) -> BridgeDomain {
    BridgeDomain::new(n(&f["domain"]["chainId"]), a(&f["domain"]["verifyingContract"]))
}

fn keys(f: &Value) -> Vec<PrivateKeySigner> {
    f["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let key: PrivateKeySigner = s(&k["privateKey"]).parse().unwrap();
            assert_eq!(key.address(), a(&k["address"]));
            key
        })
        .collect()
}

fn withdrawals_of(f: &Value) -> Vec<Withdrawal> {
    f["withdrawals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| Withdrawal {
            sidechainId: n(&w["sidechainId"]),
            checkpointNumber: n(&w["checkpointNumber"]),
            index: n(&w["index"]),
            recipient: a(&w["recipient"]),
            token: a(&w["token"]),
            amount: s(&w["amount"]).parse::<U256>().unwrap(),
            burnTxHash: b(&w["burnTxHash"]),
        })
        .collect()
}

fn checkpoint_of(f: &Value) -> Checkpoint {
    let c = &f["checkpoint"];
    Checkpoint {
        sidechainId: n(&c["sidechainId"]),
        number: n(&c["number"]),
        startBlock: n(&c["startBlock"]),
        endBlock: n(&c["endBlock"]),
        endBlockHash: b(&c["endBlockHash"]),
        stateRoot: b(&c["stateRoot"]),
        withdrawalsRoot: b(&c["withdrawalsRoot"]),
        epoch: n(&c["epoch"]),
    }
}

fn rotation_of(f: &Value) -> ValidatorSetRotation {
    let r = &f["rotation"];
    ValidatorSetRotation {
        sidechainId: n(&r["sidechainId"]),
        epoch: n(&r["epoch"]),
        validators: r["validators"].as_array().unwrap().iter().map(a).collect(),
        weights: r["weights"].as_array().unwrap().iter().map(n).collect(),
        thresholdNumerator: n(&r["thresholdNumerator"]) as u32,
    }
}

/// The fixture's epoch-1 set: its four keys with weight 1, the minimum threshold.
fn fixture_set(f: &Value) -> ValidatorSet {
    let mut members: Vec<_> = keys(f).iter().map(|k| (k.address(), 1)).collect();
    members.sort();
    ValidatorSet::new(1, members, MIN_THRESHOLD_NUMERATOR).unwrap()
}

#[test]
fn domain_and_type_hashes_match() {
    let f = fixture();
    assert_eq!(f["version"], 1);
    assert_eq!(domain(&f).separator(), b(&f["domainSeparator"]));
    let types = &f["typeHashes"];
    assert_eq!(
        keccak256(
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        ),
        b(&types["EIP712Domain"])
    );
    let c = checkpoint_of(&f);
    assert_eq!(c.eip712_type_hash(), b(&types["Checkpoint"]));
    assert_eq!(withdrawals_of(&f)[0].eip712_type_hash(), b(&types["Withdrawal"]));
    assert_eq!(rotation_of(&f).eip712_type_hash(), b(&types["ValidatorSetRotation"]));
}

#[test]
fn withdrawals_leaves_proofs_and_root_match() {
    let f = fixture();
    assert_eq!(withdrawals::empty_root(), b(&f["emptyWithdrawalsRoot"]));
    assert_eq!(WithdrawalsTree::new(&[]).unwrap().root(), b(&f["emptyWithdrawalsRoot"]));
    let ws = withdrawals_of(&f);
    let tree = WithdrawalsTree::new(&ws).unwrap();
    let root = b(&f["withdrawalsRoot"]);
    assert_eq!(tree.root(), root);
    for (w, j) in ws.iter().zip(f["withdrawals"].as_array().unwrap()) {
        assert_eq!(w.eip712_hash_struct(), b(&j["structHash"]));
        assert_eq!(withdrawals::leaf(w), b(&j["leaf"]));
        let proof: Vec<B256> = j["proof"].as_array().unwrap().iter().map(b).collect();
        assert_eq!(tree.proof(w.index).unwrap(), proof);
        verify_proof(w, &proof, &root).unwrap();
    }
    assert_eq!(withdrawals::withdrawal_id(&ws[2]), (U256::from(1) << 64) | U256::from(2));
}

#[test]
fn forged_withdrawals_and_proofs_are_refused() {
    let f = fixture();
    let ws = withdrawals_of(&f);
    let tree = WithdrawalsTree::new(&ws).unwrap();
    let root = tree.root();
    let proof = tree.proof(0).unwrap();
    // The same leaf moved to another index, or with a larger amount, does not verify.
    let mut moved = ws[0].clone();
    moved.index = 1;
    assert!(matches!(verify_proof(&moved, &proof, &root), Err(Error::InvalidProof { .. })));
    let mut inflated = ws[0].clone();
    inflated.amount += U256::from(1);
    assert!(verify_proof(&inflated, &proof, &root).is_err());
    // Short, long and empty proofs; a proof against the zero root (Nomad).
    assert!(verify_proof(&ws[0], &proof[..15], &root).is_err());
    assert!(verify_proof(&ws[0], &[proof.clone(), vec![B256::ZERO]].concat(), &root).is_err());
    assert!(verify_proof(&ws[0], &[], &root).is_err());
    assert!(verify_proof(&ws[0], &proof, &B256::ZERO).is_err());
    // An index beyond the tree; withdrawals out of order.
    let mut far = ws[0].clone();
    far.index = 1 << 16;
    assert!(matches!(verify_proof(&far, &proof, &root), Err(Error::BadWithdrawalIndex { .. })));
    assert!(tree.proof(3).is_err());
    let swapped = vec![ws[1].clone(), ws[0].clone()];
    assert!(matches!(WithdrawalsTree::new(&swapped), Err(Error::BadWithdrawalIndex { .. })));
}

#[test]
fn checkpoint_and_rotation_digests_and_signatures_match() {
    let f = fixture();
    let domain = domain(&f);
    let keys = keys(&f);
    for (message, digest, c) in [
        (
            checkpoint_of(&f).eip712_hash_struct(),
            domain.digest(&checkpoint_of(&f)),
            &f["checkpoint"],
        ),
        (rotation_of(&f).eip712_hash_struct(), domain.digest(&rotation_of(&f)), &f["rotation"]),
    ] {
        assert_eq!(message, b(&c["structHash"]));
        assert_eq!(digest, b(&c["digest"]));
        // The fixture's signatures were made by three of the keys (vm.sign is deterministic,
        // RFC 6979, as alloy's signer): re-signing with the same three gives the same bytes.
        let sigs: Vec<Bytes> = c["signatures"].as_array().unwrap().iter().map(hex).collect();
        let signers: Vec<Address> = sigs
            .iter()
            .enumerate()
            .map(|(i, sig)| {
                BridgeSignature(sig.as_ref().try_into().unwrap()).recover(&digest, i).unwrap()
            })
            .collect();
        let chosen: Vec<PrivateKeySigner> =
            keys.iter().filter(|k| signers.contains(&k.address())).cloned().collect();
        assert_eq!(chosen.len(), 3);
        assert_eq!(sign_sorted(&chosen, &digest).unwrap(), hex(&c["signaturesConcatenated"]));
    }
}

#[test]
fn quorum_rule_accepts_and_refuses_as_the_contract() {
    let f = fixture();
    let domain = domain(&f);
    let keys = keys(&f);
    let set = fixture_set(&f);
    let digest = b(&f["checkpoint"]["digest"]);
    let concatenated = hex(&f["checkpoint"]["signaturesConcatenated"]);
    assert_eq!(set.verify(&digest, &concatenated).unwrap(), 3);
    assert_eq!(domain.digest(&checkpoint_of(&f)), digest);

    // The high-s twin of the first signature is refused.
    let high_s = hex(&f["checkpoint"]["highSSignature"]);
    let mut with_high_s = high_s.to_vec();
    with_high_s.extend_from_slice(&concatenated[65..]);
    assert!(matches!(set.verify(&digest, &with_high_s), Err(Error::BadSignature { index: 0, .. })));

    // Two of four (not above 2/3), a duplicated signer, unsorted signers, a non-member, bad
    // lengths, v not 27/28.
    assert!(matches!(
        set.verify(&digest, &concatenated[..130]),
        Err(Error::InsufficientWeight { signed: 2, total: 4, .. })
    ));
    let dup = [&concatenated[..65], &concatenated[..65], &concatenated[65..]].concat();
    assert!(matches!(set.verify(&digest, &dup), Err(Error::DuplicateSigner { .. })));
    let unsorted = [&concatenated[65..130], &concatenated[..65], &concatenated[130..]].concat();
    assert!(matches!(set.verify(&digest, &unsorted), Err(Error::SignersNotSorted { .. })));
    let stranger: PrivateKeySigner =
        "0x0000000000000000000000000000000000000000000000000000000000000bad".parse().unwrap();
    let mut with_stranger = keys[..3].to_vec();
    with_stranger.push(stranger);
    let signed = sign_sorted(&with_stranger, &digest).unwrap();
    assert!(matches!(set.verify(&digest, &signed), Err(Error::NotAValidator { .. })));
    assert!(matches!(set.verify(&digest, &[]), Err(Error::MalformedSignatures { length: 0 })));
    assert!(set.verify(&digest, &concatenated[..64]).is_err());
    let mut bad_v = concatenated.to_vec();
    bad_v[64] = 1;
    assert!(matches!(set.verify(&digest, &bad_v), Err(Error::BadSignature { index: 0, .. })));
    // A signature for another domain (another bridge) recovers a stranger.
    let other = BridgeDomain::new(1, domain.bridge()).digest(&checkpoint_of(&f));
    let foreign = sign_sorted(&keys[..3], &other).unwrap();
    assert!(matches!(set.verify(&digest, &foreign), Err(Error::NotAValidator { .. })));
}

#[test]
fn four_of_nine_cannot_sign_and_bad_sets_are_refused() {
    let keys: Vec<PrivateKeySigner> = (1..=9u64)
        .map(|i| PrivateKeySigner::from_bytes(&B256::from(U256::from(i))).unwrap())
        .collect();
    let mut members: Vec<_> = keys.iter().map(|k| (k.address(), 1)).collect();
    members.sort();
    let set = ValidatorSet::new(1, members.clone(), MIN_THRESHOLD_NUMERATOR).unwrap();
    let digest = keccak256("a checkpoint");
    for m in 1..=9 {
        let result = set.verify(&digest, &sign_sorted(&keys[..m], &digest).unwrap());
        assert_eq!(result.is_ok(), m >= 7, "{m} of 9");
    }
    let invalid = |members: Vec<(Address, u64)>, threshold| {
        matches!(ValidatorSet::new(1, members, threshold), Err(Error::InvalidValidatorSet { .. }))
    };
    assert!(invalid(vec![], MIN_THRESHOLD_NUMERATOR));
    assert!(invalid(members.clone(), 0));
    assert!(invalid(members.clone(), 6_666));
    assert!(invalid(members.clone(), 10_001));
    let mut zero_weight = members.clone();
    zero_weight[0].1 = 0;
    assert!(invalid(zero_weight, MIN_THRESHOLD_NUMERATOR));
    let mut unsorted = members.clone();
    unsorted.swap(0, 1);
    assert!(invalid(unsorted, MIN_THRESHOLD_NUMERATOR));
    assert!(invalid(vec![(Address::ZERO, 1)], MIN_THRESHOLD_NUMERATOR));
}
