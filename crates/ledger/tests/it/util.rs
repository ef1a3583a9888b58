//! Shared helpers: a deterministic generator, dev keys, and shortcuts to build transactions.

use alloy::signers::local::PrivateKeySigner;
use ply_core::{Address, U256, dev::dev_signer};
use ply_ledger::{
    Deposit, Effects, Ledger, LedgerConfig, Result, SigningDomain, Transfer, TreeHasher,
    VerifiedTx, Withdrawal,
};
use std::sync::OnceLock;

/// SplitMix64: a tiny deterministic generator for randomised tests.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The L2 chain id and rollup address the tests sign for.
pub(crate) fn domain() -> SigningDomain {
    SigningDomain::new(901, Address::repeat_byte(0x42))
}

/// Dev signer `i` (deriving a key's address is a curve multiplication: cache them).
pub(crate) fn signer(i: usize) -> PrivateKeySigner {
    static SIGNERS: OnceLock<Vec<PrivateKeySigner>> = OnceLock::new();
    SIGNERS.get_or_init(|| (0..10).map(|i| dev_signer(i).unwrap()).collect())[i].clone()
}

/// The address of dev account `i`.
pub(crate) fn addr(i: usize) -> Address {
    static ADDRESSES: OnceLock<Vec<Address>> = OnceLock::new();
    ADDRESSES.get_or_init(|| (0..10).map(|i| signer(i).address()).collect())[i]
}

/// A default-shaped Keccak ledger whose fee account is dev account 0.
pub(crate) fn ledger() -> Ledger {
    ledger_with()
}

/// A default-shaped ledger over `H` whose fee account is dev account 0.
pub(crate) fn ledger_with<H: TreeHasher>() -> Ledger<H> {
    Ledger::new(LedgerConfig::new(addr(0))).unwrap()
}

pub(crate) fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(ply_core::ETHER)
}

/// Applies the next deposit of the queue.
pub(crate) fn deposit<H: TreeHasher>(
    ledger: &mut Ledger<H>,
    to: Address,
    token: u32,
    amount: U256,
) -> Result<Effects> {
    let queue_index = ledger.queue_index();
    ledger.apply_deposit(&Deposit { queue_index, to, token, amount, ..Default::default() })
}

/// A transfer signed by dev account `from` and verified.
pub(crate) fn transfer(
    from: usize,
    to: Address,
    token: u32,
    amount: U256,
    fee: U256,
    nonce: u64,
) -> VerifiedTx {
    Transfer { from: addr(from), to, token, amount, fee, nonce }
        .sign(&signer(from), &domain())
        .unwrap()
        .verify(&domain())
        .unwrap()
}

/// A withdrawal signed by dev account `from` and verified.
pub(crate) fn withdrawal(
    from: usize,
    to: Address,
    token: u32,
    amount: U256,
    fee: U256,
    nonce: u64,
) -> VerifiedTx {
    Withdrawal { from: addr(from), to, token, amount, fee, nonce }
        .sign(&signer(from), &domain())
        .unwrap()
        .verify(&domain())
        .unwrap()
}

/// The state root recomputed from nothing but the accounts, with a freshly built tree.
pub(crate) fn root_from_scratch<H: TreeHasher>(ledger: &Ledger<H>) -> ply_core::B256 {
    let config = ledger.config();
    ply_ledger::SparseMerkleTree::<H>::from_leaves(
        config.account_depth,
        ledger
            .accounts()
            .iter()
            .enumerate()
            .map(|(i, a)| (i as u64, a.leaf::<H>(config.token_depth).hash::<H>())),
    )
    .unwrap()
    .root()
}

/// The ledger's persisted form, to compare whole states.
pub(crate) fn snapshot<H: TreeHasher>(ledger: &Ledger<H>) -> String {
    serde_json::to_string(ledger).unwrap()
}
