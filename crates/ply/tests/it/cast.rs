//! Acceptance: Foundry's `cast` sends ETH, deploys a contract, calls it, reads its logs and
//! decodes a custom-error revert against `ply l1`, exactly as against anvil.
//!
//! One scenario drives the real `cast` binary (1.7, from `npm ci`) against an RPC URL and
//! returns what a user sees; it runs against the `ply` binary and against a real anvil, and
//! the two outcomes must be equal (block timestamps, and so hashes and accumulators, differ:
//! each run checks those against its own chain instead).
//!
//! `cast` runs offline with a fresh `HOME`, whose signature cache (`~/.foundry/cache/signatures`,
//! what `forge` fills after compiling) is seeded with `MessageInbox`'s ABI: that is where cast
//! looks up the names of custom errors when it has no network.

use crate::{PlyL1, foundry_tool, poll};
use alloy::{
    primitives::{Address, B256, Bytes, LogData, U256, keccak256},
    sol_types::{SolEvent, SolValue},
};
use ply_contracts::{Contract, MessageInbox, MessageInbox::MessagePosted};
use ply_core::dev::{DEV_PRIVATE_KEYS, dev_addresses};
use ply_l1::anvil::Anvil;
use serde_json::{Value, json};
use std::{
    cell::Cell,
    fs::File,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

/// The `cast` binary with its own (temporary) home.
struct Cast {
    bin: PathBuf,
    home: tempfile::TempDir,
    runs: Cell<u32>,
}

/// How one `cast` command ended.
struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Cast {
    /// `None` when cast is missing and `PLY_SKIP_FOUNDRY=1`.
    fn new() -> Option<Self> {
        let bin = foundry_tool("cast")?;
        let home = tempfile::tempdir().unwrap();
        let cache = home.path().join(".foundry/cache");
        std::fs::create_dir_all(&cache).unwrap();
        let abi = Contract::MessageInbox.abi();
        let signatures = json!({
            "functions": abi.functions().map(|f| (f.selector().to_string(), json!(f.signature())))
                .collect::<serde_json::Map<_, _>>(),
            "errors": abi.errors().map(|e| (e.selector().to_string(), json!(e.signature())))
                .collect::<serde_json::Map<_, _>>(),
            "events": abi.events().map(|e| (e.selector().to_string(), json!(e.full_signature())))
                .collect::<serde_json::Map<_, _>>(),
        });
        std::fs::write(cache.join("signatures"), signatures.to_string()).unwrap();
        Some(Self { bin, home, runs: Cell::new(0) })
    }

    /// Runs `cast <args>` (at most 60 s), offline, in its own home.
    fn run(&self, args: &[&str]) -> Ran {
        let n = self.runs.get();
        self.runs.set(n + 1);
        let out = self.home.path().join(format!("{n}.out"));
        let err = self.home.path().join(format!("{n}.err"));
        let mut child = Command::new(&self.bin)
            .args(args)
            .current_dir(self.home.path())
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("ETH_RPC_URL")
            .env_remove("ETH_FROM")
            .env_remove("ETHERSCAN_API_KEY")
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let status = poll(Duration::from_secs(60), || child.try_wait().unwrap());
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cast {args:?} did not finish within 60 s");
        };
        Ran {
            success: status.success(),
            stdout: std::fs::read_to_string(out).unwrap(),
            stderr: std::fs::read_to_string(err).unwrap(),
        }
    }

    /// Runs a command that must succeed; returns its trimmed stdout.
    fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args);
        assert!(ran.success, "cast {args:?} failed:\n{}{}", ran.stdout, ran.stderr);
        ran.stdout.trim().to_string()
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("cast {args:?}: not JSON ({e}):\n{out}"))
    }

    /// Runs a command that must fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let ran = self.run(args);
        assert!(!ran.success, "cast {args:?} should fail, printed:\n{}", ran.stdout);
        ran.stderr
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key:?} in {v}"))
}

fn u64_field(v: &Value, key: &str) -> u64 {
    let hex = str_field(v, key);
    u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The facts of a receipt that must agree between nodes.
#[derive(Debug, PartialEq)]
struct ReceiptFacts {
    status: String,
    gas_used: u64,
    tx_type: String,
    from: String,
    to: Option<String>,
    contract_address: Option<String>,
    logs: usize,
}

fn receipt_facts(receipt: &Value) -> ReceiptFacts {
    ReceiptFacts {
        status: str_field(receipt, "status").into(),
        gas_used: u64_field(receipt, "gasUsed"),
        tx_type: str_field(receipt, "type").into(),
        from: str_field(receipt, "from").to_lowercase(),
        to: receipt["to"].as_str().map(str::to_lowercase),
        contract_address: receipt["contractAddress"].as_str().map(str::to_lowercase),
        logs: receipt["logs"].as_array().map_or(0, Vec::len),
    }
}

/// The revert data in an error cast printed: `..., data: "0x..."`.
fn revert_data(stderr: &str) -> String {
    let start = stderr
        .find("data: \"0x")
        .unwrap_or_else(|| panic!("no revert data in cast's error:\n{stderr}"))
        + "data: \"".len();
    let len = stderr[start..].find('"').expect("closing quote");
    stderr[start..start + len].to_string()
}

/// What a user sees of the scenario; equal for ply and anvil.
#[derive(Debug, PartialEq)]
struct Outcome {
    chain_id: String,
    transfer: ReceiptFacts,
    recipient_balance: String,
    deployment: ReceiptFacts,
    inbox: String,
    post: ReceiptFacts,
    message_count: String,
    /// topic 0, the index and the sender, as `cast logs` prints them.
    log_topics: Vec<String>,
    /// `(index, sender, value, data)` decoded from the log.
    log_fields: (U256, Address, U256, Bytes),
    index_error_data: String,
    /// `cast decode-error` with the error's signature.
    index_error: String,
    /// `cast decode-error` from cast's signature cache.
    index_error_from_cache: String,
    /// What `cast send` says about an empty message.
    empty_message_error: String,
    nonce_after: String,
}

/// Drives cast against `rpc` through the acceptance story; checks what only makes sense per
/// chain (hashes, timestamps, the accumulator) and returns the rest.
fn scenario(cast: &Cast, rpc: &str) -> Outcome {
    let key = format!("0x{}", DEV_PRIVATE_KEYS[0]);
    let dev = dev_addresses()[0];
    let send = |args: &[&str]| -> Value {
        let mut all = vec!["send", "--rpc-url", rpc, "--private-key", &key, "--json"];
        all.extend_from_slice(args);
        cast.json(&all)
    };
    let chain_id = cast.ok(&["chain-id", "--rpc-url", rpc]);

    // Send ETH.
    let recipient = "0x000000000000000000000000000000000000bEEF";
    let transfer = send(&[recipient, "--value", "1ether"]);
    let recipient_balance = cast.ok(&["balance", "--rpc-url", rpc, recipient]);
    let tx = str_field(&transfer, "transactionHash");
    let again = cast.json(&["receipt", "--rpc-url", rpc, tx, "--json"]);
    assert_eq!(receipt_facts(&again), receipt_facts(&transfer), "cast receipt = cast send's");
    assert_eq!(again["blockHash"], transfer["blockHash"]);

    // Deploy.
    let bytecode = MessageInbox::BYTECODE.to_string();
    let deployment = send(&["--create", &bytecode]);
    let inbox = str_field(&deployment, "contractAddress").to_string();
    assert_eq!(inbox.parse::<Address>().unwrap(), dev.create(1));
    let code = cast.ok(&["code", "--rpc-url", rpc, &inbox]);
    assert_eq!(code, MessageInbox::DEPLOYED_BYTECODE.to_string(), "the runtime code");

    // Call: post a message, count messages.
    let post = send(&[&inbox, "postMessage(bytes)", "0x1234"]);
    let message_count = cast.ok(&["call", "--rpc-url", rpc, &inbox, "messageCount()(uint256)"]);

    // Logs.
    let logs = cast.json(&[
        "logs",
        "--rpc-url",
        rpc,
        "--from-block",
        "0",
        "--address",
        &inbox,
        "MessagePosted(uint256,address,uint256,bytes,bytes32)",
        "--json",
    ]);
    let logs = logs.as_array().expect("a JSON array of logs");
    assert_eq!(logs.len(), 1, "one MessagePosted: {logs:?}");
    let log = &logs[0];
    assert_eq!(log["transactionHash"], post["transactionHash"]);
    for field in ["topics", "data", "blockHash", "logIndex", "address"] {
        assert_eq!(log[field], post["logs"][0][field], "cast logs prints the receipt's log");
    }
    let log_topics: Vec<String> =
        log["topics"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let topics: Vec<B256> = log_topics.iter().map(|t| t.parse().unwrap()).collect();
    let data: Bytes = str_field(log, "data").parse().unwrap();
    let event = MessagePosted::decode_log_data(&LogData::new(topics, data).expect("a valid log"))
        .expect("a MessagePosted log");
    // The accumulator: from the block's timestamp, as the contract's docs say.
    let block = cast.json(&["block", "--rpc-url", rpc, str_field(log, "blockNumber"), "--json"]);
    assert_eq!(block["hash"], log["blockHash"]);
    let timestamp = u64_field(&block, "timestamp");
    let acc = keccak256(
        (B256::ZERO, event.sender, event.value, keccak256(&event.data), U256::from(timestamp))
            .abi_encode_params(),
    );
    assert_eq!(event.acc, acc, "the event's accumulator");
    let stored =
        cast.ok(&["call", "--rpc-url", rpc, &inbox, "accumulatorAt(uint256)(bytes32)", "0"]);
    assert_eq!(stored, acc.to_string(), "accumulatorAt(0)");

    // A custom-error revert in a call, decoded.
    let stderr =
        cast.fails(&["call", "--rpc-url", rpc, &inbox, "accumulatorAt(uint256)(bytes32)", "5"]);
    assert!(stderr.contains("execution reverted"), "{stderr}");
    let index_error_data = revert_data(&stderr);
    let values =
        cast.ok(&["decode-error", "--sig", "IndexOutOfRange(uint256,uint256)", &index_error_data]);
    let index_error = format!("IndexOutOfRange({})", values.lines().collect::<Vec<_>>().join(", "));
    let cached = cast.ok(&["decode-error", &index_error_data]);
    let mut lines = cached.lines();
    let signature = lines.next().unwrap_or_default();
    let name = signature.split('(').next().unwrap_or_default();
    let index_error_from_cache = format!("{name}({})", lines.collect::<Vec<_>>().join(", "));

    // A custom-error revert in a send: cast estimates gas first and names the error.
    let stderr = cast.fails(&[
        "send",
        "--rpc-url",
        rpc,
        "--private-key",
        &key,
        &inbox,
        "postMessage(bytes)",
        "0x",
    ]);
    let empty_message_error = stderr
        .trim()
        .rsplit_once(": ")
        .map(|(head, name)| format!("{}: {name}", revert_data(head)))
        .unwrap_or_else(|| panic!("cast send printed no decoded error:\n{stderr}"));
    let nonce_after = cast.ok(&["nonce", "--rpc-url", rpc, &dev.to_string()]);

    Outcome {
        chain_id,
        transfer: receipt_facts(&transfer),
        recipient_balance,
        deployment: receipt_facts(&deployment),
        inbox,
        post: receipt_facts(&post),
        message_count,
        log_topics,
        log_fields: (event.index, event.sender, event.value, event.data),
        index_error_data,
        index_error,
        index_error_from_cache,
        empty_message_error,
        nonce_after,
    }
}

#[test]
fn cast_sees_ply_l1_as_it_sees_anvil() {
    let Some(cast) = Cast::new() else { return };
    let Some(anvil_bin) = foundry_tool("anvil") else { return };

    let anvil = Anvil::spawn(&anvil_bin, &[]).expect("anvil starts");
    let on_anvil = scenario(&cast, &anvil.url());
    drop(anvil);
    let ply = PlyL1::start(&[]);
    let on_ply = scenario(&cast, &ply.url());
    drop(ply);

    // What the scenario must show, on anvil as on ply.
    let dev = dev_addresses()[0];
    assert_eq!(on_anvil.chain_id, "31337");
    assert_eq!(on_anvil.recipient_balance, "1000000000000000000");
    assert_eq!(on_anvil.transfer.gas_used, 21_000);
    assert_eq!(on_anvil.message_count, "1");
    assert_eq!(
        on_anvil.log_topics,
        [
            MessagePosted::SIGNATURE_HASH.to_string(),
            B256::ZERO.to_string(),
            dev.into_word().to_string(),
        ]
    );
    assert_eq!(
        on_anvil.log_fields,
        (U256::ZERO, dev, U256::ZERO, Bytes::from_static(&[0x12, 0x34]))
    );
    assert_eq!(on_anvil.index_error, "IndexOutOfRange(5, 1)");
    assert_eq!(on_anvil.index_error_from_cache, "IndexOutOfRange(5, 1)");
    assert_eq!(on_anvil.empty_message_error, "0xbb1b6580: EmptyMessage");
    assert_eq!(on_anvil.nonce_after, "3", "the failed send was never signed");

    assert_eq!(on_ply, on_anvil, "cast sees the same on ply l1 as on anvil");
}
