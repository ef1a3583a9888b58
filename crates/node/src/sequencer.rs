//! The sequencer task: one task owns a family's [`StateMachine`] and its [`Journal`]; every
//! other part of the node talks to it through a [`Sequencer`] handle.
//!
//! The task takes commands in groups: it applies a group to the machine, commits the log
//! entries the machine returned in one journal append (one fsync), and only then answers the
//! senders and publishes the blocks sealed — an acknowledgement is never lost by a crash, and a
//! busy sequencer pays one fsync per group, not per operation. A journal that cannot be
//! written stops the task: a sequencer that cannot persist must not go on confirming.
//!
//! Time comes from a [`Clock`](crate::Clock): the task stamps each group with the clock's second, and a
//! timer on the same clock asks the machine to [`tick`](StateMachine::tick) (seal its open
//! block) every `block_time`. On a [`ManualClock`](crate::ManualClock) a test decides exactly
//! when blocks seal.

use crate::{DynClock, Error, Journal};
use serde::{Serialize, de::DeserializeOwned};
use std::{fmt, future::Future, time::Duration};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The most commands the task applies before one commit.
pub const GROUP: usize = 2_048;

/// What a machine's step returns besides its answer: the log entries to persist before anyone
/// hears of the step, and the blocks it sealed (published after the commit).
#[derive(Debug)]
pub struct Output<E, S> {
    /// Log entries, in order.
    pub entries: Vec<E>,
    /// Blocks sealed, in order.
    pub sealed: Vec<S>,
}

impl<E, S> Default for Output<E, S> {
    fn default() -> Self {
        Self { entries: Vec::new(), sealed: Vec::new() }
    }
}

/// A family's sequencer rules, without I/O: the task owns one and drives it.
pub trait StateMachine: Send + 'static {
    /// An operation a user submits (signature already checked by the caller).
    type Op: Send + 'static;
    /// What the submitter of an accepted operation gets back (its soft confirmation).
    type Accepted: Send + 'static;
    /// Why an operation was refused, and every failure of the task (a journal error comes in
    /// through `From`).
    type Error: From<Error> + Send + 'static;
    /// An operation queued on L1 (a deposit, a forced transaction).
    type Queued: Send + 'static;
    /// A log entry: what the journal keeps so that [`replay`](Self::replay) rebuilds the state.
    type Entry: Serialize + DeserializeOwned + Send + 'static;
    /// A batch record (what the settlement loop posted, and how far it got).
    type Record: Serialize + DeserializeOwned + Send + 'static;
    /// A sealed block, as subscribers receive it.
    type Sealed: Clone + Send + 'static;

    /// Applies an entry of the journal again, at start.
    fn replay(&mut self, entry: Self::Entry) -> Result<(), Self::Error>;

    /// Takes the batch records of the journal, at start.
    fn restore(&mut self, records: Vec<Self::Record>);

    /// Applies one operation at time `now` (seconds), pushing the entries to persist.
    fn accept(
        &mut self,
        op: Self::Op,
        now: u64,
        out: &mut Output<Self::Entry, Self::Sealed>,
    ) -> Result<Self::Accepted, Self::Error>;

    /// Queues operations read from L1, in queue order (the machine ignores those it has).
    fn queue(&mut self, ops: Vec<Self::Queued>);

    /// An L1 reorg removed or changed the queued operations from queue index `from` on
    /// ([`IntakeEvent::Reorged`](crate::IntakeEvent::Reorged)): forget those not applied yet,
    /// so that what L1 holds now can take their place. `false` when one of them was applied
    /// already: the machine cannot go back on what it confirmed, and the node must stop rather
    /// than post batches that L1 would refuse. The default applies nothing it cannot forget:
    /// a machine that queues nothing answers `true`.
    fn unqueue(&mut self, from: u64) -> bool {
        let _ = from;
        true
    }

    /// The block timer fired (or the node started): seal the open block, take queued
    /// operations.
    fn tick(&mut self, now: u64, out: &mut Output<Self::Entry, Self::Sealed>);

    /// The number a batch record is kept under.
    fn record_number(record: &Self::Record) -> u64;

    /// A batch record, new or updated, once it is durable.
    fn record(&mut self, record: Self::Record);
}

type Query<M> = Box<dyn FnOnce(&M) + Send>;
type Reply<M> = oneshot::Sender<Result<<M as StateMachine>::Accepted, <M as StateMachine>::Error>>;

enum Command<M: StateMachine> {
    Submit(M::Op, Reply<M>),
    Queue(Vec<M::Queued>),
    Unqueue(u64, oneshot::Sender<bool>),
    Tick,
    Query(Query<M>),
    Record(M::Record),
    Stop(oneshot::Sender<()>),
}

/// A handle to a running sequencer task. Cheap to clone; when the last handle is gone the task
/// ends and closes its journal.
pub struct Sequencer<M: StateMachine> {
    commands: mpsc::Sender<Command<M>>,
    blocks: broadcast::Sender<M::Sealed>,
}

impl<M: StateMachine> Clone for Sequencer<M> {
    fn clone(&self) -> Self {
        Self { commands: self.commands.clone(), blocks: self.blocks.clone() }
    }
}

impl<M: StateMachine> fmt::Debug for Sequencer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sequencer").finish_non_exhaustive()
    }
}

fn stopped<E: From<Error>>() -> E {
    Error::Stopped.into()
}

impl<M: StateMachine> Sequencer<M> {
    /// Replays `journal` into `machine`, seals what a crash left open, and starts the task and
    /// its block timer (every `block_time` on `clock`). Needs a tokio runtime.
    pub fn start<J: Journal>(
        mut machine: M,
        mut journal: J,
        clock: DynClock,
        block_time: Duration,
    ) -> Result<Self, M::Error> {
        let entries = journal.entries::<M::Entry>()?;
        let replayed = entries.len();
        for entry in entries {
            machine.replay(entry)?;
        }
        machine.restore(journal.batches()?);
        if replayed > 0 {
            tracing::info!(entries = replayed, "sequencer recovered from its journal");
        }
        // A block left open by a crash is sealed now, before anything new joins it.
        let mut out = Output::default();
        machine.tick(clock.now_secs(), &mut out);
        journal.append(&out.entries)?;

        let (commands, rx) = mpsc::channel(65_536);
        let (blocks, _) = broadcast::channel(4_096);
        let task = Task { machine, journal, clock: clock.clone(), blocks: blocks.clone() };
        tokio::spawn(task.run(rx));
        // The timer holds only a weak sender: when every handle is gone, the task ends and
        // closes the journal even if nobody called `shutdown`.
        let timer = commands.downgrade();
        tokio::spawn(async move {
            loop {
                clock.sleep(block_time).await;
                let Some(commands) = timer.upgrade() else { break };
                if commands.send(Command::Tick).await.is_err() {
                    break;
                }
            }
        });
        Ok(Self { commands, blocks })
    }

    async fn send(&self, command: Command<M>) -> Result<(), M::Error> {
        self.commands.send(command).await.map_err(|_| stopped())
    }

    /// Queues an operation and returns at once with the future of its answer, which comes once
    /// the operation's entries are durable. Operations queued one after another are applied in
    /// that order, so a client may pipeline several without waiting for each answer.
    pub async fn enqueue(
        &self,
        op: M::Op,
    ) -> Result<impl Future<Output = Result<M::Accepted, M::Error>> + use<M>, M::Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Submit(op, reply)).await?;
        Ok(async move { answer.await.map_err(|_| stopped())? })
    }

    /// Applies an operation; returns its answer once it is durable.
    pub async fn submit(&self, op: M::Op) -> Result<M::Accepted, M::Error> {
        self.enqueue(op).await?.await
    }

    /// Hands operations read from L1 (in queue order) to the machine.
    pub async fn queue(&self, ops: Vec<M::Queued>) -> Result<(), M::Error> {
        self.send(Command::Queue(ops)).await
    }

    /// Tells the machine that queued operations from index `from` on are no longer on L1 (see
    /// [`StateMachine::unqueue`]); its answer.
    pub async fn unqueue(&self, from: u64) -> Result<bool, M::Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Unqueue(from, tx)).await?;
        rx.await.map_err(|_| stopped())
    }

    /// Records a batch record durably, then hands it to the machine.
    pub async fn record(&self, record: M::Record) -> Result<(), M::Error> {
        self.send(Command::Record(record)).await
    }

    /// Runs `f` on the machine inside the task, between two groups' commits.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&M) -> T + Send + 'static,
    ) -> Result<T, M::Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Query(Box::new(move |m| {
            let _ = tx.send(f(m));
        })))
        .await?;
        rx.await.map_err(|_| stopped())
    }

    /// Stops the task (after the commands before this one) and closes the journal. Every
    /// answer already sent stays valid: it was durable before it was sent.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// A receiver of every block sealed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<M::Sealed> {
        self.blocks.subscribe()
    }
}

struct Task<M: StateMachine, J> {
    machine: M,
    journal: J,
    clock: DynClock,
    blocks: broadcast::Sender<M::Sealed>,
}

impl<M: StateMachine, J: Journal> Task<M, J> {
    async fn run(mut self, mut rx: mpsc::Receiver<Command<M>>) {
        let mut group = Vec::with_capacity(GROUP);
        while rx.recv_many(&mut group, GROUP).await > 0 {
            let stop = group.iter().position(|c| matches!(c, Command::Stop(_)));
            let after_stop = stop.map(|i| group.split_off(i));
            if let Err(e) = self.process(&mut group) {
                // Nothing in this group was acknowledged.
                tracing::error!(error = %e, "sequencer stopped: cannot write its journal");
                return;
            }
            if let Some(mut rest) = after_stop {
                rx.close();
                drop(self);
                if let Some(Command::Stop(done)) = rest.drain(..1).next() {
                    let _ = done.send(());
                }
                return;
            }
        }
    }

    fn process(&mut self, group: &mut Vec<Command<M>>) -> crate::Result<()> {
        let now = self.clock.now_secs();
        let mut out = Output::default();
        let mut replies = Vec::new();
        for command in group.drain(..) {
            match command {
                Command::Submit(op, reply) => {
                    let answer = self.machine.accept(op, now, &mut out);
                    replies.push((reply, answer));
                }
                Command::Queue(ops) => self.machine.queue(ops),
                Command::Unqueue(from, reply) => {
                    let _ = reply.send(self.machine.unqueue(from));
                }
                Command::Tick => self.machine.tick(now, &mut out),
                Command::Query(query) => query(&self.machine),
                Command::Record(record) => {
                    self.journal.put_batch(M::record_number(&record), &record)?;
                    self.machine.record(record);
                }
                // `run` splits the group at a stop; none reaches here.
                Command::Stop(_) => {}
            }
        }
        // Durable first, then acknowledged.
        self.journal.append(&out.entries)?;
        for (reply, answer) in replies {
            let _ = reply.send(answer);
        }
        for block in out.sealed {
            let _ = self.blocks.send(block);
        }
        Ok(())
    }
}
