//! The `Bridge`, `Rollup`, `StepExecutor` and `TestToken` bindings encode calls and decode
//! events, return values and custom errors as the ABI (and docs/rollup.md) specifies. Expected
//! bytes are built by hand.

use alloy::primitives::aliases::U40;
use alloy::primitives::{Address, B256, Bytes, Log, LogData, U256, address, b256, keccak256};
use alloy::sol_types::{SolCall, SolError, SolEvent, SolEventInterface, SolInterface, SolValue};
use ply_contracts::{Bridge, Rollup, StepExecutor, TestToken};

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
    let cases: [(&[u8; 4], &str); 36] = [
        // Bridge
        (&Bridge::registerTokenCall::SELECTOR, "registerToken(address)"),
        (&Bridge::tokenGovernorCall::SELECTOR, "tokenGovernor()"),
        (&Bridge::depositETHCall::SELECTOR, "depositETH(address)"),
        (&Bridge::depositERC20Call::SELECTOR, "depositERC20(address,address,uint256)"),
        (&Bridge::forceTransferCall::SELECTOR, "forceTransfer(address,uint32,uint256)"),
        (&Bridge::forceWithdrawalCall::SELECTOR, "forceWithdrawal(address,uint32,uint256)"),
        (&Bridge::queueLengthCall::SELECTOR, "queueLength()"),
        (&Bridge::operationHashCall::SELECTOR, "operationHash(uint256)"),
        (&Bridge::operationTimestampCall::SELECTOR, "operationTimestamp(uint256)"),
        (&Bridge::tokenAddressCall::SELECTOR, "tokenAddress(uint32)"),
        (&Bridge::tokenIdCall::SELECTOR, "tokenId(address)"),
        (
            &Bridge::claimWithdrawalCall::SELECTOR,
            "claimWithdrawal(uint256,uint256,address,uint32,uint256,bytes32[])",
        ),
        (&Bridge::isClaimedCall::SELECTOR, "isClaimed(uint256,uint256)"),
        (&Bridge::initializeCall::SELECTOR, "initialize(address)"),
        // Rollup: batches and outputs
        (&Rollup::appendBatchCall::SELECTOR, "appendBatch(uint256,bytes)"),
        (
            &Rollup::appendBatchAndProposeCall::SELECTOR,
            "appendBatchAndPropose(uint256,bytes,bytes32,bytes32)",
        ),
        (&Rollup::batchHashCall::SELECTOR, "batchHash(uint256)"),
        (&Rollup::consumedOperationsCall::SELECTOR, "consumedOperations()"),
        (&Rollup::proposeOutputCall::SELECTOR, "proposeOutput(uint256,bytes32,bytes32)"),
        (&Rollup::outputRootCall::SELECTOR, "outputRoot(uint256)"),
        (&Rollup::isFinalCall::SELECTOR, "isFinal(uint256)"),
        (&Rollup::finalizedCountCall::SELECTOR, "finalizedCount()"),
        (&Rollup::advanceFinalityCall::SELECTOR, "advanceFinality(uint256)"),
        (&Rollup::finalizedWithdrawalRootCall::SELECTOR, "finalizedWithdrawalRoot(uint256)"),
        (&Rollup::withdrawBondCall::SELECTOR, "withdrawBond(uint256)"),
        (&Rollup::traceLengthCall::SELECTOR, "traceLength(uint256,uint256)"),
        // Rollup: the dispute game
        (&Rollup::challengeCall::SELECTOR, "challenge(uint256,uint256,uint256,bytes32,uint256)"),
        (&Rollup::bisectCall::SELECTOR, "bisect(uint256,bytes32)"),
        (&Rollup::respondCall::SELECTOR, "respond(uint256,bool)"),
        (&Rollup::timeoutCall::SELECTOR, "timeout(uint256)"),
        (&Rollup::voidGameCall::SELECTOR, "voidGame(uint256)"),
        (&Rollup::claimCreditCall::SELECTOR, "claimCredit()"),
        (&Rollup::creditCall::SELECTOR, "credit(address)"),
        (&Rollup::clocksCall::SELECTOR, "clocks(uint256)"),
        (&StepExecutor::accountDepthCall::SELECTOR, "accountDepth()"),
        (&TestToken::transferFromCall::SELECTOR, "transferFrom(address,address,uint256)"),
    ];
    for (actual, signature) in cases {
        assert_eq!(*actual, selector(signature), "{signature}");
    }

    // The step's tuple signature, spelled out from docs/rollup.md's structs.
    let step_state = "(uint8,bytes32,bytes32,uint64,uint256,uint64,uint64,uint32,bytes32,uint64,\
                      uint32,uint16,uint16)";
    let sparse = "(uint256,bytes32[])";
    let witness = format!(
        "((uint256,bytes,bytes32[])[],(uint8,address,address,uint32,uint256,uint64),\
         (bytes32,{sparse})[],(address,uint64,bytes32,uint256,{sparse},{sparse})[],{sparse})"
    );
    assert_eq!(
        Rollup::stepCall::SELECTOR,
        selector(&format!("step(uint256,{step_state},{witness})"))
    );
    assert_eq!(
        StepExecutor::stepCall::SELECTOR,
        selector(&format!(
            "step({step_state},{witness},(uint256,uint256,bytes32,uint256,bytes32))"
        ))
    );
}

#[test]
fn append_batch_call_encoding() {
    let data = Bytes::from(vec![0x01, 0, 0, 0, 2, 0xff]);
    let call = Rollup::appendBatchCall { newQueueCount: U256::from(9), data: data.clone() };
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
    assert_eq!((decoded.newQueueCount, decoded.data), (U256::from(9), data));
    assert!(matches!(
        Rollup::RollupCalls::abi_decode(&encoded).unwrap(),
        Rollup::RollupCalls::appendBatch(_)
    ));
}

#[test]
fn append_batch_and_propose_call_encoding() {
    let data = Bytes::from(vec![0xaa; 40]);
    let (commitment, withdrawal_root) = (B256::repeat_byte(0x11), B256::repeat_byte(0x22));
    let call = Rollup::appendBatchAndProposeCall {
        newQueueCount: U256::from(3),
        data: data.clone(),
        stateCommitment: commitment,
        withdrawalRoot: withdrawal_root,
    };
    let encoded = call.abi_encode();

    let mut expected = selector("appendBatchAndPropose(uint256,bytes,bytes32,bytes32)").to_vec();
    expected.extend_from_slice(&word(3));
    expected.extend_from_slice(&word(4 * 32)); // offset of `data`, after the 4 head words
    expected.extend_from_slice(commitment.as_slice());
    expected.extend_from_slice(withdrawal_root.as_slice());
    expected.extend_from_slice(&word(40));
    let mut padded = data.to_vec();
    padded.resize(64, 0);
    expected.extend_from_slice(&padded);
    assert_eq!(encoded, expected);
    assert_eq!(Rollup::appendBatchAndProposeCall::abi_decode(&encoded).unwrap(), call);
}

#[test]
fn forced_operation_call_encoding() {
    let amount = U256::from(10u64.pow(18));
    let encoded = Bridge::forceWithdrawalCall { to: BOB, token: 1, amount }.abi_encode();
    let mut expected = selector("forceWithdrawal(address,uint32,uint256)").to_vec();
    expected.extend_from_slice(&addr_word(BOB));
    expected.extend_from_slice(&word(1));
    expected.extend_from_slice(&amount.to_be_bytes::<32>());
    assert_eq!(encoded, expected);

    let encoded = Bridge::forceTransferCall { to: ALICE, token: 0, amount }.abi_encode();
    assert_eq!(encoded[..4], selector("forceTransfer(address,uint32,uint256)"));
    assert_eq!(encoded[4..36], addr_word(ALICE));
    assert_eq!(encoded[36..68], word(0));
    assert_eq!(encoded[68..], amount.to_be_bytes::<32>());
    assert!(matches!(
        Bridge::BridgeCalls::abi_decode(&encoded).unwrap(),
        Bridge::BridgeCalls::forceTransfer(c) if c.to == ALICE && c.token == 0 && c.amount == amount
    ));
}

#[test]
fn challenge_call_encoding() {
    let root = B256::repeat_byte(0x33);
    let call = Rollup::challengeCall {
        batchIndex: U256::from(4),
        prevQueueCount: U256::from(6),
        newQueueCount: U256::from(8),
        dataRoot: root,
        dataLength: U256::from(79_000),
    };
    let mut expected = selector("challenge(uint256,uint256,uint256,bytes32,uint256)").to_vec();
    expected.extend_from_slice(&word(4));
    expected.extend_from_slice(&word(6));
    expected.extend_from_slice(&word(8));
    expected.extend_from_slice(root.as_slice());
    expected.extend_from_slice(&word(79_000));
    assert_eq!(call.abi_encode(), expected);

    let mut expected = selector("respond(uint256,bool)").to_vec();
    expected.extend_from_slice(&word(7));
    expected.extend_from_slice(&word(1));
    assert_eq!(Rollup::respondCall { gameId: U256::from(7), agree: true }.abi_encode(), expected);
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
fn operation_queued_log_decoding() {
    let signature =
        keccak256("OperationQueued(uint256,uint8,address,address,uint32,uint256,uint64)");
    assert_eq!(Bridge::OperationQueued::SIGNATURE_HASH, signature);

    let amount: U256 = U256::from(5u64) << 100;
    // Non-indexed: kind, to, token, amount, timestamp.
    let mut data = word(2).to_vec();
    data.extend_from_slice(&addr_word(BOB));
    data.extend_from_slice(&word(1));
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.extend_from_slice(&word(1_700_000_000));
    let topics = vec![signature, B256::from(U256::from(7)), ALICE.into_word()];
    let log = Log { address: BRIDGE, data: LogData::new(topics, data.into()).unwrap() };

    let decoded = Bridge::OperationQueued::decode_log(&log).unwrap();
    assert_eq!(
        decoded.data,
        Bridge::OperationQueued {
            index: U256::from(7),
            kind: 2,
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
        Bridge::BridgeEvents::OperationQueued(_)
    ));
}

#[test]
fn rollup_event_decoding() {
    // BatchAppended(uint256 indexed batchIndex, uint256 prevQueueCount, uint256 newQueueCount,
    // bytes32 dataRoot, uint256 dataLength)
    let data_root = keccak256(b"root");
    let data = (U256::from(4), U256::from(6), data_root, U256::from(2_049)).abi_encode_params();
    let topics = vec![
        keccak256("BatchAppended(uint256,uint256,uint256,bytes32,uint256)"),
        B256::from(U256::from(2)),
    ];
    let log = Log { address: ROLLUP, data: LogData::new(topics, data.into()).unwrap() };
    let event = Rollup::BatchAppended::decode_log(&log).unwrap().data;
    assert_eq!(
        event,
        Rollup::BatchAppended {
            batchIndex: U256::from(2),
            prevQueueCount: U256::from(4),
            newQueueCount: U256::from(6),
            dataRoot: data_root,
            dataLength: U256::from(2_049),
        }
    );

    // OutputProposed(uint256 indexed batchIndex, uint32 outputId, bytes32 outputRoot,
    // bytes32 stateCommitment, bytes32 withdrawalRoot, address indexed proposer)
    let commitment = B256::repeat_byte(0x11);
    let withdrawal_root = B256::repeat_byte(0x22);
    let output_root = keccak256((commitment, withdrawal_root).abi_encode());
    let data = (5u32, output_root, commitment, withdrawal_root).abi_encode_params();
    let topics = vec![
        keccak256("OutputProposed(uint256,uint32,bytes32,bytes32,bytes32,address)"),
        B256::from(U256::from(2)),
        BOB.into_word(),
    ];
    let log = Log { address: ROLLUP, data: LogData::new(topics, data.into()).unwrap() };
    match Rollup::RollupEvents::decode_log(&log).unwrap().data {
        Rollup::RollupEvents::OutputProposed(event) => assert_eq!(
            event,
            Rollup::OutputProposed {
                batchIndex: U256::from(2),
                outputId: 5,
                outputRoot: output_root,
                stateCommitment: commitment,
                withdrawalRoot: withdrawal_root,
                proposer: BOB,
            }
        ),
        other => panic!("decoded as {other:?}"),
    }

    // GameStarted(uint256 indexed gameId, uint256 indexed batchIndex, address indexed challenger,
    // address defender, uint256 traceLength, bytes32 startHash, bytes32 outputRoot)
    let start = B256::repeat_byte(0x44);
    let data = (BOB, U256::from(1_002), start, output_root).abi_encode_params();
    let topics = vec![
        keccak256("GameStarted(uint256,uint256,address,address,uint256,bytes32,bytes32)"),
        B256::from(U256::from(1)),
        B256::from(U256::from(2)),
        ALICE.into_word(),
    ];
    let log = Log { address: ROLLUP, data: LogData::new(topics, data.into()).unwrap() };
    assert_eq!(
        Rollup::GameStarted::decode_log(&log).unwrap().data,
        Rollup::GameStarted {
            gameId: U256::from(1),
            batchIndex: U256::from(2),
            challenger: ALICE,
            defender: BOB,
            traceLength: U256::from(1_002),
            startHash: start,
            outputRoot: output_root,
        }
    );
}

#[test]
fn event_signatures() {
    let cases = [
        (Bridge::TokenRegistered::SIGNATURE_HASH, "TokenRegistered(uint32,address)"),
        (
            Bridge::WithdrawalClaimed::SIGNATURE_HASH,
            "WithdrawalClaimed(uint256,uint256,address,uint32,uint256)",
        ),
        (Bridge::Initialized::SIGNATURE_HASH, "Initialized(address)"),
        (Rollup::BondReturned::SIGNATURE_HASH, "BondReturned(uint256,address,uint256)"),
        (Rollup::BondPaid::SIGNATURE_HASH, "BondPaid(address,uint256)"),
        (Rollup::OutputRemoved::SIGNATURE_HASH, "OutputRemoved(uint256,uint256)"),
        (Rollup::Bisected::SIGNATURE_HASH, "Bisected(uint256,uint256,bytes32)"),
        (Rollup::Responded::SIGNATURE_HASH, "Responded(uint256,bool,uint256,uint256)"),
        (Rollup::Stepped::SIGNATURE_HASH, "Stepped(uint256,uint256,bytes32,bool)"),
        (Rollup::Resolved::SIGNATURE_HASH, "Resolved(uint256,uint8,bool)"),
        (TestToken::Transfer::SIGNATURE_HASH, "Transfer(address,address,uint256)"),
    ];
    for (actual, signature) in cases {
        assert_eq!(actual, keccak256(signature), "{signature}");
    }
}

#[test]
fn output_struct_return_decoding() {
    let output = Rollup::Output {
        stateCommitment: b256!(
            "0x0101010101010101010101010101010101010101010101010101010101010101"
        ),
        withdrawalRoot: B256::repeat_byte(2),
        proposer: ALICE,
        proposedAt: U40::from(42),
        openGames: 3,
        id: 9,
        status: 1,
    };
    // A static struct: seven words, in field order.
    let mut returned = output.stateCommitment.to_vec();
    returned.extend_from_slice(output.withdrawalRoot.as_slice());
    returned.extend_from_slice(&addr_word(ALICE));
    returned.extend_from_slice(&word(42));
    returned.extend_from_slice(&word(3));
    returned.extend_from_slice(&word(9));
    returned.extend_from_slice(&word(1));
    assert_eq!(Rollup::outputCall::abi_decode_returns(&returned).unwrap(), output);

    // clocks(uint256) returns (bool challengerToMove, uint256 defenderLeft, uint256 challengerLeft)
    let mut returned = word(1).to_vec();
    returned.extend_from_slice(&word(100));
    returned.extend_from_slice(&word(200));
    let clocks = Rollup::clocksCall::abi_decode_returns(&returned).unwrap();
    assert!(clocks.challengerToMove);
    assert_eq!((clocks.defenderLeft, clocks.challengerLeft), (U256::from(100), U256::from(200)));
}

#[test]
fn custom_error_decoding() {
    let mut payload = selector("OperationOverdue(uint256)").to_vec();
    payload.extend_from_slice(&word(12));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&payload).unwrap(),
        Rollup::RollupErrors::OperationOverdue(Rollup::OperationOverdue { index: U256::from(12) })
    );

    let mut payload = selector("WrongBond(uint256,uint256)").to_vec();
    payload.extend_from_slice(&word(1));
    payload.extend_from_slice(&word(2));
    assert_eq!(
        Rollup::WrongBond::abi_decode(&payload).unwrap(),
        Rollup::WrongBond { value: U256::from(1), bond: U256::from(2) }
    );

    let mut payload = selector("OutputNotFinal(uint256)").to_vec();
    payload.extend_from_slice(&word(3));
    assert!(matches!(
        Rollup::RollupErrors::abi_decode(&payload).unwrap(),
        Rollup::RollupErrors::OutputNotFinal(e) if e.batchIndex == U256::from(3)
    ));

    let mut payload = selector("NotSequencer(address,uint256)").to_vec();
    payload.extend_from_slice(&addr_word(ALICE));
    payload.extend_from_slice(&word(1_700_086_400));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&payload).unwrap(),
        Rollup::RollupErrors::NotSequencer(Rollup::NotSequencer {
            caller: ALICE,
            openAt: U256::from(1_700_086_400),
        })
    );

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
        (Bridge::NotTokenGovernor { caller: ALICE }.abi_encode(), "NotTokenGovernor(address)"),
        (
            Bridge::OperationIndexOutOfRange { index: U256::from(1), count: U256::from(1) }
                .abi_encode(),
            "OperationIndexOutOfRange(uint256,uint256)",
        ),
        (Bridge::ZeroAmount {}.abi_encode(), "ZeroAmount()"),
        (Bridge::Reentrancy {}.abi_encode(), "Reentrancy()"),
    ] {
        assert_eq!(payload[..4], selector(expected), "{expected}");
        assert!(Bridge::BridgeErrors::abi_decode(&payload).is_ok(), "{expected}");
    }
    for (payload, expected) in [
        (
            Rollup::QueueCountTooHigh { newQueueCount: U256::from(3), queued: U256::from(2) }
                .abi_encode(),
            "QueueCountTooHigh(uint256,uint256)",
        ),
        (
            Rollup::NotYourMove { gameId: U256::from(1), caller: ALICE, expected: BOB }
                .abi_encode(),
            "NotYourMove(uint256,address,address)",
        ),
        (
            Rollup::PreStateMismatch {
                gameId: U256::from(1),
                preHash: B256::ZERO,
                loHash: B256::ZERO,
            }
            .abi_encode(),
            "PreStateMismatch(uint256,bytes32,bytes32)",
        ),
        (
            Rollup::ChallengeWindowClosed { batchIndex: U256::ZERO, closedAt: U256::from(1) }
                .abi_encode(),
            "ChallengeWindowClosed(uint256,uint256)",
        ),
    ] {
        assert_eq!(payload[..4], selector(expected), "{expected}");
        assert!(Rollup::RollupErrors::abi_decode(&payload).is_ok(), "{expected}");
    }
    // A Rollup error is not a Bridge error.
    let overdue = Rollup::OperationOverdue { index: U256::ZERO }.abi_encode();
    assert!(Bridge::BridgeErrors::abi_decode(&overdue).is_err());
}
