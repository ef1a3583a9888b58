//! The stores: group commit of many payments in one transaction, reopen, versions.

use crate::{common::*, net::config};
use ply_channels::{
    channel::{ChannelIdentity, channel_id},
    manager::{Actions, ChannelManager},
    routing::FeeSchedule,
    store::{MemoryStore, RedbStore, Store},
};
use ply_core::{Address, U256};

fn manager() -> (ChannelManager, Actions) {
    let mut m = ChannelManager::new(config(FeeSchedule::default()), key(1));
    let identity = ChannelIdentity {
        chain_id: CHAIN_ID,
        token_network: token_network(),
        token: Address::ZERO,
        channel_id: channel_id(key(1).address(), key(2).address(), Address::ZERO),
        generation: 1,
        our: key(1).address(),
        partner: key(2).address(),
        settle_timeout: 500,
        reveal_timeout: 10,
    };
    let opened = m.on_channel_opened(identity, U256::from(1_000_000), U256::ZERO);
    (m, opened)
}

fn group_commit_round_trip(store: &mut dyn Store) {
    let (mut m, mut group) = manager();
    // 200 payments, one commit: what a driver does to share one fsync.
    for i in 0..200u64 {
        group.extend(m.pay_direct(key(2).address(), U256::from(1), i).unwrap());
    }
    store.commit(&group.persist).unwrap();
    let snapshot = store.load().unwrap();
    assert_eq!(snapshot.channels.len(), 1);
    assert_eq!(snapshot.channels[0].our.nonce, 200);
    assert_eq!(snapshot.channels[0].our.transferred, U256::from(200));
    assert_eq!(snapshot.outbox.len(), 200);
    let restored = ChannelManager::restore(config(FeeSchedule::default()), key(1), snapshot);
    assert_eq!(restored.outbox_for(key(2).address()).len(), 200);
    assert_eq!(restored.channel_with(key(2).address()), m.channel_with(key(2).address()));
    // The next message id continues after a restart (no id is reused).
    let mut restored = restored;
    let next = restored.pay_direct(key(2).address(), U256::from(1), 999).unwrap();
    let (_, message) = next.messages().next().unwrap();
    assert_eq!(message.message.message_id(), 201);
}

#[test]
fn memory_store_group_commit() {
    let mut store = MemoryStore::new();
    group_commit_round_trip(&mut store);
    assert_eq!(store.commits(), 1);
}

#[test]
fn redb_store_group_commit_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = RedbStore::open(dir.path()).unwrap();
        group_commit_round_trip(&mut store);
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.load().unwrap().channels[0].our.nonce, 200);
}

#[test]
fn redb_store_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("channels.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(redb::TableDefinition::<&str, u64>::new("meta")).unwrap();
            meta.insert("version", 99).unwrap();
        }
        txn.commit().unwrap();
    }
    let err = RedbStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("format version 99"), "{err}");
}
