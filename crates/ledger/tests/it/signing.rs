//! Signing, verification and the compact signature form.

use crate::util::*;
use alloy::{signers::SignerSync, sol_types::SolStruct};
use ply_core::U256;
use ply_ledger::{
    LedgerError, SignedTx, SigningDomain, Transfer, Tx, Withdrawal,
    signature::{MAX_LOW_S, from_compact, to_compact},
};

#[test]
fn sign_and_verify_round_trip() {
    let domain = domain();
    for i in 0..4 {
        let tx: Tx = if i % 2 == 0 {
            Transfer {
                from: addr(i),
                to: addr(i + 1),
                token: i as u32,
                amount: U256::from(1000u64 * i as u64),
                fee: U256::from(3u64),
                nonce: i as u64,
            }
            .into()
        } else {
            Withdrawal {
                from: addr(i),
                to: addr(9),
                token: 1,
                amount: U256::MAX,
                fee: U256::ZERO,
                nonce: u64::MAX,
            }
            .into()
        };
        let signed = tx.clone().sign(&signer(i), &domain).unwrap();
        assert!(signed.signature.s() <= MAX_LOW_S, "signatures are produced in low-s form");
        let verified = signed.verify(&domain).unwrap();
        assert_eq!(verified.tx(), &tx);

        // Through the compact form, as a batch carries it.
        let compact = signed.compact_signature().unwrap();
        let back = SignedTx::from_compact(tx.clone(), &compact).unwrap();
        assert_eq!(back, signed);
        assert_eq!(to_compact(&back.signature).unwrap(), compact);
        assert_eq!(from_compact(&compact).unwrap(), signed.signature);
        back.verify(&domain).unwrap();

        // And through serde, as an RPC carries it.
        let json = serde_json::to_string(&signed).unwrap();
        assert_eq!(serde_json::from_str::<SignedTx>(&json).unwrap(), signed);
    }
}

#[test]
fn signing_hash_is_standard_eip712() {
    let domain = domain();
    let transfer = Transfer {
        from: addr(1),
        to: addr(2),
        token: 3,
        amount: U256::from(4u64),
        fee: U256::from(5u64),
        nonce: 6,
    };
    assert_eq!(
        Transfer::eip712_encode_type(),
        "Transfer(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)"
    );
    assert_eq!(
        Withdrawal::eip712_encode_type(),
        "Withdrawal(address from,address to,uint32 token,uint256 amount,uint256 fee,uint64 nonce)"
    );
    let eip712 = domain.eip712_domain();
    assert_eq!(eip712.name.as_deref(), Some("ply rollup"));
    assert_eq!(eip712.version.as_deref(), Some("1"));
    assert_eq!(eip712.chain_id, Some(U256::from(901u64)));
    assert_eq!(eip712.verifying_contract, Some(domain.rollup()));
    assert_eq!(eip712.salt, None);
    assert_eq!(domain.separator(), eip712.separator());
    assert_eq!(domain.signing_hash(&transfer), transfer.eip712_signing_hash(&eip712));

    // A wallet signing the typed data's standard hash produces a signature we accept.
    let signature = signer(1).sign_hash_sync(&transfer.eip712_signing_hash(&eip712)).unwrap();
    SignedTx { tx: transfer.into(), signature }.verify(&domain).unwrap();
}

#[test]
fn transfer_and_withdrawal_hashes_differ() {
    let domain = domain();
    let transfer = Transfer {
        from: addr(1),
        to: addr(2),
        token: 0,
        amount: U256::from(1u64),
        fee: U256::ZERO,
        nonce: 0,
    };
    let withdrawal = Withdrawal {
        from: transfer.from,
        to: transfer.to,
        token: transfer.token,
        amount: transfer.amount,
        fee: transfer.fee,
        nonce: transfer.nonce,
    };
    assert_ne!(domain.signing_hash(&transfer), domain.signing_hash(&withdrawal));
    // So a signed transfer cannot be replayed as a withdrawal.
    let signed = transfer.sign(&signer(1), &domain).unwrap();
    let as_withdrawal = SignedTx { tx: withdrawal.into(), signature: signed.signature };
    assert!(matches!(as_withdrawal.verify(&domain), Err(LedgerError::SignerMismatch { .. })));
    // Nor on another deployment.
    let elsewhere = SigningDomain::new(domain.chain_id(), ply_core::Address::repeat_byte(0x43));
    assert!(signed.verify(&elsewhere).is_err());
}
