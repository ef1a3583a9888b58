//! `ply devnet --lying-proposer` end to end: the devnet's proposer posts a wrong output for the
//! first batch with a transaction, the devnet's challenger disputes it and wins, and
//! `ply rollup dispute status --json` shows the game.

use super::poll;
use ply_l1::anvil::free_port;
use serde_json::Value;
use std::{
    fs::File,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A `ply devnet` process; killed (and reaped) when dropped.
struct Devnet {
    child: Child,
    logs: tempfile::TempDir,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Devnet {
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

/// Runs `ply rollup <args>` against the devnet's endpoints; returns its stdout (it must succeed).
fn rollup(l1: &str, rpc: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ply"))
        .args(["rollup", "--l1", l1, "--rpc", rpc])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("the ply binary runs");
    assert!(out.status.success(), "ply rollup {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_devnet_challenger_disproves_the_lying_proposer() {
    let (l1_port, rollup_port) = (free_port().unwrap(), free_port().unwrap());
    let logs = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ply"))
        .args(["devnet", "--no-zk", "--lying-proposer"])
        .args(["--port", &l1_port.to_string(), "--rollup-port", &rollup_port.to_string()])
        .stdin(Stdio::null())
        .stdout(File::create(logs.path().join("stdout")).unwrap())
        .stderr(File::create(logs.path().join("stderr")).unwrap())
        .spawn()
        .expect("the ply binary starts");
    let mut devnet = Devnet { child, logs };
    let up = poll(Duration::from_secs(60), || {
        if devnet.read("stdout").contains("try:") {
            return Some(true);
        }
        devnet.child.try_wait().unwrap().map(|_| false)
    });
    assert_eq!(up, Some(true), "the devnet did not start:\n{}", devnet.read("stderr"));
    let (l1, rpc) =
        (format!("http://127.0.0.1:{l1_port}"), format!("http://127.0.0.1:{rollup_port}"));

    rollup(&l1, &rpc, &["deposit", "1"]);
    // The transfer is accepted once the deposit reached L2.
    let sent = poll(Duration::from_secs(30), || {
        let out = Command::new(env!("CARGO_BIN_EXE_ply"))
            .args(["rollup", "--l1", &l1, "--rpc", &rpc, "transfer"])
            .args(["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0.5"])
            .output()
            .unwrap();
        if out.status.success() { Some(()) } else { None }
    });
    assert!(sent.is_some(), "the transfer was refused:\n{}", devnet.read("stderr"));

    let won = poll(Duration::from_secs(60), || {
        let status: Value =
            serde_json::from_str(&rollup(&l1, &rpc, &["dispute", "status", "--json"])).unwrap();
        let games = status["games"].as_array()?;
        games.iter().any(|g| g["status"] == "challenger won").then_some(status)
    });
    let status = won.unwrap_or_else(|| panic!("no game was won:\n{}", devnet.read("stderr")));
    assert_ne!(status["locked_bonds_wei"], "0", "{status}");
    let table = rollup(&l1, &rpc, &["dispute", "status"]);
    assert!(table.contains("challenger won"), "{table}");
}
