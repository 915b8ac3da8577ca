//! SIM actions: connectivity reset, status change and SMS; rate-limited, audited, tenant-scoped.

use std::time::Duration;

use rand::Rng;

use super::{Due, LimitKind, Network};
use crate::operator::actions::{
    ActionKind, Actor, AuditEntry, AuditOutcome, Operation, OperationStatus, ResetKind,
};
use crate::operator::events::OperatorEvent;
use crate::operator::ids::{Iccid, TenantId};
use crate::operator::modem::{Input, ModemState};
use crate::operator::ratelimit::TokenBucket;
use crate::operator::sim::SimStatus;
use crate::operator::sms::{Sms, SmsStatus, MAX_SMS_CHARS};
use crate::operator::time::Timestamp;

/// Why an action or query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// No such SIM for this tenant (another tenant's SIM looks the same: nothing leaks).
    #[error("no such SIM")]
    NotFound,
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("rate limit for {what} reached; retry after {retry_after:?}")]
    RateLimited {
        what: &'static str,
        retry_after: Duration,
    },
}

/// A status change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: SimStatus,
    pub reason: String,
}

/// An SMS to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRequest {
    pub text: String,
    /// Defaults to the configured validity.
    pub validity: Option<Duration>,
    pub reason: String,
}

impl Network {
    /// The SIM's index if it belongs to `tenant`.
    pub(super) fn find(&self, tenant: &TenantId, iccid: &Iccid) -> Result<usize, ActionError> {
        match self.by_iccid.get(iccid) {
            Some(&idx) if self.sims[idx].sim.tenant == *tenant => Ok(idx),
            _ => Err(ActionError::NotFound),
        }
    }

    fn take_token(
        &mut self,
        tenant: &TenantId,
        kind: LimitKind,
        now: Timestamp,
    ) -> Result<(), Duration> {
        let limits = &self.config.limits;
        let rate = match kind {
            LimitKind::Api => limits.api,
            LimitKind::Reset => limits.reset,
            LimitKind::CancelLocation => limits.cancel_location,
            LimitKind::StatusChange => limits.status_change,
            LimitKind::Sms => limits.sms,
        };
        self.limits
            .entry((tenant.clone(), kind))
            .or_insert_with(|| TokenBucket::new(rate, now))
            .try_take(now)
    }

    /// Admits one API request of `tenant`, or says when to retry.
    pub fn admit(&mut self, tenant: &TenantId, now: Timestamp) -> Result<(), Duration> {
        self.advance(now);
        self.take_token(tenant, LimitKind::Api, now)
    }

    fn audit(
        &mut self,
        actor: &Actor,
        action: ActionKind,
        iccid: &Iccid,
        why: &str,
        outcome: AuditOutcome,
        detail: String,
    ) {
        if self.audit.len() >= self.config.audit_entries.max(1) {
            self.audit.pop_front();
        }
        self.audit.push_back(AuditEntry {
            time: self.now,
            tenant: actor.tenant.clone(),
            who: actor.principal.clone(),
            action,
            iccid: iccid.clone(),
            why: if why.trim().is_empty() {
                "(no reason given)".into()
            } else {
                why.to_string()
            },
            outcome,
            detail,
        });
    }

    /// Spends a token of `kind`, auditing a refusal.
    fn limited(
        &mut self,
        actor: &Actor,
        kind: LimitKind,
        action: ActionKind,
        iccid: &Iccid,
        why: &str,
        what: &'static str,
    ) -> Result<(), ActionError> {
        let now = self.now;
        self.take_token(&actor.tenant, kind, now)
            .map_err(|retry_after| {
                let detail = format!(
                    "refused: the {what} limit is reached; retry in {} s",
                    retry_after.as_secs_f64().ceil()
                );
                self.audit(actor, action, iccid, why, AuditOutcome::RateLimited, detail);
                ActionError::RateLimited { what, retry_after }
            })
    }

    /// Starts a connectivity reset; it completes asynchronously (see [`Network::operation`] and
    /// the `OperationCompleted` event).
    pub fn reset_connectivity(
        &mut self,
        actor: &Actor,
        iccid: &Iccid,
        reset: ResetKind,
        reason: &str,
        now: Timestamp,
    ) -> Result<Operation, ActionError> {
        self.advance(now);
        let idx = self.find(&actor.tenant, iccid)?;
        if !reset.delete_data_session && !reset.cancel_location {
            return Err(ActionError::InvalidArgument {
                field: "deleteDataSession",
                message: "at least one of deleteDataSession and cancelLocation must be true".into(),
            });
        }
        let action = ActionKind::ConnectivityReset;
        if let Some(pending) = self.sims[idx].pending_reset.clone() {
            self.audit(
                actor,
                action,
                iccid,
                reason,
                AuditOutcome::Refused,
                format!("refused: reset {pending} is still in progress"),
            );
            return Err(ActionError::Conflict(format!(
                "a connectivity reset of this SIM is already in progress ({pending})"
            )));
        }
        self.limited(
            actor,
            LimitKind::Reset,
            action,
            iccid,
            reason,
            "connectivity resets",
        )?;
        if reset.cancel_location {
            self.limited(
                actor,
                LimitKind::CancelLocation,
                ActionKind::CancelLocation,
                iccid,
                reason,
                "cancel locations",
            )?;
        }
        self.next_operation += 1;
        let op = Operation {
            operation_id: format!("op-{:06}", self.next_operation),
            tenant: actor.tenant.clone(),
            iccid: iccid.clone(),
            reset,
            requested_by: actor.principal.clone(),
            reason: reason.to_string(),
            requested_at: self.now,
            status: OperationStatus::Pending,
            completed_at: None,
            result: None,
        };
        let what = match (reset.delete_data_session, reset.cancel_location) {
            (true, true) => "delete the data session and cancel location",
            (false, true) => "cancel location",
            _ => "delete the data session",
        };
        self.audit(
            actor,
            action,
            iccid,
            reason,
            AuditOutcome::Accepted,
            format!("{} queued: {what}", op.operation_id),
        );
        self.sims[idx].pending_reset = Some(op.operation_id.clone());
        self.operations.insert(op.operation_id.clone(), op.clone());
        let d = self.jittered(self.config.reset_delay);
        self.schedule(self.now + d, Due::Operation(op.operation_id.clone()));
        let line = format!(
            "{} asked to {what} ({}); operation {}.",
            actor.principal, op.reason, op.operation_id
        );
        self.sim_event(
            idx,
            "CONNECTIVITY_RESET_REQUESTED",
            line,
            Some(op.operation_id.clone()),
        );
        Ok(op)
    }

    pub(super) fn complete_operation(&mut self, id: &str) {
        let Some(op) = self.operations.get(id).cloned() else {
            return;
        };
        let idx = self.by_iccid[&op.iccid];
        self.sims[idx].pending_reset = None;
        let attached = self.sims[idx].modem.state.attached();
        let had_session = matches!(self.sims[idx].modem.state, ModemState::SessionUp(_));
        let result = if op.reset.cancel_location {
            let p = self.config.stay_off_after_cancel_location.clamp(0.0, 1.0);
            let stay_off = self.rng.gen_bool(p);
            self.step(idx, Input::CancelLocation { stay_off }, None);
            if !attached {
                "The device was not registered; there was no location to cancel.".to_string()
            } else if stay_off {
                "Location cancelled. The device has not come back; it may need a power cycle."
                    .to_string()
            } else {
                "Location cancelled; the device will register again.".to_string()
            }
        } else {
            self.step(idx, Input::DeleteDataSession, None);
            if had_session {
                "The data session was deleted; the device will set up a new one.".to_string()
            } else if attached {
                "The device had no data session; it was told to set one up.".to_string()
            } else {
                "The device is not on the network; there was no data session to delete.".to_string()
            }
        };
        let op = self.operations.get_mut(id).expect("present");
        op.status = OperationStatus::Completed;
        op.completed_at = Some(self.now);
        op.result = Some(result.clone());
        let op = op.clone();
        self.sim_event(
            idx,
            "CONNECTIVITY_RESET_COMPLETED",
            format!("Operation {id} completed: {result}"),
            Some(id.to_string()),
        );
        self.events_out
            .push_back(OperatorEvent::OperationCompleted(op));
    }

    /// A reset operation of `tenant`.
    pub fn operation(&self, tenant: &TenantId, id: &str) -> Option<&Operation> {
        self.operations.get(id).filter(|op| op.tenant == *tenant)
    }

    /// Changes a SIM's status; the network acts on it at once.
    pub fn change_status(
        &mut self,
        actor: &Actor,
        iccid: &Iccid,
        change: &StatusChange,
        now: Timestamp,
    ) -> Result<SimStatus, ActionError> {
        self.advance(now);
        let idx = self.find(&actor.tenant, iccid)?;
        let action = ActionKind::StatusChange;
        let from = self.sims[idx].sim.status;
        if !from.may_change_to(change.status) {
            let message = if from == SimStatus::Retired {
                "the SIM is RETIRED; a retired SIM cannot change status".to_string()
            } else {
                format!("the SIM is already {}", from.name())
            };
            self.audit(
                actor,
                action,
                iccid,
                &change.reason,
                AuditOutcome::Refused,
                format!("refused: {message}"),
            );
            return Err(ActionError::Conflict(message));
        }
        self.limited(
            actor,
            LimitKind::StatusChange,
            action,
            iccid,
            &change.reason,
            "status changes",
        )?;
        self.audit(
            actor,
            action,
            iccid,
            &change.reason,
            AuditOutcome::Accepted,
            format!("{} -> {}", from.name(), change.status.name()),
        );
        self.set_status(idx, change.status, &actor.principal);
        Ok(from)
    }

    pub(super) fn set_status(&mut self, idx: usize, to: SimStatus, by: &str) {
        let from = self.sims[idx].sim.status;
        self.sims[idx].sim.status = to;
        self.sim_event(
            idx,
            "STATUS_CHANGED",
            format!(
                "{by} changed the SIM's status from {} to {}.",
                from.name(),
                to.name()
            ),
            None,
        );
        match (from.may_attach(), to.may_attach()) {
            (true, false) => self.step(idx, Input::SimDeactivated, None),
            (false, true) => self.step(idx, Input::SimActivated, None),
            _ => {}
        }
    }

    /// Queues an SMS; it is delivered when the device is registered, or expires.
    pub fn send_sms(
        &mut self,
        actor: &Actor,
        iccid: &Iccid,
        req: &SmsRequest,
        now: Timestamp,
    ) -> Result<Sms, ActionError> {
        self.advance(now);
        let idx = self.find(&actor.tenant, iccid)?;
        let chars = req.text.chars().count();
        if chars == 0 || chars > MAX_SMS_CHARS {
            return Err(ActionError::InvalidArgument {
                field: "text",
                message: format!("must be 1 to {MAX_SMS_CHARS} characters, got {chars}"),
            });
        }
        let validity = req.validity.unwrap_or(self.config.sms_default_validity);
        if validity.is_zero() || validity > self.config.sms_max_validity {
            return Err(ActionError::InvalidArgument {
                field: "validitySeconds",
                message: format!(
                    "must be 1 to {} seconds",
                    self.config.sms_max_validity.as_secs()
                ),
            });
        }
        let action = ActionKind::SendSms;
        if self.sims[idx].sms_queue.len() >= self.config.sms_queue_limit {
            self.audit(
                actor,
                action,
                iccid,
                &req.reason,
                AuditOutcome::Refused,
                "refused: the SMS queue for this SIM is full".into(),
            );
            return Err(ActionError::RateLimited {
                what: "queued SMS per SIM",
                retry_after: self.config.sms_delivery_delay.max(Duration::from_secs(1)),
            });
        }
        self.limited(actor, LimitKind::Sms, action, iccid, &req.reason, "SMS")?;
        self.next_sms += 1;
        let sms = Sms {
            id: format!("sms-{:06}", self.next_sms),
            iccid: iccid.clone(),
            text: req.text.clone(),
            submitted_at: self.now,
            expires_at: self.now + validity,
            status: SmsStatus::Queued,
            delivered_at: None,
            requested_by: actor.principal.clone(),
        };
        self.audit(
            actor,
            action,
            iccid,
            &req.reason,
            AuditOutcome::Accepted,
            format!("{} queued", sms.id),
        );
        self.sims[idx].sms_queue.push(sms.id.clone());
        self.sms.insert(sms.id.clone(), sms.clone());
        let d = self.jittered(self.config.sms_delivery_delay);
        self.schedule(self.now + d, Due::SmsDeliver(sms.id.clone()));
        self.schedule(sms.expires_at, Due::SmsExpire(sms.id.clone()));
        self.sim_event(
            idx,
            "SMS_QUEUED",
            format!("{} sent SMS {} ({}).", actor.principal, sms.id, req.reason),
            None,
        );
        Ok(sms)
    }

    /// An SMS's delivery receipt.
    pub fn sms_receipt(
        &self,
        tenant: &TenantId,
        iccid: &Iccid,
        sms_id: &str,
    ) -> Result<&Sms, ActionError> {
        self.find(tenant, iccid)?;
        self.sms
            .get(sms_id)
            .filter(|s| s.iccid == *iccid)
            .ok_or(ActionError::NotFound)
    }

    /// The tenant's audit trail, newest last, at most `limit` entries.
    pub fn audit_trail(&self, tenant: &TenantId, limit: usize) -> Vec<&AuditEntry> {
        let mut v: Vec<&AuditEntry> = self
            .audit
            .iter()
            .rev()
            .filter(|a| a.tenant == *tenant)
            .take(limit)
            .collect();
        v.reverse();
        v
    }
}
