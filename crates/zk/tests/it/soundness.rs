//! No witness value of the batch circuit is free (issue 10), and the attacks that a free value
//! allowed fail at the witness level.
//!
//! The suite starts from valid batch witnesses (a full batch: a refused deposit, a full exit,
//! two transfers and a withdrawal; a partly padded one: a deposit that creates an account and
//! a transfer, every other slot padding), perturbs each private value of the witness alone,
//! then each slot's fields as a group, then turns each padding slot into a live one, and checks
//! every result against the circuit's matrices: each must leave the circuit unsatisfied, unless
//! [`provably_free`] lists it with the reason it is harmless. The attacks: an operator's padding
//! slot that moves a victim's balance (the padding theft), a deposit that overflows, a refusal
//! of a deposit that fits, a deposit at an account index L1 did not assign.

use ply_core::{Address, dev::dev_signer};
use ply_zk::{
    Fr,
    circuit::{
        AccountSlot, BatchCircuit, BatchParams, BatchWitness, ZkDeposit, ZkFullExit, ZkOperation,
        ZkState, ZkTransfer, ZkWithdrawal, batch_commitment, signing_domain,
    },
    eddsa::SecretKey,
    groth16::ConstraintMatrices,
};
use std::sync::OnceLock;

/// A small shape, so that the suite runs in seconds: 4 accounts, 4 tokens.
const SHAPE: BatchParams = BatchParams {
    account_depth: 2,
    token_depth: 2,
    deposits: 2,
    transfers: 2,
    withdrawals: 1,
    fee_tokens: 1,
};
const ETHER: u128 = 1_000_000_000_000_000_000;
const FEE: u128 = 1_000_000_000_000;

fn key(index: usize) -> SecretKey {
    SecretKey::from_ethereum_signer(&dev_signer(index).unwrap()).unwrap()
}

fn address(byte: u8) -> Address {
    Address::repeat_byte(byte)
}

fn domain() -> Fr {
    signing_domain(31337, address(0xdd))
}

const OPERATOR: u8 = 0xee;
const ALICE: u8 = 0xa1;
const BOB: u8 = 0xb0;
const CAROL: u8 = 0xc0;

fn deposit(to: u8, key_index: usize, token: u32, amount: u128) -> ZkOperation {
    ZkOperation::Deposit(ZkDeposit {
        to: address(to),
        public_key: key(key_index).public_key(),
        token,
        amount,
    })
}

/// Alice (1) holds 10 ETH and 2^128 - 6 of token 1, Bob (2) 5 ETH; Carol has no account.
fn funded() -> ZkState {
    let mut state = ZkState::new(&SHAPE, domain(), address(OPERATOR), key(0).public_key()).unwrap();
    let ops = [deposit(ALICE, 1, 0, 10 * ETHER), deposit(BOB, 2, 0, 5 * ETHER)];
    BatchWitness::build(&mut state, &SHAPE, &ops).unwrap();
    BatchWitness::build(&mut state, &SHAPE, &[deposit(ALICE, 1, 1, u128::MAX - 5)]).unwrap();
    state
}

/// Every slot enabled: Alice's deposit of 6 of token 1 is refused (it would reach 2^128), Bob
/// exits fully, Alice pays Bob twice (with a fee) and withdraws.
fn full_batch() -> BatchWitness {
    let alice = key(1);
    let ops = vec![
        deposit(ALICE, 1, 1, 6),
        ZkOperation::FullExit(ZkFullExit { owner: address(BOB), token: 0 }),
        ZkOperation::Transfer(ZkTransfer::signed(&alice, domain(), 1, 2, 0, ETHER, FEE, 0)),
        ZkOperation::Transfer(ZkTransfer::signed(&alice, domain(), 1, 2, 0, ETHER / 2, 0, 1)),
        ZkOperation::Withdrawal(ZkWithdrawal::signed(&alice, domain(), 1, 0, ETHER, FEE, 2)),
    ];
    let witness = BatchWitness::build(&mut funded(), &SHAPE, &ops).unwrap();
    let slots = &witness.circuit.deposits;
    assert!(slots[0].refused && slots[0].payout == 6 && slots[1].full_exit);
    assert_eq!(slots[1].payout, 5 * ETHER);
    witness
}

/// Carol's deposit creates account 3 and Alice pays her; every other slot is padding.
fn padded_batch() -> BatchWitness {
    let ops = vec![
        deposit(CAROL, 3, 0, ETHER),
        ZkOperation::Transfer(ZkTransfer::signed(&key(1), domain(), 1, 3, 0, ETHER, 0, 0)),
    ];
    BatchWitness::build(&mut funded(), &SHAPE, &ops).unwrap()
}

/// The matrices of [`SHAPE`], its slot ranges and the rows of each column, built once.
struct Shape {
    matrices: ConstraintMatrices,
    slots: Vec<(String, usize)>,
    rows_by_column: Vec<Vec<u32>>,
}

fn shape() -> &'static Shape {
    static SHAPE_MATRICES: OnceLock<Shape> = OnceLock::new();
    SHAPE_MATRICES.get_or_init(|| {
        let circuit = padded_batch().circuit;
        let slots = circuit.slots().unwrap();
        let matrices = ConstraintMatrices::of(circuit).unwrap();
        let rows_by_column = matrices.rows_by_column();
        Shape { matrices, slots, rows_by_column }
    })
}

/// The names of the slots that `rows` belong to, in order, once each.
fn slot_names(rows: Vec<usize>) -> Vec<String> {
    let mut names: Vec<String> =
        rows.into_iter().map(|row| BatchCircuit::slot_of(&shape().slots, row)).collect();
    names.dedup();
    names
}

/// The slots whose constraints `circuit`'s witness breaks (empty: it satisfies the circuit),
/// every row checked.
fn broken_slots(circuit: &BatchCircuit) -> Vec<String> {
    slot_names(shape().matrices.unsatisfied_rows(circuit.clone()).unwrap())
}

/// The assignment of a valid witness, checked against every row: the base that perturbations
/// of it are compared with.
fn base_assignment(circuit: &BatchCircuit) -> Vec<Fr> {
    let z = shape().matrices.assignment(circuit.clone()).unwrap();
    assert_eq!(shape().matrices.first_unsatisfied(&z), None, "the base witness is valid");
    z
}

/// As [`broken_slots`] for a perturbation of the witness whose assignment is `base`: the same
/// answer (a row that uses no changed value evaluates as it does on the valid base), checking
/// only the rows that the perturbation reaches.
fn broken_slots_near(base: &[Fr], circuit: &BatchCircuit) -> Vec<String> {
    let Shape { matrices, rows_by_column, .. } = shape();
    let z = matrices.assignment(circuit.clone()).unwrap();
    slot_names(matrices.unsatisfied_rows_near(base, rows_by_column, &z))
}

/// One change of a witness: the path of the value and how to change it.
type Change = (String, Box<dyn Fn(&mut BatchCircuit)>);

fn bump_fr(v: &mut Fr) {
    *v += Fr::from(1u64);
}

fn bump_u64(v: &mut u64) {
    *v = v.wrapping_add(1);
}

fn bump_u128(v: &mut u128) {
    *v = if *v == u128::MAX { *v - 1 } else { *v + 1 };
}

fn bump_address(v: &mut Address) {
    v.0[19] ^= 1;
}

/// Each value of an account slot, reached through `at`, changed alone.
fn account_changes(
    prefix: &str,
    slot: &AccountSlot,
    at: fn(&mut BatchCircuit, usize) -> &mut AccountSlot,
    i: usize,
) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let mut push = |name: &str, f: Box<dyn Fn(&mut AccountSlot)>| {
        out.push((format!("{prefix}.{name}"), Box::new(move |c| f(at(c, i)))));
    };
    push("index", Box::new(|s| bump_u64(&mut s.index)));
    push("is_empty", Box::new(|s| s.is_empty = !s.is_empty));
    push("address", Box::new(|s| bump_fr(&mut s.address)));
    push("public_key.x", Box::new(|s| bump_fr(&mut s.public_key.0)));
    push("public_key.y", Box::new(|s| bump_fr(&mut s.public_key.1)));
    push("nonce", Box::new(|s| bump_u64(&mut s.nonce)));
    push("balance", Box::new(|s| bump_u128(&mut s.balance)));
    for j in 0..slot.balance_siblings.len() {
        push(
            &format!("balance_siblings[{j}]"),
            Box::new(move |s| bump_fr(&mut s.balance_siblings[j])),
        );
    }
    for j in 0..slot.account_siblings.len() {
        push(
            &format!("account_siblings[{j}]"),
            Box::new(move |s| bump_fr(&mut s.account_siblings[j])),
        );
    }
    out
}

/// Every private value of `c`, each a change of its own.
fn changes(c: &BatchCircuit) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    out.push(("domain".into(), Box::new(|c| bump_fr(&mut c.domain))));
    out.push(("old_root".into(), Box::new(|c| bump_fr(&mut c.old_root))));
    out.push(("new_root".into(), Box::new(|c| bump_fr(&mut c.new_root))));
    let s1 = || ply_zk::babyjubjub::Fs::from(1u64);
    for i in 0..c.deposits.len() {
        let p = format!("priority {i}");
        let mut push = |name: &str, f: Box<dyn Fn(&mut ply_zk::circuit::PrioritySlot)>| {
            out.push((format!("{p}.{name}"), Box::new(move |c| f(&mut c.deposits[i]))));
        };
        push("enabled", Box::new(|s| s.enabled ^= true));
        push("full_exit", Box::new(|s| s.full_exit ^= true));
        push("refused", Box::new(|s| s.refused ^= true));
        push("owner", Box::new(|s| bump_address(&mut s.owner)));
        push("token", Box::new(|s| s.token ^= 1));
        push("amount", Box::new(|s| bump_u128(&mut s.amount)));
        push("public_key.x", Box::new(|s| bump_fr(&mut s.public_key.0)));
        push("public_key.y", Box::new(|s| bump_fr(&mut s.public_key.1)));
        push("payout", Box::new(|s| bump_u128(&mut s.payout)));
        out.extend(account_changes(
            &format!("{p}.account"),
            &c.deposits[i].account,
            |c, i| &mut c.deposits[i].account,
            i,
        ));
    }
    for i in 0..c.transfers.len() {
        let p = format!("transfer {i}");
        let mut push = |name: &str, f: Box<dyn Fn(&mut ply_zk::circuit::TransferSlot)>| {
            out.push((format!("{p}.{name}"), Box::new(move |c| f(&mut c.transfers[i]))));
        };
        push("enabled", Box::new(|s| s.enabled ^= true));
        push("from", Box::new(|s| bump_u64(&mut s.tx.from)));
        push("to", Box::new(|s| bump_u64(&mut s.tx.to)));
        push("token", Box::new(|s| s.tx.token ^= 1));
        push("amount", Box::new(|s| s.tx.amount += 10u128.pow(12)));
        push("fee", Box::new(|s| s.tx.fee += FEE));
        push("nonce", Box::new(|s| bump_u64(&mut s.tx.nonce)));
        push("signature.r8.x", Box::new(|s| bump_fr(&mut s.tx.signature.r8.x)));
        push("signature.r8.y", Box::new(|s| bump_fr(&mut s.tx.signature.r8.y)));
        push("signature.s", Box::new(move |s| s.tx.signature.s += s1()));
        out.extend(account_changes(
            &format!("{p}.sender"),
            &c.transfers[i].sender,
            |c, i| &mut c.transfers[i].sender,
            i,
        ));
        out.extend(account_changes(
            &format!("{p}.recipient"),
            &c.transfers[i].recipient,
            |c, i| &mut c.transfers[i].recipient,
            i,
        ));
    }
    for i in 0..c.withdrawals.len() {
        let p = format!("withdrawal {i}");
        let mut push = |name: &str, f: Box<dyn Fn(&mut ply_zk::circuit::WithdrawalSlot)>| {
            out.push((format!("{p}.{name}"), Box::new(move |c| f(&mut c.withdrawals[i]))));
        };
        push("enabled", Box::new(|s| s.enabled ^= true));
        push("from", Box::new(|s| bump_u64(&mut s.tx.from)));
        push("token", Box::new(|s| s.tx.token ^= 1));
        push("amount", Box::new(|s| bump_u128(&mut s.tx.amount)));
        push("fee", Box::new(|s| s.tx.fee += FEE));
        push("nonce", Box::new(|s| bump_u64(&mut s.tx.nonce)));
        push("signature.r8.x", Box::new(|s| bump_fr(&mut s.tx.signature.r8.x)));
        push("signature.r8.y", Box::new(|s| bump_fr(&mut s.tx.signature.r8.y)));
        push("signature.s", Box::new(move |s| s.tx.signature.s += s1()));
        out.extend(account_changes(
            &format!("{p}.sender"),
            &c.withdrawals[i].sender,
            |c, i| &mut c.withdrawals[i].sender,
            i,
        ));
    }
    for i in 0..c.fees.len() {
        out.push((format!("fee {i}.token"), Box::new(move |c| c.fees[i].token ^= 1)));
        out.extend(account_changes(
            &format!("fee {i}.account"),
            &c.fees[i].account,
            |c, i| &mut c.fees[i].account,
            i,
        ));
    }
    out
}

/// The values a perturbation may change without breaking the circuit, each with the reason it
/// is harmless. `None`: the value is bound.
fn provably_free(c: &BatchCircuit, name: &str) -> Option<&'static str> {
    let slot_enabled = |section: &str, i: usize| match section {
        "transfer" => c.transfers[i].enabled,
        "withdrawal" => c.withdrawals[i].enabled,
        _ => true,
    };
    let (slot, field) = name.split_once('.').unwrap_or((name, ""));
    let (section, index) = slot.split_once(' ').unwrap_or((slot, "0"));
    let index: usize = index.parse().unwrap_or(0);
    if matches!(field, "from" | "to" | "nonce") && section != "priority" {
        return Some(
            "not a witness of the circuit: a transaction's native `from`, `to` and `nonce` are \
             read in the circuit from its account slots (the leaves' indices, which the public \
             data posts, and the sender's leaf nonce, which the signature covers)",
        );
    }
    if section == "fee" && field == "token" && c.fees[index].account.balance == 0 {
        return Some(
            "the token of a fee slot that collects nothing: it adds zero to a balance of \
             account 0 that is zero as well, so the root does not move; a fee in any token must \
             still be in some slot (fee_credits)",
        );
    }
    if field.starts_with("signature.") && !slot_enabled(section, index) {
        return Some(
            "a padding slot's signature is checked against nothing; every other field of the \
             slot is zero, so it moves nothing whatever the signature",
        );
    }
    if section == "priority"
        && (field == "account.address" || field.starts_with("account.public_key"))
        && c.deposits[index].account.is_empty
        && c.deposits[index].enabled
    {
        return Some(
            "the old address and key of an empty leaf: the leaf is zero whatever they are, and \
             the deposit that creates the account writes its own address and key",
        );
    }
    None
}

/// Checks each perturbation; returns the ones that left the circuit satisfied and are not
/// listed as free.
fn unlisted_free(
    c: &BatchCircuit,
    base: &[Fr],
    perturbations: Vec<(String, BatchCircuit)>,
) -> Vec<String> {
    use rayon::prelude::*;
    perturbations
        .into_par_iter()
        .filter(|(name, changed)| {
            provably_free(c, name).is_none() && broken_slots_near(base, changed).is_empty()
        })
        .map(|(name, _)| name)
        .collect()
}

fn singles(c: &BatchCircuit) -> Vec<(String, BatchCircuit)> {
    changes(c)
        .into_iter()
        .map(|(name, f)| {
            let mut changed = c.clone();
            f(&mut changed);
            (name, changed)
        })
        .collect()
}

/// Each slot's values changed together (its `enabled` flag aside: that is the next set).
fn groups(c: &BatchCircuit) -> Vec<(String, BatchCircuit)> {
    let all = changes(c);
    let mut prefixes: Vec<String> =
        all.iter().filter_map(|(n, _)| n.split_once('.').map(|(p, _)| p.to_string())).collect();
    prefixes.dedup();
    prefixes
        .into_iter()
        .map(|prefix| {
            let mut changed = c.clone();
            for (name, f) in &all {
                if name.starts_with(&format!("{prefix}.")) && !name.ends_with(".enabled") {
                    f(&mut changed);
                }
            }
            (format!("{prefix}.* (all at once)"), changed)
        })
        .collect()
}

/// Each padding slot turned live (`enabled` set, nothing else changed).
fn padding_turned_live(c: &BatchCircuit) -> Vec<(String, BatchCircuit)> {
    let mut out = Vec::new();
    for (i, slot) in c.deposits.iter().enumerate().filter(|(_, s)| !s.enabled) {
        let mut changed = c.clone();
        changed.deposits[i].enabled = true;
        let _ = slot;
        out.push((format!("priority {i} live"), changed));
    }
    for i in (0..c.transfers.len()).filter(|i| !c.transfers[*i].enabled) {
        let mut changed = c.clone();
        changed.transfers[i].enabled = true;
        out.push((format!("transfer {i} live"), changed));
    }
    for i in (0..c.withdrawals.len()).filter(|i| !c.withdrawals[*i].enabled) {
        let mut changed = c.clone();
        changed.withdrawals[i].enabled = true;
        out.push((format!("withdrawal {i} live"), changed));
    }
    out
}

#[test]
fn no_witness_value_of_a_full_batch_is_free() {
    let c = full_batch().circuit;
    let base = base_assignment(&c);
    let mut perturbations = singles(&c);
    assert!(perturbations.len() > 100, "{} values", perturbations.len());
    perturbations.extend(groups(&c));
    assert_eq!(unlisted_free(&c, &base, perturbations), Vec::<String>::new());
}

#[test]
fn no_witness_value_of_a_padded_batch_is_free() {
    let c = padded_batch().circuit;
    let base = base_assignment(&c);
    let perturbations = singles(&c);
    // The free values are exactly the listed ones, and the list is not vacuous.
    let free: Vec<String> = perturbations
        .iter()
        .filter(|(n, _)| provably_free(&c, n).is_some())
        .map(|(n, _)| n.clone())
        .collect();
    assert!(free.iter().any(|n| n.starts_with("transfer 1.signature")), "{free:?}");
    // Each listed value is really free here (the list holds no stale entry).
    use rayon::prelude::*;
    let bound: Vec<&String> = perturbations
        .par_iter()
        .filter(|(n, changed)| {
            provably_free(&c, n).is_some() && !broken_slots_near(&base, changed).is_empty()
        })
        .map(|(n, _)| n)
        .collect();
    assert!(
        bound.iter().all(|n| n.ends_with(".from")
            || n.ends_with(".to")
            || n.ends_with(".nonce")
            || n.contains("signature.r8")),
        "listed as free but bound: {bound:?}"
    );
    let live = padding_turned_live(&c);
    assert_eq!(live.len(), 3, "a priority, a transfer and a withdrawal slot are padding");
    let satisfied: Vec<&String> = live
        .par_iter()
        .filter(|(_, changed)| broken_slots_near(&base, changed).is_empty())
        .map(|(n, _)| n)
        .collect();
    assert!(satisfied.is_empty(), "padding made live satisfies the circuit: {satisfied:?}");
    let mut perturbations = perturbations;
    perturbations.extend(groups(&c));
    assert_eq!(unlisted_free(&c, &base, perturbations), Vec::<String>::new());
}

// ------------------------------------------------------------------------------ the attacks

/// A witness forged over `state` with one transfer slot set as the operator likes, every other
/// slot padding read at its place: the roots follow `after` (the state the operator claims),
/// and the commitment is over the public data the circuit would post for these slots (the
/// forged slot's record with op byte 0 when it is disabled). Everything but the forged slot is
/// consistent, so the slots [`broken_slots`] names are those the forgery breaks.
pub(crate) fn forge_transfer_slot(
    params: &BatchParams,
    before: &ZkState,
    slot: ply_zk::circuit::TransferSlot,
    after: &ZkState,
    record: [u8; 12],
) -> BatchCircuit {
    let mut c = BatchWitness::build(&mut before.clone(), params, &[]).unwrap().circuit;
    c.transfers[0] = slot;
    for t in &mut c.transfers[1..] {
        t.sender = after.slot(0, 0).unwrap();
        t.recipient = after.slot(0, 0).unwrap();
    }
    for w in &mut c.withdrawals {
        w.sender = after.slot(0, 0).unwrap();
    }
    for f in &mut c.fees {
        f.account = after.slot(0, f.token).unwrap();
    }
    c.new_root = after.root();
    let onchain = vec![0; params.onchain_len()];
    let mut transfers = vec![0; params.transfers_len()];
    transfers[..12].copy_from_slice(&record);
    let priority = vec![0; params.deposits * ply_zk::circuit::PRIORITY_RECORD_BYTES];
    c.commitment =
        batch_commitment(before.domain(), c.old_root, c.new_root, &onchain, &transfers, &priority);
    c
}

/// The padding theft of `victim`'s whole ETH balance to account 0 over `before`: a disabled
/// transfer slot without a signature, every other part of the witness consistent with it.
/// Returns the forged circuit and the transfer record it posts (op byte 0).
pub(crate) fn padding_theft(
    params: &BatchParams,
    before: &ZkState,
    victim: u64,
) -> (BatchCircuit, [u8; 12]) {
    let owner = before.account(victim).unwrap().address;
    let stolen = before.account(victim).unwrap().balances[&0];
    let operator = before.account(0).unwrap().address;
    // The state the thief claims: the victim's ETH at account 0, its nonce unchanged (a full
    // exit and a deposit natively do exactly that).
    let exit = ZkOperation::FullExit(ZkFullExit { owner, token: 0 });
    let mut debited = before.clone();
    debited.apply(&exit, false).unwrap();
    let mut after = debited.clone();
    let credit =
        ZkDeposit { to: operator, public_key: key(0).public_key(), token: 0, amount: stolen };
    after.apply(&ZkOperation::Deposit(credit), false).unwrap();
    let slot = ply_zk::circuit::TransferSlot {
        enabled: false,
        tx: ZkTransfer {
            from: victim,
            to: 0,
            token: 0,
            amount: stolen,
            fee: 0,
            nonce: 0,
            signature: key(9).sign(Fr::from(0u64)),
        },
        sender: before.slot(victim, 0).unwrap(),
        recipient: debited.slot(0, 0).unwrap(),
    };
    // op 0 ‖ from ‖ to 0 ‖ token 0 ‖ amount (packed) ‖ fee 0.
    let amount = ply_zk::circuit::PackedAmount::pack(stolen, 19).expect("a packable balance");
    let mut record = [0u8; 12];
    record[1..4].copy_from_slice(&(victim as u32).to_be_bytes()[1..]);
    record[8..11].copy_from_slice(&amount.encode().to_be_bytes()[1..]);
    (forge_transfer_slot(params, before, slot, &after, record), record)
}

/// The padding theft of issue 10: a disabled transfer slot (no signature) from Alice to the
/// operator's account 0 for her whole balance. Every other slot, the roots and the commitment
/// are consistent with the theft; only the padding rule of the forged slot refuses it.
#[test]
fn the_padding_theft_is_refused_by_the_circuit() {
    let before = funded();
    let (theft, _) = padding_theft(&SHAPE, &before, 1);
    assert_eq!(broken_slots(&theft), vec!["transfer 0".to_string()]);
    assert!(theft.check().is_err());

    // The forgery is otherwise sound: the same construction with an honest padding slot over
    // the same state satisfies the circuit.
    let honest = BatchWitness::build(&mut before.clone(), &SHAPE, &[]).unwrap().circuit;
    let neutral =
        forge_transfer_slot(&SHAPE, &before, honest.transfers[0].clone(), &before, [0; 12]);
    assert!(broken_slots(&neutral).is_empty());
}

/// The overflowing deposit of issue 10: a credit that would reach 2^128 is proven refused (and
/// paid back on L1); claiming it credited, or refusing a deposit that fits, breaks the slot.
#[test]
fn an_overflowing_deposit_is_refused_and_a_fitting_one_cannot_be() {
    let w = full_batch();
    assert!(broken_slots(&w.circuit).is_empty());
    let mut credited = w.circuit.clone();
    credited.deposits[0].refused = false;
    credited.deposits[0].payout = 0;
    assert!(broken_slots(&credited).contains(&"priority 0".to_string()));
    // An operator refusing Carol's deposit, which fits (to keep it from her L2 account).
    let w = padded_batch();
    let mut refused = w.circuit.clone();
    refused.deposits[0].refused = true;
    refused.deposits[0].payout = ETHER;
    assert!(broken_slots(&refused).contains(&"priority 0".to_string()));
}

/// The stray account index of issue 10: L1 gives Carol account 1 (the next free one) and
/// writes it into the priority record it rebuilds from its queue. The circuit writes the index
/// of the slot's leaf into the same record, so a witness that creates her account at another
/// empty index commits to another record than L1's, and L1's commitment refuses its proof.
/// One address, one account: L1 gives an address its index once.
#[test]
fn a_deposit_at_an_index_l1_did_not_assign_is_refused() {
    let state = ZkState::new(&SHAPE, domain(), address(OPERATOR), key(0).public_key()).unwrap();
    let honest =
        BatchWitness::build(&mut state.clone(), &SHAPE, &[deposit(CAROL, 3, 0, ETHER)]).unwrap();
    let slot = &honest.circuit.deposits[0];
    assert_eq!(slot.account.index, 1);
    assert_eq!(&slot.priority_record()[..4], &[1, 0, 0, 1]);
    let mut stray_slot = slot.clone();
    stray_slot.account = state.slot(2, 0).unwrap();
    assert!(stray_slot.account.is_empty);
    assert_eq!(&stray_slot.priority_record()[..4], &[1, 0, 0, 2]);
    let mut stray = honest.circuit.clone();
    stray.deposits[0] = stray_slot;
    assert!(broken_slots(&stray).contains(&"the batch commitment".to_string()));
    // The rebuild agrees with L1 and the circuit: accounts are created at the next free index.
    let mut rebuilt = state.clone();
    rebuilt.apply(&deposit(CAROL, 3, 0, ETHER), false).unwrap();
    assert_eq!(rebuilt.index_of(&address(CAROL)), Some(1));
}

/// The suite's incremental check ([`broken_slots_near`]) names the same slots as checking
/// every row: on each slot's fields changed together and on each padding slot made live.
#[test]
fn the_incremental_check_agrees_with_the_full_one() {
    for c in [full_batch().circuit, padded_batch().circuit] {
        let base = base_assignment(&c);
        let mut cases = groups(&c);
        cases.extend(padding_turned_live(&c));
        for (name, changed) in cases {
            let full = broken_slots(&changed);
            assert!(!full.is_empty(), "{name}");
            assert_eq!(broken_slots_near(&base, &changed), full, "{name}");
        }
    }
}
