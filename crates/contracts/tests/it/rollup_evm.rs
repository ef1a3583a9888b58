//! `Bridge` + `Rollup` (+ `TestToken`) against their real bytecode in an in-process EVM (revm,
//! Prague rules): deploy and wire them, deposit, append a batch, propose an output, claim
//! withdrawals after the challenge window, decode every event and revert with the bindings, and
//! measure what `appendBatch` costs for a 1,000-transfer batch in a real transaction (including the
//! EIP-7623 calldata floor). Hashes are recomputed in Rust from docs/rollup.md.

use std::collections::BTreeMap;

use alloy::primitives::aliases::U40;
use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, address, keccak256};
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolInterface, SolValue};
use ply_contracts::{Bridge, Contract, Rollup, StepExecutor, TestToken};
use revm::context::result::{ExecutionResult, Output, ResultGas};
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

const DEPLOYER: Address = address!("0x00000000000000000000000000000000000de910");
const GOVERNOR: Address = address!("0x0000000000000000000000000000000000060e12");
const SEQUENCER: Address = address!("0x00000000000000000000000000000000000005e0");
const PROPOSER: Address = address!("0x0000000000000000000000000000000000009809");
const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = address!("0x00000000000000000000000000000000000ca201");

const T0: u64 = 1_700_000_000;
const ONE_ETH: u128 = 1_000_000_000_000_000_000;
const BOND: u128 = ONE_ETH;
const CHALLENGER_BOND: u128 = ONE_ETH / 2;
const WINDOW: u64 = 7 * 24 * 3600;
const CLOCK: u64 = 7 * 12 * 3600;
const DEADLINE: u64 = 24 * 3600;
const SEQUENCER_TIMEOUT: u64 = 2 * 24 * 3600;
const L2_CHAIN_ID: u64 = 901;
const WITHDRAWAL_DEPTH: usize = 16;
const CHUNK: usize = 1024;
/// Any nonzero commitment: only the dispute game reads it (covered by the forge tests).
const GENESIS: B256 = B256::repeat_byte(0x9e);

const KIND_DEPOSIT: u8 = 0;
const KIND_FORCED_TRANSFER: u8 = 1;
const KIND_FORCED_WITHDRAWAL: u8 = 2;

type Evm = MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>;

/// What a transaction did, reduced to what the tests look at.
#[derive(Debug)]
enum Outcome {
    Success { output: Bytes, logs: Vec<Log>, gas: ResultGas },
    Revert(Bytes),
}

/// An L1 with funded accounts and the rollup contracts deployed and wired.
struct L1 {
    evm: Evm,
    bridge: Address,
    executor: Address,
    rollup: Address,
    token: Address,
}

impl L1 {
    fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        for who in [DEPLOYER, GOVERNOR, SEQUENCER, PROPOSER, ALICE, BOB] {
            db.insert_account_info(who, AccountInfo::from_balance(U256::from(1000 * ONE_ETH)));
        }
        let evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
                cfg.disable_nonce_check = true;
            })
            .modify_block_chained(|block| block.timestamp = U256::from(T0))
            .build_mainnet();
        let mut l1 = Self {
            evm,
            bridge: Address::ZERO,
            executor: Address::ZERO,
            rollup: Address::ZERO,
            token: Address::ZERO,
        };

        let args = Bridge::constructorCall { tokenGovernor_: GOVERNOR };
        l1.bridge = l1.deploy(Contract::Bridge, args.abi_encode());
        let args = StepExecutor::constructorCall {
            bridge_: l1.bridge,
            accountDepth_: U256::from(24),
            tokenDepth_: U256::from(8),
        };
        l1.executor = l1.deploy(Contract::StepExecutor, args.abi_encode());
        let args = Rollup::constructorCall {
            bridge_: l1.bridge,
            executor_: l1.executor,
            config: Rollup::Config {
                sequencer: SEQUENCER,
                proposerBond: U256::from(BOND),
                challengerBond: U256::from(CHALLENGER_BOND),
                challengeWindow: WINDOW,
                clockDuration: CLOCK,
                inclusionDeadline: DEADLINE,
                sequencerTimeout: SEQUENCER_TIMEOUT,
                l2ChainId: L2_CHAIN_ID,
                genesisStateCommitment: GENESIS,
            },
        };
        l1.rollup = l1.deploy(Contract::Rollup, args.abi_encode());
        let args = TestToken::constructorCall {
            name_: "Test".to_owned(),
            symbol_: "TST".to_owned(),
            decimals_: 18,
        };
        l1.token = l1.deploy(Contract::TestToken, args.abi_encode());

        let logs = l1.call(DEPLOYER, l1.bridge, 0, Bridge::initializeCall { rollup_: l1.rollup });
        assert_eq!(Bridge::Initialized::decode_log(&logs[0]).unwrap().rollup, l1.rollup);
        l1
    }

    fn deploy(&mut self, contract: Contract, args: Vec<u8>) -> Address {
        let mut code = contract.bytecode().to_vec();
        code.extend_from_slice(&args);
        let result = self
            .evm
            .transact_commit(tx(DEPLOYER, TxKind::Create, U256::ZERO, code.into()))
            .expect("deployment executes");
        let ExecutionResult::Success { output: Output::Create(runtime, Some(at)), .. } = result
        else {
            panic!("deploying {} failed: {result:?}", contract.name());
        };
        // Equal up to the immutables, which the constructor fills in (zeros in the artifact).
        assert_eq!(
            runtime.len(),
            contract.deployed_bytecode().len(),
            "{} runtime code",
            contract.name()
        );
        at
    }

    fn set_time(&mut self, timestamp: u64) {
        self.evm.ctx.modify_block(|block| block.timestamp = U256::from(timestamp));
    }

    fn balance(&self, who: Address) -> U256 {
        self.evm
            .ctx
            .journaled_state
            .database
            .cache
            .accounts
            .get(&who)
            .map_or(U256::ZERO, |a| a.info.balance)
    }

    fn send(&mut self, from: Address, to: Address, value: u128, calldata: Vec<u8>) -> Outcome {
        let tx = tx(from, TxKind::Call(to), U256::from(value), calldata.into());
        match self.evm.transact_commit(tx).expect("transaction executes") {
            ExecutionResult::Success { output, logs, gas, .. } => {
                Outcome::Success { output: output.into_data(), logs, gas }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(output),
            halt => panic!("transaction halted: {halt:?}"),
        }
    }

    /// Sends `call`, which must succeed; returns its logs.
    fn call<C: SolCall>(&mut self, from: Address, to: Address, value: u128, call: C) -> Vec<Log> {
        match self.send(from, to, value, call.abi_encode()) {
            Outcome::Success { logs, .. } => logs,
            Outcome::Revert(data) => panic!("{} reverted: {data}", C::SIGNATURE),
        }
    }

    /// Calls a view function, decoding its return value with the binding.
    fn view<C: SolCall>(&mut self, to: Address, call: C) -> C::Return {
        match self.send(BOB, to, 0, call.abi_encode()) {
            Outcome::Success { output, .. } => C::abi_decode_returns(&output).expect("return data"),
            Outcome::Revert(data) => panic!("{} reverted: {data}", C::SIGNATURE),
        }
    }

    /// Sends `call`, which must revert; returns the revert payload.
    fn revert<C: SolCall>(&mut self, from: Address, to: Address, value: u128, call: C) -> Bytes {
        match self.send(from, to, value, call.abi_encode()) {
            Outcome::Revert(data) => data,
            success => panic!("{} should revert, got {success:?}", C::SIGNATURE),
        }
    }

    /// Queues a priority operation with `call`; returns its `OperationQueued`.
    fn enqueue<C: SolCall>(
        &mut self,
        from: Address,
        value: u128,
        call: C,
    ) -> Bridge::OperationQueued {
        let logs = self.call(from, self.bridge, value, call);
        let queued = logs.iter().find_map(|log| Bridge::OperationQueued::decode_log(log).ok());
        queued.expect("OperationQueued").data
    }

    fn deposit_eth(&mut self, from: Address, to: Address, amount: u128) -> Bridge::OperationQueued {
        self.enqueue(from, amount, Bridge::depositETHCall { to })
    }

    fn append_batch(&mut self, new_queue_count: u64, data: &[u8]) -> Rollup::BatchAppended {
        self.append_batch_from(SEQUENCER, new_queue_count, data)
    }

    fn append_batch_from(
        &mut self,
        from: Address,
        new_queue_count: u64,
        data: &[u8],
    ) -> Rollup::BatchAppended {
        let call = Rollup::appendBatchCall {
            newQueueCount: U256::from(new_queue_count),
            data: Bytes::copy_from_slice(data),
        };
        let logs = self.call(from, self.rollup, 0, call);
        Rollup::BatchAppended::decode_log(&logs[0]).unwrap().data
    }

    fn propose(
        &mut self,
        from: Address,
        batch: u64,
        commitment: B256,
        withdrawal_root: B256,
    ) -> Rollup::OutputProposed {
        let call = Rollup::proposeOutputCall {
            batchIndex: U256::from(batch),
            stateCommitment: commitment,
            withdrawalRoot: withdrawal_root,
        };
        let logs = self.call(from, self.rollup, BOND, call);
        Rollup::OutputProposed::decode_log(&logs[0]).unwrap().data
    }
}

fn tx(from: Address, kind: TxKind, value: U256, data: Bytes) -> TxEnv {
    TxEnv::builder()
        .caller(from)
        .kind(kind)
        .value(value)
        .data(data)
        .gas_limit(16_000_000)
        .gas_price(0)
        .build_fill()
}

/// docs/rollup.md: `opHash(i) = keccak256(abi.encode(uint256 i, uint8 kind, address from,
/// address to, uint32 token, uint256 amount, uint64 timestamp))`.
fn op_hash(
    index: u64,
    kind: u8,
    from: Address,
    to: Address,
    token: u32,
    amount: U256,
    time: u64,
) -> B256 {
    // A `uint8` is one word, like a `uint256`.
    keccak256(
        (U256::from(index), U256::from(kind), from, to, token, amount, time).abi_encode_params(),
    )
}

/// docs/rollup.md, "Batch data commitment": leaves `keccak256` of the 1,024-byte chunks (the
/// last one shorter), zero leaves up to the next power of two, a binary Keccak tree; 0 for empty
/// data.
fn data_root(data: &[u8]) -> B256 {
    if data.is_empty() {
        return B256::ZERO;
    }
    let mut nodes: Vec<B256> = data.chunks(CHUNK).map(keccak256).collect();
    nodes.resize(nodes.len().next_power_of_two(), B256::ZERO);
    while nodes.len() > 1 {
        nodes = nodes.chunks(2).map(|pair| keccak256([pair[0], pair[1]].concat())).collect();
    }
    nodes[0]
}

/// docs/rollup.md: `keccak256(abi.encode(uint256 b, uint256 prevQueueCount, uint256
/// newQueueCount, bytes32 dataRoot, uint256 dataLength))`.
fn batch_hash(batch: u64, prev: u64, new: u64, data: &[u8]) -> B256 {
    keccak256(
        (
            U256::from(batch),
            U256::from(prev),
            U256::from(new),
            data_root(data),
            U256::from(data.len()),
        )
            .abi_encode_params(),
    )
}

/// docs/rollup.md: `outputRoot = keccak256(abi.encode(stateCommitment, withdrawalRoot))`.
fn output_root(commitment: B256, withdrawal_root: B256) -> B256 {
    keccak256((commitment, withdrawal_root).abi_encode_params())
}

/// Deterministic pseudo-random bytes (a Keccak stream).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(len + 32);
    let mut counter = seed << 32;
    while data.len() < len {
        data.extend_from_slice(keccak256(counter.to_be_bytes()).as_slice());
        counter += 1;
    }
    data.truncate(len);
    data
}

/// A withdrawal: (batch, leaf index, to, token, amount).
#[derive(Clone, Copy)]
struct Withdrawal {
    batch: u64,
    index: u64,
    to: Address,
    token: u32,
    amount: U256,
}

impl Withdrawal {
    fn leaf(&self) -> B256 {
        keccak256(
            (U256::from(self.batch), U256::from(self.index), self.to, self.token, self.amount)
                .abi_encode_params(),
        )
    }
}

/// The depth-16 sparse Keccak withdrawal tree, computed directly from its definition.
struct WithdrawalTree {
    leaves: BTreeMap<u64, B256>,
    empty: Vec<B256>,
}

impl WithdrawalTree {
    fn new(withdrawals: &[Withdrawal]) -> Self {
        let mut empty = vec![B256::ZERO];
        for level in 0..WITHDRAWAL_DEPTH {
            empty.push(keccak256([empty[level].as_slice(), empty[level].as_slice()].concat()));
        }
        Self { leaves: withdrawals.iter().map(|w| (w.index, w.leaf())).collect(), empty }
    }

    fn node(&self, level: usize, index: u64) -> B256 {
        let (first, end) = (index << level, (index + 1) << level);
        if self.leaves.range(first..end).next().is_none() {
            return self.empty[level];
        }
        if level == 0 {
            return self.leaves[&index];
        }
        let (left, right) = (self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1));
        keccak256([left.as_slice(), right.as_slice()].concat())
    }

    fn root(&self) -> B256 {
        self.node(WITHDRAWAL_DEPTH, 0)
    }

    fn proof(&self, index: u64) -> Vec<B256> {
        (0..WITHDRAWAL_DEPTH).map(|level| self.node(level, (index >> level) ^ 1)).collect()
    }
}

fn claim_call(w: &Withdrawal, proof: Vec<B256>) -> Bridge::claimWithdrawalCall {
    Bridge::claimWithdrawalCall {
        batchIndex: U256::from(w.batch),
        leafIndex: U256::from(w.index),
        to: w.to,
        token: w.token,
        amount: w.amount,
        proof,
    }
}

#[test]
fn deposit_batch_output_and_claims() {
    let mut l1 = L1::new();
    let (bridge, rollup, token) = (l1.bridge, l1.rollup, l1.token);
    assert_eq!(l1.view(rollup, Rollup::bridgeCall {}), bridge);
    assert_eq!(l1.view(rollup, Rollup::executorCall {}), l1.executor);
    assert_eq!(l1.view(rollup, Rollup::genesisStateCommitmentCall {}), GENESIS);
    assert_eq!(l1.view(l1.executor, StepExecutor::bridgeCall {}), bridge);
    assert_eq!(l1.view(l1.executor, StepExecutor::accountDepthCall {}), U256::from(24));
    assert_eq!(l1.view(l1.executor, StepExecutor::tokenDepthCall {}), U256::from(8));
    assert_eq!(l1.view(bridge, Bridge::rollupCall {}), rollup);
    assert_eq!(l1.view(bridge, Bridge::tokenGovernorCall {}), GOVERNOR);

    // Only the token governor registers tokens.
    let refused = l1.revert(ALICE, bridge, 0, Bridge::registerTokenCall { token });
    assert_eq!(
        Bridge::BridgeErrors::abi_decode(&refused).unwrap(),
        Bridge::BridgeErrors::NotTokenGovernor(Bridge::NotTokenGovernor { caller: ALICE })
    );
    let logs = l1.call(GOVERNOR, bridge, 0, Bridge::registerTokenCall { token });
    let registered = Bridge::TokenRegistered::decode_log(&logs[0]).unwrap().data;
    assert_eq!(registered, Bridge::TokenRegistered { id: 1, token });
    assert_eq!(l1.view(bridge, Bridge::tokenIdCall { token }), 1);
    assert_eq!(l1.view(bridge, Bridge::tokenAddressCall { id: 1 }), token);

    // Deposit ETH and the token.
    let eth = U256::from(2 * ONE_ETH);
    let event = l1.deposit_eth(ALICE, BOB, 2 * ONE_ETH);
    assert_eq!(
        event,
        Bridge::OperationQueued {
            index: U256::ZERO,
            kind: KIND_DEPOSIT,
            from: ALICE,
            to: BOB,
            token: 0,
            amount: eth,
            timestamp: T0,
        }
    );
    l1.call(ALICE, token, 0, TestToken::mintCall { to: ALICE, amount: U256::from(1000) });
    l1.call(ALICE, token, 0, TestToken::approveCall { spender: bridge, amount: U256::from(1000) });
    l1.set_time(T0 + 12);
    let call = Bridge::depositERC20Call { l1Token: token, to: CAROL, amount: U256::from(600) };
    let logs = l1.call(ALICE, bridge, 0, call);
    // The token's Transfer, then the bridge's OperationQueued.
    let transfer = TestToken::Transfer::decode_log(&logs[0]).unwrap().data;
    assert_eq!((transfer.from, transfer.to, transfer.value), (ALICE, bridge, U256::from(600)));
    let event = Bridge::OperationQueued::decode_log(&logs[1]).unwrap();
    assert_eq!(event.address, bridge);
    assert_eq!(
        (event.index, event.kind, event.token, event.timestamp),
        (U256::from(1), KIND_DEPOSIT, 1, T0 + 12)
    );

    assert_eq!(l1.view(bridge, Bridge::queueLengthCall {}), U256::from(2));
    assert_eq!(
        l1.view(bridge, Bridge::operationHashCall { index: U256::ZERO }),
        op_hash(0, KIND_DEPOSIT, ALICE, BOB, 0, eth, T0)
    );
    assert_eq!(
        l1.view(bridge, Bridge::operationHashCall { index: U256::from(1) }),
        op_hash(1, KIND_DEPOSIT, ALICE, CAROL, 1, U256::from(600), T0 + 12)
    );
    assert_eq!(l1.view(bridge, Bridge::operationTimestampCall { index: U256::from(1) }), T0 + 12);
    let missing = l1.revert(BOB, bridge, 0, Bridge::operationHashCall { index: U256::from(2) });
    assert_eq!(
        Bridge::BridgeErrors::abi_decode(&missing).unwrap(),
        Bridge::BridgeErrors::OperationIndexOutOfRange(Bridge::OperationIndexOutOfRange {
            index: U256::from(2),
            count: U256::from(2),
        })
    );

    // Append a batch consuming both operations; its data spans three chunks (a four-leaf tree).
    let data = noise(2 * CHUNK + 100, 1);
    let appended = l1.append_batch(2, &data);
    assert_eq!(
        appended,
        Rollup::BatchAppended {
            batchIndex: U256::ZERO,
            prevQueueCount: U256::ZERO,
            newQueueCount: U256::from(2),
            dataRoot: data_root(&data),
            dataLength: U256::from(data.len()),
        }
    );
    assert_ne!(data_root(&data), keccak256(&data));
    assert_eq!(
        l1.view(rollup, Rollup::batchHashCall { batchIndex: U256::ZERO }),
        batch_hash(0, 0, 2, &data)
    );
    assert_eq!(l1.view(rollup, Rollup::consumedOperationsCall {}), U256::from(2));
    assert_eq!(l1.view(rollup, Rollup::batchCountCall {}), U256::from(1));
    assert_eq!(l1.view(rollup, Rollup::lastBatchAtCall {}), U256::from(T0 + 12));

    // Propose its output (anyone may, with the bond): two withdrawals to CAROL, in ETH and in
    // the token.
    let withdrawals = [
        Withdrawal { batch: 0, index: 0, to: CAROL, token: 0, amount: U256::from(ONE_ETH / 4) },
        Withdrawal { batch: 0, index: 1, to: CAROL, token: 1, amount: U256::from(400) },
    ];
    let tree = WithdrawalTree::new(&withdrawals);
    let commitment = B256::repeat_byte(0x5a);
    let propose_at = T0 + 60;
    l1.set_time(propose_at);
    let proposed = l1.propose(PROPOSER, 0, commitment, tree.root());
    let root = output_root(commitment, tree.root());
    assert_eq!(
        proposed,
        Rollup::OutputProposed {
            batchIndex: U256::ZERO,
            outputId: 1,
            outputRoot: root,
            stateCommitment: commitment,
            withdrawalRoot: tree.root(),
            proposer: PROPOSER,
        }
    );
    let output = l1.view(rollup, Rollup::outputCall { batchIndex: U256::ZERO });
    assert_eq!(
        (output.stateCommitment, output.withdrawalRoot, output.proposer, output.proposedAt),
        (commitment, tree.root(), PROPOSER, U40::from(propose_at))
    );
    assert_eq!(l1.view(rollup, Rollup::outputRootCall { batchIndex: U256::ZERO }), root);
    assert_eq!(l1.view(rollup, Rollup::outputCountCall {}), U256::from(1));

    // Not final yet: the Rollup's error comes back through the Bridge.
    assert!(!l1.view(rollup, Rollup::isFinalCall { batchIndex: U256::ZERO }));
    let early = l1.revert(BOB, bridge, 0, claim_call(&withdrawals[0], tree.proof(0)));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&early).unwrap(),
        Rollup::RollupErrors::OutputNotFinal(Rollup::OutputNotFinal { batchIndex: U256::ZERO })
    );
    let early = l1.revert(BOB, rollup, 0, Rollup::withdrawBondCall { batchIndex: U256::ZERO });
    assert!(matches!(
        Rollup::RollupErrors::abi_decode(&early).unwrap(),
        Rollup::RollupErrors::OutputNotFinal(_)
    ));

    // Final after the window (no game against it): `isFinal` says so at once, the cached prefix
    // moves with `advanceFinality`; claims pay CAROL exactly, once.
    l1.set_time(propose_at + WINDOW);
    assert!(l1.view(rollup, Rollup::isFinalCall { batchIndex: U256::ZERO }));
    assert!(!l1.view(rollup, Rollup::isFinalCall { batchIndex: U256::from(1) }));
    assert_eq!(l1.view(rollup, Rollup::finalizedCountCall {}), U256::ZERO);
    l1.call(BOB, rollup, 0, Rollup::advanceFinalityCall { maxOutputs: U256::from(10) });
    assert_eq!(l1.view(rollup, Rollup::finalizedCountCall {}), U256::from(1));
    assert_eq!(
        l1.view(rollup, Rollup::finalizedWithdrawalRootCall { batchIndex: U256::ZERO }),
        tree.root()
    );
    for w in &withdrawals {
        let logs = l1.call(BOB, bridge, 0, claim_call(w, tree.proof(w.index)));
        let claimed = logs
            .iter()
            .find_map(|log| Bridge::WithdrawalClaimed::decode_log(log).ok())
            .expect("WithdrawalClaimed");
        assert_eq!(
            claimed.data,
            Bridge::WithdrawalClaimed {
                batchIndex: U256::ZERO,
                leafIndex: U256::from(w.index),
                to: CAROL,
                token: w.token,
                amount: w.amount,
            }
        );
        let call = Bridge::isClaimedCall { batchIndex: U256::ZERO, leafIndex: U256::from(w.index) };
        assert!(l1.view(bridge, call));
        let again = l1.revert(BOB, bridge, 0, claim_call(w, tree.proof(w.index)));
        assert_eq!(
            Bridge::BridgeErrors::abi_decode(&again).unwrap(),
            Bridge::BridgeErrors::AlreadyClaimed(Bridge::AlreadyClaimed {
                batchIndex: U256::ZERO,
                leafIndex: U256::from(w.index),
            })
        );
    }
    assert_eq!(l1.balance(CAROL), U256::from(ONE_ETH / 4));
    assert_eq!(l1.view(token, TestToken::balanceOfCall { account: CAROL }), U256::from(400));
    assert_eq!(l1.balance(bridge), eth - U256::from(ONE_ETH / 4));

    // A tampered claim is refused.
    let mut wrong = withdrawals[0];
    wrong.index = 2;
    let bad = l1.revert(BOB, bridge, 0, claim_call(&wrong, tree.proof(0)));
    assert!(matches!(
        Bridge::BridgeErrors::abi_decode(&bad).unwrap(),
        Bridge::BridgeErrors::InvalidProof(_)
    ));

    // The proposer gets the bond back (anyone may trigger it), once.
    let before = l1.balance(PROPOSER);
    let logs = l1.call(BOB, rollup, 0, Rollup::withdrawBondCall { batchIndex: U256::ZERO });
    let returned = Rollup::BondReturned::decode_log(&logs[0]).unwrap().data;
    assert_eq!(
        returned,
        Rollup::BondReturned {
            batchIndex: U256::ZERO,
            proposer: PROPOSER,
            amount: U256::from(BOND),
        }
    );
    assert_eq!(l1.balance(PROPOSER), before + U256::from(BOND));
    let again = l1.revert(BOB, rollup, 0, Rollup::withdrawBondCall { batchIndex: U256::ZERO });
    assert!(matches!(
        Rollup::RollupErrors::abi_decode(&again).unwrap(),
        Rollup::RollupErrors::BondNotHeld(_)
    ));
}

#[test]
fn forced_inclusion_and_roles() {
    let mut l1 = L1::new();
    let (bridge, rollup) = (l1.bridge, l1.rollup);
    l1.deposit_eth(ALICE, ALICE, ONE_ETH); // operation 0 at T0

    // Forced operations are queued like deposits, from the L1 sender, with no ETH.
    l1.set_time(T0 + 5);
    let amount = U256::from(ONE_ETH / 2);
    let call = Bridge::forceWithdrawalCall { to: CAROL, token: 0, amount };
    let queued = l1.enqueue(ALICE, 0, call);
    assert_eq!(
        queued,
        Bridge::OperationQueued {
            index: U256::from(1),
            kind: KIND_FORCED_WITHDRAWAL,
            from: ALICE,
            to: CAROL,
            token: 0,
            amount,
            timestamp: T0 + 5,
        }
    );
    let call = Bridge::forceTransferCall { to: BOB, token: 0, amount: U256::from(7) };
    let queued = l1.enqueue(ALICE, 0, call);
    assert_eq!((queued.index, queued.kind), (U256::from(2), KIND_FORCED_TRANSFER));
    assert_eq!(
        l1.view(bridge, Bridge::operationHashCall { index: U256::from(1) }),
        op_hash(1, KIND_FORCED_WITHDRAWAL, ALICE, CAROL, 0, amount, T0 + 5)
    );
    assert_eq!(
        l1.view(bridge, Bridge::operationHashCall { index: U256::from(2) }),
        op_hash(2, KIND_FORCED_TRANSFER, ALICE, BOB, 0, U256::from(7), T0 + 5)
    );
    let zero = Bridge::forceTransferCall { to: BOB, token: 0, amount: U256::ZERO };
    let refused = l1.revert(ALICE, bridge, 0, zero);
    assert_eq!(
        Bridge::BridgeErrors::abi_decode(&refused).unwrap(),
        Bridge::BridgeErrors::ZeroAmount(Bridge::ZeroAmount {})
    );

    // The queue count can neither pass the queue nor go back.
    let call = Rollup::appendBatchCall { newQueueCount: U256::from(4), data: Bytes::new() };
    let refused = l1.revert(SEQUENCER, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::QueueCountTooHigh(Rollup::QueueCountTooHigh {
            newQueueCount: U256::from(4),
            queued: U256::from(3),
        })
    );

    // Past the deadline, a batch that leaves operation 0 unconsumed is refused...
    l1.set_time(T0 + DEADLINE + 1);
    let call = Rollup::appendBatchCall { newQueueCount: U256::ZERO, data: Bytes::new() };
    let overdue = l1.revert(SEQUENCER, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&overdue).unwrap(),
        Rollup::RollupErrors::OperationOverdue(Rollup::OperationOverdue { index: U256::ZERO })
    );
    // ...and so is one that stops before the forced operations (queued 5 s later, also overdue
    // at T0 + DEADLINE + 6)...
    l1.set_time(T0 + DEADLINE + 6);
    let call = Rollup::appendBatchCall { newQueueCount: U256::from(1), data: Bytes::new() };
    let overdue = l1.revert(SEQUENCER, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&overdue).unwrap(),
        Rollup::RollupErrors::OperationOverdue(Rollup::OperationOverdue { index: U256::from(1) })
    );
    // ...while one that consumes them all is accepted.
    let appended = l1.append_batch(3, b"\x01");
    assert_eq!((appended.newQueueCount, appended.dataRoot), (U256::from(3), keccak256(b"\x01")));
    let call = Rollup::appendBatchCall { newQueueCount: U256::from(2), data: Bytes::new() };
    let refused = l1.revert(SEQUENCER, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::QueueCountDecreased(Rollup::QueueCountDecreased {
            newQueueCount: U256::from(2),
            prevQueueCount: U256::from(3),
        })
    );

    // Only the sequencer appends until `sequencerTimeout` has passed since the last batch...
    let last = T0 + DEADLINE + 6;
    let call = Rollup::appendBatchCall { newQueueCount: U256::from(3), data: Bytes::new() };
    let refused = l1.revert(ALICE, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::NotSequencer(Rollup::NotSequencer {
            caller: ALICE,
            openAt: U256::from(last + SEQUENCER_TIMEOUT),
        })
    );
    // ...then anyone may (an empty batch has data root 0).
    l1.set_time(last + SEQUENCER_TIMEOUT + 1);
    let appended = l1.append_batch_from(ALICE, 3, b"");
    assert_eq!(
        appended,
        Rollup::BatchAppended {
            batchIndex: U256::from(1),
            prevQueueCount: U256::from(3),
            newQueueCount: U256::from(3),
            dataRoot: B256::ZERO,
            dataLength: U256::ZERO,
        }
    );
    assert_eq!(
        l1.view(rollup, Rollup::batchHashCall { batchIndex: U256::from(1) }),
        batch_hash(1, 3, 3, b"")
    );

    // Anyone proposes, with exactly the bond, in order, for an appended batch.
    let propose = |batch: u64| Rollup::proposeOutputCall {
        batchIndex: U256::from(batch),
        stateCommitment: B256::ZERO,
        withdrawalRoot: B256::ZERO,
    };
    let refused = l1.revert(BOB, rollup, BOND - 1, propose(0));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::WrongBond(Rollup::WrongBond {
            value: U256::from(BOND - 1),
            bond: U256::from(BOND),
        })
    );
    let refused = l1.revert(BOB, rollup, BOND, propose(1));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::OutputOutOfOrder(Rollup::OutputOutOfOrder {
            batchIndex: U256::from(1),
            expected: U256::ZERO,
        })
    );
    assert_eq!(l1.propose(BOB, 0, B256::ZERO, B256::ZERO).proposer, BOB);
    assert_eq!(l1.propose(ALICE, 1, B256::ZERO, B256::ZERO).outputId, 2);
    let refused = l1.revert(BOB, rollup, BOND, propose(2));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::BatchNotAppended(Rollup::BatchNotAppended {
            batchIndex: U256::from(2),
            batchCount: U256::from(2),
        })
    );
    assert_eq!(l1.view(rollup, Rollup::outputCountCall {}), U256::from(2));
}

/// The cost of `appendBatch` with 1,000 transfers (79,000 bytes of incompressible data, 78
/// chunks) in a real Prague transaction, where the EIP-7623 calldata floor applies, and of
/// `appendBatchAndPropose` for the same data. Run with `--nocapture` to see the figures.
#[test]
fn append_batch_gas_for_1000_transfers() {
    const TRANSFERS: u64 = 1000;
    const LEN: usize = 79_000;
    let mut l1 = L1::new();
    // Steady state: earlier batches and outputs exist, and operations stay queued after this
    // batch.
    for _ in 0..20 {
        l1.deposit_eth(ALICE, BOB, ONE_ETH);
    }
    l1.append_batch(5, b"\x01");
    l1.propose(PROPOSER, 0, B256::repeat_byte(1), B256::repeat_byte(2));

    let measure = |name: &str, calldata: &[u8], gas: &ResultGas| -> (u64, u64) {
        let zeros = calldata.iter().filter(|&&b| b == 0).count() as u64;
        let nonzeros = calldata.len() as u64 - zeros;
        let standard = 21_000 + 4 * zeros + 16 * nonzeros;
        let floor = 21_000 + 10 * (zeros + 4 * nonzeros);
        let execution = gas.total_gas_spent() - standard;
        let used = gas.tx_gas_used();
        eprintln!("{name}, {TRANSFERS} transfers, {LEN} bytes of batch data:");
        eprintln!("  tx calldata: {} bytes ({zeros} zero, {nonzeros} nonzero)", calldata.len());
        eprintln!("  execution gas:                     {execution}");
        eprintln!("  standard intrinsic gas:            {standard}");
        eprintln!("  EIP-7623 floor gas:                {floor}");
        eprintln!("  tx gas used (receipt):             {used}");
        eprintln!("  per transfer:                      {}", used / TRANSFERS);
        assert_eq!(gas.floor_gas(), floor, "revm's floor agrees with EIP-7623");
        assert_eq!(used, floor.max(standard + execution));
        assert_eq!(used, floor, "the calldata floor is what the batch pays");
        assert!(used <= 3_500 * TRANSFERS, "over 3,500 gas per transfer: {used}");
        (execution, used)
    };

    let data = noise(LEN, 2);
    let calldata =
        Rollup::appendBatchCall { newQueueCount: U256::from(15), data: data.clone().into() }
            .abi_encode();
    let Outcome::Success { logs, gas, .. } = l1.send(SEQUENCER, l1.rollup, 0, calldata.clone())
    else {
        panic!("appendBatch reverted");
    };
    let appended = Rollup::BatchAppended::decode_log(&logs[0]).unwrap().data;
    assert_eq!(
        (appended.batchIndex, appended.dataRoot, appended.dataLength),
        (U256::from(1), data_root(&data), U256::from(LEN))
    );
    let (execution, used) = measure("appendBatch", &calldata, &gas);
    assert!(execution < 150_000, "appendBatch execution should stay small: {execution}");

    // The same batch data again, with its output in the same transaction (batch 1's output
    // first: outputs are proposed in order).
    l1.propose(PROPOSER, 1, B256::repeat_byte(3), B256::repeat_byte(4));
    let calldata = Rollup::appendBatchAndProposeCall {
        newQueueCount: U256::from(15),
        data: data.clone().into(),
        stateCommitment: B256::repeat_byte(5),
        withdrawalRoot: B256::repeat_byte(6),
    }
    .abi_encode();
    let Outcome::Success { logs, gas, .. } = l1.send(SEQUENCER, l1.rollup, BOND, calldata.clone())
    else {
        panic!("appendBatchAndPropose reverted");
    };
    let appended = Rollup::BatchAppended::decode_log(&logs[0]).unwrap().data;
    assert_eq!((appended.batchIndex, appended.dataRoot), (U256::from(2), data_root(&data)));
    let proposed = Rollup::OutputProposed::decode_log(&logs[1]).unwrap().data;
    assert_eq!(
        (proposed.batchIndex, proposed.outputRoot),
        (U256::from(2), output_root(B256::repeat_byte(5), B256::repeat_byte(6)))
    );
    let (execution_both, used_both) = measure("appendBatchAndPropose", &calldata, &gas);
    assert!(execution_both > execution, "{execution_both} vs {execution}");
    // The output's execution hides under the floor: the extra cost is only the floor price of
    // the two extra calldata words (at most 40 gas a byte).
    assert!(
        used_both - used <= 40 * 64,
        "the output should hide under the calldata floor: {used_both} vs {used}"
    );
}
