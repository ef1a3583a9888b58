//! The zk family's L1 side, through the backend-agnostic [`L1Client`](ply_l1::client::L1Client):
//! deploying the contracts (Poseidon, the verifier for the proving key in use, `ZkRollup`),
//! submitting proven batches, and reading the queue, the verified batches and their data.

use crate::{
    Fr, Result, ZkError,
    circuit::{BatchParams, BatchWitness, ZkDeposit, ZkFullExit, ZkOperation, signing_domain},
    eddsa::PublicKey,
    fr_from_u256,
    groth16::{EvmProof, Proof, VerifyingKey},
    node::wire::fr_to_u256,
    verifier::verifier_bytecode,
};
use alloy::{
    consensus::Transaction as _,
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolConstructor, SolEvent},
};
use ply_contracts::{BatchVerifier, PoseidonT5, PoseidonT6, ZkRollup};
use ply_l1::client::{DynL1Client, TxSender, logs_in_range};

/// The contracts of one zk rollup or validium deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZkContracts {
    /// `ZkRollup`: the queue, the verified root, withdrawals, exits.
    pub rollup: Address,
    /// The Groth16 verifier of the batch circuit's key.
    pub verifier: Address,
}

/// What a deployment is made of.
#[derive(Debug, Clone)]
pub struct ZkDeployParams {
    /// The batch shape (the proving key's).
    pub params: BatchParams,
    /// The verifying key of the batch circuit.
    pub vk: VerifyingKey,
    /// The operator: the only submitter of batches, and account 0 (the fee account).
    pub operator: Address,
    /// Account 0's EdDSA key.
    pub operator_key: PublicKey,
    /// The data availability committee (empty: a zk rollup; otherwise a validium).
    pub committee: Vec<Address>,
    /// Signatures of the committee a batch needs.
    pub threshold: u8,
    /// Seconds within which a queued operation must be in a verified batch.
    pub priority_deadline: u64,
    /// The least spacing of consecutive deadlines, in seconds: the time the operator needs per
    /// queued operation (a batch's time over its priority slots). A deposit flood then only
    /// pushes later deadlines back.
    pub priority_interval: u64,
    /// The fee in wei each queued operation (deposit or full exit) pays on top of what it
    /// moves, burned on L1 (`ZkRollup.priorityFee`): what makes a flood of the queue cost
    /// money besides gas (docs/zk.md sizes it).
    pub priority_fee: u128,
    /// The account that lists ERC-20 tokens (`TokenRegistry.tokenGovernor`).
    pub token_governor: Address,
}

/// Deploys the Poseidon contracts, the verifier of `p.vk` (the checked-in generated verifier
/// with the key replaced) and `ZkRollup`; the genesis root is the tree with the operator's
/// account alone at index 0.
pub async fn deploy(deployer: &TxSender, p: &ZkDeployParams) -> Result<ZkContracts> {
    let poseidon4 = deployer.deploy(PoseidonT5::BYTECODE.clone()).await?;
    let poseidon5 = deployer.deploy(PoseidonT6::BYTECODE.clone()).await?;
    let verifier =
        deployer.deploy(verifier_bytecode(&BatchVerifier::BYTECODE, &p.vk)?.into()).await?;
    let genesis =
        crate::circuit::ZkState::new(&p.params, Fr::from(0u64), p.operator, p.operator_key)?;
    let config = ZkRollup::Config {
        verifier,
        poseidon4,
        poseidon5,
        operator: p.operator,
        genesisRoot: fr_to_u256(genesis.root()),
        operatorKeyX: fr_to_u256(p.operator_key.0.x),
        operatorKeyY: fr_to_u256(p.operator_key.0.y),
        accountDepth: p.params.account_depth as u8,
        tokenDepth: p.params.token_depth as u8,
        depositSlots: p.params.deposits as u16,
        transferSlots: p.params.transfers as u16,
        withdrawalSlots: p.params.withdrawals as u16,
        priorityDeadline: p.priority_deadline,
        priorityInterval: p.priority_interval,
        priorityFee: U256::from(p.priority_fee),
        tokenGovernor: p.token_governor,
        committee: p.committee.clone(),
        threshold: p.threshold,
    };
    let mut code = ZkRollup::BYTECODE.to_vec();
    code.extend_from_slice(&ZkRollup::constructorCall { config }.abi_encode());
    let rollup = deployer.deploy(code.into()).await?;
    Ok(ZkContracts { rollup, verifier })
}

/// A queued priority operation (a deposit or a full exit) as L1 keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPriorityOp {
    /// Its id in the queue.
    pub id: u64,
    /// The operation: [`ZkOperation::Deposit`] or [`ZkOperation::FullExit`].
    pub op: ZkOperation,
    /// The account index L1 gave its address (at the address's first deposit).
    pub account: u64,
    /// The L1 timestamp by which a verified batch must include it.
    pub deadline: u64,
}

/// A batch verified on L1, with the data L1 saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBatch {
    /// The batch number.
    pub number: u64,
    /// The root after it.
    pub new_root: B256,
    /// The deposit and withdrawal sections.
    pub onchain: Bytes,
    /// The transfer section as posted (zk rollup; trailing zeros may be left off), or `None`
    /// in a validium (the committee has it, by [`Self::transfers_hash`]).
    pub transfers: Option<Bytes>,
    /// `sha256` of the full transfer section.
    pub transfers_hash: B256,
    /// The priority-queue head after it.
    pub priority_head: u64,
}

/// Reads a `ZkRollup` on L1.
#[derive(Debug, Clone)]
pub struct ZkL1 {
    client: DynL1Client,
    rollup: Address,
}

impl ZkL1 {
    /// A reader of the `ZkRollup` at `rollup`.
    pub fn new(client: DynL1Client, rollup: Address) -> Self {
        Self { client, rollup }
    }

    /// The client.
    pub fn client(&self) -> &DynL1Client {
        &self.client
    }

    /// The contract's address.
    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// Calls view `call` at the latest block.
    pub async fn view<C: SolCall>(&self, call: C) -> Result<C::Return> {
        let req = TransactionRequest::default()
            .to(self.rollup)
            .input(Bytes::from(call.abi_encode()).into());
        let out = self.client.call(&req, BlockId::latest()).await?;
        C::abi_decode_returns(&out)
            .map_err(|e| ZkError::Node(format!("{} returned undecodable data: {e}", C::SIGNATURE)))
    }

    /// The deployment's signing domain (chain id and contract address).
    pub async fn domain(&self) -> Result<Fr> {
        Ok(signing_domain(self.client.chain_id().await?, self.rollup))
    }

    /// The batch shape the contract was deployed for.
    pub async fn params(&self) -> Result<BatchParams> {
        let config = self.view(ZkRollup::shapeCall {}).await?;
        Ok(BatchParams {
            account_depth: usize::from(config.accountDepth_),
            token_depth: usize::from(config.tokenDepth_),
            deposits: usize::from(config.depositSlots_),
            transfers: usize::from(config.transferSlots_),
            withdrawals: usize::from(config.withdrawalSlots_),
            fee_tokens: 1,
        })
    }

    /// The operator's address and account 0's key.
    pub async fn operator(&self) -> Result<(Address, PublicKey)> {
        let operator = self.view(ZkRollup::operatorCall {}).await?;
        let key = self.view(ZkRollup::operatorKeyCall {}).await?;
        let coordinate = |v: U256| fr_from_u256(v).ok_or_else(|| ZkError::Node("bad key".into()));
        let key = PublicKey::from_coordinates(coordinate(key.x)?, coordinate(key.y)?)?;
        Ok((operator, key))
    }

    /// The root of the last verified batch.
    pub async fn state_root(&self) -> Result<B256> {
        Ok(self.view(ZkRollup::stateRootCall {}).await?.into())
    }

    /// The number of verified batches.
    pub async fn batch_count(&self) -> Result<u64> {
        self.view(ZkRollup::batchCountCall {}).await
    }

    /// Whether the contract is in exit mode.
    pub async fn exit_mode(&self) -> Result<bool> {
        self.view(ZkRollup::exitModeCall {}).await
    }

    /// The next id the priority queue assigns (operations `0..tail` exist).
    pub async fn priority_tail(&self) -> Result<u64> {
        self.view(ZkRollup::priorityTailCall {}).await
    }

    /// Priority operation `id` of the queue.
    pub async fn priority_op(&self, id: u64) -> Result<QueuedPriorityOp> {
        let op = self.view(ZkRollup::priorityOpCall { id }).await?;
        let coordinate = |v: U256| {
            fr_from_u256(v).ok_or_else(|| ZkError::Node(format!("deposit {id}: bad key")))
        };
        let token = u32::from(op.token);
        let operation = match op.kind {
            1 => ZkOperation::Deposit(ZkDeposit {
                to: op.to,
                // The contract checked the key is on the curve.
                public_key: PublicKey(crate::babyjubjub::Point::new_unchecked(
                    coordinate(op.pkX)?,
                    coordinate(op.pkY)?,
                )),
                token,
                amount: op.amount,
            }),
            4 => ZkOperation::FullExit(ZkFullExit { owner: op.to, token }),
            kind => {
                return Err(ZkError::Node(format!(
                    "priority operation {id} has kind {kind}, neither a deposit (1) nor a full exit (4)"
                )));
            }
        };
        Ok(QueuedPriorityOp {
            id,
            op: operation,
            account: u64::from(op.accountIndex),
            deadline: op.deadline,
        })
    }

    /// Every verified batch, in order, with its data read back from the calldata of the
    /// transaction that submitted it.
    pub async fn verified_batches(&self) -> Result<Vec<VerifiedBatch>> {
        let filter = Filter::new()
            .address(self.rollup)
            .event_signature(ZkRollup::BatchVerified::SIGNATURE_HASH);
        let head = self.client.block_number().await?;
        let mut batches = Vec::new();
        for log in logs_in_range(self.client.as_ref(), &filter, 0..=head).await? {
            let event = ZkRollup::BatchVerified::decode_log(&log.inner)
                .map_err(|e| ZkError::Node(format!("a BatchVerified log does not decode: {e}")))?
                .data;
            let hash = log
                .transaction_hash
                .ok_or_else(|| ZkError::Node("a log without its transaction".into()))?;
            let tx = self.client.transaction(hash).await?.ok_or_else(|| {
                ZkError::Node(format!("the L1 node does not know transaction {hash}"))
            })?;
            let (onchain, transfers) =
                if let Ok(call) = ZkRollup::submitBatchCall::abi_decode(tx.input()) {
                    (call.onchain, Some(call.transfers))
                } else if let Ok(call) = ZkRollup::submitBatchValidiumCall::abi_decode(tx.input()) {
                    (call.onchain, None)
                } else {
                    return Err(ZkError::Node(format!(
                        "batch {} was not submitted by a direct call to the contract ({hash})",
                        event.number
                    )));
                };
            batches.push(VerifiedBatch {
                number: event.number,
                new_root: event.newRoot.into(),
                onchain,
                transfers,
                transfers_hash: event.transfersHash,
                priority_head: event.priorityHead,
            });
        }
        batches.sort_by_key(|b| b.number);
        Ok(batches)
    }
}

/// The proof as `ZkRollup` takes it: `[a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y]`.
pub fn proof_words(proof: &Proof) -> [U256; 8] {
    let evm = EvmProof::from(proof);
    [evm.a[0], evm.a[1], evm.b[0][0], evm.b[0][1], evm.b[1][0], evm.b[1][1], evm.c[0], evm.c[1]]
}

/// The transfer section without its trailing zero bytes (L1 puts them back).
pub fn trimmed(transfers: &[u8]) -> &[u8] {
    let end = transfers.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    &transfers[..end]
}

/// The calldata of a zk rollup batch submission.
pub fn submit_batch_call(witness: &BatchWitness, proof: &Proof) -> Vec<u8> {
    ZkRollup::submitBatchCall {
        onchain: witness.onchain.clone().into(),
        transfers: Bytes::copy_from_slice(trimmed(&witness.transfers)),
        newRoot: fr_to_u256(witness.circuit.new_root),
        proof: proof_words(proof),
    }
    .abi_encode()
}

/// The calldata of a validium batch submission with the committee's `signatures`.
pub fn submit_validium_call(witness: &BatchWitness, proof: &Proof, signatures: Bytes) -> Vec<u8> {
    ZkRollup::submitBatchValidiumCall {
        onchain: witness.onchain.clone().into(),
        transfersHash: crate::dac::data_hash(&witness.transfers),
        newRoot: fr_to_u256(witness.circuit.new_root),
        proof: proof_words(proof),
        signatures,
    }
    .abi_encode()
}

/// The `exit` call that pays account `index`'s balance of `token` in `state` (the state of the
/// last verified root) to the account's L1 address, with its Merkle proof.
pub fn exit_call(
    state: &crate::circuit::ZkState,
    index: u64,
    token: u32,
) -> Result<ZkRollup::exitCall> {
    let slot = state.exit_proof(index, token)?;
    let owner = state.account(index).expect("exit_proof checked it").address;
    let words = |values: &[Fr]| values.iter().map(|v| fr_to_u256(*v)).collect();
    Ok(ZkRollup::exitCall {
        accountIndex: index as u32,
        token: token as u8,
        owner,
        pkX: fr_to_u256(slot.public_key.0),
        pkY: fr_to_u256(slot.public_key.1),
        nonce: slot.nonce,
        balance: slot.balance,
        balanceSiblings: words(&slot.balance_siblings),
        accountSiblings: words(&slot.account_siblings),
    })
}
