//! End to end on the embedded L1 with the real contracts: deploy with devnet parameters, deposit
//! ETH, a child block built by [`ChainState`] and signed with the crate's signer, its root
//! submitted, a standard exit with the crate's proof, an exit of a spent output challenged (the
//! challenger takes the bond), exits processed after the exit period, each output paid once; and
//! an operator that includes a transaction spending someone else's output, beaten by the honest
//! owner's exit.

use alloy::{
    eips::BlockId,
    primitives::{Address, U256},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use ply_contracts::{
    PaymentStandardExitGame::PaymentStandardExitGameErrors as GameError,
    PlasmaFramework::PlasmaFrameworkErrors as FrameworkError,
};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID},
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use ply_plasma::{
    BlockTree, ChainState, Deposit, InclusionProof, Output, PaymentTx, SignedTx, SigningDomain,
    UtxoPos,
    l1::{DeployParams, PlasmaContracts, PlasmaL1, deploy, framework_error, standard_exit_error},
};
use std::sync::Arc;

const ETHER: u64 = 1_000_000_000_000_000_000;

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER)
}

struct Party {
    key: PrivateKeySigner,
    l1: PlasmaL1,
}

fn party(client: &DynL1Client, contracts: PlasmaContracts, index: usize) -> Party {
    let key = dev_signer(index).unwrap();
    let sender = Arc::new(TxSender::new(client.clone(), key.clone()));
    Party { key, l1: PlasmaL1::new(sender, contracts) }
}

async fn balance(client: &DynL1Client, who: Address) -> U256 {
    client.balance(who, BlockId::latest()).await.unwrap()
}

fn gas_cost(receipt: &TransactionReceipt) -> U256 {
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

/// A fresh chain with the contracts deployed by the operator (dev account 0).
async fn setup() -> (DynL1Client, PlasmaContracts, Party, DeployParams) {
    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let key = dev_signer(0).unwrap();
    let deployer = TxSender::new(client.clone(), key.clone());
    let params = DeployParams::devnet(deployer.address());
    let contracts = deploy(&deployer, &params).await.unwrap();
    let operator = party(&client, contracts, 0);
    (client, contracts, operator, params)
}

#[tokio::test]
async fn deposit_pay_exit_challenge_process_on_the_embedded_l1() {
    let (client, contracts, operator, params) = setup().await;
    let alice = party(&client, contracts, 1);
    let bob = party(&client, contracts, 2);
    let watcher = party(&client, contracts, 3);
    let domain = SigningDomain::new(DEV_CHAIN_ID, contracts.framework);
    let bond = alice.l1.standard_exit_bond().await.unwrap();
    assert_eq!(bond, U256::from(80_000u64 * params.bond_gas_price));

    // Alice deposits 10 ETH; the child chain learns of it.
    let blknum = alice.l1.deposit_eth(alice.l1.address(), eth(10)).await.unwrap();
    assert_eq!(blknum, 1);
    assert_eq!(balance(&client, contracts.framework).await, eth(10));
    let mut chain = ChainState::new(operator.l1.address());
    let deposit =
        Deposit { blknum, owner: alice.l1.address(), token: Address::ZERO, amount: eth(10) };
    let deposit_pos = chain.apply_deposit(&deposit).unwrap();
    let deposit_tx = deposit.tx().unwrap();

    // Alice pays Bob 4 ETH, 5 back to her, 1 to the operator as a fee.
    let pay = PaymentTx::new(
        vec![deposit_pos],
        vec![
            Output { owner: bob.l1.address(), token: Address::ZERO, amount: eth(4) },
            Output { owner: alice.l1.address(), token: Address::ZERO, amount: eth(5) },
        ],
        Default::default(),
    )
    .unwrap();
    let signed = SignedTx::sign(pay.clone(), &[&alice.key], &domain).unwrap();
    chain.apply(&signed.verify(&domain).unwrap()).unwrap();
    let block = chain.seal_block().unwrap();
    let index = block.transactions.iter().position(|t| *t == pay).unwrap();
    let fee_index = block.transactions.len() - 1;
    assert_ne!(index, fee_index);

    // Only the operator submits roots; its root lands as block 1000.
    let err = alice.l1.submit_block(block.root()).await.unwrap_err();
    assert!(matches!(framework_error(&err), Some(FrameworkError::NotOperator(_))), "{err}");
    assert_eq!(operator.l1.submit_block(block.root()).await.unwrap(), block.number);

    // Bob exits his 4 ETH with the proof ply-plasma built; Alice her 5 ETH change; the
    // operator its fee.
    let bob_pos = UtxoPos::new(block.number, index as u64, 0).unwrap();
    let alice_change = UtxoPos::new(block.number, index as u64, 1).unwrap();
    let fee_pos = UtxoPos::new(block.number, fee_index as u64, 0).unwrap();
    let proof = block.proof(index).unwrap();
    // A proof of another leaf does not prove the payment.
    let err = bob
        .l1
        .start_standard_exit(bob_pos, &pay, &block.proof(fee_index).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::NotIncluded(_))), "{err}");
    let bob_exit = bob.l1.start_standard_exit(bob_pos, &pay, &proof).await.unwrap();
    alice.l1.start_standard_exit(alice_change, &pay, &proof).await.unwrap();
    let fee_tx = &block.transactions[fee_index];
    operator
        .l1
        .start_standard_exit(fee_pos, fee_tx, &block.proof(fee_index).unwrap())
        .await
        .unwrap();
    // Bob cannot exit his output twice.
    let err = bob.l1.start_standard_exit(bob_pos, &pay, &proof).await.unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::ExitExists(_))), "{err}");
    // Nor Alice's change.
    let err = bob.l1.start_standard_exit(alice_change, &pay, &proof).await.unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::NotOutputOwner(_))), "{err}");

    // Alice also exits her deposit, which she spent: the watcher challenges it with her
    // signed payment and takes the bond.
    let spent_exit = alice
        .l1
        .start_standard_exit(deposit_pos, &deposit_tx, &InclusionProof::single_leaf())
        .await
        .unwrap();
    assert_eq!(alice.l1.queue_size(Address::ZERO).await.unwrap(), 4);
    // A spending transaction signed by someone else is refused.
    let forged = pay.sign(&bob.key, &domain).unwrap();
    let err = watcher.l1.challenge_standard_exit(spent_exit, &pay, 0, &forged).await.unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::WrongSigner(_))), "{err}");
    let before = balance(&client, watcher.l1.address()).await;
    let receipt = watcher
        .l1
        .challenge_standard_exit(spent_exit, &pay, 0, &signed.signatures[0])
        .await
        .unwrap();
    assert_eq!(balance(&client, watcher.l1.address()).await, before + bond - gas_cost(&receipt));
    let err = alice
        .l1
        .start_standard_exit(deposit_pos, &deposit_tx, &InclusionProof::single_leaf())
        .await
        .unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::OutputSpent(_))), "{err}");
    // Bob's exit is not challengeable with a transaction that does not spend it.
    let err = watcher
        .l1
        .challenge_standard_exit(bob_exit, &pay, 0, &signed.signatures[0])
        .await
        .unwrap_err();
    assert!(
        matches!(standard_exit_error(&err), Some(GameError::NotSpendingExitedOutput(_))),
        "{err}"
    );

    // Too early: nothing is processed.
    let err = watcher.l1.process_exits(Address::ZERO, 10).await.unwrap_err();
    assert!(matches!(framework_error(&err), Some(FrameworkError::ExitNotYetExitable(_))), "{err}");

    // Past the exit period (2 periods for a child block's outputs), the watcher processes all.
    client.increase_time(2 * params.min_exit_period + 1).await.unwrap();
    client.mine().await.unwrap(); // calls (and gas estimates) run on the newest block
    let bob_before = balance(&client, bob.l1.address()).await;
    let alice_before = balance(&client, alice.l1.address()).await;
    let operator_before = balance(&client, operator.l1.address()).await;
    watcher.l1.process_exits(Address::ZERO, 10).await.unwrap();
    assert_eq!(balance(&client, bob.l1.address()).await, bob_before + eth(4) + bond);
    assert_eq!(balance(&client, alice.l1.address()).await, alice_before + eth(5) + bond);
    assert_eq!(balance(&client, operator.l1.address()).await, operator_before + eth(1) + bond);
    assert_eq!(balance(&client, contracts.framework).await, U256::ZERO);
    assert_eq!(balance(&client, contracts.standard_exit_game).await, U256::ZERO);
    assert_eq!(watcher.l1.queue_size(Address::ZERO).await.unwrap(), 0);

    // Paid once: the finalized output never exits again.
    let err = bob.l1.start_standard_exit(bob_pos, &pay, &proof).await.unwrap_err();
    assert!(matches!(standard_exit_error(&err), Some(GameError::OutputFinalized(_))), "{err}");
}

#[tokio::test]
async fn an_operator_spending_someone_elses_output_loses_to_the_owners_exit() {
    let (client, contracts, operator, _params) = setup().await;
    let alice = party(&client, contracts, 1);
    let domain = SigningDomain::new(DEV_CHAIN_ID, contracts.framework);
    let bond = alice.l1.standard_exit_bond().await.unwrap();

    let blknum = alice.l1.deposit_eth(alice.l1.address(), eth(10)).await.unwrap();
    let deposit =
        Deposit { blknum, owner: alice.l1.address(), token: Address::ZERO, amount: eth(10) };
    let deposit_pos = UtxoPos::new(blknum, 0, 0).unwrap();

    // The operator pays itself Alice's deposit, signing as itself. ChainState refuses it...
    let theft = PaymentTx::new(
        vec![deposit_pos],
        vec![Output { owner: operator.l1.address(), token: Address::ZERO, amount: eth(10) }],
        Default::default(),
    )
    .unwrap();
    let signed = SignedTx::sign(theft.clone(), &[&operator.key], &domain).unwrap();
    let mut chain = ChainState::new(operator.l1.address());
    chain.apply_deposit(&deposit).unwrap();
    let err = chain.apply(&signed.verify(&domain).unwrap()).unwrap_err();
    assert!(matches!(err, ply_plasma::Error::WrongSigner { .. }), "{err}");
    // ...so it builds the block by hand and submits its root.
    let tree = BlockTree::new(vec![theft.hash()]).unwrap();
    let bad_block = operator.l1.submit_block(tree.root()).await.unwrap();
    let stolen = UtxoPos::new(bad_block, 0, 0).unwrap();

    // Both exit at once: the operator its invalid output, Alice (who saw the bad block) her
    // deposit. The deposit is older, so it is paid first and in full.
    operator.l1.start_standard_exit(stolen, &theft, &tree.proof(0).unwrap()).await.unwrap();
    alice
        .l1
        .start_standard_exit(deposit_pos, &deposit.tx().unwrap(), &InclusionProof::single_leaf())
        .await
        .unwrap();
    client
        .increase_time(2 * DeployParams::devnet(Address::ZERO).min_exit_period + 1)
        .await
        .unwrap();
    client.mine().await.unwrap();
    let alice_before = balance(&client, alice.l1.address()).await;
    let operator_before = balance(&client, operator.l1.address()).await;
    let receipt = operator.l1.process_exits(Address::ZERO, 10).await.unwrap();
    assert_eq!(balance(&client, alice.l1.address()).await, alice_before + eth(10) + bond);
    // The thief gets its bond back and nothing else: the vault is empty.
    assert_eq!(
        balance(&client, operator.l1.address()).await,
        operator_before + bond - gas_cost(&receipt)
    );
    assert_eq!(balance(&client, contracts.framework).await, U256::ZERO);
}
