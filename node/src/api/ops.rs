//! The operations listener: `/metrics` (Prometheus text), `/healthz` (liveness) and
//! `/readyz` (readiness), plain HTTP/1.1 on its own port (`metrics_listen`).
//!
//! Metrics go through the `metrics` facade to one process-wide Prometheus recorder,
//! installed once however many nodes the process runs (`runnel-node dev` runs three);
//! every series carries `node`, so their series stay apart. Series not updated for
//! `IDLE_SERIES_TIMEOUT` are dropped (those of deleted streams would otherwise stay
//! forever); histograms are drained into their buckets every `UPKEEP_EVERY`, so memory
//! stays bounded when nobody scrapes.

use crate::cluster::status::readiness;
use crate::cluster::Node;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// Connections served at once; more are closed at once (scrapers and probes are few).
const CONNECTIONS_MAX: usize = 64;
/// How long one connection may stay open, keep-alive included.
const CONNECTION_TIME_MAX: Duration = Duration::from_secs(30);
/// A series not updated for this long is dropped from the output.
const IDLE_SERIES_TIMEOUT: Duration = Duration::from_secs(3600);
/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Latency buckets, in seconds: from a fast local call to a commit timeout.
const LATENCY_BUCKETS: [f64; 15] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Prometheus's text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, thiserror::Error)]
pub enum OpsError {
    #[error("cannot install the metrics recorder: {0}")]
    Recorder(String),
}

static RECORDER: OnceLock<Result<PrometheusHandle, OpsError>> = OnceLock::new();

/// The process's Prometheus recorder, installed on the first call (later calls return the
/// same handle). Call it before starting a node that serves metrics.
pub fn install_recorder() -> Result<PrometheusHandle, OpsError> {
    RECORDER.get_or_init(build_recorder).clone()
}

fn build_recorder() -> Result<PrometheusHandle, OpsError> {
    let fail = |e: &dyn std::fmt::Display| OpsError::Recorder(e.to_string());
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .map_err(|e| fail(&e))?
        .set_buckets_for_metric(
            Matcher::Full(crate::storage::metrics::SYNC_BATCH_SIZE.into()),
            &crate::storage::metrics::SYNC_BATCH_BUCKETS,
        )
        .map_err(|e| fail(&e))?
        .idle_timeout(MetricKindMask::ALL, Some(IDLE_SERIES_TIMEOUT))
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| fail(&e))?;
    describe_all();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("runnel-metrics".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        })
        .map_err(|e| fail(&e))?;
    Ok(handle)
}

/// Describes every series a node records (their `# HELP` lines): the one list of what
/// `/metrics` can show, which the Grafana dashboard is checked against.
fn describe_all() {
    crate::kinesis::metrics::describe();
    crate::cluster::metrics::describe();
    crate::storage::metrics::describe();
}

/// Serves the operations endpoints of `node` on `listener` until `shutdown` resolves.
pub async fn serve_ops(
    node: Arc<Node>,
    metrics: PrometheusHandle,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let serve = |stream: tokio::net::TcpStream, permit: tokio::sync::OwnedSemaphorePermit| {
        let (node, metrics) = (node.clone(), metrics.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let response = respond(&node, &metrics, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIME_MAX, connection).await;
            drop(permit);
        });
    };
    super::accept::accept_until("metrics", listener, CONNECTIONS_MAX, shutdown, serve).await;
}

fn respond(node: &Node, metrics: &PrometheusHandle, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
    }
    match path {
        "/metrics" => {
            let mut response = text(StatusCode::OK, metrics.render());
            response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(TEXT_FORMAT));
            response
        }
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match readiness(node) {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n".into()),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Counter,
        Gauge,
        Histogram,
    }

    /// Keeps the names (and kinds) of the series described to it; records nothing.
    #[derive(Default)]
    struct Described(Mutex<BTreeMap<String, Kind>>);

    impl Described {
        fn note(&self, name: KeyName, kind: Kind) {
            self.0.lock().expect("not poisoned").insert(name.as_str().to_string(), kind);
        }
    }

    impl Recorder for Described {
        fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.note(key, Kind::Counter);
        }
        fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.note(key, Kind::Gauge);
        }
        fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.note(key, Kind::Histogram);
        }
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    const DASHBOARD: &str = include_str!("../../../deploy/grafana/runnel.json");

    /// Every `runnel_*` name in a PromQL expression.
    fn series_names(expr: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = expr;
        while let Some(at) = rest.find("runnel_") {
            let tail = &rest[at..];
            let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
            names.push(&tail[..end]);
            rest = &tail[end..];
        }
        names
    }

    fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) if k == "expr" || k == "definition" => out.push(s.clone()),
                        _ => expressions(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
            _ => {}
        }
    }

    fn described() -> BTreeMap<String, Kind> {
        let described = Described::default();
        metrics::with_local_recorder(&described, describe_all);
        described.0.into_inner().expect("not poisoned")
    }

    /// What is wrong with a dashboard: series a node does not export, suffixes that do
    /// not fit the series' kind, series with no panel, panel ids used twice.
    fn problems(dashboard: &str) -> Vec<String> {
        let described = described();
        let dashboard: serde_json::Value = serde_json::from_str(dashboard).expect("the dashboard is JSON");
        let mut exprs = Vec::new();
        expressions(&dashboard, &mut exprs);
        let mut problems = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        for expr in &exprs {
            for name in series_names(expr) {
                let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s));
                match (described.get(name), base.and_then(|b| described.get(b).map(|k| (b, k)))) {
                    (Some(Kind::Histogram), _) => problems.push(format!("{name} is a histogram: query its _bucket")),
                    (Some(_), _) => {
                        used.insert(name.to_string());
                    }
                    (None, Some((base, Kind::Histogram))) => {
                        used.insert(base.to_string());
                    }
                    (None, _) => problems.push(format!("{name} (in {expr}) is not a series a node exports")),
                }
            }
        }
        // Every series has a panel: a new one gets one.
        for name in described.keys().filter(|n| !used.contains(*n)) {
            problems.push(format!("{name} has no panel"));
        }
        let mut ids = std::collections::BTreeSet::new();
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            if !ids.insert(panel["id"].as_u64()) {
                problems.push(format!("panel id {} is used twice or missing", panel["id"]));
            }
        }
        problems
    }

    /// The dashboard in deploy/grafana shows every series a node exports and queries no
    /// other (`_bucket`, `_sum`, `_count` only of histograms).
    #[test]
    fn the_dashboard_queries_every_series_a_node_exports_and_no_other() {
        assert!(described().len() > 40, "the three modules describe their series");
        assert!(DASHBOARD.matches("\"expr\"").count() > 30, "the dashboard has its queries");
        assert_eq!(problems(DASHBOARD), Vec::<String>::new());
    }

    #[test]
    fn a_misspelt_series_or_a_bare_histogram_in_the_dashboard_is_caught() {
        assert_eq!(series_names("rate(runnel_a_total[1m]) / runnel_b"), ["runnel_a_total", "runnel_b"]);
        let misspelt = DASHBOARD.replace("runnel_kinesis_incoming_bytes_total", "runnel_kinesis_incoming_byte_total");
        let found = problems(&misspelt);
        assert!(found.iter().any(|p| p.contains("runnel_kinesis_incoming_byte_total")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("runnel_kinesis_incoming_bytes_total has no panel")), "{found:?}");
        let bare = DASHBOARD.replace("runnel_storage_fsync_seconds_bucket", "runnel_storage_fsync_seconds");
        assert!(problems(&bare).iter().any(|p| p.contains("is a histogram")));
    }
}
