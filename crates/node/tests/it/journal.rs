//! The journal's on-disk format is pinned: `fixtures/journal-v1.redb` was written by the
//! journal as it was before it moved to this crate (`ply_rollup::sequencer::journal`), with
//! family version 1, a deployment stamp, three entries in two appends and two batches (one
//! rewritten). Every store made so far must keep opening and reading the same.

use ply_node::{Journal, MemoryJournal, RedbJournal};
use serde_json::{Value, json};

fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::copy(fixture.join("journal-v1.redb"), dir.path().join("journal-v1.redb")).unwrap();
    dir
}

fn expected_entries() -> Vec<Value> {
    vec![
        json!({"Tx": {"block": 0, "n": 1}}),
        json!({"Seal": {"block": 0, "timestamp": 1_700_000_000u64}}),
        json!("third"),
    ]
}

fn expected_batches() -> Vec<Value> {
    vec![
        json!({"index": 0, "first_block": 0, "last_block": 0, "proposed": true}),
        json!({"index": 1, "first_block": 1, "last_block": 3}),
    ]
}

#[test]
fn a_journal_written_before_the_move_opens_and_reads_the_same() {
    let dir = fixture_dir();
    let mut journal =
        RedbJournal::open(dir.path(), "journal-v1.redb", 1, Some(b"fixture deployment")).unwrap();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal.entries::<Value>().unwrap(), expected_entries());
    assert_eq!(journal.batches::<Value>().unwrap(), expected_batches());
    // And goes on from there, durably.
    journal.append(&[json!("fourth")]).unwrap();
    drop(journal);
    let journal = RedbJournal::open(dir.path(), "journal-v1.redb", 1, None).unwrap();
    assert_eq!(journal.entries::<Value>().unwrap().last().unwrap(), &json!("fourth"));
}

#[test]
fn the_fixture_refuses_another_family_version_or_deployment() {
    let dir = fixture_dir();
    let err = RedbJournal::open(dir.path(), "journal-v1.redb", 2, None).unwrap_err();
    assert!(err.to_string().contains("format version 1, this ply reads 2"), "{err}");
    let err = RedbJournal::open(dir.path(), "journal-v1.redb", 1, Some(b"other")).unwrap_err();
    assert!(err.to_string().contains("another deployment"), "{err}");
}

#[test]
fn the_memory_twin_reads_back_what_the_fixture_holds() {
    let mut memory = MemoryJournal::new();
    memory.append(&expected_entries()).unwrap();
    for (i, batch) in expected_batches().iter().enumerate() {
        memory.put_batch(i as u64, batch).unwrap();
    }
    assert_eq!(memory.entries::<Value>().unwrap(), expected_entries());
    assert_eq!(memory.batches::<Value>().unwrap(), expected_batches());
}
