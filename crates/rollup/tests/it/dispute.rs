//! The dispute game end to end, on the embedded L1 and on anvil: real batches appended to the
//! Rollup, a dishonest proposer (a test double of the proposer that claims a wrong trace) and
//! the Rust challenger playing the bisection down to the one-step proof that the StepExecutor
//! runs on L1. The attacker always loses: its bond is slashed, its output is removed before
//! anyone can be paid against it, and the correct output finalises afterwards.

use crate::harness::{
    DeployOptions, Deployment, TestL1, append_batch_call, batcher_key, bond, call_req,
    deploy_rollup, ether, fee_account, fresh_signer, milli, proposer_key, send_value, transfer,
    withdrawal,
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use ply_contracts::{Bridge, Rollup};
use ply_ledger::{Ledger, LedgerConfig, LedgerError, Tx, VerifiedTx, signature::to_compact};
use ply_rollup::{
    batch::{self, Batch, BatchBlock, BatchTx, Recipient},
    derivation::BatchTrace,
    fraud::{
        Trace, TxVerifier,
        player::{Claims, Move, Player, PlayerConfig, honest_claims},
    },
};
use std::sync::{Arc, Mutex};

const GAME_ACTIVE: u8 = 1;
const GAME_CHALLENGER_WON: u8 = 2;
const GAME_DEFENDER_WON: u8 = 3;

/// A verifier that accepts every signature: the dishonest proposer's derivation.
struct AcceptAll;

impl TxVerifier for AcceptAll {
    fn verify(&mut self, tx: Tx, _signature: &[u8; 64]) -> Result<VerifiedTx, LedgerError> {
        Ok(VerifiedTx::assume_verified(tx))
    }
}

async fn view<C: SolCall>(l1: &TestL1, to: Address, call: C) -> C::Return {
    let req = TransactionRequest::default().to(to).input(Bytes::from(call.abi_encode()).into());
    let out = l1.client.call(&req, alloy::eips::BlockId::latest()).await.unwrap();
    C::abi_decode_returns(&out).unwrap()
}

/// A rollup with alice's 5 ETH deposit and one batch: the deposit, alice → bob 1 ETH (valid),
/// and a transfer "from alice" to bob signed by mallory (bad signature).
async fn rollup_with_a_batch(l1: &TestL1) -> (Deployment, PrivateKeySigner) {
    let deployment =
        deploy_rollup(l1, DeployOptions { challenge_window: 30, ..DeployOptions::default() }).await;
    let alice = fresh_signer(0xa1);
    let bob = fresh_signer(0xb0).address();
    let bridge = deployment.contracts.bridge;
    send_value(&l1.sender(3), bridge, Bridge::depositETHCall { to: alice.address() }, ether(5))
        .await;
    let config = &deployment.config;
    let good = transfer(&alice, bob, 0, ether(1), U256::ZERO, 0, config);
    let mallory = fresh_signer(0x66);
    let forged_sig = Tx::Transfer(ply_ledger::Transfer {
        from: alice.address(),
        to: bob,
        token: 0,
        amount: ether(2),
        fee: U256::ZERO,
        nonce: 1,
    })
    .sign(&mallory, &config.domain())
    .unwrap();
    let packed = |tx: &ply_ledger::SignedTx, to: Recipient| BatchTx::Transfer {
        token: 0,
        from: 1,
        to,
        amount: tx.tx.amount(),
        fee: U256::ZERO,
        signature: to_compact(&tx.signature).unwrap(),
    };
    let data = batch::encode(&Batch {
        blocks: vec![BatchBlock {
            timestamp: 1,
            deposits: 1,
            txs: vec![packed(&good, Recipient::New(bob)), packed(&forged_sig, Recipient::Index(2))],
        }],
    })
    .unwrap();
    l1.sender_for(batcher_key())
        .send_and_check(call_req(deployment.contracts.rollup, append_batch_call(1, data)))
        .await
        .unwrap();
    (deployment, alice)
}

fn player(
    l1: &TestL1,
    deployment: &Deployment,
    key: PrivateKeySigner,
    challenge: bool,
    claims: Claims,
) -> Player {
    let config = PlayerConfig {
        rollup: deployment.config.clone(),
        challenge,
        defend: true,
        claims,
        start_block: deployment.start_block,
    };
    Player::new(l1.client.clone(), l1.sender_for(key), config).unwrap()
}

/// The dishonest proposer's trace of batch 0: the batch run with every signature accepted.
fn lying_trace(honest: &BatchTrace) -> Trace {
    Trace::build(
        Ledger::new(LedgerConfig::new(fee_account())).unwrap(),
        &honest.input(),
        &mut AcceptAll,
    )
    .unwrap()
}

/// Plays both sides until the game ends (bounded), returning the challenger's moves.
async fn play_out(
    l1: &TestL1,
    rollup: Address,
    liar: &mut Player,
    challenger: &mut Player,
) -> Vec<Move> {
    let mut moves = Vec::new();
    for _ in 0..80 {
        liar.tick().await.unwrap();
        moves.extend(challenger.tick().await.unwrap());
        let games: U256 = view(l1, rollup, Rollup::gameCountCall {}).await;
        if games > U256::ZERO {
            let game = view(l1, rollup, Rollup::gameCall { gameId: U256::ZERO }).await;
            if game.status != GAME_ACTIVE {
                // One more tick collects the credit.
                moves.extend(challenger.tick().await.unwrap());
                return moves;
            }
        }
    }
    panic!("the game did not end: {moves:?}");
}

async fn a_proposer_applying_a_bad_signature_loses(l1: TestL1) {
    let (deployment, _) = rollup_with_a_batch(&l1).await;
    let rollup = deployment.contracts.rollup;

    // The challenger derives batch 0 from L1; the liar runs it accepting every signature.
    let mut challenger =
        player(&l1, &deployment, ply_core::dev::dev_signer(6).unwrap(), true, honest_claims());
    challenger.tick().await.unwrap();
    let honest = challenger.derivation().trace(0).unwrap().expect("batch 0 derived");
    let lie = Arc::new(lying_trace(&honest));
    assert_ne!(
        lie.output_root(),
        honest.trace.output_root(),
        "the forged transfer changes the state"
    );
    let end = lie.end().clone().state();
    let lie_claims: Claims = {
        let lie = lie.clone();
        Arc::new(move |_: &BatchTrace, step: u64| lie.hash(step).unwrap())
    };
    let mut liar = player(&l1, &deployment, proposer_key(), false, lie_claims);
    liar.tick().await.unwrap();

    // The liar proposes its output.
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: ply_rollup::fraud::state_commitment(&end),
        withdrawalRoot: end.withdrawalRoot,
    };
    send_value(&l1.sender_for(proposer_key()), rollup, propose, bond()).await;
    let on_l1: B256 = view(&l1, rollup, Rollup::outputRootCall { batchIndex: U256::ZERO }).await;
    assert_eq!(on_l1, lie.output_root());

    let challenger_before = l1.eth_balance(challenger.address()).await;
    let moves = play_out(&l1, rollup, &mut liar, &mut challenger).await;
    assert!(matches!(moves[0], Move::Challenged { batch: 0, game: 0 }), "{moves:?}");
    let steps: Vec<u64> = moves
        .iter()
        .filter_map(|m| if let Move::Stepped { step, .. } = m { Some(*step) } else { None })
        .collect();
    // The leaf is the forged transfer: step 2 (the deposit is step 0, the good transfer step 1).
    assert_eq!(steps, vec![2], "{moves:?}");

    let game = view(&l1, rollup, Rollup::gameCall { gameId: U256::ZERO }).await;
    assert_eq!(game.status, GAME_CHALLENGER_WON);
    // The wrong output is gone: nothing can be paid against it.
    let outputs: U256 = view(&l1, rollup, Rollup::outputCountCall {}).await;
    assert_eq!(outputs, U256::ZERO);
    // The challenger got its bond back and half the proposer's (less its gas).
    let challenger_after = l1.eth_balance(challenger.address()).await;
    assert!(challenger_after > challenger_before, "{challenger_before} -> {challenger_after}");
    let locked: U256 = view(&l1, rollup, Rollup::lockedBondsCall {}).await;
    assert_eq!(locked, bond() - bond() / U256::from(2));

    // An honest proposer proposes the derived output; it finalises after the window.
    let report = challenger.derivation().report(0).unwrap().roots();
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: report.state_root,
        withdrawalRoot: report.withdrawal_root,
    };
    send_value(&l1.sender(4), rollup, propose, bond()).await;
    // The challenger finds nothing to dispute.
    let moves = challenger.tick().await.unwrap();
    assert!(moves.is_empty(), "{moves:?}");
    l1.advance(31).await;
    let is_final: bool = view(&l1, rollup, Rollup::isFinalCall { batchIndex: U256::ZERO }).await;
    assert!(is_final);
}

async fn a_challenger_of_a_correct_output_loses(l1: TestL1) {
    let (deployment, _) = rollup_with_a_batch(&l1).await;
    let rollup = deployment.contracts.rollup;
    let mut defender = player(&l1, &deployment, proposer_key(), false, honest_claims());
    defender.tick().await.unwrap();
    let roots = defender.derivation().report(0).unwrap().roots();
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: roots.state_root,
        withdrawalRoot: roots.withdrawal_root,
    };
    send_value(&l1.sender_for(proposer_key()), rollup, propose, bond()).await;

    // A griefer challenges the correct output and then stops answering.
    let trace = defender.derivation().trace(0).unwrap().unwrap();
    let data = ply_rollup::fraud::BatchData::new(trace.batch.data.to_vec());
    let griefer = l1.sender_for(fresh_signer(0x99));
    let fund = TransactionRequest::default().to(griefer.address()).value(ether(1));
    l1.sender(5).send_and_check(fund).await.unwrap();
    let challenger_bond: U256 = view(&l1, rollup, Rollup::challengerBondCall {}).await;
    let challenge = Rollup::challengeCall {
        batchIndex: U256::ZERO,
        prevQueueCount: U256::ZERO,
        newQueueCount: U256::from(1),
        dataRoot: data.root(),
        dataLength: U256::from(trace.batch.data.len()),
    };
    send_value(&griefer, rollup, challenge, challenger_bond).await;

    // The defender bisects; the griefer never responds and runs out of time.
    let moves = defender.tick().await.unwrap();
    assert!(matches!(moves[..], [Move::Bisected { game: 0, .. }]), "{moves:?}");
    let clock: u64 = view(&l1, rollup, Rollup::clockDurationCall {}).await;
    l1.advance(clock + 1).await;
    let moves = defender.tick().await.unwrap();
    assert!(moves.contains(&Move::TimedOut { game: 0 }), "{moves:?}");
    let game = view(&l1, rollup, Rollup::gameCall { gameId: U256::ZERO }).await;
    assert_eq!(game.status, GAME_DEFENDER_WON);
    // The output stands and finalises.
    l1.advance(31).await;
    let is_final: bool = view(&l1, rollup, Rollup::isFinalCall { batchIndex: U256::ZERO }).await;
    assert!(is_final);
}

#[tokio::test]
async fn embedded_a_proposer_applying_a_bad_signature_loses() {
    a_proposer_applying_a_bad_signature_loses(TestL1::embedded()).await;
}

#[tokio::test]
async fn anvil_a_proposer_applying_a_bad_signature_loses() {
    if let Some(l1) = TestL1::anvil().await {
        a_proposer_applying_a_bad_signature_loses(l1).await;
    }
}

#[tokio::test]
async fn embedded_a_challenger_of_a_correct_output_loses_on_time() {
    a_challenger_of_a_correct_output_loses(TestL1::embedded()).await;
}

/// A batch with a step of every kind: a deposit and a forced withdrawal from the queue, a
/// transfer creating an account, a withdrawal, a malformed tail, a deposit drained after it,
/// and the end.
async fn rollup_with_every_kind_of_step(l1: &TestL1) -> Deployment {
    let deployment =
        deploy_rollup(l1, DeployOptions { challenge_window: 30, ..DeployOptions::default() }).await;
    let (bridge, config) = (deployment.contracts.bridge, &deployment.config);
    // Alice is dev account 3: her L1 key owns her L2 account, so she can force a withdrawal.
    let alice = ply_core::dev::dev_signer(3).unwrap();
    let (bob, carol) = (fresh_signer(0xb0).address(), fresh_signer(0xc0).address());
    let alice_l1 = l1.sender(3);
    send_value(&alice_l1, bridge, Bridge::depositETHCall { to: alice.address() }, ether(5)).await;
    let force = Bridge::forceWithdrawalCall { to: alice.address(), token: 0, amount: ether(1) };
    alice_l1.send_and_check(call_req(bridge, force)).await.unwrap();
    send_value(&alice_l1, bridge, Bridge::depositETHCall { to: carol }, ether(2)).await;

    let pay = transfer(&alice, bob, 0, ether(1), milli(1), 0, config);
    let out = withdrawal(&alice, alice.address(), 0, milli(500), milli(1), 1, config);
    let compact = |tx: &ply_ledger::SignedTx| to_compact(&tx.signature).unwrap();
    let mut data = batch::encode(&Batch {
        blocks: vec![
            BatchBlock {
                timestamp: 5,
                deposits: 2,
                txs: vec![
                    BatchTx::Transfer {
                        token: 0,
                        from: 1,
                        to: Recipient::New(bob),
                        amount: ether(1),
                        fee: milli(1),
                        signature: compact(&pay),
                    },
                    BatchTx::Withdrawal {
                        token: 0,
                        from: 1,
                        to: alice.address(),
                        amount: milli(500),
                        fee: milli(1),
                        signature: compact(&out),
                    },
                ],
            },
            // A second block whose header is cut short below: the batch is malformed there.
            BatchBlock { timestamp: 6, deposits: 0, txs: vec![] },
        ],
    })
    .unwrap();
    data.truncate(data.len() - 3);
    l1.sender_for(batcher_key())
        .send_and_check(call_req(deployment.contracts.rollup, append_batch_call(3, data)))
        .await
        .unwrap();
    deployment
}

/// Wherever a dishonest proposer's trace first departs from the truth (at every step of a
/// batch with every kind of step, the end included), the bisection lands on that step, the
/// L1 executes it and the challenger wins; the disproven output is proposed again by the liar,
/// departing elsewhere, and loses again.
#[tokio::test]
async fn a_lie_starting_at_any_step_loses() {
    let l1 = TestL1::embedded();
    let deployment = rollup_with_every_kind_of_step(&l1).await;
    let rollup = deployment.contracts.rollup;
    let mut challenger =
        player(&l1, &deployment, ply_core::dev::dev_signer(6).unwrap(), true, honest_claims());
    challenger.tick().await.unwrap();
    let honest = challenger.derivation().trace(0).unwrap().expect("batch 0 derived");
    let report = challenger.derivation().report(0).unwrap().clone();
    assert!(report.malformed.is_some(), "{report:?}");
    assert_eq!((report.applied_txs, report.skipped_deposits.len()), (2, 0));
    let steps = honest.trace.steps();

    // The lie: the honest hashes before step `from`, made-up ones from there on, ending in
    // the output root of a made-up state commitment.
    let from = Arc::new(Mutex::new(1u64));
    let wrong_commitment = B256::repeat_byte(0x0b);
    let withdrawal_root = report.roots().withdrawal_root;
    let lie_root = ply_rollup::fraud::output_root(wrong_commitment, withdrawal_root);
    let claims: Claims = {
        let from = from.clone();
        Arc::new(move |trace: &BatchTrace, step: u64| {
            let from = *from.lock().unwrap();
            let honest = trace.trace.hash(step).unwrap();
            if step < from {
                honest
            } else if step == trace.trace.steps() {
                lie_root
            } else {
                alloy::primitives::keccak256([honest.as_slice(), &from.to_be_bytes()].concat())
            }
        })
    };
    let mut liar = player(&l1, &deployment, proposer_key(), false, claims);
    for (round, start) in (1..=steps).enumerate() {
        *from.lock().unwrap() = start;
        let propose = Rollup::proposeOutputCall {
            batchIndex: U256::ZERO,
            stateCommitment: wrong_commitment,
            withdrawalRoot: withdrawal_root,
        };
        send_value(&l1.sender_for(proposer_key()), rollup, propose, bond()).await;
        let game = U256::from(round);
        let mut stepped = None;
        for _ in 0..60 {
            liar.tick().await.unwrap();
            for m in challenger.tick().await.unwrap() {
                if let Move::Stepped { step, .. } = m {
                    stepped = Some(step);
                }
            }
            if view(&l1, rollup, Rollup::gameCall { gameId: game }).await.status != GAME_ACTIVE {
                break;
            }
        }
        let state = view(&l1, rollup, Rollup::gameCall { gameId: game }).await;
        assert_eq!(state.status, GAME_CHALLENGER_WON, "lie from step {start}");
        assert_eq!(stepped, Some(start - 1), "lie from step {start}: the leaf is where it starts");
        let outputs: U256 = view(&l1, rollup, Rollup::outputCountCall {}).await;
        assert_eq!(outputs, U256::ZERO, "lie from step {start}: the output is removed");
    }
    // Half of every slashed bond is locked for good.
    let locked: U256 = view(&l1, rollup, Rollup::lockedBondsCall {}).await;
    assert_eq!(locked, U256::from(steps) * (bond() - bond() / U256::from(2)));
}

/// A proposer that skips a valid transaction (its derivation refuses every signature) loses
/// at that transaction's step.
#[tokio::test]
async fn a_proposer_skipping_a_valid_transaction_loses() {
    struct RejectAll;
    impl TxVerifier for RejectAll {
        fn verify(&mut self, tx: Tx, _: &[u8; 64]) -> Result<VerifiedTx, LedgerError> {
            Err(LedgerError::UnknownAccount { address: tx.sender() })
        }
    }
    let l1 = TestL1::embedded();
    let (deployment, _) = rollup_with_a_batch(&l1).await;
    let rollup = deployment.contracts.rollup;
    let mut challenger =
        player(&l1, &deployment, ply_core::dev::dev_signer(6).unwrap(), true, honest_claims());
    challenger.tick().await.unwrap();
    let honest = challenger.derivation().trace(0).unwrap().unwrap();
    let lie = Arc::new(
        Trace::build(
            Ledger::new(LedgerConfig::new(fee_account())).unwrap(),
            &honest.input(),
            &mut RejectAll,
        )
        .unwrap(),
    );
    let end = lie.end().clone().state();
    let claims: Claims = {
        let lie = lie.clone();
        Arc::new(move |_: &BatchTrace, step: u64| lie.hash(step).unwrap())
    };
    let mut liar = player(&l1, &deployment, proposer_key(), false, claims);
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: ply_rollup::fraud::state_commitment(&end),
        withdrawalRoot: end.withdrawalRoot,
    };
    send_value(&l1.sender_for(proposer_key()), rollup, propose, bond()).await;
    let moves = play_out(&l1, rollup, &mut liar, &mut challenger).await;
    // The valid transfer is step 1 (the deposit is step 0).
    assert!(moves.contains(&Move::Stepped { game: 0, step: 1 }), "{moves:?}");
    let game = view(&l1, rollup, Rollup::gameCall { gameId: U256::ZERO }).await;
    assert_eq!(game.status, GAME_CHALLENGER_WON);
}

/// Both players restart in the middle of a game (a crash: nothing but L1 survives) and carry
/// on from where L1 has the game; the liar still loses.
#[tokio::test]
async fn players_restarted_mid_game_pick_it_up_from_l1() {
    let l1 = TestL1::embedded();
    let (deployment, _) = rollup_with_a_batch(&l1).await;
    let rollup = deployment.contracts.rollup;
    let challenger_key = ply_core::dev::dev_signer(6).unwrap();
    let mut challenger = player(&l1, &deployment, challenger_key.clone(), true, honest_claims());
    challenger.tick().await.unwrap();
    let honest = challenger.derivation().trace(0).unwrap().unwrap();
    let lie = Arc::new(lying_trace(&honest));
    let end = lie.end().clone().state();
    let claims: Claims = {
        let lie = lie.clone();
        Arc::new(move |_: &BatchTrace, step: u64| lie.hash(step).unwrap())
    };
    let mut liar = player(&l1, &deployment, proposer_key(), false, claims.clone());
    let propose = Rollup::proposeOutputCall {
        batchIndex: U256::ZERO,
        stateCommitment: ply_rollup::fraud::state_commitment(&end),
        withdrawalRoot: end.withdrawalRoot,
    };
    send_value(&l1.sender_for(proposer_key()), rollup, propose, bond()).await;

    // Challenge, one bisection, one response; then both crash.
    challenger.tick().await.unwrap();
    liar.tick().await.unwrap();
    let moves = challenger.tick().await.unwrap();
    assert!(matches!(moves[..], [Move::Responded { game: 0, .. }]), "{moves:?}");
    drop((challenger, liar));

    let mut challenger = player(&l1, &deployment, challenger_key, true, honest_claims());
    let mut liar = player(&l1, &deployment, proposer_key(), false, claims);
    let moves = play_out(&l1, rollup, &mut liar, &mut challenger).await;
    assert!(
        !moves.iter().any(|m| matches!(m, Move::Challenged { .. })),
        "no second game: {moves:?}"
    );
    let game = view(&l1, rollup, Rollup::gameCall { gameId: U256::ZERO }).await;
    assert_eq!(game.status, GAME_CHALLENGER_WON);
    let games: U256 = view(&l1, rollup, Rollup::gameCountCall {}).await;
    assert_eq!(games, U256::from(1));
}
