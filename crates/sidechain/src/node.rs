//! A sidechain validator's application: what commonware simplex drives
//! ([`Automaton`], [`CertifiableAutomaton`], [`Relay`], [`Reporter`]).
//!
//! - **Propose**: a [`Block`] on the parent consensus gave, with the mempool's transactions that
//!   no unexecuted ancestor carries, at `max(parent's timestamp, now)`.
//! - **Verify**: the block's bytes arrived (over the block channel, from the proposer), its
//!   parent and height are the context's, its timestamp is not before the parent's nor more than
//!   [`MAX_CLOCK_DRIFT_SECS`] ahead of ours, and every transaction is a signed EIP-2718
//!   transaction that recovers a sender. A block still missing keeps the answer pending (the
//!   library's timeout decides), never `false`.
//! - **Relay**: the proposer sends the block's bytes to the other validators.
//! - **Report**: on a finalisation the node executes, in height order, every finalised block it
//!   has not executed, with [`ply_l1::chain::Chain::execute_block`]. A block it lacks (a node that
//!   was down) is asked for from the peers by its id and execution resumes when it arrives: this
//!   is how a restarted validator catches up.
//!
//! The block channel carries `0x00 ‖ block` (a block) and `0x01 ‖ id` (a request for one).

use crate::block::Block;
use alloy::primitives::{B256, keccak256};
use commonware_actor::Feedback;
use commonware_consensus::{
    Automaton, CertifiableAutomaton, Relay, Reporter,
    simplex::{
        Plan,
        scheme::ed25519,
        types::{Activity, Context},
    },
};
use commonware_cryptography::{ed25519::PublicKey, sha256::Digest};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner};
use commonware_utils::channel::{mpsc, oneshot};
use parking_lot::Mutex;
use ply_l1::chain::{Chain, ChainConfig, Mining, PooledTx};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::UNIX_EPOCH,
};

/// How far ahead of a validator's clock a block's timestamp may be.
pub const MAX_CLOCK_DRIFT_SECS: u64 = 10;
/// The most transactions a proposer puts in one block.
pub const MAX_PROPOSAL_TRANSACTIONS: usize = 2_000;

/// The activity the library reports with ed25519 votes.
pub type SidechainActivity = Activity<ed25519::Scheme, Digest>;

/// One finalised and executed block, as a node records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The consensus block id.
    pub id: Digest,
    /// Its height (the EVM block number).
    pub height: u64,
    /// The EVM block hash.
    pub hash: B256,
    /// The state root after it.
    pub state_root: B256,
    /// The hashes of the transactions the EVM executed.
    pub transactions: Vec<B256>,
}

/// What a node shows the outside: its mempool and what it executed. Cheap to clone.
#[derive(Clone, Default)]
pub struct NodeHandle {
    mempool: Arc<Mutex<Vec<Vec<u8>>>>,
    executed: Arc<Mutex<Vec<Executed>>>,
    faults: Arc<Mutex<u64>>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("executed", &self.executed.lock().len()).finish()
    }
}

impl NodeHandle {
    /// Adds a signed EIP-2718 transaction to the mempool (refused if it does not decode).
    pub fn submit(&self, raw: Vec<u8>) -> crate::Result<B256> {
        let tx = PooledTx::decode(&raw).map_err(|e| crate::Error::MalformedBlock {
            reason: format!("transaction refused: {e}"),
        })?;
        self.mempool.lock().push(raw);
        Ok(tx.hash)
    }

    /// The finalised blocks this node executed, in height order (height 1 first).
    pub fn executed(&self) -> Vec<Executed> {
        self.executed.lock().clone()
    }

    /// The height of the last executed block (0: only the genesis).
    pub fn height(&self) -> u64 {
        self.executed.lock().last().map_or(0, |e| e.height)
    }

    /// The Byzantine evidence the library reported (conflicting votes).
    pub fn faults(&self) -> u64 {
        *self.faults.lock()
    }
}

/// The node's configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The embedded chain's parameters; its `chain_id` is the sidechain's (distinct from L1's),
    /// its `genesis_timestamp` must be set (every node must have the same genesis).
    pub chain: ChainConfig,
}

enum Message {
    Propose { context: Context<Digest, PublicKey>, response: oneshot::Sender<Digest> },
    Verify { context: Context<Digest, PublicKey>, payload: Digest, response: oneshot::Sender<bool> },
    Broadcast { payload: Digest, recipients: Recipients<PublicKey> },
    Finalized { payload: Digest },
    Fault,
    Network { from: PublicKey, bytes: Vec<u8> },
}

/// The engine's side of a node: the automaton, relay and reporter handed to simplex.
#[derive(Clone)]
pub struct Mailbox {
    sender: mpsc::UnboundedSender<Message>,
}

impl Automaton for Mailbox {
    type Context = Context<Digest, PublicKey>;
    type Digest = Digest;

    async fn propose(&mut self, context: Self::Context) -> oneshot::Receiver<Digest> {
        let (response, receiver) = oneshot::channel();
        let _ = self.sender.send(Message::Propose { context, response });
        receiver
    }

    async fn verify(&mut self, context: Self::Context, payload: Digest) -> oneshot::Receiver<bool> {
        let (response, receiver) = oneshot::channel();
        let _ = self.sender.send(Message::Verify { context, payload, response });
        receiver
    }
}

impl CertifiableAutomaton for Mailbox {}

impl Relay for Mailbox {
    type Digest = Digest;
    type PublicKey = PublicKey;
    type Plan = Plan<PublicKey>;

    fn broadcast(&mut self, payload: Digest, plan: Plan<PublicKey>) -> Feedback {
        let recipients = match plan {
            // We never stage candidates (no `prepare`), so there is nothing to send early.
            Plan::Prepare { .. } => return Feedback::Ok,
            Plan::Propose { .. } => Recipients::All,
            Plan::Forward { recipients, .. } => recipients,
        };
        match self.sender.send(Message::Broadcast { payload, recipients }) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

impl Reporter for Mailbox {
    type Activity = SidechainActivity;

    fn report(&mut self, activity: SidechainActivity) -> Feedback {
        let message = match activity {
            Activity::Finalization(finalization) => {
                Message::Finalized { payload: finalization.proposal.payload }
            }
            Activity::ConflictingNotarize(_)
            | Activity::ConflictingFinalize(_)
            | Activity::NullifyFinalize(_) => Message::Fault,
            _ => return Feedback::Ok,
        };
        match self.sender.send(message) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

const TAG_BLOCK: u8 = 0;
const TAG_REQUEST: u8 = 1;

/// A validator's application state: the blocks it knows, the embedded chain it executes them
/// on, and the verifications waiting for a block.
struct Application {
    chain: Chain,
    blocks: HashMap<Digest, Block>,
    /// `executed_ids[h]` is the id of the executed block at height `h` (0: the genesis).
    executed_ids: Vec<Digest>,
    /// The newest finalised block not yet executed (missing ancestors are being fetched).
    target: Option<Digest>,
    /// Verifications parked on a missing block (the proposal or its parent), by that block's id.
    #[allow(clippy::type_complexity)]
    waiting: HashMap<Digest, Vec<(Context<Digest, PublicKey>, Digest, oneshot::Sender<bool>)>>,
    handle: NodeHandle,
}

/// Starts a validator's application on `context`: returns the [`Mailbox`] to hand the simplex
/// engine (as automaton, relay and reporter), the [`NodeHandle`] and the task's handle.
/// `network` is the block channel (registered on the p2p network next to the engine's three).
pub fn start<E, S, R>(
    context: E,
    config: NodeConfig,
    network: (S, R),
) -> (Mailbox, NodeHandle, Handle<()>)
where
    E: Clock + Spawner,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let mut chain_config = config.chain;
    chain_config.mining = Mining::Manual;
    let genesis_timestamp = chain_config.genesis_timestamp.unwrap_or(0);
    chain_config.genesis_timestamp = Some(genesis_timestamp);
    let genesis = Block::genesis(chain_config.chain_id, genesis_timestamp);
    let genesis_id = genesis.digest();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = NodeHandle::default();
    let mut app = Application {
        chain: Chain::new(chain_config),
        blocks: HashMap::from([(genesis_id, genesis)]),
        executed_ids: vec![genesis_id],
        target: None,
        waiting: HashMap::new(),
        handle: handle.clone(),
    };
    let (mut sender, mut receiver) = network;
    let forward = tx.clone();
    let task = context.spawn(move |context| async move {
        let reader = context.child("blocks_reader").spawn(move |_| async move {
            while let Ok((from, bytes)) = receiver.recv().await {
                let bytes: &[u8] = bytes.as_ref();
                if forward.send(Message::Network { from, bytes: bytes.to_vec() }).is_err() {
                    break;
                }
            }
        });
        while let Some(message) = rx.recv().await {
            app.handle(&context, &mut sender, message);
        }
        reader.abort();
    });
    (Mailbox { sender: tx }, handle, task)
}

impl Application {
    fn handle<E: Clock, S: Sender<PublicKey = PublicKey>>(
        &mut self,
        context: &E,
        sender: &mut S,
        message: Message,
    ) {
        match message {
            Message::Propose { context: ctx, response } => {
                if let Some(id) = self.propose(context, &ctx) {
                    let _ = response.send(id);
                }
                // Without the parent we cannot build: dropping the response lets the library
                // time the view out.
            }
            Message::Verify { context: ctx, payload, response } => {
                self.verify_or_wait(context, sender, ctx, payload, response);
            }
            Message::Broadcast { payload, recipients } => {
                if let Some(block) = self.blocks.get(&payload) {
                    let mut bytes = vec![TAG_BLOCK];
                    bytes.extend_from_slice(&block.encode());
                    let _ = sender.send(recipients, bytes, false);
                }
            }
            Message::Finalized { payload } => {
                let newer = match self.target.and_then(|t| self.blocks.get(&t)) {
                    Some(current) => {
                        self.blocks.get(&payload).is_none_or(|b| b.height > current.height)
                    }
                    None => true,
                };
                if newer && !self.executed_ids.contains(&payload) {
                    self.target = Some(payload);
                }
                self.execute_finalized(sender);
            }
            Message::Fault => *self.handle.faults.lock() += 1,
            Message::Network { from, bytes } => self.receive(context, sender, from, &bytes),
        }
    }

    fn now_secs<E: Clock>(context: &E) -> u64 {
        context.current().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
    }

    /// The hashes of the transactions carried by the ancestors of `id` not yet executed.
    fn pending_ancestry(&self, mut id: Digest) -> HashSet<B256> {
        let mut carried = HashSet::new();
        let executed: HashSet<&Digest> = self.executed_ids.iter().collect();
        while !executed.contains(&id) {
            let Some(block) = self.blocks.get(&id) else { break };
            carried.extend(block.transactions.iter().map(keccak256));
            id = block.parent;
        }
        carried
    }

    fn propose<E: Clock>(
        &mut self,
        context: &E,
        ctx: &Context<Digest, PublicKey>,
    ) -> Option<Digest> {
        let parent_id = ctx.parent.1;
        let parent = self.blocks.get(&parent_id)?;
        let carried = self.pending_ancestry(parent_id);
        let transactions: Vec<Vec<u8>> = self
            .handle
            .mempool
            .lock()
            .iter()
            .filter(|raw| !carried.contains(&keccak256(raw)))
            .take(MAX_PROPOSAL_TRANSACTIONS)
            .cloned()
            .collect();
        let block = Block {
            parent: parent_id,
            height: parent.height + 1,
            timestamp: parent.timestamp.max(Self::now_secs(context)),
            transactions,
        };
        let id = block.digest();
        self.blocks.insert(id, block);
        Some(id)
    }

    /// Answers a verification if the block and its parent are here; otherwise parks it on the
    /// missing one and asks the peers for it (the answer stays pending, never `false`).
    fn verify_or_wait<E: Clock, S: Sender<PublicKey = PublicKey>>(
        &mut self,
        context: &E,
        sender: &mut S,
        ctx: Context<Digest, PublicKey>,
        payload: Digest,
        response: oneshot::Sender<bool>,
    ) {
        let missing = [payload, ctx.parent.1].into_iter().find(|id| !self.blocks.contains_key(id));
        match missing {
            None => {
                let verdict = self.verify(context, &ctx, &payload);
                let _ = response.send(verdict);
            }
            Some(id) => {
                let waiters = self.waiting.entry(id).or_default();
                if waiters.is_empty() {
                    Self::request(sender, &id);
                }
                waiters.push((ctx, payload, response));
            }
        }
    }

    fn request<S: Sender<PublicKey = PublicKey>>(sender: &mut S, id: &Digest) {
        let mut request = vec![TAG_REQUEST];
        request.extend_from_slice(id.as_ref());
        let _ = sender.send(Recipients::All, request, false);
    }

    fn verify<E: Clock>(&self, context: &E, ctx: &Context<Digest, PublicKey>, id: &Digest) -> bool {
        let (Some(block), Some(parent)) = (self.blocks.get(id), self.blocks.get(&ctx.parent.1))
        else {
            return false;
        };
        block.parent == ctx.parent.1
            && block.height == parent.height + 1
            && block.timestamp >= parent.timestamp
            && block.timestamp <= Self::now_secs(context) + MAX_CLOCK_DRIFT_SECS
            && block.transactions.iter().all(|raw| PooledTx::decode(raw).is_ok())
    }

    fn receive<E: Clock, S: Sender<PublicKey = PublicKey>>(
        &mut self,
        context: &E,
        sender: &mut S,
        from: PublicKey,
        bytes: &[u8],
    ) {
        match bytes.split_first() {
            Some((&TAG_BLOCK, encoded)) => {
                let Ok(block) = Block::decode(encoded) else { return };
                let id = block.digest();
                self.blocks.entry(id).or_insert(block);
                if let Some(waiters) = self.waiting.remove(&id) {
                    for (ctx, payload, response) in waiters {
                        self.verify_or_wait(context, sender, ctx, payload, response);
                    }
                }
                if self.target.is_some() {
                    self.execute_finalized(sender);
                }
            }
            Some((&TAG_REQUEST, id)) if id.len() == 32 => {
                let id = Digest::from(<[u8; 32]>::try_from(id).expect("32 bytes"));
                if let Some(block) = self.blocks.get(&id) {
                    let mut bytes = vec![TAG_BLOCK];
                    bytes.extend_from_slice(&block.encode());
                    let _ = sender.send(Recipients::One(from), bytes, false);
                }
            }
            _ => {}
        }
    }

    /// Executes the finalised target and its unexecuted ancestors, oldest first; asks the peers
    /// for the first missing one.
    fn execute_finalized<S: Sender<PublicKey = PublicKey>>(&mut self, sender: &mut S) {
        let Some(target) = self.target else { return };
        let tip = self.executed_ids.len() as u64 - 1;
        let mut path = Vec::new();
        let mut id = target;
        loop {
            let Some(block) = self.blocks.get(&id) else {
                Self::request(sender, &id);
                return;
            };
            if block.height <= tip {
                if self.executed_ids[block.height as usize] != id {
                    // Two different finalised blocks at one height: consensus safety failed.
                    // Never execute a fork; record it for whoever watches.
                    *self.handle.faults.lock() += 1_000_000;
                    self.target = None;
                    return;
                }
                break;
            }
            path.push(id);
            id = block.parent;
        }
        for id in path.into_iter().rev() {
            let block = self.blocks.get(&id).expect("on the path").clone();
            let transactions: Vec<PooledTx> =
                block.transactions.iter().filter_map(|raw| PooledTx::decode(raw).ok()).collect();
            let mined = match self.chain.execute_block(transactions, block.timestamp) {
                Ok(mined) => mined,
                Err(e) => {
                    tracing::error!(error = %e, height = block.height, "execution failed");
                    return;
                }
            };
            let included: HashSet<B256> = mined.transactions.iter().map(|t| t.hash).collect();
            let carried: HashSet<B256> = block.transactions.iter().map(keccak256).collect();
            self.handle.mempool.lock().retain(|raw| !carried.contains(&keccak256(raw)));
            self.handle.executed.lock().push(Executed {
                id,
                height: block.height,
                hash: mined.hash,
                state_root: mined.header.state_root,
                transactions: mined.transactions.iter().map(|t| t.hash).collect(),
            });
            debug_assert!(included.iter().all(|h| carried.contains(h)));
            self.executed_ids.push(id);
        }
        self.target = None;
    }
}
