//! The chain under commonware simplex, four validators in the library's deterministic runtime
//! with its simulated network: blocks of Ethereum transfers are finalised and executed with the
//! embedded L1's executor; a crashed validator does not stop the others and catches up on
//! restart; an equivocating validator never gets two conflicting blocks finalised; a partition
//! stops finality (no quorum on either side) and heals without a fork. Every run is seeded.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use commonware_consensus::{
    simplex::{
        Engine, Floor, ForwardPolicy, SkipBudget, SkipPolicy,
        config::Config as EngineConfig,
        elector::RoundRobin,
        mocks::{equivocator, relay::Relay as MockRelay},
        scheme::ed25519,
    },
    types::{Epoch, ViewDelta},
};
use commonware_cryptography::{
    Sha256, Signer as _,
    ed25519::{PrivateKey, PublicKey},
};
use commonware_p2p::simulated::{Config as NetConfig, Link, Network, Oracle};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Quota, Runner as _, Supervisor as _, buffer::paged::CacheRef, deterministic,
};
use commonware_utils::{NZDuration, NZU16, NZU32, NZUsize, ordered::Set, probability};
use ply_l1::chain::ChainConfig;
use ply_sidechain::{
    block::Block,
    node::{self, NodeConfig, NodeHandle},
};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

const SIDECHAIN_ID: u64 = 9701;
const NAMESPACE: &[u8] = b"ply-sidechain";
const EPOCH: u64 = 1;
const N: usize = 4;

type Ctx = deterministic::Context;

fn chain_config() -> ChainConfig {
    ChainConfig { chain_id: SIDECHAIN_ID, genesis_timestamp: Some(0), ..ChainConfig::default() }
}

fn keys() -> Vec<PrivateKey> {
    let mut keys: Vec<PrivateKey> = (0..N as u64).map(PrivateKey::from_seed).collect();
    keys.sort_by_key(|k| k.public_key());
    keys
}

/// A signed EIP-1559 transfer on the sidechain.
fn transfer(from: &PrivateKeySigner, nonce: u64, to: Address, value: u64) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id: SIDECHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    let signature = from.sign_transaction_sync(&mut tx).expect("signs");
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

struct World {
    context: Ctx,
    oracle: Oracle<PublicKey, Ctx>,
    keys: Vec<PrivateKey>,
    participants: Set<PublicKey>,
}

struct Validator {
    handle: NodeHandle,
    tasks: Vec<Handle<()>>,
}

fn link() -> Link {
    Link {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(5),
        success_rate: probability!(1.0),
    }
}

impl World {
    async fn new(context: Ctx) -> Self {
        let keys = keys();
        let public: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        let participants = Set::try_from(public.clone()).expect("distinct keys");
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            NetConfig {
                max_size: 8 << 20,
                max_peers_per_set: NZUsize!(N + 1),
                disconnect_on_block: false,
                tracked_peer_sets: NZUsize!(1),
            },
            public.clone(),
        )
        .await;
        network.start();
        let world = Self { context, oracle, keys, participants };
        for a in &public {
            for b in &public {
                if a != b {
                    world.oracle.add_link(a.clone(), b.clone(), link()).await.unwrap();
                }
            }
        }
        world
    }

    fn public(&self, i: usize) -> PublicKey {
        self.keys[i].public_key()
    }

    /// Starts validator `i`: its application (a fresh embedded chain from genesis) and its
    /// simplex engine (journal under the partition named after its key, so a restart resumes).
    async fn start(&self, i: usize) -> Validator {
        let me = self.public(i);
        let control = self.oracle.control(me.clone());
        let quota = Quota::per_second(NZU32!(10_000));
        let votes = control.register(0, quota).await.unwrap();
        let certificates = control.register(1, quota).await.unwrap();
        let resolver = control.register(2, quota).await.unwrap();
        let blocks = control.register(3, quota).await.unwrap();
        let context = self.context.child("validator").with_attribute("index", i);
        let (mailbox, handle, app_task) =
            node::start(context.child("application"), NodeConfig { chain: chain_config() }, blocks);
        let scheme =
            ed25519::Scheme::signer(NAMESPACE, self.participants.clone(), self.keys[i].clone())
                .expect("a participant");
        let genesis = Block::genesis(SIDECHAIN_ID, 0).digest();
        let config = EngineConfig {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: control.clone(),
            automaton: mailbox.clone(),
            relay: mailbox.clone(),
            reporter: mailbox,
            strategy: Sequential,
            partition: format!("validator_{me}"),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::new(EPOCH),
            floor: Floor::Genesis(genesis),
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(5),
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: Duration::from_secs(8),
                budget: SkipBudget::Participants,
            },
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache: CacheRef::new(NZU16!(1024), NZUsize!(10)),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        };
        let engine = Engine::new(context.child("engine"), config);
        let engine_task = engine.start(votes, certificates, resolver);
        Validator { handle, tasks: vec![app_task, engine_task] }
    }

    /// Waits (simulated time) until every handle has executed `height`, at most `limit`.
    async fn wait_height(&self, handles: &[&NodeHandle], height: u64, limit: Duration) {
        let start = self.context.current();
        while handles.iter().any(|h| h.height() < height) {
            assert!(
                self.context.current().duration_since(start).unwrap() < limit,
                "heights {:?} did not reach {height} in {limit:?}",
                handles.iter().map(|h| h.height()).collect::<Vec<_>>()
            );
            self.context.sleep(Duration::from_millis(100)).await;
        }
    }

    async fn set_links(&self, up: impl Fn(usize, usize) -> bool) {
        for a in 0..N {
            for b in 0..N {
                if a == b {
                    continue;
                }
                let _ = self.oracle.remove_link(self.public(a), self.public(b)).await;
                if up(a, b) {
                    self.oracle.add_link(self.public(a), self.public(b), link()).await.unwrap();
                }
            }
        }
    }
}

/// Every pair of nodes agrees on each height both executed (id, EVM hash, state root); returns
/// the agreed chain.
fn assert_no_fork(handles: &[&NodeHandle]) -> BTreeMap<u64, (B256, B256)> {
    let mut agreed: BTreeMap<u64, (B256, B256)> = BTreeMap::new();
    for handle in handles {
        assert_eq!(handle.faults() / 1_000_000, 0, "a node saw two finalised blocks at a height");
        for (i, e) in handle.executed().iter().enumerate() {
            assert_eq!(e.height, i as u64 + 1, "executed in height order without gaps");
            let seen = agreed.entry(e.height).or_insert((e.hash, e.state_root));
            assert_eq!(*seen, (e.hash, e.state_root), "fork at height {}", e.height);
        }
    }
    agreed
}

fn dev(i: usize) -> PrivateKeySigner {
    ply_core::dev::dev_signer(i).unwrap()
}

fn run(
    seed: u64,
    test: impl FnOnce(Ctx) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + 'static,
) {
    deterministic::Runner::seeded(seed).start(test);
}

#[test]
fn four_validators_finalise_blocks_with_transfers() {
    run(1, |context| {
        Box::pin(async move {
            let world = World::new(context).await;
            let mut validators = Vec::new();
            for i in 0..N {
                validators.push(world.start(i).await);
            }
            let alice = dev(1);
            let bob = Address::repeat_byte(0xb0);
            let mut hashes = Vec::new();
            for nonce in 0..5 {
                let raw = transfer(&alice, nonce, bob, 1_000 + nonce);
                for v in &validators {
                    hashes.push(v.handle.submit(raw.clone()).unwrap());
                }
            }
            let handles: Vec<&NodeHandle> = validators.iter().map(|v| &v.handle).collect();
            world.wait_height(&handles, 10, Duration::from_secs(60)).await;
            let agreed = assert_no_fork(&handles);
            assert!(agreed.len() >= 10);
            let executed: Vec<B256> =
                handles[0].executed().iter().flat_map(|e| e.transactions.clone()).collect();
            hashes.dedup();
            for hash in &hashes {
                assert_eq!(executed.iter().filter(|h| *h == hash).count(), 1, "{hash} once");
            }
            // A transfer changes the state: some state roots differ from the genesis-only run's.
            let roots: std::collections::HashSet<B256> = agreed.values().map(|v| v.1).collect();
            assert!(roots.len() >= 2);
        })
    });
}

#[test]
fn a_crashed_validator_does_not_stop_the_chain_and_catches_up_on_restart() {
    run(2, |context| {
        Box::pin(async move {
            let world = World::new(context).await;
            let mut validators = Vec::new();
            for i in 0..N {
                validators.push(world.start(i).await);
            }
            let alice = dev(2);
            let bob = Address::repeat_byte(0xb1);
            for v in &validators {
                v.handle.submit(transfer(&alice, 0, bob, 7)).unwrap();
            }
            let all: Vec<NodeHandle> = validators.iter().map(|v| v.handle.clone()).collect();
            world.wait_height(&all.iter().collect::<Vec<_>>(), 3, Duration::from_secs(60)).await;

            // Validator 3 crashes: its engine and application stop, its chain is lost.
            let crashed = validators.pop().unwrap();
            for task in &crashed.tasks {
                task.abort();
            }
            let crashed_height = crashed.handle.height();
            let survivors: Vec<&NodeHandle> = all[..3].iter().collect();
            let before = survivors.iter().map(|h| h.height()).max().unwrap();
            for v in &validators {
                v.handle.submit(transfer(&alice, 1, bob, 8)).unwrap();
            }
            world.wait_height(&survivors, before + 8, Duration::from_secs(120)).await;
            assert_eq!(crashed.handle.height(), crashed_height, "a crashed node executes nothing");

            // It restarts from its consensus journal with an empty chain and catches up by
            // fetching the finalised blocks it missed from its peers.
            let restarted = world.start(3).await;
            let target = survivors.iter().map(|h| h.height()).max().unwrap();
            let mut everyone = survivors.clone();
            everyone.push(&restarted.handle);
            world.wait_height(&everyone, target + 3, Duration::from_secs(120)).await;
            let agreed = assert_no_fork(&everyone);
            assert!(agreed.len() as u64 >= target + 3);
            let executed: Vec<B256> =
                restarted.handle.executed().iter().flat_map(|e| e.transactions.clone()).collect();
            assert_eq!(executed.len(), 2, "both transfers, once each, on the restarted node");
        })
    });
}

#[test]
fn an_equivocating_validator_never_gets_conflicting_blocks_finalised() {
    run(3, |context| {
        Box::pin(async move {
            let world = World::new(context).await;
            let mut honest = Vec::new();
            for i in 0..N - 1 {
                honest.push(world.start(i).await);
            }
            // Validator 3 is the library's equivocator: as leader it sends different proposals
            // to different validators and votes for each.
            let byzantine = N - 1;
            let control = world.oracle.control(world.public(byzantine));
            let quota = Quota::per_second(NZU32!(10_000));
            let votes = control.register(0, quota).await.unwrap();
            let certificates = control.register(1, quota).await.unwrap();
            let scheme = ed25519::Scheme::signer(
                NAMESPACE,
                world.participants.clone(),
                world.keys[byzantine].clone(),
            )
            .unwrap();
            let relay = Arc::new(MockRelay::new());
            equivocator::Equivocator::<_, _, _, Sha256>::new(
                world.context.child("equivocator"),
                equivocator::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    epoch: Epoch::new(EPOCH),
                    relay,
                },
            )
            .start(votes, certificates);

            let alice = dev(3);
            for v in &honest {
                v.handle.submit(transfer(&alice, 0, Address::repeat_byte(0xb2), 9)).unwrap();
            }
            let handles: Vec<&NodeHandle> = honest.iter().map(|v| &v.handle).collect();
            world.wait_height(&handles, 12, Duration::from_secs(300)).await;
            let agreed = assert_no_fork(&handles);
            assert!(agreed.len() >= 12);
        })
    });
}

#[test]
fn a_partition_stops_finality_and_heals_without_a_fork() {
    run(4, |context| {
        Box::pin(async move {
            let world = World::new(context).await;
            let mut validators = Vec::new();
            for i in 0..N {
                validators.push(world.start(i).await);
            }
            let handles: Vec<&NodeHandle> = validators.iter().map(|v| &v.handle).collect();
            world.wait_height(&handles, 3, Duration::from_secs(60)).await;

            // {0, 1} | {2, 3}: neither side has a quorum (3 of 4), so nothing new is final.
            world.set_links(|a, b| (a < 2) == (b < 2)).await;
            world.context.sleep(Duration::from_secs(2)).await;
            let stalled: Vec<u64> = handles.iter().map(|h| h.height()).collect();
            let alice = dev(4);
            for v in &validators {
                v.handle.submit(transfer(&alice, 0, Address::repeat_byte(0xb3), 10)).unwrap();
            }
            world.context.sleep(Duration::from_secs(20)).await;
            let during: Vec<u64> = handles.iter().map(|h| h.height()).collect();
            assert_eq!(stalled, during, "no block is finalised without a quorum");

            // Healed: the chain resumes, one chain for all.
            world.set_links(|_, _| true).await;
            let top = *during.iter().max().unwrap();
            world.wait_height(&handles, top + 5, Duration::from_secs(120)).await;
            let agreed = assert_no_fork(&handles);
            assert!(agreed.len() as u64 >= top + 5);
            let executed: usize = handles[0].executed().iter().map(|e| e.transactions.len()).sum();
            assert_eq!(executed, 1, "the transfer submitted during the partition, once");
        })
    });
}
