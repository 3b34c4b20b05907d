//! Coalescing a shard's concurrent appends into one Raft entry at its leader.
//!
//! One entry per PutRecord meant one log write, one apply, one reply and their wakeups per
//! record. Here each shard group has a task that proposes one entry at a time: when the
//! last is applied it takes every append waiting (up to `COALESCED_RECORDS_MAX` records and
//! `COALESCED_BYTES_MAX` bytes) into the next. Nothing waits on a timer: an append that
//! finds the task idle is proposed at once, so a lone write pays nothing, and appends that
//! arrive while an entry is out share the next one, so load makes entries bigger rather
//! than the queue longer.
//!
//! A coalesced entry is an ordinary `Append` batch of the appends' records in order:
//! applying, reading, snapshots and the format on disk see nothing new. What the shard
//! refuses (a sealed shard, its numbers used up) it refuses for every append of the entry
//! alike, which is what each would have got alone. An append carrying
//! SequenceNumberForOrdering, whose refusal would be its own, is always an entry alone.
//!
//! When this node stops leading the group, the appends queued behind the entry in flight
//! (never proposed) are told `NotLeader` at once, so that the caller follows the new
//! leader instead of waiting for an outcome a deposed leader may not learn for seconds.

use super::metrics::{APPEND_QUEUE_SECONDS, ENTRY_SECONDS};
use super::propose::{ProposeError, Proposed};
use crate::domain::{GroupId, NodeId};
use crate::limits::{COALESCED_BYTES_MAX, COALESCED_RECORDS_MAX, COALESCE_QUEUE_MAX};
use crate::raft::types::{Command, CommandKind};
use crate::replica::GroupReply;
use crate::replica::Raft;
use crate::shard::batch::{BatchError, BatchView};
use metrics::SharedString;
use openraft::async_runtime::WatchReceiver as _;
use openraft::error::{ClientWriteError, RaftError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// An append waiting for an entry.
struct Pending {
    /// An `Append` command.
    command: Command,
    records: usize,
    /// Proposed as an entry of its own.
    alone: bool,
    answer: oneshot::Sender<Result<Proposed, ProposeError>>,
    queued_at: Instant,
}

/// A shard group's append queue at this node. Its task ends when this is dropped (the
/// group stopped here) and the entries it proposed have been answered.
pub struct Coalescer {
    group: GroupId,
    node: NodeId,
    queue: mpsc::Sender<Pending>,
}

impl Coalescer {
    pub fn start(group: GroupId, node: NodeId, raft: Raft) -> Coalescer {
        let (queue, waiting) = mpsc::channel(COALESCE_QUEUE_MAX);
        tokio::spawn(run(group, node, raft, waiting));
        Coalescer { group, node, queue }
    }

    /// Appends the `Append` command `command` of `records` records through the next entry
    /// with room for it; `alone` keeps it out of other appends' entries. Answers as
    /// `propose_local` does (`throttled` left at 0 for the caller).
    pub async fn append(&self, command: Command, records: usize, alone: bool) -> Result<Proposed, ProposeError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending { command, records, alone, answer, queued_at: Instant::now() };
        if self.queue.send(pending).await.is_err() {
            // The task is gone, so the group stopped here; the append never left the queue.
            return Err(ProposeError::NotLeader { group: self.group, node: self.node, leader: None });
        }
        answered.await.unwrap_or_else(|_| {
            Err(ProposeError::Unknown(format!("group {} stopped before answering an append", self.group)))
        })
    }
}

async fn run(group: GroupId, node: NodeId, raft: Raft, mut waiting: mpsc::Receiver<Pending>) {
    // An append taken from the queue that did not fit the entry before.
    let mut held: Option<Pending> = None;
    // Changes only with the vote and the leader, not with every entry.
    let mut leadership = raft.server_metrics();
    let label = SharedString::from_shared(Arc::<str>::from(node.to_string()));
    loop {
        let first = match held.take() {
            Some(p) => p,
            None => match waiting.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut records = first.records;
        let mut bytes = first.command.0.len();
        let mut entry = vec![first];
        // Bounded by the queue's capacity and the entry's size, whichever ends first.
        while !entry[0].alone {
            let Ok(next) = waiting.try_recv() else { break };
            if next.alone
                || records + next.records > COALESCED_RECORDS_MAX
                || bytes + next.command.0.len() > COALESCED_BYTES_MAX
            {
                held = Some(next);
                break;
            }
            records += next.records;
            bytes += next.command.0.len();
            entry.push(next);
        }
        // One entry in flight: what arrives meanwhile gathers for the next. (Proposing
        // from tasks of their own, two at a time, made the simulation's runs of one seed
        // differ; one at a time keeps them identical.)
        let proposing = propose(group, node, &raft, entry, bytes, &label);
        tokio::pin!(proposing);
        loop {
            tokio::select! {
                // Polled in order, so that a seed's runs stay identical.
                biased;
                () = &mut proposing => break,
                changed = leadership.changed() => {
                    if changed.is_err() {
                        // The group is shutting down; the entry's answer still comes.
                        proposing.await;
                        break;
                    }
                    // A deposed leader's entry may wait long for its outcome; the appends
                    // queued behind it were never proposed, so they learn at once.
                    let leader = leadership.borrow_watched().current_leader;
                    if leader != Some(node) {
                        turn_away(&mut waiting, &mut held, ProposeError::NotLeader { group, node, leader });
                    }
                }
            }
        }
    }
}

/// Answers every append waiting (at most a queue's worth) with `refusal`.
fn turn_away(waiting: &mut mpsc::Receiver<Pending>, held: &mut Option<Pending>, refusal: ProposeError) {
    let queued = std::iter::from_fn(|| waiting.try_recv().ok()).take(COALESCE_QUEUE_MAX);
    for p in held.take().into_iter().chain(queued) {
        let _ = p.answer.send(Err(refusal.clone()));
    }
}

/// Proposes `entry`'s appends as one entry and answers each with its own part; records
/// how long they queued and how long the entry took (`label`: this node).
async fn propose(
    group: GroupId,
    node: NodeId,
    raft: &Raft,
    mut entry: Vec<Pending>,
    bytes: usize,
    label: &SharedString,
) {
    let proposed_at = Instant::now();
    let queued = metrics::histogram!(APPEND_QUEUE_SECONDS, "node" => label.clone());
    for p in &entry {
        queued.record(proposed_at.saturating_duration_since(p.queued_at).as_secs_f64());
    }
    let command = match entry.as_mut_slice() {
        // Alone: proposed as it came, without a copy.
        [only] => Ok(std::mem::replace(&mut only.command, Command(Vec::new()))),
        _ => Command::build(CommandKind::Append, bytes, |buf| {
            let parts = entry.iter().map(|p| Command::split(&p.command.0).map(|(_, body)| body));
            let parts: Vec<&[u8]> = parts.collect::<Result<_, _>>().map_err(BatchError)?;
            BatchView::concat_into(&parts, buf)
        }),
    };
    let command = match command {
        Ok(c) => c,
        Err(e) => {
            for p in entry {
                let _ = p.answer.send(Err(ProposeError::BadCommand(e.to_string())));
            }
            return;
        }
    };
    super::propose::renew_quiet_lease(raft).await;
    let written = raft.client_write(command).await;
    match written {
        Ok(reply) => {
            let took = proposed_at.elapsed().as_secs_f64();
            metrics::histogram!(ENTRY_SECONDS, "node" => label.clone()).record(took);
            let log_index = reply.log_id.index;
            let answers = split(GroupReply::decode(&reply.data), entry.iter().map(|p| p.records));
            for (p, reply) in entry.into_iter().zip(answers) {
                let _ = p.answer.send(Ok(Proposed { reply, log_index, throttled: 0 }));
            }
        }
        Err(e) => {
            let failure = match e {
                RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                    ProposeError::NotLeader { group, node, leader: f.leader_id }
                }
                other => ProposeError::Unknown(other.to_string()),
            };
            for p in entry {
                let _ = p.answer.send(Err(failure.clone()));
            }
        }
    }
}

/// Each append's reply to a coalesced entry: its own sequence numbers, or the refusal all
/// of them share.
fn split(reply: GroupReply, counts: impl Iterator<Item = usize>) -> Vec<GroupReply> {
    let counts: Vec<usize> = counts.collect();
    match reply {
        GroupReply::Appended(numbers) if numbers.len() == counts.iter().sum::<usize>() => {
            let mut rest = numbers.as_slice();
            counts
                .iter()
                .map(|count| {
                    let (mine, after) = rest.split_at(*count);
                    rest = after;
                    GroupReply::Appended(mine.to_vec())
                })
                .collect()
        }
        // Every record of an applied entry is numbered: this is never reached.
        GroupReply::Appended(numbers) => {
            let e = format!("an entry of {} records was numbered {}", counts.iter().sum::<usize>(), numbers.len());
            vec![GroupReply::Refused(e); counts.len()]
        }
        shared => vec![shared; counts.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::node::tests::{shard, single_node};
    use crate::cluster::propose::propose_local;
    use crate::domain::SequenceNumber;
    use crate::shard::append::AppendRefused;
    use crate::shard::batch::{AppendBatch, NewRecord};
    use crate::storage::memory::MemoryEngine;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn numbers(from: u64, count: u64) -> Vec<SequenceNumber> {
        (from..from + count).map(|c| SequenceNumber::new(crate::domain::ShardId(0), c)).collect()
    }

    #[test]
    fn each_append_gets_its_own_numbers_or_the_shared_refusal() {
        let parts = split(GroupReply::Appended(numbers(1, 6)), [1, 3, 2].into_iter());
        let expected = [numbers(1, 1), numbers(2, 3), numbers(5, 2)].map(GroupReply::Appended);
        assert_eq!(parts, expected);
        let sealed = GroupReply::AppendRefused(AppendRefused::Sealed);
        assert_eq!(split(sealed.clone(), [2, 1].into_iter()), vec![sealed.clone(), sealed]);
        // Fewer numbers than records is a bug: every append is told, none gets a number.
        let short = split(GroupReply::Appended(numbers(1, 2)), [1, 2].into_iter());
        assert!(short.iter().all(|r| matches!(r, GroupReply::Refused(_))), "{short:?}");
    }

    /// What waits behind a deposed leader's entry, held or queued, is told at once where
    /// the leader is now; nothing is left in the queue.
    #[tokio::test]
    async fn appends_waiting_at_a_deposed_leader_are_turned_away() {
        let (queue, mut waiting) = mpsc::channel(COALESCE_QUEUE_MAX);
        let mut answers = Vec::new();
        let mut pending = || {
            let (answer, answered) = oneshot::channel();
            answers.push(answered);
            Pending { command: Command(vec![1]), records: 1, alone: false, answer, queued_at: Instant::now() }
        };
        let mut held = Some(pending());
        for _ in 0..3 {
            queue.try_send(pending()).unwrap();
        }
        let refusal = ProposeError::NotLeader { group: GroupId(3), node: 1, leader: Some(2) };
        turn_away(&mut waiting, &mut held, refusal.clone());
        assert!(held.is_none());
        assert!(waiting.try_recv().is_err(), "the queue is empty");
        assert_eq!(answers.len(), 4);
        for answered in answers {
            assert_eq!(answered.await.unwrap(), Err(refusal.clone()));
        }
    }

    fn append(i: usize, records: usize, after: Option<SequenceNumber>) -> Command {
        let records = (0..records)
            .map(|r| NewRecord { partition_key: format!("k{i}-{r}"), data: vec![i as u8; 100], after })
            .collect();
        let batch = AppendBatch { arrival_ms: 1, records, seal_with: None };
        crate::replica::GroupCommand::Append(batch).encode().unwrap()
    }

    /// 200 appends at once through one leader: each gets its own consecutive numbers, no
    /// number twice, and they share far fewer entries than 200. An append with
    /// SequenceNumberForOrdering is an entry alone, so its refusal is its own.
    /// On one thread every call queues before the coalescing task runs, so the count of
    /// entries does not depend on timing.
    #[tokio::test]
    async fn concurrent_appends_share_entries_and_keep_their_own_numbers() {
        let node = single_node(Arc::new(MemoryEngine::default())).await;
        let group = node.start_group(&shard(3)).await.unwrap();
        group.raft.initialize(node.cluster_members()).await.unwrap();
        group.raft.wait(None).current_leader(node.id, "leader").await.unwrap();
        let before = group.raft.metrics().borrow_watched().last_log_index.unwrap_or(0);
        let calls: Vec<_> = (0..200)
            .map(|i| {
                let node = node.clone();
                tokio::spawn(async move { propose_local(&node, GroupId(3), append(i, 1 + i % 3, None)).await })
            })
            .collect();
        let mut seen = BTreeSet::new();
        for (i, call) in calls.into_iter().enumerate() {
            let proposed = call.await.unwrap().unwrap();
            let GroupReply::Appended(seqs) = proposed.reply else { panic!("append {i}: {:?}", proposed.reply) };
            assert_eq!(seqs.len(), 1 + i % 3);
            assert!(seqs.windows(2).all(|w| w[1].counter() == w[0].counter() + 1), "consecutive within an append");
            for s in seqs {
                assert!(seen.insert(s.counter()), "number {s} given twice");
            }
        }
        let records: u64 = (0..200).map(|i| 1 + i % 3).sum();
        assert_eq!(seen.len() as u64, records);
        assert_eq!(seen.last().copied(), Some(records), "no number skipped");
        let entries = group.raft.metrics().borrow_watched().last_log_index.unwrap_or(0) - before;
        assert!(entries <= 4, "200 concurrent appends took {entries} entries");

        // A number this shard never issued, next to good appends: only its own is refused.
        let bad = SequenceNumber::new(crate::domain::ShardId(0), 10_000);
        let calls: Vec<_> = (0..20)
            .map(|i| {
                let node = node.clone();
                let after = (i == 7).then_some(bad);
                tokio::spawn(async move { propose_local(&node, GroupId(3), append(i, 1, after)).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let reply = call.await.unwrap().unwrap().reply;
            match i {
                7 => assert_eq!(reply, GroupReply::AppendRefused(AppendRefused::NotIssued(bad))),
                _ => assert!(matches!(reply, GroupReply::Appended(_)), "append {i}: {reply:?}"),
            }
        }
        node.shutdown().await;
    }
}
