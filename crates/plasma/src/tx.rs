//! The payment transaction, version 1 (docs/plasma.md, "Transactions" and "Signatures"): UTXO
//! positions, its one canonical encoding, its hash, output ids, and the EIP-712 signatures of its
//! input owners, byte for byte as `contracts/src/plasma/PlasmaTx.sol` computes them.

use std::fmt;

use alloy::primitives::{Address, B256, Signature, U256, keccak256};
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy::sol_types::{Eip712Domain, SolStruct, SolValue};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The only transaction version.
pub const TX_VERSION: u8 = 1;
/// The most inputs of a transaction.
pub const MAX_INPUTS: usize = 4;
/// The most outputs of a transaction.
pub const MAX_OUTPUTS: usize = 4;
/// `utxoPos = blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex`.
pub const BLOCK_OFFSET: u64 = 1_000_000_000;
/// See [`BLOCK_OFFSET`].
pub const TX_OFFSET: u64 = 10_000;
/// Transactions per block: the leaves of a depth-16 tree.
pub const MAX_TXS_PER_BLOCK: usize = 1 << 16;
/// Operator blocks are numbered 1000, 2000, ...; deposit blocks fill the numbers between.
pub const CHILD_BLOCK_INTERVAL: u64 = 1000;

mod abi {
    //! The Solidity shapes, for `abi.encode` and EIP-712 `hashStruct`.
    alloy::sol! {
        struct Output {
            address owner;
            address token;
            uint256 amount;
        }
        struct Transaction {
            uint8 version;
            uint256[] inputs;
            Output[] outputs;
            bytes32 metadata;
        }
    }
}

/// The position of an output on the child chain: `blknum * 1e9 + txindex * 1e4 + oindex`, as OMG
/// numbers them. Only valid positions can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct UtxoPos(u64);

impl UtxoPos {
    /// The position of output `oindex` of transaction `txindex` of block `blknum`.
    pub fn new(blknum: u64, txindex: u64, oindex: u64) -> Result<Self> {
        let bad = || Error::InvalidPosition {
            position: u128::from(blknum) * u128::from(BLOCK_OFFSET)
                + u128::from(txindex) * u128::from(TX_OFFSET)
                + u128::from(oindex),
        };
        if txindex >= MAX_TXS_PER_BLOCK as u64 || oindex >= MAX_OUTPUTS as u64 {
            return Err(bad());
        }
        let pos = blknum
            .checked_mul(BLOCK_OFFSET)
            .and_then(|p| p.checked_add(txindex * TX_OFFSET + oindex))
            .ok_or_else(bad)?;
        Self::from_u64(pos)
    }

    /// Checks a raw position.
    pub fn from_u64(pos: u64) -> Result<Self> {
        let ok = pos / BLOCK_OFFSET != 0
            && (pos % BLOCK_OFFSET) / TX_OFFSET < MAX_TXS_PER_BLOCK as u64
            && pos % TX_OFFSET < MAX_OUTPUTS as u64;
        if ok { Ok(Self(pos)) } else { Err(Error::InvalidPosition { position: u128::from(pos) }) }
    }

    /// Checks a raw position given as a 256-bit word (as in the encoding).
    pub fn from_u256(word: U256) -> Result<Self> {
        let pos = u64::try_from(word).map_err(|_| Error::InvalidPosition {
            position: u128::try_from(word).unwrap_or(u128::MAX),
        })?;
        Self::from_u64(pos)
    }

    /// The raw number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The block.
    pub fn blknum(self) -> u64 {
        self.0 / BLOCK_OFFSET
    }

    /// The transaction's index in its block.
    pub fn txindex(self) -> u64 {
        (self.0 % BLOCK_OFFSET) / TX_OFFSET
    }

    /// The output's index in its transaction.
    pub fn oindex(self) -> u64 {
        self.0 % TX_OFFSET
    }

    /// The position of the transaction (its output 0).
    pub fn tx_pos(self) -> Self {
        Self(self.0 - self.oindex())
    }

    /// Whether the block is a deposit block.
    pub fn is_deposit(self) -> bool {
        !self.blknum().is_multiple_of(CHILD_BLOCK_INTERVAL)
    }
}

impl TryFrom<u64> for UtxoPos {
    type Error = Error;
    fn try_from(pos: u64) -> Result<Self> {
        Self::from_u64(pos)
    }
}

impl From<UtxoPos> for u64 {
    fn from(pos: UtxoPos) -> u64 {
        pos.0
    }
}

impl fmt::Display for UtxoPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.blknum(), self.txindex(), self.oindex())
    }
}

/// An output: `amount` of `token` (the zero address for ETH) owned by `owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    /// Who may spend it.
    pub owner: Address,
    /// The ERC-20 token's L1 address, or the zero address for ETH.
    pub token: Address,
    /// The amount (non-zero).
    pub amount: U256,
}

/// A payment transaction (version 1): up to 4 inputs, 1 to 4 outputs and 32 bytes of metadata.
///
/// Build one with [`PaymentTx::new`] (which checks the rules) or [`PaymentTx::decode`]; the
/// fields are private so that every value is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaymentTx {
    inputs: Vec<UtxoPos>,
    outputs: Vec<Output>,
    metadata: B256,
}

impl PaymentTx {
    /// A transaction; refuses more than 4 inputs, repeated inputs, no or more than 4 outputs,
    /// outputs with a zero owner or amount.
    pub fn new(inputs: Vec<UtxoPos>, outputs: Vec<Output>, metadata: B256) -> Result<Self> {
        if inputs.len() > MAX_INPUTS {
            return Err(Error::Malformed { reason: "too many inputs" });
        }
        for (i, input) in inputs.iter().enumerate() {
            if inputs[..i].contains(input) {
                return Err(Error::Malformed { reason: "duplicate input" });
            }
        }
        if outputs.is_empty() || outputs.len() > MAX_OUTPUTS {
            return Err(Error::Malformed { reason: "output count" });
        }
        for output in &outputs {
            if output.owner.is_zero() {
                return Err(Error::Malformed { reason: "zero owner" });
            }
            if output.amount.is_zero() {
                return Err(Error::Malformed { reason: "zero amount" });
            }
        }
        Ok(Self { inputs, outputs, metadata })
    }

    /// The deposit transaction of deposit block `blknum`: no inputs, one output, metadata
    /// `bytes32(blknum)` (so that equal deposits have distinct hashes).
    pub fn deposit(owner: Address, token: Address, amount: U256, blknum: u64) -> Result<Self> {
        Self::new(vec![], vec![Output { owner, token, amount }], B256::from(U256::from(blknum)))
    }

    /// The inputs.
    pub fn inputs(&self) -> &[UtxoPos] {
        &self.inputs
    }

    /// The outputs.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The metadata.
    pub fn metadata(&self) -> B256 {
        self.metadata
    }

    fn to_abi(&self) -> abi::Transaction {
        abi::Transaction {
            version: TX_VERSION,
            inputs: self.inputs.iter().map(|p| U256::from(p.as_u64())).collect(),
            outputs: self
                .outputs
                .iter()
                .map(|o| abi::Output { owner: o.owner, token: o.token, amount: o.amount })
                .collect(),
            metadata: self.metadata,
        }
    }

    /// The canonical encoding: `abi.encode(tx)`, `32 * (7 + inputs + 3 * outputs)` bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_abi().abi_encode()
    }

    /// Decodes the canonical encoding; refuses every other byte string with the contract's
    /// reason (`Error::Malformed`), so that one transaction has one encoding and one hash.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |reason| Err(Error::Malformed { reason });
        let len = bytes.len();
        if !len.is_multiple_of(32) || len < 7 * 32 {
            return bad("length");
        }
        let word = |i: usize| U256::from_be_slice(&bytes[32 * i..32 * i + 32]);
        let small = |i: usize| u64::try_from(word(i)).ok();
        if word(0) != U256::from(0x20) {
            return bad("tuple offset");
        }
        if word(1) != U256::from(TX_VERSION) {
            return bad("version");
        }
        if word(2) != U256::from(0x80) {
            return bad("inputs offset");
        }
        let n = match small(5) {
            Some(n) if n <= MAX_INPUTS as u64 => n as usize,
            _ => return bad("too many inputs"),
        };
        if word(3) != U256::from(0x80 + 32 * (1 + n)) {
            return bad("outputs offset");
        }
        if len < 32 * (7 + n) {
            return bad("length");
        }
        let m = match small(6 + n) {
            Some(m) if m >= 1 && m <= MAX_OUTPUTS as u64 => m as usize,
            _ => return bad("output count"),
        };
        if len != 32 * (7 + n + 3 * m) {
            return bad("length");
        }
        let mut inputs = Vec::with_capacity(n);
        for i in 0..n {
            let pos = UtxoPos::from_u256(word(6 + i))
                .map_err(|_| Error::Malformed { reason: "input position" })?;
            if inputs.contains(&pos) {
                return bad("duplicate input");
            }
            inputs.push(pos);
        }
        let mut outputs = Vec::with_capacity(m);
        for k in 0..m {
            let at = 7 + n + 3 * k;
            let address = |i: usize| {
                let w = &bytes[32 * i..32 * i + 32];
                if w[..12].iter().any(|&b| b != 0) {
                    None
                } else {
                    Some(Address::from_slice(&w[12..]))
                }
            };
            let (Some(owner), Some(token)) = (address(at), address(at + 1)) else {
                return bad("address");
            };
            if owner.is_zero() {
                return bad("zero owner");
            }
            let amount = word(at + 2);
            if amount.is_zero() {
                return bad("zero amount");
            }
            outputs.push(Output { owner, token, amount });
        }
        let tx = Self { inputs, outputs, metadata: B256::from_slice(&bytes[128..160]) };
        debug_assert_eq!(tx.encode(), bytes, "decode accepts only the canonical encoding");
        Ok(tx)
    }

    /// The transaction hash, `keccak256` of the canonical encoding: its leaf in a block tree.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The id of output `oindex`: `keccak256(abi.encode(txHash, oindex))`.
    pub fn output_id(&self, oindex: usize) -> B256 {
        output_id(self.hash(), oindex as u64)
    }

    /// The EIP-712 `hashStruct` of the transaction.
    pub fn struct_hash(&self) -> B256 {
        self.to_abi().eip712_hash_struct()
    }

    /// The digest the input owners sign in `domain`.
    pub fn signing_hash(&self, domain: &SigningDomain) -> B256 {
        let mut digest = [0u8; 66];
        digest[0] = 0x19;
        digest[1] = 0x01;
        digest[2..34].copy_from_slice(domain.separator().as_slice());
        digest[34..].copy_from_slice(self.struct_hash().as_slice());
        keccak256(digest)
    }

    /// Signs the transaction with `signer`: one [`TxSignature`] (nothing checks that `signer`
    /// owns an input, so that tests can forge).
    pub fn sign(&self, signer: &PrivateKeySigner, domain: &SigningDomain) -> Result<TxSignature> {
        let signature = signer
            .sign_hash_sync(&self.signing_hash(domain))
            .map_err(|e| Error::SigningFailed { reason: e.to_string() })?
            .normalized_s();
        Ok(TxSignature(signature.as_bytes()))
    }
}

/// `keccak256(abi.encode(txHash, oindex))`: the id of an output, from canonical data only.
pub fn output_id(tx_hash: B256, oindex: u64) -> B256 {
    keccak256((tx_hash, U256::from(oindex)).abi_encode())
}

/// The EIP-712 domain transactions are signed in: `{ name: "ply plasma", version: "1", chainId:
/// <L1 chain id>, verifyingContract: <PlasmaFramework> }`. It binds a signature to one
/// deployment on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigningDomain {
    chain_id: u64,
    framework: Address,
    separator: B256,
}

impl SigningDomain {
    /// The domain's `name`.
    pub const NAME: &'static str = "ply plasma";
    /// The domain's `version`.
    pub const VERSION: &'static str = "1";

    /// The domain of the framework `framework` on the L1 chain `chain_id`.
    pub fn new(chain_id: u64, framework: Address) -> Self {
        let separator = Self::domain_of(chain_id, framework).separator();
        Self { chain_id, framework, separator }
    }

    fn domain_of(chain_id: u64, framework: Address) -> Eip712Domain {
        Eip712Domain::new(
            Some(Self::NAME.into()),
            Some(Self::VERSION.into()),
            Some(U256::from(chain_id)),
            Some(framework),
            None,
        )
    }

    /// The L1 chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The framework (`verifyingContract`).
    pub fn framework(&self) -> Address {
        self.framework
    }

    /// The domain as alloy's [`Eip712Domain`] (for wallets and `eth_signTypedData`).
    pub fn eip712_domain(&self) -> Eip712Domain {
        Self::domain_of(self.chain_id, self.framework)
    }

    /// The domain separator.
    pub fn separator(&self) -> B256 {
        self.separator
    }
}

/// A 65-byte signature `r ‖ s ‖ v` as the contracts take it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxSignature(pub [u8; 65]);

impl fmt::Debug for TxSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxSignature({})", alloy::hex::encode_prefixed(self.0))
    }
}

impl TxSignature {
    /// Parses 65 bytes; refuses other lengths.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; 65] = bytes.try_into().map_err(|_| Error::BadSignature {
            reason: format!("a signature is 65 bytes, not {}", bytes.len()),
        })?;
        Ok(Self(array))
    }

    /// The signer of `hash`, refusing `v` other than 27 or 28, high or zero `s`, and signatures
    /// that recover no key, as `PlasmaTx.recover` does.
    pub fn recover(&self, hash: &B256) -> Result<Address> {
        let v = self.0[64];
        if v != 27 && v != 28 {
            return Err(Error::BadSignature { reason: format!("v is {v}, not 27 or 28") });
        }
        let signature = Signature::new(
            U256::from_be_slice(&self.0[..32]),
            U256::from_be_slice(&self.0[32..64]),
            v == 28,
        );
        ply_core::signature::check_canonical(&signature)
            .map_err(|e| Error::BadSignature { reason: e.to_string() })?;
        signature
            .recover_address_from_prehash(hash)
            .map_err(|e| Error::BadSignature { reason: e.to_string() })
    }
}

/// A transaction with one signature per input, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedTx {
    /// The transaction.
    pub tx: PaymentTx,
    /// The input owners' signatures.
    pub signatures: Vec<TxSignature>,
}

impl SignedTx {
    /// Signs `tx` with one key per input, in input order.
    pub fn sign(
        tx: PaymentTx,
        signers: &[&PrivateKeySigner],
        domain: &SigningDomain,
    ) -> Result<Self> {
        let signatures = signers.iter().map(|s| tx.sign(s, domain)).collect::<Result<Vec<_>>>()?;
        Ok(Self { tx, signatures })
    }

    /// Recovers the signer of each input: the costly, stateless half of validation (one key
    /// recovery per input), to run in parallel before [`ChainState::apply`] checks the signers
    /// against the inputs' owners.
    ///
    /// [`ChainState::apply`]: crate::ChainState::apply
    pub fn verify(&self, domain: &SigningDomain) -> Result<VerifiedTx> {
        if self.tx.inputs.is_empty() {
            return Err(Error::NoInputs);
        }
        if self.signatures.len() != self.tx.inputs.len() {
            return Err(Error::SignatureCount {
                inputs: self.tx.inputs.len(),
                signatures: self.signatures.len(),
            });
        }
        let hash = self.tx.signing_hash(domain);
        let signers =
            self.signatures.iter().map(|s| s.recover(&hash)).collect::<Result<Vec<_>>>()?;
        Ok(VerifiedTx { tx: self.tx.clone(), signers })
    }
}

/// A transaction whose signatures were recovered: the signer of each input, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedTx {
    tx: PaymentTx,
    signers: Vec<Address>,
}

impl VerifiedTx {
    /// The transaction.
    pub fn tx(&self) -> &PaymentTx {
        &self.tx
    }

    /// The signer of each input.
    pub fn signers(&self) -> &[Address] {
        &self.signers
    }
}
