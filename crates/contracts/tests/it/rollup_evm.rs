//! `Bridge` + `Rollup` (+ `TestToken`) against their real bytecode in an in-process EVM (revm,
//! Prague rules): deploy and wire them, deposit, append a batch, propose an output, claim
//! withdrawals after the challenge window, decode every event and revert with the bindings, and
//! measure what `appendBatch` costs for a 1,000-transfer batch in a real transaction (including the
//! EIP-7623 calldata floor). Hashes are recomputed in Rust from docs/rollup.md.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, address, keccak256};
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolInterface, SolValue};
use ply_contracts::{Bridge, Contract, Rollup, TestToken};
use revm::context::result::{ExecutionResult, Output, ResultGas};
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};

const DEPLOYER: Address = address!("0x00000000000000000000000000000000000de910");
const SEQUENCER: Address = address!("0x00000000000000000000000000000000000005e0");
const PROPOSER: Address = address!("0x0000000000000000000000000000000000009809");
const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = address!("0x00000000000000000000000000000000000ca201");

const T0: u64 = 1_700_000_000;
const ONE_ETH: u128 = 1_000_000_000_000_000_000;
const BOND: u128 = ONE_ETH;
const WINDOW: u64 = 7 * 24 * 3600;
const DEADLINE: u64 = 24 * 3600;
const L2_CHAIN_ID: u64 = 901;
const WITHDRAWAL_DEPTH: usize = 16;

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
    rollup: Address,
    token: Address,
}

impl L1 {
    fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        for who in [DEPLOYER, SEQUENCER, PROPOSER, ALICE, BOB] {
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
        let mut l1 =
            Self { evm, bridge: Address::ZERO, rollup: Address::ZERO, token: Address::ZERO };

        l1.bridge = l1.deploy(Contract::Bridge, Vec::new());
        let args = Rollup::constructorCall {
            bridge_: l1.bridge,
            sequencer_: SEQUENCER,
            proposer_: PROPOSER,
            bond_: U256::from(BOND),
            challengeWindow_: WINDOW,
            inclusionDeadline_: DEADLINE,
            l2ChainId_: L2_CHAIN_ID,
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

    fn deposit_eth(&mut self, from: Address, to: Address, amount: u128) -> Bridge::DepositQueued {
        let logs = self.call(from, self.bridge, amount, Bridge::depositETHCall { to });
        assert_eq!(logs.len(), 1);
        Bridge::DepositQueued::decode_log(&logs[0]).unwrap().data
    }

    fn append_batch(&mut self, new_deposit_count: u64, data: &[u8]) -> Rollup::BatchAppended {
        let call = Rollup::appendBatchCall {
            newDepositCount: U256::from(new_deposit_count),
            data: Bytes::copy_from_slice(data),
        };
        let logs = self.call(SEQUENCER, self.rollup, 0, call);
        Rollup::BatchAppended::decode_log(&logs[0]).unwrap().data
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

/// docs/rollup.md: `keccak256(abi.encode(index, from, to, token, amount, timestamp))`.
fn deposit_hash(
    index: u64,
    from: Address,
    to: Address,
    token: u32,
    amount: U256,
    time: u64,
) -> B256 {
    keccak256((U256::from(index), from, to, token, amount, time).abi_encode_params())
}

/// docs/rollup.md: `keccak256(abi.encode(batchIndex, prevDepositCount, newDepositCount,
/// keccak256(data)))`.
fn batch_hash(batch: u64, prev: u64, new: u64, data: &[u8]) -> B256 {
    keccak256(
        (U256::from(batch), U256::from(prev), U256::from(new), keccak256(data)).abi_encode_params(),
    )
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
    assert_eq!(l1.view(bridge, Bridge::rollupCall {}), rollup);

    // Register the token.
    let logs = l1.call(ALICE, bridge, 0, Bridge::registerTokenCall { l1Token: token });
    let registered = Bridge::TokenRegistered::decode_log(&logs[0]).unwrap().data;
    assert_eq!(registered, Bridge::TokenRegistered { token: 1, l1Token: token });
    assert_eq!(l1.view(bridge, Bridge::tokenIdCall { l1Token: token }), 1);
    assert_eq!(l1.view(bridge, Bridge::tokenAddressCall { token: 1 }), token);

    // Deposit ETH and the token.
    let eth = U256::from(2 * ONE_ETH);
    let event = l1.deposit_eth(ALICE, BOB, 2 * ONE_ETH);
    assert_eq!(
        event,
        Bridge::DepositQueued {
            index: U256::ZERO,
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
    // The token's Transfer, then the bridge's DepositQueued.
    let transfer = TestToken::Transfer::decode_log(&logs[0]).unwrap().data;
    assert_eq!((transfer.from, transfer.to, transfer.value), (ALICE, bridge, U256::from(600)));
    let event = Bridge::DepositQueued::decode_log(&logs[1]).unwrap();
    assert_eq!(event.address, bridge);
    assert_eq!((event.index, event.token, event.timestamp), (U256::from(1), 1, T0 + 12));

    assert_eq!(l1.view(bridge, Bridge::depositCountCall {}), U256::from(2));
    assert_eq!(
        l1.view(bridge, Bridge::depositHashCall { index: U256::ZERO }),
        deposit_hash(0, ALICE, BOB, 0, eth, T0)
    );
    assert_eq!(
        l1.view(bridge, Bridge::depositHashCall { index: U256::from(1) }),
        deposit_hash(1, ALICE, CAROL, 1, U256::from(600), T0 + 12)
    );
    assert_eq!(l1.view(bridge, Bridge::depositTimestampCall { index: U256::from(1) }), T0 + 12);

    // Append a batch consuming both deposits.
    let data = [0x01u8, 0, 0, 0, 0];
    let appended = l1.append_batch(2, &data);
    assert_eq!(
        appended,
        Rollup::BatchAppended {
            batchIndex: U256::ZERO,
            prevDepositCount: U256::ZERO,
            newDepositCount: U256::from(2),
            dataHash: keccak256(data),
        }
    );
    assert_eq!(
        l1.view(rollup, Rollup::batchHashCall { batchIndex: U256::ZERO }),
        batch_hash(0, 0, 2, &data)
    );
    assert_eq!(l1.view(rollup, Rollup::consumedDepositsCall {}), U256::from(2));

    // Propose its output: two withdrawals to CAROL, in ETH and in the token.
    let withdrawals = [
        Withdrawal { batch: 0, index: 0, to: CAROL, token: 0, amount: U256::from(ONE_ETH / 4) },
        Withdrawal { batch: 0, index: 1, to: CAROL, token: 1, amount: U256::from(400) },
    ];
    let tree = WithdrawalTree::new(&withdrawals);
    let state_root = B256::repeat_byte(0x5a);
    let propose_at = T0 + 60;
    l1.set_time(propose_at);
    let call = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateRoot: state_root,
        withdrawalRoot: tree.root(),
    };
    let logs = l1.call(PROPOSER, rollup, BOND, call);
    let output_root = keccak256((state_root, tree.root()).abi_encode_params());
    assert_eq!(
        Rollup::OutputProposed::decode_log(&logs[0]).unwrap().data,
        Rollup::OutputProposed {
            batchIndex: U256::ZERO,
            outputRoot: output_root,
            stateRoot: state_root,
            withdrawalRoot: tree.root(),
            proposer: PROPOSER,
            proposedAt: propose_at,
        }
    );
    let output = l1.view(rollup, Rollup::outputCall { batchIndex: U256::ZERO });
    assert_eq!((output.outputRoot, output.proposedAt), (output_root, propose_at));

    // Not final yet: the Rollup's error comes back through the Bridge.
    let early = l1.revert(BOB, bridge, 0, claim_call(&withdrawals[0], tree.proof(0)));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&early).unwrap(),
        Rollup::RollupErrors::OutputNotFinal(Rollup::OutputNotFinal {
            batchIndex: U256::ZERO,
            finalAt: U256::from(propose_at + WINDOW),
        })
    );

    // Final: claims pay CAROL exactly, once.
    l1.set_time(propose_at + WINDOW);
    assert!(l1.view(rollup, Rollup::isFinalCall { batchIndex: U256::ZERO }));
    assert_eq!(l1.view(rollup, Rollup::finalizedOutputsCall {}), U256::from(1));
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

    // The proposer gets the bond back.
    let before = l1.balance(PROPOSER);
    let logs = l1.call(BOB, rollup, 0, Rollup::withdrawBondCall { batchIndex: U256::ZERO });
    let returned = Rollup::BondReturned::decode_log(&logs[0]).unwrap().data;
    assert_eq!((returned.proposer, returned.amount), (PROPOSER, U256::from(BOND)));
    assert_eq!(l1.balance(PROPOSER), before + U256::from(BOND));
}

#[test]
fn forced_inclusion_and_roles() {
    let mut l1 = L1::new();
    let rollup = l1.rollup;
    l1.deposit_eth(ALICE, ALICE, ONE_ETH); // deposit 0 at T0

    // Past the deadline, a batch that leaves deposit 0 unconsumed is refused...
    l1.set_time(T0 + DEADLINE + 1);
    let call = Rollup::appendBatchCall { newDepositCount: U256::ZERO, data: Bytes::new() };
    let overdue = l1.revert(SEQUENCER, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&overdue).unwrap(),
        Rollup::RollupErrors::DepositOverdue(Rollup::DepositOverdue { index: U256::ZERO })
    );
    // ...and one that consumes it is accepted.
    assert_eq!(l1.append_batch(1, b"\x01").newDepositCount, U256::from(1));

    // Only the sequencer appends; only the proposer proposes, with exactly the bond, in order.
    let call = Rollup::appendBatchCall { newDepositCount: U256::from(1), data: Bytes::new() };
    let refused = l1.revert(ALICE, rollup, 0, call);
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::NotSequencer(Rollup::NotSequencer {
            caller: ALICE,
            sequencer: SEQUENCER
        })
    );
    let propose = |batch: u64| Rollup::proposeOutputCall {
        batchIndex: U256::from(batch),
        stateRoot: B256::ZERO,
        withdrawalRoot: B256::ZERO,
    };
    let refused = l1.revert(PROPOSER, rollup, BOND - 1, propose(0));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::WrongBond(Rollup::WrongBond {
            value: U256::from(BOND - 1),
            bond: U256::from(BOND),
        })
    );
    let refused = l1.revert(PROPOSER, rollup, BOND, propose(1));
    assert_eq!(
        Rollup::RollupErrors::abi_decode(&refused).unwrap(),
        Rollup::RollupErrors::OutputOutOfOrder(Rollup::OutputOutOfOrder {
            batchIndex: U256::from(1),
            expected: U256::ZERO,
        })
    );
    l1.call(PROPOSER, rollup, BOND, propose(0));
    assert_eq!(l1.view(rollup, Rollup::outputCountCall {}), U256::from(1));
}

/// The cost of `appendBatch` with 1,000 transfers (79,000 bytes of incompressible data) in a real
/// Prague transaction, where the EIP-7623 calldata floor applies. Run with `--nocapture` to see
/// the figures.
#[test]
fn append_batch_gas_for_1000_transfers() {
    const TRANSFERS: u64 = 1000;
    let mut l1 = L1::new();
    // Steady state: earlier batches exist, and deposits stay queued after this batch.
    for _ in 0..20 {
        l1.deposit_eth(ALICE, BOB, ONE_ETH);
    }
    l1.append_batch(5, b"\x01");

    // Deterministic pseudo-random bytes (a Keccak stream).
    let mut data = Vec::with_capacity(79_000);
    let mut counter = 0u64;
    while data.len() < 79_000 {
        data.extend_from_slice(keccak256(counter.to_be_bytes()).as_slice());
        counter += 1;
    }
    data.truncate(79_000);

    let calldata =
        Rollup::appendBatchCall { newDepositCount: U256::from(15), data: data.clone().into() }
            .abi_encode();
    let zeros = calldata.iter().filter(|&&b| b == 0).count() as u64;
    let nonzeros = calldata.len() as u64 - zeros;
    let standard = 21_000 + 4 * zeros + 16 * nonzeros;
    let floor = 21_000 + 10 * (zeros + 4 * nonzeros);

    let Outcome::Success { logs, gas, .. } = l1.send(SEQUENCER, l1.rollup, 0, calldata.clone())
    else {
        panic!("appendBatch reverted");
    };
    let appended = Rollup::BatchAppended::decode_log(&logs[0]).unwrap().data;
    assert_eq!((appended.batchIndex, appended.dataHash), (U256::from(1), keccak256(&data)));

    let execution = gas.total_gas_spent() - standard;
    let used = gas.tx_gas_used();
    eprintln!("appendBatch, {TRANSFERS} transfers, {} bytes of batch data:", data.len());
    eprintln!("  tx calldata: {} bytes ({zeros} zero, {nonzeros} nonzero)", calldata.len());
    eprintln!("  execution gas:                     {execution}");
    eprintln!("  standard intrinsic gas:            {standard}");
    eprintln!("  EIP-7623 floor gas:                {floor}");
    eprintln!("  tx gas used (receipt):             {used}");
    eprintln!("  per transfer:                      {}", used / TRANSFERS);

    assert_eq!(gas.floor_gas(), floor, "revm's floor agrees with EIP-7623");
    assert_eq!(used, floor.max(standard + execution));
    assert_eq!(used, floor, "the calldata floor is what the batch pays");
    assert!(execution < 120_000, "appendBatch execution should stay small: {execution}");
    assert!(used <= 3_500 * TRANSFERS, "over 3,500 gas per transfer: {used}");
}
