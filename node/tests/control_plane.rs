//! The control-plane actions against a real 3-node cluster: tags (by name, by StreamARN and
//! by ResourceARN), stream ARNs with the configured region and account, DescribeLimits and
//! the cluster's shard limit, account settings, resource policies and enhanced monitoring;
//! every error with its Kinesis name; and all of it surviving a metadata leader kill and a
//! restart of every node.

#[macro_use]
mod common;

use common::{create_active, error_name, wait_active, Cluster};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::collections::HashMap;
use std::time::Duration;
use tonic::transport::Channel;

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

fn config(shard_limit: u32) -> String {
    format!("region = \"{REGION}\"\naccount_id = \"{ACCOUNT}\"\nshard_limit = {shard_limit}\n")
}

fn arn(stream: &str) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}")
}

fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn numbered(n: usize, prefix: &str) -> HashMap<String, String> {
    (0..n).map(|i| (format!("{prefix}{i:02}"), format!("v{i}"))).collect()
}

fn add(stream: &str, tags: HashMap<String, String>) -> AddTagsToStreamRequest {
    AddTagsToStreamRequest { stream_name: stream.into(), tags, stream_arn: String::new() }
}

fn remove(stream: &str, keys: &[&str]) -> RemoveTagsFromStreamRequest {
    RemoveTagsFromStreamRequest {
        stream_name: stream.into(),
        tag_keys: keys.iter().map(|k| k.to_string()).collect(),
        stream_arn: String::new(),
    }
}

fn list(stream: &str, start: &str, limit: Option<i32>) -> ListTagsForStreamRequest {
    ListTagsForStreamRequest {
        stream_name: stream.into(),
        exclusive_start_tag_key: start.into(),
        limit,
        stream_arn: String::new(),
    }
}

async fn all_tags(k: &mut KinesisClient<Channel>, stream: &str) -> Vec<(String, String)> {
    let out = k.list_tags_for_stream(list(stream, "", None)).await.expect("list tags").into_inner();
    assert!(!out.has_more_tags);
    out.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect()
}

fn describe(stream: &str) -> DescribeStreamRequest {
    DescribeStreamRequest { stream_name: stream.into(), ..Default::default() }
}

fn monitoring(stream: &str, metrics: &[&str]) -> EnableEnhancedMonitoringRequest {
    EnableEnhancedMonitoringRequest {
        stream_name: stream.into(),
        shard_level_metrics: metrics.iter().map(|m| m.to_string()).collect(),
        stream_arn: String::new(),
    }
}

fn stop_monitoring(stream: &str, metrics: &[&str]) -> DisableEnhancedMonitoringRequest {
    DisableEnhancedMonitoringRequest {
        stream_name: stream.into(),
        shard_level_metrics: metrics.iter().map(|m| m.to_string()).collect(),
        stream_arn: String::new(),
    }
}

fn policy_req(resource: &str, policy: &str) -> PutResourcePolicyRequest {
    PutResourcePolicyRequest { resource_arn: resource.into(), policy: policy.into() }
}

async fn policy(k: &mut KinesisClient<Channel>, resource: &str) -> String {
    let req = GetResourcePolicyRequest { resource_arn: resource.into() };
    k.get_resource_policy(req).await.expect("get policy").into_inner().policy
}

fn commitment(status: &str) -> UpdateAccountSettingsRequest {
    UpdateAccountSettingsRequest {
        minimum_throughput_billing_commitment: Some(MinimumThroughputBillingCommitmentInput { status: status.into() }),
    }
}

async fn limits(k: &mut KinesisClient<Channel>) -> DescribeLimitsResponse {
    k.describe_limits(DescribeLimitsRequest {}).await.expect("describe limits").into_inner()
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kinesis:GetRecords","Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_by_name_stream_arn_and_resource_arn() {
    let cluster = Cluster::start_with_config(3, Some(&config(500))).await;
    let mut k = cluster.kinesis(1).await;

    // CreateStream takes tags; its rules are AddTagsToStream's, and 50 at most.
    let create = |name: &str, tags: HashMap<String, String>| CreateStreamRequest {
        stream_name: name.into(),
        shard_count: Some(1),
        tags,
        ..Default::default()
    };
    k.create_stream(create("tagged", tags(&[("team", "data"), ("env", "")]))).await.expect("create with tags");
    wait_active(&mut k, "tagged").await;
    assert_eq!(all_tags(&mut k, "tagged").await, vec![("env".into(), "".into()), ("team".into(), "data".into())]);
    expect_err!(k.create_stream(create("many", numbered(51, "k"))), "LimitExceededException");
    expect_err!(k.create_stream(create("bad", tags(&[("aws:x", "v")]))), "InvalidArgumentException");
    expect_err!(k.create_stream(create("bad", tags(&[("k".repeat(129).as_str(), "v")]))), "ValidationException");
    expect_err!(k.describe_stream(describe("many")), "ResourceNotFoundException");
    expect_err!(k.describe_stream(describe("bad")), "ResourceNotFoundException");

    // AddTagsToStream: 1 to 10 per call, values replaced, 50 per stream.
    k.add_tags_to_stream(add("tagged", tags(&[("team", "platform")]))).await.expect("overwrite");
    for batch in ["a", "b", "c", "d"] {
        k.add_tags_to_stream(add("tagged", numbered(10, batch))).await.expect("add 10");
    }
    k.add_tags_to_stream(add("tagged", numbered(8, "e"))).await.expect("add 8: 50 in all");
    let status = expect_err!(k.add_tags_to_stream(add("tagged", numbered(1, "f"))), "LimitExceededException");
    assert!(status.message().contains("cannot have more than 50 tags"), "{status:?}");
    expect_err!(k.add_tags_to_stream(add("tagged", numbered(11, "a"))), "InvalidArgumentException");
    expect_err!(k.add_tags_to_stream(add("tagged", HashMap::new())), "ValidationException");
    expect_err!(k.add_tags_to_stream(add("tagged", tags(&[("", "v")]))), "ValidationException");
    expect_err!(k.add_tags_to_stream(add("tagged", tags(&[("k", "v".repeat(257).as_str())]))), "ValidationException");
    let status = expect_err!(k.add_tags_to_stream(add("tagged", tags(&[("a%b", "v")]))), "InvalidArgumentException");
    assert!(status.message().contains("invalid characters"), "{status:?}");
    expect_err!(k.add_tags_to_stream(add("tagged", tags(&[("k", "v*")]))), "InvalidArgumentException");
    expect_err!(k.add_tags_to_stream(add("tagged", tags(&[("aws:k", "v")]))), "InvalidArgumentException");
    expect_err!(k.add_tags_to_stream(add("missing", tags(&[("k", "v")]))), "ResourceNotFoundException");
    let before = all_tags(&mut k, "tagged").await;
    assert_eq!(before.len(), 50);
    assert!(before.contains(&("team".into(), "platform".into())));

    // ListTagsForStream pages in key order.
    let page = k.list_tags_for_stream(list("tagged", "", Some(20))).await.unwrap().into_inner();
    assert_eq!(page.tags.len(), 20);
    assert!(page.has_more_tags);
    let mut listed: Vec<String> = page.tags.iter().map(|t| t.key.clone()).collect();
    let mut start = listed.last().cloned().unwrap();
    loop {
        let page = k.list_tags_for_stream(list("tagged", &start, Some(20))).await.unwrap().into_inner();
        listed.extend(page.tags.iter().map(|t| t.key.clone()));
        if !page.has_more_tags {
            assert!(page.tags.len() <= 20);
            break;
        }
        start = listed.last().cloned().unwrap();
    }
    assert_eq!(listed, before.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    let after_last = k.list_tags_for_stream(list("tagged", "zzz", None)).await.unwrap().into_inner();
    assert!(after_last.tags.is_empty() && !after_last.has_more_tags);
    expect_err!(k.list_tags_for_stream(list("tagged", "", Some(0))), "ValidationException");
    expect_err!(k.list_tags_for_stream(list("tagged", "", Some(51))), "ValidationException");
    expect_err!(k.list_tags_for_stream(list("tagged", &"k".repeat(129), None)), "ValidationException");
    expect_err!(k.list_tags_for_stream(list("missing", "", None)), "ResourceNotFoundException");

    // RemoveTagsFromStream: 1 to 50 keys; absent keys are ignored.
    k.remove_tags_from_stream(remove("tagged", &["a00", "a01", "nope"])).await.expect("remove");
    assert_eq!(all_tags(&mut k, "tagged").await.len(), 48);
    expect_err!(k.remove_tags_from_stream(remove("tagged", &[])), "ValidationException");
    let keys: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
    let too_many: Vec<&str> = keys.iter().map(String::as_str).collect();
    expect_err!(k.remove_tags_from_stream(remove("tagged", &too_many)), "ValidationException");
    expect_err!(k.remove_tags_from_stream(remove("tagged", &["a%"])), "InvalidArgumentException");
    expect_err!(k.remove_tags_from_stream(remove("missing", &["k"])), "ResourceNotFoundException");

    // StreamARN beside StreamName: this cluster's region and account.
    let by_arn = ListTagsForStreamRequest { stream_arn: arn("tagged"), ..list("", "", Some(1)) };
    assert!(k.list_tags_for_stream(by_arn).await.expect("by ARN").into_inner().has_more_tags);
    let both = ListTagsForStreamRequest { stream_arn: arn("tagged"), ..list("tagged", "", Some(1)) };
    k.list_tags_for_stream(both).await.expect("name and ARN agree");
    let disagree = ListTagsForStreamRequest { stream_arn: arn("tagged"), ..list("other", "", None) };
    expect_err!(k.list_tags_for_stream(disagree), "InvalidArgumentException");
    let other_region = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/tagged");
    let wrong_region = ListTagsForStreamRequest { stream_arn: other_region.clone(), ..list("", "", None) };
    expect_err!(k.list_tags_for_stream(wrong_region), "ResourceNotFoundException");
    let other_account = format!("arn:aws:kinesis:{REGION}:999999999999:stream/tagged");
    let wrong_account = ListTagsForStreamRequest { stream_arn: other_account.clone(), ..list("", "", None) };
    expect_err!(k.list_tags_for_stream(wrong_account), "AccessDeniedException");
    let malformed = ListTagsForStreamRequest { stream_arn: "arn:aws:sqs:x".into(), ..list("", "", None) };
    expect_err!(k.list_tags_for_stream(malformed), "ValidationException");
    let add_by_arn = AddTagsToStreamRequest { stream_arn: arn("tagged"), ..add("", tags(&[("via", "arn")])) };
    k.add_tags_to_stream(add_by_arn).await.expect("add by ARN");

    // DescribeStream, DescribeStreamSummary and ListStreams show the ARN; DescribeStream
    // takes it too.
    let d = k.describe_stream(describe("tagged")).await.unwrap().into_inner().stream_description.unwrap();
    assert_eq!(d.stream_arn, arn("tagged"));
    let by_arn = DescribeStreamRequest { stream_arn: arn("tagged"), ..Default::default() };
    let d = k.describe_stream(by_arn).await.expect("describe by ARN").into_inner().stream_description.unwrap();
    assert_eq!(d.stream_name, "tagged");
    let req = DescribeStreamSummaryRequest { stream_name: "tagged".into(), stream_arn: String::new() };
    let s = k.describe_stream_summary(req).await.unwrap().into_inner().stream_description_summary.unwrap();
    assert_eq!(s.stream_arn, arn("tagged"));
    let listed = k.list_streams(ListStreamsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.stream_summaries.iter().map(|s| s.stream_arn.clone()).collect::<Vec<_>>(), vec![arn("tagged")]);

    // TagResource, UntagResource, ListTagsForResource by ResourceARN.
    create_active(&mut k, "res", 1).await;
    let tag = |resource: &str, tags| TagResourceRequest { tags, resource_arn: resource.into() };
    let untag = |resource: &str, keys: &[&str]| UntagResourceRequest {
        tag_keys: keys.iter().map(|k| k.to_string()).collect(),
        resource_arn: resource.into(),
    };
    let listing = |resource: &str| ListTagsForResourceRequest { resource_arn: resource.into() };
    // TagResource has no 10-per-call bound, only the 50 per stream.
    k.tag_resource(tag(&arn("res"), numbered(30, "r"))).await.expect("tag resource");
    k.untag_resource(untag(&arn("res"), &["r00", "r29"])).await.expect("untag resource");
    let listed = k.list_tags_for_resource(listing(&arn("res"))).await.unwrap().into_inner().tags;
    assert_eq!(listed.len(), 28);
    assert_eq!(listed.first().map(|t| (t.key.as_str(), t.value.as_deref())), Some(("r01", Some("v1"))));
    assert_eq!(all_tags(&mut k, "res").await.len(), 28, "the same tags by name");
    expect_err!(k.tag_resource(tag(&arn("res"), numbered(23, "s"))), "LimitExceededException");
    expect_err!(k.tag_resource(tag(&arn("res"), tags(&[("aws:k", "v")]))), "InvalidArgumentException");
    expect_err!(k.tag_resource(tag(&arn("missing"), tags(&[("k", "v")]))), "ResourceNotFoundException");
    expect_err!(k.tag_resource(tag("", tags(&[("k", "v")]))), "ValidationException");
    expect_err!(k.tag_resource(tag(&other_account, tags(&[("k", "v")]))), "AccessDeniedException");
    expect_err!(k.untag_resource(untag(&arn("res"), &[])), "ValidationException");
    expect_err!(k.untag_resource(untag(&other_region, &["k"])), "ResourceNotFoundException");
    expect_err!(k.list_tags_for_resource(listing("not an arn")), "ValidationException");
    expect_err!(
        k.list_tags_for_resource(listing(&format!("{}/consumer/c:1", arn("res")))),
        "ResourceNotFoundException"
    );
    assert_eq!(all_tags(&mut k, "res").await.len(), 28, "refused calls changed nothing");

    // A deleting stream takes no tags; once gone, its tags went with it.
    k.delete_stream(DeleteStreamRequest { stream_name: "res".into(), ..Default::default() }).await.unwrap();
    expect_err!(k.tag_resource(tag(&arn("res"), tags(&[("k", "v")]))), "ResourceNotFoundException");
    common::eventually("the deleted stream is gone", Duration::from_secs(30), Duration::from_millis(100), || {
        let mut k = k.clone();
        async move {
            let listed = k.list_tags_for_resource(listing(&arn("res"))).await;
            listed.err().filter(|s| error_name(s) == "ResourceNotFoundException")
        }
    })
    .await;
    let _ = cluster;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shard_limit_bounds_the_whole_cluster_and_account_settings_keep_their_dates() {
    let cluster = Cluster::start_with_config(3, Some(&config(10))).await;
    let mut k = cluster.kinesis(0).await;

    let initial = limits(&mut k).await;
    assert_eq!(
        (
            initial.shard_limit,
            initial.open_shard_count,
            initial.on_demand_stream_count,
            initial.on_demand_stream_count_limit
        ),
        (10, 0, 0, 50)
    );
    create_active(&mut k, "a", 4).await;
    let on_demand = CreateStreamRequest {
        stream_name: "od".into(),
        stream_mode_details: Some(StreamModeDetails { stream_mode: "ON_DEMAND".into() }),
        ..Default::default()
    };
    k.create_stream(on_demand).await.expect("on-demand stream of 4 shards");
    wait_active(&mut k, "od").await;
    let create = |name: &str, n: i32| CreateStreamRequest {
        stream_name: name.into(),
        shard_count: Some(n),
        ..Default::default()
    };
    let status = expect_err!(k.create_stream(create("b", 3)), "LimitExceededException");
    assert!(status.message().contains("shard limit of 10"), "{status:?}");
    expect_err!(k.describe_stream(describe("b")), "ResourceNotFoundException");
    create_active(&mut k, "b", 2).await;
    let full = limits(&mut k).await;
    assert_eq!((full.open_shard_count, full.on_demand_stream_count), (10, 1));

    // Reshards that add shards are refused at the limit; merges free them.
    let shards = |stream: &str| ListShardsRequest { stream_name: stream.into(), ..Default::default() };
    let a = k.list_shards(shards("a")).await.unwrap().into_inner().shards;
    let split = SplitShardRequest {
        stream_name: "a".into(),
        shard_to_split: a[0].shard_id.clone(),
        new_starting_hash_key: "1000".into(),
        stream_arn: String::new(),
    };
    expect_err!(k.split_shard(split.clone()), "LimitExceededException");
    let scale = UpdateShardCountRequest {
        stream_name: "b".into(),
        target_shard_count: 3,
        scaling_type: "UNIFORM_SCALING".into(),
        stream_arn: String::new(),
    };
    expect_err!(k.update_shard_count(scale.clone()), "LimitExceededException");
    let merge = MergeShardsRequest {
        stream_name: "a".into(),
        shard_to_merge: a[2].shard_id.clone(),
        adjacent_shard_to_merge: a[3].shard_id.clone(),
        stream_arn: String::new(),
    };
    k.merge_shards(merge).await.expect("merge frees a shard");
    wait_active(&mut k, "a").await;
    assert_eq!(limits(&mut k).await.open_shard_count, 9);
    let by_arn = UpdateShardCountRequest { stream_name: String::new(), stream_arn: arn("b"), ..scale };
    let scaled = k.update_shard_count(by_arn).await.expect("scale within the limit").into_inner();
    assert_eq!(
        (scaled.stream_arn.as_str(), scaled.current_shard_count, scaled.target_shard_count),
        (arn("b").as_str(), 2, 3)
    );
    wait_active(&mut k, "b").await;
    assert_eq!(limits(&mut k).await.open_shard_count, 10);
    expect_err!(k.split_shard(split), "LimitExceededException");
    // Deleting a stream frees its shards.
    k.delete_stream(DeleteStreamRequest { stream_name: "od".into(), ..Default::default() }).await.unwrap();
    let after = limits(&mut k).await;
    assert_eq!((after.open_shard_count, after.on_demand_stream_count), (6, 0));

    // Account settings: the commitment and its dates.
    let settings = |k: &mut KinesisClient<Channel>| {
        let mut k = k.clone();
        async move {
            k.describe_account_settings(DescribeAccountSettingsRequest {})
                .await
                .expect("describe account settings")
                .into_inner()
                .minimum_throughput_billing_commitment
                .expect("a commitment status")
        }
    };
    let off = settings(&mut k).await;
    assert_eq!((off.status.as_str(), off.started_at, off.ended_at), ("DISABLED", None, None));
    let on = k.update_account_settings(commitment("ENABLED")).await.expect("enable").into_inner();
    let on = on.minimum_throughput_billing_commitment.expect("settings after");
    assert_eq!(on.status, "ENABLED");
    let started = on.started_at.expect("started");
    assert_eq!(on.earliest_allowed_end_at, Some(started + 24 * 60 * 60 * 1000));
    assert_eq!(settings(&mut k).await, on, "the update is what DescribeAccountSettings shows");
    let ending = k.update_account_settings(commitment("DISABLED")).await.expect("disable").into_inner();
    let ending = ending.minimum_throughput_billing_commitment.expect("settings after");
    assert_eq!(ending.status, "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
    assert_eq!(ending.ended_at, on.earliest_allowed_end_at, "a commitment ends no sooner than allowed");
    expect_err!(k.update_account_settings(commitment("MAYBE")), "ValidationException");
    expect_err!(
        k.update_account_settings(UpdateAccountSettingsRequest { minimum_throughput_billing_commitment: None }),
        "ValidationException"
    );
    assert_eq!(settings(&mut k).await, ending);
    let _ = cluster;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_policies_and_enhanced_monitoring() {
    let cluster = Cluster::start_with_config(3, Some(&config(500))).await;
    let mut k = cluster.kinesis(2).await;
    create_active(&mut k, "p", 1).await;

    // Data actions take the StreamARN too, and check it the same way.
    let put = |stream_arn: String| PutRecordRequest {
        data: b"x".to_vec(),
        partition_key: "k".into(),
        stream_arn,
        ..Default::default()
    };
    let put_by_arn = k.put_record(put(arn("p"))).await.expect("put by ARN").into_inner();
    assert_eq!(put_by_arn.shard_id, "shardId-000000000000");
    expect_err!(k.put_record(put(format!("arn:aws:kinesis:{REGION}:999999999999:stream/p"))), "AccessDeniedException");
    expect_err!(
        k.put_record(put(format!("arn:aws:kinesis:ap-south-1:{ACCOUNT}:stream/p"))),
        "ResourceNotFoundException"
    );
    let iterator = GetShardIteratorRequest {
        shard_id: put_by_arn.shard_id.clone(),
        shard_iterator_type: "TRIM_HORIZON".into(),
        stream_arn: arn("p"),
        ..Default::default()
    };
    k.get_shard_iterator(iterator).await.expect("iterator by ARN");

    // Policies: a JSON object of at most 20 KiB, per stream ARN.
    assert_eq!(policy(&mut k, &arn("p")).await, "{}", "no policy yet");
    let status = expect_err!(
        k.delete_resource_policy(DeleteResourcePolicyRequest { resource_arn: arn("p") }),
        "ResourceNotFoundException"
    );
    assert!(status.message().contains("No resource policy found"), "{status:?}");
    k.put_resource_policy(policy_req(&arn("p"), POLICY)).await.expect("put policy");
    assert_eq!(policy(&mut k, &arn("p")).await, POLICY);
    let replaced = r#"{"Version":"2012-10-17","Statement":[]}"#;
    k.put_resource_policy(policy_req(&arn("p"), replaced)).await.expect("replace policy");
    assert_eq!(policy(&mut k, &arn("p")).await, replaced);
    expect_err!(k.put_resource_policy(policy_req(&arn("p"), "{not json")), "InvalidArgumentException");
    expect_err!(k.put_resource_policy(policy_req(&arn("p"), "\"a string\"")), "InvalidArgumentException");
    expect_err!(k.put_resource_policy(policy_req(&arn("p"), "")), "ValidationException");
    let big = format!("{{\"Sid\":\"{}\"}}", "x".repeat(20 * 1024));
    expect_err!(k.put_resource_policy(policy_req(&arn("p"), &big)), "LimitExceededException");
    let just_fits = format!("{{\"Sid\":\"{}\"}}", "x".repeat(20 * 1024 - 10));
    k.put_resource_policy(policy_req(&arn("p"), &just_fits)).await.expect("20 KiB fits");
    expect_err!(k.put_resource_policy(policy_req(&arn("missing"), POLICY)), "ResourceNotFoundException");
    expect_err!(k.put_resource_policy(policy_req("arn:aws:kinesis:x", POLICY)), "ValidationException");
    let foreign = format!("arn:aws:kinesis:{REGION}:999999999999:stream/p");
    expect_err!(k.put_resource_policy(policy_req(&foreign, POLICY)), "AccessDeniedException");
    expect_err!(
        k.get_resource_policy(GetResourcePolicyRequest { resource_arn: arn("missing") }),
        "ResourceNotFoundException"
    );
    assert_eq!(policy(&mut k, &arn("p")).await, just_fits, "refused puts changed nothing");
    k.delete_resource_policy(DeleteResourcePolicyRequest { resource_arn: arn("p") }).await.expect("delete");
    assert_eq!(policy(&mut k, &arn("p")).await, "{}");

    // Enhanced monitoring: Current and Desired, shown by DescribeStream(Summary).
    let on = k.enable_enhanced_monitoring(monitoring("p", &["IncomingBytes", "OutgoingRecords"])).await.unwrap();
    let on = on.into_inner();
    assert_eq!((on.stream_name.as_str(), on.stream_arn.as_str()), ("p", arn("p").as_str()));
    assert!(on.current_shard_level_metrics.is_empty());
    assert_eq!(on.desired_shard_level_metrics, vec!["IncomingBytes", "OutgoingRecords"]);
    let all = k.enable_enhanced_monitoring(monitoring("p", &["ALL"])).await.unwrap().into_inner();
    assert_eq!(all.current_shard_level_metrics, on.desired_shard_level_metrics);
    assert_eq!(all.desired_shard_level_metrics.len(), 7);
    let by_arn = DisableEnhancedMonitoringRequest { stream_arn: arn("p"), ..stop_monitoring("", &["IncomingBytes"]) };
    let off = k.disable_enhanced_monitoring(by_arn).await.expect("disable by ARN").into_inner();
    assert_eq!(off.desired_shard_level_metrics.len(), 6);
    assert!(!off.desired_shard_level_metrics.contains(&"IncomingBytes".to_string()));
    let d = k.describe_stream(describe("p")).await.unwrap().into_inner().stream_description.unwrap();
    assert_eq!(d.enhanced_monitoring[0].shard_level_metrics, off.desired_shard_level_metrics);
    let req = DescribeStreamSummaryRequest { stream_name: "p".into(), stream_arn: String::new() };
    let s = k.describe_stream_summary(req).await.unwrap().into_inner().stream_description_summary.unwrap();
    assert_eq!(s.enhanced_monitoring[0].shard_level_metrics, off.desired_shard_level_metrics);
    expect_err!(k.enable_enhanced_monitoring(monitoring("p", &[])), "ValidationException");
    expect_err!(k.enable_enhanced_monitoring(monitoring("p", &["IncomingBytes"; 8])), "ValidationException");
    let status = expect_err!(k.enable_enhanced_monitoring(monitoring("p", &["Bytes"])), "ValidationException");
    assert!(status.message().contains("enum value set"), "{status:?}");
    expect_err!(k.disable_enhanced_monitoring(stop_monitoring("p", &["nope"])), "ValidationException");
    expect_err!(k.enable_enhanced_monitoring(monitoring("missing", &["ALL"])), "ResourceNotFoundException");
    // A stream that is not ACTIVE: just created, its shards have no leader yet.
    let create = CreateStreamRequest { stream_name: "young".into(), shard_count: Some(1), ..Default::default() };
    k.create_stream(create).await.unwrap();
    expect_err!(k.enable_enhanced_monitoring(monitoring("young", &["ALL"])), "ResourceInUseException");
    wait_active(&mut k, "young").await;
    let young = k.enable_enhanced_monitoring(monitoring("young", &["ALL"])).await.unwrap().into_inner();
    assert!(young.current_shard_level_metrics.is_empty(), "the refused call changed nothing");
    let _ = cluster;
}

/// What every node must report after the failures.
async fn check_attributes(cluster: &Cluster, i: usize) {
    let mut k = cluster.kinesis(i).await;
    // The account settings were written last: once a node shows them, it has the rest.
    common::eventually(
        &format!("node {} answers with the account settings", i + 1),
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let mut k = k.clone();
            async move {
                let s = k.describe_account_settings(DescribeAccountSettingsRequest {}).await.ok()?.into_inner();
                (s.minimum_throughput_billing_commitment?.status == "ENABLED").then_some(())
            }
        },
    )
    .await;
    assert_eq!(
        all_tags(&mut k, "kept").await,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())],
        "node {}",
        i + 1
    );
    assert_eq!(policy(&mut k, &arn("kept")).await, POLICY, "node {}", i + 1);
    let d = k.describe_stream(describe("kept")).await.unwrap().into_inner().stream_description.unwrap();
    assert_eq!(d.stream_arn, arn("kept"));
    assert_eq!(d.enhanced_monitoring[0].shard_level_metrics, vec!["IncomingBytes", "IteratorAgeMilliseconds"]);
    assert_eq!(limits(&mut k).await.shard_limit, 7, "node {}", i + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_survive_a_metadata_leader_kill_and_a_full_restart() {
    let mut cluster = Cluster::start_with_config(3, Some(&config(7))).await;
    let leader = cluster.wait_for_leader(0, Duration::from_secs(30)).await;
    let via = (leader + 1) % 3;
    let mut k = cluster.kinesis(via).await;
    create_active(&mut k, "kept", 2).await;
    k.add_tags_to_stream(add("kept", tags(&[("a", "1"), ("b", "2"), ("c", "3")]))).await.unwrap();
    k.remove_tags_from_stream(remove("kept", &["c"])).await.unwrap();
    k.put_resource_policy(policy_req(&arn("kept"), POLICY)).await.unwrap();
    k.enable_enhanced_monitoring(monitoring("kept", &["IteratorAgeMilliseconds", "IncomingBytes"])).await.unwrap();
    k.update_account_settings(commitment("ENABLED")).await.unwrap();

    cluster.kill(leader);
    let new_leader = cluster.wait_for_leader(0, Duration::from_secs(60)).await;
    assert_ne!(new_leader, leader);
    for i in (0..3).filter(|&i| i != leader) {
        check_attributes(&cluster, i).await;
    }
    // The new leader takes attribute writes; the restarted node catches up on them.
    let mut k = cluster.kinesis(new_leader).await;
    k.add_tags_to_stream(add("kept", tags(&[("c", "3")]))).await.unwrap();
    k.remove_tags_from_stream(remove("kept", &["c"])).await.unwrap();
    cluster.start_node(leader);
    cluster.wait_caught_up(Duration::from_secs(60)).await;
    check_attributes(&cluster, leader).await;

    // Every node restarts from what it persisted.
    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_for_meta_leader(Duration::from_secs(60)).await;
    for i in 0..3 {
        check_attributes(&cluster, i).await;
    }
}
