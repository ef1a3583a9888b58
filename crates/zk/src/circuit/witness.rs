//! Witness generation: a batch's operations, checked natively against a [`ZkState`], become
//! the slots of a [`BatchCircuit`] and its public input.

use super::{
    BatchCircuit, BatchParams, CircuitError, OP_DEPOSIT, OP_DEPOSIT_REFUSED, OP_FULL_EXIT,
    OP_TRANSFER, OP_WITHDRAWAL, PackedAmount, Result, ZkState, sha256,
};
use crate::{
    Fr,
    babyjubjub::{Fs, Point},
    eddsa::{PublicKey, SecretKey, Signature},
    poseidon,
};
use ark_ff::{BigInteger, PrimeField, Zero};
use ply_core::Address;

/// A deposit taken from the L1 priority queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkDeposit {
    /// The L2 account's address: an existing account, or a new one created with `public_key`.
    pub to: Address,
    /// The key of the account the deposit creates (ignored when the account exists). The
    /// bridge must refuse keys that are not on the curve, or the deposit could not be proven.
    pub public_key: PublicKey,
    /// The token.
    pub token: u32,
    /// The amount, below 2¹²⁸.
    pub amount: u128,
}

/// A full exit queued on L1 by an account's own address (zkSync Lite's `FullExit`): the batch
/// that takes it pays the account's whole balance of `token` out on L1 and sets it to zero,
/// without an L2 signature. An operator that ignores it lets anyone turn exit mode on once it is
/// overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkFullExit {
    /// The account's address (the L1 sender of the request; L1 only queues requests of
    /// addresses that have an account).
    pub owner: Address,
    /// The token.
    pub token: u32,
}

/// A signed L2 transfer between existing accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTransfer {
    /// The sender's index.
    pub from: u64,
    /// The recipient's index.
    pub to: u64,
    /// The token.
    pub token: u32,
    /// The amount; must pack exactly into 19 + 5 bits ([`PackedAmount`]).
    pub amount: u128,
    /// The fee, in the same token; must pack into 3 + 5 bits.
    pub fee: u128,
    /// The sender's nonce.
    pub nonce: u64,
    /// The sender's signature of [`Self::message`].
    pub signature: Signature,
}

/// A signed withdrawal to the account's own L1 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkWithdrawal {
    /// The account's index.
    pub from: u64,
    /// The token.
    pub token: u32,
    /// The amount, below 2¹²⁸ (posted in full).
    pub amount: u128,
    /// The fee, in the same token; must pack into 3 + 5 bits.
    pub fee: u128,
    /// The account's nonce.
    pub nonce: u64,
    /// The account's signature of [`Self::message`].
    pub signature: Signature,
}

/// A signature that signs nothing, for padding slots: `R8` the identity, `S = 0`.
pub(crate) fn null_signature() -> Signature {
    Signature { r8: Point::zero(), s: Fs::zero() }
}

/// The signing domain of one deployment: `keccak256(uint256 chain_id ‖ address contract)` with
/// its top 3 bits cleared, as a field element. Every signed message starts with it, so a
/// signature for one chain or one contract (the zk rollup, the validium) is worthless on another;
/// the circuit takes it as a witness bound by the batch commitment, which L1 computes with its own.
pub fn signing_domain(chain_id: u64, contract: Address) -> Fr {
    let mut input = [0u8; 52];
    input[24..32].copy_from_slice(&chain_id.to_be_bytes());
    input[32..].copy_from_slice(contract.as_slice());
    let mut digest = ply_core::keccak256(input).0;
    digest[0] &= 0x1f;
    Fr::from_be_bytes_mod_order(&digest)
}

#[allow(clippy::too_many_arguments)]
fn tx_message(
    domain: Fr,
    op: u8,
    from: u64,
    to: u64,
    token: u32,
    amount: u128,
    fee: u128,
    nonce: u64,
) -> Fr {
    poseidon(&[
        domain,
        Fr::from(op),
        Fr::from(from),
        Fr::from(to),
        Fr::from(token),
        Fr::from(amount),
        Fr::from(fee),
        Fr::from(nonce),
    ])
}

impl ZkTransfer {
    /// The signed message: `poseidon([domain, 2, from, to, token, amount, fee, nonce])`.
    pub fn message(&self, domain: Fr) -> Fr {
        tx_message(
            domain,
            OP_TRANSFER,
            self.from,
            self.to,
            self.token,
            self.amount,
            self.fee,
            self.nonce,
        )
    }

    /// A transfer signed with `key` for the deployment of `domain` ([`signing_domain`]).
    #[allow(clippy::too_many_arguments)]
    pub fn signed(
        key: &SecretKey,
        domain: Fr,
        from: u64,
        to: u64,
        token: u32,
        amount: u128,
        fee: u128,
        nonce: u64,
    ) -> Self {
        let mut tx = Self { from, to, token, amount, fee, nonce, signature: null_signature() };
        tx.signature = key.sign(tx.message(domain));
        tx
    }

    pub(crate) fn padding() -> Self {
        Self { from: 0, to: 0, token: 0, amount: 0, fee: 0, nonce: 0, signature: null_signature() }
    }
}

impl ZkWithdrawal {
    /// The signed message: `poseidon([domain, 3, from, 0, token, amount, fee, nonce])`.
    pub fn message(&self, domain: Fr) -> Fr {
        tx_message(
            domain,
            OP_WITHDRAWAL,
            self.from,
            0,
            self.token,
            self.amount,
            self.fee,
            self.nonce,
        )
    }

    /// A withdrawal signed with `key` for the deployment of `domain` ([`signing_domain`]).
    pub fn signed(
        key: &SecretKey,
        domain: Fr,
        from: u64,
        token: u32,
        amount: u128,
        fee: u128,
        nonce: u64,
    ) -> Self {
        let mut tx = Self { from, token, amount, fee, nonce, signature: null_signature() };
        tx.signature = key.sign(tx.message(domain));
        tx
    }

    pub(crate) fn padding() -> Self {
        Self { from: 0, token: 0, amount: 0, fee: 0, nonce: 0, signature: null_signature() }
    }
}

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOperation {
    /// A deposit from the L1 queue.
    Deposit(ZkDeposit),
    /// A full exit from the L1 queue.
    FullExit(ZkFullExit),
    /// A transfer.
    Transfer(ZkTransfer),
    /// A withdrawal.
    Withdrawal(ZkWithdrawal),
}

impl ZkOperation {
    fn kind(&self) -> &'static str {
        match self {
            Self::Deposit(_) => "deposit",
            Self::FullExit(_) => "full exit",
            Self::Transfer(_) => "transfer",
            Self::Withdrawal(_) => "withdrawal",
        }
    }

    /// The token the operation moves.
    pub fn token(&self) -> u32 {
        match self {
            Self::Deposit(d) => d.token,
            Self::FullExit(e) => e.token,
            Self::Transfer(t) => t.token,
            Self::Withdrawal(w) => w.token,
        }
    }

    fn section(&self) -> u8 {
        match self {
            Self::Deposit(_) | Self::FullExit(_) => 0,
            Self::Transfer(_) => 1,
            Self::Withdrawal(_) => 2,
        }
    }
}

/// The witness of one account touched by one operation, read before the change: its leaf's
/// fields, its balance of the operation's token, and the two Merkle paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSlot {
    /// The account's index.
    pub index: u64,
    /// Whether the leaf is empty (no account yet).
    pub is_empty: bool,
    /// The address as a field element.
    pub address: Fr,
    /// The public key's coordinates.
    pub public_key: (Fr, Fr),
    /// The nonce.
    pub nonce: u64,
    /// The balance of the operation's token.
    pub balance: u128,
    /// Siblings in the balance tree, three a level in position order, leaf level first.
    pub balance_siblings: Vec<Fr>,
    /// Siblings in the account tree, three a level in position order, leaf level first.
    pub account_siblings: Vec<Fr>,
}

/// A priority slot: one operation of the L1 queue (a deposit or a full exit) and its outcome.
/// Every field is zero in a padding slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrioritySlot {
    /// A real operation (false: padding).
    pub enabled: bool,
    /// A full exit (false: a deposit).
    pub full_exit: bool,
    /// A deposit the circuit refuses (its credit would reach 2¹²⁸): paid back on L1.
    pub refused: bool,
    /// The depositor or the full exit's requester.
    pub owner: Address,
    /// The token.
    pub token: u32,
    /// A deposit's amount (0 for a full exit).
    pub amount: u128,
    /// The key a deposit creates its account with (zero for a full exit).
    pub public_key: (Fr, Fr),
    /// What L1 pays `owner` when it verifies the batch: a refused deposit's amount or a full
    /// exit's balance (0 otherwise).
    pub payout: u128,
    /// The account at the index L1 assigned to `owner`, before the operation.
    pub account: AccountSlot,
}

/// A transfer slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSlot {
    /// A real transfer (false: padding).
    pub enabled: bool,
    /// The transfer.
    pub tx: ZkTransfer,
    /// The sender, before the debit.
    pub sender: AccountSlot,
    /// The recipient, after the debit and before the credit.
    pub recipient: AccountSlot,
}

/// A withdrawal slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalSlot {
    /// A real withdrawal (false: padding).
    pub enabled: bool,
    /// The withdrawal.
    pub tx: ZkWithdrawal,
    /// The account, before the debit.
    pub sender: AccountSlot,
}

/// A fee slot: the fees of the batch in one token, credited to account 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSlot {
    /// The token (slots have distinct tokens).
    pub token: u32,
    /// Account 0 before the credit.
    pub account: AccountSlot,
}

/// A batch's witness: the circuit with its values, and what L1 sees.
#[derive(Debug, Clone)]
pub struct BatchWitness {
    /// The circuit, with every value assigned.
    pub circuit: BatchCircuit,
    /// The sections always posted on L1: priority outcomes, then withdrawals (full size,
    /// padding as zero bytes).
    pub onchain: Vec<u8>,
    /// The transfer section at full size (padding as zero bytes): posted on L1 by the zk
    /// rollup (trailing zero bytes may be left off), held by the committee in a validium.
    pub transfers: Vec<u8>,
    /// The priority-operation records of the priority slots.
    pub priority_ops: Vec<u8>,
    /// The public input.
    pub commitment: Fr,
}

/// `sha256(old_root ‖ new_root ‖ domain ‖ sha256(transfers) ‖ sha256(priority_ops) ‖ onchain)`
/// with the top 3 bits cleared, as a field element: the batch's one public input (see the
/// [module docs](super)).
pub fn batch_commitment(
    domain: Fr,
    old_root: Fr,
    new_root: Fr,
    onchain: &[u8],
    transfers: &[u8],
    priority_ops: &[u8],
) -> Fr {
    let mut input = Vec::with_capacity(160 + onchain.len());
    input.extend_from_slice(&root_bytes(old_root));
    input.extend_from_slice(&root_bytes(new_root));
    input.extend_from_slice(&root_bytes(domain));
    input.extend_from_slice(&sha256(transfers));
    input.extend_from_slice(&sha256(priority_ops));
    input.extend_from_slice(onchain);
    let mut digest = sha256(&input);
    digest[0] &= 0x1f;
    Fr::from_be_bytes_mod_order(&digest)
}

fn root_bytes(root: Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&root.into_bigint().to_bytes_be());
    out
}

fn fr_bytes(value: Fr) -> Vec<u8> {
    value.into_bigint().to_bytes_be()
}

impl BatchWitness {
    /// Applies `operations` to `state` and returns the witness of the batch.
    ///
    /// Each operation is first checked natively; the first that cannot be applied is refused
    /// with its position and the reason, and `state` is left unchanged. Operations must come
    /// as deposits, then transfers, then withdrawals, no more of each than `params` has slots.
    pub fn build(
        state: &mut ZkState,
        params: &BatchParams,
        operations: &[ZkOperation],
    ) -> Result<Self> {
        params.validate()?;
        if state.capacity() != 1 << params.account_depth
            || state.token_depth() != params.token_depth
        {
            return Err(CircuitError::InvalidParams(
                "the state's tree depths differ from the batch's".into(),
            ));
        }
        let mut next = state.clone();
        let old_root = next.root();
        let mut deposits = Vec::new();
        let mut transfers = Vec::new();
        let mut withdrawals = Vec::new();
        let mut fee_tokens: Vec<(u32, u128)> = Vec::new();
        let max_token = 1u64 << params.token_depth;
        let mut last_section = 0;
        for (position, op) in operations.iter().enumerate() {
            if op.section() < last_section {
                return Err(CircuitError::InvalidOperation {
                    position,
                    kind: op.kind(),
                    reason: "a batch applies its deposits, then its transfers, then its withdrawals: start the next batch with it".into(),
                });
            }
            last_section = op.section();
        }
        // Section by section, each padded before the next (padding reads the state there).
        for section in 0..3u8 {
            let in_section =
                operations.iter().enumerate().filter(|(_, op)| op.section() == section);
            for (position, op) in in_section {
                let refuse = |reason: String| CircuitError::InvalidOperation {
                    position,
                    kind: op.kind(),
                    reason,
                };
                let token = op.token();
                if u64::from(token) >= max_token {
                    return Err(refuse(format!(
                        "token {token} is beyond the balance tree ({max_token} tokens)"
                    )));
                }
                match op {
                    ZkOperation::Deposit(_) | ZkOperation::FullExit(_)
                        if deposits.len() == params.deposits =>
                    {
                        return Err(refuse(format!(
                            "the batch has only {} priority slots",
                            params.deposits
                        )));
                    }
                    ZkOperation::Deposit(d) => {
                        let index = match next.index_of(&d.to) {
                            Some(index) => index,
                            None if next.account_count() < next.capacity() => next.account_count(),
                            None => return Err(refuse("the account tree is full".into())),
                        };
                        if !d.public_key.0.is_on_curve() {
                            return Err(refuse(
                                "the deposit's public key is not on BabyJubjub".into(),
                            ));
                        }
                        let account = next.slot(index, d.token)?;
                        // A credit that would reach 2^128 is refused: the slot proves it and L1
                        // pays the amount back, so the queue never stalls on it.
                        let credited = account.balance.checked_add(d.amount);
                        if let Some(balance) = credited {
                            if account.is_empty {
                                next.create(d.to, d.public_key)?;
                            }
                            next.set(index, d.token, balance, account.nonce)?;
                        }
                        deposits.push(PrioritySlot {
                            enabled: true,
                            full_exit: false,
                            refused: credited.is_none(),
                            owner: d.to,
                            token: d.token,
                            amount: d.amount,
                            public_key: (d.public_key.0.x, d.public_key.0.y),
                            payout: if credited.is_none() { d.amount } else { 0 },
                            account,
                        });
                    }
                    ZkOperation::FullExit(e) => {
                        let index = next
                            .index_of(&e.owner)
                            .ok_or_else(|| refuse(format!("{} has no account to exit", e.owner)))?;
                        let account = next.slot(index, e.token)?;
                        next.set(index, e.token, 0, account.nonce)?;
                        deposits.push(PrioritySlot {
                            enabled: true,
                            full_exit: true,
                            refused: false,
                            owner: e.owner,
                            token: e.token,
                            amount: 0,
                            public_key: (Fr::zero(), Fr::zero()),
                            payout: account.balance,
                            account,
                        });
                    }
                    ZkOperation::Transfer(t) => {
                        if transfers.len() == params.transfers {
                            return Err(refuse(format!(
                                "the batch has only {} transfer slots",
                                params.transfers
                            )));
                        }
                        if PackedAmount::pack(t.amount, PackedAmount::AMOUNT_MANTISSA_BITS)
                            .is_none()
                        {
                            return Err(refuse(format!(
                                "amount {} does not pack into a 19-bit mantissa and a decimal exponent",
                                t.amount
                            )));
                        }
                        let sender = check_signed(
                            &next,
                            t.from,
                            t.token,
                            t.amount,
                            t.fee,
                            t.nonce,
                            t.message(next.domain()),
                            &t.signature,
                        )
                        .map_err(&refuse)?;
                        if next.account(t.to).is_none() {
                            return Err(refuse(format!(
                                "recipient account {} does not exist (deposits create accounts)",
                                t.to
                            )));
                        }
                        note_fee(&mut fee_tokens, params.fee_tokens, t.token, t.fee)
                            .map_err(&refuse)?;
                        next.set(
                            t.from,
                            t.token,
                            sender.balance - t.amount - t.fee,
                            sender.nonce + 1,
                        )?;
                        let recipient = next.slot(t.to, t.token)?;
                        let credited =
                            recipient.balance.checked_add(t.amount).ok_or_else(|| {
                                refuse(format!(
                                    "account {}'s balance of token {} would exceed 2^128 - 1",
                                    t.to, t.token
                                ))
                            })?;
                        next.set(t.to, t.token, credited, recipient.nonce)?;
                        transfers.push(TransferSlot {
                            enabled: true,
                            tx: t.clone(),
                            sender,
                            recipient,
                        });
                    }
                    ZkOperation::Withdrawal(w) => {
                        if withdrawals.len() == params.withdrawals {
                            return Err(refuse(format!(
                                "the batch has only {} withdrawal slots",
                                params.withdrawals
                            )));
                        }
                        let sender = check_signed(
                            &next,
                            w.from,
                            w.token,
                            w.amount,
                            w.fee,
                            w.nonce,
                            w.message(next.domain()),
                            &w.signature,
                        )
                        .map_err(&refuse)?;
                        note_fee(&mut fee_tokens, params.fee_tokens, w.token, w.fee)
                            .map_err(&refuse)?;
                        next.set(
                            w.from,
                            w.token,
                            sender.balance - w.amount - w.fee,
                            sender.nonce + 1,
                        )?;
                        withdrawals.push(WithdrawalSlot { enabled: true, tx: w.clone(), sender });
                    }
                }
            }
            pad(&next, params, section, &mut deposits, &mut transfers, &mut withdrawals)?;
        }
        // Fee slots: the tokens fees were paid in, then unused tokens with nothing to credit.
        let unused: Vec<u32> = (0..max_token as u32)
            .filter(|t| !fee_tokens.iter().any(|(f, _)| f == t))
            .take(params.fee_tokens - fee_tokens.len())
            .collect();
        fee_tokens.extend(unused.into_iter().map(|token| (token, 0)));
        let mut fees = Vec::with_capacity(params.fee_tokens);
        for (position, (token, amount)) in fee_tokens.into_iter().enumerate() {
            let account = next.slot(0, token)?;
            let credited = account.balance.checked_add(amount).ok_or_else(|| {
                CircuitError::InvalidOperation {
                    position,
                    kind: "fee credit",
                    reason: format!(
                        "the fee account's balance of token {token} would exceed 2^128 - 1"
                    ),
                }
            })?;
            next.set(0, token, credited, account.nonce)?;
            fees.push(FeeSlot { token, account });
        }
        let new_root = next.root();

        let mut onchain = Vec::with_capacity(params.onchain_len());
        let mut transfer_data = Vec::with_capacity(params.transfers * super::TRANSFER_RECORD_BYTES);
        let mut priority_ops = Vec::new();
        for slot in &deposits {
            onchain.extend_from_slice(&slot.outcome_record());
            priority_ops.extend_from_slice(&slot.priority_record());
        }
        for slot in &withdrawals {
            if slot.enabled {
                let w = &slot.tx;
                onchain.push(OP_WITHDRAWAL);
                onchain.extend_from_slice(&(w.from as u32).to_be_bytes()[1..]);
                onchain.push(w.token as u8);
                onchain.extend_from_slice(&w.amount.to_be_bytes());
                onchain.push(pack_fee(w.fee).encode() as u8);
                let address = next.account(w.from).expect("checked above").address;
                onchain.extend_from_slice(address.as_slice());
            } else {
                onchain.extend_from_slice(&[0; super::WITHDRAWAL_RECORD_BYTES]);
            }
        }
        for slot in &transfers {
            if slot.enabled {
                let t = &slot.tx;
                transfer_data.push(OP_TRANSFER);
                transfer_data.extend_from_slice(&(t.from as u32).to_be_bytes()[1..]);
                transfer_data.extend_from_slice(&(t.to as u32).to_be_bytes()[1..]);
                transfer_data.push(t.token as u8);
                let amount = PackedAmount::pack(t.amount, PackedAmount::AMOUNT_MANTISSA_BITS)
                    .expect("checked above");
                transfer_data.extend_from_slice(&amount.encode().to_be_bytes()[1..]);
                transfer_data.push(pack_fee(t.fee).encode() as u8);
            } else {
                transfer_data.extend_from_slice(&[0; super::TRANSFER_RECORD_BYTES]);
            }
        }
        let domain = next.domain();
        let commitment =
            batch_commitment(domain, old_root, new_root, &onchain, &transfer_data, &priority_ops);
        *state = next;
        Ok(Self {
            circuit: BatchCircuit {
                params: *params,
                domain,
                old_root,
                new_root,
                commitment,
                deposits,
                transfers,
                withdrawals,
                fees,
            },
            onchain,
            transfers: transfer_data,
            priority_ops,
            commitment,
        })
    }
}

impl PrioritySlot {
    /// The slot's record in the public data's priority section: `op ‖ payout u128` (all zero
    /// for padding).
    pub fn outcome_record(&self) -> [u8; super::DEPOSIT_RECORD_BYTES] {
        let mut record = [0; super::DEPOSIT_RECORD_BYTES];
        if self.enabled {
            record[0] = match (self.full_exit, self.refused) {
                (true, _) => OP_FULL_EXIT,
                (false, true) => OP_DEPOSIT_REFUSED,
                (false, false) => OP_DEPOSIT,
            };
            record[1..].copy_from_slice(&self.payout.to_be_bytes());
        }
        record
    }

    /// The record of the queued operation, as L1 rebuilds it: `kind ‖ account index u24 ‖
    /// owner (20) ‖ token u8 ‖ amount u128 ‖ pubkey.x ‖ pubkey.y` (all zero for padding).
    pub fn priority_record(&self) -> [u8; super::PRIORITY_RECORD_BYTES] {
        let mut record = [0; super::PRIORITY_RECORD_BYTES];
        if self.enabled {
            record[0] = if self.full_exit { OP_FULL_EXIT } else { OP_DEPOSIT };
            record[1..4].copy_from_slice(&(self.account.index as u32).to_be_bytes()[1..]);
            record[4..24].copy_from_slice(self.owner.as_slice());
            record[24] = self.token as u8;
            record[25..41].copy_from_slice(&self.amount.to_be_bytes());
            record[41..73].copy_from_slice(&fr_bytes(self.public_key.0));
            record[73..105].copy_from_slice(&fr_bytes(self.public_key.1));
        }
        record
    }
}

fn pack_fee(fee: u128) -> PackedAmount {
    PackedAmount::pack(fee, PackedAmount::FEE_MANTISSA_BITS).expect("checked by check_debit")
}

/// Records a fee (whose packing `ZkState::check_debit` checked) in its token's slot; refuses a
/// fee that needs one slot too many.
fn note_fee(
    fee_tokens: &mut Vec<(u32, u128)>,
    slots: usize,
    token: u32,
    fee: u128,
) -> std::result::Result<(), String> {
    if fee == 0 {
        return Ok(());
    }
    let count = fee_tokens.len();
    match fee_tokens.iter_mut().find(|(t, _)| *t == token) {
        Some((_, total)) => {
            *total = total
                .checked_add(fee)
                .ok_or_else(|| format!("the batch's fees in token {token} exceed 2^128 - 1"))?;
        }
        None if count < slots => fee_tokens.push((token, fee)),
        None => {
            return Err(format!(
                "the batch already collects fees in {slots} tokens, its number of fee slots"
            ));
        }
    }
    Ok(())
}

/// The checks of a signed debit: the account exists, the nonce is its next one, the signature
/// verifies under its key, and the balance covers amount and fee.
#[allow(clippy::too_many_arguments)]
fn check_signed(
    state: &ZkState,
    from: u64,
    token: u32,
    amount: u128,
    fee: u128,
    nonce: u64,
    message: Fr,
    signature: &super::super::eddsa::Signature,
) -> std::result::Result<AccountSlot, String> {
    state.check_debit(from, token, amount, fee, nonce, Some(message), signature)?;
    state.slot(from, token).map_err(|e| e.to_string())
}

/// Fills `section` (0 deposits, 1 transfers, 2 withdrawals) with padding slots read from
/// `next`: no change, all-zero records, index 0 and token 0. Called at the end of each
/// section, so that each padding slot reads the state at its place in the batch.
fn pad(
    next: &ZkState,
    params: &BatchParams,
    section: u8,
    deposits: &mut Vec<PrioritySlot>,
    transfers: &mut Vec<TransferSlot>,
    withdrawals: &mut Vec<WithdrawalSlot>,
) -> Result<()> {
    match section {
        0 => {
            while deposits.len() < params.deposits {
                deposits.push(PrioritySlot {
                    enabled: false,
                    full_exit: false,
                    refused: false,
                    owner: Address::ZERO,
                    token: 0,
                    amount: 0,
                    public_key: (Fr::zero(), Fr::zero()),
                    payout: 0,
                    account: next.slot(0, 0)?,
                });
            }
        }
        1 => {
            while transfers.len() < params.transfers {
                let slot = next.slot(0, 0)?;
                transfers.push(TransferSlot {
                    enabled: false,
                    tx: ZkTransfer::padding(),
                    sender: slot.clone(),
                    recipient: slot,
                });
            }
        }
        _ => {
            while withdrawals.len() < params.withdrawals {
                withdrawals.push(WithdrawalSlot {
                    enabled: false,
                    tx: ZkWithdrawal::padding(),
                    sender: next.slot(0, 0)?,
                });
            }
        }
    }
    Ok(())
}
