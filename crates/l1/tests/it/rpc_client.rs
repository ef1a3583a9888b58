//! `RpcClient`'s errors for URLs it cannot use and nodes it cannot reach.

use ply_l1::{
    Error,
    client::{L1Client, RpcClient},
};
use std::net::TcpListener;

#[test]
fn urls_it_cannot_use_are_refused_with_the_reason() {
    let cases = [
        ("not a url", "invalid L1 RPC URL"),
        ("ws://127.0.0.1:8545", "use http://"),
        ("https://rpc.example.org", "https needs TLS"),
    ];
    for (url, expected) in cases {
        let err = RpcClient::new(url).unwrap_err();
        assert!(err.to_string().contains(expected), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_unreachable_node_is_named_with_the_cause() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = RpcClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
    match client.block_number().await.unwrap_err() {
        Error::Rpc(message) => {
            assert!(
                message.contains(&format!("cannot reach http://127.0.0.1:{port}")),
                "{message}"
            );
            assert!(message.contains("Connection refused"), "{message}");
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }
}
