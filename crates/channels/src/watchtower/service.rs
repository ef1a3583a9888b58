//! The running tower: [`Watchtower`] ties the pure [`Tower`] to its [`TowerStore`], the L1
//! (an [`EventReader`] and a [`ChannelsL1`] account that pays for updates), and serves clients
//! a small JSON-RPC on a loopback socket ([`serve`], [`WatchtowerClient`]):
//!
//! - `watchtower_submit(WatchedState) -> Offered`: refused with the reason when a signature,
//!   the domain or the channel is wrong, or when the state is not newer than the one held;
//! - `watchtower_get(channelId, client) -> WatchedState | null`;
//! - `watchtower_status() -> TowerStatus`.

use super::{Duty, Offered, Tower, WatchKey, WatchedState, store::TowerStore};
use crate::{
    ChannelError, Result,
    eip712::ChannelDomain,
    l1::{ChannelsL1, OnChainState, events::EventReader},
};
use alloy::rpc::client::RpcClient as JsonRpc;
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use ply_core::{Address, B256};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
};

fn l1_error(e: ply_l1::Error) -> ChannelError {
    ChannelError::Transport { reason: format!("L1: {e}") }
}

/// What a tower reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TowerStatus {
    /// The TokenNetwork watched.
    pub token_network: Address,
    /// How many client channels are watched.
    pub watched: u64,
    /// Closes of watched channels not yet answered or found answered.
    pub pending_duties: u64,
    /// Updates the tower has submitted on L1.
    pub updates_sent: u64,
}

/// What one [`Watchtower::poll`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Channels for which the tower submitted `updateNonClosingBalanceProof`.
    pub updated: Vec<B256>,
}

struct Inner {
    tower: Tower,
    store: TowerStore,
    duties: Vec<Duty>,
    updates_sent: u64,
}

/// A watchtower: states, store, L1 access. Cheap to clone (shared).
#[derive(Clone)]
pub struct Watchtower {
    inner: Arc<Mutex<Inner>>,
    reader: Arc<tokio::sync::Mutex<EventReader>>,
    l1: ChannelsL1,
}

impl std::fmt::Debug for Watchtower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchtower").field("account", &self.l1.address()).finish()
    }
}

impl Watchtower {
    /// Opens the tower whose store is at `path`, paying for updates from `l1`'s account,
    /// reading events `confirmations` deep from where it stopped (or from `start_block` for a
    /// new store).
    pub async fn open(
        path: &Path,
        l1: ChannelsL1,
        confirmations: u64,
        start_block: u64,
    ) -> Result<Self> {
        let store = TowerStore::open(path)?;
        let chain_id = l1.client().chain_id().await.map_err(l1_error)?;
        let domain = ChannelDomain::new(chain_id, l1.contracts().token_network);
        let tower = Tower::new(domain, store.states()?);
        let resume = store.resume_block()?.max(start_block);
        let reader = EventReader::new(l1.client().clone(), l1.contracts(), confirmations, resume);
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                tower,
                store,
                duties: Vec::new(),
                updates_sent: 0,
            })),
            reader: Arc::new(tokio::sync::Mutex::new(reader)),
            l1,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a client's state: verified, checked newer, persisted, then held.
    pub fn submit(&self, state: WatchedState) -> Result<Offered> {
        let mut inner = self.lock();
        let offered = inner.tower.check_offer(&state)?;
        if offered == Offered::Stored {
            inner.store.put(&state)?;
            inner.tower.insert(state);
        }
        Ok(offered)
    }

    /// The state held for `client` in `channel_id`.
    pub fn state(&self, channel_id: B256, client: Address) -> Option<WatchedState> {
        self.lock().tower.state(&(channel_id, client)).copied()
    }

    /// The tower's figures.
    pub fn status(&self) -> TowerStatus {
        let inner = self.lock();
        TowerStatus {
            token_network: inner.tower.domain().token_network(),
            watched: inner.tower.states().count() as u64,
            pending_duties: inner.duties.len() as u64,
            updates_sent: inner.updates_sent,
        }
    }

    /// Reads the newly confirmed events, turns closes of watched channels into duties and
    /// performs every duty that is due: the held proof goes on L1 unless one at least as new
    /// is on record; a duty ends when answered, when the channel is no longer closed at that
    /// generation, or when its settle block has passed.
    pub async fn poll(&self) -> Result<PollReport> {
        {
            let mut reader = self.reader.lock().await;
            match reader.poll().await {
                Ok((_, events)) => {
                    let mut inner = self.lock();
                    for e in &events {
                        let duties = inner.tower.on_event(&e.event, e.block);
                        for d in duties {
                            if !inner.duties.contains(&d) {
                                inner.duties.push(d);
                            }
                        }
                    }
                }
                Err(ply_l1::Error::Reorg { .. }) => {
                    // Closes from blocks the reader will read again are derived again.
                    let next = reader.next_block();
                    self.lock().duties.retain(|d| d.close_block < next);
                }
                Err(e) => return Err(l1_error(e)),
            }
            let next = reader.next_block();
            let inner = self.lock();
            let resume = inner.duties.iter().map(|d| d.close_block).min().unwrap_or(next).min(next);
            inner.store.set_resume_block(resume)?;
        }
        let duties = self.lock().duties.clone();
        let mut report = PollReport::default();
        for duty in duties {
            match self.perform(&duty).await {
                Ok(done) => {
                    if done {
                        report.updated.push(duty.key.0);
                        self.lock().updates_sent += 1;
                    }
                    self.lock().duties.retain(|d| d != &duty);
                }
                // Kept: tried again at the next poll while the settle block allows it.
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Performs one duty; `Ok(true)` when an update was sent, `Ok(false)` when none was needed
    /// (or it is too late).
    async fn perform(&self, duty: &Duty) -> Result<bool> {
        let Some(state) = self.state(duty.key.0, duty.key.1) else { return Ok(false) };
        let channel = self.l1.channel(duty.key.0).await.map_err(l1_error)?;
        if channel.state != OnChainState::Closed
            || channel.generation != duty.generation
            || channel.closer != Some(duty.closer)
            || state.generation() != duty.generation
        {
            return Ok(false);
        }
        let head = self.l1.client().block_number().await.map_err(l1_error)?;
        if head >= channel.settle_block {
            // The next block is past the last one for updates.
            return Ok(false);
        }
        let recorded = self.l1.participant(duty.key.0, duty.closer).await.map_err(l1_error)?;
        if recorded.nonce >= state.nonce() {
            return Ok(false);
        }
        self.l1
            .update_non_closing_balance_proof(
                duty.key.0,
                duty.closer,
                state.client,
                &state.partner_proof,
                &state.non_closing_signature,
            )
            .await
            .map_err(l1_error)?;
        Ok(true)
    }

    /// Polls every `interval` until the returned handle is dropped or aborted.
    pub fn spawn_loop(&self, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let tower = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = tower.poll().await {
                    eprintln!("watchtower: {e}");
                }
                tokio::time::sleep(interval).await;
            }
        })
    }
}

fn refused(e: ChannelError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>)
}

/// The client-facing JSON-RPC module.
pub fn module(tower: Watchtower) -> RpcModule<Watchtower> {
    let mut m = RpcModule::new(tower);
    m.register_blocking_method("watchtower_submit", |params, t, _| {
        let state: WatchedState = params.one()?;
        t.submit(state).map_err(refused)
    })
    .expect("registered once");
    m.register_method("watchtower_get", |params, t, _| {
        let (channel_id, client): (B256, Address) = params.parse()?;
        Ok::<_, ErrorObjectOwned>(t.state(channel_id, client))
    })
    .expect("registered once");
    m.register_method("watchtower_status", |_, t, _| Ok::<_, ErrorObjectOwned>(t.status()))
        .expect("registered once");
    m
}

/// Serves the client API on `addr` (use 127.0.0.1); returns the bound address and the handle.
pub async fn serve(tower: Watchtower, addr: SocketAddr) -> Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder().build(addr).await.map_err(|e| ChannelError::Transport {
        reason: format!("watchtower cannot listen on {addr}: {e}"),
    })?;
    let bound =
        server.local_addr().map_err(|e| ChannelError::Transport { reason: e.to_string() })?;
    Ok((bound, server.start(module(tower))))
}

/// A client of a tower's JSON-RPC.
#[derive(Debug, Clone)]
pub struct WatchtowerClient {
    rpc: JsonRpc,
}

fn rpc_error(e: impl std::fmt::Display) -> ChannelError {
    ChannelError::Transport { reason: format!("watchtower: {e}") }
}

impl WatchtowerClient {
    /// A client of the tower at `url` (`http://127.0.0.1:PORT`).
    pub fn new(url: &str) -> Result<Self> {
        let url = url.parse().map_err(|e| rpc_error(format!("bad URL {url}: {e}")))?;
        Ok(Self { rpc: JsonRpc::new_http(url) })
    }

    /// Hands the tower a state; the tower's refusal comes back as
    /// [`ChannelError::Transport`] with its sentence.
    pub async fn submit(&self, state: &WatchedState) -> Result<Offered> {
        self.rpc.request("watchtower_submit", (state,)).await.map_err(rpc_error)
    }

    /// The state the tower holds for `client` in `channel_id`.
    pub async fn get(&self, channel_id: B256, client: Address) -> Result<Option<WatchedState>> {
        self.rpc.request("watchtower_get", (channel_id, client)).await.map_err(rpc_error)
    }

    /// The tower's figures.
    pub async fn status(&self) -> Result<TowerStatus> {
        self.rpc.request("watchtower_status", ()).await.map_err(rpc_error)
    }
}

/// The key of a watched state, for callers that hold one.
pub fn key_of(state: &WatchedState) -> WatchKey {
    (state.channel_id(), state.client)
}
