//! [`BatchCircuit`]: the constraints.

use super::{
    AccountSlot, BatchParams, CircuitError, FeeSlot, OP_TRANSFER, OP_WITHDRAWAL, PackedAmount,
    PrioritySlot, Result, TransferSlot, WithdrawalSlot, sha256_var,
};
use crate::{
    Fr, PoseidonHasher,
    babyjubjub::{Point, constraints::PointVar},
    eddsa::constraints::{SignatureVar, verify_var},
    fr_from_address,
    poseidon::constraints::poseidon_var,
};
use ark_ec::twisted_edwards::TECurveConfig;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{FieldVar, fp::FpVar},
    prelude::ToBitsGadget,
};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError,
};
use ply_ledger::TreeHasher;

type Bits = Vec<Boolean<Fr>>;

/// The batch circuit, with its witness (built by [`BatchWitness::build`](super::BatchWitness::build)).
///
/// Its one public input is the [`batch_commitment`](super::batch_commitment). The fields are
/// public so that tests can tamper with a witness; a tampered witness leaves the circuit
/// unsatisfied, and [`check`](Self::check) names the slot.
#[derive(Debug, Clone)]
pub struct BatchCircuit {
    /// The shape.
    pub params: BatchParams,
    /// The deployment's signing domain (bound by the commitment).
    pub domain: Fr,
    /// The root before the batch.
    pub old_root: Fr,
    /// The root after the batch.
    pub new_root: Fr,
    /// The public input.
    pub commitment: Fr,
    /// The priority slots (deposits and full exits).
    pub deposits: Vec<PrioritySlot>,
    /// The transfer slots.
    pub transfers: Vec<TransferSlot>,
    /// The withdrawal slots.
    pub withdrawals: Vec<WithdrawalSlot>,
    /// The fee slots.
    pub fees: Vec<FeeSlot>,
}

/// The name of the slot each constraint range belongs to: `(name, first constraint after it)`.
type SlotMap = Vec<(String, usize)>;

impl BatchCircuit {
    /// Synthesises the circuit with its witness and checks it, as the prover does before
    /// proving: the error names the slot (e.g. `transfer 1`) of the first failing constraint.
    /// Returns the number of constraints.
    pub fn check(&self) -> Result<usize> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let map = self.synthesize_mapped(cs.clone())?;
        if let Some(constraint) = cs.which_is_unsatisfied()? {
            let index = constraint
                .rsplit(" - ")
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            let slot = Self::slot_of(&map, index);
            return Err(CircuitError::Unsatisfied { slot, constraint });
        }
        Ok(cs.num_constraints())
    }

    /// The slots in constraint order, each with the index of the first constraint after it
    /// (`("priority 0", 31_200)`, ..., `("the new root", ...)`; the rest is the batch
    /// commitment), as the prover's matrices ([`crate::groth16::ConstraintMatrices`]) number
    /// their rows. Depends on the shape only.
    pub fn slots(&self) -> Result<Vec<(String, usize)>> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(ark_relations::gr1cs::OptimizationGoal::Constraints);
        cs.set_mode(ark_relations::gr1cs::SynthesisMode::Setup);
        Ok(self.synthesize_mapped(cs)?)
    }

    /// The name of the slot that constraint `row` belongs to (see [`Self::slots`]).
    pub fn slot_of(slots: &[(String, usize)], row: usize) -> String {
        slots
            .iter()
            .find(|(_, end)| row < *end)
            .map_or_else(|| "the batch commitment".to_string(), |(name, _)| name.clone())
    }

    /// The number of constraints of this shape.
    pub fn num_constraints(&self) -> Result<usize> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        self.synthesize_mapped(cs.clone())?;
        Ok(cs.num_constraints())
    }

    fn synthesize_mapped(&self, cs: ConstraintSystemRef<Fr>) -> Result<SlotMap, SynthesisError> {
        let p = &self.params;
        let mut map = SlotMap::new();
        let mut mark = |name: String, cs: &ConstraintSystemRef<Fr>| {
            map.push((name, cs.num_constraints()));
        };
        let commitment = FpVar::new_input(cs.clone(), || Ok(self.commitment))?;
        let old_root = FpVar::new_witness(cs.clone(), || Ok(self.old_root))?;
        let new_root = FpVar::new_witness(cs.clone(), || Ok(self.new_root))?;
        let domain = FpVar::new_witness(cs.clone(), || Ok(self.domain))?;
        mark("the roots".into(), &cs);
        let mut root = old_root.clone();
        let mut onchain: Bits = Vec::new();
        let mut transfers: Bits = Vec::new();
        let mut priority: Bits = Vec::new();
        let mut fee_terms: Vec<(Bits, FpVar<Fr>)> = Vec::new();
        assert_eq!(self.deposits.len(), p.deposits, "deposit slots");
        assert_eq!(self.transfers.len(), p.transfers, "transfer slots");
        assert_eq!(self.withdrawals.len(), p.withdrawals, "withdrawal slots");
        assert_eq!(self.fees.len(), p.fee_tokens, "fee slots");

        for (i, slot) in self.deposits.iter().enumerate() {
            root = priority_op(&cs, p, slot, &root, &mut onchain, &mut priority)?;
            mark(format!("priority {i}"), &cs);
        }
        for (i, slot) in self.transfers.iter().enumerate() {
            root = transfer(&cs, p, &domain, slot, &root, &mut transfers, &mut fee_terms)?;
            mark(format!("transfer {i}"), &cs);
        }
        for (i, slot) in self.withdrawals.iter().enumerate() {
            root = withdrawal(&cs, p, &domain, slot, &root, &mut onchain, &mut fee_terms)?;
            mark(format!("withdrawal {i}"), &cs);
        }
        root = fee_credits(&cs, p, &self.fees, &root, &fee_terms)?;
        mark("the fee credits".into(), &cs);
        root.enforce_equal(&new_root)?;
        mark("the new root".into(), &cs);

        let mut input = be_field_bits(&old_root)?;
        input.extend(be_field_bits(&new_root)?);
        input.extend(be_field_bits(&domain)?);
        input.extend(sha256_var(&transfers)?);
        input.extend(sha256_var(&priority)?);
        input.extend(onchain);
        let digest = sha256_var(&input)?;
        let le: Bits = digest[3..].iter().rev().cloned().collect();
        Boolean::le_bits_to_fp(&le)?.enforce_equal(&commitment)?;
        Ok(map)
    }
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize_mapped(cs).map(|_| ())
    }
}

/// A field element's 256 big-endian bits (canonical: below the modulus).
fn be_field_bits(value: &FpVar<Fr>) -> Result<Bits, SynthesisError> {
    let mut bits = value.to_bits_le()?;
    bits.resize(256, Boolean::FALSE);
    bits.reverse();
    Ok(bits)
}

/// `bits` (little-endian, of an integer) as `bytes` big-endian bytes of bits.
fn be_bytes(bits: &[Boolean<Fr>], bytes: usize) -> Bits {
    let mut bits = bits.to_vec();
    assert!(bits.len() <= bytes * 8);
    bits.resize(bytes * 8, Boolean::FALSE);
    bits.reverse();
    bits
}

/// An op-code byte that is the code when `enabled` and 0 otherwise.
fn op_byte(code: u8, enabled: &Boolean<Fr>) -> Bits {
    (0..8)
        .rev()
        .map(|i| if code >> i & 1 == 1 { enabled.clone() } else { Boolean::FALSE })
        .collect()
}

/// Padding is neutral: every bit of `fields` is zero unless `enabled`. The bits are packed,
/// 248 to an element (distinct powers of two, so an element is zero iff its bits are), so a
/// padding slot's whole record costs a constraint or two.
fn enforce_zero_unless(
    enabled: &Boolean<Fr>,
    fields: &[&[Boolean<Fr>]],
) -> Result<(), SynthesisError> {
    let bits: Bits = fields.iter().flat_map(|f| f.iter().cloned()).collect();
    let disabled = !enabled.clone();
    for chunk in bits.chunks(248) {
        Boolean::le_bits_to_fp(chunk)?.conditional_enforce_equal(&FpVar::zero(), &disabled)?;
    }
    Ok(())
}

/// `n` witness bits of `value`, little-endian.
fn witness_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: u128,
    n: usize,
) -> Result<Bits, SynthesisError> {
    (0..n)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(i < 128 && value >> i & 1 == 1)))
        .collect()
}

/// A value below 2¹²⁸, enforced.
fn enforce_u128(value: &FpVar<Fr>) -> Result<(), SynthesisError> {
    value.to_bits_le_with_top_bits_zero(128).map(|_| ())
}

/// `mantissa · 10^exponent` from little-endian bits.
fn unpack(mantissa: &[Boolean<Fr>], exponent: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut value = Boolean::le_bits_to_fp(mantissa)?;
    for (i, bit) in exponent.iter().enumerate() {
        let factor = ark_ff::Field::pow(&Fr::from(10u64), [1u64 << i]);
        value *= bit.select(&FpVar::constant(factor), &FpVar::one())?;
    }
    Ok(value)
}

/// A packed amount's witness bits (mantissa, exponent), little-endian.
fn packed_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: u128,
    mantissa_bits: u32,
) -> Result<(Bits, Bits), SynthesisError> {
    // A value that does not pack (a tampered witness) is given as its low bits: the
    // unpacked value then differs from the signed one and the signature fails.
    let packed = PackedAmount::pack(value, mantissa_bits)
        .unwrap_or(PackedAmount { mantissa: value as u32, exponent: 0 });
    let mantissa = witness_bits(cs, u128::from(packed.mantissa), mantissa_bits as usize)?;
    let exponent =
        witness_bits(cs, u128::from(packed.exponent), PackedAmount::EXPONENT_BITS as usize)?;
    Ok((mantissa, exponent))
}

// The gadget below, `BatchParams::siblings` and the empty balance root's level are written for
// the native trees' arity: quaternary.
const _: () = assert!(PoseidonHasher::ARITY_BITS == 2, "the circuit's trees are quaternary");

/// The root from a leaf and its path in a quaternary tree: at each level the next two index
/// bits (lowest first) place the node among its three siblings (in position order), and the
/// four children are hashed. Six constraints place a node, 297 hash a level.
fn merkle_root(
    leaf: &FpVar<Fr>,
    index_bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(index_bits.len() / 2 * 3, siblings.len(), "three siblings a level");
    let mut node = leaf.clone();
    for (bits, s) in index_bits.chunks_exact(2).zip(siblings.chunks_exact(3)) {
        let (low, high) = (&bits[0], &bits[1]);
        let both = low & high;
        // Place 0: [node, s0, s1, s2]; 1: [s0, node, s1, s2]; 2: [s0, s1, node, s2]; 3: [s0, s1, s2, node].
        let not_first =
            FpVar::from(low.clone()) + FpVar::from(high.clone()) - FpVar::from(both.clone());
        let first = &node + not_first * (&s[0] - &node);
        let second = high.select(&s[1], &low.select(&node, &s[0])?)?;
        let third = high.select(&low.select(&s[2], &node)?, &s[1])?;
        let fourth = both.select(&node, &s[2])?;
        node = poseidon_var(&[first, second, third, fourth])?;
    }
    Ok(node)
}

/// An account slot in-circuit.
struct AccountVar {
    index_bits: Bits,
    is_empty: Boolean<Fr>,
    address: FpVar<Fr>,
    pk: (FpVar<Fr>, FpVar<Fr>),
    nonce: FpVar<Fr>,
    balance: FpVar<Fr>,
    balance_siblings: Vec<FpVar<Fr>>,
    account_siblings: Vec<FpVar<Fr>>,
}

impl AccountVar {
    /// Allocates the slot and checks it against `root` for the balance of `token_bits`.
    fn check(
        cs: &ConstraintSystemRef<Fr>,
        p: &BatchParams,
        slot: &AccountSlot,
        token_bits: &[Boolean<Fr>],
        root: &FpVar<Fr>,
    ) -> Result<Self, SynthesisError> {
        let w = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));
        let siblings = |s: &[Fr], n: usize| -> Result<Vec<FpVar<Fr>>, SynthesisError> {
            (0..n).map(|i| w(s.get(i).copied().unwrap_or_default())).collect()
        };
        let this = Self {
            index_bits: witness_bits(cs, u128::from(slot.index), p.account_depth)?,
            is_empty: Boolean::new_witness(cs.clone(), || Ok(slot.is_empty))?,
            address: w(slot.address)?,
            pk: (w(slot.public_key.0)?, w(slot.public_key.1)?),
            nonce: w(Fr::from(slot.nonce))?,
            balance: w(Fr::from(slot.balance))?,
            balance_siblings: siblings(
                &slot.balance_siblings,
                BatchParams::siblings(p.token_depth),
            )?,
            account_siblings: siblings(
                &slot.account_siblings,
                BatchParams::siblings(p.account_depth),
            )?,
        };
        let balances_root = merkle_root(&this.balance, token_bits, &this.balance_siblings)?;
        // An empty leaf is an account with nonce 0 and an empty balance tree (whose siblings,
        // by collision resistance, are then the empty subtrees).
        let empty_root =
            FpVar::constant(super::state::b256_to_fr(PoseidonHasher::empty(p.token_depth / 2)));
        balances_root.conditional_enforce_equal(&empty_root, &this.is_empty)?;
        this.balance.conditional_enforce_equal(&FpVar::zero(), &this.is_empty)?;
        this.nonce.conditional_enforce_equal(&FpVar::zero(), &this.is_empty)?;
        let leaf = this.is_empty.select(
            &FpVar::zero(),
            &this.leaf(&this.address, &this.pk, &this.nonce, &balances_root)?,
        )?;
        merkle_root(&leaf, &this.index_bits, &this.account_siblings)?.enforce_equal(root)?;
        Ok(this)
    }

    fn leaf(
        &self,
        address: &FpVar<Fr>,
        pk: &(FpVar<Fr>, FpVar<Fr>),
        nonce: &FpVar<Fr>,
        balances_root: &FpVar<Fr>,
    ) -> Result<FpVar<Fr>, SynthesisError> {
        poseidon_var(&[
            address.clone(),
            pk.0.clone(),
            pk.1.clone(),
            nonce.clone(),
            balances_root.clone(),
        ])
    }

    /// The root after the change (the same siblings, the new fields).
    #[allow(clippy::too_many_arguments)]
    fn new_root(
        &self,
        token_bits: &[Boolean<Fr>],
        address: &FpVar<Fr>,
        pk: &(FpVar<Fr>, FpVar<Fr>),
        nonce: &FpVar<Fr>,
        balance: &FpVar<Fr>,
        stays_empty: &Boolean<Fr>,
    ) -> Result<FpVar<Fr>, SynthesisError> {
        let balances_root = merkle_root(balance, token_bits, &self.balance_siblings)?;
        let leaf =
            stays_empty.select(&FpVar::zero(), &self.leaf(address, pk, nonce, &balances_root)?)?;
        merkle_root(&leaf, &self.index_bits, &self.account_siblings)
    }
}

/// The 8 bits of a token id, little-endian, of which those above the balance tree are zero.
fn token_bits(
    cs: &ConstraintSystemRef<Fr>,
    p: &BatchParams,
    token: u32,
) -> Result<Bits, SynthesisError> {
    let bits = witness_bits(cs, u128::from(token), 8)?;
    for bit in &bits[p.token_depth..] {
        bit.enforce_equal(&Boolean::FALSE)?;
    }
    Ok(bits)
}

/// A priority slot: a deposit (credited, or refused when the credit would reach 2¹²⁸) or a
/// full exit, at the account index L1 assigned; see the [module docs](super).
fn priority_op(
    cs: &ConstraintSystemRef<Fr>,
    p: &BatchParams,
    slot: &PrioritySlot,
    root: &FpVar<Fr>,
    public_data: &mut Bits,
    priority: &mut Bits,
) -> Result<FpVar<Fr>, SynthesisError> {
    let enabled = Boolean::new_witness(cs.clone(), || Ok(slot.enabled))?;
    let is_exit = Boolean::new_witness(cs.clone(), || Ok(slot.full_exit))?;
    let refused = Boolean::new_witness(cs.clone(), || Ok(slot.refused))?;
    // A full exit is a real operation; only a deposit is refused.
    (&is_exit & &!enabled.clone()).enforce_equal(&Boolean::FALSE)?;
    let is_deposit = &enabled & &!is_exit.clone();
    (&refused & &!is_deposit.clone()).enforce_equal(&Boolean::FALSE)?;
    let credited = &is_deposit & &!refused.clone();

    let token = token_bits(cs, p, slot.token)?;
    let address_value = fr_from_address(slot.owner).into_bigint().to_bits_le();
    let address_bits = (0..160)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(address_value[i])))
        .collect::<Result<Bits, _>>()?;
    let address = Boolean::le_bits_to_fp(&address_bits)?;
    let amount_bits = witness_bits(cs, slot.amount, 128)?;
    let amount = Boolean::le_bits_to_fp(&amount_bits)?;
    let payout_bits = witness_bits(cs, slot.payout, 128)?;
    let pk = (
        FpVar::new_witness(cs.clone(), || Ok(slot.public_key.0))?,
        FpVar::new_witness(cs.clone(), || Ok(slot.public_key.1))?,
    );

    let account = AccountVar::check(cs, p, &slot.account, &token[..p.token_depth], root)?;
    enforce_zero_unless(
        &enabled,
        &[&account.index_bits, &address_bits, &token, &amount_bits, &payout_bits],
    )?;
    pk.0.conditional_enforce_equal(&FpVar::zero(), &!enabled.clone())?;
    pk.1.conditional_enforce_equal(&FpVar::zero(), &!enabled.clone())?;

    let creates = &is_deposit & &account.is_empty;
    // A created account's key is on the curve: a·x² + y² = 1 + d·x²·y².
    let x2 = pk.0.square()?;
    let y2 = pk.1.square()?;
    let a = FpVar::constant(<crate::babyjubjub::BabyJubjubConfig as TECurveConfig>::COEFF_A);
    let dd = FpVar::constant(<crate::babyjubjub::BabyJubjubConfig as TECurveConfig>::COEFF_D);
    let lhs = &a * &x2 + &y2;
    let rhs = FpVar::one() + dd * &x2 * &y2;
    lhs.conditional_enforce_equal(&rhs, &creates)?;
    // An existing account at L1's index is the operation's address; a full exit needs one.
    let existing = &enabled & &!account.is_empty.clone();
    account.address.conditional_enforce_equal(&address, &existing)?;
    account.is_empty.conditional_enforce_equal(&Boolean::FALSE, &is_exit)?;

    // Refused: balance + amount ≥ 2¹²⁸, i.e. balance + amount − 2¹²⁸ is below 2¹²⁸ (both terms
    // are below 2¹²⁸, so a sum below 2¹²⁸ would wrap around the field instead).
    let two_128 = FpVar::constant(Fr::from(u128::MAX) + Fr::from(1u64));
    let excess = &account.balance + &amount - two_128;
    enforce_u128(&refused.select(&excess, &FpVar::zero())?)?;
    let exit_payout = is_exit.select(&account.balance, &FpVar::zero())?;
    let payout = refused.select(&amount, &exit_payout)?;
    Boolean::le_bits_to_fp(&payout_bits)?.enforce_equal(&payout)?;

    let balance = &account.balance + credited.select(&amount, &FpVar::zero())? - exit_payout;
    enforce_u128(&balance)?;
    let new_address = creates.select(&address, &account.address)?;
    let new_pk = (creates.select(&pk.0, &account.pk.0)?, creates.select(&pk.1, &account.pk.1)?);
    let stays_empty = &account.is_empty & &!creates.clone();
    let root = account.new_root(
        &token[..p.token_depth],
        &new_address,
        &new_pk,
        &account.nonce,
        &balance,
        &stays_empty,
    )?;

    // Outcome op: 1 credited, 5 refused, 4 full exit (bit 0: a deposit; bit 2: refused or exit).
    let bit2 = &refused | &is_exit;
    let f = Boolean::FALSE;
    public_data.extend([f.clone(), f.clone(), f.clone(), f.clone(), f.clone(), bit2, f.clone()]);
    public_data.push(is_deposit.clone());
    public_data.extend(be_bytes(&payout_bits, 16));
    // Kind: 1 deposit, 4 full exit.
    priority.extend([f.clone(), f.clone(), f.clone(), f.clone(), f.clone(), is_exit, f.clone()]);
    priority.push(is_deposit);
    priority.extend(be_bytes(&account.index_bits, 3));
    priority.extend(be_bytes(&address_bits, 20));
    priority.extend(be_bytes(&token, 1));
    priority.extend(be_bytes(&amount_bits, 16));
    priority.extend(be_field_bits(&pk.0)?);
    priority.extend(be_field_bits(&pk.1)?);
    Ok(root)
}

/// The signature check of a debit: `ok ∨ ¬enabled`. Padding verifies against the identity key.
#[allow(clippy::too_many_arguments)]
fn enforce_signed(
    cs: &ConstraintSystemRef<Fr>,
    enabled: &Boolean<Fr>,
    sender: &AccountVar,
    signature: &crate::eddsa::Signature,
    fields: [FpVar<Fr>; 8],
) -> Result<(), SynthesisError> {
    let message = poseidon_var(&fields)?;
    let identity = Point::new_unchecked(Fr::from(0u64), Fr::from(1u64));
    let pk = PointVar::new(
        enabled.select(&sender.pk.0, &FpVar::constant(identity.x))?,
        enabled.select(&sender.pk.1, &FpVar::constant(identity.y))?,
    );
    let signature = SignatureVar::new_witness(cs.clone(), || Ok(*signature))?;
    let ok = verify_var(&crate::eddsa::constraints::PublicKeyVar(pk), &message, &signature)?;
    (ok | !enabled.clone()).enforce_equal(&Boolean::TRUE)
}

/// Debits `amount + fee` from the sender and bumps its nonce (when enabled); returns the root.
fn debit(
    p: &BatchParams,
    enabled: &Boolean<Fr>,
    sender: &AccountVar,
    token: &[Boolean<Fr>],
    total: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    sender.is_empty.conditional_enforce_equal(&Boolean::FALSE, enabled)?;
    let balance = &sender.balance - total;
    enforce_u128(&balance)?;
    let nonce = &sender.nonce + FpVar::from(enabled.clone());
    sender.new_root(
        &token[..p.token_depth],
        &sender.address,
        &sender.pk,
        &nonce,
        &balance,
        &sender.is_empty,
    )
}

fn transfer(
    cs: &ConstraintSystemRef<Fr>,
    p: &BatchParams,
    domain: &FpVar<Fr>,
    slot: &TransferSlot,
    root: &FpVar<Fr>,
    public_data: &mut Bits,
    fee_terms: &mut Vec<(Bits, FpVar<Fr>)>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let t = &slot.tx;
    let enabled = Boolean::new_witness(cs.clone(), || Ok(slot.enabled))?;
    let token = token_bits(cs, p, t.token)?;
    let (am, ae) = packed_bits(cs, t.amount, PackedAmount::AMOUNT_MANTISSA_BITS)?;
    let (fm, fe) = packed_bits(cs, t.fee, PackedAmount::FEE_MANTISSA_BITS)?;
    let amount = unpack(&am, &ae)?;
    let fee = unpack(&fm, &fe)?;

    let sender = AccountVar::check(cs, p, &slot.sender, &token[..p.token_depth], root)?;
    let token_fp = Boolean::le_bits_to_fp(&token)?;
    let from = Boolean::le_bits_to_fp(&sender.index_bits)?;
    // The recipient's index bits are allocated with its slot; the signed `to` is its index.
    let after_debit = debit(p, &enabled, &sender, &token, &(&amount + &fee))?;
    let recipient =
        AccountVar::check(cs, p, &slot.recipient, &token[..p.token_depth], &after_debit)?;
    let to = Boolean::le_bits_to_fp(&recipient.index_bits)?;
    enforce_zero_unless(
        &enabled,
        &[&sender.index_bits, &recipient.index_bits, &token, &am, &ae, &fm, &fe],
    )?;
    enforce_signed(
        cs,
        &enabled,
        &sender,
        &t.signature,
        [
            domain.clone(),
            FpVar::constant(Fr::from(OP_TRANSFER)),
            from,
            to,
            token_fp,
            amount.clone(),
            fee.clone(),
            sender.nonce.clone(),
        ],
    )?;
    recipient.is_empty.conditional_enforce_equal(&Boolean::FALSE, &enabled)?;
    let balance = &recipient.balance + &amount;
    enforce_u128(&balance)?;
    let root = recipient.new_root(
        &token[..p.token_depth],
        &recipient.address,
        &recipient.pk,
        &recipient.nonce,
        &balance,
        &recipient.is_empty,
    )?;

    public_data.extend(op_byte(OP_TRANSFER, &enabled));
    public_data.extend(be_bytes(&sender.index_bits, 3));
    public_data.extend(be_bytes(&recipient.index_bits, 3));
    public_data.extend(be_bytes(&token, 1));
    public_data.extend(be_bytes(&[ae, am].concat(), 3));
    public_data.extend(be_bytes(&[fe, fm].concat(), 1));
    fee_terms.push((token, fee));
    Ok(root)
}

fn withdrawal(
    cs: &ConstraintSystemRef<Fr>,
    p: &BatchParams,
    domain: &FpVar<Fr>,
    slot: &WithdrawalSlot,
    root: &FpVar<Fr>,
    public_data: &mut Bits,
    fee_terms: &mut Vec<(Bits, FpVar<Fr>)>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let w = &slot.tx;
    let enabled = Boolean::new_witness(cs.clone(), || Ok(slot.enabled))?;
    let token = token_bits(cs, p, w.token)?;
    let amount_bits = witness_bits(cs, w.amount, 128)?;
    let amount = Boolean::le_bits_to_fp(&amount_bits)?;
    let (fm, fe) = packed_bits(cs, w.fee, PackedAmount::FEE_MANTISSA_BITS)?;
    let fee = unpack(&fm, &fe)?;

    let sender = AccountVar::check(cs, p, &slot.sender, &token[..p.token_depth], root)?;
    enforce_zero_unless(&enabled, &[&sender.index_bits, &token, &amount_bits, &fm, &fe])?;
    let from = Boolean::le_bits_to_fp(&sender.index_bits)?;
    enforce_signed(
        cs,
        &enabled,
        &sender,
        &w.signature,
        [
            domain.clone(),
            FpVar::constant(Fr::from(OP_WITHDRAWAL)),
            from,
            FpVar::zero(),
            Boolean::le_bits_to_fp(&token)?,
            amount.clone(),
            fee.clone(),
            sender.nonce.clone(),
        ],
    )?;
    let root = debit(p, &enabled, &sender, &token, &(&amount + &fee))?;
    // The L1 recipient is the account's address (zero for padding).
    let recipient = enabled.select(&sender.address, &FpVar::zero())?;
    let (recipient_bits, _) = recipient.to_bits_le_with_top_bits_zero(160)?;

    public_data.extend(op_byte(OP_WITHDRAWAL, &enabled));
    public_data.extend(be_bytes(&sender.index_bits, 3));
    public_data.extend(be_bytes(&token, 1));
    public_data.extend(be_bytes(&amount_bits, 16));
    public_data.extend(be_bytes(&[fe, fm].concat(), 1));
    public_data.extend(be_bytes(&recipient_bits, 20));
    fee_terms.push((token, fee));
    Ok(root)
}

/// Sums each fee slot's fees and credits account 0; every fee is in some slot's token, and
/// slots' tokens are distinct (so no fee is counted twice).
fn fee_credits(
    cs: &ConstraintSystemRef<Fr>,
    p: &BatchParams,
    slots: &[FeeSlot],
    root: &FpVar<Fr>,
    fee_terms: &[(Bits, FpVar<Fr>)],
) -> Result<FpVar<Fr>, SynthesisError> {
    let tokens: Vec<(Bits, FpVar<Fr>)> = slots
        .iter()
        .map(|slot| {
            let bits = token_bits(cs, p, slot.token)?;
            let fp = Boolean::le_bits_to_fp(&bits)?;
            Ok((bits, fp))
        })
        .collect::<Result<_, SynthesisError>>()?;
    for (j, (_, a)) in tokens.iter().enumerate() {
        for (_, b) in &tokens[j + 1..] {
            a.enforce_not_equal(b)?;
        }
    }
    let mut totals = vec![FpVar::<Fr>::zero(); slots.len()];
    for (token_bits, fee) in fee_terms {
        let token = Boolean::le_bits_to_fp(token_bits)?;
        let mut product = fee.clone();
        for (k, (_, slot_token)) in tokens.iter().enumerate() {
            let matches = token.is_eq(slot_token)?;
            totals[k] += matches.select(fee, &FpVar::zero())?;
            product *= &token - slot_token;
        }
        product.enforce_equal(&FpVar::zero())?;
    }
    let mut root = root.clone();
    for ((slot, (bits, _)), total) in slots.iter().zip(&tokens).zip(totals) {
        let account = AccountVar::check(cs, p, &slot.account, &bits[..p.token_depth], &root)?;
        for bit in &account.index_bits {
            bit.enforce_equal(&Boolean::FALSE)?;
        }
        account.is_empty.enforce_equal(&Boolean::FALSE)?;
        let balance = &account.balance + total;
        enforce_u128(&balance)?;
        root = account.new_root(
            &bits[..p.token_depth],
            &account.address,
            &account.pk,
            &account.nonce,
            &balance,
            &account.is_empty,
        )?;
    }
    Ok(root)
}
