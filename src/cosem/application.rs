//! The simulated meter's COSEM application: answers GET, SET and ACTION from its objects.

use std::sync::Arc;

use crate::dlms::acse::Mechanism;
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::datetime::{DateTime, DeviationConvention};
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    ActionOutcome, ActionResult, AttributeDescriptor, DataAccessResult, MethodDescriptor,
    SelectiveAccess,
};
use crate::session::{AccessContext, CosemServer};

use super::load_profile::{capture_objects, LoadProfile};
use super::objects::{self, class, Access, Role};
use super::readings::LoadModel;

/// What every meter of one profile shares.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSettings {
    pub fleet_seed: u64,
    pub utc_offset_minutes: i16,
    pub convention: DeviationConvention,
    /// Load-profile entries kept (960 = 10 days of 15 minutes).
    pub retention: u32,
    /// Seconds between load-profile captures.
    pub capture_period: i64,
    /// Clock drift in parts per million of elapsed time.
    pub clock_drift_ppm: i32,
    /// The three-letter manufacturer flag that opens logical device names.
    pub manufacturer: [u8; 3],
    /// Auto connect mode (1 always listening, 104 usually disconnected, connects after a wake-up).
    pub auto_connect_mode: u8,
    /// Where pushes go (`host:port`), announced in the push setup.
    pub push_destination: String,
    /// Push transport: 0 TCP, 1 UDP.
    pub push_transport: u8,
}

/// One meter's application state: small, because fleets hold 100,000 of them.
#[derive(Debug, Clone)]
pub struct MeterApplication {
    settings: Arc<MeterSettings>,
    model: LoadModel,
    /// Unix seconds, set by the driver before each request.
    now: i64,
    /// Seconds the management client moved the clock by.
    clock_adjust: i64,
    /// Power-down periods still inside the profile's retention.
    gaps: Vec<(i64, i64)>,
    /// The invocation counter the meter expects next from the management client.
    expected_invocation_counter: u32,
    push_requested: bool,
}

impl MeterApplication {
    pub fn new(settings: Arc<MeterSettings>, serial: u64) -> Self {
        let model = LoadModel::new(settings.fleet_seed, serial, settings.utc_offset_minutes);
        MeterApplication {
            settings,
            model,
            now: 0,
            clock_adjust: 0,
            gaps: Vec::new(),
            expected_invocation_counter: 1,
            push_requested: false,
        }
    }

    pub fn serial(&self) -> u64 {
        self.model.serial()
    }

    pub fn model(&self) -> &LoadModel {
        &self.model
    }

    pub fn set_now(&mut self, unix_secs: i64) {
        self.now = unix_secs;
    }

    /// The 16-byte logical device name: manufacturer flag and 13-digit serial.
    pub fn logical_device_name(&self) -> Vec<u8> {
        logical_device_name(self.settings.manufacturer, self.serial())
    }

    /// Records a power-down `[from, to)`: the profile captured nothing inside it.
    pub fn record_power_down(&mut self, from: i64, to: i64) {
        let horizon = self.now - self.settings.retention as i64 * self.settings.capture_period;
        self.gaps.retain(|(_, end)| *end > horizon);
        self.gaps.push((from, to));
    }

    pub fn set_expected_invocation_counter(&mut self, next: u32) {
        self.expected_invocation_counter = next;
    }

    /// The meter's own clock: true time plus drift since its daily midnight sync, plus any adjustment.
    pub fn meter_time(&self) -> i64 {
        let since_sync = self.now.rem_euclid(86_400);
        self.now + since_sync * self.settings.clock_drift_ppm as i64 / 1_000_000 + self.clock_adjust
    }

    /// Whether the management client invoked `push` since the last call.
    pub fn take_push_request(&mut self) -> bool {
        std::mem::take(&mut self.push_requested)
    }

    fn profile(&self) -> LoadProfile<'_> {
        let s = &self.settings;
        LoadProfile {
            model: &self.model,
            newest: self.model.capture_at_or_before(self.now, s.capture_period),
            period: s.capture_period,
            retention: s.retention,
            utc_offset_minutes: s.utc_offset_minutes,
            convention: s.convention,
            gaps: &self.gaps,
        }
    }

    fn date_time(&self, t: i64) -> Data {
        Data::OctetString(
            DateTime::from_unix(
                t,
                self.settings.utc_offset_minutes,
                self.settings.convention,
            )
            .to_bytes(),
        )
    }

    fn read(
        &self,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        if a.attribute == 1 {
            return Ok(Data::OctetString(a.instance.0.to_vec()));
        }
        let energy = || self.model.energy_at(self.now);
        let s = &self.settings;
        Ok(match (a.class_id, a.instance, a.attribute) {
            (class::DATA, Obis::LOGICAL_DEVICE_NAME, 2) => {
                Data::OctetString(self.logical_device_name())
            }
            (class::DATA, Obis::INVOCATION_COUNTER, 2) => {
                Data::DoubleLongUnsigned(self.expected_invocation_counter)
            }
            (class::DATA, Obis::PROFILE_STATUS, 2) => Data::Unsigned(0),
            (class::CLOCK, _, 2) => self.date_time(self.meter_time()),
            (class::CLOCK, _, 3) => Data::Long(s.convention.deviation(s.utc_offset_minutes)),
            (class::CLOCK, _, 4) => Data::Unsigned(0),
            (class::CLOCK, _, 5 | 6) => self.date_time(0),
            (class::CLOCK, _, 7) => Data::Integer(0),
            (class::CLOCK, _, 8) => Data::Boolean(false),
            (class::CLOCK, _, 9) => Data::Enum(1), // internal crystal
            (class::REGISTER, Obis::ACTIVE_ENERGY_IMPORT, 2) => {
                Data::DoubleLongUnsigned(energy().import_wh as u32)
            }
            (class::REGISTER, Obis::ACTIVE_ENERGY_EXPORT, 2) => {
                Data::DoubleLongUnsigned(energy().export_wh as u32)
            }
            (class::REGISTER, Obis::ACTIVE_POWER_IMPORT, 2) => {
                Data::DoubleLong(self.model.power_at(self.now) as i32)
            }
            (class::REGISTER, Obis::ACTIVE_POWER_IMPORT, 3) => scaler_unit(0, 27),
            (class::REGISTER, _, 3) => scaler_unit(0, 30),
            (class::PROFILE_GENERIC, _, 2) => return self.profile().buffer(access),
            (class::PROFILE_GENERIC, _, 3) => {
                Data::Array(capture_objects().iter().map(|c| c.to_data()).collect())
            }
            (class::PROFILE_GENERIC, _, 4) => {
                Data::DoubleLongUnsigned(self.settings.capture_period as u32)
            }
            (class::PROFILE_GENERIC, _, 5) => Data::Enum(1), // fifo
            (class::PROFILE_GENERIC, _, 6) => capture_objects()[0].to_data(),
            (class::PROFILE_GENERIC, _, 7) => {
                Data::DoubleLongUnsigned(self.profile().entries_in_use())
            }
            (class::PROFILE_GENERIC, _, 8) => Data::DoubleLongUnsigned(s.retention),
            (class::AUTO_CONNECT, _, 2) => Data::Enum(s.auto_connect_mode),
            (class::AUTO_CONNECT, _, 3) => Data::Unsigned(3),
            (class::AUTO_CONNECT, _, 4) => Data::LongUnsigned(60),
            (class::AUTO_CONNECT, _, 5) => Data::Array(vec![]),
            (class::AUTO_CONNECT, _, 6) => Data::Array(vec![Data::OctetString(
                s.push_destination.as_bytes().to_vec(),
            )]),
            (class::PUSH_SETUP, _, 2) => {
                Data::Array(vec![push_object(class::DATA, Obis::LOGICAL_DEVICE_NAME)])
            }
            (class::PUSH_SETUP, _, 3) => Data::Structure(vec![
                Data::Enum(s.push_transport),
                Data::OctetString(s.push_destination.as_bytes().to_vec()),
                Data::Enum(0), // A-XDR encoded xDLMS APDU
            ]),
            (class::PUSH_SETUP, _, 4) => Data::Array(vec![]),
            (class::PUSH_SETUP, _, 5) => Data::LongUnsigned(0),
            (class::PUSH_SETUP, _, 6) => Data::Unsigned(3),
            (class::PUSH_SETUP, _, 7) => Data::LongUnsigned(30),
            _ => return Err(DataAccessResult::ObjectUnavailable),
        })
    }
}

/// The 16-byte logical device name of a meter: manufacturer flag and 13-digit serial.
pub fn logical_device_name(manufacturer: [u8; 3], serial: u64) -> Vec<u8> {
    let mut name = manufacturer.to_vec();
    name.extend_from_slice(format!("{:013}", serial % 10_u64.pow(13)).as_bytes());
    name
}

fn scaler_unit(scaler: i8, unit: u8) -> Data {
    Data::Structure(vec![Data::Integer(scaler), Data::Enum(unit)])
}

fn push_object(class_id: u16, obis: Obis) -> Data {
    Data::Structure(vec![
        Data::LongUnsigned(class_id),
        Data::OctetString(obis.0.to_vec()),
        Data::Integer(2),
        Data::LongUnsigned(0),
    ])
}

fn role(ctx: &AccessContext) -> Role {
    match ctx.mechanism {
        Mechanism::Lowest => Role::Public,
        _ => Role::Management,
    }
}

impl CosemServer for MeterApplication {
    fn get(
        &mut self,
        ctx: &AccessContext,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        let object =
            objects::find(a.class_id, a.instance).ok_or(DataAccessResult::ObjectUndefined)?;
        if (class::ASSOCIATION_LN, 2) == (a.class_id, a.attribute) {
            return Ok(objects::object_list(role(ctx)));
        }
        match objects::attribute_access(role(ctx), object, a.attribute) {
            Access::None => Err(DataAccessResult::ReadWriteDenied),
            _ => self.read(a, access),
        }
    }

    fn set(
        &mut self,
        ctx: &AccessContext,
        a: &AttributeDescriptor,
        value: Data,
    ) -> DataAccessResult {
        let Some(object) = objects::find(a.class_id, a.instance) else {
            return DataAccessResult::ObjectUndefined;
        };
        if objects::attribute_access(role(ctx), object, a.attribute) != Access::ReadWrite {
            return DataAccessResult::ReadWriteDenied;
        }
        match (a.class_id, a.attribute, value.as_date_time()) {
            (class::CLOCK, 2, Some(dt)) => match dt.to_unix(self.settings.convention) {
                Some(t) => {
                    self.clock_adjust += t - self.meter_time();
                    DataAccessResult::Success
                }
                None => DataAccessResult::TypeUnmatched,
            },
            (class::CLOCK, _, _) => DataAccessResult::TypeUnmatched,
            // The connectivity settings are fixed by the fleet's profile.
            _ => DataAccessResult::TemporaryFailure,
        }
    }

    fn action(
        &mut self,
        ctx: &AccessContext,
        m: &MethodDescriptor,
        _parameters: Option<Data>,
    ) -> ActionOutcome {
        let allowed = objects::find(m.class_id, m.instance)
            .is_some_and(|o| objects::method_access(role(ctx), o, m.method));
        let result = match (allowed, m.class_id) {
            (false, _) => ActionResult::ReadWriteDenied,
            (true, class::PUSH_SETUP) => {
                self.push_requested = true;
                ActionResult::Success
            }
            (true, _) => ActionResult::TemporaryFailure,
        };
        ActionOutcome {
            result,
            return_parameters: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_694_400; // 2026-11-26T13:00+01:00

    fn settings() -> Arc<MeterSettings> {
        Arc::new(MeterSettings {
            fleet_seed: 7,
            utc_offset_minutes: 60,
            convention: DeviationConvention::LocalToUtc,
            retention: 960,
            capture_period: 900,
            clock_drift_ppm: 0,
            manufacturer: *b"RNM",
            auto_connect_mode: 1,
            push_destination: "127.0.0.1:4059".into(),
            push_transport: 0,
        })
    }

    fn meter() -> MeterApplication {
        let mut m = MeterApplication::new(settings(), 42);
        m.set_now(NOW);
        m
    }

    const PUBLIC: AccessContext = AccessContext {
        client_sap: 16,
        mechanism: Mechanism::Lowest,
    };
    const MANAGEMENT: AccessContext = AccessContext {
        client_sap: 1,
        mechanism: Mechanism::HighGmac,
    };

    #[test]
    fn registers_equal_the_deterministic_function() {
        let mut m = meter();
        let a_plus = m
            .get(
                &PUBLIC,
                &AttributeDescriptor::new(3, Obis::ACTIVE_ENERGY_IMPORT, 2),
                None,
            )
            .unwrap();
        let expected = LoadModel::new(7, 42, 60).energy_at(NOW).import_wh as u32;
        assert_eq!(a_plus, Data::DoubleLongUnsigned(expected));
        let scaler = m
            .get(
                &PUBLIC,
                &AttributeDescriptor::new(3, Obis::ACTIVE_ENERGY_IMPORT, 3),
                None,
            )
            .unwrap();
        assert_eq!(
            scaler,
            Data::Structure(vec![Data::Integer(0), Data::Enum(30)])
        );
    }

    #[test]
    fn names_itself_with_sixteen_bytes() {
        assert_eq!(meter().logical_device_name(), b"RNM0000000000042".to_vec());
    }

    #[test]
    fn the_public_client_cannot_see_connectivity_settings_or_write() {
        let mut m = meter();
        let push = AttributeDescriptor::new(class::PUSH_SETUP, objects::PUSH_ON_CONNECTIVITY, 3);
        assert_eq!(
            m.get(&PUBLIC, &push, None),
            Err(DataAccessResult::ReadWriteDenied)
        );
        assert!(m.get(&MANAGEMENT, &push, None).is_ok());
        let clock = AttributeDescriptor::new(class::CLOCK, Obis::CLOCK, 2);
        assert_eq!(
            m.set(&PUBLIC, &clock, m.date_time(NOW)),
            DataAccessResult::ReadWriteDenied
        );
        let unknown = AttributeDescriptor::new(3, Obis::new(1, 0, 31, 7, 0, 255), 2);
        assert_eq!(
            m.get(&PUBLIC, &unknown, None),
            Err(DataAccessResult::ObjectUndefined)
        );
    }

    #[test]
    fn management_sets_the_clock() {
        let mut m = meter();
        let clock = AttributeDescriptor::new(class::CLOCK, Obis::CLOCK, 2);
        assert_eq!(
            m.set(&MANAGEMENT, &clock, m.date_time(NOW + 120)),
            DataAccessResult::Success
        );
        assert_eq!(m.meter_time(), NOW + 120);
        assert_eq!(
            m.get(&PUBLIC, &clock, None).unwrap(),
            m.date_time(NOW + 120)
        );
    }

    #[test]
    fn push_is_a_management_method() {
        let mut m = meter();
        let push = MethodDescriptor {
            class_id: class::PUSH_SETUP,
            instance: objects::PUSH_ON_CONNECTIVITY,
            method: 1,
        };
        assert_eq!(
            m.action(&PUBLIC, &push, None).result,
            ActionResult::ReadWriteDenied
        );
        assert!(!m.take_push_request());
        assert_eq!(
            m.action(&MANAGEMENT, &push, Some(Data::Integer(0))).result,
            ActionResult::Success
        );
        assert!(m.take_push_request());
    }

    #[test]
    fn drift_stays_within_what_the_ppm_allows() {
        let mut m = MeterApplication::new(
            Arc::new(MeterSettings {
                clock_drift_ppm: 50,
                ..(*settings()).clone()
            }),
            1,
        );
        m.set_now(NOW);
        let drift = m.meter_time() - NOW;
        assert!((0..=5).contains(&drift), "{drift}");
    }
}
