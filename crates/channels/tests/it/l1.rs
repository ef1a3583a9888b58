//! The L1 adapter on the embedded L1: deploy, open, deposit, a stale close beaten by a
//! watchtower's update, settle, unlock of a lock whose secret was registered, a reopened
//! generation closed cooperatively, and the event reader following all of it.

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use ply_channels::{
    BalanceProof,
    eip712::{ChannelDomain, CooperativeClose, NonClosingUpdate},
    l1::{
        ChannelContracts, ChannelsL1, DeployParams, OnChainState, contract_error, deploy,
        events::{ChannelEvent, EventReader},
    },
    lock::{Lock, PendingLocks, secrethash},
    manager::L1Call,
};
use ply_contracts::TokenNetwork::TokenNetworkErrors;
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::{ChainConfig, DEV_CHAIN_ID},
    client::{DynL1Client, EmbeddedClient, TxSender},
    node::Node,
};
use std::sync::Arc;

const ETHER: u64 = 1_000_000_000_000_000_000;
const SETTLE_TIMEOUT: u64 = 5;

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ETHER)
}

struct Party {
    key: PrivateKeySigner,
    l1: ChannelsL1,
}

fn party(client: &DynL1Client, contracts: ChannelContracts, index: usize) -> Party {
    let key = dev_signer(index).unwrap();
    let sender = Arc::new(TxSender::new(client.clone(), key.clone()));
    Party { key, l1: ChannelsL1::new(sender, contracts) }
}

fn proof(
    contracts: ChannelContracts,
    channel_id: B256,
    generation: u64,
    nonce: u64,
    transferred: U256,
    locks: &PendingLocks,
) -> BalanceProof {
    BalanceProof {
        chain_id: DEV_CHAIN_ID,
        token_network: contracts.token_network,
        channel_id,
        generation,
        nonce,
        transferred_amount: transferred,
        locked_amount: locks.locked_amount(),
        locks_root: locks.root(),
    }
}

#[tokio::test]
async fn l1_adapter_lifecycle_on_the_embedded_chain() {
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
    let alice = party(&client, contracts, 1);
    let bob = party(&client, contracts, 2);
    let watchtower = party(&client, contracts, 3);
    let domain = ChannelDomain::new(DEV_CHAIN_ID, contracts.token_network);
    let mut reader = EventReader::new(client.clone(), contracts, 0, 0);

    // Open and fund.
    let opened =
        alice.l1.open_channel(bob.l1.address(), Address::ZERO, SETTLE_TIMEOUT).await.unwrap();
    assert_eq!(opened.generation, 1);
    let id = opened.channel_id;
    alice.l1.set_total_deposit(id, alice.l1.address(), eth(10)).await.unwrap();
    bob.l1.set_total_deposit(id, bob.l1.address(), eth(5)).await.unwrap();
    let channel = alice.l1.channel(id).await.unwrap();
    assert_eq!(channel.state, OnChainState::Opened);
    assert_eq!(channel.settle_timeout, SETTLE_TIMEOUT);
    assert_eq!(alice.l1.participant(id, alice.l1.address()).await.unwrap().deposit, eth(10));
    let err = alice.l1.set_total_deposit(id, alice.l1.address(), eth(10)).await.unwrap_err();
    assert!(matches!(err, ply_l1::Error::InvalidRequest(_)), "{err}");

    // Alice pays Bob 3 ETH and locks 2 more on a secret Bob learns; Bob pays Alice 1 ETH.
    let secret = B256::repeat_byte(0x5e);
    let head = client.block_number().await.unwrap();
    let locks = PendingLocks::default()
        .with(Lock { amount: eth(2), expiration: head + 50, secrethash: secrethash(&secret) })
        .unwrap();
    let alice_old =
        proof(contracts, id, 1, 1, eth(1), &PendingLocks::default()).sign(&alice.key).unwrap();
    let alice_new = proof(contracts, id, 1, 4, eth(3), &locks).sign(&alice.key).unwrap();
    let bob_latest =
        proof(contracts, id, 1, 2, eth(1), &PendingLocks::default()).sign(&bob.key).unwrap();
    // Bob hands his watchtower Alice's newest proof and his authorisation of it.
    let auth = domain
        .sign(
            &NonClosingUpdate {
                channelId: id,
                generation: 1,
                balanceProofHash: alice_new.proof.struct_hash(),
            },
            &bob.key,
        )
        .unwrap();

    // Alice closes (with Bob's proof) while Bob is away.
    alice.l1.close_channel(id, Some(&bob_latest)).await.unwrap();
    let channel = alice.l1.channel(id).await.unwrap();
    assert_eq!(channel.state, OnChainState::Closed);
    assert_eq!(channel.closer, Some(alice.l1.address()));
    // Settling now is too early: the contract's error comes back decoded.
    let err = watchtower.l1.settle_channel(id).await.unwrap_err();
    assert!(matches!(contract_error(&err), Some(TokenNetworkErrors::SettleTooEarly(_))), "{err}");
    // An old proof of Alice, even authorised, loses to the newer one the watchtower submits.
    watchtower
        .l1
        .update_non_closing_balance_proof(
            id,
            alice.l1.address(),
            bob.l1.address(),
            &alice_new,
            &auth,
        )
        .await
        .unwrap();
    let old_auth = domain
        .sign(
            &NonClosingUpdate {
                channelId: id,
                generation: 1,
                balanceProofHash: alice_old.proof.struct_hash(),
            },
            &bob.key,
        )
        .unwrap();
    let err = watchtower
        .l1
        .update_non_closing_balance_proof(
            id,
            alice.l1.address(),
            bob.l1.address(),
            &alice_old,
            &old_auth,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(contract_error(&err), Some(TokenNetworkErrors::NonceNotIncreasing(_))),
        "{err}"
    );
    let recorded = alice.l1.participant(id, alice.l1.address()).await.unwrap();
    assert_eq!(
        (recorded.nonce, recorded.transferred_amount, recorded.locked_amount),
        (4, eth(3), eth(2))
    );

    // Bob registers the secret on L1 (through the state machine's call), then anyone settles.
    bob.l1.execute(&L1Call::RegisterSecret { secret }).await.unwrap();
    assert!(bob.l1.secret_reveal_block(secrethash(&secret)).await.unwrap().is_some());
    while client.block_number().await.unwrap() <= channel.settle_block {
        client.mine().await.unwrap();
    }
    watchtower.l1.execute(&L1Call::Settle { channel_id: id }).await.unwrap();
    assert_eq!(alice.l1.channel(id).await.unwrap().state, OnChainState::Settled);
    let (p1, _) = if alice.l1.address() < bob.l1.address() {
        (alice.l1.address(), bob.l1.address())
    } else {
        (bob.l1.address(), alice.l1.address())
    };
    let (root, held) = bob.l1.pending_locks(id, 1, alice.l1.address()).await.unwrap();
    assert_eq!((root, held), (locks.root(), eth(2)));
    bob.l1
        .execute(&L1Call::Unlock {
            channel_id: id,
            generation: 1,
            sender: alice.l1.address(),
            receiver: bob.l1.address(),
            locks: locks.encode(),
        })
        .await
        .unwrap();
    let err = bob
        .l1
        .unlock(id, 1, alice.l1.address(), bob.l1.address(), &locks.encode())
        .await
        .unwrap_err();
    assert!(matches!(contract_error(&err), Some(TokenNetworkErrors::NothingToUnlock(_))), "{err}");

    // Generation 2: reopened, funded by Bob alone, closed cooperatively.
    let reopened =
        bob.l1.open_channel(alice.l1.address(), Address::ZERO, SETTLE_TIMEOUT).await.unwrap();
    assert_eq!((reopened.channel_id, reopened.generation), (id, 2));
    bob.l1.set_total_deposit(id, bob.l1.address(), eth(2)).await.unwrap();
    let (b1, b2) = (eth(1), eth(1));
    let coop = CooperativeClose { channelId: id, generation: 2, balance1: b1, balance2: b2 };
    let (s_alice, s_bob) =
        (domain.sign(&coop, &alice.key).unwrap(), domain.sign(&coop, &bob.key).unwrap());
    let (s1, s2) = if p1 == alice.l1.address() { (s_alice, s_bob) } else { (s_bob, s_alice) };
    // A generation-1 proof does not close generation 2.
    let err = alice.l1.close_channel(id, Some(&bob_latest)).await.unwrap_err();
    assert!(matches!(contract_error(&err), Some(TokenNetworkErrors::WrongSigner(_))), "{err}");
    watchtower.l1.cooperative_close(id, b1, b2, &s1, &s2).await.unwrap();

    // The event reader saw every transition, in order.
    let (range, events) = reader.poll().await.unwrap();
    assert!(range.is_some());
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.event.channel_id().is_none_or(|c| c == id))
        .map(|e| match &e.event {
            ChannelEvent::Opened { .. } => "opened",
            ChannelEvent::DepositSet { .. } => "deposit",
            ChannelEvent::Closed { .. } => "closed",
            ChannelEvent::NonClosingUpdated { .. } => "updated",
            ChannelEvent::Settled { .. } => "settled",
            ChannelEvent::Unlocked { .. } => "unlocked",
            ChannelEvent::CooperativelyClosed { .. } => "coop",
            ChannelEvent::SecretRevealed { .. } => "secret",
            ChannelEvent::PayoutDeferred { .. } => "deferred",
            ChannelEvent::Withdrawn { .. } => "withdrawn",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "opened", "deposit", "deposit", "closed", "updated", "secret", "settled", "unlocked",
            "opened", "deposit", "coop"
        ]
    );
    let settled = events.iter().find_map(|e| match e.event {
        ChannelEvent::Settled {
            participant1_amount,
            participant2_amount,
            participant1_locked,
            participant2_locked,
            ..
        } => Some((
            participant1_amount,
            participant2_amount,
            participant1_locked,
            participant2_locked,
        )),
        _ => None,
    });
    // Alice: 10 - 3 - 2 + 1 = 6; Bob: 5 - 1 + 3 = 7; Alice's 2 locked held for the unlock.
    let expected = if p1 == alice.l1.address() {
        (eth(6), eth(7), eth(2), U256::ZERO)
    } else {
        (eth(7), eth(6), U256::ZERO, eth(2))
    };
    assert_eq!(settled, Some(expected));
    let unlocked = events.iter().find_map(|e| match e.event {
        ChannelEvent::Unlocked { unlocked_amount, returned_amount, receiver, .. } => {
            Some((receiver, unlocked_amount, returned_amount))
        }
        _ => None,
    });
    assert_eq!(unlocked, Some((bob.l1.address(), eth(2), U256::ZERO)));
    let closed = events.iter().find_map(|e| match e.event {
        ChannelEvent::Closed { closer, nonce, generation, .. } => Some((closer, nonce, generation)),
        _ => None,
    });
    assert_eq!(closed, Some((alice.l1.address(), 2, 1)));
    // Nothing new until another block.
    assert_eq!(reader.poll().await.unwrap().1, vec![]);
}

/// An ERC-20 channel through the adapter: the token must be listed; the deposit approves and
/// pays exactly the increase; a cooperative close with a wrong signature is refused with the
/// contract's error decoded, the right one pays out.
#[tokio::test]
async fn l1_adapter_token_channel_and_refusals() {
    use alloy::sol_types::{SolCall, SolConstructor};
    use ply_contracts::{TestToken, TokenNetwork};

    let client: DynL1Client = Arc::new(EmbeddedClient::new(Node::new(ChainConfig::default())));
    let deployer = TxSender::new(client.clone(), dev_signer(0).unwrap());
    let params = DeployParams {
        token_governor: deployer.address(),
        min_settle_timeout: 2,
        max_settle_timeout: 100,
    };
    let contracts = deploy(&deployer, &params).await.unwrap();
    let alice = party(&client, contracts, 1);
    let bob = party(&client, contracts, 2);
    let mut code = TestToken::BYTECODE.to_vec();
    code.extend_from_slice(
        &TestToken::constructorCall { name_: "T".into(), symbol_: "T".into(), decimals_: 18 }
            .abi_encode(),
    );
    let token = deployer.deploy(code.into()).await.unwrap();
    for who in [alice.l1.address(), bob.l1.address()] {
        let mint = TestToken::mintCall { to: who, amount: eth(100) };
        deployer.send_call(token, mint.abi_encode(), U256::ZERO).await.unwrap();
    }

    // Not listed yet.
    let err = alice.l1.open_channel(bob.l1.address(), token, 10).await.unwrap_err();
    assert!(
        matches!(contract_error(&err), Some(TokenNetworkErrors::TokenNotRegistered(_))),
        "{err}"
    );
    let register = TokenNetwork::registerTokenCall { token };
    deployer.send_call(contracts.token_network, register.abi_encode(), U256::ZERO).await.unwrap();
    // Out-of-range timeout.
    let err = alice.l1.open_channel(bob.l1.address(), token, 101).await.unwrap_err();
    assert!(
        matches!(contract_error(&err), Some(TokenNetworkErrors::InvalidSettleTimeout(_))),
        "{err}"
    );
    let id = alice.l1.open_channel(bob.l1.address(), token, 10).await.unwrap().channel_id;
    alice.l1.set_total_deposit(id, alice.l1.address(), eth(4)).await.unwrap();
    alice.l1.set_total_deposit(id, alice.l1.address(), eth(6)).await.unwrap();
    // Alice funds Bob's side too (anyone may).
    alice.l1.set_total_deposit(id, bob.l1.address(), eth(1)).await.unwrap();
    assert_eq!(alice.l1.participant(id, alice.l1.address()).await.unwrap().deposit, eth(6));
    assert_eq!(alice.l1.participant(id, bob.l1.address()).await.unwrap().deposit, eth(1));

    let balance_of = |who: Address| {
        let client = client.clone();
        async move {
            let call = TestToken::balanceOfCall { account: who };
            let req = alloy::rpc::types::TransactionRequest::default()
                .to(token)
                .input(alloy::primitives::Bytes::from(call.abi_encode()).into());
            let out = client.call(&req, alloy::eips::BlockId::latest()).await.unwrap();
            TestToken::balanceOfCall::abi_decode_returns(&out).unwrap()
        }
    };
    assert_eq!(balance_of(contracts.token_network).await, eth(7));
    assert_eq!(balance_of(alice.l1.address()).await, eth(93));

    let domain = ChannelDomain::new(DEV_CHAIN_ID, contracts.token_network);
    let alice_is_p1 = alice.l1.address() < bob.l1.address();
    let (b1, b2) = if alice_is_p1 { (eth(2), eth(5)) } else { (eth(5), eth(2)) };
    let coop = CooperativeClose { channelId: id, generation: 1, balance1: b1, balance2: b2 };
    let s_alice = domain.sign(&coop, &alice.key).unwrap();
    let s_bob = domain.sign(&coop, &bob.key).unwrap();
    let (s1, s2) = if alice_is_p1 { (s_alice, s_bob) } else { (s_bob, s_alice) };
    // Signed twice by the same participant: refused, nothing moves.
    let err = bob.l1.cooperative_close(id, b1, b2, &s1, &s1).await.unwrap_err();
    assert!(matches!(contract_error(&err), Some(TokenNetworkErrors::WrongSigner(_))), "{err}");
    // Balances that do not add up: refused.
    let err = bob.l1.cooperative_close(id, b1, b2 + U256::from(1), &s1, &s2).await.unwrap_err();
    assert!(
        matches!(contract_error(&err), Some(TokenNetworkErrors::BalancesDoNotMatchDeposit(_))),
        "{err}"
    );
    bob.l1.cooperative_close(id, b1, b2, &s1, &s2).await.unwrap();
    assert_eq!(balance_of(contracts.token_network).await, U256::ZERO);
    assert_eq!(balance_of(alice.l1.address()).await, eth(95));
    assert_eq!(balance_of(bob.l1.address()).await, eth(105));
    assert_eq!(alice.l1.channel(id).await.unwrap().state, OnChainState::Settled);
    assert_eq!(alice.l1.pending_withdrawal(alice.l1.address(), token).await.unwrap(), U256::ZERO);
}

/// The checked-in EIP-712 fixture file is byte for byte the JSON that
/// `contracts/test/channels/Fixtures.t.sol` generates and pins (`FIXTURE_HASH`), so the Rust and
/// Solidity sides test against the same file.
#[test]
fn eip712_fixture_file_is_the_one_forge_pins() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let json = std::fs::read(root.join("crates/channels/tests/fixtures/eip712_v1.json")).unwrap();
    let source =
        std::fs::read_to_string(root.join("contracts/test/channels/Fixtures.t.sol")).unwrap();
    let pinned = source
        .lines()
        .find_map(|l| l.trim().strip_prefix("bytes32 internal constant FIXTURE_HASH ="))
        .map(|v| v.trim().trim_end_matches(';').parse::<B256>().unwrap())
        .expect("Fixtures.t.sol pins FIXTURE_HASH");
    assert_eq!(alloy::primitives::keccak256(&json), pinned);
}
