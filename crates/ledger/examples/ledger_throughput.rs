//! Measures the ledger's hot path: signature verification (on every core), `apply` on verified
//! transfers, and the lazy state root, at the default depths (24, 8).
//!
//! `cargo run --release -p ply-ledger --example ledger_throughput [transfers] [accounts]`
//!
//! Prints one JSON object. A program, not a test: tests never time things.

use ply_core::{Address, U256, dev::dev_signers};
use ply_ledger::{
    Deposit, KeccakHasher, Ledger, LedgerConfig, SignedTx, SigningDomain, Transfer, VerifiedTx,
};
use std::{thread, time::Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let transfers: usize = args.next().map_or(20_000, |a| a.parse().expect("transfers"));
    let accounts: u64 = args.next().map_or(10_000, |a| a.parse().expect("accounts"));
    let block: usize = 1_000;

    let signers = dev_signers();
    let domain = SigningDomain::new(901, Address::repeat_byte(0x42));
    let mut ledger = Ledger::<KeccakHasher>::new(LedgerConfig::new(signers[0].address())).unwrap();
    let mut queue = 0;
    let mut fund = |ledger: &mut Ledger, to: Address| {
        let deposit = Deposit {
            queue_index: queue,
            to,
            token: 0,
            amount: U256::from(u64::MAX),
            ..Default::default()
        };
        queue += 1;
        ledger.apply_deposit(&deposit).unwrap();
    };
    for signer in &signers[1..] {
        fund(&mut ledger, signer.address());
    }
    let recipients: Vec<Address> =
        (0..accounts).map(|i| Address::left_padding_from(&(i + 1_000_000).to_be_bytes())).collect();
    for to in &recipients {
        fund(&mut ledger, *to);
    }
    ledger.root();

    // Signed transfers from the nine funded dev keys to many recipients: every transfer
    // touches its sender, a recipient spread over `accounts`, and the fee account.
    let mut nonces = [0u64; 10];
    let signed: Vec<SignedTx> = (0..transfers)
        .map(|i| {
            let from = 1 + i % 9;
            let tx = Transfer {
                from: signers[from].address(),
                to: recipients[(i * 7919) % recipients.len()],
                token: 0,
                amount: U256::from(1_000u64),
                fee: U256::from(1u64),
                nonce: nonces[from],
            };
            nonces[from] += 1;
            tx.sign(&signers[from], &domain).unwrap()
        })
        .collect();

    // One core, on a sample: the cost of one verification.
    let sample = &signed[..signed.len().min(2_000)];
    let start = Instant::now();
    for s in sample {
        s.verify(&domain).unwrap();
    }
    let verify_one_us = start.elapsed().as_secs_f64() / sample.len() as f64 * 1e6;

    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    let verified: Vec<VerifiedTx> = thread::scope(|scope| {
        let chunk = signed.len().div_ceil(cores);
        let handles: Vec<_> = signed
            .chunks(chunk)
            .map(|part| {
                let domain = &domain;
                scope.spawn(move || {
                    part.iter().map(|s| s.verify(domain).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let verify_s = start.elapsed().as_secs_f64();

    // Apply only, then one root: the cost of the state machine and of one lazy commit.
    let mut apply_only = ledger.clone();
    let start = Instant::now();
    for tx in &verified {
        apply_only.apply(tx).unwrap();
    }
    let apply_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    apply_only.root();
    let single_commit_s = start.elapsed().as_secs_f64();

    // Apply with a root every block, as a sequencer does.
    let start = Instant::now();
    for (i, tx) in verified.iter().enumerate() {
        ledger.apply(tx).unwrap();
        if (i + 1) % block == 0 {
            ledger.root();
        }
    }
    ledger.root();
    let blocks_s = start.elapsed().as_secs_f64();
    assert_eq!(ledger.root(), apply_only.root());

    let n = transfers as f64;
    println!(
        "{{\"transfers\":{transfers},\"accounts\":{},\"cores\":{cores},\"block\":{block},\
         \"verify_us_per_tx_one_core\":{:.1},\"verify_parallel_tx_per_s\":{:.0},\"apply_us_per_tx\":{:.3},\
         \"single_commit_ms\":{:.3},\"apply_plus_root_per_block_us_per_tx\":{:.3},\
         \"apply_plus_root_per_block_tx_per_s\":{:.0},\"end_to_end_tx_per_s\":{:.0}}}",
        ledger.account_count(),
        verify_one_us,
        n / verify_s,
        apply_s / n * 1e6,
        single_commit_s * 1e3,
        blocks_s / n * 1e6,
        n / blocks_s,
        n / (verify_s + blocks_s),
    );
}
