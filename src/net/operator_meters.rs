//! The link from the simulated operator to simulated meters (issue #4 §4): when the operator's
//! model changes what a SIM can do, the meter's modem follows, through the fleet's control port
//! named in the manifest. A SIM without a data session makes its meter refuse connections; an
//! SMS that reaches the modem wakes the meter up.

use std::collections::HashMap;

use serde_json::json;
use tokio::sync::mpsc;

use crate::operator::events::{OperatorEvent, Reachability};
use crate::operator::ids::Iccid;
use crate::operator::FleetManifest;

/// One change to carry to a meter's control port, in the order the model made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterCommand {
    /// `PUT {control}/meters/{id}/modem`.
    Modem { url: String, modem: &'static str },
    /// `POST {control}/meters/{id}/wakeup`.
    Wakeup { url: String },
}

/// Which meters have a control port, by ICCID.
#[derive(Debug, Clone, Default)]
pub struct MeterLink {
    meters: HashMap<Iccid, String>,
    queue: Option<mpsc::UnboundedSender<MeterCommand>>,
}

impl MeterLink {
    /// The meters of `fleet` that name a control port; starts the forwarding task if any do.
    pub fn new(fleet: &FleetManifest, http: reqwest::Client) -> Self {
        let meters: HashMap<Iccid, String> = fleet
            .meters
            .iter()
            .filter_map(|m| {
                Some((
                    m.iccid.clone(),
                    format!(
                        "{}/meters/{}",
                        m.control.as_deref()?.trim_end_matches('/'),
                        m.id
                    ),
                ))
            })
            .collect();
        if meters.is_empty() {
            return MeterLink::default();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(forward(rx, http));
        MeterLink {
            meters,
            queue: Some(tx),
        }
    }

    /// The command an operator event means for its meter, if any.
    pub fn command(&self, event: &OperatorEvent) -> Option<MeterCommand> {
        match event {
            OperatorEvent::ReachabilityChanged {
                iccid,
                reachability,
                ..
            } => {
                let modem = match reachability {
                    Reachability::Data => "online",
                    Reachability::Sms => "no-data-session",
                    Reachability::Disconnected => "detached",
                };
                Some(MeterCommand::Modem {
                    url: format!("{}/modem", self.meters.get(iccid)?),
                    modem,
                })
            }
            OperatorEvent::SmsDelivered { iccid, .. } => Some(MeterCommand::Wakeup {
                url: format!("{}/wakeup", self.meters.get(iccid)?),
            }),
            _ => None,
        }
    }

    /// A power loss or restore injected at the operator also cuts or restores the meter's power.
    pub fn power(&self, iccid: &Iccid, on: bool) {
        if let Some(base) = self.meters.get(iccid) {
            let modem = if on { "detached" } else { "powered-off" };
            self.send(MeterCommand::Modem {
                url: format!("{base}/modem"),
                modem,
            });
        }
    }

    /// Queues the command for `event`, if its meter has a control port.
    pub fn forward(&self, event: &OperatorEvent) {
        if let Some(command) = self.command(event) {
            self.send(command);
        }
    }

    fn send(&self, command: MeterCommand) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(command);
        }
    }
}

/// Delivers commands one after another, so a meter sees its modem's changes in order.
async fn forward(mut rx: mpsc::UnboundedReceiver<MeterCommand>, http: reqwest::Client) {
    while let Some(command) = rx.recv().await {
        let request = match &command {
            MeterCommand::Modem { url, modem } => http.put(url).json(&json!({ "modem": modem })),
            MeterCommand::Wakeup { url } => http.post(url),
        };
        if let Err(e) = request
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
        {
            eprintln!("operator: cannot reach the meter fleet for {command:?}: {e}");
        }
    }
}
