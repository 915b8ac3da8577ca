//! Webhook delivery: one worker per subscription posts its notifications in order, retrying
//! until the sink answers 204, and stops for good on 410 Gone. Sinks are loopback only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tokio::sync::mpsc;

use super::error::ApiError;

/// Notifications waiting per subscription at most; beyond, new ones are dropped.
pub const QUEUE: usize = 1024;
/// Tries per notification at most.
pub const MAX_TRIES: u32 = 8;

/// The pause before try `n + 1` after `n` failed tries (0.5 s doubling to 30 s), or `None` when
/// the notification is given up.
pub fn retry_delay(failed_tries: u32) -> Option<Duration> {
    (failed_tries < MAX_TRIES).then(|| {
        Duration::from_millis(500u64.saturating_mul(1 << failed_tries.saturating_sub(1).min(6)))
            .min(Duration::from_secs(30))
    })
}

/// Checks a sink URL: plain HTTP to a loopback address (this simulator has no TLS and talks to
/// nothing but this machine).
pub fn check_sink(sink: &str, field: &str) -> Result<reqwest::Url, ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "INVALID_SINK",
            format!("{field}: {why}"),
        )
    };
    let url =
        reqwest::Url::parse(sink).map_err(|e| invalid(&format!("`{sink}` is not a URL ({e})")))?;
    if url.scheme() != "http" {
        return Err(invalid("use http://127.0.0.1:PORT/...: the simulator delivers over plain HTTP on loopback (CAMARA requires https in production)"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if !loopback {
        return Err(invalid(
            "the sink must be on a loopback address (127.0.0.0/8, ::1 or localhost)",
        ));
    }
    Ok(url)
}

/// A notification to post.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: serde_json::Value,
    pub content_type: &'static str,
}

/// The sending end of a subscription's worker.
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Delivery>,
    gone: Arc<AtomicBool>,
}

impl Sink {
    /// Starts a worker posting to `url`, with `Authorization: Bearer token` if given.
    pub fn start(http: reqwest::Client, url: reqwest::Url, token: Option<String>) -> Sink {
        let (tx, rx) = mpsc::channel(QUEUE);
        let gone = Arc::new(AtomicBool::new(false));
        tokio::spawn(worker(http, url, token, rx, gone.clone()));
        Sink { tx, gone }
    }

    /// Queues a notification; false if the sink is gone or its queue is full.
    pub fn send(&self, delivery: Delivery) -> bool {
        !self.is_gone() && self.tx.try_send(delivery).is_ok()
    }

    /// The sink answered 410 Gone: the subscription is over.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }
}

async fn worker(
    http: reqwest::Client,
    url: reqwest::Url,
    token: Option<String>,
    mut rx: mpsc::Receiver<Delivery>,
    gone: Arc<AtomicBool>,
) {
    while let Some(delivery) = rx.recv().await {
        let mut failed = 0;
        loop {
            let mut req = http
                .post(url.clone())
                .header(CONTENT_TYPE, delivery.content_type)
                .json(&delivery.body);
            if let Some(t) = &token {
                req = req.header(AUTHORIZATION, format!("Bearer {t}"));
            }
            match req
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status().as_u16())
            {
                Ok(204) => break,
                Ok(410) => {
                    gone.store(true, Ordering::Relaxed);
                    return;
                }
                _ => {
                    failed += 1;
                    match retry_delay(failed) {
                        Some(d) => tokio::time::sleep(d).await,
                        None => break, // given up; later notifications still go out
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_give_up() {
        assert_eq!(retry_delay(1), Some(Duration::from_millis(500)));
        assert_eq!(retry_delay(2), Some(Duration::from_secs(1)));
        assert_eq!(retry_delay(7), Some(Duration::from_secs(30)));
        assert_eq!(retry_delay(MAX_TRIES), None);
    }

    #[test]
    fn rejects_sinks_off_loopback_or_over_https() {
        assert!(check_sink("http://127.0.0.1:9000/hook", "sink").is_ok());
        assert!(check_sink("http://localhost:9000/hook", "sink").is_ok());
        assert!(check_sink("http://[::1]:9000/hook", "sink").is_ok());
        for bad in [
            "http://10.0.0.1/hook",
            "https://127.0.0.1/hook",
            "http://example.com/",
            "nope",
        ] {
            let e = check_sink(bad, "sink").unwrap_err();
            assert_eq!(
                (e.code, e.message.starts_with("sink: ")),
                ("INVALID_SINK", true),
                "{bad}"
            );
        }
    }
}
