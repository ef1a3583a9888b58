//! A DAC member's JSON-RPC server (HTTP and WebSocket on one port, 127.0.0.1:9560 + i in the
//! devnet) and [`DacMember`], which runs one in-process.
//!
//! | method | params | result |
//! |---|---|---|
//! | `dac_storeBatch` | batch data, hex | [`StoredBatch`], once the data is on disk |
//! | `dac_getBatch` | `sha256(data)` | the data, hex, or null |
//! | `dac_member` | — | [`MemberInfo`] |
//!
//! Data that is not hex, not whole 12-byte records or too long gets error -32602 with a
//! sentence that says why; a failing database gets -32603.

use super::{
    DEFAULT_MAX_BATCH_BYTES, DacDomain, client::DacClient, sign_data_hash, store::DacStore,
};
use crate::{Result, ZkError};
use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::{
        ErrorObjectOwned,
        error::{INTERNAL_ERROR_CODE, INVALID_PARAMS_CODE},
    },
};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::{
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

/// What `dac_storeBatch` returns: the member's signature over the batch's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredBatch {
    /// `sha256(data)`.
    pub hash: B256,
    /// The member's address.
    pub member: Address,
    /// 65 bytes `r ‖ s ‖ v` over [`dac_digest`](super::dac_digest)`(domain, hash)`.
    pub signature: Bytes,
}

/// What `dac_member` returns: who the member is and what it signs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInfo {
    /// The member's address (its signing key).
    pub address: Address,
    /// The validium's chain id.
    pub chain_id: u64,
    /// The L1 contract that checks the committee's signatures.
    pub contract: Address,
}

impl MemberInfo {
    /// The domain the member signs in.
    pub fn domain(&self) -> DacDomain {
        DacDomain { chain_id: self.chain_id, contract: self.contract }
    }
}

/// How to run a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DacMemberConfig {
    /// What the member signs for.
    pub domain: DacDomain,
    /// The directory of its database.
    pub data_dir: PathBuf,
    /// Where its JSON-RPC server listens (port 0 picks a free one).
    pub addr: SocketAddr,
    /// The longest batch it stores.
    pub max_batch_bytes: usize,
}

impl DacMemberConfig {
    /// A member on 127.0.0.1:`port` that takes batches of up to
    /// [`DEFAULT_MAX_BATCH_BYTES`].
    pub fn new(domain: DacDomain, data_dir: impl Into<PathBuf>, port: u16) -> Self {
        Self {
            domain,
            data_dir: data_dir.into(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        }
    }
}

/// The store, shared by the server's requests; taken out (and so closed) when the member stops.
type StoreSlot = Arc<RwLock<Option<Arc<DacStore>>>>;

/// The server's context.
#[derive(Debug, Clone)]
struct Member {
    signer: PrivateKeySigner,
    domain: DacDomain,
    store: StoreSlot,
}

impl Member {
    fn store(&self) -> Result<Arc<DacStore>> {
        self.store
            .read()
            .clone()
            .ok_or_else(|| ZkError::DacServer("the member is stopping".to_owned()))
    }

    async fn store_batch(&self, data: Vec<u8>) -> Result<StoredBatch> {
        let store = self.store()?;
        // The write waits for fsync: off the async workers.
        let hash = tokio::task::spawn_blocking(move || store.put(&data))
            .await
            .map_err(|e| ZkError::DacStorage(format!("the write did not finish: {e}")))??;
        let signature = sign_data_hash(&self.signer, &self.domain, hash)?;
        Ok(StoredBatch { hash, member: self.signer.address(), signature: signature.into() })
    }

    async fn get_batch(&self, hash: B256) -> Result<Option<Bytes>> {
        let store = self.store()?;
        let data = tokio::task::spawn_blocking(move || store.get(hash))
            .await
            .map_err(|e| ZkError::DacStorage(format!("the read did not finish: {e}")))??;
        Ok(data.map(Bytes::from))
    }

    fn info(&self) -> MemberInfo {
        MemberInfo {
            address: self.signer.address(),
            chain_id: self.domain.chain_id,
            contract: self.domain.contract,
        }
    }
}

/// The JSON-RPC error for `error`: -32602 for refused data, -32603 otherwise.
fn rpc_error(error: ZkError) -> ErrorObjectOwned {
    let code = match error {
        ZkError::DacData(_) => INVALID_PARAMS_CODE,
        _ => INTERNAL_ERROR_CODE,
    };
    ErrorObjectOwned::owned(code, error.to_string(), None::<()>)
}

fn module(member: Member) -> RpcModule<Member> {
    let mut m = RpcModule::new(member);
    m.register_async_method("dac_storeBatch", |params, member, _| async move {
        let hex: String = params.one()?;
        let data = alloy::hex::decode(hex.trim()).map_err(|e| {
            rpc_error(ZkError::DacData(format!("batch data must be hex bytes (0x…): {e}")))
        })?;
        member.store_batch(data).await.map_err(rpc_error)
    })
    .expect("registered once");
    m.register_async_method("dac_getBatch", |params, member, _| async move {
        let hash: B256 = params.one()?;
        member.get_batch(hash).await.map_err(rpc_error)
    })
    .expect("registered once");
    m.register_method("dac_member", |_, member, _| Ok::<_, ErrorObjectOwned>(member.info()))
        .expect("registered once");
    m
}

/// A running member: its database and its JSON-RPC server. Dropping it stops the server;
/// [`stop`](Self::stop) also waits until the database is closed.
#[derive(Debug)]
pub struct DacMember {
    addr: SocketAddr,
    info: MemberInfo,
    store: StoreSlot,
    server: ServerHandle,
}

impl DacMember {
    /// Opens the member's database and starts its server.
    pub async fn start(signer: PrivateKeySigner, config: DacMemberConfig) -> Result<Self> {
        let store = DacStore::open(&config.data_dir, config.max_batch_bytes)?;
        let store: StoreSlot = Arc::new(RwLock::new(Some(Arc::new(store))));
        let member = Member { signer, domain: config.domain, store: store.clone() };
        let info = member.info();
        let server = Server::builder()
            .build(config.addr)
            .await
            .map_err(|e| ZkError::DacServer(format!("cannot listen on {}: {e}", config.addr)))?;
        let addr = server.local_addr().map_err(|e| ZkError::DacServer(e.to_string()))?;
        let server = server.start(module(member));
        Ok(Self { addr, info, store, server })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The member's address and domain.
    pub fn info(&self) -> MemberInfo {
        self.info
    }

    /// A client of this member that expects its address and domain.
    pub fn client(&self) -> Result<DacClient> {
        DacClient::new(&self.url(), self.info.address, self.info.domain())
    }

    /// Stops the server, waits for the requests in flight, and closes the database (so that
    /// the same directory can be opened again once this returns).
    pub async fn stop(self) {
        let _ = self.server.stop();
        self.server.clone().stopped().await;
        let Some(mut store) = self.store.write().take() else { return };
        // A request that was running holds the store until its write is done.
        loop {
            match Arc::try_unwrap(store) {
                Ok(store) => return drop(store),
                Err(shared) => {
                    store = shared;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
}

impl Drop for DacMember {
    fn drop(&mut self) {
        let _ = self.server.stop();
    }
}
