//! Authenticated TCP framing between channel nodes.
//!
//! A connection starts with a handshake in which each side proves it holds the key of the
//! Ethereum address it claims:
//! 1. both send `Hello = "PLYC" ‖ version u8 (1) ‖ address 20 ‖ challenge 32`, the challenge
//!    32 fresh random bytes;
//! 2. both send `Auth = signature 65` over the EIP-712 struct
//!    `Handshake(address from,address to,bytes32 challenge)` in the channel domain, with
//!    `from` itself, `to` the peer and `challenge` the **peer's** challenge;
//! 3. each checks that the signature recovers the address the peer claimed.
//!
//! Signing the peer's fresh challenge stops replays; naming `to` stops a man in the middle
//! from relaying one node's proof to another (it would name the relay, not the victim); the
//! domain binds it to one chain and TokenNetwork. After the handshake every frame is
//! `length u32 ‖ payload`, at most [`MAX_FRAME_LEN`](crate::wire::MAX_FRAME_LEN) bytes; the
//! payloads are [`wire`](crate::wire) messages, whose own signatures are checked again by the
//! node (the transport only tells it which peer a frame came from).

use crate::{
    ChannelError, Result,
    eip712::{ChannelDomain, SIGNATURE_LEN, recover, signature_from_bytes, signature_to_bytes},
    wire::MAX_FRAME_LEN,
};
use alloy::{signers::local::PrivateKeySigner, sol_types::SolStruct};
use ply_core::{Address, B256};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

alloy::sol! {
    /// The handshake's proof of key (see the module docs).
    #[derive(Debug, PartialEq, Eq)]
    struct Handshake {
        /// The signer.
        address from;
        /// The peer it is talking to.
        address to;
        /// The peer's challenge.
        bytes32 challenge;
    }
}

const MAGIC: &[u8; 4] = b"PLYC";
/// The handshake's version.
pub const HANDSHAKE_VERSION: u8 = 1;
/// How long a peer has to complete the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

fn io(e: std::io::Error) -> ChannelError {
    ChannelError::Transport { reason: e.to_string() }
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_FRAME_LEN {
        return Err(ChannelError::Transport {
            reason: format!("frame of {} bytes", payload.len()),
        });
    }
    let mut buf = Vec::with_capacity(4 + payload.len());
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf).await.map_err(io)
}

/// Reads one frame (refusing one longer than the maximum before reading it).
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await.map_err(io)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_LEN {
        return Err(ChannelError::Transport {
            reason: format!("peer announces a frame of {len} bytes, at most {MAX_FRAME_LEN}"),
        });
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await.map_err(io)?;
    Ok(buf)
}

/// Runs the handshake on a fresh connection; `expected`, when we dialled, is the address we
/// meant to reach. Returns the peer's authenticated address.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    domain: &ChannelDomain,
    signer: &PrivateKeySigner,
    expected: Option<Address>,
) -> Result<Address> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake_inner(stream, domain, signer, expected))
        .await
        .map_err(|_| ChannelError::Transport { reason: "handshake timed out".into() })?
}

async fn handshake_inner<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    domain: &ChannelDomain,
    signer: &PrivateKeySigner,
    expected: Option<Address>,
) -> Result<Address> {
    let me = signer.address();
    let challenge = B256::random();
    let mut hello = Vec::with_capacity(57);
    hello.extend_from_slice(MAGIC);
    hello.push(HANDSHAKE_VERSION);
    hello.extend_from_slice(me.as_slice());
    hello.extend_from_slice(challenge.as_slice());
    write_frame(stream, &hello).await?;
    let theirs = read_frame(stream).await?;
    let refuse = |reason: String| ChannelError::Transport { reason };
    if theirs.len() != 57 || &theirs[..4] != MAGIC {
        return Err(refuse("not a ply channels peer".into()));
    }
    if theirs[4] != HANDSHAKE_VERSION {
        return Err(refuse(format!(
            "handshake version {}, we speak {HANDSHAKE_VERSION}",
            theirs[4]
        )));
    }
    let peer = Address::from_slice(&theirs[5..25]);
    let their_challenge = B256::from_slice(&theirs[25..57]);
    if peer == me {
        return Err(refuse("the peer claims our own address".into()));
    }
    if let Some(expected) = expected
        && peer != expected
    {
        return Err(refuse(format!("dialled {expected}, reached {peer}")));
    }
    let ours = Handshake { from: me, to: peer, challenge: their_challenge };
    let signature = domain.sign(&ours, signer)?;
    write_frame(stream, &signature_to_bytes(&signature)).await?;
    let auth = read_frame(stream).await?;
    let auth: [u8; SIGNATURE_LEN] =
        auth.try_into().map_err(|_| refuse("the peer's proof is not a signature".into()))?;
    let theirs = Handshake { from: peer, to: me, challenge };
    let signer =
        recover(&domain.digest(theirs.eip712_hash_struct()), &signature_from_bytes(&auth)?)?;
    if signer != peer {
        return Err(ChannelError::SignerMismatch { signer, expected: peer });
    }
    Ok(peer)
}
