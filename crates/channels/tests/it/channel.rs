//! The channel state machine against a partner that breaks each rule: every bad proof is
//! refused with its own error, changes nothing, and the channel goes on.

use crate::common::*;
use ply_channels::{
    BalanceProof, ChannelError, SignedBalanceProof,
    channel::{ChannelIdentity, ChannelState, ProofUpdate, Received, channel_id},
    lock::{Lock, secrethash},
};
use ply_core::{Address, B256, U256};

fn pair(deposit_a: u64, deposit_b: u64) -> (ChannelState, ChannelState) {
    let (a, b) = (key(1).address(), key(2).address());
    let id = |our: Address, partner: Address| ChannelIdentity {
        chain_id: CHAIN_ID,
        token_network: token_network(),
        token: Address::ZERO,
        channel_id: channel_id(a, b, Address::ZERO),
        generation: 1,
        our,
        partner,
        settle_timeout: 100,
        reveal_timeout: 10,
    };
    (
        ChannelState::new(id(a, b), U256::from(deposit_a), U256::from(deposit_b)),
        ChannelState::new(id(b, a), U256::from(deposit_b), U256::from(deposit_a)),
    )
}

fn never(_: &B256) -> Option<u64> {
    None
}

/// B's next proof as A would see it if A's (here: key 1's) fields were `edit`ed and re-signed
/// by `signer`.
fn forged(
    base: &BalanceProof,
    signer: usize,
    edit: impl FnOnce(&mut BalanceProof),
) -> SignedBalanceProof {
    let mut p = *base;
    edit(&mut p);
    p.sign(&key(signer)).unwrap()
}

#[test]
fn direct_payments_flow_and_duplicates_are_idempotent() {
    let (mut a, mut b) = pair(1000, 500);
    let bp = a.send_direct(U256::from(300), &key(1)).unwrap();
    assert_eq!(
        b.receive(ProofUpdate::Direct(U256::from(300)), &bp, 10, never).unwrap(),
        Received::Applied
    );
    assert_eq!(
        b.receive(ProofUpdate::Direct(U256::from(300)), &bp, 10, never).unwrap(),
        Received::Duplicate
    );
    assert_eq!(b.available_to_send(), U256::from(800));
    assert_eq!(a.available_to_send(), U256::from(700));
    // B pays back more than its deposit, using what it received.
    let back = b.send_direct(U256::from(800), &key(2)).unwrap();
    a.receive(ProofUpdate::Direct(U256::from(800)), &back, 10, never).unwrap();
    assert_eq!(a.available_to_send(), U256::from(1500));
    assert_eq!(b.available_to_send(), U256::ZERO);
    assert!(matches!(
        b.send_direct(U256::from(1), &key(2)),
        Err(ChannelError::InsufficientBalance { .. })
    ));
}

#[test]
fn every_bad_proof_is_refused_and_the_channel_goes_on() {
    let (mut a, mut b) = pair(1000, 0);
    let first = a.send_direct(U256::from(100), &key(1)).unwrap();
    b.receive(ProofUpdate::Direct(U256::from(100)), &first, 10, never).unwrap();
    let before = b.clone();
    // The honest next proof, which we then spoil one field at a time.
    let mut a2 = a.clone();
    let honest = a2.send_direct(U256::from(50), &key(1)).unwrap();
    let base = honest.proof;
    let direct = ProofUpdate::Direct(U256::from(50));
    type Case = (&'static str, SignedBalanceProof, fn(&ChannelError) -> bool);
    let cases: Vec<Case> = vec![
        ("nonce skips", forged(&base, 1, |p| p.nonce += 1), |e| {
            matches!(e, ChannelError::WrongNonce { expected: 2, got: 3 })
        }),
        ("nonce replays", forged(&base, 1, |p| p.nonce = 1), |e| {
            matches!(e, ChannelError::WrongNonce { expected: 2, got: 1 })
        }),
        ("lower transferred", forged(&base, 1, |p| p.transferred_amount = U256::from(99)), |e| {
            matches!(e, ChannelError::TransferredDecreased { .. })
        }),
        (
            "transferred not matching the message",
            forged(&base, 1, |p| p.transferred_amount = U256::from(151)),
            |e| matches!(e, ChannelError::WrongTransferredAmount { .. }),
        ),
        ("signed by a stranger", forged(&base, 3, |_| {}), |e| {
            matches!(e, ChannelError::SignerMismatch { .. })
        }),
        ("signed by the receiver itself", forged(&base, 2, |_| {}), |e| {
            matches!(e, ChannelError::SignerMismatch { .. })
        }),
        (
            "garbled signature",
            SignedBalanceProof {
                proof: base,
                signature: alloy::primitives::Signature::new(
                    honest.signature.r(),
                    honest.signature.s() ^ U256::from(1),
                    honest.signature.v(),
                ),
            },
            |e| {
                matches!(e, ChannelError::SignerMismatch { .. } | ChannelError::BadSignature { .. })
            },
        ),
        (
            "high-s twin of the honest signature",
            SignedBalanceProof {
                proof: base,
                signature: alloy::primitives::Signature::new(
                    honest.signature.r(),
                    ply_ledger::signature::SECP256K1_ORDER - honest.signature.s(),
                    !honest.signature.v(),
                ),
            },
            |e| matches!(e, ChannelError::BadSignature { .. }),
        ),
        ("wrong channel id", forged(&base, 1, |p| p.channel_id = B256::repeat_byte(9)), |e| {
            matches!(e, ChannelError::WrongChannel { .. })
        }),
        ("wrong chain id", forged(&base, 1, |p| p.chain_id = 1), |e| {
            matches!(e, ChannelError::WrongChainId { expected: CHAIN_ID, got: 1 })
        }),
        ("wrong contract", forged(&base, 1, |p| p.token_network = Address::repeat_byte(1)), |e| {
            matches!(e, ChannelError::WrongContract { .. })
        }),
        ("earlier generation", forged(&base, 1, |p| p.generation = 0), |e| {
            matches!(e, ChannelError::WrongGeneration { expected: 1, got: 0 })
        }),
        (
            "locked amount without locks",
            forged(&base, 1, |p| p.locked_amount = U256::from(1)),
            |e| matches!(e, ChannelError::LockedAmountMismatch { .. }),
        ),
        (
            "locks root without locks",
            forged(&base, 1, |p| p.locks_root = B256::repeat_byte(1)),
            |e| matches!(e, ChannelError::LocksRootMismatch { .. }),
        ),
    ];
    for (name, proof, expected) in cases {
        let err = b.receive(direct, &proof, 10, never).unwrap_err();
        assert!(expected(&err), "{name}: got {err}");
        assert_eq!(b, before, "{name}: the channel changed");
    }
    // Overspending: A claims to pay more than its deposit (honestly signed otherwise).
    let over = forged(&base, 1, |p| p.transferred_amount = U256::from(1001));
    let err = b.receive(ProofUpdate::Direct(U256::from(901)), &over, 10, never).unwrap_err();
    assert!(matches!(err, ChannelError::InsufficientBalance { .. }), "{err}");
    // A message signed for a proof whose signature is right but whose update lies.
    let err = b.receive(ProofUpdate::Direct(U256::from(49)), &honest, 10, never).unwrap_err();
    assert!(matches!(err, ChannelError::WrongTransferredAmount { .. }), "{err}");
    assert_eq!(b, before);
    // The channel goes on: the honest proof is accepted.
    b.receive(direct, &honest, 10, never).unwrap();
    assert_eq!(b.partner.transferred, U256::from(150));
}

#[test]
fn locks_unlock_expire_and_are_checked() {
    let (mut a, mut b) = pair(1000, 0);
    let secret = B256::repeat_byte(0x5e);
    let lock = Lock { amount: U256::from(200), expiration: 50, secrethash: secrethash(&secret) };
    let bp = a.send_lock(lock, &key(1)).unwrap();
    // A lock that hides more than the proof says.
    let bigger = Lock { amount: U256::from(201), ..lock };
    let err = b.receive(ProofUpdate::Locked(bigger), &bp, 10, never).unwrap_err();
    assert!(matches!(err, ChannelError::LockedAmountMismatch { .. }), "{err}");
    let other_expiry = Lock { expiration: 51, ..lock };
    let err = b.receive(ProofUpdate::Locked(other_expiry), &bp, 10, never).unwrap_err();
    assert!(matches!(err, ChannelError::LocksRootMismatch { .. }), "{err}");
    // A lock that arrives after its expiration (a late resend) is accepted as state (the
    // sender's own money; refusing it would stall the nonces), and can be removed at once.
    let mut late = b.clone();
    late.receive(ProofUpdate::Locked(lock), &bp, 51, never).unwrap();
    let mut a_late = a.clone();
    let removal = a_late.send_lock_expired(&lock.secrethash, 51, &key(1)).unwrap();
    late.receive(ProofUpdate::Expired(lock.secrethash), &removal, 51, never).unwrap();
    assert!(late.partner.locks.is_empty());
    b.receive(ProofUpdate::Locked(lock), &bp, 10, never).unwrap();
    assert_eq!(a.available_to_send(), U256::from(800), "the lock is reserved at send");
    // The same balance cannot be locked twice.
    let second = Lock { amount: U256::from(900), expiration: 60, secrethash: B256::repeat_byte(1) };
    assert!(matches!(a.send_lock(second, &key(1)), Err(ChannelError::InsufficientBalance { .. })));
    // Expiry: too early for both sides.
    assert!(matches!(
        a.send_lock_expired(&lock.secrethash, 50, &key(1)),
        Err(ChannelError::LockNotExpired { .. })
    ));
    // Unlock with the secret.
    let (unlock, _) = a.clone().send_unlock(&lock.secrethash, &key(1)).unwrap();
    let mut b2 = b.clone();
    b2.receive(ProofUpdate::Unlock(secret), &unlock, 20, never).unwrap();
    assert_eq!(b2.partner.transferred, U256::from(200));
    assert!(b2.partner.locks.is_empty());
    // An unlock that claims a wrong secret refers to no lock.
    let mut b3 = b.clone();
    let err =
        b3.receive(ProofUpdate::Unlock(B256::repeat_byte(2)), &unlock, 20, never).unwrap_err();
    assert!(matches!(err, ChannelError::UnknownLock { .. }), "{err}");
    // Expiry after the expiration block.
    let expired = a.send_lock_expired(&lock.secrethash, 51, &key(1)).unwrap();
    let err =
        b.clone().receive(ProofUpdate::Expired(lock.secrethash), &expired, 50, never).unwrap_err();
    assert!(matches!(err, ChannelError::LockNotExpired { .. }), "{err}");
    // Refused when the secret was registered on L1 in time: the lock is claimed there.
    let err = b
        .clone()
        .receive(ProofUpdate::Expired(lock.secrethash), &expired, 51, |_| Some(50))
        .unwrap_err();
    assert!(matches!(err, ChannelError::SecretRegisteredOnChain { .. }), "{err}");
    b.receive(ProofUpdate::Expired(lock.secrethash), &expired, 51, |_| Some(51)).unwrap();
    assert_eq!(b.partner.transferred, U256::ZERO);
    assert_eq!(a.available_to_send(), U256::from(1000));
}
