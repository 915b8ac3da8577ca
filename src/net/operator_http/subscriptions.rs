//! Subscriptions and what they are sent: CAMARA device reachability (CloudEvents), 3GPP T8
//! monitoring events, and maintenance announcements (CloudEvents, our own type).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::webhooks::{Delivery, Sink};
use crate::operator::events::{OperatorEvent, Reachability};
use crate::operator::ids::{Iccid, TenantId};
use crate::operator::monitoring::MonitoringType;
use crate::operator::time::Timestamp;
use crate::operator::Network;

/// The CloudEvents `source` of every event the simulator sends.
pub const SOURCE: &str = "urn:reanimator:operator";
pub const DRS_TYPE_PREFIX: &str = "org.camaraproject.device-reachability-status-subscriptions.v0.";
pub const MAINTENANCE_ANNOUNCED: &str =
    "org.reanimator.maintenance-windows.v0.maintenance-announced";
const CLOUDEVENTS: &str = "application/cloudevents+json";

/// The reachability event types one can subscribe to.
pub const DRS_TYPES: [&str; 3] = [
    "reachability-data",
    "reachability-sms",
    "reachability-disconnected",
];

/// A CAMARA reachability subscription.
#[derive(Debug)]
pub struct DrsSubscription {
    pub tenant: TenantId,
    /// `None`: every SIM of the tenant.
    pub device: Option<Iccid>,
    /// The `Subscription` resource as returned (id, sink, types, config, startsAt, ...).
    pub resource: Value,
    /// Short type, e.g. `reachability-data`.
    pub event: &'static str,
    pub expires_at: Option<Timestamp>,
    pub max_events: Option<u64>,
    pub sent: u64,
    pub sink: Sink,
}

/// A T8 monitoring event subscription.
#[derive(Debug)]
pub struct T8Subscription {
    pub tenant: TenantId,
    pub scs_as_id: String,
    pub device: Option<Iccid>,
    pub monitoring_type: MonitoringType,
    pub resource: Value,
    pub self_link: String,
    pub expires_at: Option<Timestamp>,
    pub max_reports: Option<u64>,
    pub sent: u64,
    pub sink: Sink,
}

/// A maintenance announcement subscription.
#[derive(Debug)]
pub struct MaintenanceSubscription {
    pub tenant: TenantId,
    pub resource: Value,
    pub sink: Sink,
}

/// All subscriptions, by id.
#[derive(Debug, Default)]
pub struct Subscriptions {
    next: u64,
    next_event: u64,
    pub drs: BTreeMap<String, DrsSubscription>,
    pub t8: BTreeMap<String, T8Subscription>,
    pub maintenance: BTreeMap<String, MaintenanceSubscription>,
}

fn cloud_event(id: u64, kind: &str, time: Timestamp, data: Value) -> Delivery {
    Delivery {
        body: json!({
            "id": id.to_string(),
            "source": SOURCE,
            "type": kind,
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "time": time,
            "data": data,
        }),
        content_type: CLOUDEVENTS,
    }
}

/// Why a reachability subscription ended (CAMARA `TerminationReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Termination {
    MaxEventsReached,
    SubscriptionExpired,
    SubscriptionDeleted,
}

impl Subscriptions {
    /// A fresh id with `prefix`.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{:06}", self.next)
    }

    fn event_id(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event
    }

    /// The CloudEvent for a reachability change, for subscription `id`.
    pub fn reachability_event(
        &mut self,
        id: &str,
        kind: &str,
        phone: &str,
        at: Timestamp,
    ) -> Delivery {
        let n = self.event_id();
        cloud_event(
            n,
            &format!("{DRS_TYPE_PREFIX}{kind}"),
            at,
            json!({"device": {"phoneNumber": phone}, "subscriptionId": id}),
        )
    }

    /// Ends a reachability subscription, sending `subscription-ended`.
    pub fn end_drs(
        &mut self,
        id: &str,
        reason: Termination,
        at: Timestamp,
    ) -> Option<DrsSubscription> {
        let sub = self.drs.remove(id)?;
        let n = self.event_id();
        let mut data = json!({"terminationReason": reason, "subscriptionId": id});
        if let Some(device) = sub.resource.pointer("/config/subscriptionDetail/device") {
            data["device"] = device.clone();
        }
        sub.sink.send(cloud_event(
            n,
            &format!("{DRS_TYPE_PREFIX}subscription-ended"),
            at,
            data,
        ));
        Some(sub)
    }

    /// Ends expired subscriptions and forgets those whose sink said 410 Gone.
    pub fn sweep(&mut self, now: Timestamp) {
        let expired: Vec<String> = self
            .drs
            .iter()
            .filter(|(_, s)| s.expires_at.is_some_and(|e| e <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for id in expired {
            self.end_drs(&id, Termination::SubscriptionExpired, now);
        }
        self.drs.retain(|_, s| !s.sink.is_gone());
        self.t8
            .retain(|_, s| !s.sink.is_gone() && s.expires_at.is_none_or(|e| e > now));
        self.maintenance.retain(|_, s| !s.sink.is_gone());
    }

    /// The earliest expiry, for the driver's next wake-up.
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.drs
            .values()
            .filter_map(|s| s.expires_at)
            .chain(self.t8.values().filter_map(|s| s.expires_at))
            .min()
    }

    /// Sends `event` to every matching subscription.
    pub fn dispatch(&mut self, event: &OperatorEvent, net: &Network) {
        match event {
            OperatorEvent::ReachabilityChanged {
                tenant,
                iccid,
                msisdn,
                reachability,
                at,
            } => {
                let kind = match reachability {
                    Reachability::Data => "reachability-data",
                    Reachability::Sms => "reachability-sms",
                    Reachability::Disconnected => "reachability-disconnected",
                };
                let ids: Vec<String> = self
                    .drs
                    .iter()
                    .filter(|(_, s)| {
                        s.tenant == *tenant
                            && s.event == kind
                            && s.device.as_ref().is_none_or(|d| d == iccid)
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for id in ids {
                    let delivery = self.reachability_event(&id, kind, msisdn.as_str(), *at);
                    let sub = self.drs.get_mut(&id).expect("listed");
                    sub.sink.send(delivery);
                    sub.sent += 1;
                    if sub.max_events.is_some_and(|m| sub.sent >= m) {
                        self.end_drs(&id, Termination::MaxEventsReached, *at);
                    }
                }
            }
            OperatorEvent::Monitoring(report) => {
                for sub in self.t8.values_mut() {
                    if sub.tenant != report.tenant
                        || sub.monitoring_type != report.monitoring_type
                        || sub.device.as_ref().is_some_and(|d| *d != report.iccid)
                    {
                        continue;
                    }
                    if sub.max_reports.is_some_and(|m| sub.sent >= m) {
                        continue;
                    }
                    sub.sent += 1;
                    let body =
                        json!({"subscription": sub.self_link, "monitoringEventReports": [report]});
                    sub.sink.send(Delivery {
                        body,
                        content_type: "application/json",
                    });
                }
                self.t8
                    .retain(|_, s| s.max_reports.is_none_or(|m| s.sent < m));
            }
            OperatorEvent::MaintenanceAnnounced(window) => {
                let subs: Vec<(String, TenantId)> = self
                    .maintenance
                    .iter()
                    .map(|(k, s)| (k.clone(), s.tenant.clone()))
                    .collect();
                for (id, tenant) in subs {
                    let devices: Vec<Value> = net
                        .sims_in_cells(&tenant, &window.cells)
                        .into_iter()
                        .map(|(iccid, msisdn)| json!({"iccid": iccid, "phoneNumber": msisdn}))
                        .collect();
                    if devices.is_empty() {
                        continue;
                    }
                    let cells: Vec<Value> = window
                        .cells
                        .iter()
                        .filter_map(|c| net.cell(c))
                        .map(|c| json!(c))
                        .collect();
                    let n = self.event_id();
                    let data = json!({
                        "subscriptionId": id,
                        "maintenanceWindow": window,
                        "impactedCells": cells,
                        "impactedDevices": devices,
                    });
                    let delivery = cloud_event(n, MAINTENANCE_ANNOUNCED, window.announce_at, data);
                    self.maintenance[&id].sink.send(delivery);
                }
            }
            OperatorEvent::SmsDelivered { .. } | OperatorEvent::OperationCompleted(_) => {}
        }
    }
}
