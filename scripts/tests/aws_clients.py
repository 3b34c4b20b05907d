"""The AWS clients against a running Runnel cluster's AWS endpoint: boto3 and the AWS CLI,
unchanged, with dummy credentials. Every assertion compares what Runnel returned with what
was sent, so a wrong member name, encoding or error shows as a failure here.

Usage: aws_clients.py ENDPOINT_URL AWS_CLI_PATH RUNNEL_CLI_PATH GRPC_ENDPOINT_URL RUST_SDK_SUBSCRIBE
           (what boto3 writes is also read through Runnel's gRPC API with the `runnel` CLI,
           and pushed to the AWS SDK for Rust: node/examples/aws_sdk_subscribe.rs)
       aws_clients.py --signed ENDPOINT_URL AWS_CLI_PATH
           against a node that verifies SigV4 signatures: the access key in AWS_TEST_KEY_ID
           and AWS_TEST_SECRET works, a wrong secret, an unknown key and no signature are
           refused with the AWS errors.
"""

import base64
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import cbor2
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REGION = "us-east-1"
ACCOUNT = "000000000000"
LARGEST_RECORD = 1024 * 1024
HASH_KEY_MAX = 2**128 - 1


def client(endpoint, key_id="x", secret="x", region=REGION, **config):
    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region)
    return session.client("kinesis", endpoint_url=endpoint, config=Config(retries={"max_attempts": 5}, **config))


def read_shard(k, stream, shard_id, iterator_type, **position):
    """Every record of the shard from the position on, as {(shard, sequence): data}."""
    got = {}
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=iterator_type, **position)[
        "ShardIterator"
    ]
    for _ in range(1000):
        page = k.get_records(ShardIterator=it, Limit=1000)
        for rec in page["Records"]:
            assert isinstance(rec["ApproximateArrivalTimestamp"], datetime.datetime), rec
            got[(shard_id, rec["SequenceNumber"])] = rec["Data"]
        assert "MillisBehindLatest" in page, page
        it = page.get("NextShardIterator")
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            return got
    raise AssertionError(f"shard {shard_id} never caught up")


def expect_error(call, code):
    try:
        call()
    except Exception as e:  # botocore raises a class per error code
        response = getattr(e, "response", None)
        assert response is not None, f"expected {code}, got {e!r}"
        assert response["Error"]["Code"] == code, response["Error"]
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response["ResponseMetadata"]
        return response["Error"]["Message"]
    raise AssertionError(f"expected {code}, the call succeeded")


def wait_consumer_active(k, consumer_arn):
    for _ in range(120):
        if k.describe_stream_consumer(ConsumerARN=consumer_arn)["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE":
            return
        time.sleep(0.5)
    raise AssertionError(f"consumer {consumer_arn} never became ACTIVE")


def subscribe(k, stream_arn, shard_id, expected):
    """SubscribeToShard through boto3's event stream: every record of the shard arrives in
    order, the continuation number resumes exactly, and a second subscription of the same
    consumer to the shard is refused while the first is live."""
    consumer = k.register_stream_consumer(StreamARN=stream_arn, ConsumerName="boto3")["Consumer"]
    arn = consumer["ConsumerARN"]
    assert consumer["ConsumerStatus"] == "CREATING" and arn.startswith(stream_arn + "/consumer/boto3:"), consumer
    wait_consumer_active(k, arn)
    live = k.subscribe_to_shard(ConsumerARN=arn, ShardId=shard_id, StartingPosition={"Type": "TRIM_HORIZON"})
    got, continuation = [], None
    for event in live["EventStream"]:
        e = event["SubscribeToShardEvent"]
        got += [(r["SequenceNumber"], r["Data"]) for r in e["Records"]]
        continuation = e["ContinuationSequenceNumber"]
        assert "MillisBehindLatest" in e, e
        if len(got) >= len(expected):
            break
    assert [seq for seq, _ in got] == sorted(expected, key=int), "pushed in sequence order, each once"
    assert all(expected[seq] == data for seq, data in got), "a pushed record came back changed"
    expect_error(
        lambda: k.subscribe_to_shard(ConsumerARN=arn, ShardId=shard_id, StartingPosition={"Type": "LATEST"}),
        "ResourceInUseException",
    )
    live["EventStream"].close()
    # Resuming after the continuation number repeats nothing: the next record pushed is new.
    for _ in range(60):
        try:
            resumed = k.subscribe_to_shard(
                ConsumerARN=arn,
                ShardId=shard_id,
                StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": continuation},
            )
            break
        except Exception as e:  # the first subscription's lease may outlive its connection briefly
            if getattr(e, "response", {}).get("Error", {}).get("Code") != "ResourceInUseException":
                raise
            time.sleep(0.5)
    else:
        raise AssertionError("the consumer's lease never came free")
    fresh = k.put_record(StreamARN=stream_arn, Data=b"after", PartitionKey="x", ExplicitHashKey="0")
    for event in resumed["EventStream"]:
        records = event["SubscribeToShardEvent"]["Records"]
        if records:
            assert [(r["SequenceNumber"], r["Data"]) for r in records] == [(fresh["SequenceNumber"], b"after")], records
            break
    resumed["EventStream"].close()
    k.deregister_stream_consumer(ConsumerARN=arn)
    return len(got)


def cbor_call(endpoint, action, members, key_id="x", secret="x"):
    """One action over the CBOR protocol (application/x-amz-cbor-1.1), as the AWS SDK for
    Java v1 sends it, encoded and decoded by cbor2, independent of Runnel's codec. That SDK
    puts epoch milliseconds in tag 1, not the seconds RFC 8949 gives it, so tag 1 is read
    back as a plain tag. Returns (status, content type, decoded body)."""
    body = cbor2.dumps(members)
    headers = {"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": f"Kinesis_20131202.{action}"}
    signed = AWSRequest(method="POST", url=endpoint, data=body, headers=headers)
    SigV4Auth(Credentials(key_id, secret), "kinesis", REGION).add_auth(signed)
    request = urllib.request.Request(endpoint, data=body, headers=dict(signed.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, reply = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as e:
        status, content_type, reply = e.code, e.headers["Content-Type"], e.read()
    tag1 = {1: lambda value, immutable: cbor2.CBORTag(1, value)}
    return status, content_type, cbor2.loads(reply, semantic_decoders=tag1)


def cbor_protocol(endpoint, stream, shard_id):
    """A record with binary data written and read back over CBOR: Data as a byte string,
    AT_TIMESTAMP and ApproximateArrivalTimestamp as tag 1 around epoch milliseconds, and an
    error as a CBOR map."""
    before_ms = int(time.time() * 1000) - 1000
    data = bytes(range(256)) * 4
    status, content_type, put = cbor_call(
        endpoint, "PutRecord", {"StreamName": stream, "Data": data, "PartitionKey": "cbor", "ExplicitHashKey": "0"}
    )
    assert status == 200 and content_type == "application/x-amz-cbor-1.1", (status, content_type, put)
    assert put["ShardId"] == shard_id, put
    at = {"StreamName": stream, "ShardId": shard_id, "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, before_ms)}
    status, _, it = cbor_call(endpoint, "GetShardIterator", at)
    assert status == 200, it
    iterator, found = it["ShardIterator"], None
    for _ in range(100):
        status, _, page = cbor_call(endpoint, "GetRecords", {"ShardIterator": iterator})
        assert status == 200, page
        for rec in page["Records"]:
            arrival = rec["ApproximateArrivalTimestamp"]
            assert isinstance(arrival, cbor2.CBORTag) and arrival.tag == 1 and isinstance(arrival.value, int), arrival
            assert before_ms <= arrival.value <= time.time() * 1000 + 1000, (before_ms, arrival.value)
            if rec["SequenceNumber"] == put["SequenceNumber"]:
                found = rec
        iterator = page.get("NextShardIterator")
        if found or (not page["Records"] and page["MillisBehindLatest"] == 0):
            break
    assert found is not None, "the record written over CBOR was not read back at its timestamp"
    assert found["Data"] == data and found["PartitionKey"] == "cbor", found
    status, content_type, error = cbor_call(endpoint, "DescribeStream", {"StreamName": "no-such-stream"})
    assert (status, content_type) == (400, "application/x-amz-cbor-1.1"), (status, content_type)
    assert error["__type"] == "ResourceNotFoundException" and "no-such-stream" in error["message"], error


def wait_until_serving(k, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return k.list_streams()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def read_through_grpc(runnel_cli, grpc_endpoint, stream):
    """Every record of the stream as Runnel's own gRPC API returns it (the `runnel` CLI)."""
    out = subprocess.run(
        [runnel_cli, "--endpoint", grpc_endpoint, "get", stream, "--json"], check=True, capture_output=True
    ).stdout
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {(r["shard_id"], r["sequence_number"]): base64.b64decode(r["data"]) for r in records}


def subscribe_with_rust_sdk(k, program, endpoint, stream_arn, shard_id, count):
    """The first `count` records the AWS SDK for Rust is pushed from the shard's start, as
    (sequence number, data), through a consumer of its own."""
    name = f"rust-sdk-{shard_id}"
    consumer = k.register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"]["ConsumerARN"]
    wait_consumer_active(k, consumer)
    addr = endpoint.removeprefix("http://")
    out = subprocess.run([program, addr, consumer, shard_id, str(count)], check=True, capture_output=True, timeout=120)
    records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    k.deregister_stream_consumer(ConsumerARN=consumer)
    return [(r["sequence_number"], base64.b64decode(r["data"])) for r in records]


def main():
    endpoint, aws_cli = sys.argv[1], sys.argv[2]
    runnel_cli, grpc_endpoint, rust_sdk_subscribe = sys.argv[3], sys.argv[4], sys.argv[5]
    k = client(endpoint)
    wait_until_serving(k)
    name = f"aws-clients-{os.getpid()}"

    k.create_stream(StreamName=name, ShardCount=4)
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    desc = k.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamStatus"] == "ACTIVE", desc
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
    assert desc["StreamARN"] == arn, desc["StreamARN"]
    assert len(desc["Shards"]) == 4, desc["Shards"]
    assert desc["Shards"][0]["HashKeyRange"]["StartingHashKey"] == "0", desc["Shards"][0]
    assert desc["Shards"][-1]["HashKeyRange"]["EndingHashKey"] == str(HASH_KEY_MAX), desc["Shards"][-1]
    summary = k.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4 and summary["StreamName"] == name, summary
    assert isinstance(summary["StreamCreationTimestamp"], datetime.datetime), summary

    # The ListStreams paginator, one stream a page: NextToken travels both ways.
    names = [n for page in k.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 1}) for n in page["StreamNames"]]
    assert name in names, names
    # ListShards pages by hand: botocore's paginator sends StreamName with NextToken, which
    # Kinesis refuses (botocore issue 2009), and so does Runnel.
    expect_error(lambda: next(iter(k.get_paginator("list_shards").paginate(StreamName=name, PaginationConfig={"PageSize": 1, "StartingToken": "x"}))), "InvalidArgumentException")
    pages = [k.list_shards(StreamName=name, MaxResults=1)]
    while "NextToken" in pages[-1] and len(pages) < 100:
        pages.append(k.list_shards(NextToken=pages[-1]["NextToken"], MaxResults=1))
    shards = [s for page in pages for s in page["Shards"]]
    assert [s["ShardId"] for s in shards] == [s["ShardId"] for s in desc["Shards"]], shards
    assert len(pages) >= 4, len(pages)

    sent = {}
    first = b"\x00\xff first"
    r = k.put_record(StreamName=name, Data=first, PartitionKey="pk-first")
    sent[(r["ShardId"], r["SequenceNumber"])] = first
    records = [{"Data": os.urandom(100) + bytes([i % 256]), "PartitionKey": f"pk-{i}"} for i in range(500)]
    out = k.put_records(StreamName=name, Records=records)
    assert out["FailedRecordCount"] == 0, out
    assert len(out["Records"]) == 500
    for rec, res in zip(records, out["Records"]):
        sent[(res["ShardId"], res["SequenceNumber"])] = rec["Data"]
    # The largest record (data and partition key together), by ARN, to the last hash key.
    big = os.urandom(LARGEST_RECORD - len("big"))
    r = k.put_record(StreamARN=arn, Data=big, PartitionKey="big", ExplicitHashKey=str(HASH_KEY_MAX))
    assert r["ShardId"] == shards[-1]["ShardId"], r
    sent[(r["ShardId"], r["SequenceNumber"])] = big

    got = {}
    for s in shards:
        got.update(read_shard(k, name, s["ShardId"], "TRIM_HORIZON"))
    assert got.keys() == sent.keys(), (len(got), len(sent))
    assert all(got[key] == data for key, data in sent.items()), "a record came back changed"
    # What boto3 wrote, read through the other door: Runnel's gRPC API.
    assert read_through_grpc(runnel_cli, grpc_endpoint, name) == sent, "gRPC reads what boto3 wrote"
    # And the third door: the AWS SDK for Rust subscribes to every shard over HTTP/2.
    rust_sdk_pushed = 0
    for shard in shards:
        shard_id = shard["ShardId"]
        expected = sorted(((q, data) for (s, q), data in sent.items() if s == shard_id), key=lambda r: int(r[0]))
        assert subscribe_with_rust_sdk(k, rust_sdk_subscribe, endpoint, arn, shard_id, len(expected)) == expected
        rust_sdk_pushed += len(expected)
    assert rust_sdk_pushed == len(sent)

    # AT_SEQUENCE_NUMBER from the first record; AT_TIMESTAMP from a time before the writes.
    (shard_id, seq) = next(iter(sent))
    again = read_shard(k, name, shard_id, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
    assert again[(shard_id, seq)] == first
    early = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    by_time = read_shard(k, name, shard_id, "AT_TIMESTAMP", Timestamp=early)
    assert by_time == {key: data for key, data in got.items() if key[0] == shard_id}

    # Errors come back as the exceptions boto3 knows.
    message = expect_error(lambda: k.describe_stream(StreamName="no-such-stream"), "ResourceNotFoundException")
    assert "no-such-stream" in message, message
    expect_error(
        lambda: k.get_shard_iterator(
            StreamName=name, ShardId=shards[0]["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="1"
        ),
        "InvalidArgumentException",
    )
    expect_error(lambda: k.create_stream(StreamName=name, ShardCount=1), "ResourceInUseException")

    pushed = subscribe(k, arn, shards[0]["ShardId"], {key[1]: data for key, data in got.items() if key[0] == shards[0]["ShardId"]})

    k.add_tags_to_stream(StreamName=name, Tags={"team": "a"})
    assert k.list_tags_for_stream(StreamName=name)["Tags"] == [{"Key": "team", "Value": "a"}]

    cbor_protocol(endpoint, name, shards[0]["ShardId"])

    # The AWS CLI, as a user types it.
    env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION=REGION)
    cli = [aws_cli, "kinesis", "--endpoint-url", endpoint, "--output", "json"]
    listed = json.loads(subprocess.run(cli + ["list-streams"], env=env, check=True, capture_output=True).stdout)
    assert name in listed["StreamNames"], listed
    summary = json.loads(
        subprocess.run(cli + ["describe-stream-summary", "--stream-name", name], env=env, check=True, capture_output=True).stdout
    )
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 4, summary
    failed = subprocess.run(cli + ["describe-stream", "--stream-name", "no-such-stream"], env=env, capture_output=True)
    assert failed.returncode != 0 and b"ResourceNotFoundException" in failed.stderr, failed.stderr

    k.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    k.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    print(
        f"aws clients: ok ({len(sent)} records written and read back, {len(pages)} ListShards pages, "
        f"{pushed} records pushed by SubscribeToShard; what boto3 wrote read through gRPC and "
        f"all {rust_sdk_pushed} of it pushed to the AWS SDK for Rust over HTTP/2)"
    )


def signed_main():
    """Against a node given --aws-credentials-file: signatures are checked, and every
    refusal is the error Kinesis sends."""
    endpoint, aws_cli = sys.argv[2], sys.argv[3]
    key_id, secret = os.environ["AWS_TEST_KEY_ID"], os.environ["AWS_TEST_SECRET"]
    # Over TLS when the node has a certificate; the clients trust it through AWS_CA_BUNDLE.
    assert endpoint.startswith("https://") == ("AWS_CA_BUNDLE" in os.environ), endpoint
    k = client(endpoint, key_id, secret)
    wait_until_serving(k)
    name = f"aws-signed-{os.getpid()}"
    k.create_stream(StreamName=name, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert name in k.list_streams()["StreamNames"]
    # Any region signs: it is part of the signature, not checked against the node's.
    assert name in client(endpoint, key_id, secret, region="eu-west-3").list_streams()["StreamNames"]

    wrong = client(endpoint, key_id, secret + "x")
    message = expect_error(lambda: wrong.list_streams(), "InvalidSignatureException")
    assert secret not in message, "a message shows the secret"
    # SubscribeToShard is checked before it is served.
    consumer = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}/consumer/none:1"
    subscribe = {"ConsumerARN": consumer, "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "LATEST"}}
    expect_error(lambda: wrong.subscribe_to_shard(**subscribe), "InvalidSignatureException")
    expect_error(lambda: k.subscribe_to_shard(**subscribe), "ResourceNotFoundException")
    unknown = client(endpoint, "AKIDNOBODYKNOWS", secret)
    message = expect_error(lambda: unknown.describe_stream(StreamName=name), "UnrecognizedClientException")
    assert message == "The security token included in the request is invalid.", message
    unsigned = client(endpoint, signature_version=botocore.UNSIGNED)
    expect_error(lambda: unsigned.list_streams(), "MissingAuthenticationTokenException")

    # The AWS CLI with the right key, and with a wrong one.
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION)
    cli = [aws_cli, "kinesis", "--endpoint-url", endpoint, "--output", "json"]
    listed = json.loads(subprocess.run(cli + ["list-streams"], env=env, check=True, capture_output=True).stdout)
    assert name in listed["StreamNames"], listed
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    failed = subprocess.run(cli + ["list-streams"], env=env, capture_output=True)
    assert failed.returncode != 0 and b"InvalidSignatureException" in failed.stderr, failed.stderr
    tls = " over TLS" if endpoint.startswith("https://") else ""
    print(f"aws clients, signatures verified{tls}: ok (right key served; wrong secret, unknown key, no signature refused)")


if __name__ == "__main__":
    if sys.argv[1] == "--signed":
        signed_main()
    else:
        main()
