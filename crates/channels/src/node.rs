//! A channel node over real TCP sockets: the [`ChannelManager`] on its own thread, peers
//! authenticated by their Ethereum keys ([`transport`](crate::transport)), group commit, and
//! resending of unacknowledged messages whenever a peer (re)connects.
//!
//! The state thread takes inputs (frames from peers, the user's payments, L1 events and
//! blocks) in groups: it hands each to the manager, commits every record of the group to the
//! [`Store`] in one transaction (one fsync), and only then sends the group's messages, makes
//! its L1 calls and answers the callers. Network I/O runs on tokio tasks that only move frames;
//! the state thread never waits on a socket. A failed commit stops the node (the manager would
//! be ahead of the disk); restart it from its store.
//!
//! Connections: the node with the lower address dials (and redials every
//! [`REDIAL_INTERVAL`]); the other accepts. A peer's address is known only after the
//! handshake, and a frame is handed to the manager with that address as its sender.

use crate::{
    ChannelError, Result,
    channel::{ChannelIdentity, ChannelState, channel_id},
    manager::{Action, Actions, ChannelManager, Event, L1Call},
    routing::{ChannelGraph, SignedChannelUpdate},
    store::Store,
    transport::{handshake, read_frame, write_frame},
    wire,
};
use ply_core::{Address, B256, U256};
use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{broadcast, mpsc, oneshot, watch},
};

/// How often a node redials a peer it should be connected to.
pub const REDIAL_INTERVAL: Duration = Duration::from_millis(200);

/// The most inputs handled under one commit.
pub const MAX_GROUP: usize = 512;

/// What the node learns from L1 (from the contracts' events, see [`crate::l1::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L1Input {
    /// A new block.
    Block(u64),
    /// A channel opened (any channel of the TokenNetwork: routing needs them all).
    ChannelOpened {
        /// The channel.
        channel_id: B256,
        /// Its generation.
        generation: u64,
        /// One participant.
        participant1: Address,
        /// The other.
        participant2: Address,
        /// The token.
        token: Address,
        /// The settle timeout.
        settle_timeout: u64,
    },
    /// A participant's total deposit.
    Deposit {
        /// The channel.
        channel_id: B256,
        /// The participant.
        participant: Address,
        /// Its total deposit.
        total: U256,
    },
    /// A channel closed.
    Closed {
        /// The channel.
        channel_id: B256,
        /// Who closed.
        closer: Address,
        /// The first block of settle.
        settle_block: u64,
    },
    /// A channel settled.
    Settled {
        /// The channel.
        channel_id: B256,
    },
    /// A secret was registered.
    SecretRegistered {
        /// The secret.
        secret: B256,
        /// The block of registration.
        block: u64,
    },
}

type Query = Box<dyn FnOnce(&ChannelManager, &ChannelGraph) + Send>;

enum Input {
    Frame { from: Address, frame: Vec<u8> },
    Connected { peer: Address, conn: u64, writer: mpsc::UnboundedSender<Vec<u8>> },
    Disconnected { peer: Address, conn: u64 },
    PayDirect { partner: Address, amount: U256, reply: oneshot::Sender<Result<u64>> },
    Pay { target: Address, amount: U256, reply: oneshot::Sender<Result<u64>> },
    L1(L1Input),
    GraphUpdate(Box<SignedChannelUpdate>),
    Query(Query),
    Stop,
}

/// What the node does after a commit (a reply waits for the commit).
type Reply = (oneshot::Sender<Result<u64>>, Result<u64>);

/// A running node.
pub struct NodeHandle {
    address: Address,
    local_addr: SocketAddr,
    inputs: mpsc::UnboundedSender<Input>,
    events: broadcast::Sender<Event>,
    l1_calls: broadcast::Sender<L1Call>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("address", &self.address)
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

/// Where a node listens and whom it dials.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The listening address (port 0: any free port).
    pub listen: SocketAddr,
    /// Known peers' listening addresses.
    pub peers: BTreeMap<Address, SocketAddr>,
}

/// Starts a node: binds its listener, starts its state thread and its dialers. Call from
/// within a tokio runtime.
pub async fn start(
    manager: ChannelManager,
    store: Box<dyn Store + Send>,
    graph: ChannelGraph,
    settings: NodeSettings,
) -> Result<NodeHandle> {
    let listener = TcpListener::bind(settings.listen).await.map_err(transport)?;
    let local_addr = listener.local_addr().map_err(transport)?;
    let address = manager.address();
    let domain = manager.config().domain.clone();
    let signer = Arc::new(manager_signer(&manager));
    let (inputs, rx) = mpsc::unbounded_channel();
    let (events, _) = broadcast::channel(4096);
    let (l1_calls, _) = broadcast::channel(1024);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let conn_ids = Arc::new(AtomicU64::new(0));

    let state = StateThread {
        manager,
        store,
        graph,
        writers: HashMap::new(),
        events: events.clone(),
        l1_calls: l1_calls.clone(),
    };
    let thread = std::thread::Builder::new()
        .name(format!("channels-{address}"))
        .spawn(move || state.run(rx))
        .map_err(|e| ChannelError::Transport {
            reason: format!("cannot start the state thread: {e}"),
        })?;

    let ctx =
        ConnContext { domain, signer, inputs: inputs.clone(), conn_ids, shutdown: shutdown_rx };
    {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut stop = ctx.shutdown.clone();
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            tokio::spawn(ctx.clone().serve(stream, None));
                        }
                    }
                }
            }
        });
    }
    for (peer, addr) in settings.peers {
        if address < peer {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut stop = ctx.shutdown.clone();
                loop {
                    if let Ok(stream) = TcpStream::connect(addr).await {
                        ctx.clone().serve(stream, Some(peer)).await;
                    }
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(REDIAL_INTERVAL) => {}
                    }
                    if *stop.borrow() {
                        return;
                    }
                }
            });
        }
    }
    Ok(NodeHandle { address, local_addr, inputs, events, l1_calls, shutdown, thread: Some(thread) })
}

fn manager_signer(manager: &ChannelManager) -> alloy::signers::local::PrivateKeySigner {
    manager.signer().clone()
}

fn transport(e: std::io::Error) -> ChannelError {
    ChannelError::Transport { reason: e.to_string() }
}

#[derive(Clone)]
struct ConnContext {
    domain: crate::eip712::ChannelDomain,
    signer: Arc<alloy::signers::local::PrivateKeySigner>,
    inputs: mpsc::UnboundedSender<Input>,
    conn_ids: Arc<AtomicU64>,
    shutdown: watch::Receiver<bool>,
}

impl ConnContext {
    /// Authenticates a connection and moves its frames until it ends.
    async fn serve(self, mut stream: TcpStream, expected: Option<Address>) {
        let _ = stream.set_nodelay(true);
        let Ok(peer) = handshake(&mut stream, &self.domain, &self.signer, expected).await else {
            return;
        };
        let conn = self.conn_ids.fetch_add(1, Ordering::Relaxed);
        let (mut read, mut write) = stream.into_split();
        let (writer, mut frames) = mpsc::unbounded_channel::<Vec<u8>>();
        let write_task = tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                if write_frame(&mut write, &frame).await.is_err() {
                    return;
                }
            }
        });
        if self.inputs.send(Input::Connected { peer, conn, writer }).is_err() {
            write_task.abort();
            return;
        }
        let mut stop = self.shutdown.clone();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                frame = read_frame(&mut read) => match frame {
                    Ok(frame) => {
                        if self.inputs.send(Input::Frame { from: peer, frame }).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                },
            }
        }
        write_task.abort();
        let _ = self.inputs.send(Input::Disconnected { peer, conn });
    }
}

struct StateThread {
    manager: ChannelManager,
    store: Box<dyn Store + Send>,
    graph: ChannelGraph,
    writers: HashMap<Address, (u64, mpsc::UnboundedSender<Vec<u8>>)>,
    events: broadcast::Sender<Event>,
    l1_calls: broadcast::Sender<L1Call>,
}

impl StateThread {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        while let Some(first) = rx.blocking_recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(input) => group.push(input),
                    Err(_) => break,
                }
            }
            let mut actions = Actions::default();
            let mut replies: Vec<Reply> = Vec::new();
            let mut connected = Vec::new();
            let mut stop = false;
            for input in group {
                match input {
                    Input::Stop => stop = true,
                    Input::Query(q) => q(&self.manager, &self.graph),
                    other => self.handle(other, &mut actions, &mut replies, &mut connected),
                }
            }
            if let Err(e) = self.store.commit(&actions.persist) {
                let _ = self.events.send(Event::Refused {
                    from: self.manager.address(),
                    error: format!("the node stops: {e}"),
                });
                for (reply, _) in replies {
                    let _ = reply.send(Err(ChannelError::Storage(e.to_string())));
                }
                return;
            }
            for action in actions.then {
                match action {
                    Action::Send { to, message } => self.send_frame(to, wire::encode(&message)),
                    Action::L1(call) => {
                        let _ = self.l1_calls.send(call);
                    }
                    Action::Event(e) => {
                        let _ = self.events.send(e);
                    }
                }
            }
            // Everything in the outbox is durable now: resend it to whoever just connected.
            for peer in connected {
                for message in self.manager.outbox_for(peer) {
                    self.send_frame(peer, wire::encode(&message));
                }
            }
            for (reply, result) in replies {
                let _ = reply.send(result);
            }
            if stop {
                return;
            }
        }
    }

    fn send_frame(&self, to: Address, frame: Vec<u8>) {
        // Not connected: the message waits in the outbox for the reconnect (acks need no
        // resend: the peer resends what we did not acknowledge, and we acknowledge it again).
        if let Some((_, writer)) = self.writers.get(&to) {
            let _ = writer.send(frame);
        }
    }

    fn handle(
        &mut self,
        input: Input,
        actions: &mut Actions,
        replies: &mut Vec<Reply>,
        connected: &mut Vec<Address>,
    ) {
        let me = self.manager.address();
        match input {
            Input::Frame { from, frame } => {
                let result = wire::decode(&frame).and_then(|m| self.manager.receive(from, &m));
                match result {
                    Ok(a) => actions.extend(a),
                    Err(e) => actions
                        .then
                        .push(Action::Event(Event::Refused { from, error: e.to_string() })),
                }
            }
            Input::Connected { peer, conn, writer } => {
                self.writers.insert(peer, (conn, writer));
                connected.push(peer);
            }
            Input::Disconnected { peer, conn } => {
                if self.writers.get(&peer).is_some_and(|(c, _)| *c == conn) {
                    self.writers.remove(&peer);
                }
            }
            Input::PayDirect { partner, amount, reply } => {
                let payment_id = random_u64();
                match self.manager.pay_direct(partner, amount, payment_id) {
                    Ok(a) => {
                        actions.extend(a);
                        replies.push((reply, Ok(payment_id)));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Input::Pay { target, amount, reply } => {
                let payment_id = random_u64();
                let max = self.manager.config().max_lock_timeout;
                let result = self
                    .graph
                    .find_route(me, target, amount, max)
                    .and_then(|route| self.manager.pay(&route, amount, payment_id, B256::random()));
                match result {
                    Ok(a) => {
                        actions.extend(a);
                        replies.push((reply, Ok(payment_id)));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Input::GraphUpdate(update) => {
                if let Err(e) = self.graph.apply_update(&update) {
                    actions.then.push(Action::Event(Event::Refused {
                        from: update.update.node,
                        error: e.to_string(),
                    }));
                }
            }
            Input::L1(event) => {
                let result = self.l1_input(event);
                match result {
                    Ok(a) => actions.extend(a),
                    Err(e) => actions
                        .then
                        .push(Action::Event(Event::Refused { from: me, error: e.to_string() })),
                }
            }
            Input::Query(_) | Input::Stop => unreachable!("handled by the caller"),
        }
    }

    fn l1_input(&mut self, event: L1Input) -> Result<Actions> {
        let me = self.manager.address();
        Ok(match event {
            L1Input::Block(n) => self.manager.on_block(n)?,
            L1Input::ChannelOpened {
                channel_id: id,
                generation,
                participant1,
                participant2,
                token,
                settle_timeout,
            } => {
                self.graph.channel_opened(id, generation, participant1, participant2);
                let partner = if participant1 == me {
                    participant2
                } else if participant2 == me {
                    participant1
                } else {
                    return Ok(Actions::default());
                };
                if id != channel_id(participant1, participant2, token) {
                    return Err(ChannelError::WrongChannel {
                        expected: channel_id(participant1, participant2, token),
                        got: id,
                    });
                }
                let config = self.manager.config();
                let identity = ChannelIdentity {
                    chain_id: config.domain.chain_id(),
                    token_network: config.domain.token_network(),
                    token,
                    channel_id: id,
                    generation,
                    our: me,
                    partner,
                    settle_timeout,
                    reveal_timeout: config.reveal_timeout,
                };
                self.manager.on_channel_opened(identity, U256::ZERO, U256::ZERO)
            }
            L1Input::Deposit { channel_id, participant, total } => {
                self.graph.deposit_set(channel_id, participant, total);
                self.manager.on_deposit(channel_id, participant, total)
            }
            L1Input::Closed { channel_id, closer, settle_block } => {
                self.graph.channel_closed(channel_id);
                self.manager.on_channel_closed(channel_id, closer, settle_block)?
            }
            L1Input::Settled { channel_id } => self.manager.on_channel_settled(channel_id),
            L1Input::SecretRegistered { secret, block } => {
                self.manager.on_secret_registered(secret, block)?
            }
        })
    }
}

fn random_u64() -> u64 {
    u64::from_be_bytes(B256::random()[..8].try_into().expect("8 bytes"))
}

impl NodeHandle {
    /// The node's Ethereum address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The node's events (payments sent, received, failed; refusals).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The L1 calls the node asks for, for an executor ([`crate::l1::ChannelsL1::execute`]).
    pub fn l1_calls(&self) -> broadcast::Receiver<L1Call> {
        self.l1_calls.subscribe()
    }

    fn input(&self, input: Input) -> Result<()> {
        self.inputs.send(input).map_err(|_| ChannelError::Stopped)
    }

    /// Pays `partner` directly; returns the payment id once the new state is durable (the
    /// message is then on its way).
    pub async fn pay_direct(&self, partner: Address, amount: U256) -> Result<u64> {
        let (reply, rx) = oneshot::channel();
        self.input(Input::PayDirect { partner, amount, reply })?;
        rx.await.map_err(|_| ChannelError::Stopped)?
    }

    /// Starts a mediated payment to `target` over the cheapest route; returns its id once
    /// the first lock is durable. Completion arrives as [`Event::PaymentSent`] or
    /// [`Event::PaymentFailed`].
    pub async fn pay(&self, target: Address, amount: U256) -> Result<u64> {
        let (reply, rx) = oneshot::channel();
        self.input(Input::Pay { target, amount, reply })?;
        rx.await.map_err(|_| ChannelError::Stopped)?
    }

    /// Feeds an L1 event or block.
    pub fn l1(&self, input: L1Input) -> Result<()> {
        self.input(Input::L1(input))
    }

    /// Feeds a node's signed channel announcement to the routing graph.
    pub fn graph_update(&self, update: SignedChannelUpdate) -> Result<()> {
        self.input(Input::GraphUpdate(Box::new(update)))
    }

    /// Our channel with `partner`, as the state thread has it now.
    pub async fn channel_with(&self, partner: Address) -> Result<Option<ChannelState>> {
        let (tx, rx) = oneshot::channel();
        self.input(Input::Query(Box::new(move |m, _| {
            let _ = tx.send(m.channel_with(partner).cloned());
        })))?;
        rx.await.map_err(|_| ChannelError::Stopped)
    }

    /// How many payments are in progress and messages unacknowledged.
    pub async fn pending(&self) -> Result<(usize, usize)> {
        let (tx, rx) = oneshot::channel();
        self.input(Input::Query(Box::new(move |m, _| {
            let _ = tx.send((m.payments().count(), m.outbox().len()));
        })))?;
        rx.await.map_err(|_| ChannelError::Stopped)
    }

    /// Stops the node: its connections close, its state thread finishes the current group
    /// (committing it) and drops the store.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let _ = self.inputs.send(Input::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}
