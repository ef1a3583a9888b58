//! The rules of packed transactions: a transaction of a batch is rebuilt from its packed form
//! and the accounts it names (`rebuild`), or skipped for an [`InvalidTx`] reason.

use crate::batch::{BatchTx, Recipient};
use alloy::primitives::Address;
use ply_ledger::{AccountIndex, KeccakHasher, Ledger, LedgerError, Transfer, Tx, Withdrawal};

/// Why a transaction of a well-formed batch was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTx {
    /// The sender index holds no account.
    #[error("sender index {index} holds no account: the ledger has {accounts} accounts")]
    UnknownSender {
        /// The index in the batch.
        index: AccountIndex,
        /// How many accounts existed when the transaction came up.
        accounts: u64,
    },
    /// The recipient index holds no account.
    #[error("recipient index {index} holds no account: the ledger has {accounts} accounts")]
    UnknownRecipient {
        /// The index in the batch.
        index: AccountIndex,
        /// How many accounts existed when the transaction came up.
        accounts: u64,
    },
    /// A transfer marked "to a new account" names an address that already has one: the batch
    /// must use its index.
    #[error("the transfer creates an account for {address}, which already has account {index}")]
    RecipientExists {
        /// The address posted as new.
        address: Address,
        /// Its existing account.
        index: AccountIndex,
    },
    /// The signature does not check (a bad signature, another signer, or a replay, whose
    /// signature covers an old nonce), or the ledger refuses the transaction.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What rebuilding a transaction needs to know about accounts.
pub(crate) trait Accounts {
    fn address(&self, index: AccountIndex) -> Option<Address>;
    fn index_of(&self, address: &Address) -> Option<AccountIndex>;
    /// The nonce of an existing account.
    fn nonce(&self, index: AccountIndex) -> u64;
    fn account_count(&self) -> u64;
}

impl Accounts for Ledger<KeccakHasher> {
    fn address(&self, index: AccountIndex) -> Option<Address> {
        self.account(index).map(|a| a.address)
    }

    fn index_of(&self, address: &Address) -> Option<AccountIndex> {
        Ledger::index_of(self, address)
    }

    fn nonce(&self, index: AccountIndex) -> u64 {
        self.account(index).map_or(0, |a| a.nonce)
    }

    fn account_count(&self) -> u64 {
        Ledger::account_count(self)
    }
}

/// Rebuilds the transaction a user signed from its packed form.
pub(crate) fn rebuild(accounts: &impl Accounts, tx: &BatchTx) -> Result<Tx, InvalidTx> {
    let (BatchTx::Transfer { from, token, amount, fee, .. }
    | BatchTx::Withdrawal { from, token, amount, fee, .. }) = tx;
    let sender = accounts
        .address(*from)
        .ok_or(InvalidTx::UnknownSender { index: *from, accounts: accounts.account_count() })?;
    let nonce = accounts.nonce(*from);
    let (token, amount, fee) = (u32::from(*token), *amount, *fee);
    Ok(match tx {
        BatchTx::Transfer { to, .. } => {
            let to = match *to {
                Recipient::Index(index) => {
                    accounts.address(index).ok_or(InvalidTx::UnknownRecipient {
                        index,
                        accounts: accounts.account_count(),
                    })?
                }
                Recipient::New(address) => {
                    if let Some(index) = accounts.index_of(&address) {
                        return Err(InvalidTx::RecipientExists { address, index });
                    }
                    address
                }
            };
            Tx::Transfer(Transfer { from: sender, to, token, amount, fee, nonce })
        }
        BatchTx::Withdrawal { to, .. } => {
            Tx::Withdrawal(Withdrawal { from: sender, to: *to, token, amount, fee, nonce })
        }
    })
}
