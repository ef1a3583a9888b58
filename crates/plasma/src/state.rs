//! The child chain's UTXO state machine (docs/plasma.md): deposits, payments and blocks, with no
//! I/O. The operator runs it to build blocks; a watcher runs the same code to check them.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::merkle::{BlockTree, InclusionProof};
use crate::tx::{
    CHILD_BLOCK_INTERVAL, MAX_OUTPUTS, MAX_TXS_PER_BLOCK, Output, PaymentTx, SignedTx,
    SigningDomain, UtxoPos, VerifiedTx,
};
use crate::{Error, Result};

/// A deposit as the framework's `DepositCreated` event announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deposit {
    /// Its deposit block.
    pub blknum: u64,
    /// The output's owner.
    pub owner: Address,
    /// The token (the zero address for ETH).
    pub token: Address,
    /// The amount.
    pub amount: U256,
}

impl Deposit {
    /// The deposit transaction (docs/plasma.md, "Deposits").
    pub fn tx(&self) -> Result<PaymentTx> {
        PaymentTx::deposit(self.owner, self.token, self.amount, self.blknum)
    }
}

/// An operator block, sealed: its transactions (the payments in order, then the operator's fee
/// transactions) and their tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlock {
    /// Its number (a multiple of 1000).
    pub number: u64,
    /// Its transactions in order.
    pub transactions: Vec<PaymentTx>,
    /// Their tree.
    pub tree: BlockTree,
}

impl SealedBlock {
    /// The root the operator submits.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The inclusion proof of transaction `index`.
    pub fn proof(&self, index: usize) -> Result<InclusionProof> {
        self.tree.proof(index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Utxo {
    output: Output,
    spent: bool,
}

/// The state of the child chain: every output ever created (spent or not), the open block and
/// its fees.
///
/// Rules of a payment (docs/plasma.md): at least one input; each input exists and is unspent
/// (outputs of earlier transactions of the open block included); each input is signed by its
/// owner; per token the inputs cover the outputs, and what is left is the operator's fee. At
/// [`ChainState::seal_block`] the fees become outputs of fee transactions to the operator (no
/// inputs, metadata `bytes32(blknum)`) at the end of the block. A refused transaction or deposit
/// changes nothing.
#[derive(Debug, Clone)]
pub struct ChainState {
    operator: Address,
    utxos: HashMap<UtxoPos, Utxo>,
    next_child_block: u64,
    last_deposit: u64,
    open: Vec<PaymentTx>,
    fees: BTreeMap<Address, U256>,
}

impl ChainState {
    /// An empty chain whose fees go to `operator`; the first block is 1000.
    pub fn new(operator: Address) -> Self {
        Self {
            operator,
            utxos: HashMap::new(),
            next_child_block: CHILD_BLOCK_INTERVAL,
            last_deposit: 0,
            open: Vec::new(),
            fees: BTreeMap::new(),
        }
    }

    /// The fee recipient.
    pub fn operator(&self) -> Address {
        self.operator
    }

    /// The number the open block will have.
    pub fn open_block_number(&self) -> u64 {
        self.next_child_block
    }

    /// The payments in the open block.
    pub fn open_transactions(&self) -> &[PaymentTx] {
        &self.open
    }

    /// The fees collected in the open block, per token.
    pub fn open_fees(&self) -> &BTreeMap<Address, U256> {
        &self.fees
    }

    /// The unspent output at `position`, if any.
    pub fn unspent(&self, position: UtxoPos) -> Option<&Output> {
        self.utxos.get(&position).filter(|u| !u.spent).map(|u| &u.output)
    }

    /// The unspent outputs of `owner`, by position.
    pub fn utxos_of(&self, owner: Address) -> Vec<(UtxoPos, Output)> {
        let mut out: Vec<_> = self
            .utxos
            .iter()
            .filter(|(_, u)| !u.spent && u.output.owner == owner)
            .map(|(p, u)| (*p, u.output))
            .collect();
        out.sort_by_key(|(p, _)| *p);
        out
    }

    /// Applies a deposit from L1: creates its output at `blknum:0:0`. Deposits come in L1
    /// order, each in a deposit block after the last one and before the open block.
    pub fn apply_deposit(&mut self, deposit: &Deposit) -> Result<UtxoPos> {
        let refuse = |reason| Err(Error::InvalidDeposit { blknum: deposit.blknum, reason });
        if deposit.blknum.is_multiple_of(CHILD_BLOCK_INTERVAL) {
            return refuse("not a deposit block number");
        }
        if deposit.blknum <= self.last_deposit {
            return refuse("not after the last deposit");
        }
        if deposit.blknum >= self.next_child_block {
            return refuse("after the open block: the operator has not sealed the block before it");
        }
        if deposit.owner.is_zero() || deposit.amount.is_zero() {
            return refuse("zero owner or amount");
        }
        let position = UtxoPos::new(deposit.blknum, 0, 0)?;
        self.last_deposit = deposit.blknum;
        let output = Output { owner: deposit.owner, token: deposit.token, amount: deposit.amount };
        self.utxos.insert(position, Utxo { output, spent: false });
        Ok(position)
    }

    /// Applies a payment whose signers were recovered ([`SignedTx::verify`]) to the open block.
    /// Returns its transaction position.
    ///
    /// [`SignedTx::verify`]: crate::SignedTx::verify
    pub fn apply(&mut self, verified: &VerifiedTx) -> Result<UtxoPos> {
        let tx = verified.tx();
        if tx.inputs().is_empty() {
            return Err(Error::NoInputs);
        }
        if verified.signers().len() != tx.inputs().len() {
            return Err(Error::SignatureCount {
                inputs: tx.inputs().len(),
                signatures: verified.signers().len(),
            });
        }
        // inputs: exist, unspent, signed by their owners
        let mut sums: BTreeMap<Address, (U256, U256)> = BTreeMap::new();
        for (index, (&position, &signer)) in tx.inputs().iter().zip(verified.signers()).enumerate()
        {
            let utxo = self.utxos.get(&position).ok_or(Error::UnknownInput { position })?;
            if utxo.spent {
                return Err(Error::SpentInput { position });
            }
            if utxo.output.owner != signer {
                return Err(Error::WrongSigner {
                    index,
                    position,
                    signer,
                    owner: utxo.output.owner,
                });
            }
            let entry = sums.entry(utxo.output.token).or_default();
            entry.0 = entry
                .0
                .checked_add(utxo.output.amount)
                .ok_or(Error::Overflow { token: utxo.output.token })?;
        }
        for output in tx.outputs() {
            let entry = sums.entry(output.token).or_default();
            entry.1 = entry
                .1
                .checked_add(output.amount)
                .ok_or(Error::Overflow { token: output.token })?;
        }
        let mut fees = self.fees.clone();
        for (&token, &(inputs, outputs)) in &sums {
            if inputs < outputs {
                return Err(Error::AmountsDoNotAddUp { token, inputs, outputs });
            }
            let fee = inputs - outputs;
            if !fee.is_zero() {
                let total = fees.entry(token).or_default();
                *total = total.checked_add(fee).ok_or(Error::Overflow { token })?;
            }
        }
        // room for this payment and the fee transactions after it
        let fee_txs = fees.len().div_ceil(MAX_OUTPUTS);
        if self.open.len() + 1 + fee_txs > MAX_TXS_PER_BLOCK {
            return Err(Error::BlockFull { max: MAX_TXS_PER_BLOCK });
        }

        let tx_pos = UtxoPos::new(self.next_child_block, self.open.len() as u64, 0)?;
        for position in tx.inputs() {
            if let Some(utxo) = self.utxos.get_mut(position) {
                utxo.spent = true;
            }
        }
        self.create_outputs(tx, tx_pos)?;
        self.fees = fees;
        self.open.push(tx.clone());
        Ok(tx_pos)
    }

    fn create_outputs(&mut self, tx: &PaymentTx, tx_pos: UtxoPos) -> Result<()> {
        for (j, output) in tx.outputs().iter().enumerate() {
            let position = UtxoPos::new(tx_pos.blknum(), tx_pos.txindex(), j as u64)?;
            self.utxos.insert(position, Utxo { output: *output, spent: false });
        }
        Ok(())
    }

    /// Seals the open block: appends the fee transactions, builds the tree and opens the next
    /// block (number + 1000). An empty block may be sealed (the operator keeps L1 informed).
    pub fn seal_block(&mut self) -> Result<SealedBlock> {
        let number = self.next_child_block;
        let mut transactions = std::mem::take(&mut self.open);
        let fees: Vec<Output> = std::mem::take(&mut self.fees)
            .into_iter()
            .map(|(token, amount)| Output { owner: self.operator, token, amount })
            .collect();
        for chunk in fees.chunks(MAX_OUTPUTS) {
            let fee_tx = PaymentTx::new(vec![], chunk.to_vec(), B256::from(U256::from(number)))?;
            let tx_pos = UtxoPos::new(number, transactions.len() as u64, 0)?;
            self.create_outputs(&fee_tx, tx_pos)?;
            transactions.push(fee_tx);
        }
        let tree = BlockTree::new(transactions.iter().map(PaymentTx::hash).collect())?;
        self.next_child_block += CHILD_BLOCK_INTERVAL;
        Ok(SealedBlock { number, transactions, tree })
    }

    /// Replays an operator block as a watcher receives it: its payments (signed) in order, then
    /// its fee transactions (no inputs, no signatures). Checks every payment as
    /// [`ChainState::apply`] does and that the fee transactions are exactly the block's fees,
    /// then seals it; compare [`SealedBlock::root`] with the root on L1. On any error the state
    /// is left as it was (the block is replayed on a copy of the state: a cost proportional to
    /// the state's size, paid once a block).
    pub fn replay_block(
        &mut self,
        blknum: u64,
        transactions: &[SignedTx],
        domain: &SigningDomain,
    ) -> Result<SealedBlock> {
        if blknum != self.next_child_block {
            return Err(Error::UnexpectedBlock { expected: self.next_child_block, got: blknum });
        }
        if !self.open.is_empty() {
            return Err(Error::OpenBlockNotEmpty { pending: self.open.len() });
        }
        let mut scratch = self.clone();
        let payments = transactions.iter().take_while(|t| !t.tx.inputs().is_empty()).count();
        for (index, signed) in transactions[..payments].iter().enumerate() {
            let invalid =
                |source| Error::InvalidBlockTransaction { blknum, index, source: Box::new(source) };
            let verified = signed.verify(domain).map_err(invalid)?;
            scratch.apply(&verified).map_err(invalid)?;
        }
        let given = &transactions[payments..];
        let sealed = scratch.seal_block()?;
        let expected = &sealed.transactions[payments..];
        if given.iter().any(|t| !t.tx.inputs().is_empty()) {
            return Err(Error::FeeMismatch { blknum, reason: "a payment after a fee transaction" });
        }
        if given.iter().any(|t| !t.signatures.is_empty()) {
            return Err(Error::FeeMismatch {
                blknum,
                reason: "a fee transaction carries signatures",
            });
        }
        if given.len() != expected.len() || given.iter().zip(expected).any(|(g, e)| g.tx != *e) {
            return Err(Error::FeeMismatch {
                blknum,
                reason: "amounts, tokens or recipient differ",
            });
        }
        *self = scratch;
        Ok(sealed)
    }
}
