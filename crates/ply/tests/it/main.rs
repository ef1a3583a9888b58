//! Integration tests of the `ply` binary, in one test binary (linked once).
//!
//! - `cast`: Foundry's `cast` against `ply l1`, compared with the same commands against anvil
//!   (`npm ci` installs both; without them these tests fail, unless `PLY_SKIP_FOUNDRY=1`);
//! - `dispute`: `ply devnet --lying-proposer`, its challenger wins, `ply rollup dispute status`;
//! - here: `ply l1 --data-dir` keeps the chain across a SIGKILL and a restart, and refuses a
//!   directory that holds another chain.
//!
//! Every process a test starts is killed when its guard drops, also when the test fails.

mod cast;
mod dispute;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, U256, keccak256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ply_contracts::MessageInbox;
use ply_core::dev::dev_signer;
use ply_l1::{
    anvil::free_port,
    client::{L1Client, RpcClient, SenderConfig, TxSender},
};
use std::{
    fs::File,
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

/// The repository root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Foundry binary installed by `npm ci` (`node_modules/@foundry-rs/<tool>-linux-amd64`).
/// Missing, it fails the test, unless `PLY_SKIP_FOUNDRY=1` (then `None`: skip).
fn foundry_tool(tool: &str) -> Option<PathBuf> {
    let path = repo_root().join(format!("node_modules/@foundry-rs/{tool}-linux-amd64/bin/{tool}"));
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("PLY_SKIP_FOUNDRY").is_ok_and(|v| v == "1") {
        eprintln!("skipping: {} is missing (PLY_SKIP_FOUNDRY=1)", path.display());
        return None;
    }
    panic!(
        "{tool} not found at {}: run npm ci in the repository root (or set PLY_SKIP_FOUNDRY=1 to \
         skip the Foundry tests)",
        path.display()
    );
}

/// Polls `done` every 10 ms until it yields, for at most `limit`.
fn poll<T>(limit: Duration, mut done: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = done() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A `ply l1` process on a loopback port; killed (and reaped) when dropped.
#[derive(Debug)]
struct PlyL1 {
    child: Child,
    addr: SocketAddr,
    /// Holds the process's stderr, for failure messages.
    logs: tempfile::TempDir,
}

impl PlyL1 {
    /// Starts `ply l1 --port <free port> <args>` and waits until the port accepts connections.
    fn start(args: &[&str]) -> Self {
        // Another process may take the free port before ply binds it: try a few.
        for _ in 0..5 {
            let port = free_port().expect("a free loopback port");
            let logs = tempfile::tempdir().unwrap();
            let stderr = File::create(logs.path().join("stderr")).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_ply"))
                .args(["l1", "--port", &port.to_string()])
                .args(args)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("the ply binary starts");
            let mut node = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), logs };
            let up = poll(Duration::from_secs(30), || {
                if TcpStream::connect(node.addr).is_ok() {
                    return Some(true);
                }
                node.child.try_wait().unwrap().map(|_| false)
            });
            match up {
                Some(true) => return node,
                Some(false) if node.stderr().contains("Address already in use") => continue,
                Some(false) => panic!("ply l1 exited at start:\n{}", node.stderr()),
                None => panic!("ply l1 did not open port {port} in 30 s:\n{}", node.stderr()),
            }
        }
        panic!("ply l1 found no free port in 5 tries");
    }

    /// The HTTP JSON-RPC endpoint.
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the process wrote to stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().expect("kill ply l1");
        self.child.wait().expect("reap ply l1");
    }
}

impl Drop for PlyL1 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ply <args>` to its end (bounded); returns its exit status and stderr.
fn run_ply(args: &[&str]) -> (ExitStatus, String) {
    let logs = tempfile::tempdir().unwrap();
    let path = logs.path().join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ply"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&path).unwrap())
        .spawn()
        .expect("the ply binary starts");
    let status = poll(Duration::from_secs(30), || child.try_wait().unwrap());
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("ply {args:?} did not exit within 30 s");
    };
    (status, std::fs::read_to_string(path).unwrap())
}

fn sender(client: &Arc<RpcClient>, index: usize) -> TxSender {
    let config = SenderConfig {
        poll_interval: Duration::from_millis(10),
        bump_after: 0,
        timeout: Duration::from_secs(30),
        ..SenderConfig::default()
    };
    TxSender::with_config(client.clone(), dev_signer(index).unwrap(), config)
}

async fn message_count(client: &RpcClient, inbox: Address) -> U256 {
    let req = TransactionRequest::default()
        .to(inbox)
        .input(MessageInbox::messageCountCall {}.abi_encode().into());
    let out = client.call(&req, BlockId::latest()).await.expect("messageCount()");
    MessageInbox::messageCountCall::abi_decode_returns(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_survives_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("chain");
    let data_dir = data_dir.to_str().unwrap();
    let node = PlyL1::start(&["--data-dir", data_dir]);
    let client = Arc::new(RpcClient::new(&node.url()).unwrap());
    let alice = sender(&client, 0);
    let to = Address::from_word(keccak256(b"ply l1 --data-dir recipient"));

    let transfer = TransactionRequest::default().to(to).value(U256::from(12_345));
    let paid = alice.send_and_check(transfer).await.expect("a transfer");
    let inbox = alice.deploy(MessageInbox::BYTECODE.clone()).await.expect("MessageInbox deploys");
    let post = TransactionRequest::default().to(inbox).input(
        MessageInbox::postMessageCall { data: b"kept on disk".to_vec().into() }.abi_encode().into(),
    );
    let posted = alice.send_and_check(post).await.expect("postMessage");
    let head = client.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    assert_eq!(head.number, 3);
    let alice_balance = client.balance(alice.address(), BlockId::latest()).await.unwrap();
    drop((alice, client));
    node.kill();

    let node = PlyL1::start(&["--data-dir", data_dir]);
    let client = Arc::new(RpcClient::new(&node.url()).unwrap());
    let again = client.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    assert_eq!((again.number, again.hash), (head.number, head.hash), "the same head block");
    for receipt in [&paid, &posted] {
        let kept = client.receipt(receipt.transaction_hash).await.unwrap();
        assert_eq!(kept.as_ref(), Some(receipt), "the receipt survives the restart");
    }
    assert_eq!(client.balance(to, BlockId::latest()).await.unwrap(), U256::from(12_345));
    let alice = sender(&client, 0);
    assert_eq!(client.balance(alice.address(), BlockId::latest()).await.unwrap(), alice_balance);
    assert_eq!(client.nonce(alice.address(), BlockId::latest()).await.unwrap(), 3);
    assert_eq!(
        client.code(inbox, BlockId::latest()).await.unwrap(),
        MessageInbox::DEPLOYED_BYTECODE
    );
    assert_eq!(message_count(&client, inbox).await, U256::from(1), "the contract's storage");

    // The chain goes on from the persisted head.
    let more = TransactionRequest::default().to(to).value(U256::from(1));
    let receipt = alice.send_and_check(more).await.expect("a transfer after the restart");
    assert_eq!(receipt.block_number, Some(head.number + 1));
    let next = client.header(BlockNumberOrTag::Latest).await.unwrap().unwrap();
    assert_eq!(next.parent_hash, head.hash);
    drop((alice, client));
    drop(node);

    // The directory holds chain 31337: another chain id is refused with a clear error.
    let port = free_port().unwrap().to_string();
    let (status, stderr) =
        run_ply(&["l1", "--port", &port, "--data-dir", data_dir, "--chain-id", "5"]);
    assert!(!status.success(), "ply l1 must refuse the directory; stderr:\n{stderr}");
    assert!(
        stderr.contains(data_dir) && stderr.contains("31337") && stderr.contains("chain 5"),
        "the error names the directory and both chain ids:\n{stderr}"
    );
}
