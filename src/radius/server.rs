//! The utility's RADIUS server on the wire, sans-I/O: answers Access-Request and
//! Accounting-Request with the decisions of a [`UtilityServer`].
//!
//! Requests that are malformed, not authentic or of another code are dropped silently, as RFC 2865
//! §3 asks, and reported as [`ServerEvent::Discarded`]. A retransmission (same source, identifier
//! and authenticator within `duplicate_window`) gets the cached answer again without a second
//! decision or accounting record (RFC 5080 §2.2.2). Proxy-State attributes are echoed in order
//! (RFC 2865 §5.33). Rejects carry no Reply-Message: the reason stays in the server's events.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;

use super::authenticator::{self, AuthError};
use super::dictionary::{AttributeType as A, Code};
use super::message::{imsi_of, AccountingRequest};
use super::packet::{Attribute, Authenticator, Packet, PacketView};
use super::password;
use super::utility::{Decision, UtilityServer};

/// How the server checks and answers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub secret: Vec<u8>,
    /// Drop Access-Requests without a Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Put a Message-Authenticator in every Access answer.
    pub message_authenticator: bool,
    /// How long an answer is kept for retransmissions of its request.
    pub duplicate_window: Duration,
    /// The most answers kept for retransmissions.
    pub duplicate_capacity: usize,
}

impl ServerConfig {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        ServerConfig {
            secret: secret.into(),
            require_message_authenticator: false,
            message_authenticator: true,
            duplicate_window: Duration::from_secs(30),
            duplicate_capacity: 4096,
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discard {
    Malformed(String),
    /// Not a request this server answers.
    UnexpectedCode(Code),
    NotAuthentic(AuthError),
    /// An Accounting-Request whose fields cannot be read.
    BadAccounting(String),
}

/// What the server reports to its driver.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServerEvent {
    Access {
        from: SocketAddr,
        user: String,
        msisdn: Option<String>,
        apn: Option<String>,
        imsi: Option<String>,
        decision: Decision,
    },
    Accounting {
        from: SocketAddr,
        request: AccountingRequest,
    },
    /// A retransmission answered from the cache.
    Duplicate {
        from: SocketAddr,
        identifier: u8,
    },
    Discarded {
        from: SocketAddr,
        reason: Discard,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RequestKey {
    from: SocketAddr,
    identifier: u8,
    authenticator: Authenticator,
}

/// The utility's server on the wire.
///
/// Call order: [`handle_datagram`](Self::handle_datagram) for each datagram with its source, the
/// monotonic `now` (for the duplicate cache) and the wall-clock `wall` (for decisions and
/// records); then drain [`poll_transmit`](Self::poll_transmit) (send each answer to its address)
/// and [`poll_event`](Self::poll_event). There are no timers: old cache entries are dropped as
/// new datagrams arrive.
#[derive(Debug)]
pub struct RadiusServer {
    config: ServerConfig,
    utility: UtilityServer,
    answered: HashMap<RequestKey, Vec<u8>>,
    answered_order: VecDeque<(Instant, RequestKey)>,
    transmit: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<ServerEvent>,
}

impl RadiusServer {
    pub fn new(config: ServerConfig, utility: UtilityServer) -> Self {
        RadiusServer {
            config,
            utility,
            answered: HashMap::new(),
            answered_order: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn utility(&self) -> &UtilityServer {
        &self.utility
    }

    /// For edits and reloads while the server runs.
    pub fn utility_mut(&mut self) -> &mut UtilityServer {
        &mut self.utility
    }

    pub fn handle_datagram(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
        wall: Timestamp,
    ) {
        self.expire(now);
        match self.answer(from, datagram, now, wall) {
            Ok(Some(answer)) => self.transmit.push_back((from, answer)),
            Ok(None) => {}
            Err(reason) => self
                .events
                .push_back(ServerEvent::Discarded { from, reason }),
        }
    }

    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn answer(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
        wall: Timestamp,
    ) -> Result<Option<Vec<u8>>, Discard> {
        let view =
            PacketView::new_checked(datagram).map_err(|e| Discard::Malformed(e.to_string()))?;
        let key = RequestKey {
            from,
            identifier: view.identifier(),
            authenticator: view.authenticator(),
        };
        if let Some(cached) = self.answered.get(&key) {
            self.events.push_back(ServerEvent::Duplicate {
                from,
                identifier: key.identifier,
            });
            return Ok(Some(cached.clone()));
        }
        let secret = &self.config.secret;
        let answer = match view.code() {
            Code::AccessRequest => {
                authenticator::verify_access_request(
                    &view,
                    secret,
                    self.config.require_message_authenticator,
                )
                .map_err(Discard::NotAuthentic)?;
                self.access(from, &Packet::from_view(&view), wall)?
            }
            Code::AccountingRequest => {
                authenticator::verify_accounting_request(&view, secret)
                    .map_err(Discard::NotAuthentic)?;
                self.accounting(from, &Packet::from_view(&view), wall)?
            }
            other => return Err(Discard::UnexpectedCode(other)),
        };
        self.remember(key, answer.clone(), now);
        Ok(Some(answer))
    }

    fn access(
        &mut self,
        from: SocketAddr,
        request: &Packet,
        wall: Timestamp,
    ) -> Result<Vec<u8>, Discard> {
        let secret = &self.config.secret;
        let user = request.text(A::UserName).unwrap_or_default();
        let password = request
            .first(A::UserPassword)
            .and_then(|hidden| password::reveal(hidden, secret, &request.authenticator).ok());
        let apn = request.text(A::CalledStationId);
        let decision = self
            .utility
            .authenticate(&user, password.as_deref(), apn.as_deref(), wall);
        let mut reply = match &decision {
            Decision::Accept {
                framed_ip,
                reply_message,
                ..
            } => {
                let mut reply = Packet::new(Code::AccessAccept, request.identifier);
                if let Some(ip) = framed_ip {
                    reply.push(Attribute::ipv4(A::FramedIpAddress, *ip));
                }
                if let Some(message) = reply_message {
                    reply.push(Attribute::text(A::ReplyMessage, message));
                }
                reply
            }
            Decision::Reject { .. } => Packet::new(Code::AccessReject, request.identifier),
        };
        echo_proxy_state(request, &mut reply);
        let answer = self.sign(&reply, &request.authenticator, true)?;
        self.events.push_back(ServerEvent::Access {
            from,
            user,
            msisdn: request.text(A::CallingStationId),
            apn,
            imsi: imsi_of(request),
            decision,
        });
        Ok(answer)
    }

    fn accounting(
        &mut self,
        from: SocketAddr,
        request: &Packet,
        wall: Timestamp,
    ) -> Result<Vec<u8>, Discard> {
        let record = AccountingRequest::from_packet(request).map_err(Discard::BadAccounting)?;
        let mut reply = Packet::new(Code::AccountingResponse, request.identifier);
        echo_proxy_state(request, &mut reply);
        let answer = self.sign(&reply, &request.authenticator, false)?;
        self.utility.record_accounting(record.clone(), wall);
        self.events.push_back(ServerEvent::Accounting {
            from,
            request: record,
        });
        Ok(answer)
    }

    /// Fails only when echoed Proxy-State leaves no room for the answer's own attributes.
    fn sign(
        &self,
        reply: &Packet,
        request: &Authenticator,
        access: bool,
    ) -> Result<Vec<u8>, Discard> {
        let with_ma = access && self.config.message_authenticator;
        authenticator::sign_response(reply, request, &self.config.secret, with_ma)
            .map_err(|e| Discard::Malformed(format!("cannot answer: {e}")))
    }

    fn remember(&mut self, key: RequestKey, answer: Vec<u8>, now: Instant) {
        if self.config.duplicate_capacity == 0 {
            return;
        }
        if self.answered_order.len() >= self.config.duplicate_capacity {
            if let Some((_, oldest)) = self.answered_order.pop_front() {
                self.answered.remove(&oldest);
            }
        }
        self.answered.insert(key.clone(), answer);
        self.answered_order.push_back((now, key));
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.answered_order.front() {
            if now.saturating_duration_since(*at) < self.config.duplicate_window {
                break;
            }
            let (_, key) = self.answered_order.pop_front().expect("front exists");
            self.answered.remove(&key);
        }
    }
}

fn echo_proxy_state(request: &Packet, reply: &mut Packet) {
    for state in request.all(A::ProxyState) {
        reply.push(Attribute::octets(A::ProxyState, state));
    }
}
