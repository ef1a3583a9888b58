//! The `Bridge`, `Rollup` and `TestToken` bindings encode calls and decode events, return values
//! and custom errors as the ABI (and docs/rollup.md) specifies. Expected bytes are built by hand.

use alloy::primitives::{Address, B256, Bytes, Log, LogData, U256, address, b256, keccak256};
use alloy::sol_types::{SolCall, SolError, SolEvent, SolEventInterface, SolInterface, SolValue};
use ply_contracts::{Bridge, Rollup, TestToken};

const BRIDGE: Address = address!("0x00000000000000000000000000000000000b1d6e");
const ROLLUP: Address = address!("0x000000000000000000000000000000000000a11a");
const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");

fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature)[..4].try_into().unwrap()
}

fn word(n: u64) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

fn addr_word(a: Address) -> [u8; 32] {
    a.into_word().0
}

#[test]
fn function_selectors_match_the_documented_signatures() {
    let cases: [(&[u8; 4], &str); 17] = [
        (&Bridge::registerTokenCall::SELECTOR, "registerToken(address)"),
        (&Bridge::depositETHCall::SELECTOR, "depositETH(address)"),
        (&Bridge::depositERC20Call::SELECTOR, "depositERC20(address,address,uint256)"),
        (&Bridge::depositCountCall::SELECTOR, "depositCount()"),
        (&Bridge::depositTimestampCall::SELECTOR, "depositTimestamp(uint256)"),
        (&Bridge::depositHashCall::SELECTOR, "depositHash(uint256)"),
        (&Bridge::tokenAddressCall::SELECTOR, "tokenAddress(uint32)"),
        (&Bridge::tokenIdCall::SELECTOR, "tokenId(address)"),
        (
            &Bridge::claimWithdrawalCall::SELECTOR,
            "claimWithdrawal(uint256,uint256,address,uint32,uint256,bytes32[])",
        ),
        (&Bridge::initializeCall::SELECTOR, "initialize(address)"),
        (&Rollup::appendBatchCall::SELECTOR, "appendBatch(uint256,bytes)"),
        (&Rollup::proposeOutputCall::SELECTOR, "proposeOutput(uint256,bytes32,bytes32)"),
        (&Rollup::isFinalCall::SELECTOR, "isFinal(uint256)"),
        (&Rollup::finalizedWithdrawalRootCall::SELECTOR, "finalizedWithdrawalRoot(uint256)"),
        (&Rollup::finalizedOutputsCall::SELECTOR, "finalizedOutputs()"),
        (&Rollup::withdrawBondCall::SELECTOR, "withdrawBond(uint256)"),
        (&TestToken::transferFromCall::SELECTOR, "transferFrom(address,address,uint256)"),
    ];
    for (actual, signature) in cases {
        assert_eq!(*actual, selector(signature), "{signature}");
    }
}

#[test]
fn append_batch_call_encoding() {
    let data = Bytes::from(vec![0x01, 0, 0, 0, 2, 0xff]);
    let call = Rollup::appendBatchCall { newDepositCount: U256::from(9), data: data.clone() };
    let encoded = call.abi_encode();

    let mut expected = selector("appendBatch(uint256,bytes)").to_vec();
    expected.extend_from_slice(&word(9));
    expected.extend_from_slice(&word(0x40)); // offset of `data`
    expected.extend_from_slice(&word(data.len() as u64));
    let mut padded = data.to_vec();
    padded.resize(32, 0);
    expected.extend_from_slice(&padded);
    assert_eq!(encoded, expected);

    let decoded = Rollup::appendBatchCall::abi_decode(&encoded).unwrap();
    assert_eq!((decoded.newDepositCount, decoded.data), (U256::from(9), data));
    assert!(matches!(
        Rollup::RollupCalls::abi_decode(&encoded).unwrap(),
        Rollup::RollupCalls::appendBatch(_)
    ));
}

#[test]
fn claim_withdrawal_call_encoding() {
    let proof: Vec<B256> = (0..16u8).map(|i| B256::repeat_byte(i + 1)).collect();
    let call = Bridge::claimWithdrawalCall {
        batchIndex: U256::from(3),
        leafIndex: U256::from(65_535),
        to: BOB,
        token: 2,
        amount: U256::from(10u64.pow(18)),
        proof: proof.clone(),
    };
    let encoded = call.abi_encode();

    let mut expected =
        selector("claimWithdrawal(uint256,uint256,address,uint32,uint256,bytes32[])").to_vec();
    expected.extend_from_slice(&word(3));
    expected.extend_from_slice(&word(65_535));
    expected.extend_from_slice(&addr_word(BOB));
    expected.extend_from_slice(&word(2));
    expected.extend_from_slice(&word(10u64.pow(18)));
    expected.extend_from_slice(&word(6 * 32)); // offset of `proof`, after the 6 head words
    expected.extend_from_slice(&word(16));
    for sibling in &proof {
        expected.extend_from_slice(sibling.as_slice());
    }
    assert_eq!(encoded, expected);
    assert_eq!(Bridge::claimWithdrawalCall::abi_decode(&encoded).unwrap(), call);
}

#[test]
fn deposit_queued_log_decoding() {
    let signature = keccak256("DepositQueued(uint256,address,address,uint32,uint256,uint64)");
    assert_eq!(Bridge::DepositQueued::SIGNATURE_HASH, signature);

    let amount: U256 = U256::from(5u64) << 100;
    // Non-indexed: to, token, amount, timestamp.
    let mut data = addr_word(BOB).to_vec();
    data.extend_from_slice(&word(1));
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.extend_from_slice(&word(1_700_000_000));
    let topics = vec![signature, B256::from(U256::from(7)), ALICE.into_word()];
    let log = Log { address: BRIDGE, data: LogData::new(topics, data.into()).unwrap() };

    let decoded = Bridge::DepositQueued::decode_log(&log).unwrap();
    assert_eq!(
        decoded.data,
        Bridge::DepositQueued {
            index: U256::from(7),
            from: ALICE,
            to: BOB,
            token: 1,
            amount,
            timestamp: 1_700_000_000,
        }
    );
    assert_eq!(decoded.data.encode_log_data(), log.data);
    assert!(matches!(
        Bridge::BridgeEvents::decode_log(&log).unwrap().data,
        Bridge::BridgeEvents::DepositQueued(_)
    ));
}

#[test]
fn rollup_event_decoding() {
    // BatchAppended(uint256 indexed batchIndex, uint256 prevDepositCount, uint256 newDepositCount,
    // bytes32 dataHash)
    let data_hash = keccak256(b"batch");
    let data = (U256::from(4), U256::from(6), data_hash).abi_encode_params();
    let topics = vec![
        keccak256("BatchAppended(uint256,uint256,uint256,bytes32)"),
        B256::from(U256::from(2)),
    ];
    let log = Log { address: ROLLUP, data: LogData::new(topics, data.into()).unwrap() };
    let event = Rollup::BatchAppended::decode_log(&log).unwrap().data;
    assert_eq!(
        event,
        Rollup::BatchAppended {
            batchIndex: U256::from(2),
            prevDepositCount: U256::from(4),
            newDepositCount: U256::from(6),
            dataHash: data_hash,
        }
    );

    // OutputProposed(uint256 indexed batchIndex, bytes32 outputRoot, bytes32 stateRoot,
    // bytes32 withdrawalRoot, address indexed proposer, uint64 proposedAt)
    let state_root = B256::repeat_byte(0x11);
    let withdrawal_root = B256::repeat_byte(0x22);
    let output_root = keccak256((state_root, withdrawal_root).abi_encode());
    let data = (output_root, state_root, withdrawal_root, 1_700_000_123u64).abi_encode_params();
    let topics = vec![
        keccak256("OutputProposed(uint256,bytes32,bytes32,bytes32,address,uint64)"),
        B256::from(U256::from(2)),
        BOB.into_word(),
    ];
    let log = Log { address: ROLLUP, data: LogData::new(topics, data.into()).unwrap() };
    match Rollup::RollupEvents::decode_log(&log).unwrap().data {
        Rollup::RollupEvents::OutputProposed(event) => assert_eq!(
            event,
            Rollup::OutputProposed {
                batchIndex: U256::from(2),
                outputRoot: output_root,
                stateRoot: state_root,
                withdrawalRoot: withdrawal_root,
                proposer: BOB,
                proposedAt: 1_700_000_123,
            }
        ),
        other => panic!("decoded as {other:?}"),
    }
}

#[test]
fn bridge_event_signatures() {
    assert_eq!(
        Bridge::TokenRegistered::SIGNATURE_HASH,
        keccak256("TokenRegistered(uint32,address)")
    );
    assert_eq!(
        Bridge::WithdrawalClaimed::SIGNATURE_HASH,
        keccak256("WithdrawalClaimed(uint256,uint256,address,uint32,uint256)")
    );
    assert_eq!(
        Rollup::BondReturned::SIGNATURE_HASH,
        keccak256("BondReturned(uint256,address,uint256)")
    );
    assert_eq!(TestToken::Transfer::SIGNATURE_HASH, keccak256("Transfer(address,address,uint256)"));
}

#[test]
fn output_struct_return_decoding() {
    let output = Rollup::Output {
        outputRoot: b256!("0x0101010101010101010101010101010101010101010101010101010101010101"),
        withdrawalRoot: B256::repeat_byte(2),
        proposer: ALICE,
        proposedAt: 42,
        bondReturned: true,
    };
    // A static struct: five words, in field order.
    let mut returned = output.outputRoot.to_vec();
    returned.extend_from_slice(output.withdrawalRoot.as_slice());
    returned.extend_from_slice(&addr_word(ALICE));
    returned.extend_from_slice(&word(42));
    returned.extend_from_slice(&word(1));
    assert_eq!(Rollup::outputCall::abi_decode_returns(&returned).unwrap(), output);
}

#[test]
fn custom_error_decoding() {
    let mut payload = selector("DepositOverdue(uint256)").to_vec();
    payload.extend_from_slice(&word(12));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&payload).unwrap(),
        Rollup::RollupErrors::DepositOverdue(Rollup::DepositOverdue { index: U256::from(12) })
    );

    let mut payload = selector("WrongBond(uint256,uint256)").to_vec();
    payload.extend_from_slice(&word(1));
    payload.extend_from_slice(&word(2));
    assert_eq!(
        Rollup::WrongBond::abi_decode(&payload).unwrap(),
        Rollup::WrongBond { value: U256::from(1), bond: U256::from(2) }
    );

    let mut payload = selector("OutputNotFinal(uint256,uint256)").to_vec();
    payload.extend_from_slice(&word(0));
    payload.extend_from_slice(&word(1_700_604_800));
    assert!(matches!(
        Rollup::RollupErrors::abi_decode(&payload).unwrap(),
        Rollup::RollupErrors::OutputNotFinal(e) if e.finalAt == U256::from(1_700_604_800)
    ));

    let mut payload = selector("AmountMismatch(address,uint256,uint256)").to_vec();
    payload.extend_from_slice(&addr_word(BOB));
    payload.extend_from_slice(&word(100));
    payload.extend_from_slice(&word(99));
    assert_eq!(
        Bridge::BridgeErrors::abi_decode(&payload).unwrap(),
        Bridge::BridgeErrors::AmountMismatch(Bridge::AmountMismatch {
            l1Token: BOB,
            expected: U256::from(100),
            received: U256::from(99),
        })
    );

    for (payload, expected) in [
        (
            Bridge::InvalidProof { batchIndex: U256::from(1), leafIndex: U256::from(2) }
                .abi_encode(),
            "InvalidProof(uint256,uint256)",
        ),
        (
            Bridge::AlreadyClaimed { batchIndex: U256::from(1), leafIndex: U256::from(2) }
                .abi_encode(),
            "AlreadyClaimed(uint256,uint256)",
        ),
        (Bridge::ZeroAmount {}.abi_encode(), "ZeroAmount()"),
        (Bridge::Reentrancy {}.abi_encode(), "Reentrancy()"),
    ] {
        assert_eq!(payload[..4], selector(expected), "{expected}");
        assert!(Bridge::BridgeErrors::abi_decode(&payload).is_ok(), "{expected}");
    }
    // A Rollup error is not a Bridge error.
    let overdue = Rollup::DepositOverdue { index: U256::ZERO }.abi_encode();
    assert!(Bridge::BridgeErrors::abi_decode(&overdue).is_err());
}
