"""Every other action Runnel serves, through boto3 unchanged, against a running cluster's
AWS endpoint (aws_clients.py covers the data plane, SubscribeToShard and the AWS CLI).
Each call's reply is checked against what the call asked for.

Usage: aws_actions.py ENDPOINT_URL
"""

import json
import os
import sys
import time

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "000000000000"


def client(endpoint):
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    return session.client("kinesis", endpoint_url=endpoint, config=Config(retries={"max_attempts": 5}))


def wait_active(k, name):
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    for _ in range(240):
        summary = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary
        time.sleep(0.5)
    raise AssertionError(f"{name} never became ACTIVE again")


def open_shards(k, name):
    return [s for s in k.list_shards(StreamName=name)["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def main():
    k = client(sys.argv[1])
    name = f"aws-actions-{os.getpid()}"
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    k.create_stream(StreamName=name, ShardCount=2, StreamModeDetails={"StreamMode": "PROVISIONED"})
    wait_active(k, name)

    # DescribeStream's paginator: one shard a page, ExclusiveStartShardId between them.
    pages = list(k.get_paginator("describe_stream").paginate(StreamName=name, PaginationConfig={"PageSize": 1}))
    described = [s["ShardId"] for page in pages for s in page["StreamDescription"]["Shards"]]
    assert described == ["shardId-000000000000", "shardId-000000000001"], described

    # Resharding: a split, a merge of the children, then UpdateShardCount.
    first = open_shards(k, name)[0]
    start, end = int(first["HashKeyRange"]["StartingHashKey"]), int(first["HashKeyRange"]["EndingHashKey"])
    k.split_shard(StreamName=name, ShardToSplit=first["ShardId"], NewStartingHashKey=str((start + end) // 2 + 1))
    wait_active(k, name)
    children = [s for s in open_shards(k, name) if s.get("ParentShardId") == first["ShardId"]]
    assert len(children) == 2, children
    k.merge_shards(StreamARN=arn, ShardToMerge=children[0]["ShardId"], AdjacentShardToMerge=children[1]["ShardId"])
    wait_active(k, name)
    assert len(open_shards(k, name)) == 2
    scaled = k.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (scaled["CurrentShardCount"], scaled["TargetShardCount"]) == (2, 4), scaled
    summary = wait_active(k, name)
    assert summary["OpenShardCount"] == 4, summary

    # Retention.
    k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert wait_active(k, name)["RetentionPeriodHours"] == 48
    k.decrease_stream_retention_period(StreamARN=arn, RetentionPeriodHours=24)
    assert wait_active(k, name)["RetentionPeriodHours"] == 24

    # Tags, by name and by ARN.
    k.add_tags_to_stream(StreamName=name, Tags={"a": "1", "b": "2"})
    k.remove_tags_from_stream(StreamName=name, TagKeys=["a"])
    k.tag_resource(ResourceARN=arn, Tags={"c": "3"})
    k.untag_resource(ResourceARN=arn, TagKeys=["b"])
    assert k.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "c", "Value": "3"}]
    assert k.list_tags_for_stream(StreamARN=arn)["Tags"] == [{"Key": "c", "Value": "3"}]

    # Limits and account settings.
    limits = k.describe_limits()
    assert limits["OpenShardCount"] >= 4 and limits["ShardLimit"] >= limits["OpenShardCount"], limits
    settings = k.describe_account_settings()
    assert "MinimumThroughputBillingCommitment" in settings, settings
    k.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert k.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"

    # Resource policies.
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                                               "Action": "kinesis:GetRecords", "Resource": arn}]})
    k.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert json.loads(k.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(policy)
    k.delete_resource_policy(ResourceARN=arn)
    assert k.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"

    # Enhanced monitoring.
    on = k.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes", "IteratorAgeMilliseconds"])
    assert sorted(on["DesiredShardLevelMetrics"]) == ["IncomingBytes", "IteratorAgeMilliseconds"], on
    off = k.disable_enhanced_monitoring(StreamARN=arn, ShardLevelMetrics=["IncomingBytes"])
    assert off["DesiredShardLevelMetrics"] == ["IteratorAgeMilliseconds"], off

    # The largest record, the mode, and the warm throughput of an on-demand stream.
    k.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    assert wait_active(k, name)["MaxRecordSizeInKiB"] == 2048
    k.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert wait_active(k, name)["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    warm = k.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=10)
    assert warm["WarmThroughput"]["TargetMiBps"] == 10, warm

    # Encryption at rest (the dev cluster has a key).
    k.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    summary = wait_active(k, name)
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis"), summary
    put = k.put_record(StreamName=name, Data=b"sealed", PartitionKey="k")
    assert put["EncryptionType"] == "KMS", put
    k.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert wait_active(k, name)["EncryptionType"] == "NONE"

    # Consumers: the ListStreamConsumers paginator, describe by name and by ARN.
    for c in ["c1", "c2", "c3"]:
        k.register_stream_consumer(StreamARN=arn, ConsumerName=c)
    pages = list(k.get_paginator("list_stream_consumers").paginate(StreamARN=arn, PaginationConfig={"PageSize": 1}))
    listed = sorted(c["ConsumerName"] for page in pages for c in page["Consumers"])
    assert listed == ["c1", "c2", "c3"] and len(pages) >= 3, (listed, len(pages))
    by_name = k.describe_stream_consumer(StreamARN=arn, ConsumerName="c2")["ConsumerDescription"]
    by_arn = k.describe_stream_consumer(ConsumerARN=by_name["ConsumerARN"])["ConsumerDescription"]
    assert by_name["ConsumerARN"] == by_arn["ConsumerARN"] and by_arn["StreamARN"] == arn, (by_name, by_arn)
    k.deregister_stream_consumer(StreamARN=arn, ConsumerName="c1")
    k.deregister_stream_consumer(ConsumerARN=by_name["ConsumerARN"])

    k.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    k.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    print("aws actions: ok (every other action, the DescribeStream and ListStreamConsumers paginators, both waiters)")


if __name__ == "__main__":
    main()
