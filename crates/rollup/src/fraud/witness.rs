//! The witness recorder (`docs/rollup.md`, "The one-step witness"): the [`StepWitness`] of
//! one step, holding exactly what the L1 `StepExecutor` reads, in its order.
//!
//! The recorder replays the executor's step over the pre-state: it parses the batch data as the
//! contract does, applies the contract's rules in the contract's order, and each time the
//! contract would read (an account, an address-tree leaf, the withdrawal tree, a chunk, the
//! queued operation) it takes the value and its proof from the ledger of the pre-state, moved
//! by the writes made earlier in the same step, so that every proof is against the root of its
//! moment. It stops reading where the contract stops.
//!
//! The step machine stays the one source of truth of the rules: after recording, the machine
//! takes the same step, and the recorder's post-state (what the contract will compute from the
//! witness) must equal the machine's, field for field. A disagreement is reported as an error
//! naming both states, never papered over: it would mean that the L2 and the L1 referee apply
//! different rules.

use super::{
    AccountWitness, AddressProof, BatchData, BatchInput, DataChunk, Phase, StepContext, StepEvent,
    StepMachine, StepState, StepWitness, TxVerifier, step_hash,
};
use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolValue,
};
use ply_ledger::{
    ADDRESS_TREE_DEPTH, KeccakHasher, Ledger, MAX_BALANCE, MerkleProof, PriorityOp, SignedTx,
    SigningDomain, SparseProof, Transfer, TreeHasher, Tx, Withdrawal, address_leaf,
    address_position, keccak_empty,
};

/// The account index that announces a new account (and that no sender may have).
const NEW_ACCOUNT: u64 = 0xFF_FFFF;
/// A batch's withdrawal tree holds at most `2^16` withdrawals: a step appends one only while
/// `withdrawalCount ≤ 0xFFFF`.
const MAX_WITHDRAWAL_POSITION: u32 = 0xFFFF;

/// One step, proven: what `StepExecutor.step(pre, witness, context)` takes, and the hash the
/// result must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// `S_i`, the agreed pre-state.
    pub pre: StepState,
    /// What the step reads.
    pub witness: StepWitness,
    /// The batch and chain the step runs in (what the Rollup passes from the game).
    pub context: StepContext,
    /// `S_{i+1}` as the step machine computed it; the executor returns the same state.
    pub post: StepState,
    /// What the step did.
    pub event: StepEvent,
}

impl StepProof {
    /// `stepHash(S_{i+1})`, the hash the executor's result must have.
    pub fn post_hash(&self) -> B256 {
        step_hash(&self.post)
    }
}

/// The [`StepContext`] of a batch: its index and queue end, the root and length of its data,
/// and the EIP-712 domain separator of L2 transactions.
pub fn step_context(
    input: &BatchInput<'_>,
    data: &BatchData,
    domain: &SigningDomain,
) -> StepContext {
    StepContext {
        batchIndex: U256::from(input.index),
        queueEnd: U256::from(input.queue_end()),
        dataRoot: data.root(),
        dataLength: U256::from(data.bytes().len()),
        domainSeparator: domain.separator(),
    }
}

impl StepMachine {
    /// Takes one step, as [`step`](Self::step), and records its witness and proof on the way.
    ///
    /// `data` must be the chunk tree of `input.data` ([`BatchData::new`]) and `domain` the
    /// signing domain of the rollup (its separator goes into the context). The error is a bug:
    /// an input that does not match the ledger, or a recorded step whose result differs from
    /// the machine's (the contract and the L2 would disagree).
    pub fn step_with_proof(
        &mut self,
        input: &BatchInput<'_>,
        data: &BatchData,
        domain: &SigningDomain,
        verifier: &mut impl TxVerifier,
    ) -> Result<StepProof> {
        if data.bytes() != input.data {
            return Err(Error::Invalid(
                "the chunk tree given to the witness recorder is not the batch's data".to_owned(),
            ));
        }
        if input.index != self.ledger().batch_index() {
            return Err(Error::Invalid(format!(
                "batch {} is not the ledger's current batch {}",
                input.index,
                self.ledger().batch_index()
            )));
        }
        let pre = self.state();
        let (witness, expected) = Recorder::record(self.ledger(), &pre, input, data, domain)?;
        let event = self.step(input, verifier)?;
        let post = self.state();
        if post != expected {
            return Err(Error::Invalid(format!(
                "the one-step executor's rules and the step machine disagree at {event:?}: from \
                 {pre:?} the machine reaches {post:?}, the executor's rules {expected:?}"
            )));
        }
        let context = step_context(input, data, domain);
        Ok(StepProof { pre, witness, context, post, event })
    }
}

/// An account as one step sees it: the fields the witness names, its balance of the step's
/// token with the balance tree siblings (all `token_depth` of them), and the siblings of its
/// leaf in the state tree at the moment of the read.
#[derive(Debug, Clone)]
struct AccountView {
    exists: bool,
    addr: Address,
    nonce: u64,
    balance: U256,
    balance_siblings: Vec<B256>,
}

/// An account written earlier in the step: its new leaf, its new fields, and the siblings its
/// path had when it was written (they give its path's nodes after the write).
#[derive(Debug, Clone)]
struct Write {
    index: u64,
    leaf: B256,
    siblings: Vec<B256>,
    view: AccountView,
}

/// An account read: the view and the siblings against the root of the moment.
#[derive(Debug, Clone)]
struct Read {
    index: u64,
    view: AccountView,
    siblings: Vec<B256>,
}

/// The trees a transaction or operation moves, committed only when it applies (the contract's
/// `Work`).
#[derive(Debug, Clone, Copy)]
struct Work {
    state_root: B256,
    address_root: B256,
    account_count: u64,
    withdrawal_root: B256,
    withdrawal_count: u32,
}

/// A decoded transaction, as the contract decodes it.
#[derive(Debug, Clone)]
struct DecodedTx {
    withdrawal: bool,
    token: u64,
    from: u64,
    to: u64,
    to_address: Address,
    amount: U256,
    fee: U256,
    signature: [u8; 64],
}

/// The executor's step, replayed over the ledger of the pre-state.
struct Recorder<'a> {
    ledger: &'a Ledger<KeccakHasher>,
    input: &'a BatchInput<'a>,
    domain: &'a SigningDomain,
    account_depth: usize,
    token_depth: usize,
    s: StepState,
    pos: usize,
    witness: StepWitness,
    writes: Vec<Write>,
}

impl<'a> Recorder<'a> {
    /// The witness of the step from `pre`, and the state the executor computes with it.
    fn record(
        ledger: &'a Ledger<KeccakHasher>,
        pre: &StepState,
        input: &'a BatchInput<'a>,
        data: &BatchData,
        domain: &'a SigningDomain,
    ) -> Result<(StepWitness, StepState)> {
        let config = ledger.config();
        let mut r = Recorder {
            ledger,
            input,
            domain,
            account_depth: config.account_depth,
            token_depth: config.token_depth,
            s: pre.clone(),
            pos: 0,
            witness: StepWitness::default(),
            writes: Vec::new(),
        };
        if pre.phase == Phase::Done as u8 {
            return Ok((r.witness, r.s));
        }
        if pre.queueIndex > input.queue_end() {
            return Err(Error::Invalid(format!(
                "the pre-state consumed {} operations, beyond the batch's queue end {}",
                pre.queueIndex,
                input.queue_end()
            )));
        }
        if pre.phase == Phase::Drain as u8 {
            r.drain()?;
            return Ok((r.witness, r.s));
        }
        let from = if pre.phase == Phase::Start as u8 { 0 } else { pre.cursor as usize };
        r.pos = from;
        let mut ok = pre.phase != Phase::Start as u8 || r.start();
        if ok {
            ok = r.blocks()?;
        }
        // The chunks the reads covered: contiguous from the chunk of `from`.
        r.witness.chunks = data.chunks_for(from..r.pos.max(from));
        if !ok {
            let mut post = r.s;
            post.phase = Phase::Drain as u8;
            post.lastTimestamp = pre.lastTimestamp;
            post.cursor = 0;
            post.blocksLeft = 0;
            post.blockOps = 0;
            post.blockTxs = 0;
            return Ok((r.witness, post));
        }
        Ok((r.witness, r.s))
    }

    // ------------------------------------------------------------------ reading the batch

    /// `n ≤ 32` bytes big-endian at the read position; `None` past the data (truncated).
    fn read(&mut self, n: usize) -> Option<U256> {
        let bytes = self.input.data.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(U256::from_be_slice(bytes))
    }

    fn start(&mut self) -> bool {
        match self.read(1) {
            Some(version) if version == U256::from(1u8) => {}
            _ => return false,
        }
        let Some(count) = self.read(4) else { return false };
        self.s.phase = Phase::Blocks as u8;
        self.s.blocksLeft = count.to::<u32>();
        self.s.cursor = 5;
        true
    }

    fn blocks(&mut self) -> Result<bool> {
        let queue_end = self.input.queue_end();
        while self.s.blockOps == 0 && self.s.blockTxs == 0 {
            if self.s.blocksLeft == 0 {
                self.s.phase = Phase::Drain as u8;
                self.s.cursor = 0;
                self.drain()?;
                return Ok(true);
            }
            let Some(header) = self.read(12) else { return Ok(false) };
            let timestamp = (header >> 32usize).to::<u64>();
            let ops = ((header >> 16usize) & U256::from(0xFFFFu64)).to::<u16>();
            if timestamp < self.s.lastTimestamp || u64::from(ops) > queue_end - self.s.queueIndex {
                return Ok(false);
            }
            self.s.lastTimestamp = timestamp;
            self.s.blockOps = ops;
            self.s.blockTxs = (header & U256::from(0xFFFFu64)).to::<u16>();
            self.s.blocksLeft -= 1;
            self.s.cursor = self.pos as u64;
        }
        if self.s.blockOps > 0 {
            self.s.blockOps -= 1;
            self.apply_operation()?;
            return Ok(true);
        }
        let Some(tx) = self.read_tx() else { return Ok(false) };
        self.s.blockTxs -= 1;
        self.s.cursor = self.pos as u64;
        self.apply_tx(&tx)?;
        Ok(true)
    }

    fn read_tx(&mut self) -> Option<DecodedTx> {
        let kind_token = self.read(2)?.to::<u64>();
        let from = self.read(3)?.to::<u64>();
        if from == NEW_ACCOUNT {
            return None;
        }
        let withdrawal = kind_token >> 15 == 1;
        let to = if withdrawal { 0 } else { self.read(3)?.to::<u64>() };
        let to_address = if withdrawal || to == NEW_ACCOUNT {
            Address::from_word(B256::from(self.read(20)?))
        } else {
            Address::ZERO
        };
        let unpack = |v: U256| {
            let v = v.to::<u64>();
            U256::from(v >> 5) * U256::from(10u64).pow(U256::from(v & 31))
        };
        let amount = unpack(self.read(5)?);
        let fee = unpack(self.read(2)?);
        let start = self.pos;
        self.read(32)?;
        self.read(32)?;
        let signature = self.input.data[start..start + 64].try_into().expect("64 bytes");
        Some(DecodedTx {
            withdrawal,
            token: kind_token & 0x7FFF,
            from,
            to,
            to_address,
            amount,
            fee,
            signature,
        })
    }

    fn drain(&mut self) -> Result<()> {
        if self.s.queueIndex < self.input.queue_end() {
            self.apply_operation()
        } else {
            self.s.phase = Phase::Done as u8;
            Ok(())
        }
    }

    // ------------------------------------------------------------------ state reads

    /// The full siblings of account position `index` now: the pre-state's, moved by the
    /// writes of this step (a write changes one sibling of every other path: at the level
    /// where the two paths meet).
    fn siblings_now(&self, index: u64) -> Result<Vec<B256>> {
        let mut siblings = self.ledger.account_proof(index as u32)?.proof.siblings;
        for write in &self.writes {
            if write.index == index {
                continue;
            }
            let level = (63 - (write.index ^ index).leading_zeros()) as usize;
            siblings[level] = path_node(write.leaf, write.index, &write.siblings, level);
        }
        Ok(siblings)
    }

    /// The account at `index` now, with its balance of `token`.
    fn view_now(&self, index: u64, token: u64) -> Result<AccountView> {
        if let Some(write) = self.writes.iter().rev().find(|w| w.index == index) {
            return Ok(write.view.clone());
        }
        let empty = keccak_empty();
        Ok(match self.ledger.account(index as u32) {
            Some(account) => AccountView {
                exists: true,
                addr: account.address,
                nonce: account.nonce,
                balance: account.balance(token as u32),
                balance_siblings: self
                    .ledger
                    .balance_proof(index as u32, token as u32)?
                    .proof
                    .siblings,
            },
            None => AccountView {
                exists: false,
                addr: Address::ZERO,
                nonce: 0,
                balance: U256::ZERO,
                balance_siblings: empty[..self.token_depth].to_vec(),
            },
        })
    }

    /// Reads the account at `index` (balance of `token`) against `root`: appends it to the
    /// witness. `must_exist`: the contract's `_existing` (true) or `_empty` (false).
    fn account(&mut self, index: u64, token: u64, root: B256, must_exist: bool) -> Result<Read> {
        let view = self.view_now(index, token)?;
        let siblings = self.siblings_now(index)?;
        let balances_root = fold(B256::from(view.balance), token, &view.balance_siblings);
        let leaf = if view.exists {
            KeccakHasher::hash_account(view.addr, view.nonce, balances_root)
        } else {
            B256::ZERO
        };
        if fold(leaf, index, &siblings) != root {
            return Err(Error::Invalid(format!(
                "the recorder's proof of account {index} does not reach the state root {root} of \
                 its moment"
            )));
        }
        if view.exists != must_exist {
            return Err(Error::Invalid(format!(
                "the executor's rules read account {index} as {}, but it is {}",
                if must_exist { "an existing account" } else { "an empty position" },
                if view.exists { "an account" } else { "empty" }
            )));
        }
        self.witness.accounts.push(AccountWitness {
            addr: view.addr,
            nonce: view.nonce,
            balancesRoot: if view.exists { balances_root } else { B256::ZERO },
            balance: view.balance,
            balanceProof: compress(&view.balance_siblings),
            accountProof: compress(&siblings),
        });
        Ok(Read { index, view, siblings })
    }

    /// The state root after the account `read` becomes (`addr`, `nonce`, `balance` of
    /// `token`); the write moves the proofs of later reads.
    fn write(&mut self, read: Read, token: u64, addr: Address, nonce: u64, balance: U256) -> B256 {
        let balances_root = fold(B256::from(balance), token, &read.view.balance_siblings);
        let leaf = KeccakHasher::hash_account(addr, nonce, balances_root);
        let root = fold(leaf, read.index, &read.siblings);
        let view = AccountView {
            exists: true,
            addr,
            nonce,
            balance,
            balance_siblings: read.view.balance_siblings,
        };
        self.writes.push(Write { index: read.index, leaf, siblings: read.siblings, view });
        root
    }

    /// Reads the address-tree leaf of `addr` against `root` (the address tree does not move
    /// within a step before its last read).
    fn address(&mut self, addr: Address, root: B256) -> Result<AddressProof> {
        let leaf = self.ledger.index_of(&addr).map_or(B256::ZERO, address_leaf);
        let proof = self.ledger.address_proof(&addr);
        if !proof.verify(root, leaf, address_position(&addr), ADDRESS_TREE_DEPTH) {
            return Err(Error::Invalid(format!(
                "the recorder's address proof of {addr} does not reach the address root {root}"
            )));
        }
        let read = AddressProof { leaf, proof };
        self.witness.addressProofs.push(read.clone());
        Ok(read)
    }

    fn known(&self, token: u64) -> bool {
        token < 256 && self.s.tokens.bit(token as usize)
    }

    fn work(&self) -> Work {
        Work {
            state_root: self.s.stateRoot,
            address_root: self.s.addressRoot,
            account_count: self.s.accountCount,
            withdrawal_root: self.s.withdrawalRoot,
            withdrawal_count: self.s.withdrawalCount,
        }
    }

    fn commit(&mut self, k: Work) {
        self.s.stateRoot = k.state_root;
        self.s.addressRoot = k.address_root;
        self.s.accountCount = k.account_count;
        self.s.withdrawalRoot = k.withdrawal_root;
        self.s.withdrawalCount = k.withdrawal_count;
    }

    /// The full capacity check of the contract: the last position stays empty.
    fn full(&self, count: u64) -> bool {
        count >= (1u64 << self.account_depth) - 1
    }

    /// Appends the withdrawal leaf at `k.withdrawal_count` (proof: the empty leaf there).
    fn append_withdrawal(
        &mut self,
        k: &mut Work,
        to: Address,
        token: u64,
        amount: U256,
    ) -> Result<()> {
        let i = k.withdrawal_count;
        let tree = self.ledger.withdrawal_tree();
        if self.ledger.withdrawals().len() != i as usize {
            return Err(Error::Invalid(format!(
                "the ledger holds {} withdrawals of the batch, the step state {i}",
                self.ledger.withdrawals().len()
            )));
        }
        let proof = SparseProof::compress(&tree.proof(i)?);
        let position = U256::from(i);
        if !proof.verify(k.withdrawal_root, B256::ZERO, position, ply_ledger::WITHDRAWAL_TREE_DEPTH)
        {
            return Err(Error::Invalid(format!(
                "the recorder's withdrawal proof of position {i} does not reach the withdrawal \
                 root {}",
                k.withdrawal_root
            )));
        }
        let leaf = alloy::primitives::keccak256(
            (U256::from(self.input.index), U256::from(i), to, token as u32, amount)
                .abi_encode_params(),
        );
        k.withdrawal_root = proof
            .compute_root(leaf, position, ply_ledger::WITHDRAWAL_TREE_DEPTH)
            .expect("a proof that verified");
        k.withdrawal_count = i + 1;
        self.witness.withdrawalProof = proof;
        Ok(())
    }

    /// Credits `amount` of `token` to the address `to` (deposit, forced transfer). False:
    /// the tree is full, or the credit overflows.
    fn credit_address(
        &mut self,
        k: &mut Work,
        to: Address,
        token: u64,
        amount: U256,
    ) -> Result<bool> {
        let p = self.address(to, k.address_root)?;
        if p.leaf == B256::ZERO {
            let index = k.account_count;
            if self.full(index) {
                return Ok(false);
            }
            let a = self.account(index, token, k.state_root, false)?;
            if amount > MAX_BALANCE {
                return Ok(false);
            }
            k.state_root = self.write(a, token, to, 0, amount);
            k.address_root = p
                .proof
                .compute_root(address_leaf(index as u32), address_position(&to), ADDRESS_TREE_DEPTH)
                .expect("a proof that verified");
            k.account_count = index + 1;
        } else {
            let index = U256::from_be_bytes(p.leaf.0).to::<u64>() - 1;
            let a = self.account(index, token, k.state_root, true)?;
            let sum = a.view.balance + amount;
            if sum > MAX_BALANCE {
                return Ok(false);
            }
            let (addr, nonce) = (a.view.addr, a.view.nonce);
            k.state_root = self.write(a, token, addr, nonce, sum);
        }
        Ok(true)
    }

    /// The address proof of a forced operation's `from`, then (token known) its account.
    /// `None`: no account, or an unknown token.
    fn forced_sender(&mut self, k: &Work, from: Address, token: u64) -> Result<Option<Read>> {
        let p = self.address(from, k.address_root)?;
        if p.leaf == B256::ZERO || !self.known(token) {
            return Ok(None);
        }
        let index = U256::from_be_bytes(p.leaf.0).to::<u64>() - 1;
        Ok(Some(self.account(index, token, k.state_root, true)?))
    }

    // ------------------------------------------------------------------ priority operations

    fn apply_operation(&mut self) -> Result<()> {
        let i = self.s.queueIndex;
        let op: PriorityOp = i
            .checked_sub(self.input.prev_queue_count)
            .and_then(|at| self.input.ops.get(at as usize))
            .cloned()
            .ok_or_else(|| {
                Error::Invalid(format!("operation {i} is not among the batch's operations"))
            })?;
        self.witness.op = op.clone();
        self.s.queueIndex = i + 1;
        let mut k = self.work();
        let token = u64::from(op.token);
        let applied = match op.kind {
            0 => {
                token < (1u64 << self.token_depth)
                    && self.credit_address(&mut k, op.to, token, op.amount)?
            }
            1 => match self.forced_sender(&k, op.from, token)? {
                Some(a) if a.view.balance >= op.amount => {
                    let (addr, nonce, balance) = (a.view.addr, a.view.nonce, a.view.balance);
                    k.state_root = self.write(a, token, addr, nonce, balance - op.amount);
                    self.credit_address(&mut k, op.to, token, op.amount)?
                }
                _ => false,
            },
            _ => match self.forced_sender(&k, op.from, token)? {
                Some(a)
                    if a.view.balance >= op.amount
                        && k.withdrawal_count <= MAX_WITHDRAWAL_POSITION =>
                {
                    let (addr, nonce, balance) = (a.view.addr, a.view.nonce, a.view.balance);
                    k.state_root = self.write(a, token, addr, nonce, balance - op.amount);
                    self.append_withdrawal(&mut k, op.to, token, op.amount)?;
                    true
                }
                _ => false,
            },
        };
        if applied {
            if op.kind == 0 {
                self.s.tokens.set_bit(token as usize, true);
            }
            self.commit(k);
        }
        Ok(())
    }

    // ------------------------------------------------------------------ transactions

    fn apply_tx(&mut self, t: &DecodedTx) -> Result<()> {
        // 1. token known; 2. the sender exists.
        if !self.known(t.token) || t.from >= self.s.accountCount {
            return Ok(());
        }
        let mut k = self.work();
        let sender = self.account(t.from, t.token, k.state_root, true)?;
        // 3. nonce, balance; debit and bump the nonce.
        let nonce = sender.view.nonce;
        let need = t.amount + t.fee;
        if nonce == u64::MAX || sender.view.balance < need {
            return Ok(());
        }
        let (from, balance) = (sender.view.addr, sender.view.balance);
        k.state_root = self.write(sender, t.token, from, nonce + 1, balance - need);
        // 4.-6.
        if t.withdrawal {
            if k.withdrawal_count > MAX_WITHDRAWAL_POSITION
                || !self.signed(t, from, t.to_address, nonce)
            {
                return Ok(());
            }
            self.append_withdrawal(&mut k, t.to_address, t.token, t.amount)?;
        } else if !self.transfer_to(&mut k, t, from, nonce)? {
            return Ok(());
        }
        // 7. the fee account.
        let fee = self.account(0, t.token, k.state_root, true)?;
        let sum = fee.view.balance + t.fee;
        if sum > MAX_BALANCE {
            return Ok(());
        }
        let (addr, fee_nonce) = (fee.view.addr, fee.view.nonce);
        k.state_root = self.write(fee, t.token, addr, fee_nonce, sum);
        self.commit(k);
        Ok(())
    }

    fn transfer_to(
        &mut self,
        k: &mut Work,
        t: &DecodedTx,
        from: Address,
        nonce: u64,
    ) -> Result<bool> {
        if t.to != NEW_ACCOUNT {
            if t.to >= k.account_count {
                return Ok(false);
            }
            let a = self.account(t.to, t.token, k.state_root, true)?;
            if !self.signed(t, from, a.view.addr, nonce) {
                return Ok(false);
            }
            let sum = a.view.balance + t.amount;
            if sum > MAX_BALANCE {
                return Ok(false);
            }
            let (addr, to_nonce) = (a.view.addr, a.view.nonce);
            k.state_root = self.write(a, t.token, addr, to_nonce, sum);
            return Ok(true);
        }
        let p = self.address(t.to_address, k.address_root)?;
        if p.leaf != B256::ZERO {
            return Ok(false);
        }
        let index = k.account_count;
        if self.full(index) {
            return Ok(false);
        }
        let e = self.account(index, t.token, k.state_root, false)?;
        if !self.signed(t, from, t.to_address, nonce) || t.amount > MAX_BALANCE {
            return Ok(false);
        }
        k.state_root = self.write(e, t.token, t.to_address, 0, t.amount);
        k.address_root = p
            .proof
            .compute_root(
                address_leaf(index as u32),
                address_position(&t.to_address),
                ADDRESS_TREE_DEPTH,
            )
            .expect("a proof that verified");
        k.account_count = index + 1;
        Ok(true)
    }

    /// Rule 5: the EIP-712 signature over (`from`, `to`, token, amount, fee, `nonce`) is
    /// canonical (low `s`) and recovers to `from`.
    fn signed(&self, t: &DecodedTx, from: Address, to: Address, nonce: u64) -> bool {
        let token = t.token as u32;
        let (amount, fee) = (t.amount, t.fee);
        let tx = if t.withdrawal {
            Tx::Withdrawal(Withdrawal { from, to, token, amount, fee, nonce })
        } else {
            Tx::Transfer(Transfer { from, to, token, amount, fee, nonce })
        };
        SignedTx::from_compact(tx, &t.signature).and_then(|s| s.verify(self.domain)).is_ok()
    }
}

/// The root reached from `leaf` at `position` with full `siblings` (leaf level first).
fn fold(leaf: B256, position: u64, siblings: &[B256]) -> B256 {
    path_node(leaf, position, siblings, siblings.len())
}

/// The node at `level` of the path from `leaf` at `position` (level 0: the leaf).
fn path_node(leaf: B256, position: u64, siblings: &[B256], level: usize) -> B256 {
    let mut node = leaf;
    for (l, sibling) in siblings.iter().enumerate().take(level) {
        node = if (position >> l) & 1 == 1 {
            KeccakHasher::hash_node(*sibling, node)
        } else {
            KeccakHasher::hash_node(node, *sibling)
        };
    }
    node
}

/// The compressed form of full siblings.
fn compress(siblings: &[B256]) -> SparseProof {
    SparseProof::compress(&MerkleProof { siblings: siblings.to_vec() })
}

impl Default for StepWitness {
    fn default() -> Self {
        Self {
            chunks: Vec::<DataChunk>::new(),
            op: PriorityOp {
                kind: 0,
                from: Address::ZERO,
                to: Address::ZERO,
                token: 0,
                amount: U256::ZERO,
                timestamp: 0,
            },
            addressProofs: Vec::new(),
            accounts: Vec::new(),
            withdrawalProof: SparseProof { bitmap: U256::ZERO, siblings: Vec::new() },
        }
    }
}
