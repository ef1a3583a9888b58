//! The wire codec: pinned fixtures, round trips, and hostile input that must never panic.

use crate::common::*;
use alloy::hex;
use ply_channels::{
    ChannelError,
    wire::{MAX_FRAME_LEN, WIRE_VERSION, decode, encode},
};
use std::path::PathBuf;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wire_v1.json")
}

/// The frames of version 1 are pinned in `tests/vectors/wire_v1.json`; `PLY_BLESS=1`
/// rewrites the file (only when the format is meant to change, with a new version).
#[test]
fn version_1_frames_match_the_fixtures() {
    let samples = sample_messages();
    let mut fresh = serde_json::Map::new();
    for (name, msg) in &samples {
        fresh.insert(
            (*name).to_owned(),
            serde_json::json!({
                "frame": hex::encode_prefixed(encode(msg)),
                "digest": domain().digest(msg.message.struct_hash()).to_string(),
            }),
        );
    }
    let fresh = serde_json::Value::Object(fresh);
    if std::env::var("PLY_BLESS").is_ok() {
        std::fs::write(vectors_path(), serde_json::to_string_pretty(&fresh).unwrap() + "\n")
            .unwrap();
    }
    let pinned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    assert_eq!(pinned, fresh, "the version 1 wire format changed");
    for (name, msg) in &samples {
        let frame = hex::decode(pinned[name]["frame"].as_str().unwrap()).unwrap();
        assert_eq!(frame[0], WIRE_VERSION);
        let decoded = decode(&frame).unwrap();
        assert_eq!(&decoded, msg, "{name}");
        assert_eq!(decoded.sender(&domain()).unwrap(), key(1).address(), "{name}");
        if let Some(bp) = decoded.message.balance_proof() {
            assert_eq!(bp.signer().unwrap(), key(1).address(), "{name}");
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for (name, msg) in sample_messages() {
        let frame = encode(&msg);
        for len in 0..frame.len() {
            assert!(
                matches!(decode(&frame[..len]), Err(ChannelError::Decode { .. })),
                "{name} truncated to {len}"
            );
        }
        let mut longer = frame.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "{name} with a trailing byte");
    }
}

#[test]
fn garbled_frames_never_panic_and_never_verify_as_the_original() {
    // A deterministic xorshift: every byte of every frame flipped in several ways.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, msg) in sample_messages() {
        let frame = encode(&msg);
        let sender = key(1).address();
        for i in 0..frame.len() {
            for _ in 0..3 {
                let mut bad = frame.clone();
                bad[i] ^= (next() as u8) | 1;
                if let Ok(decoded) = decode(&bad) {
                    // Whatever decodes must not pass as the sender's message.
                    assert_ne!(decoded, msg);
                    // A receiver checks the message signature and, if it carries one, the
                    // balance proof's signature (in the proof's own domain).
                    let message_ok = decoded.sender(&domain()).is_ok_and(|s| s == sender);
                    let proof_ok = decoded
                        .message
                        .balance_proof()
                        .is_none_or(|bp| bp.signer().is_ok_and(|s| s == sender));
                    assert!(!(message_ok && proof_ok), "{name}: garbled byte {i} still verifies");
                }
            }
        }
        // Random junk of random lengths.
        for _ in 0..200 {
            let len = (next() % 900) as usize;
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode(&junk);
        }
    }
}

#[test]
fn bounds_are_enforced() {
    assert!(decode(&vec![WIRE_VERSION; MAX_FRAME_LEN + 1]).is_err());
    let (_, msg) = sample_messages().remove(0);
    let mut frame = encode(&msg);
    frame[0] = 2;
    let err = decode(&frame).unwrap_err();
    assert!(err.to_string().contains("wire version 2"), "{err}");
    frame[0] = WIRE_VERSION;
    frame[1] = 0xee;
    assert!(decode(&frame).unwrap_err().to_string().contains("unknown message kind"));
    // The route length byte of the locked transfer (after its fixed fields) set too long.
    let mut frame = encode(&msg);
    let route_len_at = 2 + 8 + 8 + 237 + 72 + 20 + 20 + 32;
    assert_eq!(frame[route_len_at], 3);
    frame[route_len_at] = 200;
    assert!(decode(&frame).unwrap_err().to_string().contains("route of 200 hops"));
    // A v of 0 in the message signature.
    let mut frame = encode(&msg);
    let last = frame.len() - 1;
    frame[last] = 0;
    assert!(decode(&frame).unwrap_err().to_string().contains("must be 27 or 28"));
}
