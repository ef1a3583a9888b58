//! The three backends the scenarios run on, an anvil process guard and the test contract.

use alloy::{
    primitives::{Address, Bytes},
    rpc::types::TransactionRequest,
    sol,
    sol_types::SolCall,
};
use jsonrpsee::server::ServerHandle;
use ply_core::dev::dev_signer;
use ply_l1::{
    chain::ChainConfig,
    client::{DynL1Client, EmbeddedClient, RpcClient, SenderConfig, TxSender},
    node::Node,
};
use std::{sync::Arc, time::Duration};

sol! {
    /// A probe contract: storage, an event, a custom error, a string revert and the clock.
    /// Compiled with solc 0.8.30 (optimizer on, 200 runs, EVM version cancun) from:
    ///
    /// ```solidity
    /// contract Probe {
    ///     error TooBig(uint256 given, uint256 max);
    ///     event Stored(address indexed who, uint256 indexed value, bytes32 tag);
    ///     uint256 public value;
    ///     function store(uint256 v, bytes32 tag) external {
    ///         if (v > 1000) revert TooBig(v, 1000);
    ///         value = v;
    ///         emit Stored(msg.sender, v, tag);
    ///     }
    ///     function fail(string calldata why) external pure { revert(why); }
    ///     function time() external view returns (uint256) { return block.timestamp; }
    /// }
    /// ```
    #[sol(bytecode = "6080604052348015600e575f5ffd5b506102168061001c5f395ff3fe608060405234801561000f575f5ffd5b506004361061004a575f3560e01c806316ada5471461004e5780633fa4f2451461006257806378122f3a1461006a578063eccf17a21461007f575b5f5ffd5b425b60405190815260200160405180910390f35b6100505f5481565b61007d610078366004610124565b610092565b005b61007d61008d366004610192565b6100b7565b818160405162461bcd60e51b81526004016100ae9291906101b2565b60405180910390fd5b6103e88211156100e557604051631ab6737f60e21b8152600481018390526103e860248201526044016100ae565b5f829055604051818152829033907f8b7709c817743bad19c2d88d5c5deac967b4e639d3f90b3aa1d37c30d616c0999060200160405180910390a35050565b5f5f60208385031215610135575f5ffd5b823567ffffffffffffffff81111561014b575f5ffd5b8301601f8101851361015b575f5ffd5b803567ffffffffffffffff811115610171575f5ffd5b856020828401011115610182575f5ffd5b6020919091019590945092505050565b5f5f604083850312156101a3575f5ffd5b50508035926020909101359150565b60208152816020820152818360408301375f818301604090810191909152601f909201601f1916010191905056fea264697066735822122093b3bcd448405d26dece1ea7c39cf90d058abb96ee3e26c67736fcd60ea3a90264736f6c634300081e0033")]
    contract Probe {
        error TooBig(uint256 given, uint256 max);
        event Stored(address indexed who, uint256 indexed value, bytes32 tag);
        function value() external view returns (uint256);
        function store(uint256 v, bytes32 tag) external;
        function fail(string calldata why) external pure;
        function time() external view returns (uint256);
    }
}

/// The creation code of [`Probe`].
pub(crate) fn probe_bytecode() -> Bytes {
    Probe::BYTECODE.clone()
}

/// A call of `call` on `to`.
pub(crate) fn call_req(to: Address, call: impl SolCall) -> TransactionRequest {
    TransactionRequest::default().to(to).input(call.abi_encode().into())
}

/// Sender settings for tests: quick polls, no bumping (instant mining needs none), a timeout
/// that only a broken chain reaches.
pub(crate) fn test_sender_config() -> SenderConfig {
    SenderConfig {
        poll_interval: Duration::from_millis(10),
        bump_after: 0,
        timeout: Duration::from_secs(30),
        ..SenderConfig::default()
    }
}

/// What keeps a backend alive while a test runs.
#[derive(Debug)]
enum Keep {
    Node(#[allow(dead_code)] Node),
    Server(ServerHandle),
    Anvil(#[allow(dead_code)] Anvil),
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Keep::Server(handle) = self {
            let _ = handle.stop();
        }
    }
}

/// One L1 to run a scenario on: a client and what keeps its node alive.
#[derive(Debug)]
pub(crate) struct Backend {
    /// The client the scenario talks through.
    pub(crate) client: DynL1Client,
    _keep: Keep,
}

impl Backend {
    /// The embedded chain, in-process.
    pub(crate) fn embedded() -> Self {
        Self::embedded_with(ChainConfig::default())
    }

    /// The embedded chain with `config`, in-process.
    pub(crate) fn embedded_with(config: ChainConfig) -> Self {
        let node = Node::new(config);
        Self { client: Arc::new(EmbeddedClient::new(node.clone())), _keep: Keep::Node(node) }
    }

    /// The embedded chain served by ply's JSON-RPC server on a free loopback port, through
    /// [`RpcClient`].
    pub(crate) async fn ply_rpc() -> Self {
        let (_node, url, handle) = ply_server(ChainConfig::default()).await;
        Self {
            client: Arc::new(RpcClient::new(&url).expect("valid URL")),
            _keep: Keep::Server(handle),
        }
    }

    /// A fresh anvil on a free loopback port, through [`RpcClient`]; `None` when anvil is
    /// missing and `PLY_SKIP_ANVIL=1`.
    pub(crate) async fn anvil() -> Option<Self> {
        let anvil = start_anvil()?;
        let client = Arc::new(RpcClient::new(&anvil.url()).expect("valid URL"));
        Some(Self { client, _keep: Keep::Anvil(anvil) })
    }

    /// A sender for dev account `index` on this backend.
    pub(crate) fn sender(&self, index: usize) -> TxSender {
        TxSender::with_config(
            self.client.clone(),
            dev_signer(index).expect("dev account"),
            test_sender_config(),
        )
    }
}

/// Serves a new embedded chain on 127.0.0.1, on a free port; returns its node, its HTTP URL
/// and the server handle.
pub(crate) async fn ply_server(config: ChainConfig) -> (Node, String, ServerHandle) {
    let node = Node::new(config);
    let (addr, handle) = ply_l1::rpc::serve(node.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("ply's RPC server starts");
    assert!(addr.ip().is_loopback());
    (node, format!("http://{addr}"), handle)
}

/// A real anvil for the tests (the launcher lives in `ply_l1::anvil`).
pub(crate) use ply_l1::anvil::Anvil;

/// Starts anvil on a free loopback port; `None` when it is missing and `PLY_SKIP_ANVIL=1`,
/// otherwise a missing anvil fails the test with "run npm ci".
pub(crate) fn start_anvil() -> Option<Anvil> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Anvil::for_tests(&root).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs scenarios, each an `async fn(&Backend)`, on the three backends: one test per scenario
/// and backend, in modules `embedded`, `ply_rpc` and `anvil`.
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let backend = $crate::harness::Backend::embedded();
                    super::$scenario(&backend).await;
                }
            )*
        }
        mod ply_rpc {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let backend = $crate::harness::Backend::ply_rpc().await;
                    super::$scenario(&backend).await;
                }
            )*
        }
        mod anvil {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(backend) = $crate::harness::Backend::anvil().await else { return };
                    super::$scenario(&backend).await;
                }
            )*
        }
    };
}
