//! The `MessageInbox` contract on every backend: deployed and fed from Rust with `TxSender`,
//! read back from `MessagePosted` logs (with `L1Client::logs` and with a `BlockFollower` at
//! confirmation depth 2), decoded with the alloy bindings, and its accumulator hash chain
//! re-derived in Rust from the logs and the timestamps of the blocks holding them.

use crate::harness::{Backend, call_req};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U256, keccak256},
    rpc::types::{Filter, Log, TransactionReceipt},
    sol_types::{SolCall, SolEvent, SolInterface, SolValue},
};
use ply_contracts::MessageInbox::{self, MessageInboxErrors, MessagePosted};
use ply_l1::{
    Error,
    client::{BlockFollower, L1Client, TxSender},
};

crate::on_every_backend!(
    messages_logs_and_accumulator,
    follower_reads_messages_at_depth_two,
    bad_messages_revert_with_custom_errors,
);

/// The payload limit of the contract (`maxMessageSize()`).
const MAX_MESSAGE_SIZE: usize = 65_536;

fn latest() -> BlockId {
    BlockId::latest()
}

fn at(number: u64) -> BlockId {
    BlockId::Number(BlockNumberOrTag::Number(number))
}

async fn deploy_inbox(sender: &TxSender) -> (Address, u64) {
    let inbox = sender.deploy(MessageInbox::BYTECODE.clone()).await.expect("MessageInbox deploys");
    let code = sender.client().code(inbox, latest()).await.unwrap();
    assert_eq!(code, MessageInbox::DEPLOYED_BYTECODE, "the runtime code the artifact promises");
    let block = sender.client().block_number().await.unwrap();
    (inbox, block)
}

fn acc_at(index: u64) -> MessageInbox::accumulatorAtCall {
    MessageInbox::accumulatorAtCall { index: U256::from(index) }
}

fn post_req(inbox: Address, data: &[u8], value: U256) -> alloy::rpc::types::TransactionRequest {
    call_req(inbox, MessageInbox::postMessageCall { data: Bytes::copy_from_slice(data) })
        .value(value)
}

async fn post(sender: &TxSender, inbox: Address, data: &[u8], value: U256) -> TransactionReceipt {
    let receipt = sender.send_and_check(post_req(inbox, data, value)).await.expect("postMessage");
    assert_eq!(receipt.inner.logs().len(), 1, "one MessagePosted per message");
    receipt
}

async fn view<C: SolCall>(
    client: &dyn L1Client,
    inbox: Address,
    call: C,
    block: BlockId,
) -> C::Return {
    let out = client.call(&call_req(inbox, call), block).await.expect("a view call");
    C::abi_decode_returns(&out).expect("decodable return data")
}

/// The revert of `result`, decoded as one of the inbox's custom errors.
fn inbox_error<T: std::fmt::Debug>(result: ply_l1::Result<T>) -> MessageInboxErrors {
    match result {
        Err(Error::Reverted { data, reason }) => {
            assert_eq!(reason, None, "a custom error is not an Error(string)");
            MessageInboxErrors::abi_decode(&data)
                .unwrap_or_else(|e| panic!("{data} is no MessageInbox error: {e}"))
        }
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// `acc[i] = keccak256(abi.encode(acc[i-1], sender, value, keccak256(data), timestamp))`.
fn next_acc(prev: B256, event: &MessagePosted, timestamp: u64) -> B256 {
    keccak256(
        (prev, event.sender, event.value, keccak256(&event.data), U256::from(timestamp))
            .abi_encode_params(),
    )
}

/// Decodes `logs` as `MessagePosted` and checks them against the hash chain that starts at
/// `prev` and the index `first`; returns the decoded events.
async fn check_chain(
    client: &dyn L1Client,
    logs: &[Log],
    first: u64,
    mut prev: B256,
) -> Vec<MessagePosted> {
    let mut events = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(log.topics()[0], MessagePosted::SIGNATURE_HASH);
        let event = MessagePosted::decode_log_data(log.data()).expect("a MessagePosted log");
        assert_eq!(event.index, U256::from(first + i as u64), "consecutive indices");
        let number = log.block_number.expect("a mined log");
        let header =
            client.header(BlockNumberOrTag::Number(number)).await.unwrap().expect("its block");
        assert_eq!(log.block_hash, Some(header.hash));
        if let Some(ts) = log.block_timestamp {
            assert_eq!(ts, header.timestamp, "the log's blockTimestamp is its block's");
        }
        let acc = next_acc(prev, &event, header.timestamp);
        assert_eq!(event.acc, acc, "message {} extends the hash chain", event.index);
        prev = acc;
        events.push(event);
    }
    events
}

fn inbox_filter(inbox: Address) -> Filter {
    Filter::new().address(inbox).event_signature(MessagePosted::SIGNATURE_HASH)
}

async fn messages_logs_and_accumulator(b: &Backend) {
    let c = b.client.as_ref();
    let (alice, bob) = (b.sender(1), b.sender(2));
    let (inbox, deployed) = deploy_inbox(&alice).await;
    assert_eq!(view(c, inbox, MessageInbox::messageCountCall {}, latest()).await, U256::ZERO);
    assert_eq!(view(c, inbox, MessageInbox::accumulatorCall {}, latest()).await, B256::ZERO);
    assert_eq!(
        view(c, inbox, MessageInbox::maxMessageSizeCall {}, latest()).await,
        U256::from(MAX_MESSAGE_SIZE)
    );

    let big = vec![0x5a; MAX_MESSAGE_SIZE];
    let messages: Vec<(&TxSender, &[u8], U256)> = vec![
        (&alice, &b"hello, L2"[..], U256::ZERO),
        (&bob, &[0x00][..], U256::from(1_000_000_000u64)),
        (&alice, &big[..], U256::ZERO),
        (&bob, &b"deposit"[..], U256::from(12_345u64)),
    ];
    let mut receipts = Vec::new();
    for (sender, data, value) in &messages {
        receipts.push(post(sender, inbox, data, *value).await);
    }
    let last = receipts.last().unwrap().block_number.unwrap();

    // Every log, by address and event signature.
    let logs = c.logs(&inbox_filter(inbox).from_block(deployed).to_block(last)).await.unwrap();
    assert_eq!(
        logs,
        receipts.iter().flat_map(|r| r.inner.logs().to_vec()).collect::<Vec<_>>(),
        "eth_getLogs returns what the receipts hold"
    );
    let events = check_chain(c, &logs, 0, B256::ZERO).await;
    for ((event, (sender, data, value)), log) in events.iter().zip(&messages).zip(&logs) {
        assert_eq!(event.sender, sender.address());
        assert_eq!(event.value, *value);
        assert_eq!(event.data.as_ref(), *data);
        assert_eq!(log.address(), inbox);
        // The indexed fields are topics.
        assert_eq!(log.topics()[1], B256::from(event.index));
        assert_eq!(log.topics()[2], sender.address().into_word());
    }

    // What the contract stores agrees with the logs.
    let count = view(c, inbox, MessageInbox::messageCountCall {}, latest()).await;
    assert_eq!(count, U256::from(messages.len()));
    for event in &events {
        let acc =
            view(c, inbox, MessageInbox::accumulatorAtCall { index: event.index }, latest()).await;
        assert_eq!(acc, event.acc, "accumulatorAt({})", event.index);
    }
    assert_eq!(view(c, inbox, MessageInbox::accumulatorCall {}, latest()).await, events[3].acc);
    let held = messages.iter().map(|(_, _, v)| *v).sum::<U256>();
    assert_eq!(c.balance(inbox, latest()).await.unwrap(), held, "the inbox keeps the ETH");

    // Calls at past blocks see the queue as it was then.
    let second = receipts[1].block_number.unwrap();
    assert_eq!(view(c, inbox, MessageInbox::messageCountCall {}, at(second)).await, U256::from(2));
    assert_eq!(view(c, inbox, MessageInbox::accumulatorCall {}, at(second)).await, events[1].acc);
    let past = c.call(&call_req(inbox, acc_at(2)), at(second)).await;
    assert_eq!(
        inbox_error(past),
        MessageInboxErrors::IndexOutOfRange(MessageInbox::IndexOutOfRange {
            index: U256::from(2),
            count: U256::from(2),
        })
    );

    // Topic filters: by index (topic 1) and by sender (topic 2).
    let range = inbox_filter(inbox).from_block(deployed).to_block(last);
    let third = c.logs(&range.clone().topic1(B256::from(U256::from(2)))).await.unwrap();
    assert_eq!(third, vec![logs[2].clone()]);
    let from_bob = c.logs(&range.topic2(bob.address().into_word())).await.unwrap();
    assert_eq!(from_bob, vec![logs[1].clone(), logs[3].clone()]);

    // postMessage as a call: it would be message number 4.
    let out = c
        .call(&post_req(inbox, b"next", U256::ZERO).from(alice.address()), latest())
        .await
        .unwrap();
    let ret = MessageInbox::postMessageCall::abi_decode_returns(&out).unwrap();
    assert_eq!(ret.index, U256::from(4));
    assert_ne!(ret.acc, B256::ZERO);
}

async fn follower_reads_messages_at_depth_two(b: &Backend) {
    let c = b.client.clone();
    let sender = b.sender(3);
    let (inbox, deployed) = deploy_inbox(&sender).await;
    let mut follower = BlockFollower::new(c.clone(), 2, deployed + 1);
    assert_eq!(follower.next_range().await.unwrap(), None);

    let mut receipts = Vec::new();
    for i in 0..4u8 {
        receipts.push(post(&sender, inbox, &[i + 1; 3], U256::from(i)).await);
    }
    let blocks: Vec<u64> = receipts.iter().map(|r| r.block_number.unwrap()).collect();
    assert!(blocks.windows(2).all(|w| w[0] < w[1]), "one block per message: {blocks:?}");
    let head = c.block_number().await.unwrap();
    assert_eq!(head, blocks[3]);

    // Depth 2: the last two messages' blocks are not confirmed yet.
    let range = follower.next_range().await.unwrap().expect("confirmed blocks");
    assert_eq!(range, deployed + 1..=head - 2);
    let mut logs = follower.logs(inbox_filter(inbox), range).await.unwrap();
    let confirmed = blocks.iter().filter(|&&n| n <= head - 2).count();
    assert_eq!(logs.len(), confirmed);
    assert_eq!(follower.next_range().await.unwrap(), None, "nothing new is confirmed");

    // Two more blocks confirm the rest.
    c.mine().await.unwrap();
    assert_eq!(follower.next_range().await.unwrap(), Some(head - 1..=head - 1));
    c.mine().await.unwrap();
    let range = follower.next_range().await.unwrap().expect("the last block");
    assert_eq!(range, head..=head);
    for range in [head - 1..=head - 1, range] {
        logs.extend(follower.logs(inbox_filter(inbox), range).await.unwrap());
    }
    assert_eq!(logs.len(), 4);
    assert_eq!(
        logs.iter().map(|l| l.transaction_hash.unwrap()).collect::<Vec<_>>(),
        receipts.iter().map(|r| r.transaction_hash).collect::<Vec<_>>()
    );
    let direct = c.logs(&inbox_filter(inbox).from_block(deployed).to_block(head)).await.unwrap();
    assert_eq!(logs, direct, "the follower's logs are eth_getLogs' logs");

    let events = check_chain(c.as_ref(), &logs, 0, B256::ZERO).await;
    for event in &events {
        let acc = view(
            c.as_ref(),
            inbox,
            MessageInbox::accumulatorAtCall { index: event.index },
            latest(),
        )
        .await;
        assert_eq!(acc, event.acc);
    }
}

async fn bad_messages_revert_with_custom_errors(b: &Backend) {
    let c = b.client.as_ref();
    let sender = b.sender(4);
    let from = sender.address();
    let (inbox, _) = deploy_inbox(&sender).await;

    let too_large = post_req(inbox, &vec![0xab; MAX_MESSAGE_SIZE + 1], U256::ZERO);
    let expected = MessageInboxErrors::MessageTooLarge(MessageInbox::MessageTooLarge {
        size: U256::from(MAX_MESSAGE_SIZE + 1),
        max: U256::from(MAX_MESSAGE_SIZE),
    });
    assert_eq!(inbox_error(c.call(&too_large.clone().from(from), latest()).await), expected);
    assert_eq!(inbox_error(c.estimate_gas(&too_large.clone().from(from)).await), expected);
    // The sender estimates first: nothing is signed.
    let nonce = c.nonce(from, latest()).await.unwrap();
    assert_eq!(inbox_error(sender.send(too_large.clone()).await), expected);
    assert_eq!(c.nonce(from, latest()).await.unwrap(), nonce);
    // With a gas limit it is mined and fails; send_and_check recovers the custom error.
    assert_eq!(inbox_error(sender.send_and_check(too_large.gas_limit(5_000_000)).await), expected);
    assert_eq!(c.nonce(from, latest()).await.unwrap(), nonce + 1);

    let empty = post_req(inbox, &[], U256::from(1));
    assert_eq!(
        inbox_error(c.call(&empty.clone().from(from), latest()).await),
        MessageInboxErrors::EmptyMessage(MessageInbox::EmptyMessage {})
    );
    assert_eq!(
        inbox_error(sender.send(empty).await),
        MessageInboxErrors::EmptyMessage(MessageInbox::EmptyMessage {})
    );

    let out_of_range = |index: u64, count: u64| {
        MessageInboxErrors::IndexOutOfRange(MessageInbox::IndexOutOfRange {
            index: U256::from(index),
            count: U256::from(count),
        })
    };
    let at_zero = call_req(inbox, acc_at(0));
    assert_eq!(inbox_error(c.call(&at_zero, latest()).await), out_of_range(0, 0));

    // Nothing was queued, and a good message after the failures is message 0.
    assert_eq!(view(c, inbox, MessageInbox::messageCountCall {}, latest()).await, U256::ZERO);
    let receipt = post(&sender, inbox, b"ok", U256::ZERO).await;
    let events = check_chain(c, receipt.inner.logs(), 0, B256::ZERO).await;
    assert_eq!(view(c, inbox, acc_at(0), latest()).await, events[0].acc);
    let at_one = call_req(inbox, acc_at(1));
    assert_eq!(inbox_error(c.call(&at_one, latest()).await), out_of_range(1, 1));
}
