//! The L1 intake against the embedded chain: a toy queue in which every block from block 1 on
//! queues one operation (its timestamp), so that `evm_revert` and mining again remove or
//! replace queued operations exactly as a reorg would remove or replace deposits.

use alloy::eips::BlockNumberOrTag;
use ply_l1::{
    chain::ChainConfig,
    client::{BlockFollower, DynL1Client, EmbeddedClient},
    node::Node,
};
use ply_node::{Error, Intake, IntakeEvent, QueueReader};
use std::{ops::RangeInclusive, sync::Arc};

/// `(queue index, timestamp)` of the operation block `index + 1` queues.
type Op = (u64, u64);

struct BlockQueue {
    client: DynL1Client,
    /// Leave out queue index `skip` (a reader that lost a log).
    skip: Option<u64>,
}

#[async_trait::async_trait]
impl QueueReader for BlockQueue {
    type Op = Op;
    type Error = Error;

    fn queue_index(op: &Op) -> u64 {
        op.0
    }

    async fn read(&self, range: RangeInclusive<u64>) -> Result<Vec<Op>, Error> {
        let mut ops = Vec::new();
        for number in range.filter(|n| *n > 0) {
            let header = self.client.header(BlockNumberOrTag::Number(number)).await?.unwrap();
            if self.skip != Some(number - 1) {
                ops.push((number - 1, header.timestamp));
            }
        }
        Ok(ops)
    }
}

fn chain() -> DynL1Client {
    Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())))
}

async fn mine(client: &DynL1Client, n: usize) {
    for _ in 0..n {
        // A second apart, so that a block mined again after a revert is another block.
        client.increase_time(1).await.unwrap();
        client.mine().await.unwrap();
    }
}

fn intake(client: &DynL1Client, skip: Option<u64>) -> Intake<BlockQueue> {
    let follower = BlockFollower::new(client.clone(), 0, 1);
    Intake::new(follower, BlockQueue { client: client.clone(), skip }, 0)
}

fn indices(events: &[IntakeEvent<Op>]) -> Vec<Vec<u64>> {
    events
        .iter()
        .map(|e| match e {
            IntakeEvent::Queued(ops) => ops.iter().map(|o| o.0).collect(),
            IntakeEvent::Reorged { from } => vec![1_000 + from],
        })
        .collect()
}

#[tokio::test]
async fn operations_come_once_in_order_and_a_reorg_that_keeps_them_is_silent() {
    let client = chain();
    let mut intake = intake(&client, None);
    mine(&client, 3).await;
    assert_eq!(indices(&intake.poll().await.unwrap()), [vec![0, 1, 2]]);
    assert!(intake.poll().await.unwrap().is_empty());
    let snapshot = client.snapshot().await.unwrap();
    mine(&client, 1).await;
    assert_eq!(indices(&intake.poll().await.unwrap()), [vec![3]]);
    // The same chain again up to the snapshot, then one more block: what was delivered before
    // the snapshot is not delivered again; operation 3 is gone and comes back changed.
    assert!(client.revert(snapshot).await.unwrap());
    assert!(intake.poll().await.unwrap().is_empty(), "the follower reports the reorg");
    // Later than the reverted block, so that the new block 4 is another block.
    client.increase_time(10).await.unwrap();
    mine(&client, 2).await;
    let events = intake.poll().await.unwrap();
    assert_eq!(indices(&events), [vec![1_003], vec![3, 4]], "{events:?}");
    assert_eq!(intake.next_index(), 5);
}

#[tokio::test]
async fn an_operation_reorged_away_is_reported_once_caught_up() {
    let client = chain();
    let mut intake = intake(&client, None);
    mine(&client, 1).await;
    let snapshot = client.snapshot().await.unwrap();
    mine(&client, 2).await;
    assert_eq!(indices(&intake.poll().await.unwrap()), [vec![0, 1, 2]]);
    // Reverted to one block: operations 1 and 2 are no longer on L1, and nothing replaces them.
    assert!(client.revert(snapshot).await.unwrap());
    let mut events = Vec::new();
    for _ in 0..4 {
        events.extend(intake.poll().await.unwrap());
    }
    assert_eq!(indices(&events), [vec![1_001]], "{events:?}");
    assert_eq!(intake.next_index(), 1);
    // What L1 queues from there on is delivered as new.
    mine(&client, 1).await;
    assert_eq!(indices(&intake.poll().await.unwrap()), [vec![1]]);
}

#[tokio::test]
async fn a_gap_in_the_queue_is_an_error_and_changes_nothing() {
    let client = chain();
    let mut intake = intake(&client, Some(1));
    mine(&client, 3).await;
    let err = intake.poll().await.unwrap_err();
    assert!(err.to_string().contains("queue index 2 read where 1 was expected"), "{err}");
    assert_eq!(intake.next_index(), 0);
}
