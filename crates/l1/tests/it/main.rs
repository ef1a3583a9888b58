//! Integration tests of `ply-l1`, in one binary (linked once).
//!
//! - `scenarios`: one set of scenarios run on three backends: the embedded chain in-process,
//!   ply's JSON-RPC server and anvil (`npm ci` installs it, `PLY_ANVIL=path` picks another
//!   binary; without one the anvil tests fail, unless `PLY_SKIP_ANVIL=1` skips them);
//! - `sender`: fee bumping, the fee cap and timeouts on a chain that mines only when asked;
//! - `bad_input`: malformed requests and bad transactions against ply's server, over HTTP;
//! - `ws`: `eth_subscribe` over WebSocket;
//! - `rpc_client`: `RpcClient`'s errors for unusable URLs and unreachable nodes;
//! - `persistence`: the chain kept in a directory survives reopening (`Chain::open`);
//! - `inbox`: the `MessageInbox` contract on every backend, its logs and its hash chain.

mod harness;

mod bad_input;
mod inbox;
mod persistence;
mod rpc_client;
mod scenarios;
mod sender;
mod ws;
