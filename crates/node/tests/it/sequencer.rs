//! The sequencer task with a toy state machine: group commit before acknowledgement, replay
//! after a restart, blocks sealed exactly when the manual clock says, and a journal that fails
//! stopping the task without acknowledging anything.

use ply_node::{
    Error, Journal, ManualClock, MemoryJournal, Output, RedbJournal, Sequencer, StateMachine,
};
use serde::{Serialize, de::DeserializeOwned};
use std::time::Duration;

/// Adds numbers into an open block; a tick seals the block (its sum) and takes queued numbers.
#[derive(Debug, Default)]
struct Adder {
    open: Vec<u64>,
    sealed: Vec<u64>,
    queued: Vec<u64>,
    /// Queued numbers taken into blocks so far (the queue index of the first in `queued`).
    taken: u64,
    records: Vec<(u64, String)>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Entry {
    Add(u64),
    Seal,
}

impl StateMachine for Adder {
    type Op = u64;
    type Accepted = usize;
    type Error = Refused;
    type Queued = u64;
    type Entry = Entry;
    type Record = (u64, String);
    type Sealed = u64;

    fn replay(&mut self, entry: Entry) -> Result<(), Refused> {
        match entry {
            Entry::Add(n) => self.open.push(n),
            Entry::Seal => {
                self.sealed.push(self.open.drain(..).sum());
            }
        }
        Ok(())
    }

    fn restore(&mut self, records: Vec<(u64, String)>) {
        self.records = records;
    }

    fn accept(
        &mut self,
        op: u64,
        _now: u64,
        out: &mut Output<Entry, u64>,
    ) -> Result<usize, Refused> {
        if op == 0 {
            return Err(Refused("zero adds nothing".into()));
        }
        self.open.push(op);
        out.entries.push(Entry::Add(op));
        Ok(self.open.len() - 1)
    }

    fn queue(&mut self, ops: Vec<u64>) {
        self.queued.extend(ops);
    }

    fn unqueue(&mut self, from: u64) -> bool {
        if from < self.taken {
            return false;
        }
        self.queued.truncate((from - self.taken) as usize);
        true
    }

    fn tick(&mut self, _now: u64, out: &mut Output<Entry, u64>) {
        if !self.open.is_empty() {
            let sum = self.open.drain(..).sum();
            self.sealed.push(sum);
            out.entries.push(Entry::Seal);
            out.sealed.push(sum);
        }
        for n in self.queued.drain(..) {
            self.taken += 1;
            self.open.push(n);
            out.entries.push(Entry::Add(n));
        }
    }

    fn record_number(record: &(u64, String)) -> u64 {
        record.0
    }

    fn record(&mut self, record: (u64, String)) {
        match self.records.iter_mut().find(|r| r.0 == record.0) {
            Some(r) => *r = record,
            None => self.records.push(record),
        }
    }
}

/// The toy's refusals and failures, as sentences.
#[derive(Debug, PartialEq)]
struct Refused(String);

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Self(e.to_string())
    }
}

const BLOCK: Duration = Duration::from_secs(2);

#[tokio::test]
async fn blocks_seal_when_the_manual_clock_says_and_a_restart_replays_everything() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_system_time();
    let journal = RedbJournal::open(dir.path(), "adder.redb", 1, None).unwrap();
    let seq = Sequencer::start(Adder::default(), journal, clock.shared(), BLOCK).unwrap();
    let mut blocks = seq.subscribe();
    // Pipelined: answers in order of submission.
    let a = seq.enqueue(3).await.unwrap();
    let b = seq.enqueue(4).await.unwrap();
    assert_eq!((a.await.unwrap(), b.await.unwrap()), (0, 1));
    assert_eq!(seq.submit(0).await.unwrap_err().0, "zero adds nothing");
    // Two queued numbers, the second reorged away on L1 before it was taken.
    seq.queue(vec![100, 200]).await.unwrap();
    assert!(seq.unqueue(1).await.unwrap());
    // No time passed: nothing sealed, however long we wait.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(blocks.try_recv().is_err());
    assert_eq!(seq.query(|m| m.sealed.clone()).await.unwrap(), Vec::<u64>::new());
    clock.advance(BLOCK);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), blocks.recv()).await.unwrap().unwrap(),
        7
    );
    seq.record((0, "posted".into())).await.unwrap();
    seq.record((0, "final".into())).await.unwrap();
    let open = seq.query(|m| m.open.clone()).await.unwrap();
    assert_eq!(open, [100], "the queued number joined the next block, the unqueued did not");
    // Taken into a block (and confirmed): it cannot be forgotten.
    assert!(!seq.unqueue(0).await.unwrap());
    assert!(seq.unqueue(1).await.unwrap(), "nothing after it was taken");
    seq.shutdown().await;

    // The restart replays the journal and seals the block the "crash" left open.
    let journal = RedbJournal::open(dir.path(), "adder.redb", 1, None).unwrap();
    assert_eq!(journal.len(), 4, "3, 4, the seal, 100");
    let seq = Sequencer::start(Adder::default(), journal, clock.shared(), BLOCK).unwrap();
    let (sealed, records) = seq.query(|m| (m.sealed.clone(), m.records.clone())).await.unwrap();
    assert_eq!(sealed, [7, 100]);
    assert_eq!(records, [(0, "final".to_string())]);
    seq.shutdown().await;
    assert_eq!(seq.submit(1).await.unwrap_err().0, "the node has stopped");
}

/// A journal whose appends fail after `ok` of them.
struct Failing {
    inner: MemoryJournal,
    ok: usize,
}

impl Journal for Failing {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn append<E: Serialize>(&mut self, entries: &[E]) -> ply_node::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        if self.ok == 0 {
            return Err(Error::Storage("disk full".into()));
        }
        self.ok -= 1;
        self.inner.append(entries)
    }
    fn put_batch<B: Serialize>(&mut self, number: u64, batch: &B) -> ply_node::Result<()> {
        self.inner.put_batch(number, batch)
    }
    fn entries<E: DeserializeOwned>(&self) -> ply_node::Result<Vec<E>> {
        self.inner.entries()
    }
    fn batches<B: DeserializeOwned>(&self) -> ply_node::Result<Vec<B>> {
        self.inner.batches()
    }
}

#[tokio::test]
async fn an_operation_whose_entries_cannot_be_written_is_never_acknowledged() {
    let clock = ManualClock::at_system_time();
    let journal = Failing { inner: MemoryJournal::new(), ok: 1 };
    let seq = Sequencer::start(Adder::default(), journal, clock.shared(), BLOCK).unwrap();
    assert_eq!(seq.submit(5).await.unwrap(), 0);
    // The second append fails: no answer but "stopped", and the task is gone.
    assert_eq!(seq.submit(6).await.unwrap_err().0, "the node has stopped");
    assert_eq!(seq.submit(7).await.unwrap_err().0, "the node has stopped");
}
