//! [`DacClient`]: a member seen from the operator or a user. Nothing a member answers is taken
//! on trust: a signature must recover the member's address, served data must hash to what was
//! asked for. [`collect_signatures`] gathers a quorum for a batch.

use super::{
    DacDomain, SIGNATURE_BYTES, data_hash,
    rpc::{MemberInfo, StoredBatch},
    verify_batch_data, verify_signature,
};
use crate::{Result, ZkError};
use alloy::{
    primitives::{Address, B256, Bytes},
    rpc::client::RpcClient,
};
use futures::future::join_all;
use serde::{Serialize, de::DeserializeOwned};
use std::{collections::BTreeMap, time::Duration};

/// How long a client waits for a member's answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A member's checked signature over a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// `sha256(data)`.
    pub hash: B256,
    /// The member.
    pub member: Address,
    /// 65 bytes `r ‖ s ‖ v` over [`dac_digest`](super::dac_digest)`(domain, hash)`.
    pub signature: [u8; SIGNATURE_BYTES],
}

/// A client of one member, which expects the member's address and domain.
#[derive(Debug, Clone)]
pub struct DacClient {
    url: String,
    member: Address,
    domain: DacDomain,
    rpc: RpcClient,
    timeout: Duration,
}

impl DacClient {
    /// A client of the member at `url` (`http://host:port`) that must sign as `member` in
    /// `domain`.
    pub fn new(url: &str, member: Address, domain: DacDomain) -> Result<Self> {
        let parsed = url.parse().map_err(|e| ZkError::DacMember {
            member: member.to_string(),
            reason: format!("{url} is not a URL: {e}"),
        })?;
        Ok(Self {
            url: url.to_owned(),
            member,
            domain,
            rpc: RpcClient::new_http(parsed),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// A client of the member at `url` that takes its address and domain from the member
    /// itself (`dac_member`): for a user who trusts that URL, not for checking a quorum.
    pub async fn connect(url: &str) -> Result<Self> {
        // The address and domain are placeholders until the member says what they are.
        let unknown = DacDomain { chain_id: 0, contract: Address::ZERO };
        let mut client = Self::new(url, Address::ZERO, unknown)?;
        let info = client.info().await?;
        client.member = info.address;
        client.domain = info.domain();
        Ok(client)
    }

    /// The same client, waiting at most `timeout` for each answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The member's address.
    pub fn member(&self) -> Address {
        self.member
    }

    /// The member's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The domain the member must sign in.
    pub fn domain(&self) -> DacDomain {
        self.domain
    }

    fn refused(&self, reason: String) -> ZkError {
        ZkError::DacMember { member: format!("{} at {}", self.member, self.url), reason }
    }

    async fn call<P, R>(&self, method: &'static str, params: P) -> Result<R>
    where
        P: Serialize + Clone + Send + Sync + std::fmt::Debug + Unpin + 'static,
        R: DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        match tokio::time::timeout(self.timeout, self.rpc.request(method, params)).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(self.refused(format!("{method} failed: {e}"))),
            Err(_) => Err(self.refused(format!("{method}: no answer in {:?}", self.timeout))),
        }
    }

    /// The member's own account of who it is (`dac_member`).
    pub async fn info(&self) -> Result<MemberInfo> {
        self.call("dac_member", ()).await
    }

    /// Hands `data` to the member; returns its signature once checked: over `sha256(data)`,
    /// in this client's domain, by the expected member.
    pub async fn store(&self, data: &[u8]) -> Result<Signed> {
        let hash = data_hash(data);
        let stored: StoredBatch =
            self.call("dac_storeBatch", (Bytes::copy_from_slice(data),)).await?;
        if stored.hash != hash {
            return Err(self.refused(format!(
                "it answered hash {} for data whose sha256 is {hash}",
                stored.hash
            )));
        }
        if stored.member != self.member {
            return Err(self.refused(format!("it answered as member {}", stored.member)));
        }
        let signature = verify_signature(&self.domain, hash, self.member, &stored.signature)
            .map_err(|e| self.refused(e.to_string()))?;
        Ok(Signed { hash, member: self.member, signature })
    }

    /// The batch whose hash is `hash`, if the member has it, checked against the hash.
    pub async fn get(&self, hash: B256) -> Result<Option<Vec<u8>>> {
        let data: Option<Bytes> = self.call("dac_getBatch", (hash,)).await?;
        let Some(data) = data else { return Ok(None) };
        verify_batch_data(hash, &data).map_err(|e| self.refused(e.to_string()))?;
        Ok(Some(data.to_vec()))
    }
}

/// Hands `data` to every member at once and returns the valid signatures, at least
/// `threshold` of them, sorted by member address ascending (one per member). Fewer than
/// `threshold` is an error that says how many were collected and why the others failed.
pub async fn collect_signatures(
    members: &[DacClient],
    data: &[u8],
    threshold: usize,
) -> Result<Vec<(Address, [u8; SIGNATURE_BYTES])>> {
    let answers = join_all(members.iter().map(|member| member.store(data))).await;
    let mut signatures = BTreeMap::new();
    let mut failures = Vec::new();
    for answer in answers {
        match answer {
            Ok(signed) => {
                signatures.insert(signed.member, signed.signature);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    if signatures.len() < threshold {
        return Err(ZkError::DacQuorum {
            got: signatures.len(),
            threshold,
            failures: if failures.is_empty() {
                format!("only {} members were asked", members.len())
            } else {
                failures.join("; ")
            },
        });
    }
    Ok(signatures.into_iter().collect())
}

/// The signatures as the L1 contract takes them: 65-byte signatures concatenated in the order
/// given, which must be strictly increasing signer addresses (as [`collect_signatures`]
/// returns them).
pub fn encode_signatures(signatures: &[(Address, [u8; SIGNATURE_BYTES])]) -> Bytes {
    signatures.iter().flat_map(|(_, signature)| signature.iter().copied()).collect()
}
