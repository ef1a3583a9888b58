//! The rollup end to end, on the embedded L1 and on a real anvil: deposits through the bridge,
//! transfers and withdrawals on L2 (mostly through the sequencer's JSON-RPC API), batches and
//! outputs on L1 checked by an independent derivation node, finality after the challenge
//! window, claims on L1 — and every balance on both layers checked to the wei.

use crate::harness::{
    DeployOptions, Deployment, Model, SequencerRpc, TestL1, call_req, decode_revert, deploy_rollup,
    deploy_token, ether, fee_account, fresh_signer, gas_cost, milli, send, send_value, transfer,
    wait_for, withdrawal,
};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, U256},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use ply_contracts::{Bridge, Rollup, TestToken};
use ply_core::dev::dev_signer;
use ply_l1::client::TxSender;
use ply_ledger::{ETH, SignedTx, TokenId, Tx};
use ply_rollup::{
    derivation::DerivationEvent,
    node::RollupNode,
    sequencer::{
        AccountView, Confirmation, PostedBatch, TxStatus,
        rpc::{StatusView, TxRequest, TxView, WithdrawalView},
    },
};
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    lifecycle(TestL1::embedded()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil() {
    let Some(l1) = TestL1::anvil().await else { return };
    lifecycle(l1).await;
}

/// The fee of ETH transactions (packs as 1 * 10^12).
fn eth_fee() -> U256 {
    U256::from(1_000_000_000_000u64)
}

/// The fee of token transactions (packs as 1 * 10^15).
fn token_fee() -> U256 {
    U256::from(1_000_000_000_000_000u64)
}

/// L1 gas paid by each account whose L1 balance the test checks.
#[derive(Debug, Default)]
struct Gas(BTreeMap<Address, U256>);

impl Gas {
    fn book(&mut self, receipt: &TransactionReceipt) {
        *self.0.entry(receipt.from).or_default() += gas_cost(receipt);
    }

    fn of(&self, who: Address) -> U256 {
        self.0.get(&who).copied().unwrap_or_default()
    }
}

/// An L2 user (its nonces are kept by the [`Model`]).
struct User {
    signer: PrivateKeySigner,
}

impl User {
    fn address(&self) -> Address {
        self.signer.address()
    }
}

/// Sends transactions, through the JSON-RPC API or the sequencer handle, and books them.
struct L2<'a> {
    rpc: SequencerRpc,
    node: &'a RollupNode,
    deployment: &'a Deployment,
    model: Model,
    /// Every confirmed transaction: hash and the transaction.
    sent: Vec<(B256, Tx)>,
}

impl L2<'_> {
    async fn submit(&mut self, tx: SignedTx, through_rpc: bool) -> Confirmation {
        let confirmation: Confirmation = if through_rpc {
            self.rpc.call("ply_sendTransaction", [TxRequest::from_signed(&tx)]).await
        } else {
            self.node.sequencer.submit(tx.clone()).await.unwrap()
        };
        assert_eq!(confirmation.hash, tx.tx.signing_hash(&self.deployment.config.domain()));
        self.model.apply(&tx.tx);
        self.sent.push((confirmation.hash, tx.tx));
        confirmation
    }

    async fn transfer(
        &mut self,
        from: &User,
        to: Address,
        token: TokenId,
        amount: U256,
        through_rpc: bool,
    ) -> B256 {
        let fee = if token == ETH { eth_fee() } else { token_fee() };
        let nonce = self.model.nonce(from.address());
        let tx = transfer(&from.signer, to, token, amount, fee, nonce, &self.deployment.config);
        self.submit(tx, through_rpc).await.hash
    }

    async fn withdraw(&mut self, from: &User, to: Address, token: TokenId, amount: U256) -> B256 {
        let fee = if token == ETH { eth_fee() } else { token_fee() };
        let nonce = self.model.nonce(from.address());
        let tx = withdrawal(&from.signer, to, token, amount, fee, nonce, &self.deployment.config);
        self.submit(tx, true).await.hash
    }

    async fn account(&self, who: Address) -> Option<AccountView> {
        self.rpc.call("ply_getAccount", [who]).await
    }

    async fn tx(&self, hash: B256) -> TxView {
        let view: Option<TxView> = self.rpc.call("ply_getTransaction", [hash]).await;
        view.unwrap_or_else(|| panic!("the sequencer does not know transaction {hash}"))
    }

    async fn status(&self) -> StatusView {
        self.rpc.call("ply_status", ()).await
    }

    async fn batches(&self) -> Vec<PostedBatch> {
        let count = self.status().await.batches;
        let mut batches = Vec::new();
        for index in 0..count {
            let batch: Option<PostedBatch> = self.rpc.call("ply_getBatch", [index]).await;
            batches.push(batch.expect("a counted batch exists"));
        }
        batches
    }

    /// Waits until every transaction sent has `status`.
    async fn wait_all(&self, status: TxStatus) {
        wait_for(&format!("every transaction {status:?}"), || async {
            for (hash, _) in &self.sent {
                if self.tx(*hash).await.status != status {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }
}

/// A withdrawal to claim on L1.
struct Claim {
    hash: B256,
    to: Address,
    token: TokenId,
    amount: U256,
}

async fn claim_call(l2: &L2<'_>, claim: &Claim) -> Bridge::claimWithdrawalCall {
    let view: Option<WithdrawalView> = l2.rpc.call("ply_getWithdrawal", [claim.hash]).await;
    let view = view.expect("a posted withdrawal has a view");
    assert!(view.finalized, "the withdrawal's batch is final");
    assert_eq!((view.to, view.token, view.amount), (claim.to, claim.token, claim.amount));
    assert_eq!(view.proof.len(), ply_ledger::WITHDRAWAL_TREE_DEPTH);
    let batch = l2.tx(claim.hash).await.batch.expect("posted");
    assert_eq!(view.batch_index, batch);
    Bridge::claimWithdrawalCall {
        batchIndex: U256::from(view.batch_index),
        leafIndex: U256::from(view.position),
        to: view.to,
        token: view.token,
        amount: view.amount,
        proof: view.proof,
    }
}

async fn lifecycle(l1: TestL1) {
    let name = l1.name;
    let deployment = deploy_rollup(&l1, DeployOptions::default()).await;
    let (bridge, rollup) = (deployment.contracts.bridge, deployment.contracts.rollup);
    let (token, token_id) = deploy_token(&l1, &deployment).await;
    assert_eq!(token_id, 1, "the first registered token gets id 1");

    let dir = tempfile::tempdir().unwrap();
    let node = deployment.start_node(&l1, dir.path()).await;
    let deriver = deployment.start_derivation(l1.client.clone());

    let alice = User { signer: dev_signer(1).unwrap() };
    let bob = User { signer: dev_signer(2).unwrap() };
    // A new L2 account, created by a transfer; it has no L1 funds.
    let carol = User { signer: fresh_signer(0xc0) };
    // Fresh L1 recipients of withdrawals.
    let x = Address::repeat_byte(0x71);
    let y = Address::repeat_byte(0x72);

    let alice_l1_start = l1.eth_balance(alice.address()).await;
    let bob_l1_start = l1.eth_balance(bob.address()).await;
    for who in [carol.address(), x, y] {
        assert_eq!(l1.eth_balance(who).await, U256::ZERO);
    }

    // Tokens for the users (the deployer mints), then deposits from the users' own L1 keys.
    let deployer = l1.sender(0);
    send(&deployer, token, TestToken::mintCall { to: alice.address(), amount: ether(1_000) }).await;
    send(&deployer, token, TestToken::mintCall { to: bob.address(), amount: ether(500) }).await;

    let mut gas = Gas::default();
    let (alice_l1, bob_l1) = (l1.sender(1), l1.sender(2));
    let deposits = [(&alice_l1, ether(10), ether(400)), (&bob_l1, ether(5), ether(200))];
    for (sender, eth, tokens) in &deposits {
        let to = sender.address();
        gas.book(
            &send(sender, token, TestToken::approveCall { spender: bridge, amount: *tokens }).await,
        );
        gas.book(&send_value(sender, bridge, Bridge::depositETHCall { to }, *eth).await);
        let call = Bridge::depositERC20Call { l1Token: token, to, amount: *tokens };
        gas.book(&send(sender, bridge, call).await);
    }

    let rpc = SequencerRpc::new(node.rpc_addr);
    let mut l2 =
        L2 { rpc, node: &node, deployment: &deployment, model: Model::default(), sent: vec![] };
    for (sender, eth, tokens) in &deposits {
        l2.model.credit(sender.address(), ETH, *eth);
        l2.model.credit(sender.address(), token_id, *tokens);
    }

    // The deposits reach L2 once confirmed on L1.
    for (sender, eth, tokens) in &deposits {
        let who = sender.address();
        let account = wait_for("the deposits on L2", || async {
            l2.account(who).await.filter(|a| a.balances.len() == 2)
        })
        .await;
        assert_eq!(account.balances, BTreeMap::from([(ETH, *eth), (token_id, *tokens)]));
        assert_eq!(account.nonce, 0);
    }

    // Phase 1: transfers in both tokens, one creating Carol's account, and her withdrawal.
    let mut claims = Vec::new();
    l2.transfer(&alice, bob.address(), ETH, ether(1), true).await;
    l2.transfer(&alice, carol.address(), ETH, milli(500), true).await;
    l2.transfer(&bob, alice.address(), token_id, ether(100), true).await;
    l2.transfer(&bob, carol.address(), token_id, ether(7), false).await;
    let hash = l2.withdraw(&carol, x, ETH, milli(200)).await;
    claims.push(Claim { hash, to: x, token: ETH, amount: milli(200) });
    let carol_view = l2.account(carol.address()).await.expect("Carol has an account now");
    assert_eq!(carol_view.index, 3, "accounts: fee 0, Alice 1, Bob 2, Carol 3");

    // Let a batch go out by age before the next phase.
    tokio::time::sleep(Duration::from_millis(700)).await;

    // Phase 2: a load of small transfers (several batches of at most 20 transactions), half of
    // them through the sequencer handle, and withdrawals of both tokens in between.
    for i in 0..30u64 {
        let (from, to) = if i % 2 == 0 { (&alice, &bob) } else { (&bob, &alice) };
        l2.transfer(from, to.address(), ETH, milli(1 + i % 3), i % 4 < 2).await;
        // Spread over several L2 blocks, so that batches are cut between blocks.
        tokio::time::sleep(Duration::from_millis(30)).await;
        if i == 10 {
            let hash = l2.withdraw(&alice, alice.address(), ETH, ether(2)).await;
            claims.push(Claim { hash, to: alice.address(), token: ETH, amount: ether(2) });
        }
        if i == 20 {
            let hash = l2.withdraw(&bob, y, token_id, ether(50)).await;
            claims.push(Claim { hash, to: y, token: token_id, amount: ether(50) });
        }
    }
    let hash = l2.withdraw(&alice, alice.address(), token_id, ether(30)).await;
    claims.push(Claim { hash, to: alice.address(), token: token_id, amount: ether(30) });
    let hash = l2.withdraw(&carol, carol.address(), token_id, ether(3)).await;
    claims.push(Claim { hash, to: carol.address(), token: token_id, amount: ether(3) });

    // Batches and outputs on L1; the derivation node agrees with every output.
    l2.wait_all(TxStatus::Posted).await;
    let batches = wait_for("every sealed block in a proposed batch", || async {
        let status = l2.status().await;
        let batches = l2.batches().await;
        let last = batches.last()?;
        (last.last_block + 1 == status.blocks && batches.iter().all(|b| b.proposed))
            .then_some(batches)
    })
    .await;
    assert!(batches.len() >= 3, "{name}: expected several batches, got {}", batches.len());
    let indices: BTreeSet<u64> = (0..batches.len() as u64).collect();
    wait_for("the derivation node's agreement with every output", || async {
        let agreed: BTreeSet<u64> = deriver.agreed().into_iter().collect();
        (agreed == indices).then_some(())
    })
    .await;
    let batch_count: U256 = l1_view(&l1, rollup, Rollup::batchCountCall {}).await;
    assert_eq!(batch_count, U256::from(batches.len()));
    {
        let core = deriver.core.lock().unwrap();
        for batch in &batches {
            let derived = core.output(batch.index).expect("derived");
            assert_eq!(derived.state_root, batch.state_root, "{name}: batch {}", batch.index);
            assert_eq!(derived.withdrawal_root, batch.withdrawal_root);
            assert_eq!(derived.withdrawals, batch.withdrawals);
        }
        // Outputs commit to the whole state (docs/rollup.md, "The state commitment").
        assert_eq!(core.ledger().commitment().hash(), batches.last().unwrap().state_root);
        assert_eq!(core.ledger().root(), core.ledger().commitment().stateRoot);
    }
    let l2_status = l2.status().await;
    assert_eq!(l2_status.state_root, deriver.core.lock().unwrap().ledger().root());
    assert!(batches.iter().all(|b| !b.finalized));

    // Before the challenge window passes, claims are refused.
    let first = &claims[0];
    let view: WithdrawalView =
        l2.rpc.call::<Option<WithdrawalView>>("ply_getWithdrawal", [first.hash]).await.unwrap();
    assert!(!view.finalized);
    let early = Bridge::claimWithdrawalCall {
        batchIndex: U256::from(view.batch_index),
        leafIndex: U256::from(view.position),
        to: view.to,
        token: view.token,
        amount: view.amount,
        proof: view.proof.clone(),
    };
    let is_final: bool =
        l1_view(&l1, rollup, Rollup::isFinalCall { batchIndex: U256::from(view.batch_index) })
            .await;
    // (anvil's clock may run ahead of the wall clock when it mines many blocks a second.)
    assert!(!is_final || name == "anvil", "{name}: final before the challenge window passed");
    if !is_final {
        let error = l1.client.call(&call_req(bridge, early), BlockId::latest()).await.unwrap_err();
        let error: Rollup::RollupErrors = decode_revert(&error);
        assert!(matches!(error, Rollup::RollupErrors::OutputNotFinal(_)), "{error:?}");
    }

    // Past the challenge window the sequencer sees every batch final.
    l1.advance(61).await;
    l2.wait_all(TxStatus::Final).await;
    let last = U256::from(batches.len() - 1);
    let last_final: bool = l1_view(&l1, rollup, Rollup::isFinalCall { batchIndex: last }).await;
    assert!(last_final, "{name}: the last output is final");

    // Claims: Alice claims hers (paying gas), a relayer claims the others.
    let relayer = l1.sender(3);
    for claim in &claims {
        let call = claim_call(&l2, claim).await;
        let claimer: &TxSender = if claim.to == alice.address() { &alice_l1 } else { &relayer };
        if claim.to == carol.address() {
            // A wrong proof, and a right proof for another amount, are refused first.
            let mut forged = call.clone();
            forged.proof[0] = B256::repeat_byte(0x99);
            let error = relayer.send_and_check(call_req(bridge, forged)).await.unwrap_err();
            let error: Bridge::BridgeErrors = decode_revert(&error);
            assert!(matches!(error, Bridge::BridgeErrors::InvalidProof(_)), "{error:?}");
            let mut greedy = call.clone();
            greedy.amount += U256::from(1u64);
            let error = relayer.send_and_check(call_req(bridge, greedy)).await.unwrap_err();
            let error: Bridge::BridgeErrors = decode_revert(&error);
            assert!(matches!(error, Bridge::BridgeErrors::InvalidProof(_)), "{error:?}");
        }
        let receipt = claimer.send_and_check(call_req(bridge, call.clone())).await.unwrap();
        if claimer.address() == alice.address() {
            gas.book(&receipt);
        }
        let claimed = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| Bridge::WithdrawalClaimed::decode_log(&log.inner).ok())
            .expect("a claim emits WithdrawalClaimed");
        assert_eq!(
            (claimed.to, claimed.token, claimed.amount),
            (claim.to, claim.token, claim.amount)
        );
        // A second claim of the same withdrawal is refused.
        let error = relayer.send_and_check(call_req(bridge, call)).await.unwrap_err();
        let error: Bridge::BridgeErrors = decode_revert(&error);
        assert!(matches!(error, Bridge::BridgeErrors::AlreadyClaimed(_)), "{error:?}");
    }

    // ---- Every balance, to the wei.
    // L2: every account the test touched, against the model.
    let mut accounts = vec![fee_account(), alice.address(), bob.address(), carol.address()];
    accounts.sort();
    for who in &accounts {
        let view = l2.account(*who).await.expect("account exists");
        for token in [ETH, token_id] {
            let have = view.balances.get(&token).copied().unwrap_or_default();
            assert_eq!(
                have,
                l2.model.balance(*who, token),
                "{name}: L2 balance of {who} in token {token}"
            );
        }
        assert_eq!(view.nonce, l2.model.nonce(*who), "{name}: L2 nonce of {who}");
    }
    assert_eq!(l2.status().await.accounts, 4, "no other account was created");
    // The fee account holds exactly the fees paid.
    let fees = |token: TokenId| -> U256 {
        l2.sent.iter().filter(|(_, tx)| tx.token() == token).map(|(_, tx)| tx.fee()).sum()
    };
    let fee_view = l2.account(fee_account()).await.unwrap();
    assert_eq!(fee_view.balances.get(&ETH).copied().unwrap_or_default(), fees(ETH));
    assert_eq!(fee_view.balances.get(&token_id).copied().unwrap_or_default(), fees(token_id));
    // The derived ledger holds the same.
    {
        let core = deriver.core.lock().unwrap();
        for who in &accounts {
            for token in [ETH, token_id] {
                assert_eq!(core.ledger().balance(who, token), l2.model.balance(*who, token));
            }
        }
    }

    // L1: deposits minus gas plus claims.
    let claimed = |to: Address, token: TokenId| -> U256 {
        claims.iter().filter(|c| c.to == to && c.token == token).map(|c| c.amount).sum()
    };
    assert_eq!(
        l1.eth_balance(alice.address()).await,
        alice_l1_start - ether(10) - gas.of(alice.address()) + claimed(alice.address(), ETH),
        "{name}: Alice's L1 ETH"
    );
    assert_eq!(
        l1.eth_balance(bob.address()).await,
        bob_l1_start - ether(5) - gas.of(bob.address()),
        "{name}: Bob's L1 ETH"
    );
    assert_eq!(l1.eth_balance(x).await, milli(200));
    assert_eq!(l1.eth_balance(y).await, U256::ZERO);
    assert_eq!(l1.eth_balance(carol.address()).await, U256::ZERO);
    assert_eq!(l1.token_balance(token, alice.address()).await, ether(1_000 - 400 + 30));
    assert_eq!(l1.token_balance(token, bob.address()).await, ether(500 - 200));
    assert_eq!(l1.token_balance(token, y).await, ether(50));
    assert_eq!(l1.token_balance(token, carol.address()).await, ether(3));
    assert_eq!(l1.token_balance(token, x).await, U256::ZERO);

    // The bridge holds deposits minus claims, which is what the L2 holds in total.
    let eth_claimed: U256 = claims.iter().filter(|c| c.token == ETH).map(|c| c.amount).sum();
    let tokens_claimed: U256 =
        claims.iter().filter(|c| c.token == token_id).map(|c| c.amount).sum();
    let bridge_eth = l1.eth_balance(bridge).await;
    let bridge_tokens = l1.token_balance(token, bridge).await;
    assert_eq!(bridge_eth, ether(15) - eth_claimed, "{name}: bridge ETH");
    assert_eq!(bridge_tokens, ether(600) - tokens_claimed, "{name}: bridge tokens");
    assert_eq!(l2.model.supply(ETH), bridge_eth);
    assert_eq!(l2.model.supply(token_id), bridge_tokens);
    // The rollup holds one bond per output.
    assert_eq!(
        l1.eth_balance(rollup).await,
        deployment.bond * U256::from(batches.len()),
        "{name}: bonds"
    );

    // Nothing went wrong on the derivation side, ever.
    let events = deriver.events();
    assert!(
        !events.iter().any(|e| matches!(e, DerivationEvent::OutputMismatch { .. })),
        "{events:?}"
    );
    drop(deriver);
    node.stop().await;
}

/// Calls a view function of a contract and decodes its return value.
async fn l1_view<C: alloy::sol_types::SolCall>(l1: &TestL1, to: Address, call: C) -> C::Return {
    let out = l1.client.call(&call_req(to, call), BlockId::latest()).await.unwrap();
    C::abi_decode_returns(&out).unwrap()
}
