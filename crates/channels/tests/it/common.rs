//! Shared test helpers.

use alloy::signers::local::PrivateKeySigner;
use ply_channels::{
    BalanceProof, Message, SignedMessage, eip712::ChannelDomain, lock::Lock, messages::*,
};
use ply_core::{Address, B256, U256, dev::dev_signer};

pub(crate) const CHAIN_ID: u64 = 1337;

pub(crate) fn token_network() -> Address {
    Address::repeat_byte(0x77)
}

pub(crate) fn domain() -> ChannelDomain {
    ChannelDomain::new(CHAIN_ID, token_network())
}

pub(crate) fn key(i: usize) -> PrivateKeySigner {
    dev_signer(i).unwrap()
}

/// One message of every kind, signed by dev account 1, deterministic (RFC 6979).
pub(crate) fn sample_messages() -> Vec<(&'static str, SignedMessage)> {
    let signer = key(1);
    let bp = |nonce: u64| {
        BalanceProof {
            chain_id: CHAIN_ID,
            token_network: token_network(),
            channel_id: B256::repeat_byte(0xcc),
            generation: 1,
            nonce,
            transferred_amount: U256::from(1000u64 * nonce),
            locked_amount: U256::from(50u64),
            locks_root: B256::repeat_byte(0x11),
        }
        .sign(&signer)
        .unwrap()
    };
    let lock =
        Lock { amount: U256::from(50u64), expiration: 500, secrethash: B256::repeat_byte(0x22) };
    let messages = vec![
        (
            "locked_transfer",
            Message::LockedTransfer(LockedTransfer {
                message_id: 1,
                payment_id: 42,
                balance_proof: bp(1),
                lock,
                initiator: signer.address(),
                target: Address::repeat_byte(0x33),
                payment_amount: U256::from(49u64),
                route: vec![
                    signer.address(),
                    Address::repeat_byte(0x44),
                    Address::repeat_byte(0x33),
                ],
            }),
        ),
        (
            "unlock",
            Message::Unlock(Unlock {
                message_id: 2,
                payment_id: 42,
                balance_proof: bp(2),
                secret: B256::repeat_byte(0x55),
            }),
        ),
        (
            "lock_expired",
            Message::LockExpired(LockExpired {
                message_id: 3,
                payment_id: 42,
                balance_proof: bp(3),
                secrethash: B256::repeat_byte(0x22),
            }),
        ),
        (
            "direct_transfer",
            Message::DirectTransfer(DirectTransfer {
                message_id: 4,
                payment_id: 43,
                balance_proof: bp(4),
                amount: U256::from(7u64),
            }),
        ),
        (
            "refund_transfer",
            Message::RefundTransfer(RefundTransfer {
                message_id: 5,
                payment_id: 42,
                channel_id: B256::repeat_byte(0xcc),
                generation: 1,
                secrethash: B256::repeat_byte(0x22),
            }),
        ),
        (
            "secret_request",
            Message::SecretRequest(SecretRequest {
                message_id: 6,
                payment_id: 42,
                secrethash: B256::repeat_byte(0x22),
                amount: U256::from(49u64),
                expiration: 480,
            }),
        ),
        (
            "reveal_secret",
            Message::RevealSecret(RevealSecret { message_id: 7, secret: B256::repeat_byte(0x55) }),
        ),
        ("processed", Message::Processed(Ack { message_id: 8 })),
        ("delivered", Message::Delivered(Ack { message_id: 9 })),
    ];
    messages.into_iter().map(|(n, m)| (n, m.sign(&domain(), &signer).unwrap())).collect()
}
