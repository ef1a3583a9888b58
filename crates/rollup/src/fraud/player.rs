//! The dispute game's players (`docs/rollup.md`, "The dispute game"): the **challenger**, who
//! disputes every output that disagrees with its own derivation from L1, plays the bisection to
//! the leaf and posts the one-step proof, and the **defender**, the proposer who answers the
//! challenges of its outputs with its trace. One [`Player`] can be both.
//!
//! A player keeps nothing that L1 does not: it derives the rollup from L1 data alone and reads
//! the games back from the `Rollup` contract at every [`tick`](Player::tick), so a player that
//! restarts after a crash in the middle of a game picks it up where L1 says it stands.

use super::StepProof;
use crate::{
    Error, Result,
    config::RollupConfig,
    derivation::{BatchTrace, Derivation},
    l1::L1Reader,
};
use alloy::{
    primitives::{Address, B256, U256},
    sol_types::{SolCall, SolValue},
};
use ply_contracts::Rollup;
use ply_l1::client::{DynL1Client, TxSender};
use std::{collections::BTreeMap, sync::Arc};

/// `Game.status` of a game being played (`Rollup.GAME_ACTIVE`).
pub const GAME_ACTIVE: u8 = 1;

/// What a defender claims at a step of a batch's trace. An honest defender claims its trace's
/// hash; a test double of a lying proposer claims something else.
pub type Claims = Arc<dyn Fn(&BatchTrace, u64) -> B256 + Send + Sync>;

/// The honest claims: the trace's own step hashes.
pub fn honest_claims() -> Claims {
    Arc::new(|trace: &BatchTrace, step: u64| trace.trace.hash(step).unwrap_or_default())
}

/// What a player does.
#[derive(Clone)]
pub struct PlayerConfig {
    /// The rollup (contracts, ledger shape, signing domain).
    pub rollup: RollupConfig,
    /// Dispute every live output in its window that disagrees with the derivation.
    pub challenge: bool,
    /// Answer the challenges of outputs this player proposed, with `claims`.
    pub defend: bool,
    /// The defender's claims.
    pub claims: Claims,
    /// The L1 block the rollup was deployed in (where reading starts).
    pub start_block: u64,
}

impl std::fmt::Debug for PlayerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlayerConfig")
            .field("rollup", &self.rollup.rollup)
            .field("challenge", &self.challenge)
            .field("defend", &self.defend)
            .finish()
    }
}

/// What a [`tick`](Player::tick) did, for logs and tests. `game` is a game id, `batch` the
/// disputed output's batch, `mid` and `step` positions in the batch's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Move {
    /// Challenged the output of a batch.
    Challenged { batch: u64, game: u64 },
    /// Claimed the step hash at the midpoint.
    Bisected { game: u64, mid: u64 },
    /// Agreed or disagreed with the defender's claim.
    Responded { game: u64, agree: bool },
    /// Posted the one-step proof of step `step`.
    Stepped { game: u64, step: u64 },
    /// Ended a game whose other side ran out of time.
    TimedOut { game: u64 },
    /// Ended a game whose output another game removed.
    Voided { game: u64 },
    /// Pulled its credit (bonds won or refunded).
    ClaimedCredit { amount: U256 },
}

/// A dispute-game player on one rollup: its derivation from L1 and its L1 key.
pub struct Player {
    config: PlayerConfig,
    sender: Arc<TxSender>,
    reader: L1Reader,
    derivation: Derivation,
    next_block: u64,
    traces: BTreeMap<u64, Arc<BatchTrace>>,
    /// Batches whose L1 record was read but not derived yet (their deposits come later).
    waiting: Vec<crate::l1::L1Batch>,
    /// Games known to be over (never read again).
    finished: std::collections::BTreeSet<u64>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player").field("config", &self.config).finish()
    }
}

impl Player {
    /// A player that plays with `sender`'s key.
    pub fn new(client: DynL1Client, sender: Arc<TxSender>, config: PlayerConfig) -> Result<Self> {
        let reader = L1Reader::from_config(client, &config.rollup);
        let derivation = Derivation::from_config(&config.rollup)?.with_traces();
        Ok(Self {
            next_block: config.start_block,
            config,
            sender,
            reader,
            derivation,
            traces: BTreeMap::new(),
            waiting: Vec::new(),
            finished: Default::default(),
        })
    }

    /// The player's L1 address.
    pub fn address(&self) -> Address {
        self.sender.address()
    }

    /// The derivation the player plays by.
    pub fn derivation(&self) -> &Derivation {
        &self.derivation
    }

    /// Reads L1 up to its head, then makes every move that is due: challenges, bisections,
    /// responses, steps, timeouts, void games and credit claims. Returns the moves made.
    pub async fn tick(&mut self) -> Result<Vec<Move>> {
        self.follow_l1().await?;
        let mut moves = Vec::new();
        self.play_games(&mut moves).await?;
        if self.config.challenge {
            self.challenge_wrong_outputs(&mut moves).await?;
        }
        let credit: U256 = self.view(Rollup::creditCall { account: self.address() }).await?;
        if !credit.is_zero() {
            self.send(Rollup::claimCreditCall {}, U256::ZERO).await?;
            moves.push(Move::ClaimedCredit { amount: credit });
        }
        for m in &moves {
            tracing::info!(player = %self.address(), ?m, "dispute move");
        }
        Ok(moves)
    }

    /// Derives every batch L1 holds so far.
    async fn follow_l1(&mut self) -> Result<()> {
        let head = self.reader.client().block_number().await?;
        if head < self.next_block {
            return Ok(());
        }
        let range = self.next_block..=head;
        let deposits = self.reader.deposits_in(range.clone()).await?;
        self.derivation.add_deposits(deposits)?;
        self.waiting.extend(self.reader.batches_in(range).await?);
        self.next_block = head + 1;
        while let Some(batch) = self.waiting.first() {
            if batch.new_deposit_count > self.derivation.known_deposits() {
                break;
            }
            let batch = self.waiting.remove(0);
            self.derivation.apply_batch(&batch)?;
        }
        Ok(())
    }

    /// The trace of a derived batch (built once).
    fn trace(&mut self, batch: u64) -> Result<Option<Arc<BatchTrace>>> {
        if let Some(trace) = self.traces.get(&batch) {
            return Ok(Some(trace.clone()));
        }
        let Some(trace) = self.derivation.trace(batch)? else { return Ok(None) };
        let trace = Arc::new(trace);
        self.traces.insert(batch, trace.clone());
        Ok(Some(trace))
    }

    async fn play_games(&mut self, moves: &mut Vec<Move>) -> Result<()> {
        let count: u64 = self.view(Rollup::gameCountCall {}).await?.to();
        let me = self.address();
        for id in 0..count {
            if self.finished.contains(&id) {
                continue;
            }
            let game = self.view(Rollup::gameCall { gameId: U256::from(id) }).await?;
            if game.status != GAME_ACTIVE {
                self.finished.insert(id);
                continue;
            }
            let (challenger, defender) = (game.challenger == me, game.defender == me);
            let plays = challenger || (defender && self.config.defend);
            if !plays {
                continue;
            }
            // A game whose output another game removed is void: its challenger takes the bond
            // back.
            let live = self.output_live(game.batchIndex, game.outputId).await?;
            if !live {
                if challenger {
                    self.send(Rollup::voidGameCall { gameId: U256::from(id) }, U256::ZERO).await?;
                    moves.push(Move::Voided { game: id });
                }
                continue;
            }
            let (challenger_to_move, defender_left, challenger_left) = self.clocks(id).await?;
            let my_turn = (challenger && challenger_to_move) || (defender && !challenger_to_move);
            if !my_turn {
                let out_of_time = if challenger_to_move {
                    challenger_left.is_zero()
                } else {
                    defender_left.is_zero()
                };
                if out_of_time {
                    self.send(Rollup::timeoutCall { gameId: U256::from(id) }, U256::ZERO).await?;
                    moves.push(Move::TimedOut { game: id });
                }
                continue;
            }
            let Some(trace) = self.trace(game.batchIndex)? else {
                tracing::warn!(
                    game = id,
                    batch = game.batchIndex,
                    "game on a batch not derived yet"
                );
                continue;
            };
            let mid = (game.lo + game.hi) / 2;
            if game.hi - game.lo == 1 {
                // The leaf: the step from the agreed state decides. Post it when the agreed
                // state is ours (an honest player's always is).
                if trace.trace.hash(game.lo) == Some(game.loHash) {
                    let proof = trace.step_proof(game.lo)?;
                    self.step(id, &proof).await?;
                    moves.push(Move::Stepped { game: id, step: game.lo });
                }
            } else if challenger && game.claimPending {
                let agree = trace.trace.hash(mid) == Some(game.midHash);
                self.send(Rollup::respondCall { gameId: U256::from(id), agree }, U256::ZERO)
                    .await?;
                moves.push(Move::Responded { game: id, agree });
            } else if defender && !game.claimPending {
                let claim = (self.config.claims)(&trace, mid);
                self.send(
                    Rollup::bisectCall { gameId: U256::from(id), midHash: claim },
                    U256::ZERO,
                )
                .await?;
                moves.push(Move::Bisected { game: id, mid });
            }
        }
        Ok(())
    }

    async fn challenge_wrong_outputs(&mut self, moves: &mut Vec<Move>) -> Result<()> {
        let outputs: u64 = self.view(Rollup::outputCountCall {}).await?.to();
        let finalized: u64 = self.view(Rollup::finalizedCountCall {}).await?.to();
        let window: u64 = self.view(Rollup::challengeWindowCall {}).await?;
        let bond: U256 = self.view(Rollup::challengerBondCall {}).await?;
        let now = ply_l1::client::latest_timestamp(self.reader.client().as_ref()).await?;
        let me = self.address();
        for batch in finalized..outputs {
            let Some(report) = self.derivation.report(batch) else { break };
            let expected = report.roots().output_root();
            let on_l1: B256 =
                self.view(Rollup::outputRootCall { batchIndex: U256::from(batch) }).await?;
            if on_l1 == expected {
                continue;
            }
            let output = self.view(Rollup::outputCall { batchIndex: U256::from(batch) }).await?;
            if now >= output.proposedAt.to::<u64>() + window {
                tracing::error!(batch, "a wrong output's challenge window has closed");
                continue;
            }
            let games =
                self.view(Rollup::outputGamesCall { batchIndex: U256::from(batch) }).await?;
            let mut mine = false;
            for id in games {
                let game = self.view(Rollup::gameCall { gameId: id }).await?;
                mine |= game.challenger == me && game.status == GAME_ACTIVE;
            }
            if mine {
                continue;
            }
            let Some(trace) = self.trace(batch)? else { continue };
            let data = super::BatchData::new(trace.batch.data.to_vec());
            let call = Rollup::challengeCall {
                batchIndex: U256::from(batch),
                prevQueueCount: U256::from(trace.batch.prev_deposit_count),
                newQueueCount: U256::from(trace.batch.new_deposit_count),
                dataRoot: data.root(),
                dataLength: U256::from(trace.batch.data.len()),
            };
            self.send(call, bond).await?;
            let game: u64 = self.view(Rollup::gameCountCall {}).await?.to::<u64>() - 1;
            moves.push(Move::Challenged { batch, game });
        }
        Ok(())
    }

    async fn output_live(&self, batch: u64, output_id: u32) -> Result<bool> {
        let outputs: u64 = self.view(Rollup::outputCountCall {}).await?.to();
        if batch >= outputs {
            return Ok(false);
        }
        let output = self.view(Rollup::outputCall { batchIndex: U256::from(batch) }).await?;
        Ok(output.id == output_id)
    }

    async fn clocks(&self, id: u64) -> Result<(bool, U256, U256)> {
        let clocks = self.view(Rollup::clocksCall { gameId: U256::from(id) }).await?;
        Ok((clocks.challengerToMove, clocks.defenderLeft, clocks.challengerLeft))
    }

    async fn step(&self, id: u64, proof: &StepProof) -> Result<()> {
        // The executor's and the rollup's generated types are the same ABI structs.
        let pre = Rollup::StepState::abi_decode(&proof.pre.abi_encode())
            .map_err(|e| Error::Invalid(format!("step state does not re-encode: {e}")))?;
        let witness = Rollup::StepWitness::abi_decode(&proof.witness.abi_encode())
            .map_err(|e| Error::Invalid(format!("step witness does not re-encode: {e}")))?;
        self.send(Rollup::stepCall { gameId: U256::from(id), pre, witness }, U256::ZERO).await
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return> {
        crate::node::view(self.reader.client(), self.config.rollup.rollup, call).await
    }

    async fn send<C: SolCall>(&self, call: C, value: U256) -> Result<()> {
        self.sender.send_call(self.config.rollup.rollup, call.abi_encode(), value).await?;
        Ok(())
    }
}

/// Runs `player` until the task is aborted: a tick every `poll`. A failed tick is logged and
/// retried (the next tick reads L1 afresh).
pub async fn run_player(mut player: Player, poll: std::time::Duration) -> Result<()> {
    loop {
        if let Err(e) = player.tick().await {
            tracing::warn!(player = %player.address(), error = %e, "dispute player tick failed");
        }
        tokio::time::sleep(poll).await;
    }
}
