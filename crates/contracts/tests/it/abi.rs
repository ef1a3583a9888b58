//! The generated bindings encode calls and decode events and custom errors exactly as the ABI
//! specifies. Expected bytes are built by hand here, independently of the bindings.

use alloy::primitives::{Address, B256, Bytes, Log, LogData, U256, address, b256, keccak256};
use alloy::sol_types::{SolCall, SolError, SolEvent, SolEventInterface, SolInterface, SolValue};
use ply_contracts::MessageInbox::{
    self, EmptyMessage, IndexOutOfRange, MessageInboxErrors, MessageInboxEvents, MessagePosted,
    MessageTooLarge,
};

const INBOX: Address = address!("0x00000000000000000000000000000000000c0de1");
const SENDER: Address = address!("0x00000000000000000000000000000000000a11ce");

fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature)[..4].try_into().unwrap()
}

fn word(n: u64) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

#[test]
fn post_message_call_encoding() {
    let data = Bytes::from_static(b"hello, L2");
    let encoded = MessageInbox::postMessageCall { data: data.clone() }.abi_encode();

    let mut expected = selector("postMessage(bytes)").to_vec();
    expected.extend_from_slice(&word(0x20)); // offset of the bytes argument
    expected.extend_from_slice(&word(data.len() as u64));
    let mut padded = data.to_vec();
    padded.resize(32, 0);
    expected.extend_from_slice(&padded);
    assert_eq!(encoded, expected);

    let decoded = MessageInbox::postMessageCall::abi_decode(&encoded).unwrap();
    assert_eq!(decoded.data, data);
    match MessageInbox::MessageInboxCalls::abi_decode(&encoded).unwrap() {
        MessageInbox::MessageInboxCalls::postMessage(call) => assert_eq!(call.data, data),
        other => panic!("decoded as {other:?}"),
    }
}

#[test]
fn view_call_encoding_and_return_decoding() {
    assert_eq!(MessageInbox::messageCountCall {}.abi_encode(), selector("messageCount()"));
    assert_eq!(MessageInbox::maxMessageSizeCall {}.abi_encode(), selector("maxMessageSize()"));
    assert_eq!(MessageInbox::accumulatorCall {}.abi_encode(), selector("accumulator()"));

    let call = MessageInbox::accumulatorAtCall { index: U256::from(7) };
    let mut expected = selector("accumulatorAt(uint256)").to_vec();
    expected.extend_from_slice(&word(7));
    assert_eq!(call.abi_encode(), expected);

    let acc = b256!("0x1111111111111111111111111111111111111111111111111111111111111111");
    assert_eq!(MessageInbox::accumulatorAtCall::abi_decode_returns(acc.as_slice()).unwrap(), acc);
    assert_eq!(
        MessageInbox::messageCountCall::abi_decode_returns(&word(3)).unwrap(),
        U256::from(3)
    );

    let mut returned = word(4).to_vec();
    returned.extend_from_slice(acc.as_slice());
    let ret = MessageInbox::postMessageCall::abi_decode_returns(&returned).unwrap();
    assert_eq!((ret.index, ret.acc), (U256::from(4), acc));
}

#[test]
fn message_posted_log_decoding() {
    let signature = keccak256("MessagePosted(uint256,address,uint256,bytes,bytes32)");
    assert_eq!(MessagePosted::SIGNATURE_HASH, signature);

    let payload = Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 0x01]);
    let acc = b256!("0xabababababababababababababababababababababababababababababababab");
    let value = U256::from(10u64.pow(18));
    // Non-indexed fields are ABI-encoded as a tuple; indexed ones are topics.
    let data = (value, payload.clone(), acc).abi_encode_params();
    let topics = vec![signature, B256::from(U256::from(42)), SENDER.into_word()];
    let log =
        Log { address: INBOX, data: LogData::new(topics.clone(), data.clone().into()).unwrap() };

    let decoded = MessagePosted::decode_log(&log).unwrap();
    assert_eq!(decoded.address, INBOX);
    assert_eq!(
        decoded.data,
        MessagePosted { index: U256::from(42), sender: SENDER, value, data: payload.clone(), acc }
    );

    let raw = MessagePosted::decode_raw_log(topics.iter().copied(), &data).unwrap();
    assert_eq!(raw, decoded.data);

    match MessageInboxEvents::decode_log(&log).unwrap().data {
        MessageInboxEvents::MessagePosted(event) => assert_eq!(event, decoded.data),
    }

    // And back: the event encodes to the same log.
    assert_eq!(decoded.data.encode_log_data(), log.data);

    // A log with another signature is not a MessagePosted.
    let mut wrong = log.clone();
    wrong.data =
        LogData::new(vec![keccak256("Other()"), topics[1], topics[2]], data.into()).unwrap();
    assert!(MessagePosted::decode_log(&wrong).is_err());
}

#[test]
fn custom_error_decoding() {
    // MessageTooLarge(uint256 size, uint256 max)
    let mut payload = selector("MessageTooLarge(uint256,uint256)").to_vec();
    payload.extend_from_slice(&word(70_000));
    payload.extend_from_slice(&word(65_536));
    assert_eq!(MessageTooLarge::SELECTOR, payload[..4]);

    let err = MessageTooLarge::abi_decode(&payload).unwrap();
    assert_eq!(err, MessageTooLarge { size: U256::from(70_000), max: U256::from(65_536) });
    assert_eq!(err.abi_encode(), payload);
    assert_eq!(
        MessageInboxErrors::abi_decode(&payload).unwrap(),
        MessageInboxErrors::MessageTooLarge(err)
    );

    // IndexOutOfRange(uint256 index, uint256 count)
    let mut payload = selector("IndexOutOfRange(uint256,uint256)").to_vec();
    payload.extend_from_slice(&word(5));
    payload.extend_from_slice(&word(2));
    assert_eq!(
        MessageInboxErrors::abi_decode(&payload).unwrap(),
        MessageInboxErrors::IndexOutOfRange(IndexOutOfRange {
            index: U256::from(5),
            count: U256::from(2)
        })
    );

    // EmptyMessage(): the selector alone.
    let payload = selector("EmptyMessage()");
    assert_eq!(
        MessageInboxErrors::abi_decode(&payload).unwrap(),
        MessageInboxErrors::EmptyMessage(EmptyMessage {})
    );

    // A revert payload that is none of the inbox's errors.
    let mut other = selector("Error(string)").to_vec();
    other.extend_from_slice(&"nope".abi_encode());
    assert!(MessageInboxErrors::abi_decode(&other).is_err());
    // A truncated MessageTooLarge.
    assert!(MessageTooLarge::abi_decode(&selector("MessageTooLarge(uint256,uint256)")).is_err());
}
