//! The process's Prometheus counters (`/metrics`): requests by route and status, errors by
//! code, latency, and the database statements run. Kept by hand: a handful of atomics is all
//! that is needed. It knows nothing of requests beyond the numbers it is given.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prometheus counters, kept by hand: a handful of atomics is all we need.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

const LATENCY_BOUNDS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

impl Metrics {
    pub fn observe(&self, path: &str, status: u16, seconds: f64) {
        let route = match path {
            "/graphql" | "/graphql/ws" | "/export/cases.csv" | "/healthz" | "/readyz"
            | "/metrics" | "/graphiql" => path,
            _ => "other",
        };
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), status)).or_default() += 1;
        }
        for (i, bound) in LATENCY_BOUNDS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn count_error(&self, code: &str) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(code.to_string()).or_default() += 1;
        }
    }

    pub fn render(&self, pool: Option<(u32, usize)>, statements: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP xinfang_db_statements_total SQL statements run.\n# TYPE xinfang_db_statements_total counter\n");
        out.push_str(&format!("xinfang_db_statements_total {statements}\n"));
        out.push_str("# HELP xinfang_http_requests_total HTTP requests by route and status.\n# TYPE xinfang_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                out.push_str(&format!(
                    "xinfang_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP xinfang_http_request_duration_seconds Request latency.\n# TYPE xinfang_http_request_duration_seconds histogram\n");
        for (i, bound) in LATENCY_BOUNDS.iter().enumerate() {
            let n = self.latency_buckets[i].load(Ordering::Relaxed);
            out.push_str(&format!(
                "xinfang_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}\n"
            ));
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "xinfang_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "xinfang_http_request_duration_seconds_sum {}\nxinfang_http_request_duration_seconds_count {count}\n",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str("# HELP xinfang_graphql_errors_total GraphQL errors by extensions.code.\n# TYPE xinfang_graphql_errors_total counter\n");
        if let Ok(m) = self.errors.lock() {
            for (code, n) in m.iter() {
                out.push_str(&format!(
                    "xinfang_graphql_errors_total{{code=\"{code}\"}} {n}\n"
                ));
            }
        }
        if let Some((size, idle)) = pool {
            out.push_str("# HELP xinfang_db_pool_connections Database pool connections.\n# TYPE xinfang_db_pool_connections gauge\n");
            out.push_str(&format!(
                "xinfang_db_pool_connections{{state=\"open\"}} {size}\n"
            ));
            out.push_str(&format!(
                "xinfang_db_pool_connections{{state=\"idle\"}} {idle}\n"
            ));
        }
        out
    }
}
