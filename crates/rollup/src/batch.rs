//! The batch encoding posted to L1 (version 1, specified in `docs/rollup.md`).
//!
//! A batch is a list of L2 blocks; a block says how many queued L1 deposits it applies and
//! carries its transactions in a compact form: account indices instead of addresses, packed
//! amounts and fees, no nonce (the signature covers it), and a 64-byte EIP-2098 signature.
//! A transfer takes 79 bytes.
//!
//! Decoding takes bytes from L1 that a dishonest sequencer may have crafted: it never panics
//! and never allocates more than the input can justify.

use alloy::primitives::{Address, U256};
use ply_core::packed::DecimalPacking;

/// The version byte of this encoding.
pub const BATCH_VERSION: u8 = 1;
/// The account index marking "a new account, 20-byte address follows".
pub const NEW_ACCOUNT: u32 = 0xFF_FFFF;
/// The largest account index the encoding can carry.
pub const MAX_ACCOUNT_INDEX: u32 = NEW_ACCOUNT - 1;
/// The largest token id the encoding can carry (15 bits).
pub const MAX_TOKEN: u16 = 0x7FFF;
/// Bytes of a transfer to an existing account.
pub const TRANSFER_SIZE: usize = 2 + 3 + 3 + 5 + 2 + 64;
/// Bytes of a block header inside a batch.
pub const BLOCK_HEADER_SIZE: usize = 8 + 2 + 2;

/// Amounts: 35-bit mantissa, 5-bit exponent (40 bits).
const AMOUNT_PACKING: DecimalPacking = DecimalPacking::new(35, 5);
/// Fees: 11-bit mantissa, 5-bit exponent (16 bits).
const FEE_PACKING: DecimalPacking = DecimalPacking::new(11, 5);
const WITHDRAWAL_FLAG: u16 = 0x8000;

/// Why bytes are not a batch, or a value cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The version byte is not one this node reads.
    #[error("unknown batch version {0}, expected {BATCH_VERSION}")]
    UnknownVersion(u8),
    /// The data ends inside a field.
    #[error("batch truncated at byte {at}: {needed} more bytes needed for {what}")]
    Truncated {
        /// Where the missing field starts.
        at: usize,
        /// How many bytes it needs.
        needed: usize,
        /// Which field.
        what: &'static str,
    },
    /// Bytes after the last block.
    #[error("{0} trailing bytes after the last block")]
    TrailingBytes(usize),
    /// The blocks apply a different number of deposits than the batch consumed on L1.
    #[error("the blocks apply {in_blocks} deposits but the batch consumed {consumed} on L1")]
    DepositMismatch {
        /// Sum of the blocks' deposit counts.
        in_blocks: u64,
        /// `newDepositCount - prevDepositCount` from the L1 call.
        consumed: u64,
    },
    /// A block's timestamp is before its predecessor's.
    #[error("block {block} has timestamp {timestamp}, before the previous block's {previous}")]
    TimestampDecreases {
        /// The block's position in the batch.
        block: usize,
        /// Its timestamp.
        timestamp: u64,
        /// The timestamp it must not be below.
        previous: u64,
    },
    /// An amount is not `m * 10^e` with a 35-bit mantissa and a 5-bit exponent.
    #[error("amount {0} cannot be packed: it must be a 35-bit number times a power of ten")]
    AmountNotPackable(U256),
    /// A fee is not `m * 10^e` with an 11-bit mantissa and a 5-bit exponent.
    #[error("fee {0} cannot be packed: it must be an 11-bit number times a power of ten")]
    FeeNotPackable(U256),
    /// An account index above [`MAX_ACCOUNT_INDEX`].
    #[error("account index {0} does not fit the batch encoding (max {MAX_ACCOUNT_INDEX})")]
    AccountIndexTooLarge(u32),
    /// A token id above [`MAX_TOKEN`].
    #[error("token id {0} does not fit the batch encoding (max {MAX_TOKEN})")]
    TokenTooLarge(u32),
    /// A block claims more priority operations than the batch has left to apply.
    #[error(
        "block {block} applies {claimed} priority operations, but the batch has only {left} left"
    )]
    TooManyOps {
        /// The block's position in the batch.
        block: usize,
        /// The operations it claims.
        claimed: u16,
        /// The operations the batch consumed and has not applied yet.
        left: u64,
    },
    /// A block with more than 65,535 transactions or deposits.
    #[error("a block holds at most 65,535 transactions and 65,535 deposits")]
    BlockTooLarge,
}

/// `Result` with [`BatchError`].
pub type Result<T, E = BatchError> = std::result::Result<T, E>;

/// Packs an amount into 40 bits, if it is representable exactly.
pub fn pack_amount(amount: U256) -> Result<u64> {
    AMOUNT_PACKING.pack(amount).ok_or(BatchError::AmountNotPackable(amount))
}

/// Packs a fee into 16 bits, if it is representable exactly.
pub fn pack_fee(fee: U256) -> Result<u16> {
    FEE_PACKING.pack(fee).map(|p| p as u16).ok_or(BatchError::FeeNotPackable(fee))
}

/// The amount a packed 40-bit value stands for.
pub fn unpack_amount(packed: u64) -> U256 {
    AMOUNT_PACKING.unpack(packed)
}

/// The fee a packed 16-bit value stands for.
pub fn unpack_fee(packed: u16) -> U256 {
    FEE_PACKING.unpack(packed as u64)
}

/// Who receives a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// An existing account.
    Index(u32),
    /// An address without an account yet: the transfer creates it at the next index.
    New(Address),
}

/// One transaction as posted. Amounts are exact values (packing happens in [`encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchTx {
    /// An L2 transfer.
    Transfer {
        /// Token id.
        token: u16,
        /// Sender's account index.
        from: u32,
        /// Recipient.
        to: Recipient,
        /// Amount.
        amount: U256,
        /// Fee, paid in the same token.
        fee: U256,
        /// EIP-2098 compact signature.
        signature: [u8; 64],
    },
    /// A withdrawal to L1.
    Withdrawal {
        /// Token id.
        token: u16,
        /// Sender's account index.
        from: u32,
        /// L1 recipient.
        to: Address,
        /// Amount.
        amount: U256,
        /// Fee, paid in the same token.
        fee: U256,
        /// EIP-2098 compact signature.
        signature: [u8; 64],
    },
}

impl BatchTx {
    /// The sender's account index.
    pub fn from(&self) -> u32 {
        match self {
            Self::Transfer { from, .. } | Self::Withdrawal { from, .. } => *from,
        }
    }

    /// The EIP-2098 compact signature.
    pub fn signature(&self) -> &[u8; 64] {
        match self {
            Self::Transfer { signature, .. } | Self::Withdrawal { signature, .. } => signature,
        }
    }
}

/// An L2 block as posted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchBlock {
    /// Block timestamp, seconds.
    pub timestamp: u64,
    /// Queued L1 deposits this block applies, before its transactions.
    pub deposits: u16,
    /// The block's transactions.
    pub txs: Vec<BatchTx>,
}

/// A batch: consecutive L2 blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The blocks, in order.
    pub blocks: Vec<BatchBlock>,
}

impl Batch {
    /// How many deposits the blocks apply.
    pub fn deposits(&self) -> u64 {
        self.blocks.iter().map(|b| b.deposits as u64).sum()
    }

    /// How many transactions the blocks hold.
    pub fn tx_count(&self) -> usize {
        self.blocks.iter().map(|b| b.txs.len()).sum()
    }

    /// Checks the derivation rules that need context: the deposit count consumed on L1 and
    /// non-decreasing timestamps from `previous_timestamp` on.
    pub fn check(&self, consumed_deposits: u64, previous_timestamp: u64) -> Result<()> {
        if self.deposits() != consumed_deposits {
            return Err(BatchError::DepositMismatch {
                in_blocks: self.deposits(),
                consumed: consumed_deposits,
            });
        }
        let mut previous = previous_timestamp;
        for (block, b) in self.blocks.iter().enumerate() {
            if b.timestamp < previous {
                return Err(BatchError::TimestampDecreases {
                    block,
                    timestamp: b.timestamp,
                    previous,
                });
            }
            previous = b.timestamp;
        }
        Ok(())
    }
}

fn put_index(out: &mut Vec<u8>, index: u32) -> Result<()> {
    if index > MAX_ACCOUNT_INDEX {
        return Err(BatchError::AccountIndexTooLarge(index));
    }
    out.extend_from_slice(&index.to_be_bytes()[1..]);
    Ok(())
}

fn put_kind_token(out: &mut Vec<u8>, token: u16, withdrawal: bool) -> Result<()> {
    if token > MAX_TOKEN {
        return Err(BatchError::TokenTooLarge(token as u32));
    }
    let v = token | if withdrawal { WITHDRAWAL_FLAG } else { 0 };
    out.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// Encodes one transaction (also used by the sequencer to size batches).
pub fn encode_tx(out: &mut Vec<u8>, tx: &BatchTx) -> Result<()> {
    match tx {
        BatchTx::Transfer { token, from, to, amount, fee, signature } => {
            put_kind_token(out, *token, false)?;
            put_index(out, *from)?;
            match to {
                Recipient::Index(i) => put_index(out, *i)?,
                Recipient::New(address) => {
                    out.extend_from_slice(&NEW_ACCOUNT.to_be_bytes()[1..]);
                    out.extend_from_slice(address.as_slice());
                }
            }
            out.extend_from_slice(&pack_amount(*amount)?.to_be_bytes()[3..]);
            out.extend_from_slice(&pack_fee(*fee)?.to_be_bytes());
            out.extend_from_slice(signature);
        }
        BatchTx::Withdrawal { token, from, to, amount, fee, signature } => {
            put_kind_token(out, *token, true)?;
            put_index(out, *from)?;
            out.extend_from_slice(to.as_slice());
            out.extend_from_slice(&pack_amount(*amount)?.to_be_bytes()[3..]);
            out.extend_from_slice(&pack_fee(*fee)?.to_be_bytes());
            out.extend_from_slice(signature);
        }
    }
    Ok(())
}

/// Encodes `batch` (version 1).
pub fn encode(batch: &Batch) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(5 + batch.tx_count() * TRANSFER_SIZE);
    out.push(BATCH_VERSION);
    out.extend_from_slice(&(batch.blocks.len() as u32).to_be_bytes());
    for block in &batch.blocks {
        let count = u16::try_from(block.txs.len()).map_err(|_| BatchError::BlockTooLarge)?;
        out.extend_from_slice(&block.timestamp.to_be_bytes());
        out.extend_from_slice(&block.deposits.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for tx in &block.txs {
            encode_tx(&mut out, tx)?;
        }
    }
    Ok(out)
}

/// A cursor over untrusted bytes.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let remaining = self.data.len().saturating_sub(self.at);
        if remaining < n {
            return Err(BatchError::Truncated { at: self.at, needed: n - remaining, what });
        }
        let bytes = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize, what: &'static str) -> Result<u64> {
        Ok(self.take(n, what)?.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }
}

/// Decodes a batch. Any deviation from the encoding is an error (the derivation node then
/// treats the batch as malformed, per the rules in `docs/rollup.md`).
pub fn decode(data: &[u8]) -> Result<Batch> {
    let (batch, error) = decode_prefix(data);
    match error {
        Some(error) => Err(error),
        None if batch.consumed < data.len() => {
            Err(BatchError::TrailingBytes(data.len() - batch.consumed))
        }
        None => Ok(batch.batch),
    }
}

/// The well-formed prefix of a batch, as far as its bytes alone tell (the rules that need the
/// chain, timestamps and operation counts, are the step machine's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefix {
    /// The blocks read, the last one possibly cut short.
    pub batch: Batch,
    /// The bytes read.
    pub consumed: usize,
}

/// Reads `data` front to back and keeps what decodes (derivation rules v2): the blocks and
/// transactions before the first structural error, and that error.
pub fn decode_prefix(data: &[u8]) -> (Prefix, Option<BatchError>) {
    let mut prefix = Prefix::default();
    let error = read_prefix(data, &mut prefix).err();
    (prefix, error)
}

/// The block count of a batch, after its version byte: `(count, bytes read)`.
pub fn decode_header(data: &[u8]) -> Result<(u32, usize)> {
    let mut r = Reader { data, at: 0 };
    let version = r.uint(1, "the version")? as u8;
    if version != BATCH_VERSION {
        return Err(BatchError::UnknownVersion(version));
    }
    Ok((r.uint(4, "the block count")? as u32, r.at))
}

/// A block header at `at`: `(timestamp, priority operations, transactions)`.
pub fn decode_block_header(data: &[u8], at: usize) -> Result<(u64, u16, u16)> {
    let mut r = Reader { data, at };
    let timestamp = r.uint(8, "a block timestamp")?;
    let ops = r.uint(2, "a block's deposit count")? as u16;
    let txs = r.uint(2, "a block's transaction count")? as u16;
    Ok((timestamp, ops, txs))
}

/// One transaction at `at`, and the position after it.
pub fn decode_tx(data: &[u8], at: usize) -> Result<(BatchTx, usize)> {
    let mut r = Reader { data, at };
    let tx = read_tx(&mut r)?;
    Ok((tx, r.at))
}

fn read_prefix(data: &[u8], prefix: &mut Prefix) -> Result<()> {
    let (block_count, mut at) = decode_header(data)?;
    prefix.consumed = at;
    // Never trust a count: allocate only what the remaining bytes can hold.
    prefix.batch.blocks.reserve((block_count as usize).min(data.len() / BLOCK_HEADER_SIZE));
    for _ in 0..block_count {
        let (timestamp, deposits, tx_count) = decode_block_header(data, at)?;
        at += BLOCK_HEADER_SIZE;
        prefix.consumed = at;
        prefix.batch.blocks.push(BatchBlock { timestamp, deposits, txs: Vec::new() });
        let block = prefix.batch.blocks.last_mut().expect("pushed");
        for _ in 0..tx_count {
            let (tx, next) = decode_tx(data, at)?;
            block.txs.push(tx);
            at = next;
            prefix.consumed = at;
        }
    }
    Ok(())
}

fn read_tx(r: &mut Reader<'_>) -> Result<BatchTx> {
    let kind_token = r.uint(2, "a transaction's kind and token")? as u16;
    let token = kind_token & MAX_TOKEN;
    let from = r.uint(3, "a sender index")? as u32;
    if from == NEW_ACCOUNT {
        return Err(BatchError::AccountIndexTooLarge(from));
    }
    let tx = if kind_token & WITHDRAWAL_FLAG == 0 {
        let to = match r.uint(3, "a recipient index")? as u32 {
            NEW_ACCOUNT => {
                Recipient::New(Address::from_slice(r.take(20, "a new account's address")?))
            }
            index => Recipient::Index(index),
        };
        let amount = unpack_amount(r.uint(5, "an amount")?);
        let fee = unpack_fee(r.uint(2, "a fee")? as u16);
        let signature = r.take(64, "a signature")?.try_into().expect("64 bytes");
        BatchTx::Transfer { token, from, to, amount, fee, signature }
    } else {
        let to = Address::from_slice(r.take(20, "an L1 recipient")?);
        let amount = unpack_amount(r.uint(5, "an amount")?);
        let fee = unpack_fee(r.uint(2, "a fee")? as u16);
        let signature = r.take(64, "a signature")?.try_into().expect("64 bytes");
        BatchTx::Withdrawal { token, from, to, amount, fee, signature }
    };
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, hex};

    fn sig(byte: u8) -> [u8; 64] {
        [byte; 64]
    }

    fn fixture() -> Batch {
        Batch {
            blocks: vec![
                BatchBlock { timestamp: 1_800_000_000, deposits: 2, txs: vec![] },
                BatchBlock {
                    timestamp: 1_800_000_001,
                    deposits: 0,
                    txs: vec![
                        BatchTx::Transfer {
                            token: 0,
                            from: 1,
                            to: Recipient::Index(2),
                            amount: U256::from(1_500_000_000_000_000_000u128),
                            fee: U256::from(21_000_000_000_000u64),
                            signature: sig(0xab),
                        },
                        BatchTx::Transfer {
                            token: 3,
                            from: 2,
                            to: Recipient::New(address!(
                                "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                            )),
                            amount: U256::from(7u64),
                            fee: U256::ZERO,
                            signature: sig(0xcd),
                        },
                        BatchTx::Withdrawal {
                            token: 0,
                            from: 1,
                            to: address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
                            amount: U256::from(10u64).pow(U256::from(18u64)),
                            fee: U256::from(1000u64),
                            signature: sig(0xef),
                        },
                    ],
                },
            ],
        }
    }

    /// Pins the version-1 bytes: a change here is a change of the L1 format.
    #[test]
    fn fixture_bytes_are_pinned() {
        let encoded = encode(&fixture()).unwrap();
        let expected = concat!(
            "01",
            "00000002",
            // block 0: timestamp, 2 deposits, 0 txs
            "000000006b49d200",
            "0002",
            "0000",
            // block 1
            "000000006b49d201",
            "0000",
            "0003",
            // transfer: token 0, from 1, to 2, 1.5e18 = 15e9 * 10^8, fee 21e12 = 210 * 10^11
            "0000",
            "000001",
            "000002",
            "6fc23ac008",
            "1a4b",
            "abababababababababababababababababababababababababababababababab",
            "abababababababababababababababababababababababababababababababab",
            // transfer to a new account: token 3, from 2
            "0003",
            "000002",
            "ffffff",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8",
            "00000000e0",
            "0000",
            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
            "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
            // withdrawal: flag | token 0, from 1, to, 1e18 = 1e10 * 10^8, fee 1000 * 10^0
            "8000",
            "000001",
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "4a817c8008",
            "7d00",
            "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef",
            "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef",
        );
        assert_eq!(hex::encode(&encoded), expected);
        assert_eq!(decode(&encoded).unwrap(), fixture());
    }

    #[test]
    fn a_transfer_to_an_existing_account_takes_79_bytes() {
        let mut out = Vec::new();
        encode_tx(&mut out, &fixture().blocks[1].txs[0]).unwrap();
        assert_eq!(out.len(), TRANSFER_SIZE);
        assert_eq!(TRANSFER_SIZE, 79);
    }

    #[test]
    fn packing_is_exact_or_refused() {
        for v in [0u128, 1, 34_359_738_367, 34_359_738_367 * 10, 123_000_000_000_000_000_000] {
            let packed = pack_amount(U256::from(v)).unwrap();
            assert_eq!(unpack_amount(packed), U256::from(v), "{v}");
        }
        assert!(pack_amount(U256::from(34_359_738_369u64)).is_err(), "36 significant bits");
        assert!(pack_amount(U256::from(34_359_738_368u64 * 10)).is_err(), "mantissa 2^35");
        assert!(pack_amount(U256::from(123_456_789_012_345_678u128)).is_err());
        assert!(pack_fee(U256::from(2048u64)).is_err(), "12-bit mantissa, not a multiple of 10");
        assert_eq!(unpack_fee(pack_fee(U256::from(2_040u64)).unwrap()), U256::from(2_040u64));
        assert!(pack_fee(U256::from(2049u64)).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let encoded = encode(&fixture()).unwrap();
        for len in 0..encoded.len() {
            assert!(
                matches!(
                    decode(&encoded[..len]),
                    Err(BatchError::Truncated { .. } | BatchError::UnknownVersion(_))
                ),
                "length {len}"
            );
        }
        let mut longer = encoded.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(BatchError::TrailingBytes(1)));
        let mut bad_version = encoded;
        bad_version[0] = 2;
        assert_eq!(decode(&bad_version), Err(BatchError::UnknownVersion(2)));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // 4 billion blocks announced, none present.
        let data = [1u8, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(decode(&data), Err(BatchError::Truncated { .. })));
        let mut one_block = vec![1u8, 0, 0, 0, 1];
        one_block.extend_from_slice(&[0; 10]);
        one_block.extend_from_slice(&[0xff, 0xff]);
        assert!(matches!(decode(&one_block), Err(BatchError::Truncated { .. })));
    }

    #[test]
    fn context_rules() {
        let batch = fixture();
        assert!(batch.check(2, 1_800_000_000).is_ok());
        assert_eq!(
            batch.check(3, 0),
            Err(BatchError::DepositMismatch { in_blocks: 2, consumed: 3 })
        );
        assert!(matches!(
            batch.check(2, 1_800_000_002),
            Err(BatchError::TimestampDecreases { block: 0, .. })
        ));
    }

    #[test]
    fn values_outside_the_encoding_are_refused() {
        let mut batch = fixture();
        if let BatchTx::Transfer { from, .. } = &mut batch.blocks[1].txs[0] {
            *from = NEW_ACCOUNT;
        }
        assert_eq!(encode(&batch), Err(BatchError::AccountIndexTooLarge(NEW_ACCOUNT)));
        let mut batch = fixture();
        if let BatchTx::Transfer { token, .. } = &mut batch.blocks[1].txs[0] {
            *token = 0x8000;
        }
        assert_eq!(encode(&batch), Err(BatchError::TokenTooLarge(0x8000)));
    }
}
