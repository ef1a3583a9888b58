//! The bindings against the real bytecode: deploy `MessageInbox` in an in-process EVM (revm), post
//! messages, and decode the returned values, the `MessagePosted` logs and the custom-error revert
//! payloads with the generated types. Also re-computes the hash chain in Rust.

use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256};
use alloy::sol_types::{SolCall, SolError, SolEvent, SolInterface, SolValue};
use ply_contracts::{Contract, MessageInbox};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
const TIMESTAMP: u64 = 1_700_000_000;
const ONE_ETH: u128 = 1_000_000_000_000_000_000;

type Evm = MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>;

/// An EVM (Prague rules, block timestamp `TIMESTAMP`) with funded ALICE and BOB, and a deployed
/// inbox.
struct Chain {
    evm: Evm,
    inbox: Address,
}

/// What a transaction did, reduced to what the tests look at.
#[derive(Debug)]
enum Outcome {
    Success { output: Bytes, logs: Vec<alloy::primitives::Log> },
    Revert(Bytes),
}

impl Chain {
    fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        for who in [ALICE, BOB] {
            db.insert_account_info(who, AccountInfo::from_balance(U256::from(100 * ONE_ETH)));
        }
        let mut evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
                cfg.disable_nonce_check = true;
            })
            .modify_block_chained(|block| block.timestamp = U256::from(TIMESTAMP))
            .build_mainnet();

        let result = evm
            .transact_commit(tx(
                ALICE,
                TxKind::Create,
                U256::ZERO,
                Contract::MessageInbox.bytecode(),
            ))
            .expect("deployment executes");
        let ExecutionResult::Success { output: Output::Create(code, Some(inbox)), .. } = result
        else {
            panic!("deployment failed: {result:?}");
        };
        assert_eq!(code, *Contract::MessageInbox.deployed_bytecode(), "runtime code");
        Self { evm, inbox }
    }

    fn send(&mut self, from: Address, value: U256, calldata: Vec<u8>) -> Outcome {
        let tx = tx(from, TxKind::Call(self.inbox), value, &calldata.into());
        match self.evm.transact_commit(tx).expect("transaction executes") {
            ExecutionResult::Success { output, logs, .. } => {
                Outcome::Success { output: output.into_data(), logs }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(output),
            halt => panic!("transaction halted: {halt:?}"),
        }
    }

    /// Calls a view function, decoding its return value with the binding.
    fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        match self.send(BOB, U256::ZERO, call.abi_encode()) {
            Outcome::Success { output, .. } => C::abi_decode_returns(&output).expect("return data"),
            Outcome::Revert(data) => panic!("{} reverted: {data}", C::SIGNATURE),
        }
    }

    fn revert_error(
        &mut self,
        from: Address,
        value: U256,
        calldata: Vec<u8>,
    ) -> MessageInbox::MessageInboxErrors {
        match self.send(from, value, calldata) {
            Outcome::Revert(data) => {
                MessageInbox::MessageInboxErrors::abi_decode(&data).expect("an inbox custom error")
            }
            success => panic!("expected a revert, got {success:?}"),
        }
    }
}

fn tx(from: Address, kind: TxKind, value: U256, data: &Bytes) -> TxEnv {
    TxEnv::builder()
        .caller(from)
        .kind(kind)
        .value(value)
        .data(data.clone())
        .gas_limit(10_000_000)
        .gas_price(0)
        .build_fill()
}

/// The hash chain step, as documented on the contract.
fn chain_step(prev: B256, sender: Address, value: U256, data: &[u8], timestamp: u64) -> B256 {
    keccak256((prev, sender, value, keccak256(data), U256::from(timestamp)).abi_encode())
}

#[test]
fn post_messages_and_decode_logs() {
    let mut node = Chain::new();
    assert_eq!(node.view(MessageInbox::messageCountCall {}), U256::ZERO);
    assert_eq!(node.view(MessageInbox::accumulatorCall {}), B256::ZERO);
    assert_eq!(node.view(MessageInbox::maxMessageSizeCall {}), U256::from(65_536));

    let messages: [(Address, U256, &[u8]); 3] = [
        (ALICE, U256::from(ONE_ETH), b"deposit"),
        (BOB, U256::ZERO, &[0u8; 100]),
        (ALICE, U256::from(7), b"\x01"),
    ];
    let mut acc = B256::ZERO;
    for (i, &(sender, value, data)) in messages.iter().enumerate() {
        acc = chain_step(acc, sender, value, data, TIMESTAMP);
        let call = MessageInbox::postMessageCall { data: Bytes::copy_from_slice(data) };
        let Outcome::Success { output, logs } = node.send(sender, value, call.abi_encode()) else {
            panic!("postMessage #{i} reverted");
        };

        let ret = MessageInbox::postMessageCall::abi_decode_returns(&output).unwrap();
        assert_eq!((ret.index, ret.acc), (U256::from(i), acc), "return value of message #{i}");

        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].topics()[0], MessageInbox::MessagePosted::SIGNATURE_HASH);
        let log = MessageInbox::MessagePosted::decode_log(&logs[0]).unwrap();
        assert_eq!(log.address, node.inbox);
        assert_eq!(
            log.data,
            MessageInbox::MessagePosted {
                index: U256::from(i),
                sender,
                value,
                data: Bytes::copy_from_slice(data),
                acc,
            }
        );

        let stored = node.view(MessageInbox::accumulatorAtCall { index: U256::from(i) });
        assert_eq!(stored, acc);
    }
    assert_eq!(node.view(MessageInbox::messageCountCall {}), U256::from(3));
    assert_eq!(node.view(MessageInbox::accumulatorCall {}), acc);
}

#[test]
fn reverts_decode_to_custom_errors() {
    let mut node = Chain::new();
    use MessageInbox::MessageInboxErrors as E;

    let too_large = MessageInbox::postMessageCall { data: vec![0xff; 65_537].into() };
    let err = node.revert_error(ALICE, U256::from(5), too_large.abi_encode());
    assert_eq!(
        err,
        E::MessageTooLarge(MessageInbox::MessageTooLarge {
            size: U256::from(65_537),
            max: U256::from(65_536),
        })
    );

    let empty = MessageInbox::postMessageCall { data: Bytes::new() };
    assert_eq!(
        node.revert_error(ALICE, U256::ZERO, empty.abi_encode()),
        E::EmptyMessage(MessageInbox::EmptyMessage {})
    );

    let out_of_range = MessageInbox::accumulatorAtCall { index: U256::ZERO };
    assert_eq!(
        node.revert_error(BOB, U256::ZERO, out_of_range.abi_encode()),
        E::IndexOutOfRange(MessageInbox::IndexOutOfRange { index: U256::ZERO, count: U256::ZERO })
    );

    // The single-error type decodes the same payload directly.
    let Outcome::Revert(data) = node.send(ALICE, U256::ZERO, too_large.abi_encode()) else {
        panic!("expected a revert");
    };
    let err = MessageInbox::MessageTooLarge::abi_decode(&data).unwrap();
    assert_eq!((err.size, err.max), (U256::from(65_537), U256::from(65_536)));

    // Nothing was appended.
    assert_eq!(node.view(MessageInbox::messageCountCall {}), U256::ZERO);
}
