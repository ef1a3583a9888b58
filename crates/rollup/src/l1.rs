//! Reading the rollup's data from L1: the deposit queue of the `Bridge`, and the batches and
//! outputs of the `Rollup` contract (`docs/rollup.md`).
//!
//! Everything a derivation node needs comes from here, through the backend-agnostic
//! [`L1Client`](ply_l1::client::L1Client): the priority queue (deposits and forced
//! transactions) from `OperationQueued` logs, batches from `BatchAppended` logs plus the calldata
//! of the `appendBatch` (or `appendBatchAndPropose`) transaction that emitted them (the contract
//! keeps only the chunk root of the data, so the data itself is read back from the transaction
//! and checked against the event's `dataRoot` and `dataLength`), and outputs from
//! `OutputProposed` logs.
//!
//! An [`L1Reader`] reads explicit block ranges; it takes no view of confirmation depth. Pair it
//! with a [`BlockFollower`](ply_l1::client::BlockFollower), as
//! [`DerivationNode`](crate::derivation::DerivationNode) does, to read only confirmed blocks.

use crate::{Error, Result, config::RollupConfig};
use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent},
};
use ply_contracts::{Bridge, Rollup};
use ply_l1::client::DynL1Client;
use ply_ledger::Deposit;
use std::ops::RangeInclusive;

/// A batch as appended on L1: the `BatchAppended` event and the data of its `appendBatch` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Batch {
    /// The batch index (consecutive from 0).
    pub index: u64,
    /// Queued operations consumed before this batch: its operations start at this queue index.
    pub prev_deposit_count: u64,
    /// Queued operations consumed after this batch: its operations end before this index.
    pub new_deposit_count: u64,
    /// The batch data, as posted (not yet decoded: it may be malformed).
    pub data: Bytes,
    /// The L1 block that holds the batch.
    pub l1_block: u64,
    /// The L1 transaction that appended it.
    pub l1_tx: B256,
}

impl L1Batch {
    /// How many queued deposits the batch consumes.
    pub fn deposit_count(&self) -> u64 {
        self.new_deposit_count.saturating_sub(self.prev_deposit_count)
    }
}

/// The state commitment and withdrawal root an output commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputRoots {
    /// The L2 state commitment after the batch (`docs/rollup.md`, "The state commitment").
    pub state_root: B256,
    /// The root of the batch's withdrawal tree.
    pub withdrawal_root: B256,
}

impl OutputRoots {
    /// The output root, `keccak256(abi.encode(state_commitment, withdrawal_root))`.
    pub fn output_root(&self) -> B256 {
        crate::fraud::output_root(self.state_root, self.withdrawal_root)
    }
}

/// An output proposed on L1 (`Rollup.OutputProposed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Output {
    /// The batch it is the output of.
    pub batch_index: u64,
    /// The proposal's id (unique; a removed output's slot is proposed again under another).
    pub output_id: u32,
    /// The roots it commits to.
    pub roots: OutputRoots,
    /// The output root the contract computed.
    pub output_root: B256,
    /// Who proposed (and bonded) it.
    pub proposer: Address,
    /// The L1 block that holds the proposal.
    pub l1_block: u64,
    /// The L1 transaction that proposed it.
    pub l1_tx: B256,
}

/// Reads the rollup's deposits, batches and outputs from L1.
#[derive(Debug, Clone)]
pub struct L1Reader {
    client: DynL1Client,
    bridge: Address,
    rollup: Address,
}

impl L1Reader {
    /// A reader of the `Bridge` at `bridge` and the `Rollup` at `rollup`.
    pub fn new(client: DynL1Client, bridge: Address, rollup: Address) -> Self {
        Self { client, bridge, rollup }
    }

    /// A reader of the contracts of `config`.
    pub fn from_config(client: DynL1Client, config: &RollupConfig) -> Self {
        Self::new(client, config.bridge, config.rollup)
    }

    /// The L1 client underneath.
    pub fn client(&self) -> &DynL1Client {
        &self.client
    }

    /// The priority operations (deposits, forced transfers and withdrawals) queued in the
    /// blocks of `range`, in queue order.
    pub async fn deposits_in(&self, range: RangeInclusive<u64>) -> Result<Vec<Deposit>> {
        let logs = self.logs::<Bridge::OperationQueued>(self.bridge, range).await?;
        logs.iter()
            .map(|log| {
                let event = decode::<Bridge::OperationQueued>(log)?;
                Ok(Deposit {
                    queue_index: to_u64(event.index, "a queue index")?,
                    to: event.to,
                    token: event.token,
                    amount: event.amount,
                    kind: event.kind,
                    from: event.from,
                    timestamp: event.timestamp,
                })
            })
            .collect()
    }

    /// The batches appended in the blocks of `range`, in order, each with its data.
    ///
    /// The data is the calldata of the `appendBatch` transaction that emitted the event; it
    /// must hash to the event's `dataHash`. A batch appended from inside another contract's
    /// call (not by a direct transaction to the rollup) cannot be read this way, and is an
    /// error: ply's sequencer always appends directly.
    pub async fn batches_in(&self, range: RangeInclusive<u64>) -> Result<Vec<L1Batch>> {
        let logs = self.logs::<Rollup::BatchAppended>(self.rollup, range).await?;
        let mut batches = Vec::with_capacity(logs.len());
        for log in &logs {
            let event = decode::<Rollup::BatchAppended>(log)?;
            let (l1_block, l1_tx) = location(log)?;
            let index = to_u64(event.batchIndex, "a batch index")?;
            let new_deposit_count = to_u64(event.newQueueCount, "a queue count")?;
            let data = self
                .batch_data(index, l1_tx, new_deposit_count, event.dataRoot, event.dataLength)
                .await?;
            batches.push(L1Batch {
                index,
                prev_deposit_count: to_u64(event.prevQueueCount, "a queue count")?,
                new_deposit_count,
                data,
                l1_block,
                l1_tx,
            });
        }
        Ok(batches)
    }

    /// The outputs proposed in the blocks of `range`, in order.
    pub async fn outputs_in(&self, range: RangeInclusive<u64>) -> Result<Vec<L1Output>> {
        let logs = self.logs::<Rollup::OutputProposed>(self.rollup, range).await?;
        logs.iter()
            .map(|log| {
                let event = decode::<Rollup::OutputProposed>(log)?;
                let (l1_block, l1_tx) = location(log)?;
                Ok(L1Output {
                    batch_index: to_u64(event.batchIndex, "a batch index")?,
                    output_id: event.outputId,
                    roots: OutputRoots {
                        state_root: event.stateCommitment,
                        withdrawal_root: event.withdrawalRoot,
                    },
                    output_root: event.outputRoot,
                    proposer: event.proposer,
                    l1_block,
                    l1_tx,
                })
            })
            .collect()
    }

    /// The data of batch `index`, from the calldata of transaction `l1_tx` (`appendBatch` or
    /// `appendBatchAndPropose`), checked against the event's queue count, data root and length.
    async fn batch_data(
        &self,
        index: u64,
        l1_tx: B256,
        new_deposit_count: u64,
        data_root: B256,
        data_length: U256,
    ) -> Result<Bytes> {
        let tx = self.client.transaction(l1_tx).await?.ok_or_else(|| {
            Error::Invalid(format!(
                "the L1 node does not know transaction {l1_tx}, which appended batch {index}"
            ))
        })?;
        let input = tx.input();
        let (queue_count, data) = match Rollup::appendBatchCall::abi_decode(input) {
            Ok(call) => (call.newQueueCount, call.data),
            Err(_) => match Rollup::appendBatchAndProposeCall::abi_decode(input) {
                Ok(call) => (call.newQueueCount, call.data),
                Err(e) => {
                    return Err(Error::Invalid(format!(
                        "batch {index} was not appended by a direct appendBatch or \
                         appendBatchAndPropose transaction to the rollup: the input of {l1_tx} \
                         does not decode ({e}); the batch data cannot be read"
                    )));
                }
            },
        };
        let root = crate::fraud::BatchData::new(data.to_vec()).root();
        if root != data_root
            || U256::from(data.len()) != data_length
            || queue_count != U256::from(new_deposit_count)
        {
            return Err(Error::Invalid(format!(
                "the call in {l1_tx} (data root {root}, {} bytes, queue count {queue_count}) is \
                 not the one that appended batch {index} (data root {data_root}, {data_length} \
                 bytes, queue count {new_deposit_count}): was the batch appended from inside \
                 another call?",
                data.len()
            )));
        }
        Ok(data)
    }

    /// The logs of event `E` from `address` in `range`, in order (see
    /// [`logs_in_range`](ply_l1::client::logs_in_range)).
    async fn logs<E: SolEvent>(
        &self,
        address: Address,
        range: RangeInclusive<u64>,
    ) -> Result<Vec<Log>> {
        let filter = Filter::new().address(address).event_signature(E::SIGNATURE_HASH);
        Ok(ply_l1::client::logs_in_range(self.client.as_ref(), &filter, range).await?)
    }
}

/// Decodes a log as event `E`.
fn decode<E: SolEvent>(log: &Log) -> Result<E> {
    E::decode_log(&log.inner).map(|decoded| decoded.data).map_err(|e| {
        Error::Invalid(format!(
            "a {} log in L1 transaction {:?} does not decode: {e}",
            E::SIGNATURE,
            log.transaction_hash
        ))
    })
}

/// The block number and transaction hash of a mined log.
fn location(log: &Log) -> Result<(u64, B256)> {
    match (log.block_number, log.transaction_hash) {
        (Some(block), Some(tx)) => Ok((block, tx)),
        _ => Err(Error::Invalid(format!(
            "the L1 node returned a log without its block number or transaction hash: {log:?}"
        ))),
    }
}

/// A `uint256` from an event that must fit a `u64` (the contracts guarantee it).
fn to_u64(value: U256, what: &str) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| Error::Invalid(format!("{what} on L1 is {value}, which exceeds 2^64 - 1")))
}

#[cfg(test)]
pub(crate) mod testing {
    //! An embedded L1 with the rollup contracts deployed and wired, and the calls tests make.

    use super::*;
    use alloy::{
        primitives::{Address, B256, Bytes, U256},
        rpc::types::{TransactionReceipt, TransactionRequest},
        sol_types::SolCall,
    };
    use ply_contracts::{Bridge, Rollup};
    use ply_core::dev::dev_signer;
    use ply_l1::{
        chain::ChainConfig,
        client::{DynL1Client, EmbeddedClient, TxSender},
        node::Node,
    };
    use ply_ledger::LedgerConfig;
    use std::{sync::Arc, time::Duration};

    /// The L2 chain id of the test rollup.
    pub(crate) const L2_CHAIN_ID: u64 = 901;
    /// The proposer's bond, in wei.
    pub(crate) const BOND: u64 = 1_000_000_000_000_000;

    /// An embedded L1 with `Bridge` and `Rollup` deployed: dev account 0 deploys, 1 sequences,
    /// 2 proposes, 3 deposits.
    pub(crate) struct TestL1 {
        pub(crate) client: DynL1Client,
        pub(crate) config: RollupConfig,
        pub(crate) sequencer: TxSender,
        pub(crate) proposer: TxSender,
        pub(crate) depositor: TxSender,
    }

    impl TestL1 {
        pub(crate) async fn new() -> Self {
            let client: DynL1Client =
                Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
            let sender = |i| TxSender::new(client.clone(), dev_signer(i).unwrap());
            let deployer = sender(0);
            let (sequencer, proposer, depositor) = (sender(1), sender(2), sender(3));
            let ledger = LedgerConfig::new(dev_signer(0).unwrap().address());
            let params = crate::node::DeployParams {
                proposer_bond: U256::from(BOND),
                challenge_window: 3600,
                inclusion_deadline: 3600,
                ..crate::node::DeployParams::devnet(sequencer.address(), ledger, L2_CHAIN_ID)
            };
            let contracts = crate::node::deploy(&deployer, &params).await.unwrap();
            let (rollup, bridge) = (contracts.rollup, contracts.bridge);
            let config = RollupConfig {
                l2_chain_id: L2_CHAIN_ID,
                rollup,
                bridge,
                ledger: LedgerConfig::new(dev_signer(0).unwrap().address()),
                block_time: Duration::from_millis(100),
                max_block_txs: 1_000,
                l1_confirmations: 0,
                batch: Default::default(),
            };
            Self { client, config, sequencer, proposer, depositor }
        }

        pub(crate) fn reader(&self) -> L1Reader {
            L1Reader::from_config(self.client.clone(), &self.config)
        }

        pub(crate) async fn head(&self) -> u64 {
            self.client.block_number().await.unwrap()
        }

        /// Deposits `amount` wei of ETH to `to` on L2.
        pub(crate) async fn deposit_eth(&self, to: Address, amount: U256) -> TransactionReceipt {
            let call = Bridge::depositETHCall { to };
            send(&self.depositor, self.config.bridge, call.abi_encode(), amount).await
        }

        /// Appends a batch.
        pub(crate) async fn append_batch(
            &self,
            new_deposit_count: u64,
            data: Vec<u8>,
        ) -> TransactionReceipt {
            let call = Rollup::appendBatchCall {
                newQueueCount: U256::from(new_deposit_count),
                data: Bytes::from(data),
            };
            send(&self.sequencer, self.config.rollup, call.abi_encode(), U256::ZERO).await
        }

        /// Proposes an output.
        pub(crate) async fn propose(
            &self,
            batch_index: u64,
            state_root: B256,
            withdrawal_root: B256,
        ) -> TransactionReceipt {
            let call = Rollup::proposeOutputCall {
                batchIndex: U256::from(batch_index),
                stateCommitment: state_root,
                withdrawalRoot: withdrawal_root,
            };
            send(&self.proposer, self.config.rollup, call.abi_encode(), U256::from(BOND)).await
        }
    }

    /// Calls a view function.
    pub(crate) async fn view<C: SolCall>(client: &DynL1Client, to: Address, call: C) -> C::Return {
        let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
        let out = client.call(&req, alloy::eips::BlockId::latest()).await.unwrap();
        C::abi_decode_returns(&out).unwrap()
    }

    async fn send(
        sender: &TxSender,
        to: Address,
        input: Vec<u8>,
        value: U256,
    ) -> TransactionReceipt {
        let req =
            TransactionRequest::default().to(to).input(Bytes::from(input).into()).value(value);
        sender.send_and_check(req).await.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::TestL1, *};
    use crate::batch::{self, Batch, BatchBlock};
    use crate::fraud::output_root;

    #[tokio::test]
    async fn reads_deposits_batches_and_outputs() {
        let l1 = TestL1::new().await;
        let reader = l1.reader();
        let start = l1.head().await + 1;
        let alice = Address::repeat_byte(0xa1);
        let bob = Address::repeat_byte(0xb0);
        l1.deposit_eth(alice, U256::from(1_000u64)).await;
        l1.deposit_eth(bob, U256::from(2_000u64)).await;

        let data = batch::encode(&Batch {
            blocks: vec![BatchBlock { timestamp: 1, deposits: 2, txs: vec![] }],
        })
        .unwrap();
        let appended = l1.append_batch(2, data.clone()).await;
        let state_root = B256::repeat_byte(0x11);
        let withdrawal_root = B256::repeat_byte(0x22);
        let proposed = l1.propose(0, state_root, withdrawal_root).await;
        let end = l1.head().await;

        let deposits = reader.deposits_in(start..=end).await.unwrap();
        let depositor = l1.depositor.address();
        assert_eq!(
            deposits
                .iter()
                .map(|d| (d.queue_index, d.kind, d.from, d.to, d.amount))
                .collect::<Vec<_>>(),
            vec![
                (0, 0, depositor, alice, U256::from(1_000u64)),
                (1, 0, depositor, bob, U256::from(2_000u64)),
            ]
        );
        // Each entry hashes to what the bridge stores (the one-step proof checks that).
        for d in &deposits {
            assert!(d.timestamp > 0);
            let stored = super::testing::view(
                &l1.client,
                l1.config.bridge,
                Bridge::operationHashCall { index: U256::from(d.queue_index) },
            )
            .await;
            assert_eq!(stored, d.op().hash(d.queue_index));
        }

        let batches = reader.batches_in(start..=end).await.unwrap();
        assert_eq!(
            batches,
            vec![L1Batch {
                index: 0,
                prev_deposit_count: 0,
                new_deposit_count: 2,
                data: data.into(),
                l1_block: appended.block_number.unwrap(),
                l1_tx: appended.transaction_hash,
            }]
        );
        assert_eq!(batches[0].deposit_count(), 2);

        let outputs = reader.outputs_in(start..=end).await.unwrap();
        assert_eq!(outputs.len(), 1);
        let output = &outputs[0];
        assert_eq!(output.batch_index, 0);
        assert_eq!(output.roots, OutputRoots { state_root, withdrawal_root });
        assert_eq!(output.output_root, output_root(state_root, withdrawal_root));
        assert_eq!(output.roots.output_root(), output.output_root);
        assert_eq!(output.proposer, l1.proposer.address());
        assert_eq!(output.l1_block, proposed.block_number.unwrap());
        assert_eq!(output.l1_tx, proposed.transaction_hash);

        // Ranges select: nothing before the first deposit, only the batch's block for it.
        assert!(reader.deposits_in(0..=start - 1).await.unwrap().is_empty());
        let block = appended.block_number.unwrap();
        assert_eq!(reader.batches_in(block..=block).await.unwrap().len(), 1);
        assert!(reader.outputs_in(block..=block).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn malformed_batch_data_is_still_read() {
        // The L1 accepts any bytes; telling malformed data apart is the derivation's job.
        let l1 = TestL1::new().await;
        let garbage = vec![0xde, 0xad, 0xbe, 0xef];
        let receipt = l1.append_batch(0, garbage.clone()).await;
        let block = receipt.block_number.unwrap();
        let batches = l1.reader().batches_in(block..=block).await.unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].data.as_ref(), garbage.as_slice());
        assert_eq!(batches[0].deposit_count(), 0);
    }
}
