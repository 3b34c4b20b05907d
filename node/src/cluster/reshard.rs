//! Carrying out a recorded split or merge, on the metadata leader: seal each parent with an
//! entry in its own log, then record the completion, which opens the children.
//!
//! Every step may be repeated by a later pass or a new leader: sealing a sealed shard
//! answers with the same newest counter, and a completion that no longer matches the
//! reshard under way is refused by the metadata group without changing anything. A crash
//! at any point therefore leaves the stream UPDATING until a leader finishes the job.

use super::node::{Node, ParentEnd};
use super::propose::propose;
use super::read::{read, ReadFrom, ShardRead};
use crate::control::{MetaCommand, StreamMeta};
use crate::domain::{ShardId, META_GROUP};
use crate::replica::{GroupCommand, GroupReply};
use std::sync::Arc;

/// Seals the parents of `stream`'s reshard and records the completion. Returns what went
/// wrong, for the log; the next pass tries again.
pub async fn advance(node: Arc<Node>, stream: StreamMeta) -> Result<(), String> {
    let Some(reshard) = stream.reshard.clone() else { return Ok(()) };
    let mut endings: Vec<(ShardId, u64)> = Vec::with_capacity(reshard.parents.len());
    for parent in &reshard.parents {
        let shard = stream.shard(*parent).ok_or_else(|| format!("no shard {parent} in {}", stream.name))?;
        if node.parent_end == ParentEnd::ReadWithoutSealing {
            let probe =
                ShardRead { group: shard.group, shard: shard.id, from: ReadFrom::Counter(0), limit: 0, bytes_max: 0 };
            let position = read(&node, &shard.replicas, &probe).await.map_err(|e| e.to_string())?;
            endings.push((*parent, position.last_counter));
            continue;
        }
        let proposed = propose(&node, shard.group, &shard.replicas, &GroupCommand::Seal)
            .await
            .map_err(|e| format!("sealing {parent} of {}: {e}", stream.name))?;
        match proposed.reply {
            GroupReply::Sealed { last_counter } => endings.push((*parent, last_counter)),
            other => return Err(format!("sealing {parent} of {}: unexpected reply {other:?}", stream.name)),
        }
    }
    let command = MetaCommand::CompleteReshard {
        name: stream.name.clone(),
        incarnation: stream.incarnation,
        endings,
        now_ms: node.clock.now_ms(),
    };
    let replicas: Vec<_> = node.config.peers.keys().copied().collect();
    let proposed = propose(&node, META_GROUP, &replicas, &GroupCommand::Meta(command))
        .await
        .map_err(|e| format!("completing the reshard of {}: {e}", stream.name))?;
    tracing::info!(stream = %stream.name, parents = ?reshard.parents, reply = ?proposed.reply, "reshard step done");
    Ok(())
}
