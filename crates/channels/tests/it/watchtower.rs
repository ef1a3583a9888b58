//! The watchtower against cheaters, on the embedded L1 over its real socket: a partner closes
//! with an old state while the victim is offline and the tower's update wins, so settle pays
//! the victim in full; forged, wrongly signed, foreign-domain and stale states are refused; a
//! restarted tower keeps its states.

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use ply_channels::{
    BalanceProof, ChannelError,
    l1::{
        ChannelContracts, ChannelsL1, DeployParams, OnChainState, deploy,
        events::{ChannelEvent, EventReader},
    },
    watchtower::{
        Offered, WatchedState,
        service::{Watchtower, WatchtowerClient, serve},
    },
};
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID},
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use std::sync::Arc;

const ETHER: u64 = 1_000_000_000_000_000_000;

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER)
}

fn account(
    client: &DynL1Client,
    contracts: ChannelContracts,
    i: usize,
) -> (PrivateKeySigner, ChannelsL1) {
    let key = dev_signer(i).unwrap();
    let sender = Arc::new(TxSender::new(client.clone(), key.clone()));
    (key, ChannelsL1::new(sender, contracts))
}

fn proof(contracts: ChannelContracts, id: B256, nonce: u64, transferred: U256) -> BalanceProof {
    BalanceProof {
        chain_id: DEV_CHAIN_ID,
        token_network: contracts.token_network,
        channel_id: id,
        generation: 1,
        nonce,
        transferred_amount: transferred,
        locked_amount: U256::ZERO,
        locks_root: B256::ZERO,
    }
}

#[tokio::test]
async fn watchtower_beats_a_stale_close_and_refuses_bad_states() {
    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let deployer = TxSender::new(client.clone(), dev_signer(0).unwrap());
    let contracts = deploy(
        &deployer,
        &DeployParams {
            token_governor: deployer.address(),
            min_settle_timeout: 2,
            max_settle_timeout: 100,
        },
    )
    .await
    .unwrap();
    let (victim, victim_l1) = account(&client, contracts, 1);
    let (cheater, cheater_l1) = account(&client, contracts, 2);
    let (_, tower_l1) = account(&client, contracts, 3);
    let (stranger, _) = account(&client, contracts, 4);

    let opened = victim_l1.open_channel(cheater.address(), Address::ZERO, 10).await.unwrap();
    let id = opened.channel_id;
    victim_l1.set_total_deposit(id, victim.address(), eth(5)).await.unwrap();
    cheater_l1.set_total_deposit(id, cheater.address(), eth(10)).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tower.redb");
    let tower = Watchtower::open(&db, tower_l1.clone(), 0, 0).await.unwrap();
    let (addr, server) = serve(tower.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let api = WatchtowerClient::new(&format!("http://{addr}")).unwrap();

    // The cheater pays the victim 1, then 4 (nonce 2), then 7 ETH (nonce 3); the victim hands
    // each state to its tower as it goes.
    let state = |nonce: u64, paid: u64| {
        let signed = proof(contracts, id, nonce, eth(paid)).sign(&cheater).unwrap();
        WatchedState::authorize(&victim, cheater.address(), Address::ZERO, signed).unwrap()
    };
    assert_eq!(api.submit(&state(1, 1)).await.unwrap(), Offered::Stored);
    assert_eq!(api.submit(&state(3, 7)).await.unwrap(), Offered::Stored);
    assert_eq!(api.submit(&state(3, 7)).await.unwrap(), Offered::Unchanged);
    // A lower nonce does not replace the higher one.
    let err = api.submit(&state(2, 4)).await.unwrap_err();
    assert!(err.to_string().contains("nonce 2"), "{err}");
    assert_eq!(api.get(id, victim.address()).await.unwrap().unwrap().nonce(), 3);

    // Forged: a proof "by the cheater" signed by a stranger, claiming 9 ETH at nonce 4.
    let forged = proof(contracts, id, 4, eth(9)).sign(&stranger).unwrap();
    let forged =
        WatchedState::authorize(&victim, cheater.address(), Address::ZERO, forged).unwrap();
    assert!(api.submit(&forged).await.unwrap_err().to_string().contains("expected"));
    assert!(matches!(tower.submit(forged), Err(ChannelError::SignerMismatch { .. })));
    // The authorisation signed by someone else than the client.
    let mut wrong_auth = state(4, 9);
    wrong_auth.non_closing_signature = state(4, 9).non_closing_signature;
    let other = WatchedState::authorize(
        &stranger,
        cheater.address(),
        Address::ZERO,
        proof(contracts, id, 4, eth(9)).sign(&cheater).unwrap(),
    )
    .unwrap();
    wrong_auth.non_closing_signature = other.non_closing_signature;
    assert!(matches!(tower.submit(wrong_auth), Err(ChannelError::SignerMismatch { .. })));
    // The authorisation of another proof (nonce 3's) with the nonce-4 proof.
    let mut swapped = state(4, 9);
    swapped.non_closing_signature = state(3, 7).non_closing_signature;
    assert!(tower.submit(swapped).is_err());
    // Another chain, another contract, another channel.
    let mut foreign = proof(contracts, id, 5, eth(9));
    foreign.chain_id = 1;
    let foreign = WatchedState::authorize(
        &victim,
        cheater.address(),
        Address::ZERO,
        foreign.sign(&cheater).unwrap(),
    )
    .unwrap();
    assert!(matches!(tower.submit(foreign), Err(ChannelError::WrongChainId { .. })));
    let mut foreign = proof(contracts, id, 5, eth(9));
    foreign.token_network = Address::repeat_byte(9);
    let foreign = WatchedState::authorize(
        &victim,
        cheater.address(),
        Address::ZERO,
        foreign.sign(&cheater).unwrap(),
    )
    .unwrap();
    assert!(matches!(tower.submit(foreign), Err(ChannelError::WrongContract { .. })));
    let foreign = WatchedState::authorize(
        &victim,
        cheater.address(),
        Address::ZERO,
        proof(contracts, B256::repeat_byte(3), 5, eth(9)).sign(&cheater).unwrap(),
    )
    .unwrap();
    assert!(matches!(tower.submit(foreign), Err(ChannelError::WrongChannel { .. })));
    assert_eq!(tower.state(id, victim.address()).unwrap().nonce(), 3);

    // The tower restarts: it keeps its state.
    server.stop().unwrap();
    server.stopped().await;
    drop((tower, api));
    let tower = Watchtower::open(&db, tower_l1.clone(), 0, 0).await.unwrap();
    assert_eq!(tower.state(id, victim.address()).unwrap().nonce(), 3);
    assert_eq!(tower.status().watched, 1);

    // The victim's node is down. The cheater closes with the victim's proof (the victim paid
    // it 2 ETH) and never shows its own payments: without an update it would keep 10.
    let victim_proof = proof(contracts, id, 1, eth(2)).sign(&victim).unwrap();
    cheater_l1.close_channel(id, Some(&victim_proof)).await.unwrap();
    let channel = cheater_l1.channel(id).await.unwrap();
    assert_eq!(channel.state, OnChainState::Closed);
    let report = tower.poll().await.unwrap();
    assert_eq!(report.updated, vec![id]);
    let recorded = tower_l1.participant(id, cheater.address()).await.unwrap();
    assert_eq!((recorded.nonce, recorded.transferred_amount), (3, eth(7)));
    // A second poll finds nothing to do.
    assert!(tower.poll().await.unwrap().updated.is_empty());

    while client.block_number().await.unwrap() <= channel.settle_block {
        client.mine().await.unwrap();
    }
    tower_l1.settle_channel(id).await.unwrap();
    let reader = EventReader::new(client.clone(), contracts, 0, 0);
    let head = client.block_number().await.unwrap();
    let settled = reader
        .read(0..=head)
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| match e.event {
            ChannelEvent::Settled { participant1_amount, participant2_amount, .. } => {
                Some((participant1_amount, participant2_amount))
            }
            _ => None,
        })
        .unwrap();
    let (victim_paid, cheater_paid) =
        if victim.address() < cheater.address() { settled } else { (settled.1, settled.0) };
    // In full: 5 deposited - 2 paid + 7 received.
    assert_eq!(victim_paid, eth(10));
    assert_eq!(cheater_paid, eth(5));
}
