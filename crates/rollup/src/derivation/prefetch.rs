//! Signature prefetch: before a batch applies, every transaction of its well-formed prefix is
//! rebuilt as if everything before it applied, and the signatures are checked in parallel; the
//! step machine then finds most of them checked already ([`Predicted`]).

use super::rules::{Accounts, rebuild};
use crate::{
    batch::{self, BatchTx, Recipient},
    fraud::{BatchInput, TxVerifier},
};
use alloy::primitives::Address;
use ply_ledger::{
    AccountIndex, KeccakHasher, Ledger, LedgerError, OpKind, SignedTx, SigningDomain, Tx,
    VerifiedTx,
};
use std::collections::HashMap;

/// Below this many transactions per thread, parallel signature checks cost more than they save.
const MIN_TXS_PER_THREAD: usize = 64;

/// Rebuilds every transaction of the batch's well-formed prefix assuming that all its
/// operations and transactions apply, and checks their signatures in parallel: the step
/// machine then finds most signatures checked already.
pub(super) fn verify_predicted(
    ledger: &Ledger<KeccakHasher>,
    domain: &SigningDomain,
    verify_threads: usize,
    input: &BatchInput<'_>,
) -> Predicted {
    let (prefix, _) = batch::decode_prefix(input.data);
    let mut view = Speculative::new(ledger);
    let mut jobs: Vec<(Tx, &[u8; 64])> = Vec::with_capacity(prefix.batch.tx_count());
    let mut ops = input.ops.iter();
    for block in &prefix.batch.blocks {
        for op in ops.by_ref().take(block.deposits as usize) {
            if op.op_kind() != Some(OpKind::ForcedWithdrawal) {
                view.create(op.to);
            }
        }
        for tx in &block.txs {
            if let Ok(rebuilt) = rebuild(&view, tx) {
                view.applied(tx);
                jobs.push((rebuilt, tx.signature()));
            }
        }
    }

    let check = |(tx, signature): &(Tx, &[u8; 64])| {
        ((tx.clone(), **signature), verify(tx.clone(), signature, domain))
    };
    let threads = verify_threads.min(jobs.len() / MIN_TXS_PER_THREAD).max(1);
    let checked: HashMap<(Tx, [u8; 64]), Result<VerifiedTx, LedgerError>> = if threads == 1 {
        jobs.iter().map(check).collect()
    } else {
        let chunk = jobs.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|jobs| scope.spawn(move || jobs.iter().map(check).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("signature checks do not panic"))
                .collect()
        })
    };
    Predicted { checked, domain: domain.clone() }
}

/// A [`TxVerifier`] that answers from signatures checked ahead of time, and checks the others
/// (transactions rebuilt otherwise than predicted, because something before them was skipped).
pub(super) struct Predicted {
    checked: HashMap<(Tx, [u8; 64]), Result<VerifiedTx, LedgerError>>,
    domain: SigningDomain,
}

impl TxVerifier for Predicted {
    fn verify(&mut self, tx: Tx, signature: &[u8; 64]) -> Result<VerifiedTx, LedgerError> {
        let key = (tx, *signature);
        match self.checked.remove(&key) {
            Some(checked) => checked,
            None => verify(key.0, signature, &self.domain),
        }
    }
}

fn verify(tx: Tx, signature: &[u8; 64], domain: &SigningDomain) -> Result<VerifiedTx, LedgerError> {
    SignedTx::from_compact(tx, signature)?.verify(domain)
}
/// The ledger as it would be if every deposit and transaction so far applied: accounts
/// created and nonces incremented, on top of the real ledger.
struct Speculative<'a> {
    ledger: &'a Ledger<KeccakHasher>,
    created: Vec<Address>,
    created_index: HashMap<Address, AccountIndex>,
    nonces: HashMap<AccountIndex, u64>,
}

impl<'a> Speculative<'a> {
    fn new(ledger: &'a Ledger<KeccakHasher>) -> Self {
        Self { ledger, created: Vec::new(), created_index: HashMap::new(), nonces: HashMap::new() }
    }

    fn create(&mut self, address: Address) {
        if self.index_of(&address).is_none() {
            let index = self.account_count() as AccountIndex;
            self.created.push(address);
            self.created_index.insert(address, index);
        }
    }

    /// Records the effects of `tx`, which was rebuilt successfully.
    fn applied(&mut self, tx: &BatchTx) {
        let from = match tx {
            BatchTx::Transfer { from, .. } | BatchTx::Withdrawal { from, .. } => *from,
        };
        let nonce = self.nonce(from).saturating_add(1);
        self.nonces.insert(from, nonce);
        if let BatchTx::Transfer { to: Recipient::New(address), .. } = tx {
            self.create(*address);
        }
    }
}

impl Accounts for Speculative<'_> {
    fn address(&self, index: AccountIndex) -> Option<Address> {
        self.ledger.address(index).or_else(|| {
            let offset = u64::from(index).checked_sub(self.ledger.account_count())?;
            self.created.get(usize::try_from(offset).ok()?).copied()
        })
    }

    fn index_of(&self, address: &Address) -> Option<AccountIndex> {
        self.ledger.index_of(address).or_else(|| self.created_index.get(address).copied())
    }

    fn nonce(&self, index: AccountIndex) -> u64 {
        self.nonces.get(&index).copied().unwrap_or_else(|| self.ledger.nonce(index))
    }

    fn account_count(&self) -> u64 {
        self.ledger.account_count() + self.created.len() as u64
    }
}
