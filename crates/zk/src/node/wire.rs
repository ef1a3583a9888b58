//! The JSON forms of the zk family's operations: what `zk_sendTransaction` takes, what the
//! operator's write-ahead log stores, and what `zk_getAccount` returns.
//!
//! Integers that can exceed 2⁵³ (amounts, field elements) are `0x`-prefixed hex quantities, as
//! in Ethereum's JSON-RPC.

use crate::{
    Fr,
    babyjubjub::{Fs, Point},
    circuit::{ZkAccount, ZkDeposit, ZkFullExit, ZkOperation, ZkTransfer, ZkWithdrawal},
    eddsa::{PublicKey, Signature},
    fr_from_u256,
};
use ark_ff::{BigInteger, PrimeField};
use ply_core::{Address, U256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A BabyJubjub point as two field elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointJson {
    /// x.
    pub x: U256,
    /// y.
    pub y: U256,
}

impl PointJson {
    /// The JSON form of `point`.
    pub fn from_point(point: &Point) -> Self {
        Self { x: fr_to_u256(point.x), y: fr_to_u256(point.y) }
    }

    /// The point, refused when a coordinate is not a field element or it is not on the curve.
    pub fn to_point(self) -> Result<Point, String> {
        let coordinate = |v: U256| fr_from_u256(v).ok_or(format!("{v} is not a field element"));
        PublicKey::from_coordinates(coordinate(self.x)?, coordinate(self.y)?)
            .map(|key| key.0)
            .map_err(|e| e.to_string())
    }
}

/// A field element as a `U256`.
pub fn fr_to_u256(value: Fr) -> U256 {
    U256::from_be_slice(&value.into_bigint().to_bytes_be())
}

/// An EdDSA signature: `R8` and `S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureJson {
    /// `R8`.
    pub r8: PointJson,
    /// `S`, below the subgroup order.
    pub s: U256,
}

impl SignatureJson {
    fn from_signature(signature: &Signature) -> Self {
        Self {
            r8: PointJson::from_point(&signature.r8),
            s: U256::from_be_slice(&signature.s.into_bigint().to_bytes_be()),
        }
    }

    fn to_signature(self) -> Result<Signature, String> {
        let s = Fs::from_bigint(ark_ff::BigInt::new(self.s.into_limbs()))
            .ok_or("the signature's S is not below the subgroup order")?;
        Ok(Signature { r8: self.r8.to_point()?, s })
    }
}

/// A signed transaction: a transfer (with `to`) or a withdrawal (without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRequest {
    /// The sender's account index.
    pub from: u64,
    /// The recipient's account index; absent for a withdrawal (to the sender's L1 address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// The token.
    pub token: u32,
    /// The amount.
    pub amount: U256,
    /// The fee, in the same token.
    pub fee: U256,
    /// The sender's nonce.
    pub nonce: u64,
    /// The signature of the operation's message.
    pub signature: SignatureJson,
}

fn to_u128(value: U256, what: &str) -> Result<u128, String> {
    u128::try_from(value).map_err(|_| format!("{what} {value} exceeds 2^128 - 1"))
}

impl TxRequest {
    /// The request of a transfer or withdrawal (`None` for a deposit or a full exit, which
    /// only L1 makes).
    pub fn from_op(op: &ZkOperation) -> Option<Self> {
        match op {
            ZkOperation::Deposit(_) | ZkOperation::FullExit(_) => None,
            ZkOperation::Transfer(t) => Some(Self {
                from: t.from,
                to: Some(t.to),
                token: t.token,
                amount: U256::from(t.amount),
                fee: U256::from(t.fee),
                nonce: t.nonce,
                signature: SignatureJson::from_signature(&t.signature),
            }),
            ZkOperation::Withdrawal(w) => Some(Self {
                from: w.from,
                to: None,
                token: w.token,
                amount: U256::from(w.amount),
                fee: U256::from(w.fee),
                nonce: w.nonce,
                signature: SignatureJson::from_signature(&w.signature),
            }),
        }
    }

    /// The operation, refused when a field is out of range (the signature is checked later).
    pub fn into_op(self) -> Result<ZkOperation, String> {
        let amount = to_u128(self.amount, "amount")?;
        let fee = to_u128(self.fee, "fee")?;
        let signature = self.signature.to_signature()?;
        Ok(match self.to {
            Some(to) => ZkOperation::Transfer(ZkTransfer {
                from: self.from,
                to,
                token: self.token,
                amount,
                fee,
                nonce: self.nonce,
                signature,
            }),
            None => ZkOperation::Withdrawal(ZkWithdrawal {
                from: self.from,
                token: self.token,
                amount,
                fee,
                nonce: self.nonce,
                signature,
            }),
        })
    }
}

/// An operation as the operator's log stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LoggedOp {
    /// A deposit from the L1 queue, with its queue id.
    #[serde(rename_all = "camelCase")]
    Deposit {
        /// The queue id.
        id: u64,
        /// The L2 account's address.
        to: Address,
        /// The key of the account it creates.
        public_key: PointJson,
        /// The token.
        token: u32,
        /// The amount.
        amount: U256,
    },
    /// A full exit from the L1 queue, with its queue id.
    #[serde(rename_all = "camelCase")]
    FullExit {
        /// The queue id.
        id: u64,
        /// The account's address.
        owner: Address,
        /// The token.
        token: u32,
    },
    /// A signed transaction.
    Tx(TxRequest),
}

impl LoggedOp {
    /// The log form of `op` (`deposit_id`: the queue id of a deposit or a full exit).
    pub fn from_op(op: &ZkOperation, deposit_id: u64) -> Self {
        match op {
            ZkOperation::Deposit(d) => Self::Deposit {
                id: deposit_id,
                to: d.to,
                public_key: PointJson::from_point(&d.public_key.0),
                token: d.token,
                amount: U256::from(d.amount),
            },
            ZkOperation::FullExit(e) => {
                Self::FullExit { id: deposit_id, owner: e.owner, token: e.token }
            }
            tx => Self::Tx(TxRequest::from_op(tx).expect("not a priority operation")),
        }
    }

    /// The operation.
    pub fn to_op(&self) -> Result<ZkOperation, String> {
        match self {
            Self::Deposit { to, public_key, token, amount, .. } => {
                Ok(ZkOperation::Deposit(ZkDeposit {
                    to: *to,
                    public_key: PublicKey(public_key.to_point()?),
                    token: *token,
                    amount: to_u128(*amount, "amount")?,
                }))
            }
            Self::FullExit { owner, token, .. } => {
                Ok(ZkOperation::FullExit(ZkFullExit { owner: *owner, token: *token }))
            }
            Self::Tx(tx) => tx.clone().into_op(),
        }
    }
}

/// An account as `zk_getAccount` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountJson {
    /// The account index.
    pub index: u64,
    /// The L1 address.
    pub address: Address,
    /// The EdDSA key.
    pub public_key: PointJson,
    /// The next nonce.
    pub nonce: u64,
    /// Non-zero balances by token.
    pub balances: BTreeMap<u32, U256>,
}

impl AccountJson {
    /// The JSON form of account `index`.
    pub fn new(index: u64, account: &ZkAccount) -> Self {
        Self {
            index,
            address: account.address,
            public_key: PointJson::from_point(&account.public_key.0),
            nonce: account.nonce,
            balances: account.balances.iter().map(|(t, b)| (*t, U256::from(*b))).collect(),
        }
    }
}
