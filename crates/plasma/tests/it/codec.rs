//! The canonical codec: one encoding per transaction, every other byte string refused with the
//! contract's reason.

use alloy::primitives::{Address, B256, U256};
use ply_plasma::{Error, Output, PaymentTx, UtxoPos};

fn sample() -> PaymentTx {
    PaymentTx::new(
        vec![UtxoPos::new(1000, 3, 1).unwrap(), UtxoPos::new(2, 0, 0).unwrap()],
        vec![
            Output {
                owner: Address::repeat_byte(0xb0),
                token: Address::ZERO,
                amount: U256::from(5),
            },
            Output {
                owner: Address::repeat_byte(0xa1),
                token: Address::repeat_byte(0x22),
                amount: U256::from(7),
            },
        ],
        B256::from(U256::from(42)),
    )
    .unwrap()
}

fn set_word(bytes: &[u8], i: usize, word: U256) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[32 * i..32 * i + 32].copy_from_slice(&word.to_be_bytes::<32>());
    out
}

fn reason(bytes: &[u8]) -> &'static str {
    match PaymentTx::decode(bytes) {
        Err(Error::Malformed { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn round_trip_and_length() {
    let tx = sample();
    let bytes = tx.encode();
    assert_eq!(bytes.len(), 32 * (7 + 2 + 3 * 2));
    assert_eq!(PaymentTx::decode(&bytes).unwrap(), tx);
}

#[test]
fn every_non_canonical_form_is_refused_with_the_contracts_reason() {
    let b = sample().encode();
    let pos = |blk: u64, tx: u64, o: u64| U256::from(blk * 1_000_000_000 + tx * 10_000 + o);
    let mut trailing = b.clone();
    trailing.extend_from_slice(&[0u8; 32]);
    assert_eq!(reason(&trailing), "length");
    let mut one_more = b.clone();
    one_more.push(0);
    assert_eq!(reason(&one_more), "length");
    assert_eq!(reason(&[]), "length");
    let cases: Vec<(usize, U256, &str)> = vec![
        (0, U256::from(0x40), "tuple offset"),
        (1, U256::from(2), "version"),
        (1, U256::from(0x101), "version"),
        (2, U256::from(0xa0), "inputs offset"),
        (3, U256::from(0x100), "outputs offset"),
        (5, U256::from(5), "too many inputs"),
        (5, U256::MAX, "too many inputs"),
        (6, U256::ZERO, "input position"),
        (6, pos(1000, 3, 4), "input position"),
        (6, pos(1000, 65_536, 0), "input position"),
        (6, U256::from(1) << 64, "input position"),
        (7, pos(1000, 3, 1), "duplicate input"),
        (8, U256::from(3), "length"),
        (8, U256::from(5), "output count"),
        (8, U256::ZERO, "output count"),
        (
            9,
            U256::from_be_slice(Address::repeat_byte(0xb0).as_slice()) | (U256::from(1) << 160),
            "address",
        ),
        (10, U256::from(1) << 200, "address"),
        (9, U256::ZERO, "zero owner"),
        (11, U256::ZERO, "zero amount"),
    ];
    for (word, value, expected) in cases {
        assert_eq!(reason(&set_word(&b, word, value)), expected, "word {word} = {value:#x}");
    }
}

#[test]
fn no_mutation_of_a_word_gives_a_second_encoding() {
    let tx = sample();
    let b = tx.encode();
    let values = [
        U256::ZERO,
        U256::from(1),
        U256::from(0x20),
        U256::from(0x80),
        U256::MAX,
        U256::from(1) << 160,
    ];
    for word in 0..b.len() / 32 {
        for value in values {
            let mutated = set_word(&b, word, value);
            if mutated == b {
                continue;
            }
            if let Ok(other) = PaymentTx::decode(&mutated) {
                // accepted: it is then the canonical encoding of another transaction
                assert_eq!(other.encode(), mutated);
                assert_ne!(other, tx);
            }
        }
    }
}

#[test]
fn construction_refuses_what_decoding_refuses() {
    let out =
        Output { owner: Address::repeat_byte(1), token: Address::ZERO, amount: U256::from(1) };
    let p = UtxoPos::new(1, 0, 0).unwrap();
    assert!(matches!(
        PaymentTx::new(vec![p, p], vec![out], B256::ZERO),
        Err(Error::Malformed { reason: "duplicate input" })
    ));
    assert!(matches!(
        PaymentTx::new(vec![p], vec![], B256::ZERO),
        Err(Error::Malformed { reason: "output count" })
    ));
    assert!(matches!(
        PaymentTx::new(vec![p], vec![out; 5], B256::ZERO),
        Err(Error::Malformed { reason: "output count" })
    ));
    let zero = Output { amount: U256::ZERO, ..out };
    assert!(matches!(
        PaymentTx::new(vec![p], vec![zero], B256::ZERO),
        Err(Error::Malformed { reason: "zero amount" })
    ));
    let nobody = Output { owner: Address::ZERO, ..out };
    assert!(matches!(
        PaymentTx::new(vec![p], vec![nobody], B256::ZERO),
        Err(Error::Malformed { reason: "zero owner" })
    ));
}

#[test]
fn positions() {
    let p = UtxoPos::new(2000, 9999, 3).unwrap();
    assert_eq!(p.as_u64(), 2_000_099_990_003);
    assert_eq!((p.blknum(), p.txindex(), p.oindex()), (2000, 9999, 3));
    assert_eq!(p.tx_pos(), UtxoPos::new(2000, 9999, 0).unwrap());
    assert!(!p.is_deposit());
    assert!(UtxoPos::new(1, 0, 0).unwrap().is_deposit());
    assert!(UtxoPos::new(0, 0, 0).is_err());
    assert!(UtxoPos::new(1, 65_536, 0).is_err());
    assert!(UtxoPos::new(1, 0, 4).is_err());
    assert!(UtxoPos::new(u64::MAX / 1_000_000_000 + 1, 0, 0).is_err());
    assert!(UtxoPos::from_u64(5).is_err());
}
