//! Integration tests of `ply-l1`, in one binary (linked once).
//!
//! - `scenarios`: one set of scenarios run on three backends: the embedded chain in-process,
//!   ply's JSON-RPC server and anvil (`npm ci` installs it, `PLY_ANVIL=path` picks another
//!   binary; without one the anvil tests fail, unless `PLY_SKIP_ANVIL=1` skips them);
//! - `sender`: fee bumping, the fee cap and timeouts on a chain that mines only when asked;
//! - `bad_input`: malformed requests and bad transactions against ply's server, over HTTP;
//! - `ws`: `eth_subscribe` over WebSocket;
//! - `rpc_client`: `RpcClient`'s errors for unusable URLs and unreachable nodes.

mod harness;

mod bad_input;
mod rpc_client;
mod scenarios;
mod sender;
mod ws;
