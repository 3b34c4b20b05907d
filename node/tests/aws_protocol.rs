//! The AWS endpoint of real nodes, spoken at the HTTP level: Kinesis's JSON protocol over
//! HTTP/1.1 keep-alive and HTTP/2, errors as the AWS SDKs parse them (`__type`,
//! `message`, the status code), request ids, and the limits on what a request may be; and
//! its CBOR protocol, as the AWS SDK for Java v1 speaks it.
//! boto3 and the AWS CLI themselves run in scripts/tests/aws-clients.sh.

mod common;

use base64::Engine as _;
use ciborium::value::Value as Cbor;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use runnel_node::api::aws::event_stream;
use serde_json::{json, Value};
use std::time::Duration;

const TARGET: &str = "Kinesis_20131202.";

struct Reply {
    status: StatusCode,
    request_id: String,
    body: Value,
}

fn request(action: Option<&str>, body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/")
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-amz-json-1.1")
        // A signature no one checks: any credentials are accepted.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x/20261207/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00",
        );
    if let Some(action) = action {
        builder = builder.header("x-amz-target", format!("{TARGET}{action}"));
    }
    builder.body(Full::new(Bytes::from(body))).expect("a valid request")
}

async fn read(response: hyper::Response<hyper::body::Incoming>) -> Reply {
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .map(|v| v.to_str().expect("ascii").to_string())
        .expect("every reply carries x-amzn-RequestId");
    let content_type = response.headers().get("content-type").expect("a content type").to_str().unwrap().to_string();
    assert_eq!(content_type, "application/x-amz-json-1.1");
    let bytes = response.into_body().collect().await.expect("the body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"));
    Reply { status, request_id, body }
}

/// One HTTP/1.1 connection, kept alive across calls.
struct Http1 {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Http1 {
    async fn connect(addr: &str) -> Http1 {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the AWS endpoint");
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        Http1 { sender }
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> Reply {
        self.sender.ready().await.expect("the connection stays open");
        read(self.sender.send_request(req).await.expect("a reply")).await
    }

    async fn call(&mut self, action: &str, body: Value) -> Reply {
        self.send(request(Some(action), body.to_string().into_bytes())).await
    }

    /// `call`, expecting success.
    async fn ok(&mut self, action: &str, body: Value) -> Value {
        let reply = self.call(action, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.body);
        reply.body
    }
}

fn assert_error(reply: &Reply, status: StatusCode, type_name: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["__type"], type_name, "{}", reply.body);
    assert!(reply.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_protocol_over_http1_and_http2() {
    let (_cluster, aws) = cluster_with_aws_endpoints().await;

    // Through node 2, which need not lead anything.
    let mut http = Http1::connect(&aws[1]).await;
    let created = http.ok("CreateStream", json!({ "StreamName": "aws", "ShardCount": 2 })).await;
    assert_eq!(created, json!({}), "CreateStream answers an empty object");
    eventually("the stream is ACTIVE", Duration::from_secs(60), Duration::from_millis(200), || {
        let addr = aws[1].clone();
        async move {
            let mut http = Http1::connect(&addr).await;
            let summary = http.ok("DescribeStreamSummary", json!({ "StreamName": "aws" })).await;
            (summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE").then_some(())
        }
    })
    .await;

    // The largest record (data and partition key: 1 MiB), by ARN, to the last hash key.
    let data: Vec<u8> = (0..1024 * 1024 - 1).map(|i| (i * 7 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/aws";
    let put = http
        .ok(
            "PutRecord",
            json!({ "StreamARN": arn, "Data": encoded, "PartitionKey": "k",
                    "ExplicitHashKey": u128::MAX.to_string() }),
        )
        .await;
    assert_eq!(put["ShardId"], "shardId-000000000001", "{put}");
    let sequence = put["SequenceNumber"].as_str().expect("a sequence number").to_string();
    let iterator = http
        .ok(
            "GetShardIterator",
            json!({ "StreamName": "aws", "ShardId": "shardId-000000000001",
                    "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": sequence }),
        )
        .await;
    let got = http.ok("GetRecords", json!({ "ShardIterator": iterator["ShardIterator"] })).await;
    let records = got["Records"].as_array().expect("Records");
    assert_eq!(records.len(), 1, "{}", got["Records"].to_string().len());
    assert_eq!(records[0]["SequenceNumber"], sequence.as_str());
    assert_eq!(records[0]["Data"], encoded.as_str(), "the record comes back as sent");
    assert_eq!(records[0]["PartitionKey"], "k");
    assert!(records[0]["ApproximateArrivalTimestamp"].as_f64().is_some_and(|t| t > 1.7e9), "epoch seconds");
    assert!(got["MillisBehindLatest"].is_number() && got["NextShardIterator"].is_string(), "{got}");

    // Errors as the SDKs parse them; each reply has its own request id.
    let missing = http.call("DescribeStream", json!({ "StreamName": "none" })).await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "ResourceNotFoundException");
    let unknown = http.call("DescribeEverything", json!({})).await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "UnknownOperationException");
    assert_ne!(missing.request_id, unknown.request_id);
    let no_target = http.send(request(None, b"{}".to_vec())).await;
    assert_error(&no_target, StatusCode::BAD_REQUEST, "UnknownOperationException");
    let not_json = http.send(request(Some("ListStreams"), b"{\"Limit\":".to_vec())).await;
    assert_error(&not_json, StatusCode::BAD_REQUEST, "SerializationException");
    let wrong_type = http.call("ListStreams", json!({ "Limit": "ten" })).await;
    assert_error(&wrong_type, StatusCode::BAD_REQUEST, "SerializationException");
    let invalid = http.call("CreateStream", json!({ "StreamName": "bad name!", "ShardCount": 1 })).await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "ValidationException");
    // A body larger than any valid request is refused before it is read whole.
    let huge = json!({ "StreamName": "aws", "PartitionKey": "k", "Data": "A".repeat(15 * 1024 * 1024) });
    let refused = http.call("PutRecord", huge).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "ValidationException");
    // The server closed that connection rather than read the rest of the body.
    let mut http = Http1::connect(&aws[1]).await;

    // HTTP/2 with prior knowledge, as the Rust SDK speaks it.
    let stream = tokio::net::TcpStream::connect(&aws[2]).await.expect("connect");
    let (mut h2, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2 handshake");
    tokio::spawn(connection);
    let body = json!({ "Limit": 10 }).to_string().into_bytes();
    let mut req = request(Some("ListStreams"), body);
    *req.uri_mut() = "http://127.0.0.1/".parse().expect("a URI");
    let listed = read(h2.send_request(req).await.expect("an h2 reply")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["StreamNames"], json!(["aws"]));
    assert_eq!(listed.body["HasMoreStreams"], false);

    // SubscribeToShard over HTTP/2: an event stream, initial response first, then the
    // record written above with its continuation number.
    let consumer = http.ok("RegisterStreamConsumer", json!({ "StreamARN": arn, "ConsumerName": "c" })).await;
    let consumer_arn = consumer["Consumer"]["ConsumerARN"].as_str().expect("a consumer ARN").to_string();
    eventually("the consumer is ACTIVE", Duration::from_secs(60), Duration::from_millis(200), || {
        let (addr, consumer_arn) = (aws[1].clone(), consumer_arn.clone());
        async move {
            let mut http = Http1::connect(&addr).await;
            let d = http.ok("DescribeStreamConsumer", json!({ "ConsumerARN": consumer_arn })).await;
            (d["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE").then_some(())
        }
    })
    .await;
    let body = json!({ "ConsumerARN": consumer_arn, "ShardId": "shardId-000000000001",
                       "StartingPosition": { "Type": "TRIM_HORIZON" } });
    let mut req = request(Some("SubscribeToShard"), body.to_string().into_bytes());
    *req.uri_mut() = "http://127.0.0.1/".parse().expect("a URI");
    let response = h2.send_request(req).await.expect("an h2 reply");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/vnd.amazon.eventstream");
    let mut body = response.into_body();
    let mut buffer = Vec::new();
    let mut messages = Vec::new();
    while messages.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(30), body.frame())
            .await
            .expect("an event within 30 s")
            .expect("the stream goes on")
            .expect("a frame");
        buffer.extend_from_slice(frame.data_ref().expect("data"));
        while let Ok((headers, payload, rest)) = event_stream::decode(&buffer) {
            messages.push((headers, serde_json::from_slice::<Value>(payload).expect("JSON payload")));
            buffer = rest.to_vec();
        }
    }
    let event_type = |i: usize| messages[i].0.iter().find(|(k, _)| k == ":event-type").map(|(_, v)| v.clone());
    assert_eq!(event_type(0).as_deref(), Some("initial-response"));
    assert_eq!(event_type(1).as_deref(), Some("SubscribeToShardEvent"));
    let event = &messages[1].1;
    assert_eq!(event["Records"][0]["Data"], encoded.as_str(), "pushed as written");
    assert_eq!(event["Records"][0]["SequenceNumber"], sequence.as_str());
    assert_eq!(event["ContinuationSequenceNumber"], sequence.as_str());
    // A second subscription of the consumer to the shard while this one is live.
    let taken = http.call("SubscribeToShard", body_of(&consumer_arn)).await;
    assert_error(&taken, StatusCode::BAD_REQUEST, "ResourceInUseException");
}

fn body_of(consumer_arn: &str) -> Value {
    json!({ "ConsumerARN": consumer_arn, "ShardId": "shardId-000000000001", "StartingPosition": { "Type": "LATEST" } })
}

// ---- The CBOR protocol (`application/x-amz-cbor-1.1`), as the AWS SDK for Java v1, the
// KCL 1.x and the KPL speak it. Requests are built here as plain CBOR values, independent
// of the node's shapes.

const CBOR_CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

/// A CBOR map of members, keyed by their AWS names.
fn cbor_map(members: Vec<(&str, Cbor)>) -> Cbor {
    Cbor::Map(members.into_iter().map(|(k, v)| (Cbor::Text(k.into()), v)).collect())
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

/// A map's member by name; panics if absent.
fn member<'a>(map: &'a Cbor, name: &str) -> &'a Cbor {
    let Cbor::Map(entries) = map else { panic!("not a map: {map:?}") };
    entries.iter().find(|(k, _)| k.as_text() == Some(name)).map(|(_, v)| v).unwrap_or_else(|| panic!("no {name}"))
}

/// A timestamp as the Java SDK v1 writes and reads it: tag 1 around epoch milliseconds.
fn tagged_millis(value: &Cbor) -> i64 {
    match value {
        Cbor::Tag(1, inner) => match **inner {
            Cbor::Integer(ms) => i64::try_from(ms).expect("milliseconds fit i64"),
            ref other => panic!("tag 1 around {other:?}, not an integer"),
        },
        other => panic!("not a tag 1 timestamp: {other:?}"),
    }
}

/// `request` with a CBOR body and the CBOR content type.
fn cbor_request(action: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    let mut req = request(Some(action), body);
    req.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static(CBOR_CONTENT_TYPE));
    req
}

struct CborReply {
    status: StatusCode,
    error_type: Option<String>,
    body: Cbor,
}

impl Http1 {
    async fn cbor_send(&mut self, req: Request<Full<Bytes>>) -> CborReply {
        self.sender.ready().await.expect("the connection stays open");
        let response = self.sender.send_request(req).await.expect("a reply");
        let status = response.status();
        assert_eq!(response.headers()["content-type"], CBOR_CONTENT_TYPE, "a CBOR request is answered in CBOR");
        assert!(response.headers().contains_key("x-amzn-requestid"));
        let error_type = response.headers().get("x-amzn-errortype").map(|v| v.to_str().expect("ascii").to_string());
        let bytes = response.into_body().collect().await.expect("the body").to_bytes();
        let body = ciborium::de::from_reader(&bytes[..]).unwrap_or_else(|e| panic!("not CBOR ({e}): {bytes:?}"));
        CborReply { status, error_type, body }
    }

    async fn cbor(&mut self, action: &str, body: Cbor) -> CborReply {
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(&body, &mut bytes).expect("a CBOR request");
        self.cbor_send(cbor_request(action, bytes)).await
    }

    /// `cbor`, expecting success.
    async fn cbor_ok(&mut self, action: &str, body: Cbor) -> Cbor {
        let reply = self.cbor(action, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {:?}", reply.body);
        reply.body
    }
}

fn assert_cbor_error(reply: &CborReply, status: StatusCode, type_name: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(member(&reply.body, "__type"), &text(type_name), "{:?}", reply.body);
    assert!(member(&reply.body, "message").as_text().is_some_and(|m| !m.is_empty()), "{:?}", reply.body);
    assert_eq!(reply.error_type.as_deref(), Some(type_name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cbor_protocol() {
    let (_cluster, aws) = cluster_with_aws_endpoints().await;

    let mut http = Http1::connect(&aws[1]).await;
    let created = http
        .cbor_ok("CreateStream", cbor_map(vec![("StreamName", text("cbor")), ("ShardCount", Cbor::Integer(1.into()))]));
    assert_eq!(created.await, Cbor::Map(Vec::new()), "CreateStream answers an empty map");
    let created_ms = eventually("the stream is ACTIVE", Duration::from_secs(60), Duration::from_millis(200), || {
        let addr = aws[1].clone();
        async move {
            let mut http = Http1::connect(&addr).await;
            let summary = http.cbor_ok("DescribeStreamSummary", cbor_map(vec![("StreamName", text("cbor"))])).await;
            let s = member(&summary, "StreamDescriptionSummary");
            (member(s, "StreamStatus") == &text("ACTIVE")).then(|| tagged_millis(member(s, "StreamCreationTimestamp")))
        }
    })
    .await;
    let now_ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(created_ms > 1_700_000_000_000 && created_ms <= now_ms(), "epoch milliseconds: {created_ms}");

    // Binary data, every byte value, as a byte string.
    let data: Vec<u8> = (0..4096).map(|i| (i % 256) as u8).collect();
    let put = http
        .cbor_ok(
            "PutRecord",
            cbor_map(vec![
                ("StreamName", text("cbor")),
                ("Data", Cbor::Bytes(data.clone())),
                ("PartitionKey", text("k")),
            ]),
        )
        .await;
    assert_eq!(member(&put, "ShardId"), &text("shardId-000000000000"));
    let sequence = member(&put, "SequenceNumber").as_text().expect("a sequence number").to_string();

    // AT_TIMESTAMP with the stream's creation time, tagged milliseconds: read as seconds it
    // would lie 50 000 years ahead and find nothing.
    let at = |ms: i64| {
        cbor_map(vec![
            ("StreamName", text("cbor")),
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", Cbor::Tag(1, Box::new(Cbor::Integer(ms.into())))),
        ])
    };
    let iterator = http.cbor_ok("GetShardIterator", at(created_ms)).await;
    let iterator = member(&iterator, "ShardIterator").clone();
    let got = http.cbor_ok("GetRecords", cbor_map(vec![("ShardIterator", iterator)])).await;
    let Cbor::Array(records) = member(&got, "Records") else { panic!("Records: {got:?}") };
    assert_eq!(records.len(), 1, "{got:?}");
    assert_eq!(member(&records[0], "Data"), &Cbor::Bytes(data), "the bytes come back as sent");
    assert_eq!(member(&records[0], "SequenceNumber"), &text(&sequence));
    assert_eq!(member(&records[0], "PartitionKey"), &text("k"));
    let arrival_ms = tagged_millis(member(&records[0], "ApproximateArrivalTimestamp"));
    assert!(created_ms <= arrival_ms && arrival_ms <= now_ms(), "{created_ms} <= {arrival_ms} <= now");
    assert!(member(&got, "MillisBehindLatest").is_integer() && member(&got, "NextShardIterator").is_text());
    // To the millisecond: a millisecond after the record's arrival, there is nothing.
    let iterator = http.cbor_ok("GetShardIterator", at(arrival_ms + 1)).await;
    let got = http.cbor_ok("GetRecords", cbor_map(vec![("ShardIterator", member(&iterator, "ShardIterator").clone())]));
    assert_eq!(member(&got.await, "Records"), &Cbor::Array(Vec::new()));

    // Errors in CBOR, as the Java SDK v1 parses them.
    let missing = http.cbor("DescribeStream", cbor_map(vec![("StreamName", text("none"))])).await;
    assert_cbor_error(&missing, StatusCode::BAD_REQUEST, "ResourceNotFoundException");
    let wrong_type = http.cbor("ListStreams", cbor_map(vec![("Limit", text("ten"))])).await;
    assert_cbor_error(&wrong_type, StatusCode::BAD_REQUEST, "SerializationException");
    let not_cbor = http.cbor_send(cbor_request("ListStreams", br#"{"Limit": 10}"#.to_vec())).await;
    assert_cbor_error(&not_cbor, StatusCode::BAD_REQUEST, "SerializationException");
    let unknown = http.cbor("DescribeEverything", cbor_map(Vec::new())).await;
    assert_cbor_error(&unknown, StatusCode::BAD_REQUEST, "UnknownOperationException");
}
