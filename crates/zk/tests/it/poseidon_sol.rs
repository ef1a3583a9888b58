//! Poseidon in Solidity: the checked-in `PoseidonT5.sol` and `PoseidonT6.sol` are fresh against
//! the generator, and the deployed contracts hash as `ply_zk::poseidon` on the embedded L1.

use alloy::primitives::{Address as L1Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolInterface};
use ark_ff::UniformRand;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use ply_contracts::{Contract, PoseidonT5, PoseidonT6};
use ply_l1::client::{DynL1Client, EmbeddedClient, TxSender};
use ply_l1::{chain::ChainConfig, node::Node};
use ply_zk::groth16::encode_fr;
use ply_zk::{Fr, poseidon};
use std::path::PathBuf;
use std::sync::Arc;

const REGENERATE: &str = "regenerate with `cargo test -p ply-zk --test it -- --ignored \
                          write_poseidon_contracts`, then `scripts/contracts.sh build`";

/// The generated contracts: (inputs, contract name).
const CONTRACTS: [(usize, &str); 2] = [(4, "PoseidonT5"), (5, "PoseidonT6")];

/// EIP-170: the largest deployed code an account may hold.
const MAX_CODE_SIZE: usize = 24_576;

fn contract_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../contracts/src/zk/{name}.sol"))
}

fn source(inputs: usize, name: &str) -> String {
    ply_zk::verifier::solidity_poseidon(inputs, name, REGENERATE)
}

#[test]
fn the_checked_in_poseidon_contracts_are_fresh() {
    for (inputs, name) in CONTRACTS {
        let path = contract_path(name);
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == source(inputs, name),
            "{} is stale (or missing): {REGENERATE}",
            path.display()
        );
    }
}

/// Writes `contracts/src/zk/PoseidonT5.sol` and `PoseidonT6.sol`; run with `--ignored` after
/// changing the generator.
#[test]
#[ignore = "writes contracts/src/zk/PoseidonT5.sol and PoseidonT6.sol"]
fn write_poseidon_contracts() {
    for (inputs, name) in CONTRACTS {
        let path = contract_path(name);
        std::fs::write(&path, source(inputs, name)).unwrap();
        eprintln!("wrote {}", path.display());
    }
    // The vectors pinned in contracts/test/zk/Poseidon.t.sol.
    for digest in
        [poseidon(&[1u64, 2, 3, 4].map(Fr::from)), poseidon(&[1u64, 2, 3, 4, 5].map(Fr::from))]
    {
        eprintln!("{}", ply_zk::fr_to_b256(digest));
    }
}

#[test]
#[should_panic(expected = "1 to 7 inputs")]
fn the_generator_refuses_widths_whose_code_would_not_fit() {
    source(8, "PoseidonT9");
}

struct L1 {
    client: DynL1Client,
    sender: TxSender,
}

impl L1 {
    fn new() -> Self {
        let node = Node::new(ChainConfig::default());
        let client: DynL1Client = Arc::new(EmbeddedClient::new(node));
        let sender = TxSender::new(client.clone(), ply_core::dev::dev_signer(0).unwrap());
        L1 { client, sender }
    }

    /// `eth_call` of `calldata` to `to`: the returned bytes, or the revert.
    async fn call(&self, to: L1Address, calldata: Vec<u8>) -> ply_l1::Result<Bytes> {
        let req = TransactionRequest::default().to(to).input(Bytes::from(calldata).into());
        self.client.call(&req, alloy::eips::BlockId::latest()).await
    }

    /// The gas used by a transaction carrying `calldata` to `to`.
    async fn gas_of(&self, to: L1Address, calldata: Vec<u8>) -> u64 {
        let req = TransactionRequest::default().to(to).input(Bytes::from(calldata).into());
        self.sender.send_and_check(req).await.unwrap().gas_used
    }
}

/// Inputs worth checking: zeros, small numbers, the largest field element, random elements.
fn sample_inputs<const N: usize>(rng: &mut StdRng) -> Vec<[Fr; N]> {
    let mut out = vec![[Fr::from(0u64); N], std::array::from_fn(|i| Fr::from(i as u64 + 1))];
    out.push([-Fr::from(1u64); N]);
    out.extend((0..5).map(|_| std::array::from_fn(|_| Fr::rand(rng))));
    out
}

fn scalar_modulus() -> U256 {
    "21888242871839275222246405745257275088548364400416034343698204186575808495617".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poseidon_contracts_hash_as_ply_zk_on_the_embedded_l1() {
    let l1 = L1::new();
    let mut rng = StdRng::seed_from_u64(5);
    for contract in [Contract::PoseidonT5, Contract::PoseidonT6] {
        let size = contract.deployed_bytecode().len();
        assert!(size <= MAX_CODE_SIZE, "{} has {size} bytes of code", contract.name());
        eprintln!("{}: {size} bytes of deployed code", contract.name());
    }
    let t5 = l1.sender.deploy(Contract::PoseidonT5.bytecode().clone()).await.unwrap();
    let t6 = l1.sender.deploy(Contract::PoseidonT6.bytecode().clone()).await.unwrap();

    for input in sample_inputs::<4>(&mut rng) {
        let call = PoseidonT5::hashCall { input: input.map(encode_fr) };
        let out = l1.call(t5, call.abi_encode()).await.unwrap();
        let digest = PoseidonT5::hashCall::abi_decode_returns(&out).unwrap();
        assert_eq!(digest, encode_fr(poseidon(&input)), "PoseidonT5 of {input:?}");
    }
    for input in sample_inputs::<5>(&mut rng) {
        let call = PoseidonT6::hashCall { input: input.map(encode_fr) };
        let out = l1.call(t6, call.abi_encode()).await.unwrap();
        let digest = PoseidonT6::hashCall::abi_decode_returns(&out).unwrap();
        assert_eq!(digest, encode_fr(poseidon(&input)), "PoseidonT6 of {input:?}");
    }

    // An input at or above the modulus reverts, naming its position.
    let mut input = [U256::from(1); 5];
    input[3] = scalar_modulus();
    let err = l1.call(t6, PoseidonT6::hashCall { input }.abi_encode()).await.unwrap_err();
    let ply_l1::Error::Reverted { data, .. } = &err else { panic!("{err}") };
    assert_eq!(
        PoseidonT6::PoseidonT6Errors::abi_decode(data).unwrap(),
        PoseidonT6::PoseidonT6Errors::InputNotInField(PoseidonT6::InputNotInField {
            index: U256::from(3)
        })
    );
    let input = [U256::MAX, U256::ZERO, U256::ZERO, U256::ZERO];
    let err = l1.call(t5, PoseidonT5::hashCall { input }.abi_encode()).await.unwrap_err();
    let ply_l1::Error::Reverted { data, .. } = &err else { panic!("{err}") };
    assert!(matches!(
        PoseidonT5::PoseidonT5Errors::abi_decode(data).unwrap(),
        PoseidonT5::PoseidonT5Errors::InputNotInField(PoseidonT5::InputNotInField { index })
            if index == U256::ZERO
    ));

    // The gas of a transaction calling `hash` (21,000 and the calldata included).
    let input = sample_inputs::<4>(&mut rng)[4].map(encode_fr);
    let gas5 = l1.gas_of(t5, PoseidonT5::hashCall { input }.abi_encode()).await;
    let input = sample_inputs::<5>(&mut rng)[4].map(encode_fr);
    let gas6 = l1.gas_of(t6, PoseidonT6::hashCall { input }.abi_encode()).await;
    eprintln!("PoseidonT5.hash: {gas5} gas per transaction; PoseidonT6.hash: {gas6}");
    assert!(gas5 < 120_000, "PoseidonT5.hash took {gas5} gas");
    assert!(gas6 < 150_000, "PoseidonT6.hash took {gas6} gas");
}
