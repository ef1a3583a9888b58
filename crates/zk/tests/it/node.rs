//! The zk rollup and the validium end to end, on the embedded L1 and on anvil, with the small
//! batch shape of `batch_verifier` (its development keys): deposits through the L1 queue, a
//! transfer and a withdrawal sequenced by the operator, a batch proven with Groth16 and
//! verified on L1, the withdrawal claimed; the state rebuilt without the operator (from L1, or
//! from the committee); bad proofs, bad data and bad committee signatures reverted; and the
//! escape hatch: exit mode once a deposit is overdue, every balance paid out exactly once.

use crate::batch_verifier::{BATCH_PARAMS, batch_keys, batch_matrices, key};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolInterface},
};
use ark_std::rand::{SeedableRng, rngs::StdRng};
use ply_contracts::ZkRollup;
use ply_core::dev::dev_signer;
use ply_l1::{
    anvil::Anvil,
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient, RpcClient, TxSender},
    node::Node,
};
use ply_zk::{
    circuit::{BatchWitness, ZkOperation, ZkState, ZkTransfer, ZkWithdrawal},
    dac::{DacClient, DacDomain, DacMember, DacMemberConfig, sign_data_hash},
    groth16,
    node::{
        DataMode, ZkDeployParams, ZkL1, ZkNode, ZkNodeConfig,
        derive::rebuild,
        l1::{exit_call, proof_words, submit_batch_call, submit_validium_call},
        store::OperatorStore,
        wire::{TxRequest, fr_to_u256},
    },
};
use std::{future::Future, sync::Arc, time::Duration};

const ETHER: u128 = 1_000_000_000_000_000_000;
const WAIT: Duration = Duration::from_secs(120);
/// Seconds a queued deposit may wait for a verified batch.
const DEADLINE: u64 = 3_600;
/// The priority fee of the tests' deployments: every queued operation burns it.
const PRIORITY_FEE: u128 = ETHER / 1_000;

/// An L1 for a test and what keeps it running.
struct TestL1 {
    client: DynL1Client,
    _node: Option<Node>,
    _anvil: Option<Anvil>,
}

impl TestL1 {
    fn embedded() -> Self {
        let node = Node::new(ChainConfig::default());
        Self {
            client: Arc::new(EmbeddedClient::new(node.clone())),
            _node: Some(node),
            _anvil: None,
        }
    }

    fn anvil() -> Option<Self> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let anvil = Anvil::for_tests(&root).unwrap_or_else(|e| panic!("{e}"))?;
        Some(Self {
            client: Arc::new(RpcClient::new(&anvil.url()).unwrap()),
            _node: None,
            _anvil: Some(anvil),
        })
    }

    fn sender(&self, index: usize) -> TxSender {
        TxSender::new(self.client.clone(), dev_signer(index).unwrap())
    }

    async fn balance(&self, who: Address) -> U256 {
        self.client.balance(who, BlockId::latest()).await.unwrap()
    }
}

async fn wait_for<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The custom error a call reverts with, by name.
async fn revert_of(sender: &TxSender, to: Address, data: Vec<u8>) -> String {
    let req =
        TransactionRequest::default().from(sender.address()).to(to).input(Bytes::from(data).into());
    match sender.client().call(&req, BlockId::latest()).await {
        Ok(_) => panic!("the call succeeded"),
        Err(ply_l1::Error::Reverted { data, .. }) => {
            match ZkRollup::ZkRollupErrors::abi_decode(&data) {
                Ok(e) => format!("{e:?}"),
                Err(_) => format!("undecoded revert {data}"),
            }
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// A deployment with the operator (dev 0) and its running node.
struct Rig {
    l1: TestL1,
    operator: TxSender,
    contracts: ply_zk::node::ZkContracts,
    reader: ZkL1,
    node: Option<ZkNode>,
    _dir: tempfile::TempDir,
}

async fn rig(l1: TestL1, committee: Vec<DacClient>, threshold: usize) -> Rig {
    let mut members: Vec<Address> = committee.iter().map(|c| c.member()).collect();
    members.sort();
    let contracts = deploy_contracts(&l1, members, threshold, DEADLINE, 1).await;
    start_rig(l1, contracts, committee, threshold).await
}

/// Deploys the contracts for the batch keys with the operator (dev 0) as governor.
async fn deploy_contracts(
    l1: &TestL1,
    committee: Vec<Address>,
    threshold: usize,
    priority_deadline: u64,
    priority_interval: u64,
) -> ply_zk::node::ZkContracts {
    let groth16::Keys { vk, .. } = batch_keys();
    let operator = l1.sender(0);
    ply_zk::node::deploy(
        &operator,
        &ZkDeployParams {
            params: BATCH_PARAMS,
            vk: vk.clone(),
            operator: operator.address(),
            operator_key: key(0).public_key(),
            committee,
            threshold: threshold as u8,
            priority_deadline,
            priority_interval,
            priority_fee: PRIORITY_FEE,
            token_governor: operator.address(),
        },
    )
    .await
    .expect("deploys")
}

/// Starts the operator's node (dev 0) for `contracts`.
async fn start_rig(
    l1: TestL1,
    contracts: ply_zk::node::ZkContracts,
    committee: Vec<DacClient>,
    threshold: usize,
) -> Rig {
    let groth16::Keys { pk, .. } = batch_keys();
    let operator = l1.sender(0);
    let dir = tempfile::tempdir().unwrap();
    let mode = if committee.is_empty() {
        DataMode::Rollup
    } else {
        DataMode::Validium { committee, threshold }
    };
    let config = ZkNodeConfig {
        params: BATCH_PARAMS,
        proving_key: Arc::new(pk.clone()),
        matrices: batch_matrices().clone(),
        contracts,
        mode,
        data_dir: dir.path().to_owned(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        batch_interval: Duration::from_millis(300),
        poll_interval: Duration::from_millis(100),
    };
    let node = ZkNode::start(config, l1.sender(0), key(0).public_key()).await.expect("node starts");
    let reader = ZkL1::new(l1.client.clone(), contracts.rollup);
    Rig { l1, operator, contracts, reader, node: Some(node), _dir: dir }
}

impl Rig {
    fn node(&self) -> &ZkNode {
        self.node.as_ref().expect("running")
    }

    /// Dev account `index` deposits `amount` wei of ETH to its L2 account.
    async fn deposit(&self, index: usize, amount: u128) {
        let pk = key(index).public_key();
        let call =
            ZkRollup::depositEthCall { amount, pkX: fr_to_u256(pk.0.x), pkY: fr_to_u256(pk.0.y) };
        self.l1
            .sender(index)
            .send_call(self.contracts.rollup, call.abi_encode(), U256::from(amount + PRIORITY_FEE))
            .await
            .expect("deposit");
    }

    /// Waits until the operator's head has dev account `index`'s L2 account; its index.
    async fn account_of(&self, index: usize) -> u64 {
        let address = dev_signer(index).unwrap().address();
        wait_for("the deposit on L2", || async {
            self.node().with_operator(|o| o.head().index_of(&address))
        })
        .await
    }

    /// Waits until every operation is in a batch verified on L1.
    async fn all_verified(&self) {
        wait_for("every batch verified on L1", || async {
            let done = self.node().with_operator(|o| {
                o.unbatched() == 0
                    && o.batches().iter().all(|b| b.status == ply_zk::node::BatchStatus::Verified)
            });
            let root = self.node().with_operator(|o| ply_zk::fr_to_b256(o.head().root()));
            (done && self.reader.state_root().await.unwrap() == root).then_some(())
        })
        .await
    }

    async fn domain(&self) -> ply_zk::Fr {
        self.reader.domain().await.unwrap()
    }

    async fn stop(&mut self) {
        self.node.take().expect("running").stop().await;
    }

    /// The next batch (from `state`, no operations) proven with the real key.
    fn empty_batch(state: &ZkState) -> (BatchWitness, groth16::Proof) {
        let mut state = state.clone();
        let witness = BatchWitness::build(&mut state, &BATCH_PARAMS, &[]).unwrap();
        let proof = groth16::prove_with(
            &batch_keys().pk,
            batch_matrices(),
            witness.circuit.clone(),
            &mut StdRng::seed_from_u64(5),
        )
        .unwrap();
        (witness, proof)
    }

    /// Exit mode after an overdue deposit, then every L2 balance of `state` exited and claimed:
    /// the contract ends with nothing, and a second exit reverts.
    async fn escape_hatch(&self, state: &ZkState) {
        let rollup = self.contracts.rollup;
        let stranded = self.l1.sender(4);
        self.deposit(4, ETHER / 100).await;
        let activate = ZkRollup::activateExitModeCall {}.abi_encode();
        assert!(revert_of(&stranded, rollup, activate.clone()).await.contains("NotOverdue"));
        self.l1.client.increase_time(DEADLINE + 10).await.unwrap();
        self.l1.client.mine().await.unwrap();
        stranded.send_call(rollup, activate, U256::ZERO).await.expect("exit mode");
        let (witness, proof) = Self::empty_batch(state);
        let validium = self.reader.view(ZkRollup::isValidiumCall {}).await.unwrap();
        let submission = if validium {
            submit_validium_call(&witness, &proof, Bytes::new())
        } else {
            submit_batch_call(&witness, &proof)
        };
        assert!(
            revert_of(&self.operator, rollup, submission).await.contains("ExitModeActive"),
            "no batch in exit mode"
        );
        let refund = ZkRollup::refundDepositsCall { max: U256::from(10) }.abi_encode();
        stranded.send_call(rollup, refund, U256::ZERO).await.expect("refund");

        let mut exits = Vec::new();
        for index in 0..state.account_count() {
            let account = state.account(index).unwrap();
            for &token in account.balances.keys() {
                exits.push((account.address, exit_call(state, index, token).unwrap()));
            }
        }
        assert!(!exits.is_empty());
        let mut wrong = exits[0].1.clone();
        wrong.balance += 1;
        assert!(
            revert_of(&stranded, rollup, wrong.abi_encode()).await.contains("InvalidExitProof")
        );
        for (_, exit) in &exits {
            stranded.send_call(rollup, exit.abi_encode(), U256::ZERO).await.expect("exit");
        }
        assert!(
            revert_of(&stranded, rollup, exits[0].1.abi_encode()).await.contains("AlreadyExited"),
            "a second exit of the same balance"
        );
        let mut owners: Vec<Address> = exits.iter().map(|(owner, _)| *owner).collect();
        owners.push(stranded.address());
        owners.sort();
        owners.dedup();
        for owner in owners {
            let pending =
                self.reader.view(ZkRollup::pendingCall { owner, token: 0 }).await.unwrap();
            if pending > U256::ZERO {
                let claim = ZkRollup::claimCall { owner, token: 0 }.abi_encode();
                stranded.send_call(rollup, claim, U256::ZERO).await.expect("claim");
            }
        }
        // What stays is the burned priority fees, one for each queued operation.
        let burned = self.reader.view(ZkRollup::feesBurnedCall {}).await.unwrap();
        let queued = self.reader.view(ZkRollup::priorityTailCall {}).await.unwrap();
        assert_eq!(burned, U256::from(PRIORITY_FEE) * U256::from(queued));
        assert_eq!(self.l1.balance(rollup).await, burned, "every balance paid out exactly");
    }
}

/// Alice and Bob deposit, Alice pays Bob over JSON-RPC, Bob withdraws; returns (alice, bob)
/// account indices once all of it is verified on L1.
async fn deposit_transfer_withdraw(rig: &Rig) -> (u64, u64) {
    rig.deposit(1, ETHER).await;
    rig.deposit(2, ETHER / 2).await;
    let (alice, bob) = (rig.account_of(1).await, rig.account_of(2).await);
    let domain = rig.domain().await;

    let transfer =
        ZkTransfer::signed(&key(1), domain, alice, bob, 0, ETHER / 4, 1_000_000_000_000, 0);
    let request =
        TxRequest::from_op(&ply_zk::circuit::ZkOperation::Transfer(transfer.clone())).unwrap();
    let rpc = alloy::rpc::client::RpcClient::new_http(
        format!("http://{}", rig.node().rpc_addr()).parse().unwrap(),
    );
    let id: B256 = rpc.request("zk_sendTransaction", (request.clone(),)).await.expect("accepted");
    // A replay, and a forged signature, are refused with a reason.
    let replay = rpc.request::<_, B256>("zk_sendTransaction", (request,)).await.unwrap_err();
    assert!(replay.to_string().contains("already accepted"), "{replay}");
    let forged = ZkTransfer::signed(&key(2), domain, alice, bob, 0, 1, 0, 1);
    let forged = TxRequest::from_op(&ply_zk::circuit::ZkOperation::Transfer(forged)).unwrap();
    let refused = rpc.request::<_, B256>("zk_sendTransaction", (forged,)).await.unwrap_err();
    assert!(refused.to_string().contains("signature"), "{refused}");
    let malformed = rpc.request::<_, B256>("zk_sendTransaction", ("0x1234",)).await.unwrap_err();
    assert!(malformed.to_string().contains("invalid"), "{malformed}");

    let withdrawal = ZkWithdrawal::signed(&key(2), domain, bob, 0, ETHER / 10, 0, 0);
    rig.node().submit(ply_zk::circuit::ZkOperation::Withdrawal(withdrawal)).expect("accepted");
    rig.all_verified().await;
    let status: serde_json::Value = rpc.request("zk_getTransaction", (id,)).await.unwrap();
    assert_eq!(status["status"], "verified");

    // The withdrawal was released with the batch: Bob claims it.
    let bob_l1 = dev_signer(2).unwrap().address();
    let pending = rig.reader.view(ZkRollup::pendingCall { owner: bob_l1, token: 0 }).await.unwrap();
    assert_eq!(pending, U256::from(ETHER / 10));
    let claim = ZkRollup::claimCall { owner: bob_l1, token: 0 }.abi_encode();
    let before = rig.l1.balance(bob_l1).await;
    rig.l1
        .sender(3)
        .send_call(rig.contracts.rollup, claim.clone(), U256::ZERO)
        .await
        .expect("claim");
    assert_eq!(rig.l1.balance(bob_l1).await - before, U256::from(ETHER / 10));
    assert!(
        revert_of(&rig.l1.sender(3), rig.contracts.rollup, claim).await.contains("NothingToClaim")
    );
    (alice, bob)
}

async fn zk_rollup_end_to_end(l1: TestL1) {
    let mut rig = rig(l1, Vec::new(), 0).await;
    let (alice, bob) = deposit_transfer_withdraw(&rig).await;

    // A full exit (issue 10): Alice asks L1 for her whole ETH balance; the operator's next
    // batch pays it out without her L2 signature.
    let alice_l1 = dev_signer(1).unwrap().address();
    let balance = rig.node().with_operator(|o| o.head().account(alice).unwrap().balances[&0]);
    let request = ZkRollup::requestFullExitCall { token: 0 }.abi_encode();
    let fee = U256::from(PRIORITY_FEE);
    rig.l1.sender(1).send_call(rig.contracts.rollup, request, fee).await.expect("queued");
    wait_for("the full exit paid out", || async {
        let pending =
            rig.reader.view(ZkRollup::pendingCall { owner: alice_l1, token: 0 }).await.unwrap();
        (pending == U256::from(balance)).then_some(())
    })
    .await;
    let claim = ZkRollup::claimCall { owner: alice_l1, token: 0 }.abi_encode();
    rig.l1.sender(3).send_call(rig.contracts.rollup, claim, U256::ZERO).await.expect("claim");
    rig.all_verified().await;
    let head = rig.node().with_operator(|o| o.head().clone());
    assert!(!head.account(alice).unwrap().balances.contains_key(&0), "Alice's ETH left");
    rig.stop().await;

    // The state rebuilt from L1 data alone is the operator's, root and balances.
    let (state, roots) = rebuild(&rig.reader, &[]).await.expect("derivation");
    assert_eq!(state.root(), head.root());
    assert_eq!(roots.last().copied(), Some(rig.reader.state_root().await.unwrap()));
    assert_eq!(state.account(alice), head.account(alice));
    assert_eq!(state.account(bob).unwrap().balances[&0], ETHER / 2 + ETHER / 4 - ETHER / 10);

    // A proof that does not verify, and data that does not match the proof.
    let rollup = rig.contracts.rollup;
    let (witness, proof) = Rig::empty_batch(&state);
    let mut bad =
        ZkRollup::submitBatchCall::abi_decode(&submit_batch_call(&witness, &proof)).unwrap();
    bad.proof[7] ^= U256::from(1);
    assert!(revert_of(&rig.operator, rollup, bad.abi_encode()).await.contains("InvalidProof"));
    let mut bad =
        ZkRollup::submitBatchCall::abi_decode(&submit_batch_call(&witness, &proof)).unwrap();
    bad.newRoot ^= U256::from(1);
    assert!(revert_of(&rig.operator, rollup, bad.abi_encode()).await.contains("InvalidProof"));
    assert_eq!(
        proof_words(&proof),
        ZkRollup::submitBatchCall::abi_decode(&submit_batch_call(&witness, &proof)).unwrap().proof
    );
    // The padding theft (issue 10), end to end: the operator cannot prove a disabled slot that
    // moves Bob's balance to its account 0 (the prover refuses the witness), and L1 refuses its
    // record (a transfer's fields with op byte 0) even beside a valid proof.
    let (theft, record) = crate::soundness::padding_theft(&BATCH_PARAMS, &state, bob);
    let err = groth16::prove_with(
        &batch_keys().pk,
        batch_matrices(),
        theft,
        &mut StdRng::seed_from_u64(3),
    )
    .unwrap_err();
    assert!(matches!(err, groth16::Groth16Error::Unsatisfied { .. }), "{err}");
    let mut stolen =
        ZkRollup::submitBatchCall::abi_decode(&submit_batch_call(&witness, &proof)).unwrap();
    stolen.transfers = Bytes::copy_from_slice(&record);
    let reverted = revert_of(&rig.operator, rollup, stolen.abi_encode()).await;
    assert!(reverted.contains("NonZeroTransferPadding"), "{reverted}");

    // The empty batch itself verifies (nothing is queued): the proof is good.
    rig.operator
        .send_call(rollup, submit_batch_call(&witness, &proof), U256::ZERO)
        .await
        .expect("an empty batch");

    rig.escape_hatch(&state).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zk_rollup_on_the_embedded_l1() {
    zk_rollup_end_to_end(TestL1::embedded()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zk_rollup_on_anvil() {
    let Some(l1) = TestL1::anvil() else { return };
    zk_rollup_end_to_end(l1).await;
}

async fn validium_end_to_end(l1: TestL1) {
    // The committee's domain needs the contract's address: the next CREATE of the operator
    // after the Poseidon contracts and the verifier.
    let chain_id = l1.client.chain_id().await.unwrap();
    let operator = dev_signer(0).unwrap().address();
    let nonce = l1.client.nonce(operator, BlockId::latest()).await.unwrap();
    let domain = DacDomain { chain_id, contract: operator.create(nonce + 3) };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut members = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let config = DacMemberConfig::new(domain, dir.path(), 0);
        members.push(DacMember::start(dev_signer(5 + i).unwrap(), config).await.unwrap());
    }
    let committee: Vec<DacClient> = members.iter().map(|m| m.client().unwrap()).collect();
    let mut rig = rig(l1, committee.clone(), 2).await;
    assert_eq!(rig.contracts.rollup, domain.contract);
    deposit_transfer_withdraw(&rig).await;
    let head = rig.node().with_operator(|o| o.head().clone());
    rig.stop().await;

    // Committee signatures: fewer than the threshold, a non-member, a repeated member.
    let state = head.clone();
    let (witness, proof) = Rig::empty_batch(&state);
    let hash = ply_zk::dac::data_hash(&witness.transfers);
    let sign = |i: usize| sign_data_hash(&dev_signer(i).unwrap(), &domain, hash).unwrap();
    let mut signers: Vec<(Address, [u8; 65])> =
        (5..8).map(|i| (dev_signer(i).unwrap().address(), sign(i))).collect();
    signers.sort();
    let call =
        |sigs: Vec<[u8; 65]>| submit_validium_call(&witness, &proof, Bytes::from(sigs.concat()));
    let rollup = rig.contracts.rollup;
    assert!(
        revert_of(&rig.operator, rollup, call(vec![signers[0].1]))
            .await
            .contains("NotEnoughSignatures")
    );
    assert!(
        revert_of(&rig.operator, rollup, call(vec![signers[0].1, signers[0].1]))
            .await
            .contains("DuplicateOrUnsortedSigner")
    );
    let outsider = (dev_signer(9).unwrap().address(), sign(9));
    let mut with_outsider = [signers[0], outsider];
    with_outsider.sort();
    assert!(
        revert_of(&rig.operator, rollup, call(with_outsider.iter().map(|s| s.1).collect()))
            .await
            .contains("NotACommitteeMember")
    );

    // The operator is gone: the state is rebuilt from L1 and the committee, with one member
    // down, and every user exits.
    members.remove(0).stop().await;
    let (rebuilt, _) = rebuild(&rig.reader, &committee).await.expect("rebuilt from the committee");
    assert_eq!(rebuilt.root(), head.root());
    rig.escape_hatch(&rebuilt).await;
    for member in members {
        member.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validium_on_the_embedded_l1() {
    validium_end_to_end(TestL1::embedded()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validium_on_anvil() {
    let Some(l1) = TestL1::anvil() else { return };
    validium_end_to_end(l1).await;
}

/// An operator of the test shape for a made-up deployment, with its signing domain.
fn test_operator() -> (ply_zk::Fr, ply_zk::node::Operator) {
    let domain = ply_zk::circuit::signing_domain(31337, Address::repeat_byte(0xdd));
    let genesis =
        ZkState::new(&BATCH_PARAMS, domain, Address::repeat_byte(0xee), key(0).public_key())
            .unwrap();
    (domain, ply_zk::node::Operator::new(BATCH_PARAMS, genesis))
}

/// A deposit of one unit (10^18) of `token` from dev account `i`, with its L2 key.
fn deposit_op(i: usize, token: u32) -> ZkOperation {
    ZkOperation::Deposit(ply_zk::circuit::ZkDeposit {
        to: dev_signer(i).unwrap().address(),
        public_key: key(i).public_key(),
        token,
        amount: ETHER,
    })
}

#[test]
fn an_operation_that_could_not_be_logged_is_taken_back() {
    let (domain, mut operator) = test_operator();
    operator.deposit(0, deposit_op(1, 0)).unwrap();
    let before = operator.head().root();
    operator.deposit(1, deposit_op(2, 0)).unwrap();
    operator.undo_last();
    assert_eq!(
        (operator.head().root(), operator.next_deposit(), operator.log().len()),
        (before, 1, 1)
    );

    let transfer =
        ZkOperation::Transfer(ZkTransfer::signed(&key(1), domain, 1, 0, 0, ETHER / 4, 0, 0));
    let (id, _) = operator.accept(transfer.clone()).unwrap();
    operator.undo_last();
    assert_eq!(operator.head().root(), before);
    assert!(operator.status(&id).is_none());
    assert_eq!(operator.accept(transfer).unwrap().0, id, "accepted again after the undo");
}

#[test]
fn a_batch_ends_where_the_circuit_could_not_prove_more() {
    let (domain, mut operator) = test_operator();
    operator.deposit(0, deposit_op(1, 0)).unwrap();
    operator.deposit(1, deposit_op(2, 1)).unwrap();
    let fee = 1_000_000_000_000u128;
    // Account 1 pays account 0 with a fee in ETH; account 2 pays a fee in token 1 (one fee slot
    // a batch: it opens the next batch); account 0 then withdraws what it was paid and the ETH
    // fee, which the head credited at once but a batch credits only at its end.
    let ops = [
        ZkOperation::Transfer(ZkTransfer::signed(&key(1), domain, 1, 0, 0, ETHER / 4, fee, 0)),
        ZkOperation::Transfer(ZkTransfer::signed(&key(2), domain, 2, 1, 1, ETHER / 2, fee, 0)),
        ZkOperation::Withdrawal(ZkWithdrawal::signed(&key(0), domain, 0, 0, ETHER / 4 + fee, 0, 0)),
    ];
    for op in ops {
        operator.accept(op).expect("the head accepts it");
    }
    let mut lens = Vec::new();
    while operator.next_batch_len() > 0 {
        let len = operator.next_batch_len();
        let (_, witness) = operator.cut_batch().unwrap().expect("a batch");
        let keys = batch_keys();
        let proof = keys.prove(witness.circuit.clone(), &mut StdRng::seed_from_u64(3));
        let proof = proof.expect("every cut batch can be proven");
        assert!(groth16::verify(&keys.vk, &[witness.commitment], &proof));
        lens.push(len);
    }
    assert_eq!(
        lens,
        [3, 1, 1],
        "deposits and the ETH transfer; the token transfer; the withdrawal"
    );
    let account0 = operator.head().account(0).unwrap();
    assert_eq!(account0.balances.get(&0), None, "account 0 withdrew all its ETH");
    assert_eq!(account0.balances.get(&1), Some(&fee));
}

#[test]
fn the_log_belongs_to_one_deployment() {
    // A data directory reused for a new contract (a redeployed devnet) must not replay the old
    // contract's operations against it.
    let dir = tempfile::tempdir().unwrap();
    let ours = ply_zk::circuit::signing_domain(31337, Address::repeat_byte(0xdd));
    let theirs = ply_zk::circuit::signing_domain(31337, Address::repeat_byte(0xde));
    drop(OperatorStore::open(dir.path(), ours).expect("a new log"));
    drop(OperatorStore::open(dir.path(), ours).expect("its own log, again"));
    let err = OperatorStore::open(dir.path(), theirs).unwrap_err();
    assert!(err.to_string().contains("another deployment"), "{err}");
    let other_chain = ply_zk::circuit::signing_domain(1, Address::repeat_byte(0xdd));
    assert!(OperatorStore::open(dir.path(), other_chain).is_err());
}

// ------------------------------------------------------------------ the priority queue's attacks

/// The embedded L1 of the flood: the contracts are deployed on a chain with the default 30M
/// gas limit, which then reopens (its database in `dir`) with `gas_limit` and manual mining:
/// a block mined every `FLOOD_BLOCK_WALL` of wall time, 12 L1 seconds after its parent. A
/// small gas limit keeps a full block to a handful of deposits, so that the operator (2
/// priority slots a batch, a few seconds a proof) drains the flood within the test's time.
const FLOOD_GAS_LIMIT: u64 = 600_000;
/// The wall time between two L1 blocks of the flood's chain.
const FLOOD_BLOCK_WALL: Duration = Duration::from_millis(1_500);
/// The blocks the flood fills with deposits.
const FLOOD_BLOCKS: usize = 2;

/// The flood's deadline and spacing (L1 seconds), sized to this machine's operator as a
/// deployment sizes them to its prover: one batch's time is measured (a proof with the batch
/// key, plus a block to be mined and a second for the cut and the submission) and turned into
/// L1 seconds at this chain's pace. The spacing gives each operation the time of a whole
/// batch (2 priority slots: a margin of 2, doubled again for load that comes and goes); the
/// deadline is 3 batches, so that without spacing the flood (4 batches of deposits) would be
/// overdue before the operator could reach its end.
fn flood_deadlines() -> (u64, u64) {
    let genesis = ZkState::new(
        &BATCH_PARAMS,
        ply_zk::Fr::from(0u64),
        dev_signer(0).unwrap().address(),
        key(0).public_key(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    Rig::empty_batch(&genesis);
    let batch = started.elapsed() + FLOOD_BLOCK_WALL + Duration::from_secs(1);
    let batch_l1 = (batch.as_secs_f64() / FLOOD_BLOCK_WALL.as_secs_f64() * 12.0).ceil() as u64;
    (3 * batch_l1, 2 * batch_l1)
}

/// Mines a block every [`FLOOD_BLOCK_WALL`], each 12 L1 seconds after its parent.
fn spawn_miner(node: Node) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FLOOD_BLOCK_WALL).await;
            node.with(|c| {
                let next = c.head().header.timestamp + 12;
                c.mine(Some(next)).expect("mines");
            });
        }
    })
}

/// The deposit flood of issue 10 against the real operator: the contracts run on an L1 whose
/// blocks hold a handful of deposits; a flooder fills [`FLOOD_BLOCKS`] blocks with the
/// cheapest deposits (the most the L1 allows), paying the priority fee for each; the real
/// operator keeps cutting, proving and submitting batches of 2 priority slots. After every
/// block, `activateExitMode` must revert: exit mode never becomes available, and the queue
/// drains.
#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_flood_at_the_l1s_limit_does_not_force_exit_mode() {
    let (deadline, interval) = flood_deadlines();
    let dir = tempfile::tempdir().unwrap();
    let contracts = {
        let node = Node::open(ChainConfig::default(), dir.path()).unwrap();
        let l1 = TestL1 {
            client: Arc::new(EmbeddedClient::new(node.clone())),
            _node: Some(node),
            _anvil: None,
        };
        deploy_contracts(&l1, Vec::new(), 0, deadline, interval).await
    };
    let config = ChainConfig {
        block_gas_limit: FLOOD_GAS_LIMIT,
        mining: ply_l1::chain::Mining::Manual,
        ..ChainConfig::default()
    };
    let node = Node::open(config, dir.path()).unwrap();
    let miner = spawn_miner(node.clone());
    let l1 = TestL1 {
        client: Arc::new(EmbeddedClient::new(node.clone())),
        _node: Some(node),
        _anvil: None,
    };
    let mut rig = start_rig(l1, contracts, Vec::new(), 0).await;
    let rollup = rig.contracts.rollup;
    let client = rig.l1.client.clone();
    let activate = ZkRollup::activateExitModeCall {}.abi_encode();
    let exit_mode_refused = || async {
        let req = TransactionRequest::default()
            .from(rig.operator.address())
            .to(rollup)
            .input(Bytes::from(activate.clone()).into());
        if client.call(&req, BlockId::latest()).await.is_ok() {
            let head = rig.reader.view(ZkRollup::priorityHeadCall {}).await.unwrap();
            let op = rig.reader.view(ZkRollup::priorityOpCall { id: head }).await.unwrap();
            let now = ply_l1::client::latest_timestamp(client.as_ref()).await.unwrap();
            panic!("exit mode became available: operation {head} due {} at {now}", op.deadline);
        }
    };

    // The flooder's account exists: its later deposits are the cheapest there are.
    const FLOODER: usize = 5;
    rig.deposit(FLOODER, 1).await;
    let flooder = rig.l1.sender(FLOODER);
    let pk = key(FLOODER).public_key();
    let call =
        ZkRollup::depositEthCall { amount: 1, pkX: fr_to_u256(pk.0.x), pkY: fr_to_u256(pk.0.y) };
    let request = TransactionRequest::default()
        .to(rollup)
        .input(Bytes::from(call.abi_encode()).into())
        .value(U256::from(1 + PRIORITY_FEE));
    let gas = client.estimate_gas(&request.clone().from(flooder.address())).await.unwrap();
    let per_block = (FLOOD_GAS_LIMIT / gas) as usize;
    assert!(per_block >= 4, "a block holds {per_block} deposits of {gas} gas");

    // The flood: each block's worth sent right after a block, so that every block mined
    // during the flood finds at least a full block of deposits waiting.
    let first = rig.reader.view(ZkRollup::priorityTailCall {}).await.unwrap();
    let mut flood_blocks = Vec::new();
    let mut last = client.block_number().await.unwrap();
    for round in 0..=FLOOD_BLOCKS {
        let mined = wait_for("the next L1 block", || async {
            let now = client.block_number().await.unwrap();
            (now > last).then_some(now)
        })
        .await;
        if round > 0 {
            flood_blocks.push(mined);
        }
        last = mined;
        exit_mode_refused().await;
        if round < FLOOD_BLOCKS {
            for _ in 0..per_block {
                flooder.send(request.clone().gas_limit(gas)).await.expect("a flood deposit");
            }
        }
    }
    let flooded = per_block * FLOOD_BLOCKS;
    let tail = rig.reader.view(ZkRollup::priorityTailCall {}).await.unwrap();
    // The flood's blocks were full: what L1 allows, no more.
    let mut in_flood_blocks = 0u64;
    for number in &flood_blocks {
        let header = client
            .header(alloy::eips::BlockNumberOrTag::Number(*number))
            .await
            .unwrap()
            .expect("mined");
        assert!(header.gas_used + gas > FLOOD_GAS_LIMIT, "block {number} is not full: {header:?}");
        in_flood_blocks += header.gas_used / gas;
    }
    assert!(
        in_flood_blocks >= per_block as u64,
        "{in_flood_blocks} deposits in the flood's blocks"
    );

    // The operator keeps proving and submitting; after each block, exit mode is unavailable.
    let drained = first + flooded as u64;
    loop {
        let head = rig.reader.view(ZkRollup::priorityHeadCall {}).await.unwrap();
        exit_mode_refused().await;
        let tail_now = rig.reader.view(ZkRollup::priorityTailCall {}).await.unwrap();
        if head >= drained && head == tail_now {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!rig.reader.view(ZkRollup::exitModeCall {}).await.unwrap());
    assert!(tail >= drained, "the whole flood was queued");
    // The flood was pushed back by the spacing, not by the deadline: its last deposit's
    // deadline lies far beyond the time it was queued plus the deadline.
    let last_op = rig.reader.view(ZkRollup::priorityOpCall { id: drained - 1 }).await.unwrap();
    let first_op = rig.reader.view(ZkRollup::priorityOpCall { id: first }).await.unwrap();
    assert!(last_op.deadline >= first_op.deadline + interval * (flooded as u64 - 1));
    assert!(last_op.deadline > first_op.deadline + deadline, "the spacing, not the deadline");
    // Every deposit of the flood burned the fee: the flood cost real money besides gas.
    let burned = rig.reader.view(ZkRollup::feesBurnedCall {}).await.unwrap();
    assert_eq!(burned, U256::from(PRIORITY_FEE) * U256::from(tail));
    // The flooder's deposits reached L2: its balance is every wei it deposited.
    rig.all_verified().await;
    let flooder_index = rig.account_of(FLOODER).await;
    let balance =
        rig.node().with_operator(|o| o.head().account(flooder_index).unwrap().balances[&0]);
    assert_eq!(balance, 1 + flooded as u128);
    rig.stop().await;
    miner.abort();
}

/// The overflowing deposit of issue 10, end to end: a listed token, a deposit of 2^128 - 1,
/// then 1 more to the same account. The real operator proves the batch with the second
/// deposit refused, L1 verifies it and credits the refused wei to the depositor, who claims
/// it on L1; the chain keeps going (a later deposit is credited and verified).
async fn an_overflowing_deposit(l1: TestL1) {
    use ply_contracts::TestToken;
    let mut rig = rig(l1, Vec::new(), 0).await;
    let rollup = rig.contracts.rollup;
    let token = {
        use alloy::sol_types::SolConstructor;
        let mut code = TestToken::BYTECODE.to_vec();
        code.extend_from_slice(
            &TestToken::constructorCall {
                name_: "Big".into(),
                symbol_: "BIG".into(),
                decimals_: 0,
            }
            .abi_encode(),
        );
        rig.operator.deploy(code.into()).await.expect("token deploys")
    };
    let register = ZkRollup::registerTokenCall { token }.abi_encode();
    rig.operator.send_call(rollup, register, U256::ZERO).await.expect("listed");
    let id = rig.reader.view(ZkRollup::tokenIdCall { token }).await.unwrap();
    let id = u8::try_from(id).unwrap();
    let alice = rig.l1.sender(1);
    let alice_l1 = alice.address();
    let mint = TestToken::mintCall { to: alice_l1, amount: U256::from(u128::MAX) + U256::from(1) };
    rig.operator.send_call(token, mint.abi_encode(), U256::ZERO).await.expect("minted");
    let approve = TestToken::approveCall { spender: rollup, amount: U256::MAX };
    alice.send_call(token, approve.abi_encode(), U256::ZERO).await.expect("approved");
    let pk = key(1).public_key();
    let fee = U256::from(PRIORITY_FEE);
    for amount in [u128::MAX, 1] {
        let deposit = ZkRollup::depositErc20Call {
            token,
            amount,
            pkX: fr_to_u256(pk.0.x),
            pkY: fr_to_u256(pk.0.y),
        };
        alice.send_call(rollup, deposit.abi_encode(), fee).await.expect("queued");
    }

    // The operator proves both: the first credited, the second refused; L1 pays it back.
    wait_for("the refused deposit paid back", || async {
        let pending =
            rig.reader.view(ZkRollup::pendingCall { owner: alice_l1, token: id }).await.unwrap();
        (pending == U256::from(1)).then_some(())
    })
    .await;
    rig.all_verified().await;
    let index = rig.account_of(1).await;
    let balances = rig.node().with_operator(|o| o.head().account(index).unwrap().balances.clone());
    assert_eq!(balances[&u32::from(id)], u128::MAX, "the first deposit was credited");
    assert_eq!(rig.reader.view(ZkRollup::priorityHeadCall {}).await.unwrap(), 2);
    let claim = ZkRollup::claimCall { owner: alice_l1, token: id }.abi_encode();
    rig.l1.sender(3).send_call(rollup, claim, U256::ZERO).await.expect("claim");
    let held = TestToken::balanceOfCall { account: alice_l1 };
    let out = rig
        .l1
        .client
        .call(
            &TransactionRequest::default().to(token).input(Bytes::from(held.abi_encode()).into()),
            BlockId::latest(),
        )
        .await
        .unwrap();
    assert_eq!(TestToken::balanceOfCall::abi_decode_returns(&out).unwrap(), U256::from(1));

    // The chain keeps going: Bob's deposit is credited and verified.
    rig.deposit(2, ETHER).await;
    let bob = rig.account_of(2).await;
    rig.all_verified().await;
    assert_eq!(rig.node().with_operator(|o| o.head().account(bob).unwrap().balances[&0]), ETHER);
    assert!(!rig.reader.view(ZkRollup::exitModeCall {}).await.unwrap());
    rig.stop().await;
    // The rebuild from L1 agrees, the refusal included.
    let (state, _) = rebuild(&rig.reader, &[]).await.expect("derivation");
    assert_eq!(state.account(index).unwrap().balances[&u32::from(id)], u128::MAX);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overflowing_deposit_is_refused_paid_back_and_the_chain_goes_on() {
    an_overflowing_deposit(TestL1::embedded()).await;
}
