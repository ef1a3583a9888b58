//! The witness recorder against the real L1 referee: the `StepExecutor` deployed on the
//! embedded L1 (with a real `Bridge` holding the queued operations) executes every step of
//! batches covering every kind of step, from the recorder's pre-state and witness, and must
//! reach the trace's next step hash (`docs/rollup.md`, "The one-step witness").

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolConstructor, SolInterface, SolValue},
};
use ply_contracts::{Bridge, Contract, StepExecutor, TestToken};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use ply_ledger::{
    KeccakHasher, Ledger, LedgerConfig, MAX_BALANCE, OpKind, PriorityOp, SigningDomain, Transfer,
    Tx, Withdrawal,
};
use ply_rollup::{
    batch::{self, BatchBlock, BatchTx, Recipient},
    fraud::{
        BatchData, BatchInput, Phase, StepContext, StepEvent, StepMachine, StepProof, StepState,
        StepWitness, Trace, VerifySignatures, step_hash,
    },
};
use std::sync::Arc;

const CHAIN_ID: u64 = 901;
const ETHER: u64 = 1_000_000_000_000_000_000;

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER)
}

fn key(i: usize) -> PrivateKeySigner {
    dev_signer(i).unwrap()
}

fn addr(i: usize) -> Address {
    key(i).address()
}

/// The rollup address of the signing domain (the executor only sees the separator).
fn domain() -> SigningDomain {
    SigningDomain::new(CHAIN_ID, Address::repeat_byte(0x42))
}

/// The embedded L1 with a Bridge (wired to the first executor, whose `bridge()` is it) and two
/// executors: the small layout of the every-kind batches and the production one.
struct L1 {
    client: DynL1Client,
    bridge: Address,
    /// Depths 4 and 2.
    small: Address,
    /// Depths 24 and 8.
    large: Address,
    token: Address,
    senders: Vec<TxSender>,
}

impl L1 {
    async fn new() -> Self {
        let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
        let senders: Vec<TxSender> =
            (0..6).map(|i| TxSender::new(client.clone(), key(i))).collect();
        let deployer = &senders[0];
        let deploy = |code: &Bytes, args: Vec<u8>| {
            let mut code = code.to_vec();
            code.extend(args);
            deployer.deploy(code.into())
        };
        let bridge = deploy(
            Contract::Bridge.bytecode(),
            Bridge::constructorCall { tokenGovernor_: deployer.address() }.abi_encode(),
        )
        .await
        .unwrap();
        let executor = |account_depth: u64, token_depth: u64| {
            StepExecutor::constructorCall {
                bridge_: bridge,
                accountDepth_: U256::from(account_depth),
                tokenDepth_: U256::from(token_depth),
            }
            .abi_encode()
        };
        let small = deploy(Contract::StepExecutor.bytecode(), executor(4, 2)).await.unwrap();
        let large = deploy(Contract::StepExecutor.bytecode(), executor(24, 8)).await.unwrap();
        let token = deploy(
            Contract::TestToken.bytecode(),
            TestToken::constructorCall {
                name_: "Test Token".into(),
                symbol_: "TT".into(),
                decimals_: 18,
            }
            .abi_encode(),
        )
        .await
        .unwrap();
        let l1 = Self { client, bridge, small, large, token, senders };
        // The executor stands in for the rollup: `initialize` only asks `bridge()` of it.
        l1.send(0, bridge, Bridge::initializeCall { rollup_: small }, U256::ZERO).await;
        l1.send(0, bridge, Bridge::registerTokenCall { token }, U256::ZERO).await;
        let plenty = MAX_BALANCE * U256::from(4u64);
        l1.send(0, token, TestToken::mintCall { to: addr(0), amount: plenty }, U256::ZERO).await;
        l1.send(0, token, TestToken::approveCall { spender: bridge, amount: plenty }, U256::ZERO)
            .await;
        l1
    }

    async fn send(
        &self,
        from: usize,
        to: Address,
        call: impl SolCall,
        value: U256,
    ) -> TransactionReceipt {
        let req = TransactionRequest::default().to(to).value(value).input(call.abi_encode().into());
        self.senders[from].send_and_check(req).await.unwrap()
    }

    /// Queues an operation through the Bridge and returns it as the queue stores it.
    async fn queue(&self, from: usize, call: impl SolCall, value: U256) -> PriorityOp {
        let receipt = self.send(from, self.bridge, call, value).await;
        let log = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| log.log_decode::<Bridge::OperationQueued>().ok())
            .expect("the Bridge queued the operation");
        let e = log.inner.data;
        PriorityOp {
            kind: e.kind,
            from: e.from,
            to: e.to,
            token: e.token,
            amount: e.amount,
            timestamp: e.timestamp,
        }
    }

    fn step_request(&self, executor: Address, proof: &StepProof) -> TransactionRequest {
        let mut input = StepExecutor::stepCall::SELECTOR.to_vec();
        input.extend(
            (proof.pre.clone(), proof.witness.clone(), proof.context.clone()).abi_encode_params(),
        );
        TransactionRequest::default().to(executor).input(Bytes::from(input).into())
    }

    /// `executor.step(pre, witness, context)` by `eth_call`: the post-state, or the revert.
    async fn step(&self, executor: Address, proof: &StepProof) -> Result<StepState, ply_l1::Error> {
        let out = self.client.call(&self.step_request(executor, proof), BlockId::latest()).await?;
        Ok(StepState::abi_decode(&out).expect("a StepState"))
    }
}

/// A signed, packed transfer from dev account `from` (index `sender`) to `to_address`.
#[allow(clippy::too_many_arguments)] // every field varies between the cases
fn transfer(
    from: usize,
    sender: u32,
    to: Recipient,
    to_address: Address,
    token: u32,
    amount: U256,
    nonce: u64,
    signer: usize,
) -> BatchTx {
    let fee = U256::from(1_000u64);
    let tx = Tx::Transfer(Transfer { from: addr(from), to: to_address, token, amount, fee, nonce });
    let signature = tx.sign(&key(signer), &domain()).unwrap().compact_signature().unwrap();
    BatchTx::Transfer { token: token as u16, from: sender, to, amount, fee, signature }
}

/// The same transaction with the malleable twin of its signature (`s → n - s`, parity flipped).
fn high_s(tx: BatchTx) -> BatchTx {
    let BatchTx::Transfer { token, from, to, amount, fee, signature } = tx else { unreachable!() };
    let mut vs = U256::from_be_slice(&signature[32..]);
    let parity = vs.bit(255);
    vs.set_bit(255, false);
    let mut high = ply_ledger::signature::SECP256K1_ORDER - vs;
    high.set_bit(255, !parity);
    let mut signature = signature;
    signature[32..].copy_from_slice(&high.to_be_bytes::<32>());
    BatchTx::Transfer { token, from, to, amount, fee, signature }
}

/// Proves every step of a batch from `start` and runs each on `executor`: the result's step
/// hash must be the trace's next one. Returns the trace's events.
async fn check_every_step(
    l1: &L1,
    executor: Address,
    start: &Ledger<KeccakHasher>,
    input: &BatchInput<'_>,
) -> Vec<StepEvent> {
    let domain = domain();
    let trace = Trace::build(start.clone(), input, &mut VerifySignatures(&domain)).unwrap();
    let data = BatchData::new(input.data.to_vec());
    let mut machine = StepMachine::new(start.clone());
    let mut events = Vec::new();
    for i in 0..trace.steps() {
        let proof =
            machine.step_with_proof(input, &data, &domain, &mut VerifySignatures(&domain)).unwrap();
        assert_eq!(step_hash(&proof.pre), trace.hash(i).unwrap(), "step {i}: pre-state");
        assert_eq!(proof.post_hash(), trace.hash(i + 1).unwrap(), "step {i}: machine");
        let post = l1
            .step(executor, &proof)
            .await
            .unwrap_or_else(|e| panic!("step {i} ({:?}) reverts: {e}", proof.event));
        assert_eq!(post, proof.post, "step {i} ({:?})", proof.event);
        assert_eq!(step_hash(&post), trace.hash(i + 1).unwrap(), "step {i}");
        events.push(proof.event);
        if proof.post.phase == Phase::Done as u8 {
            break;
        }
    }
    assert_eq!(machine.phase(), Phase::Done, "the batch ends within its trace");
    // Steps after DONE change nothing, and the executor agrees.
    let idle = machine.step_with_proof(input, &data, &domain, &mut VerifySignatures(&domain));
    let idle = idle.unwrap();
    assert_eq!(l1.step(executor, &idle).await.unwrap(), idle.pre);
    events
}

fn label(event: &StepEvent) -> String {
    match event {
        StepEvent::Op { queue_index, outcome } => format!("op{queue_index}:{}", outcome.is_ok()),
        StepEvent::Tx { block, index, outcome } => {
            format!("tx{block}.{index}:{}", outcome.is_ok())
        }
        StepEvent::Malformed(_) => "malformed".to_owned(),
        StepEvent::Done { .. } => "done".to_owned(),
        StepEvent::Idle => "idle".to_owned(),
    }
}

/// Every kind of step, each executed by the real `StepExecutor` from the recorder's witness.
#[tokio::test]
async fn every_step_of_every_kind_verifies_on_the_step_executor() {
    let l1 = L1::new().await;
    let (alice, bob, carol) = (addr(1), addr(2), addr(3));
    let (dave, erin) = (Address::repeat_byte(0xd0), Address::repeat_byte(0xe0));
    let l1_recipient = Address::repeat_byte(0xee);
    let token = l1.token;

    // The queue: deposits (new account, existing account, refused overflow), forced transfers
    // (new account, refused: short balance, unknown token, no account), a forced withdrawal.
    let mut ops = Vec::new();
    ops.push(l1.queue(1, Bridge::depositETHCall { to: alice }, eth(10)).await); // 0 creates alice
    ops.push(l1.queue(2, Bridge::depositETHCall { to: bob }, eth(10)).await); // 1 creates bob
    ops.push(l1.queue(1, Bridge::depositETHCall { to: alice }, eth(1)).await); // 2 existing
    let erc20 = |to, amount| Bridge::depositERC20Call { l1Token: token, to, amount };
    ops.push(l1.queue(0, erc20(carol, MAX_BALANCE), U256::ZERO).await); // 3 creates carol
    ops.push(l1.queue(0, erc20(carol, U256::from(1u64)), U256::ZERO).await); // 4 overflow
    ops.push(l1.queue(0, erc20(alice, U256::from(10_000u64)), U256::ZERO).await); // 5 alice token 1
    let force = |to, token, amount| Bridge::forceTransferCall { to, token, amount };
    ops.push(l1.queue(1, force(dave, 0, eth(1)), U256::ZERO).await); // 6 creates dave
    ops.push(l1.queue(2, force(erin, 0, eth(100)), U256::ZERO).await); // 7 short balance
    ops.push(l1.queue(1, force(erin, 3, U256::from(1u64)), U256::ZERO).await); // 8 unknown token
    ops.push(l1.queue(5, force(erin, 0, U256::from(1u64)), U256::ZERO).await); // 9 no account
    let withdraw = Bridge::forceWithdrawalCall { to: l1_recipient, token: 0, amount: eth(2) };
    ops.push(l1.queue(2, withdraw, U256::ZERO).await); // 10 forced withdrawal
    ops.push(l1.queue(4, Bridge::depositETHCall { to: erin }, eth(1)).await); // 11 (batch 2)
    assert_eq!(ops[3].kind, OpKind::Deposit as u8);

    // Batch 0: six operations in its first block, transactions of every kind, an empty block,
    // a block of two more operations and a transfer; four operations left to the drain.
    let config = LedgerConfig { account_depth: 4, token_depth: 2, fee_account: Address::ZERO };
    let genesis = Ledger::<KeccakHasher>::new(config).unwrap();
    let fee = U256::from(1_000u64);
    let withdrawal = Tx::Withdrawal(Withdrawal {
        from: bob,
        to: l1_recipient,
        token: 0,
        amount: eth(1),
        fee,
        nonce: 0,
    });
    let withdrawal = BatchTx::Withdrawal {
        token: 0,
        from: 2,
        to: l1_recipient,
        amount: eth(1),
        fee,
        signature: withdrawal.sign(&key(2), &domain()).unwrap().compact_signature().unwrap(),
    };
    let t = |to, to_address, token, amount, nonce, signer| {
        transfer(1, 1, to, to_address, token, amount, nonce, signer)
    };
    let txs = vec![
        t(Recipient::Index(2), bob, 0, eth(1), 0, 1), // transfer
        t(Recipient::New(erin), erin, 0, eth(1), 1, 1), // creates erin (index 4)
        t(Recipient::New(bob), bob, 0, eth(1), 2, 1), // New(existing): skipped
        withdrawal,                                   // withdrawal
        t(Recipient::Index(2), bob, 0, eth(1), 2, 4), // bad signature
        high_s(t(Recipient::Index(2), bob, 0, eth(1), 2, 1)), // high s
        t(Recipient::Index(2), bob, 0, eth(1), 0, 1), // replayed nonce
        t(Recipient::Index(2), bob, 2, U256::from(1u64), 2, 1), // unknown token
        t(Recipient::Index(2), bob, 0, eth(100), 2, 1), // insufficient balance
        t(Recipient::Index(3), carol, 1, U256::from(1u64), 2, 1), // overflow (carol max)
        t(Recipient::Index(1), alice, 0, eth(1), 2, 1), // to itself
        transfer(0, 0, Recipient::Index(1), alice, 0, U256::ZERO, 0, 0), // not the fee account's key
    ];
    let batch = batch::Batch {
        blocks: vec![
            BatchBlock { timestamp: 100, deposits: 6, txs },
            BatchBlock { timestamp: 101, deposits: 0, txs: vec![] },
            BatchBlock {
                timestamp: 102,
                deposits: 2,
                txs: vec![t(Recipient::Index(5), dave, 0, eth(1), 3, 1)],
            },
        ],
    };
    let data = batch::encode(&batch).unwrap();
    let input = BatchInput { index: 0, data: &data, prev_queue_count: 0, ops: &ops[..11] };
    let events = check_every_step(&l1, l1.small, &genesis, &input).await;
    let labels: Vec<String> = events.iter().map(label).collect();
    let expected = [
        "op0:true",
        "op1:true",
        "op2:true",
        "op3:true",
        "op4:false",
        "op5:true",
        "tx0.0:true",
        "tx0.1:true",
        "tx0.2:false",
        "tx0.3:true",
        "tx0.4:false",
        "tx0.5:false",
        "tx0.6:false",
        "tx0.7:false",
        "tx0.8:false",
        "tx0.9:false",
        "tx0.10:true",
        "tx0.11:false",
        "op6:true",
        "op7:false",
        "tx2.0:true",
        "op8:false",
        "op9:false",
        "op10:true",
        "done",
    ];
    assert_eq!(labels, expected);

    // The state after batch 0 for the malformed batches.
    let domain = domain();
    let mut after = Trace::build(genesis, &input, &mut VerifySignatures(&domain))
        .unwrap()
        .end()
        .ledger()
        .clone();
    after.finish_batch();

    // Malformed batches (batch 1, each from the state after batch 0; operation 11 is the only one left
    // in the queue, so the batches that consume it drain it).
    let ok_tx = |nonce| t(Recipient::Index(2), bob, 0, eth(1), nonce, 1);
    let encode = |blocks: Vec<BatchBlock>| batch::encode(&batch::Batch { blocks }).unwrap();
    let block = |timestamp, deposits, txs| BatchBlock { timestamp, deposits, txs };
    let mut truncated = encode(vec![block(200, 0, vec![ok_tx(4), ok_tx(5)])]);
    truncated.truncate(truncated.len() - 30);
    let mut bad_version = encode(vec![block(200, 0, vec![ok_tx(4)])]);
    bad_version[0] = 2;
    // An empty block read in the same step as the one that goes back in time: both undone.
    let timestamp_back = encode(vec![block(300, 0, vec![]), block(150, 0, vec![ok_tx(4)])]);
    let too_many_ops = encode(vec![block(200, 0, vec![ok_tx(4)]), block(201, 2, vec![])]);
    let mut bad_sender = encode(vec![block(200, 0, vec![ok_tx(4), ok_tx(5)])]);
    let second = 5 + 12 + batch::TRANSFER_SIZE;
    bad_sender[second + 2..second + 5].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    let mut trailing = encode(vec![block(200, 1, vec![ok_tx(4)]), block(200, 0, vec![])]);
    trailing.extend([7u8; 40]);
    let cases: Vec<(&str, Vec<u8>, usize, &[&str])> = vec![
        ("truncated", truncated, 0, &["tx0.0:true", "malformed", "done"]),
        ("bad version", bad_version, 0, &["malformed", "done"]),
        ("empty data", vec![], 1, &["malformed", "op11:true", "done"]),
        ("timestamp back", timestamp_back, 0, &["malformed", "done"]),
        ("too many ops", too_many_ops, 1, &["tx0.0:true", "malformed", "op11:true", "done"]),
        ("sender 0xFFFFFF", bad_sender, 0, &["tx0.0:true", "malformed", "done"]),
        ("trailing bytes", trailing, 1, &["op11:true", "tx0.0:true", "done"]),
    ];
    for (name, data, op_count, expected) in cases {
        let input = BatchInput {
            index: 1,
            data: &data,
            prev_queue_count: 11,
            ops: &ops[11..11 + op_count],
        };
        let events = check_every_step(&l1, l1.small, &after, &input).await;
        let labels: Vec<String> = events.iter().map(label).collect();
        assert_eq!(labels, expected, "{name}");
    }
}

/// A witness with one byte of an account proof flipped does not verify: the executor reverts.
#[tokio::test]
async fn a_tampered_witness_reverts() {
    let l1 = L1::new().await;
    let op = l1.queue(1, Bridge::depositETHCall { to: addr(1) }, eth(10)).await;
    let config = LedgerConfig { account_depth: 4, token_depth: 2, fee_account: Address::ZERO };
    let mut start = Ledger::<KeccakHasher>::new(config).unwrap();
    start.apply_op(0, &op).unwrap();
    start.finish_batch();
    let tx = transfer(1, 1, Recipient::Index(0), Address::ZERO, 0, eth(1), 0, 1);
    let data = batch::encode(&batch::Batch {
        blocks: vec![BatchBlock { timestamp: 5, deposits: 0, txs: vec![tx] }],
    })
    .unwrap();
    let input = BatchInput { index: 1, data: &data, prev_queue_count: 1, ops: &[] };
    let domain = domain();
    let trace = Trace::build(start, &input, &mut VerifySignatures(&domain)).unwrap();
    let proof = trace.step_proof(0, &input, &domain, &mut VerifySignatures(&domain)).unwrap();
    assert_eq!(step_hash(&l1.step(l1.small, &proof).await.unwrap()), trace.hash(1).unwrap());
    assert_eq!(proof.witness.accounts.len(), 3, "sender, recipient, fee account");

    let mut tampered = proof.clone();
    let sibling = tampered.witness.accounts[0].accountProof.siblings.first_mut();
    let sibling = sibling.expect("the sender's proof has a non-empty sibling");
    sibling.0[31] ^= 1;
    let error = l1.step(l1.small, &tampered).await.expect_err("a tampered witness reverts");
    let ply_l1::Error::Reverted { data, .. } = &error else { panic!("{error}") };
    assert_eq!(
        StepExecutor::StepExecutorErrors::abi_decode(data).unwrap(),
        StepExecutor::StepExecutorErrors::InvalidAccountProof(StepExecutor::InvalidAccountProof {
            read: U256::ZERO,
            index: U256::from(1u64),
        })
    );
    // A witness short of its last account read reverts too.
    let mut short = proof.clone();
    short.witness.accounts.pop();
    assert!(l1.step(l1.small, &short).await.is_err());
    // And a chunk byte flipped.
    let mut chunk = proof;
    let mut bytes = chunk.witness.chunks[0].data.to_vec();
    bytes[20] ^= 1;
    chunk.witness.chunks[0].data = bytes.into();
    assert!(l1.step(l1.small, &chunk).await.is_err());
}

/// A batch of 1,000 transfers at the production depths (24, 8): the step of a transfer whose
/// bytes straddle two chunks verifies; its gas is printed.
#[tokio::test]
async fn a_transfer_straddling_two_chunks_of_a_1000_transfer_batch() {
    let l1 = L1::new().await;
    let mut start = Ledger::<KeccakHasher>::new(LedgerConfig::new(Address::ZERO)).unwrap();
    let deposit = |to| PriorityOp {
        kind: OpKind::Deposit as u8,
        from: to,
        to,
        token: 0,
        amount: eth(100),
        timestamp: 1,
    };
    start.apply_op(0, &deposit(addr(1))).unwrap();
    start.apply_op(1, &deposit(addr(2))).unwrap();
    start.finish_batch();
    let milli = U256::from(ETHER / 1_000);
    let txs: Vec<BatchTx> = (0..1_000)
        .map(|nonce| transfer(1, 1, Recipient::Index(2), addr(2), 0, milli, nonce, 1))
        .collect();
    let data = batch::encode(&batch::Batch {
        blocks: vec![BatchBlock { timestamp: 10, deposits: 0, txs }],
    })
    .unwrap();
    assert_eq!(data.len().div_ceil(1024), 78);
    let input = BatchInput { index: 1, data: &data, prev_queue_count: 2, ops: &[] };
    let domain = domain();
    let trace = Trace::build(start, &input, &mut VerifySignatures(&domain)).unwrap();
    // Transaction k (step k) spans [17 + 79k, 17 + 79(k + 1)); the first to cross chunk 500's
    // boundary (byte 512,000 would be past the data: take the boundary at chunk 40).
    let boundary = 40 * 1024;
    let k = (0..1_000u64)
        .find(|k| {
            let (a, b) = (17 + 79 * k, 17 + 79 * (k + 1));
            a < boundary && b > boundary
        })
        .unwrap();
    let proof = trace.step_proof(k, &input, &domain, &mut VerifySignatures(&domain)).unwrap();
    assert!(matches!(proof.event, StepEvent::Tx { outcome: Ok(_), .. }), "{:?}", proof.event);
    assert_eq!(proof.witness.chunks.len(), 2, "the transfer straddles two chunks");
    let post = l1.step(l1.large, &proof).await.unwrap();
    assert_eq!(step_hash(&post), trace.hash(k + 1).unwrap());
    let gas = l1.client.estimate_gas(&l1.step_request(l1.large, &proof)).await.unwrap();
    let calldata = l1.step_request(l1.large, &proof).input.input().unwrap().len();
    println!(
        "the step of transfer {k} of 1,000 (two chunks, depths 24/8): {gas} gas, {calldata} bytes of calldata"
    );
    assert!(gas < 400_000, "{gas}");
}

/// The Rust witness types have the contract's ABI: the executor's own `step` binding encodes
/// the same calldata.
#[test]
fn the_witness_types_have_the_contract_abi() {
    let witness = StepWitness {
        chunks: vec![],
        op: PriorityOp {
            kind: 1,
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            token: 3,
            amount: U256::from(4u64),
            timestamp: 5,
        },
        addressProofs: vec![ply_rollup::fraud::AddressProof {
            leaf: B256::repeat_byte(6),
            proof: ply_ledger::SparseProof {
                bitmap: U256::from(1u64),
                siblings: vec![B256::repeat_byte(7)],
            },
        }],
        accounts: vec![],
        withdrawalProof: ply_ledger::SparseProof { bitmap: U256::ZERO, siblings: vec![] },
    };
    let ours = witness.abi_encode();
    let theirs = StepExecutor::StepWitness::abi_decode(&ours).unwrap();
    assert_eq!(theirs.abi_encode(), ours);
    assert_eq!(theirs.addressProofs[0].leaf, B256::repeat_byte(6));
    let context = StepContext {
        batchIndex: U256::from(1u64),
        queueEnd: U256::from(2u64),
        dataRoot: B256::repeat_byte(3),
        dataLength: U256::from(4u64),
        domainSeparator: B256::repeat_byte(5),
    };
    let theirs = StepExecutor::StepContext::abi_decode(&context.abi_encode()).unwrap();
    assert_eq!(theirs.domainSeparator, B256::repeat_byte(5));
}
