//! Diagnosis: from the evidence gathered about a silent meter to one root cause, a sentence a
//! non-telecom administrator understands, and the gentlest action that fits. Pure.
//!
//! The rules run in order, most specific first; the first that matches decides. Rules of
//! conduct (DESIGN.md): the gentlest action first (wake-up SMS, then delete the data session,
//! then cancel location); no reanimation during planned maintenance or when the cause is a
//! credential or SIM state that a reset cannot cure.

use serde::{Deserialize, Serialize};

/// Root-cause codes of the outage log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RootCause {
    AaaReject,
    AaaUnreachable,
    SimInactive,
    DataBarred,
    NoDataSession,
    StaleSession,
    DeviceDetached,
    SilentTimeout,
    PlannedMaintenance,
    AreaDegraded,
    RadioFailure,
    DlmsAuthFailed,
    MeterNotResponding,
    /// The meter answers but holds no reading for the intervals asked (clock or profile).
    MeterNoData,
    Unknown,
}

impl RootCause {
    /// Every cause, in the order of the log's codes.
    pub const ALL: [RootCause; 15] = [
        RootCause::AaaReject,
        RootCause::AaaUnreachable,
        RootCause::SimInactive,
        RootCause::DataBarred,
        RootCause::NoDataSession,
        RootCause::StaleSession,
        RootCause::DeviceDetached,
        RootCause::SilentTimeout,
        RootCause::PlannedMaintenance,
        RootCause::AreaDegraded,
        RootCause::RadioFailure,
        RootCause::DlmsAuthFailed,
        RootCause::MeterNotResponding,
        RootCause::MeterNoData,
        RootCause::Unknown,
    ];

    /// Whether a reset (data session or location) can cure it.
    pub fn cured_by_reset(self) -> bool {
        matches!(
            self,
            RootCause::NoDataSession | RootCause::StaleSession | RootCause::SilentTimeout
        )
    }

    /// The code as the outage log writes it, e.g. `AAA_REJECT`.
    pub fn code(self) -> &'static str {
        use RootCause as C;
        match self {
            C::AaaReject => "AAA_REJECT",
            C::AaaUnreachable => "AAA_UNREACHABLE",
            C::SimInactive => "SIM_INACTIVE",
            C::DataBarred => "DATA_BARRED",
            C::NoDataSession => "NO_DATA_SESSION",
            C::StaleSession => "STALE_SESSION",
            C::DeviceDetached => "DEVICE_DETACHED",
            C::SilentTimeout => "SILENT_TIMEOUT",
            C::PlannedMaintenance => "PLANNED_MAINTENANCE",
            C::AreaDegraded => "AREA_DEGRADED",
            C::RadioFailure => "RADIO_FAILURE",
            C::DlmsAuthFailed => "DLMS_AUTH_FAILED",
            C::MeterNotResponding => "METER_NOT_RESPONDING",
            C::MeterNoData => "METER_NO_DATA",
            C::Unknown => "UNKNOWN",
        }
    }
}

/// What the head-end should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remedy {
    /// Nothing to do but wait (maintenance, a forecast passing) and backfill afterwards.
    Wait,
    /// Reset the data session (delete PDP context): cures a modem attached without a session.
    ResetDataSession,
    /// Cancel location: forces a re-registration of a modem silent beyond its check-in.
    CancelLocation,
    /// A person must act (credentials, SIM state, keys): resets would not help.
    Report,
    /// Send someone to the meter (power or hardware).
    FieldVisit,
}

impl Remedy {
    /// Whether it is a reset the head-end asks the operator for.
    pub fn is_reset(self) -> bool {
        matches!(self, Remedy::ResetDataSession | Remedy::CancelLocation)
    }
}

/// How the last DLMS attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DlmsAttempt {
    /// The TCP connection was refused or reset: no route to the meter.
    Unreachable,
    /// TCP connected but the meter's application never answered.
    Silent,
    /// The meter refused the association for its keys or password.
    AuthenticationFailed,
    /// The meter answered, without a reading for the intervals asked.
    NoData,
    Ok,
}

/// The data session as the operator reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Signed off the network: no power, or a hardware fault.
    Detached,
    /// Attached (SMS would reach it) but without a data session.
    RegisteredNoSession,
    /// A session is up but passed no traffic for a long time.
    Stale,
    Up,
}

/// A RADIUS verdict the operator recorded for the SIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AaaVerdict {
    Accepted,
    Rejected,
    /// The utility's RADIUS server did not answer.
    TimedOut,
}

/// A credential change from the utility's logbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialChange {
    /// Local wall-clock time as the administrator knows it, e.g. "01:58".
    pub at: String,
    pub by: String,
}

/// A degradation the operator forecast for the meter's area, covering now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForecastDegradation {
    /// No connectivity (NC) rather than marginal (MC).
    pub no_connectivity: bool,
    /// Its end in the head-end's clock, e.g. "17:30".
    pub until: String,
}

/// What the head-end knows about one silent meter when it escalates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub dlms: Option<DlmsAttempt>,
    pub session: Option<SessionState>,
    /// The most recent AAA verdict for the SIM and when ("02:00").
    pub aaa: Option<(AaaVerdict, String)>,
    /// The last credential change before the first reject.
    pub credential_change: Option<CredentialChange>,
    pub sim_active: Option<bool>,
    pub data_barred: bool,
    /// A planned maintenance window covering the meter's cell now: its end ("06:00").
    pub maintenance_until: Option<String>,
    /// An unplanned outage of the meter's cell.
    pub cell_outage: bool,
    pub degradation_forecast: Option<ForecastDegradation>,
    /// The meter has been silent beyond its check-in interval.
    pub beyond_check_in: bool,
}

/// The verdict for one outage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub cause: RootCause,
    pub remedy: Remedy,
    /// One plain-language sentence, with what to do.
    pub sentence: String,
}

/// Decides the root cause from the evidence.
pub fn diagnose(e: &Evidence) -> Diagnosis {
    use Remedy as R;
    use RootCause as C;
    let d = |cause, remedy, sentence: String| Diagnosis {
        cause,
        remedy,
        sentence,
    };
    if let Some(until) = &e.maintenance_until {
        return d(C::PlannedMaintenance, R::Wait, format!(
            "The mobile operator is doing planned maintenance on this meter's radio cell until {until}. Nothing to do: the missing readings will be collected from the meter afterwards."
        ));
    }
    if e.sim_active == Some(false) {
        return d(C::SimInactive, R::Report, "The meter's SIM card is deactivated at the mobile operator. Reactivate the SIM in the operator's portal; resetting the connection will not help.".into());
    }
    if e.data_barred {
        return d(C::DataBarred, R::Report, "The mobile operator has barred data for this meter's SIM (for example a data limit or a block). Lift the bar in the operator's portal; resetting the connection will not help.".into());
    }
    match &e.aaa {
        Some((AaaVerdict::Rejected, since)) => {
            let change = match &e.credential_change {
                Some(c) => format!(": its password was changed at {} by {}", c.at, c.by),
                None => String::new(),
            };
            return d(C::AaaReject, R::Report, format!(
                "Since {since} the utility's RADIUS server has refused this meter's SIM{change}. Revert or update the credential; resetting the connection will not help."
            ));
        }
        Some((AaaVerdict::TimedOut, since)) => {
            return d(C::AaaUnreachable, R::Report, format!(
                "Since {since} the utility's RADIUS server has not answered the mobile operator, so the meter cannot open a data connection. Check that the RADIUS server is running and reachable from the operator."
            ));
        }
        _ => {}
    }
    // A forecast degradation explains a meter without a working session; it passes by itself.
    if let Some(f) = e
        .degradation_forecast
        .as_ref()
        .filter(|_| e.session != Some(SessionState::Up) && !e.cell_outage)
    {
        let what = if f.no_connectivity {
            "no mobile coverage"
        } else {
            "poor radio quality"
        };
        return d(C::AreaDegraded, R::Wait, format!(
            "The mobile operator forecast {what} in this meter's area until {}. Nothing to do: readings will be retried and collected when it improves.", f.until
        ));
    }
    match e.session {
        Some(SessionState::Detached) if e.cell_outage => {
            d(C::RadioFailure, R::Wait, "The radio cell that serves this meter is out of service (an unplanned outage at the mobile operator). Nothing to do on the meter: readings will be collected when the cell is back.".into())
        }
        Some(SessionState::Detached) => d(C::DeviceDetached, R::FieldVisit, "The meter has signed off the mobile network and shows no network activity, which usually means it lost power or has a hardware fault. Send someone to check the meter's power supply.".into()),
        Some(SessionState::RegisteredNoSession) => d(C::NoDataSession, R::ResetDataSession, "The meter is connected to the mobile network but has no data connection. Resetting its data session through the operator usually brings it back; the head-end does this automatically.".into()),
        Some(SessionState::Stale) => d(C::StaleSession, R::ResetDataSession, "The meter's data connection is open but passes no traffic. Resetting its data session through the operator usually brings it back; the head-end does this automatically.".into()),
        Some(SessionState::Up) => match e.dlms {
            Some(DlmsAttempt::AuthenticationFailed) => d(C::DlmsAuthFailed, R::Report, "The meter answers but refuses the head-end's security keys or password. Check the keys configured for this meter in the head-end; resetting the connection will not help.".into()),
            Some(DlmsAttempt::Silent | DlmsAttempt::Unreachable) => d(C::MeterNotResponding, R::FieldVisit, "The mobile network reaches the meter, but the meter's software does not answer. Restart the meter on site or update its firmware.".into()),
            Some(DlmsAttempt::NoData) => no_data(),
            _ => unknown(),
        },
        None if e.dlms == Some(DlmsAttempt::NoData) => no_data(),
        None if e.beyond_check_in => d(C::SilentTimeout, R::CancelLocation, "The meter has been silent for longer than its check-in interval and the operator has no news of it. The head-end asks the operator to make it register again.".into()),
        None => unknown(),
    }
}

fn no_data() -> Diagnosis {
    Diagnosis {
        cause: RootCause::MeterNoData,
        remedy: Remedy::Report,
        sentence: "The meter answers the head-end but has no readings for the missing intervals, so its clock or its load profile is probably wrong. Check the meter's clock and profile settings; resetting the connection will not help.".into(),
    }
}

fn unknown() -> Diagnosis {
    Diagnosis {
        cause: RootCause::Unknown,
        remedy: Remedy::Report,
        sentence: "The meter is silent and the evidence does not point to a known cause. Look at its evidence and the operator's records.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nc_until_1730() -> ForecastDegradation {
        ForecastDegradation {
            no_connectivity: true,
            until: "17:30".into(),
        }
    }

    fn with(f: impl FnOnce(&mut Evidence)) -> Evidence {
        let mut e = Evidence::default();
        f(&mut e);
        e
    }

    #[test]
    fn writes_each_code_as_the_log_and_json_do() {
        for c in RootCause::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.code(), "{c:?}");
        }
    }

    #[test]
    fn decides_each_cause_with_the_gentlest_fitting_remedy() {
        use AaaVerdict as A;
        use RootCause as C;
        use SessionState as S;
        let table: Vec<(Evidence, C, Remedy)> = vec![
            (
                with(|e| {
                    e.maintenance_until = Some("06:00".into());
                    e.session = Some(S::Detached)
                }),
                C::PlannedMaintenance,
                Remedy::Wait,
            ),
            (
                with(|e| e.sim_active = Some(false)),
                C::SimInactive,
                Remedy::Report,
            ),
            (
                with(|e| e.data_barred = true),
                C::DataBarred,
                Remedy::Report,
            ),
            (
                with(|e| e.aaa = Some((A::Rejected, "02:00".into()))),
                C::AaaReject,
                Remedy::Report,
            ),
            (
                with(|e| e.aaa = Some((A::TimedOut, "02:00".into()))),
                C::AaaUnreachable,
                Remedy::Report,
            ),
            (
                with(|e| e.session = Some(S::Detached)),
                C::DeviceDetached,
                Remedy::FieldVisit,
            ),
            (
                with(|e| {
                    e.session = Some(S::Detached);
                    e.cell_outage = true
                }),
                C::RadioFailure,
                Remedy::Wait,
            ),
            (
                with(|e| e.session = Some(S::RegisteredNoSession)),
                C::NoDataSession,
                Remedy::ResetDataSession,
            ),
            (
                with(|e| e.session = Some(S::Stale)),
                C::StaleSession,
                Remedy::ResetDataSession,
            ),
            (
                with(|e| {
                    e.session = Some(S::Up);
                    e.dlms = Some(DlmsAttempt::AuthenticationFailed)
                }),
                C::DlmsAuthFailed,
                Remedy::Report,
            ),
            (
                with(|e| {
                    e.session = Some(S::Up);
                    e.dlms = Some(DlmsAttempt::Silent)
                }),
                C::MeterNotResponding,
                Remedy::FieldVisit,
            ),
            (
                with(|e| e.degradation_forecast = Some(nc_until_1730())),
                C::AreaDegraded,
                Remedy::Wait,
            ),
            (
                with(|e| {
                    e.session = Some(S::Detached);
                    e.degradation_forecast = Some(nc_until_1730())
                }),
                C::AreaDegraded,
                Remedy::Wait,
            ),
            (
                with(|e| e.beyond_check_in = true),
                C::SilentTimeout,
                Remedy::CancelLocation,
            ),
            (Evidence::default(), C::Unknown, Remedy::Report),
        ];
        for (evidence, cause, remedy) in table {
            let d = diagnose(&evidence);
            assert_eq!((d.cause, d.remedy), (cause, remedy), "{evidence:?}");
        }
    }

    #[test]
    fn an_aaa_reject_names_the_credential_change() {
        let e = with(|e| {
            e.aaa = Some((AaaVerdict::Rejected, "02:00".into()));
            e.credential_change = Some(CredentialChange {
                at: "01:58".into(),
                by: "j.doe".into(),
            });
        });
        assert_eq!(
            diagnose(&e).sentence,
            "Since 02:00 the utility's RADIUS server has refused this meter's SIM: its password was changed at 01:58 by j.doe. Revert or update the credential; resetting the connection will not help."
        );
    }

    #[test]
    fn never_resets_what_a_reset_cannot_cure() {
        for e in [
            with(|e| e.maintenance_until = Some("06:00".into())),
            with(|e| e.aaa = Some((AaaVerdict::Rejected, "02:00".into()))),
            with(|e| e.sim_active = Some(false)),
            with(|e| {
                e.session = Some(SessionState::Up);
                e.dlms = Some(DlmsAttempt::AuthenticationFailed)
            }),
        ] {
            let remedy = diagnose(&e).remedy;
            assert!(
                !matches!(remedy, Remedy::ResetDataSession | Remedy::CancelLocation),
                "{e:?}: {remedy:?}"
            );
        }
    }
}
