//! Enhanced fan-out consumers against real nodes: RegisterStreamConsumer (CREATING, then
//! ACTIVE; 20 per stream; names unique), DescribeStreamConsumer by ARN, by StreamARN and
//! name or by all three, ListStreamConsumers' pages, DeregisterStreamConsumer (DELETING,
//! then gone; the name free again under a new ARN), ConsumerCount, DeleteStream held back by
//! consumers unless EnforceConsumerDeletion; every error with its Kinesis name; and all of
//! it through a metadata leader kill.

#[macro_use]
mod common;

use common::{create_active, error_name, Cluster};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::transport::Channel;

/// The default region and account of a node.
const ARN_PREFIX: &str = "arn:aws:kinesis:us-east-1:000000000000";

fn stream_arn(stream: &str) -> String {
    format!("{ARN_PREFIX}:stream/{stream}")
}

fn register(stream: &str, name: &str) -> RegisterStreamConsumerRequest {
    RegisterStreamConsumerRequest { stream_arn: stream_arn(stream), consumer_name: name.into(), tags: HashMap::new() }
}

fn by_arn(arn: &str) -> DescribeStreamConsumerRequest {
    DescribeStreamConsumerRequest { consumer_arn: arn.into(), ..Default::default() }
}

fn by_name(stream: &str, name: &str) -> DescribeStreamConsumerRequest {
    DescribeStreamConsumerRequest { stream_arn: stream_arn(stream), consumer_name: name.into(), ..Default::default() }
}

fn deregister(req: DescribeStreamConsumerRequest) -> DeregisterStreamConsumerRequest {
    DeregisterStreamConsumerRequest {
        stream_arn: req.stream_arn,
        consumer_name: req.consumer_name,
        consumer_arn: req.consumer_arn,
    }
}

fn list(stream: &str, next_token: &str, max_results: Option<i32>) -> ListStreamConsumersRequest {
    ListStreamConsumersRequest {
        stream_arn: stream_arn(stream),
        next_token: next_token.into(),
        max_results,
        stream_creation_timestamp: None,
    }
}

async fn describe(k: &mut KinesisClient<Channel>, req: DescribeStreamConsumerRequest) -> ConsumerDescription {
    let reply = k.describe_stream_consumer(req.clone()).await;
    reply.unwrap_or_else(|e| panic!("describe {req:?}: {e:?}")).into_inner().consumer_description.expect("description")
}

/// Polls DescribeStreamConsumer by ARN until the consumer has `status`.
async fn wait_status(k: &KinesisClient<Channel>, arn: &str, status: &str) {
    common::eventually(&format!("{arn} {status}"), Duration::from_secs(20), Duration::from_millis(100), || {
        let mut k = k.clone();
        async move {
            let d = k.describe_stream_consumer(by_arn(arn)).await.ok()?.into_inner().consumer_description?;
            (d.consumer_status == status).then_some(())
        }
    })
    .await
}

/// Every consumer of `stream`, following NextToken with pages of `max_results`; and the
/// number of pages.
async fn list_all(k: &mut KinesisClient<Channel>, stream: &str, max_results: Option<i32>) -> (Vec<Consumer>, usize) {
    let (mut consumers, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = k.list_stream_consumers(list(stream, &token, max_results)).await.expect("list").into_inner();
        pages += 1;
        consumers.extend(page.consumers);
        match page.next_token {
            Some(next) => token = next,
            None => return (consumers, pages),
        }
    }
}

async fn summary(k: &mut KinesisClient<Channel>, stream: &str) -> StreamDescriptionSummary {
    let req = DescribeStreamSummaryRequest { stream_name: stream.into(), stream_arn: String::new() };
    k.describe_stream_summary(req).await.expect("summary").into_inner().stream_description_summary.expect("summary")
}

fn delete(stream: &str, enforce_consumer_deletion: bool) -> DeleteStreamRequest {
    DeleteStreamRequest { stream_name: stream.into(), enforce_consumer_deletion, stream_arn: String::new() }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_register_page_deregister_and_outlive_a_metadata_leader() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(0, Duration::from_secs(30)).await;
    let via = (leader + 1) % 3;
    let mut k = cluster.kinesis(via).await;
    let mut at_leader = cluster.kinesis(leader).await;
    create_active(&mut k, "s", 1).await;
    create_active(&mut k, "p", 1).await;

    // Registered CREATING under an ARN carrying the creation second, ACTIVE soon after.
    let before = now_ms();
    let c0 = k.register_stream_consumer(register("s", "c00")).await.expect("register").into_inner();
    let c0 = c0.consumer.expect("consumer");
    assert_eq!((c0.consumer_name.as_str(), c0.consumer_status.as_str()), ("c00", "CREATING"));
    assert!((before - 2_000..=now_ms() + 2_000).contains(&c0.consumer_creation_timestamp), "{c0:?}");
    let first_arn = format!("{ARN_PREFIX}:stream/s/consumer/c00:{}", c0.consumer_creation_timestamp.div_euclid(1000));
    assert_eq!(c0.consumer_arn, first_arn);
    wait_status(&k, &first_arn, "ACTIVE").await;

    // Described by ARN, by StreamARN and name, and by all three, from any node.
    wait_status(&at_leader, &first_arn, "ACTIVE").await;
    let d = describe(&mut at_leader, by_name("s", "c00")).await;
    assert_eq!(
        (d.consumer_arn.as_str(), d.consumer_status.as_str(), d.stream_arn.as_str()),
        (first_arn.as_str(), "ACTIVE", stream_arn("s").as_str())
    );
    assert_eq!(d.consumer_creation_timestamp, c0.consumer_creation_timestamp);
    let all_three = DescribeStreamConsumerRequest { consumer_arn: first_arn.clone(), ..by_name("s", "c00") };
    assert_eq!(describe(&mut k, all_three).await, d);
    assert_eq!(describe(&mut k, by_arn(&first_arn)).await, d);

    // Names are unique per stream; 20 consumers at most.
    expect_err!(k.register_stream_consumer(register("s", "c00")), "ResourceInUseException");
    for i in 1..20 {
        k.register_stream_consumer(register("s", &format!("c{i:02}"))).await.expect("register up to 20");
    }
    expect_err!(k.register_stream_consumer(register("s", "c20")), "LimitExceededException");
    assert_eq!(summary(&mut k, "s").await.consumer_count, 20);
    // Another stream's consumers are its own: the same name is free there.
    let mut tags = HashMap::new();
    tags.insert("team".to_string(), "payments".to_string());
    let tagged = RegisterStreamConsumerRequest { tags, ..register("p", "c00") };
    let tagged = k.register_stream_consumer(tagged).await.expect("same name, other stream").into_inner();
    let tagged_arn = tagged.consumer.expect("consumer").consumer_arn;
    let listed = k.list_tags_for_resource(ListTagsForResourceRequest { resource_arn: tagged_arn }).await;
    let listed = listed.expect("consumer tags").into_inner().tags;
    assert_eq!(listed, vec![Tag { key: "team".into(), value: Some("payments".into()) }]);

    // Consumers keep their stream unless the deletion is enforced.
    expect_err!(k.delete_stream(delete("s", false)), "ResourceInUseException");
    assert_eq!(summary(&mut k, "s").await.stream_status, "ACTIVE");

    // Pages: MaxResults 2 over 5 consumers, in name order, each once.
    for name in ["p4", "p1", "p3", "p2"] {
        k.register_stream_consumer(register("p", name)).await.expect("register");
    }
    let (pages_of_two, pages) = list_all(&mut k, "p", Some(2)).await;
    let names: Vec<&str> = pages_of_two.iter().map(|c| c.consumer_name.as_str()).collect();
    assert_eq!((names, pages), (vec!["c00", "p1", "p2", "p3", "p4"], 3));
    let (whole, pages) = list_all(&mut k, "p", None).await;
    assert_eq!((whole.len(), pages), (5, 1));
    // A token belongs to its stream and needs no StreamCreationTimestamp.
    let first = k.list_stream_consumers(list("p", "", Some(2))).await.unwrap().into_inner();
    let token = first.next_token.expect("more pages");
    expect_err!(k.list_stream_consumers(list("s", &token, None)), "InvalidArgumentException");
    let created = summary(&mut k, "p").await.stream_creation_timestamp;
    let with_time = ListStreamConsumersRequest { stream_creation_timestamp: Some(created), ..list("p", &token, None) };
    expect_err!(k.list_stream_consumers(with_time), "InvalidArgumentException");
    let at_creation = ListStreamConsumersRequest { stream_creation_timestamp: Some(created), ..list("p", "", None) };
    assert_eq!(k.list_stream_consumers(at_creation).await.expect("same stream").into_inner().consumers.len(), 5);
    let other_time = ListStreamConsumersRequest { stream_creation_timestamp: Some(created - 1), ..list("p", "", None) };
    expect_err!(k.list_stream_consumers(other_time), "ResourceNotFoundException");

    // Deregistered: DELETING at once (and no longer counted), its name still taken.
    k.deregister_stream_consumer(deregister(by_arn(&first_arn))).await.expect("deregister by ARN");
    assert_eq!(describe(&mut k, by_arn(&first_arn)).await.consumer_status, "DELETING");
    assert_eq!(summary(&mut k, "s").await.consumer_count, 19);
    expect_err!(k.register_stream_consumer(register("s", "c00")), "ResourceInUseException");
    at_leader.deregister_stream_consumer(deregister(by_name("s", "c01"))).await.expect("deregister by name");
    assert_eq!(describe(&mut at_leader, by_name("s", "c01")).await.consumer_status, "DELETING");

    // The metadata leader dies while they are DELETING; its successor forgets them.
    cluster.kill(leader);
    let new_leader = cluster.wait_for_leader(0, Duration::from_secs(30)).await;
    assert_ne!(new_leader, leader);
    let mut k = cluster.kinesis(new_leader).await;
    common::eventually("c00 and c01 forgotten", Duration::from_secs(30), Duration::from_millis(250), || {
        let mut k = k.clone();
        let arn = first_arn.clone();
        async move {
            for request in [by_arn(&arn), by_name("s", "c01")] {
                let gone = k.describe_stream_consumer(request).await.err()?;
                (error_name(&gone) == "ResourceNotFoundException").then_some(())?;
            }
            Some(())
        }
    })
    .await;
    // The name is free again, under a new ARN; the old ARN names nothing.
    let again = k.register_stream_consumer(register("s", "c00")).await.expect("register again").into_inner();
    let again_arn = again.consumer.expect("consumer").consumer_arn;
    assert_ne!(again_arn, first_arn);
    wait_status(&k, &again_arn, "ACTIVE").await;
    expect_err!(k.describe_stream_consumer(by_arn(&first_arn)), "ResourceNotFoundException");

    // Every surviving node tells the same story (once it has applied the last writes).
    let expected: BTreeSet<String> =
        std::iter::once("c00".to_string()).chain((2..20).map(|i| format!("c{i:02}"))).collect();
    for i in (0..3).filter(|&i| i != leader) {
        let k = cluster.kinesis(i).await;
        let what = format!("node {} lists the same consumers", i + 1);
        common::eventually(&what, Duration::from_secs(10), Duration::from_millis(100), || {
            let (mut k, expected) = (k.clone(), expected.clone());
            async move {
                let (consumers, _) = list_all(&mut k, "s", None).await;
                let names: BTreeSet<String> = consumers.iter().map(|c| c.consumer_name.clone()).collect();
                (names == expected && consumers.iter().all(|c| c.consumer_status == "ACTIVE")).then_some(())
            }
        })
        .await;
        let mut k = k;
        assert_eq!(summary(&mut k, "s").await.consumer_count, 19, "node {}", i + 1);
        assert_eq!(list_all(&mut k, "p", None).await.0.len(), 5, "node {}", i + 1);
    }

    // Enforced: the stream goes, its consumers with it.
    k.delete_stream(delete("p", true)).await.expect("enforced deletion");
    let d = k.describe_stream_consumer(by_name("p", "p1")).await;
    match d {
        Ok(d) => assert_eq!(d.into_inner().consumer_description.expect("description").consumer_status, "DELETING"),
        Err(status) => assert_eq!(error_name(&status), "ResourceNotFoundException"),
    }
    expect_err!(k.register_stream_consumer(register("p", "late")), "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consumer_request_error_has_its_kinesis_name() {
    let cluster = Cluster::start_with_config(1, Some("replication_factor = 1\n")).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "v", 2).await;
    let registered = k.register_stream_consumer(register("v", "known")).await.expect("register").into_inner();
    let known_arn = registered.consumer.expect("consumer").consumer_arn;

    // RegisterStreamConsumer: both members required, each with its constraints, all at once.
    let status =
        expect_err!(k.register_stream_consumer(RegisterStreamConsumerRequest::default()), "ValidationException");
    assert!(
        status.message().ends_with(
            "2 validation errors detected: \
             Value null at 'consumerName' failed to satisfy constraint: Member must not be null; \
             Value null at 'streamARN' failed to satisfy constraint: Member must not be null"
        ),
        "{status:?}"
    );
    let status = expect_err!(k.register_stream_consumer(register("v", "a b")), "ValidationException");
    assert!(
        status.message().contains(
            "Value 'a b' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        ),
        "{status:?}"
    );
    let status = expect_err!(k.register_stream_consumer(register("v", &"n".repeat(129))), "ValidationException");
    assert!(status.message().contains("Member must have length less than or equal to 128"), "{status:?}");
    // A stream name is no StreamARN.
    let by_stream_name = RegisterStreamConsumerRequest { stream_arn: "v".into(), ..register("v", "c") };
    let status = expect_err!(k.register_stream_consumer(by_stream_name), "ValidationException");
    assert!(status.message().contains("Value 'v' at 'streamARN'"), "{status:?}");
    let elsewhere = RegisterStreamConsumerRequest {
        stream_arn: "arn:aws:kinesis:us-east-1:111111111111:stream/v".into(),
        ..register("v", "c")
    };
    expect_err!(k.register_stream_consumer(elsewhere), "AccessDeniedException");
    expect_err!(k.register_stream_consumer(register("nope", "c")), "ResourceNotFoundException");
    let reserved = RegisterStreamConsumerRequest {
        tags: [("aws:owner".to_string(), "x".to_string())].into(),
        ..register("v", "c")
    };
    expect_err!(k.register_stream_consumer(reserved), "InvalidArgumentException");
    let too_many = RegisterStreamConsumerRequest {
        tags: (0..51).map(|i| (format!("k{i}"), String::new())).collect(),
        ..register("v", "c")
    };
    expect_err!(k.register_stream_consumer(too_many), "LimitExceededException");
    // A stream still CREATING takes no consumers.
    k.create_stream(CreateStreamRequest { stream_name: "young".into(), shard_count: Some(8), ..Default::default() })
        .await
        .expect("create");
    expect_err!(k.register_stream_consumer(register("young", "c")), "ResourceInUseException");

    // DescribeStreamConsumer and DeregisterStreamConsumer: the ARN, or StreamARN and name.
    for request in [
        DescribeStreamConsumerRequest::default(),
        DescribeStreamConsumerRequest { consumer_name: "known".into(), ..Default::default() },
        DescribeStreamConsumerRequest { stream_arn: stream_arn("v"), ..Default::default() },
    ] {
        expect_err!(k.describe_stream_consumer(request.clone()), "InvalidArgumentException");
        expect_err!(k.deregister_stream_consumer(deregister(request)), "InvalidArgumentException");
    }
    // All three must agree.
    let other_name = DescribeStreamConsumerRequest { consumer_arn: known_arn.clone(), ..by_name("v", "other") };
    expect_err!(k.describe_stream_consumer(other_name), "InvalidArgumentException");
    create_active(&mut k, "w", 1).await;
    let other_stream = DescribeStreamConsumerRequest { consumer_arn: known_arn.clone(), ..by_name("w", "known") };
    expect_err!(k.describe_stream_consumer(other_stream.clone()), "InvalidArgumentException");
    expect_err!(k.deregister_stream_consumer(deregister(other_stream)), "InvalidArgumentException");
    let bad_arn = format!("{ARN_PREFIX}:stream/v");
    let status = expect_err!(k.describe_stream_consumer(by_arn(&bad_arn)), "ValidationException");
    assert!(
        status.message().contains(&format!(
            "Value '{bad_arn}' at 'consumerARN' failed to satisfy constraint: Member must satisfy regular expression \
             pattern: ^(arn):aws.*:kinesis:.*:\\d{{12}}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"
        )),
        "{status:?}"
    );
    expect_err!(k.deregister_stream_consumer(deregister(by_arn(&bad_arn))), "ValidationException");
    let long_arn = format!("{ARN_PREFIX}:stream/v/consumer/{}:1", "c".repeat(2_048));
    let status = expect_err!(k.describe_stream_consumer(by_arn(&long_arn)), "ValidationException");
    assert!(status.message().contains("Member must have length less than or equal to 2048"), "{status:?}");
    expect_err!(k.describe_stream_consumer(by_name("v", "a b")), "ValidationException");
    let wrong_second = known_arn.rsplit_once(':').map(|(head, _)| format!("{head}:1")).expect("an epoch");
    expect_err!(k.describe_stream_consumer(by_arn(&wrong_second)), "ResourceNotFoundException");
    expect_err!(k.deregister_stream_consumer(deregister(by_arn(&wrong_second))), "ResourceNotFoundException");
    expect_err!(k.describe_stream_consumer(by_name("v", "unknown")), "ResourceNotFoundException");
    expect_err!(k.describe_stream_consumer(by_name("nope", "known")), "ResourceNotFoundException");
    let foreign = "arn:aws:kinesis:us-east-1:111111111111:stream/v/consumer/known:1";
    expect_err!(k.describe_stream_consumer(by_arn(foreign)), "AccessDeniedException");

    // ListStreamConsumers: StreamARN required, MaxResults 1 to 10,000, tokens of its own.
    let status = expect_err!(
        k.list_stream_consumers(ListStreamConsumersRequest { max_results: Some(0), ..Default::default() }),
        "ValidationException"
    );
    assert!(
        status.message().ends_with(
            "2 validation errors detected: \
             Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value null at 'streamARN' failed to satisfy constraint: Member must not be null"
        ),
        "{status:?}"
    );
    let status = expect_err!(k.list_stream_consumers(list("v", "", Some(10_001))), "ValidationException");
    assert!(status.message().contains("Member must have value less than or equal to 10000"), "{status:?}");
    expect_err!(k.list_stream_consumers(list("v", "not-a-token", None)), "InvalidArgumentException");
    let shards = k
        .list_shards(ListShardsRequest { stream_name: "v".into(), max_results: Some(1), ..Default::default() })
        .await
        .expect("list shards")
        .into_inner();
    let shards_token = shards.next_token.expect("a ListShards token");
    expect_err!(k.list_stream_consumers(list("v", &shards_token, None)), "InvalidArgumentException");
    expect_err!(k.list_stream_consumers(list("nope", "", None)), "ResourceNotFoundException");
    let empty = k.list_stream_consumers(list("w", "", Some(1))).await.expect("no consumers").into_inner();
    assert!(empty.consumers.is_empty() && empty.next_token.is_none(), "{empty:?}");
    let one = k.list_stream_consumers(list("v", "", Some(10_000))).await.expect("listed").into_inner();
    assert_eq!(one.consumers.len(), 1);
    assert_eq!(one.consumers[0].consumer_arn, known_arn);
}
