//! Quiescent groups: a shard group with nothing to do sends no Raft messages at all.
//!
//! openraft drives both a leader's heartbeats and a follower's election timeout from one
//! per-group ticker. Every group ticking meant a heartbeat per group per peer every 150 ms,
//! so an idle cluster's cost grew with its shard count. Here one task per node decides, once
//! per heartbeat interval, which groups tick at all (TiKV's hibernate regions and
//! CockroachDB's quiescence are the models; see ARCHITECTURE.md):
//!
//! - A leader ticks while it has work: entries not yet on every voter, or an append within
//!   `idle_after`. Past that it stops (no heartbeats); a write needs no tick (replication and
//!   commit messages are sent as entries arrive) and wakes it again.
//! - A follower never times out on its own while its leader is trusted: the leader's node
//!   answers `Peer.Alive` (`liveness.rs`) and names the group among those it leads. When the
//!   leader's node stops answering (or stops naming the group), one surviving voter, chosen by
//!   the group's id so that leaderships spread, stands for election at once (pre-vote first);
//!   the others wait, and only if no leader has appeared after `timers_after` do every
//!   replica's own timers take over, as they do for a group that has never had a leader.
//!
//! Election safety is openraft's and untouched: this only decides when to tick and when to
//! ask for an election, both of which a replica may do at any time.

use super::liveness::{ask_peers, Liveness, PeerState};
use super::metrics::QUIET_GROUPS;
use super::node::{LostLeader, Node};
use crate::config::RaftTiming;
use crate::domain::{GroupId, NodeId};
use crate::replica::Raft;
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The intervals, all from the Raft timing so that a test's faster timing scales them.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often peers are asked (each answer costs the asked node a pass over its groups).
    pub every: Duration,
    /// How often every group is looked at (and at once when a peer goes down).
    pub scan_every: Duration,
    /// A peer silent this long is down.
    pub down_after: Duration,
    /// A leader with nothing to do for this long stops ticking.
    pub idle_after: Duration,
    /// A leader's node that answers without naming the group is trusted this much longer (it
    /// may have won the group since its last answer).
    pub not_leading_grace: Duration,
    /// Between two elections this node asks for in one group.
    pub elect_retry: Duration,
    /// With its leader lost this long and none found, a group's own timers take over.
    pub timers_after: Duration,
}

impl Timing {
    pub fn from_raft(raft: &RaftTiming) -> Timing {
        let ms = Duration::from_millis;
        Timing {
            // A few times a second is enough to see a peer go down within `down_after`.
            every: ms(raft.heartbeat_ms.max(raft.election_min_ms / 4)),
            scan_every: ms(raft.election_min_ms / 2),
            down_after: ms(raft.election_min_ms),
            idle_after: ms(raft.election_max_ms),
            not_leading_grace: ms(raft.election_min_ms),
            elect_retry: ms(raft.election_max_ms),
            timers_after: ms(2 * raft.election_max_ms),
        }
    }
}

/// One group as this node's Raft sees it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub group: GroupId,
    pub me: NodeId,
    pub leader: Option<NodeId>,
    /// The replica's current term.
    pub term: u64,
    /// This node is the leader.
    pub leading: bool,
    pub last_log: Option<u64>,
    /// Leader only: every replica holds the last entry and it is committed.
    pub caught_up: bool,
}

/// What the task remembers of a group between looks.
#[derive(Debug, Clone)]
pub struct Track {
    last_log: Option<u64>,
    /// The last time the group had work (leader), or this node first looked at it.
    active_at: Instant,
    /// Since when the leader has not been trusted (follower).
    lost_at: Option<Instant>,
    elected_at: Option<Instant>,
    /// Whether the group ticks, as last set here (`None`: as it started, ticking).
    ticking: Option<bool>,
}

impl Track {
    pub fn new(now: Instant) -> Track {
        Track { last_log: None, active_at: now, lost_at: None, elected_at: None, ticking: None }
    }
}

/// What to do with a group now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub tick: bool,
    /// Stand for election now.
    pub elect: bool,
}

/// How the other nodes stand, as `liveness` has heard, for one group.
pub struct Peers<P, L> {
    /// How a node stands.
    pub state: P,
    /// Whether an up node said it leads the group.
    pub leads: L,
    /// An up node that says it leads the group, and the term it leads in.
    pub claimant: Option<(NodeId, u64)>,
}

/// Decides for one group. `voters` (the group's voters) is asked only when its leader is lost.
pub fn decide<P, L>(
    seen: &Seen,
    track: &mut Track,
    timing: &Timing,
    now: Instant,
    peers: &Peers<P, L>,
    voters: impl FnOnce() -> Vec<NodeId>,
) -> Action
where
    P: Fn(NodeId) -> PeerState,
    L: Fn(NodeId) -> bool,
{
    let (peer, leads, claimant) = (&peers.state, &peers.leads, peers.claimant);
    let keep = |tick| Action { tick, elect: false };
    if seen.leading {
        track.lost_at = None;
        if seen.last_log != track.last_log || !seen.caught_up {
            track.last_log = seen.last_log;
            track.active_at = now;
        }
        return keep(now.saturating_duration_since(track.active_at) < timing.idle_after);
    }
    track.last_log = seen.last_log;
    let Some(leader) = seen.leader.filter(|l| *l != seen.me) else {
        track.lost_at = None;
        // No leader known here (a candidate, or just restarted): the timers run. Waiting
        // quietly for a leader another node names left a candidate of a newer term stuck
        // for ever once the partition that made it healed (the simulation's liveness check).
        return keep(true);
    };
    let trusted = match peer(leader) {
        // Just started: the timers run until the peers have been heard.
        PeerState::Unknown => {
            track.lost_at = None;
            return keep(true);
        }
        PeerState::Down => false,
        PeerState::Up => leads(leader),
    };
    // Trusted, or another node already says it leads in this replica's term or a newer one
    // (this one will hear from it). A claim of an older term is a deposed leader that went
    // quiet before it heard of the newer term: trusting it left the group without a leader
    // for good (the simulation's liveness check, seed 14).
    if trusted || claimant.is_some_and(|(c, term)| c != leader && term >= seen.term) {
        track.lost_at = None;
        return keep(false);
    }
    let lost_at = *track.lost_at.get_or_insert(now);
    let lost_for = now.saturating_duration_since(lost_at);
    let down = peer(leader) == PeerState::Down;
    if !down && lost_for < timing.not_leading_grace {
        return keep(track.ticking.unwrap_or(true));
    }
    let tick = lost_for >= timing.timers_after;
    let candidates: Vec<NodeId> =
        voters().into_iter().filter(|v| *v != leader && (*v == seen.me || peer(*v) == PeerState::Up)).collect();
    let elect = successor(seen.group, &candidates) == Some(seen.me)
        && track.elected_at.is_none_or(|t| now.saturating_duration_since(t) >= timing.elect_retry);
    if elect {
        track.elected_at = Some(now);
    }
    Action { tick, elect }
}

/// The voter that stands first when a group's leader is lost: spread over the candidates by
/// the group's id, so one node's loss does not move all its leaderships to the same node.
pub fn successor(group: GroupId, candidates: &[NodeId]) -> Option<NodeId> {
    let mut sorted = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.is_empty() {
        return None;
    }
    // A multiplicative mix, so neighbouring ids do not all pick neighbouring nodes.
    let spread = group.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Some(sorted[(spread % sorted.len() as u64) as usize])
}

fn seen(me: NodeId, group: GroupId, raft: &Raft) -> Seen {
    let m = raft.metrics();
    let m = m.borrow_watched();
    let leading = m.state == ServerState::Leader && m.current_leader == Some(me);
    let last_log = m.last_log_index;
    let caught_up = leading
        && m.local_committed.map(|c| c.index) == last_log
        && m.replication.as_ref().is_some_and(|r| r.values().all(|matched| matched.map(|l| l.index) == last_log));
    Seen { group, me, leader: m.current_leader, term: m.current_term, leading, last_log, caught_up }
}

fn voters(raft: &Raft) -> Vec<NodeId> {
    raft.metrics().borrow_watched().membership_config.membership().voter_ids().collect()
}

/// Runs until the node shuts down. Started by `Node::start`.
pub async fn run(node: Arc<Node>) {
    let timing = Timing::from_raft(&node.config.raft);
    let mut liveness = Liveness::new(Instant::now(), timing.down_after);
    let mut tracks: BTreeMap<GroupId, Track> = BTreeMap::new();
    let mut shutdown = node.shutting_down();
    let label = [("node", node.id.to_string())];
    let mut every = tokio::time::interval(timing.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut scanned: Option<Instant> = None;
    let mut down_before = BTreeSet::new();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.wait_for(|down| *down) => return,
        }
        // Answers older than a round are no use: the timeout stays under the interval.
        ask_peers(&node, &mut liveness, timing.every.max(Duration::from_millis(100))).await;
        let now = Instant::now();
        // Every group now and then, and at once when a peer has just gone down.
        let down = liveness.down(now);
        let newly_down = down.difference(&down_before).next().is_some();
        down_before = down;
        if !newly_down && scanned.is_some_and(|t| now.saturating_duration_since(t) < timing.scan_every) {
            continue;
        }
        scanned = Some(now);
        let groups = node.group_rafts();
        tracks.retain(|g, _| groups.binary_search_by_key(g, |(id, _)| *id).is_ok());
        let mut quiet = 0usize;
        for (group, raft) in groups {
            let seen = seen(node.id, group, &raft);
            let track = tracks.entry(group).or_insert_with(|| Track::new(now));
            let peers = Peers {
                state: |p| liveness.state(p, now),
                leads: |p| liveness.leads(p, group, now),
                claimant: liveness.leader_of(group, now),
            };
            let mut action = decide(&seen, track, &timing, now, &peers, || voters(&raft));
            if node.lost_leader == LostLeader::StayQuiet && !seen.leading && seen.leader.is_some() {
                action = Action { tick: false, elect: false };
            }
            if track.ticking != Some(action.tick) {
                raft.runtime_config().tick(action.tick);
                track.ticking = Some(action.tick);
            }
            quiet += usize::from(!action.tick);
            if action.elect {
                tracing::info!(node = node.id, %group, leader = ?seen.leader, "the group's leader is lost; standing for election");
                if let Err(e) = raft.trigger().elect(true).await {
                    tracing::debug!(%group, "election not started: {e}");
                }
            }
        }
        node.set_quiet_groups(quiet);
        metrics::gauge!(QUIET_GROUPS, &label).set(quiet as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing::from_raft(&RaftTiming { heartbeat_ms: 150, election_min_ms: 1_000, election_max_ms: 2_000 })
    }

    /// `decide` for a group of voters 1, 2 and 3.
    fn d(
        seen: &Seen,
        track: &mut Track,
        timing: &Timing,
        now: Instant,
        state: impl Fn(NodeId) -> PeerState,
        leads: impl Fn(NodeId) -> bool,
        claimant: Option<(NodeId, u64)>,
    ) -> Action {
        decide(seen, track, timing, now, &Peers { state, leads, claimant }, || vec![1, 2, 3])
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn follower(group: u64, me: NodeId, leader: Option<NodeId>) -> Seen {
        Seen { group: GroupId(group), me, leader, term: 2, leading: false, last_log: Some(10), caught_up: false }
    }

    fn leader(last_log: u64, caught_up: bool) -> Seen {
        Seen { group: GroupId(7), me: 1, leader: Some(1), term: 2, leading: true, last_log: Some(last_log), caught_up }
    }

    #[test]
    fn a_leader_stops_ticking_once_idle_and_caught_up_and_a_write_wakes_it() {
        let t = timing();
        let t0 = Instant::now();
        let mut track = Track::new(t0);
        let up = |_| PeerState::Up;
        let act = |s: &Seen, tr: &mut Track, at| d(s, tr, &t, at, up, |_| false, None);
        assert!(act(&leader(5, true), &mut track, t0).tick);
        assert!(act(&leader(5, true), &mut track, t0 + ms(1_900)).tick);
        assert!(!act(&leader(5, true), &mut track, t0 + ms(2_000)).tick, "idle for idle_after: quiet");
        assert!(act(&leader(6, true), &mut track, t0 + ms(2_100)).tick, "a new entry wakes it");
        assert!(!act(&leader(6, true), &mut track, t0 + ms(4_100)).tick);
        // A voter behind keeps it ticking, however long nothing is written.
        assert!(act(&leader(6, false), &mut track, t0 + ms(9_000)).tick);
        assert!(act(&leader(6, false), &mut track, t0 + ms(20_000)).tick);
    }

    #[test]
    fn a_follower_is_quiet_while_its_leader_answers_and_leads() {
        let t = timing();
        let t0 = Instant::now();
        let mut track = Track::new(t0);
        let seen = follower(7, 2, Some(1));
        let a = d(&seen, &mut track, &t, t0, |_| PeerState::Up, |p| p == 1, Some((1, 2)));
        assert_eq!(a, Action { tick: false, elect: false });
        // Before the peers have been heard, the timers run as usual.
        let a = d(&seen, &mut track, &t, t0, |_| PeerState::Unknown, |_| false, None);
        assert_eq!(a, Action { tick: true, elect: false });
    }

    #[test]
    fn when_the_leaders_node_goes_down_exactly_one_survivor_stands_at_once() {
        let t = timing();
        let t0 = Instant::now();
        let peer = |p: NodeId| if p == 1 { PeerState::Down } else { PeerState::Up };
        let mut electing = Vec::new();
        for me in [2, 3] {
            let mut track = Track::new(t0);
            let a = d(&follower(7, me, Some(1)), &mut track, &t, t0, peer, |_| false, None);
            assert!(!a.tick, "the timers stay off so the chosen one is not outvoted by a split");
            if a.elect {
                electing.push(me);
                // Not again before elect_retry; again after it, while no leader appears.
                let again = d(&follower(7, me, Some(1)), &mut track, &t, t0 + ms(500), peer, |_| false, None);
                assert!(!again.elect);
                let again = d(&follower(7, me, Some(1)), &mut track, &t, t0 + ms(2_000), peer, |_| false, None);
                assert!(again.elect);
                // Still no leader after timers_after: every replica's timers take over.
                let late = d(&follower(7, me, Some(1)), &mut track, &t, t0 + ms(4_000), peer, |_| false, None);
                assert!(late.tick);
            }
        }
        assert_eq!(electing.len(), 1, "exactly one survivor stands first: {electing:?}");
        assert_eq!(Some(electing[0]), successor(GroupId(7), &[2, 3]));
    }

    #[test]
    fn a_leader_that_answers_without_naming_the_group_is_given_a_grace_first() {
        let t = timing();
        let t0 = Instant::now();
        let me = successor(GroupId(9), &[2, 3]).unwrap();
        let mut track = Track::new(t0);
        let seen = follower(9, me, Some(1));
        let up = |_| PeerState::Up;
        let a = d(&seen, &mut track, &t, t0, up, |_| false, None);
        assert!(!a.elect, "it may have won the group since its last answer");
        let a = d(&seen, &mut track, &t, t0 + ms(999), up, |_| false, None);
        assert!(!a.elect);
        let a = d(&seen, &mut track, &t, t0 + ms(1_000), up, |_| false, None);
        assert!(a.elect, "still not leading after the grace: the group has lost its leader");
        // Named again: trusted again, nothing pending.
        let a = d(&seen, &mut track, &t, t0 + ms(1_100), up, |p| p == 1, Some((1, 2)));
        assert_eq!(a, Action { tick: false, elect: false });
        assert!(track.lost_at.is_none());
    }

    #[test]
    fn a_replica_without_a_leader_ticks_even_when_another_node_claims_the_group() {
        let t = timing();
        let t0 = Instant::now();
        let mut track = Track::new(t0);
        let seen = follower(7, 2, None);
        assert!(d(&seen, &mut track, &t, t0, |_| PeerState::Up, |p| p == 3, Some((3, 2))).tick);
        assert!(d(&seen, &mut track, &t, t0, |_| PeerState::Up, |_| false, None).tick);
    }

    #[test]
    fn a_claim_from_an_older_term_is_not_trusted_when_the_leader_is_lost() {
        let t = timing();
        let t0 = Instant::now();
        // Replica 2 follows 3 in term 2; 3 is down; 1 still says it leads, from term 1 (it
        // went quiet before it heard of term 2).
        let seen = follower(7, 2, Some(3));
        let peer = |p| if p == 3 { PeerState::Down } else { PeerState::Up };
        let leads = |p| p == 1;
        let mut track = Track::new(t0);
        let a = d(&seen, &mut track, &t, t0, peer, leads, Some((1, 1)));
        assert!(track.lost_at.is_some(), "the stale claim must not stand in for a leader");
        let late = d(&seen, &mut track, &t, t0 + ms(4_000), peer, leads, Some((1, 1)));
        assert!(late.tick, "the timers take over: {a:?} then {late:?}");
        // A claim of this term or a newer one is trusted.
        let mut track = Track::new(t0);
        assert_eq!(d(&seen, &mut track, &t, t0, peer, leads, Some((1, 2))), Action { tick: false, elect: false });
    }

    #[test]
    fn successors_spread_over_the_candidates_and_only_candidates_are_chosen() {
        let mut counts = BTreeMap::new();
        for g in 1..=3_000u64 {
            let s = successor(GroupId(g), &[3, 2]).unwrap();
            assert!(s == 2 || s == 3);
            *counts.entry(s).or_insert(0u32) += 1;
        }
        for (node, n) in &counts {
            assert!(*n > 1_200, "node {node} would take {n} of 3000 leaderships");
        }
        assert_eq!(successor(GroupId(1), &[]), None);
    }
}
