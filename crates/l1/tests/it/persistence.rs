//! The embedded chain kept in a directory (`Chain::open` / `Node::open`): everything a client
//! can read survives closing and reopening it, new blocks continue from the old head, a revert
//! is persisted, and a directory holding another chain is refused.

use crate::harness::{call_req, test_sender_config};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U256, keccak256},
    rpc::types::{Block, Filter, Log, TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolValue},
};
use ply_contracts::MessageInbox;
use ply_core::dev::dev_signer;
use ply_l1::{
    Error,
    chain::{Chain, ChainConfig},
    client::{EmbeddedClient, L1Client, TxSender},
    node::Node,
};
use std::{path::Path, sync::Arc};

/// A sender for dev account `index` on `node`, in-process.
fn sender(node: &Node, index: usize) -> TxSender {
    TxSender::with_config(
        Arc::new(EmbeddedClient::new(node.clone())),
        dev_signer(index).expect("dev account"),
        test_sender_config(),
    )
}

fn at(number: u64) -> BlockId {
    BlockId::Number(BlockNumberOrTag::Number(number))
}

fn transfer(to: Address, wei: u64) -> TransactionRequest {
    TransactionRequest::default().to(to).value(U256::from(wei))
}

fn post(inbox: Address, data: &'static [u8]) -> TransactionRequest {
    call_req(inbox, MessageInbox::postMessageCall { data: Bytes::from_static(data) })
}

/// The storage slot of `_accumulators[i]` (the dynamic array at slot 0).
fn acc_slot(i: u64) -> U256 {
    U256::from_be_bytes(keccak256(U256::ZERO.abi_encode()).0) + U256::from(i)
}

/// Everything a client can read about the chain, for comparing before and after reopening.
#[derive(Debug, PartialEq)]
struct Observed {
    head: u64,
    head_hash: B256,
    /// Every block, with full transactions.
    blocks: Vec<Block>,
    /// `(balance, nonce, code)` of each watched account at every block.
    accounts: Vec<Vec<(U256, u64, Bytes)>>,
    /// Slots 0 (the queue length) and the first three elements, at every block.
    storage: Vec<Vec<U256>>,
    receipts: Vec<Option<TransactionReceipt>>,
    /// Every log of the chain.
    logs: Vec<Log>,
    /// `messageCount()` at every block (an error before the deployment).
    counts: Vec<Result<Bytes, String>>,
}

fn observe(chain: &Chain, watched: &[Address], inbox: Address, txs: &[B256]) -> Observed {
    let head = chain.block_number();
    let numbers = 0..=head;
    let blocks = numbers
        .clone()
        .map(|n| {
            chain.rpc_block(n, true).unwrap_or_else(|| panic!("no block {n} below head {head}"))
        })
        .collect();
    let accounts = watched
        .iter()
        .map(|a| numbers.clone().map(|n| chain.account(*a, at(n)).unwrap()).collect())
        .collect();
    let storage = numbers
        .clone()
        .map(|n| {
            [U256::ZERO, acc_slot(0), acc_slot(1), acc_slot(2)]
                .iter()
                .map(|slot| chain.storage_at(inbox, *slot, at(n)).unwrap())
                .collect()
        })
        .collect();
    let receipts = txs.iter().map(|h| chain.rpc_receipt(*h)).collect();
    let logs = chain.logs(&Filter::new().from_block(0u64).to_block(head)).unwrap();
    let count = call_req(inbox, MessageInbox::messageCountCall {});
    let counts = numbers.map(|n| chain.call(&count, at(n)).map_err(|e| e.to_string())).collect();
    Observed {
        head,
        head_hash: chain.head().hash,
        blocks,
        accounts,
        storage,
        receipts,
        logs,
        counts,
    }
}

/// The numbers of the blocks the chain holds (`0..=head` when nothing was lost).
fn block_numbers(node: &Node) -> Vec<u64> {
    node.with(|c| (0..).map_while(|i| c.block(i)).map(|b| b.number()).collect())
}

fn message_count(chain: &Chain, inbox: Address, block: BlockId) -> U256 {
    let out = chain.call(&call_req(inbox, MessageInbox::messageCountCall {}), block).unwrap();
    MessageInbox::messageCountCall::abi_decode_returns(&out).unwrap()
}

fn wall_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// What [`build_history`] made.
struct History {
    watched: Vec<Address>,
    inbox: Address,
    txs: Vec<B256>,
}

/// Transfers, a deployment, messages (storage writes), empty blocks and a clock jump.
async fn build_history(node: &Node, skip: u64) -> History {
    let (alice, bob) = (sender(node, 0), sender(node, 1));
    let carol = Address::from_word(keccak256(b"persisted recipient"));
    let mut txs = Vec::new();
    let mut send = async |s: &TxSender, req: TransactionRequest| {
        let receipt = s.send_and_check(req).await.expect("a mined transaction");
        txs.push(receipt.transaction_hash);
        receipt
    };
    send(&alice, transfer(carol, 1_000)).await;
    send(&bob, transfer(carol, 2_000)).await;
    let deployment = send(
        &alice,
        TransactionRequest::default().create().input(MessageInbox::BYTECODE.clone().into()),
    )
    .await;
    let inbox = deployment.contract_address.expect("a creation receipt");
    for data in [&b"one"[..], b"two"] {
        send(&bob, post(inbox, data)).await;
    }
    node.with(|c| {
        for _ in 0..skip {
            c.mine(None).unwrap();
        }
        c.increase_time(7 * 24 * 3600);
        c.mine(None).unwrap();
    });
    send(&alice, post(inbox, b"three")).await;
    History { watched: vec![alice.address(), bob.address(), carol, inbox], inbox, txs }
}

#[tokio::test]
async fn a_reopened_chain_serves_everything_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(ChainConfig::default(), dir.path()).expect("a new chain directory");
    let history = build_history(&node, 3).await;
    let History { watched, inbox, txs } = &history;
    let before = node.with(|c| observe(c, watched, *inbox, txs));
    assert_eq!(before.head, 10, "genesis, 3 transfers/deploys, 2 posts, 3 empty, 1, 1 post");
    node.with(|c| assert_eq!(message_count(c, *inbox, BlockId::latest()), U256::from(3)));
    drop(node);

    let node = Node::open(ChainConfig::default(), dir.path()).expect("the chain reopens");
    let all: Vec<u64> = (0..=before.head).collect();
    assert_eq!(block_numbers(&node), all, "every block is back after reopening");
    let after = node.with(|c| observe(c, watched, *inbox, txs));
    // Compare piece by piece for readable failures, then as a whole.
    assert_eq!((after.head, after.head_hash), (before.head, before.head_hash), "same head");
    assert_eq!(after.blocks, before.blocks, "same blocks");
    assert_eq!(after.accounts, before.accounts, "same balances, nonces and code");
    assert_eq!(after.storage, before.storage, "same storage");
    assert_eq!(after.receipts, before.receipts, "same receipts");
    assert!(after.receipts.iter().all(Option::is_some));
    assert_eq!(after.logs, before.logs, "same logs");
    assert_eq!(after.logs.len(), 3);
    assert_eq!(after.counts, before.counts, "same calls at every block");
    assert_eq!(after, before);
    node.with(|c| {
        // Calls at old blocks run on the reopened history.
        let first_post = after.receipts[3].as_ref().unwrap().block_number.unwrap();
        assert_eq!(message_count(c, *inbox, at(first_post - 1)), U256::ZERO);
        assert_eq!(message_count(c, *inbox, at(first_post)), U256::from(1));
        assert_eq!(message_count(c, *inbox, BlockId::latest()), U256::from(3));
        // The clock jump is kept.
        assert!(c.now() >= wall_clock() + 7 * 24 * 3600, "the time offset survives");
    });

    // New blocks continue from the old head.
    let client = EmbeddedClient::new(node.clone());
    let bob = sender(&node, 1);
    let receipt = bob.send_and_check(post(*inbox, b"four")).await.expect("posts after reopening");
    assert_eq!(receipt.block_number, Some(before.head + 1));
    let header = client.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    assert_eq!(header.number, before.head + 1);
    assert_eq!(header.parent_hash, before.head_hash);
    let old_head = &before.blocks.last().unwrap().header;
    assert!(header.timestamp >= old_head.timestamp);
    assert!(header.timestamp >= wall_clock() + 7 * 24 * 3600 - 1);
    assert_eq!(
        client.nonce(bob.address(), BlockId::latest()).await.unwrap(),
        before.accounts[1].last().unwrap().1 + 1,
        "the nonce goes on from the persisted one"
    );
    node.with(|c| assert_eq!(message_count(c, *inbox, BlockId::latest()), U256::from(4)));
    let head = header.number;
    let hash = header.hash;
    drop((client, bob, node));

    // And that block is persisted too.
    let node = Node::open(ChainConfig::default(), dir.path()).unwrap();
    node.with(|c| {
        assert_eq!((c.block_number(), c.head().hash), (head, hash));
        assert_eq!(c.rpc_receipt(receipt.transaction_hash), Some(receipt.clone()));
        let observed = observe(c, watched, *inbox, txs);
        assert_eq!(observed.blocks[..=before.head as usize], before.blocks[..]);
    });
}

#[tokio::test]
async fn a_revert_is_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(ChainConfig::default(), dir.path()).unwrap();
    let history = build_history(&node, 1).await;
    let History { watched, inbox, txs } = &history;
    let saved = node.with(|c| observe(c, watched, *inbox, txs));
    let id = node.with(|c| c.snapshot());

    let alice = sender(&node, 0);
    let later = [
        alice.send_and_check(transfer(watched[2], 5)).await.unwrap(),
        alice.send_and_check(post(*inbox, b"undone")).await.unwrap(),
    ];
    node.with(|c| {
        c.increase_time(3600);
        c.mine(None).unwrap();
        assert_eq!(c.block_number(), saved.head + 3);
        assert!(c.revert(id).unwrap());
        assert_eq!(c.block_number(), saved.head);
    });
    drop((alice, node));

    let node = Node::open(ChainConfig::default(), dir.path()).unwrap();
    let all: Vec<u64> = (0..=saved.head).collect();
    assert_eq!(block_numbers(&node), all, "every block up to the snapshot is back");
    node.with(|c| {
        assert_eq!(observe(c, watched, *inbox, txs), saved, "the chain as at the snapshot");
        for receipt in &later {
            assert_eq!(c.rpc_receipt(receipt.transaction_hash), None, "reverted away");
        }
        assert!(c.block(saved.head + 1).is_none());
        assert_eq!(message_count(c, *inbox, BlockId::latest()), U256::from(3));
    });
    // It goes on from the snapshot's head; the sender learns the rewound nonce from the node.
    let alice = sender(&node, 0);
    let receipt = alice.send_and_check(transfer(watched[2], 7)).await.unwrap();
    assert_eq!(receipt.block_number, Some(saved.head + 1));
    let parent = node.with(|c| c.block(saved.head + 1).unwrap().header.parent_hash);
    assert_eq!(parent, saved.head_hash);
    let client = EmbeddedClient::new(node.clone());
    let carol = client.balance(watched[2], BlockId::latest()).await.unwrap();
    assert_eq!(carol, U256::from(3_007), "the reverted 5 wei never arrived");
}

#[test]
fn another_chain_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(ChainConfig::default(), dir.path()).unwrap();
    let genesis = chain.head().hash;
    drop(chain);

    let other = ChainConfig { chain_id: 1, ..ChainConfig::default() };
    let err = Chain::open(other, dir.path()).expect_err("chain 1 in a chain-31337 directory");
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("31337")
            && message.contains("chain 1")
            && message.contains(&path(dir.path())),
        "the error names both chain ids and the directory: {message}"
    );
    // The refusal changed nothing.
    let chain = Chain::open(ChainConfig::default(), dir.path()).unwrap();
    assert_eq!((chain.block_number(), chain.head().hash), (0, genesis));
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
