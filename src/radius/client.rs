//! The operator's RADIUS proxy client, sans-I/O: identifiers, retransmission and timeouts.
//!
//! One [`ProxyClient`] talks to one server (one address, one shared secret). Each request gets a
//! free identifier (256 can be in flight; more wait in a bounded queue) and is sent up to
//! `tries` times, `interval` apart, with the same identifier and authenticator (RFC 5080 §2.2.1).
//! An answer is accepted only if its Response Authenticator (and Message-Authenticator, when
//! present) checks against the request's; anything else is dropped and reported as
//! [`ClientEvent::Discarded`], and the request keeps waiting. After the last try's interval the
//! request ends as a timeout: the server is down or unreachable, which is not a reject.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::authenticator::{self, AuthError};
use super::dictionary::{AttributeType, Code};
use super::message::{AccessRequest, AccountingRequest};
use super::packet::{Authenticator, EncodeError, Packet, PacketView, AUTHENTICATOR_LEN};

/// How the client sends and waits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub secret: Vec<u8>,
    /// Transmissions per request, the first included (at least 1).
    pub tries: u32,
    /// How long each transmission waits for the answer.
    pub interval: Duration,
    /// Put a Message-Authenticator in every Access-Request (RFC 3579; the BlastRADIUS advice).
    pub message_authenticator: bool,
    /// Drop Access answers that carry no Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Requests that may wait for a free identifier before new ones are refused.
    pub max_queued: usize,
}

impl ClientConfig {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        ClientConfig {
            secret: secret.into(),
            tries: 3,
            interval: Duration::from_secs(3),
            message_authenticator: true,
            require_message_authenticator: false,
            max_queued: 4096,
        }
    }
}

/// Why the client refuses a request or a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("the shared secret is empty; RADIUS needs one (RFC 2865 §3)")]
    EmptySecret,
    #[error("tries is 0; at least one transmission is needed")]
    NoTries,
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("{0} requests already wait for an identifier")]
    QueueFull(usize),
}

/// Identifies one request's outcome among the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RequestId(pub u64);

/// How an Access-Request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccessOutcome {
    Accept {
        framed_ip: Option<Ipv4Addr>,
        reply_message: Option<String>,
        session_timeout: Option<u32>,
    },
    /// Rejected. The Reply-Message is shown, never trusted: a server may leak reply items
    /// configured for the user into it.
    Reject {
        untrusted_reply_message: Option<String>,
    },
    /// A challenge, which an M2M modem cannot answer: a failed attempt.
    Challenge {
        untrusted_reply_message: Option<String>,
    },
    /// No valid answer after every try: the server is down or unreachable.
    Timeout,
}

/// How an Accounting-Request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountingOutcome {
    Answered,
    Timeout,
}

/// Why an incoming datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discard {
    Malformed(String),
    /// A request code, or a code that does not answer the pending request.
    UnexpectedCode(Code),
    /// No request in flight with this identifier (late, duplicate or stray).
    UnknownIdentifier(u8),
    NotAuthentic(AuthError),
}

/// What the client reports to its driver.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClientEvent {
    Access {
        id: RequestId,
        outcome: AccessOutcome,
        /// Transmissions made.
        tries: u32,
        /// From the first transmission to the outcome.
        elapsed: Duration,
    },
    Accounting {
        id: RequestId,
        outcome: AccountingOutcome,
        tries: u32,
        elapsed: Duration,
    },
    Discarded(Discard),
}

/// One datagram to send to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub id: RequestId,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Request {
    Access(AccessRequest),
    Accounting(AccountingRequest),
}

#[derive(Debug)]
struct Queued {
    id: RequestId,
    request: Request,
}

#[derive(Debug)]
struct Pending {
    id: RequestId,
    accounting: bool,
    bytes: Vec<u8>,
    authenticator: Authenticator,
    sent: u32,
    first_sent: Instant,
    deadline: Instant,
}

/// The operator's RADIUS client, sans-I/O.
///
/// Call order: submit with [`send_access`](Self::send_access) or
/// [`send_accounting`](Self::send_accounting); feed every datagram from the server to
/// [`handle_datagram`](Self::handle_datagram) and call [`handle_timeout`](Self::handle_timeout)
/// when [`poll_timeout`](Self::poll_timeout)'s deadline passes; after each of these drain
/// [`poll_transmit`](Self::poll_transmit) (send each datagram to the server) and
/// [`poll_event`](Self::poll_event), then re-arm the timer. Deterministic for a given seed: the
/// seed drives the Request Authenticators.
#[derive(Debug)]
pub struct ProxyClient {
    config: ClientConfig,
    rng: ChaCha8Rng,
    slots: Vec<Option<Pending>>,
    next_identifier: u8,
    queue: VecDeque<Queued>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    next_request: u64,
}

impl ProxyClient {
    pub fn new(config: ClientConfig, seed: u64) -> Result<Self, ClientError> {
        if config.secret.is_empty() {
            return Err(ClientError::EmptySecret);
        }
        if config.tries == 0 {
            return Err(ClientError::NoTries);
        }
        Ok(ProxyClient {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            slots: (0..256).map(|_| None).collect(),
            next_identifier: 0,
            queue: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_request: 0,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Submits an Access-Request; its outcome arrives as [`ClientEvent::Access`].
    pub fn send_access(
        &mut self,
        request: AccessRequest,
        now: Instant,
    ) -> Result<RequestId, ClientError> {
        // Refuse what cannot be encoded now rather than when an identifier frees up (the
        // authenticator changes no length).
        let secret = &self.config.secret;
        let packet = request.to_packet(0, [0; AUTHENTICATOR_LEN], secret)?;
        authenticator::sign_access_request(&packet, secret, self.config.message_authenticator)?;
        self.submit(Request::Access(request), now)
    }

    /// Submits an Accounting-Request; its outcome arrives as [`ClientEvent::Accounting`].
    pub fn send_accounting(
        &mut self,
        request: AccountingRequest,
        now: Instant,
    ) -> Result<RequestId, ClientError> {
        request.to_packet(0).to_bytes()?;
        self.submit(Request::Accounting(request), now)
    }

    /// Takes one datagram received from the server.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: Instant) {
        if let Err(discard) = self.accept_answer(datagram, now) {
            self.events.push_back(ClientEvent::Discarded(discard));
        }
    }

    /// Retransmits or gives up on every request whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for identifier in 0..=u8::MAX {
            let slot = &mut self.slots[usize::from(identifier)];
            let Some(pending) = slot.as_mut().filter(|p| p.deadline <= now) else {
                continue;
            };
            if pending.sent < self.config.tries {
                pending.sent += 1;
                pending.deadline = now + self.config.interval;
                self.transmit.push_back(Transmit {
                    id: pending.id,
                    bytes: pending.bytes.clone(),
                });
                continue;
            }
            let pending = slot.take().expect("checked above");
            let elapsed = now.saturating_duration_since(pending.first_sent);
            self.events.push_back(match pending.accounting {
                true => ClientEvent::Accounting {
                    id: pending.id,
                    outcome: AccountingOutcome::Timeout,
                    tries: pending.sent,
                    elapsed,
                },
                false => ClientEvent::Access {
                    id: pending.id,
                    outcome: AccessOutcome::Timeout,
                    tries: pending.sent,
                    elapsed,
                },
            });
        }
        self.start_queued(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The earliest retransmission or timeout deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|p| p.deadline).min()
    }

    /// Requests sent and not yet answered or timed out.
    pub fn in_flight(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Requests waiting for a free identifier.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn submit(&mut self, request: Request, now: Instant) -> Result<RequestId, ClientError> {
        if self.queue.len() >= self.config.max_queued {
            return Err(ClientError::QueueFull(self.queue.len()));
        }
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.queue.push_back(Queued { id, request });
        self.start_queued(now);
        Ok(id)
    }

    /// Gives waiting requests the free identifiers, in order, and sends them.
    fn start_queued(&mut self, now: Instant) {
        while !self.queue.is_empty() {
            let Some(identifier) = self.free_identifier() else {
                return;
            };
            let queued = self.queue.pop_front().expect("not empty");
            let pending = self.first_transmission(queued, identifier, now);
            self.transmit.push_back(Transmit {
                id: pending.id,
                bytes: pending.bytes.clone(),
            });
            self.slots[usize::from(identifier)] = Some(pending);
        }
    }

    /// The next free identifier after the last one used, so a late answer to a finished request
    /// rarely meets a new request with its identifier.
    fn free_identifier(&mut self) -> Option<u8> {
        let start = self.next_identifier;
        let mut candidate = start;
        loop {
            if self.slots[usize::from(candidate)].is_none() {
                self.next_identifier = candidate.wrapping_add(1);
                return Some(candidate);
            }
            candidate = candidate.wrapping_add(1);
            if candidate == start {
                return None;
            }
        }
    }

    fn first_transmission(&mut self, queued: Queued, identifier: u8, now: Instant) -> Pending {
        let secret = &self.config.secret;
        let (bytes, accounting) = match &queued.request {
            Request::Access(request) => {
                let mut authenticator = [0u8; AUTHENTICATOR_LEN];
                self.rng.fill_bytes(&mut authenticator);
                let packet = request
                    .to_packet(identifier, authenticator, secret)
                    .expect("checked when submitted");
                let bytes = authenticator::sign_access_request(
                    &packet,
                    secret,
                    self.config.message_authenticator,
                );
                (bytes.expect("checked when submitted"), false)
            }
            Request::Accounting(request) => {
                let packet = request.to_packet(identifier);
                let bytes = authenticator::sign_accounting_request(&packet, secret);
                (bytes.expect("checked when submitted"), true)
            }
        };
        let mut authenticator = [0u8; AUTHENTICATOR_LEN];
        authenticator.copy_from_slice(&bytes[4..20]);
        Pending {
            id: queued.id,
            accounting,
            bytes,
            authenticator,
            sent: 1,
            first_sent: now,
            deadline: now + self.config.interval,
        }
    }

    fn accept_answer(&mut self, datagram: &[u8], now: Instant) -> Result<(), Discard> {
        let view =
            PacketView::new_checked(datagram).map_err(|e| Discard::Malformed(e.to_string()))?;
        let code = view.code();
        let identifier = view.identifier();
        let pending = self.slots[usize::from(identifier)]
            .as_ref()
            .ok_or(Discard::UnknownIdentifier(identifier))?;
        let answers = match pending.accounting {
            true => code == Code::AccountingResponse,
            false => matches!(
                code,
                Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
            ),
        };
        if !answers {
            return Err(Discard::UnexpectedCode(code));
        }
        let require_ma = self.config.require_message_authenticator && !pending.accounting;
        authenticator::verify_response(
            &view,
            &pending.authenticator,
            &self.config.secret,
            require_ma,
        )
        .map_err(Discard::NotAuthentic)?;
        let pending = self.slots[usize::from(identifier)]
            .take()
            .expect("checked above");
        let packet = Packet::from_view(&view);
        let elapsed = now.saturating_duration_since(pending.first_sent);
        let event = match pending.accounting {
            true => ClientEvent::Accounting {
                id: pending.id,
                outcome: AccountingOutcome::Answered,
                tries: pending.sent,
                elapsed,
            },
            false => ClientEvent::Access {
                id: pending.id,
                outcome: access_outcome(&packet),
                tries: pending.sent,
                elapsed,
            },
        };
        self.events.push_back(event);
        self.start_queued(now);
        Ok(())
    }
}

/// The typed outcome of an authentic Access-Accept, -Reject or -Challenge.
fn access_outcome(packet: &Packet) -> AccessOutcome {
    let reply_message = packet.joined_text(AttributeType::ReplyMessage);
    match packet.code {
        Code::AccessAccept => AccessOutcome::Accept {
            framed_ip: packet.ipv4(AttributeType::FramedIpAddress),
            reply_message,
            session_timeout: packet.integer(AttributeType::SessionTimeout),
        },
        Code::AccessChallenge => AccessOutcome::Challenge {
            untrusted_reply_message: reply_message,
        },
        _ => AccessOutcome::Reject {
            untrusted_reply_message: reply_message,
        },
    }
}
