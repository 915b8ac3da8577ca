//! The head-end on tokio: the real clock, real sockets and a real store driving the pure
//! [`Headend`] policy. Reads and operator calls run as tasks; their answers come back over a
//! channel so the policy itself stays single-threaded.

pub mod access;
pub mod inbound;
pub mod reader;
pub mod sidecar_http;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::headend::fleet::ReadMode;
use crate::headend::operator_adapter::{
    AdapterError, CellOutlook, Gathered, OperatorAdapter, ResetKind,
};
use crate::headend::orchestrator::{Action, Headend, ReadFailure, ReadOutcome, Record};
use crate::headend::outage::Outage;
use crate::headend::profile_read;
use crate::store::{OutageFilter, Store, StoreError};
use crate::time::Timestamp;

use access::MeterAccess;
use inbound::{Inbound, Push};
use reader::{Read, ReadTimeouts};

/// The wall clock as the policy sees it.
pub use super::wall_clock as now;

/// Timeouts of the driver.
#[derive(Debug, Clone, Copy)]
pub struct DriverTimeouts {
    pub read: ReadTimeouts,
    /// How long a woken meter may take to call.
    pub wake_up: Duration,
}

/// At most this many answers are handled before the readings they brought are stored.
const MAX_BATCH: usize = 4096;

/// An answer to one of the policy's actions.
enum Done {
    Read(usize, Read),
    Gathered(usize, Box<Result<Gathered, AdapterError>>),
    Reset(usize, ResetKind, Result<String, AdapterError>),
    Outlook(Result<Vec<CellOutlook>, AdapterError>),
}

/// A missing-data signal from another head-end, or its news that data flows again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub meter: usize,
    /// Intervals it could not read; empty when data flows again.
    pub missed: Vec<Timestamp>,
    /// Readings it recovered since (with an empty `missed`).
    pub recovered: u32,
}

/// Everything the running head-end needs.
pub struct Driver<A> {
    pub headend: Headend,
    pub access: Arc<Vec<MeterAccess>>,
    pub adapter: Arc<A>,
    pub store: Arc<Store>,
    pub inbound: Option<Arc<Inbound>>,
    pub pushes: Option<mpsc::UnboundedReceiver<Push>>,
    /// The sidecar's signals.
    pub signals: Option<mpsc::UnboundedReceiver<Signal>>,
    pub timeouts: DriverTimeouts,
}

/// The invocation counters the head-end uses towards each meter, and which changed.
struct Counters {
    next: Vec<u32>,
    dirty: Vec<usize>,
}

/// Loads what the store kept into a fresh head-end: newest intervals, open outages.
pub async fn restore(headend: &mut Headend, store: &Store) -> Result<usize, StoreError> {
    for (meter, until) in store.latest_intervals().await? {
        if let Some(ix) = headend.meter_index(&meter) {
            headend.restore_reading(ix, until);
        }
    }
    let open = store
        .outages(&OutageFilter {
            open_only: true,
            ..OutageFilter::default()
        })
        .await?;
    let n = open.len();
    open.into_iter().for_each(|o| headend.restore_outage(o));
    Ok(n)
}

impl<A: OperatorAdapter + Send + Sync + 'static> Driver<A> {
    /// Runs until `stop` turns true or `until` passes; returns the outages it saw.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        until: Option<Timestamp>,
    ) -> Result<Vec<Outage>, StoreError> {
        let stored: HashMap<String, u32> = self.store.load_counters().await?;
        let next = self.headend.meters().iter();
        let mut counters = Counters {
            next: next
                .map(|m| stored.get(&m.id).copied().unwrap_or(0))
                .collect(),
            dirty: Vec::new(),
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
        let mut pushes = self.pushes.take();
        let mut signals = self.signals.take();
        loop {
            self.dispatch(&tx, &counters.next);
            self.persist(&mut counters).await?;
            let now = now();
            if until.is_some_and(|u| now >= u) || *stop.borrow() {
                return Ok(self.headend.outages().to_vec());
            }
            let deadline = self
                .headend
                .poll_timeout()
                .map_or(now + Duration::from_secs(60), |t| t);
            // Stop on time, not at the policy's next timer (up to a cycle later).
            let deadline = until.map_or(deadline, |u| deadline.min(u));
            let sleep = deadline.since(now);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => self.headend.handle_timeout(self::now()),
                Some(done) = rx.recv() => {
                    self.answer(done, &mut counters);
                    // Answers that arrived meanwhile join it: one store transaction for all.
                    for _ in 0..MAX_BATCH {
                        let Ok(done) = rx.try_recv() else { break };
                        self.answer(done, &mut counters);
                    }
                }
                Some(push) = recv(&mut pushes) => self.pushed(push),
                Some(signal) = recv(&mut signals) => self.signalled(signal),
                _ = stop.changed() => {}
            }
        }
    }

    fn signalled(&mut self, s: Signal) {
        if s.missed.is_empty() {
            self.headend.handle_flowing(now(), s.meter, s.recovered);
        } else {
            self.headend.handle_missing(now(), s.meter, &s.missed);
        }
    }

    fn answer(&mut self, done: Done, counters: &mut Counters) {
        let now = now();
        let h = &mut self.headend;
        match done {
            Done::Read(meter, read) => {
                if let Some(next) = read.next_counter.filter(|n| *n > counters.next[meter]) {
                    counters.next[meter] = next;
                    counters.dirty.push(meter);
                }
                h.handle_read(now, meter, read.outcome);
            }
            Done::Gathered(meter, g) => h.handle_gathered(now, meter, *g),
            Done::Reset(meter, kind, r) => h.handle_reset(now, meter, kind, r),
            Done::Outlook(Ok(o)) => h.handle_outlook(now, o),
            Done::Outlook(Err(e)) => tracing_warn(&format!("outlook failed: {e}")),
        }
    }

    fn pushed(&mut self, push: Push) {
        let convention = self.access[push.meter].convention;
        // A push carrying profile rows is a reading; one carrying only the name is a greeting.
        if let Ok(rows) = profile_read::rows(&push.body, convention) {
            if !rows.is_empty() {
                self.headend.handle_push(now(), push.meter, rows);
            }
        }
    }

    /// Starts a task for every action the policy has.
    fn dispatch(&mut self, tx: &mpsc::UnboundedSender<Done>, counters: &[u32]) {
        while let Some(action) = self.headend.poll_action() {
            let tx = tx.clone();
            let adapter = self.adapter.clone();
            match action {
                Action::Read { meter, from, to } => {
                    let access = self.access.clone();
                    let m = &self.headend.meters()[meter];
                    // Only a wake-up needs the meter's identity (and the listener it calls).
                    let wake_up = match (m.mode, &self.inbound) {
                        (ReadMode::WakeUp, Some(inbound)) => Some((inbound.clone(), m.clone())),
                        _ => None,
                    };
                    let counter = counters[meter];
                    let t = self.timeouts;
                    tokio::spawn(async move {
                        let a = &access[meter];
                        let read = match wake_up {
                            Some((inbound, meter_ref)) => {
                                let called = inbound.expect(meter);
                                let woken = adapter.wake_up(&meter_ref, now()).await;
                                match (woken, tokio::time::timeout(t.wake_up, called).await) {
                                    (Ok(()), Ok(Ok(stream))) => {
                                        reader::read_inbound(stream, a, from, to, counter, t.read)
                                            .await
                                    }
                                    _ => {
                                        inbound.forget(meter);
                                        Read {
                                            outcome: ReadOutcome::Failed(ReadFailure::NoWakeUp),
                                            next_counter: None,
                                        }
                                    }
                                }
                            }
                            None => reader::read_direct(a, from, to, counter, t.read).await,
                        };
                        tx.send(Done::Read(meter, read)).ok();
                    });
                }
                Action::Escalate {
                    meter,
                    earlier_reject,
                } => {
                    let m = self.headend.meters()[meter].clone();
                    tokio::spawn(async move {
                        let g = adapter.gather(&m, now(), earlier_reject.as_ref()).await;
                        tx.send(Done::Gathered(meter, Box::new(g))).ok();
                    });
                }
                Action::Reset {
                    meter,
                    kind,
                    reason,
                } => {
                    let m = self.headend.meters()[meter].clone();
                    tokio::spawn(async move {
                        let r = adapter.reset(&m, kind, &reason, now()).await;
                        tx.send(Done::Reset(meter, kind, r)).ok();
                    });
                }
                Action::Outlook { cells, from, until } => {
                    tokio::spawn(async move {
                        let o = adapter.outlook(&cells, from, until).await;
                        tx.send(Done::Outlook(o)).ok();
                    });
                }
            }
        }
    }

    /// Writes what the policy produced: readings in one transaction, each outage once.
    async fn persist(&mut self, counters: &mut Counters) -> Result<(), StoreError> {
        let dirty: Vec<(String, u32)> = counters
            .dirty
            .drain(..)
            .map(|meter| {
                (
                    self.headend.meters()[meter].id.clone(),
                    counters.next[meter],
                )
            })
            .collect();
        self.store.save_counters(&dirty).await?;
        let mut readings = Vec::new();
        let mut outages: BTreeMap<u64, Outage> = BTreeMap::new();
        while let Some(record) = self.headend.poll_record() {
            match record {
                Record::Readings(r) => readings.extend(r),
                Record::Outage(o) => {
                    outages.insert(o.id, o);
                }
            }
        }
        if !readings.is_empty() {
            self.store.save_readings(&readings).await?;
        }
        for o in outages.values() {
            self.store.save_outage(o).await?;
        }
        Ok(())
    }
}

async fn recv<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn tracing_warn(message: &str) {
    eprintln!("head-end: {message}");
}
