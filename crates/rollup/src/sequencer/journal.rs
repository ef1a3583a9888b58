//! The journal moved to `ply-node` ([`ply_node::journal`]); this path stays for the crates that
//! still open their stores through it.

pub use ply_node::journal::{RedbJournal as Journal, open_versioned};
