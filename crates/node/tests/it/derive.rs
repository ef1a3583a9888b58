//! The derivation driver over the embedded chain: a toy stage that sums block timestamps;
//! reorgs reset it and it derives again from the start block to the same answer as a stage
//! that never saw the reorged blocks; a critical error halts it.

use alloy::eips::BlockNumberOrTag;
use ply_l1::{
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient},
    node::Node,
};
use ply_node::{Classify, DerivationDriver, DerivationStage, ErrorKind};
use std::{ops::RangeInclusive, sync::Arc, time::Duration};

#[derive(Debug, thiserror::Error)]
enum StageError {
    #[error(transparent)]
    L1(#[from] ply_l1::Error),
    #[error("block {0} is poisoned")]
    Poisoned(u64),
}

impl Classify for StageError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::L1(e) => ply_node::l1_error_kind(e),
            Self::Poisoned(_) => ErrorKind::Critical,
        }
    }
}

struct Sum {
    client: DynL1Client,
    blocks: Vec<u64>,
    resets: usize,
    poison: Option<u64>,
    halted: Option<String>,
}

#[async_trait::async_trait]
impl DerivationStage for Sum {
    type Input = Vec<(u64, u64)>;
    type Error = StageError;

    async fn read(&mut self, range: RangeInclusive<u64>) -> Result<Self::Input, StageError> {
        let mut out = Vec::new();
        for n in range {
            let header = self.client.header(BlockNumberOrTag::Number(n)).await?.unwrap();
            out.push((n, header.timestamp));
        }
        Ok(out)
    }

    async fn derive(
        &mut self,
        _: RangeInclusive<u64>,
        input: Self::Input,
    ) -> Result<(), StageError> {
        for (n, timestamp) in input {
            if self.poison == Some(n) {
                return Err(StageError::Poisoned(n));
            }
            self.blocks.push(timestamp);
        }
        Ok(())
    }

    fn reset(&mut self, _: u64) -> Result<(), StageError> {
        self.blocks.clear();
        self.resets += 1;
        Ok(())
    }

    fn halted(&mut self, error: &StageError) {
        self.halted = Some(error.to_string());
    }
}

fn sum(client: &DynL1Client, poison: Option<u64>) -> Sum {
    Sum { client: client.clone(), blocks: Vec::new(), resets: 0, poison, halted: None }
}

async fn mine(client: &DynL1Client, n: usize) {
    for _ in 0..n {
        client.increase_time(1).await.unwrap();
        client.mine().await.unwrap();
    }
}

#[tokio::test]
async fn a_reorg_resets_the_stage_and_it_derives_the_new_chain() {
    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let mut driver = DerivationDriver::new(client.clone(), sum(&client, None), 0, 1);
    mine(&client, 2).await;
    let snapshot = client.snapshot().await.unwrap();
    mine(&client, 2).await;
    while driver.step().await.unwrap() {}
    assert_eq!(driver.stage().blocks.len(), 4);
    assert!(client.revert(snapshot).await.unwrap());
    // Later than the reverted blocks, so that the new blocks are other blocks.
    client.increase_time(10).await.unwrap();
    mine(&client, 3).await;
    while driver.step().await.unwrap() {}
    assert_eq!(driver.stage().resets, 1);
    // The same as a driver that only ever saw the new chain.
    let mut fresh = DerivationDriver::new(client.clone(), sum(&client, None), 0, 1);
    while fresh.step().await.unwrap() {}
    assert_eq!(driver.stage().blocks, fresh.stage().blocks);
    assert_eq!(driver.stage().blocks.len(), 5);
}

#[tokio::test]
async fn a_critical_error_halts_the_driver() {
    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    mine(&client, 3).await;
    let driver = DerivationDriver::new(client.clone(), sum(&client, Some(2)), 0, 1)
        .with_poll_interval(Duration::from_millis(5));
    let err =
        tokio::time::timeout(Duration::from_secs(10), driver.run()).await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "block 2 is poisoned");
}
