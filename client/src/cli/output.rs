//! Where commands print: buffered stdout in either human or JSON form, plus the JSON
//! shapes of the wire types (prost types have no serde).

use std::io::{self, BufWriter, Stdout, Write};

use base64::Engine;
use runnel_client::proto::{Record, Shard, StreamDescription};
use serde_json::{json, Value};

/// Buffered standard output that knows whether to speak JSON.
pub struct Output {
    json: bool,
    writer: BufWriter<Stdout>,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json, writer: BufWriter::new(io::stdout()) }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// One line of human-readable text.
    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        writeln!(self.writer, "{}", text.as_ref())
    }

    /// One JSON document on one line.
    pub fn value(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.writer, value)?;
        writeln!(self.writer)
    }

    /// One record, as `get` and `tail` print it.
    pub fn record(&mut self, shard_id: &str, record: &Record) -> io::Result<()> {
        if self.json {
            self.value(&record_json(shard_id, record))
        } else {
            self.line(format!(
                "{shard_id}\t{}\t{}\t{}",
                record.sequence_number,
                record.partition_key,
                String::from_utf8_lossy(&record.data)
            ))
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

pub fn record_json(shard_id: &str, record: &Record) -> Value {
    json!({
        "shard_id": shard_id,
        "sequence_number": record.sequence_number,
        "partition_key": record.partition_key,
        "approximate_arrival_timestamp": record.approximate_arrival_timestamp,
        "data": base64::engine::general_purpose::STANDARD.encode(&record.data),
    })
}

pub fn shard_json(shard: &Shard) -> Value {
    let range = shard.hash_key_range.as_ref();
    let seq = shard.sequence_number_range.as_ref();
    json!({
        "shard_id": shard.shard_id,
        "parent_shard_id": shard.parent_shard_id,
        "adjacent_parent_shard_id": shard.adjacent_parent_shard_id,
        "hash_key_range": range.map(|r| json!({
            "starting_hash_key": r.starting_hash_key,
            "ending_hash_key": r.ending_hash_key,
        })),
        "sequence_number_range": seq.map(|s| json!({
            "starting_sequence_number": s.starting_sequence_number,
            "ending_sequence_number": s.ending_sequence_number,
        })),
    })
}

pub fn description_json(description: &StreamDescription) -> Value {
    json!({
        "stream_name": description.stream_name,
        "stream_arn": description.stream_arn,
        "stream_status": description.stream_status,
        "stream_mode": description.stream_mode_details.as_ref().map(|m| m.stream_mode.clone()),
        "retention_period_hours": description.retention_period_hours,
        "stream_creation_timestamp": description.stream_creation_timestamp,
        "encryption_type": description.encryption_type,
        "shards": description.shards.iter().map(shard_json).collect::<Vec<_>>(),
    })
}

/// `12.3 MiB`-style sizes for humans.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_humanised() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn record_json_encodes_data_as_base64() {
        let record = Record {
            sequence_number: "1".into(),
            data: b"hi\xff".to_vec(),
            partition_key: "k".into(),
            ..Default::default()
        };
        let value = record_json("shardId-000000000000", &record);
        assert_eq!(value["data"], "aGn/");
        assert_eq!(value["shard_id"], "shardId-000000000000");
    }
}
