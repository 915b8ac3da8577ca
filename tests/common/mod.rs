//! A small lab meter for end-to-end tests: a few standard objects served over real loopback sockets.

#![allow(dead_code)]

pub mod python;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reanimator::dlms::acse::Conformance;
use reanimator::dlms::data::Data;
use reanimator::dlms::datetime::{DateTime, DeviationConvention};
use reanimator::dlms::obis::Obis;
use reanimator::dlms::security::{Keys, SystemTitle};
use reanimator::dlms::xdlms::{
    ActionOutcome, ActionResult, AttributeDescriptor, CaptureObject, DataAccessResult,
    MethodDescriptor, SelectiveAccess,
};
use reanimator::net::ServerOptions;
use reanimator::session::{
    AccessContext, Authentication, ClientPolicy, CosemServer, SecuritySetup, ServerConfig,
};

/// 2026-11-26 00:00 local time at UTC+1, in Unix seconds.
pub const DAY_START: i64 = 1_795_647_600;
pub const EK: &str = "000102030405060708090A0B0C0D0E0F";
pub const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
pub const METER_TITLE: &str = "4D4D4D0000BC614E";

/// Clock, a register with scaler -1, a 96-row load profile with range access, and an object list.
pub struct LabMeter;

fn row_time(i: i64) -> Data {
    Data::OctetString(reanimator::dlms::codec::Codec::to_bytes(
        &DateTime::from_unix(DAY_START + i * 900, 60, DeviationConvention::LocalToUtc),
    ))
}

fn row(i: i64) -> Data {
    Data::Structure(vec![
        row_time(i),
        Data::Unsigned(0),
        Data::DoubleLongUnsigned(10_000 + i as u32 * 25),
        Data::DoubleLongUnsigned(i as u32),
    ])
}

fn columns() -> Data {
    Data::Array(vec![
        CaptureObject::new(8, Obis::CLOCK, 2).to_data(),
        CaptureObject::new(1, Obis::PROFILE_STATUS, 2).to_data(),
        CaptureObject::new(3, Obis::ACTIVE_ENERGY_IMPORT, 2).to_data(),
        CaptureObject::new(3, Obis::ACTIVE_ENERGY_EXPORT, 2).to_data(),
    ])
}

fn rows(access: Option<&SelectiveAccess>) -> Result<Data, DataAccessResult> {
    let all = 0..96i64;
    let selected: Vec<Data> = match access {
        None => all.map(row).collect(),
        Some(access) => {
            let range = access.range().map_err(|_| DataAccessResult::OtherReason)?;
            let bound = |d: &Data| {
                d.as_date_time()
                    .and_then(|dt| dt.to_unix(DeviationConvention::LocalToUtc))
                    .ok_or(DataAccessResult::TypeUnmatched)
            };
            let (from, to) = (bound(&range.from)?, bound(&range.to)?);
            all.filter(|i| (from..=to).contains(&(DAY_START + i * 900)))
                .map(row)
                .collect()
        }
    };
    Ok(Data::Array(selected))
}

fn object_list() -> Data {
    let entry = |class: u16, version: u8, obis: Obis| {
        Data::Structure(vec![
            Data::LongUnsigned(class),
            Data::Unsigned(version),
            Data::OctetString(obis.0.to_vec()),
            Data::Structure(vec![Data::Array(vec![]), Data::Array(vec![])]),
        ])
    };
    Data::Array(vec![
        entry(15, 2, Obis::CURRENT_ASSOCIATION),
        entry(1, 0, Obis::LOGICAL_DEVICE_NAME),
        entry(8, 0, Obis::CLOCK),
        entry(3, 0, Obis::ACTIVE_ENERGY_IMPORT),
        entry(7, 1, Obis::LOAD_PROFILE_1),
    ])
}

impl CosemServer for LabMeter {
    fn get(
        &mut self,
        _: &AccessContext,
        a: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        match (a.class_id, a.instance, a.attribute) {
            (15, Obis::CURRENT_ASSOCIATION, 2) => Ok(object_list()),
            (1, Obis::LOGICAL_DEVICE_NAME, 2) => Ok(Data::OctetString(b"MMM0000000001".to_vec())),
            (8, Obis::CLOCK, 2) => Ok(row_time(52)),
            (3, Obis::ACTIVE_ENERGY_IMPORT, 2) => Ok(Data::DoubleLongUnsigned(50_090)),
            (3, Obis::ACTIVE_ENERGY_IMPORT, 3) => {
                Ok(Data::Structure(vec![Data::Integer(-1), Data::Enum(30)]))
            }
            (7, Obis::LOAD_PROFILE_1, 2) => rows(access),
            (7, Obis::LOAD_PROFILE_1, 3) => Ok(columns()),
            (7, Obis::LOAD_PROFILE_1, 4) => Ok(Data::DoubleLongUnsigned(900)),
            (1, Obis::INVOCATION_COUNTER, 2) => Err(DataAccessResult::ReadWriteDenied),
            _ => Err(DataAccessResult::ObjectUndefined),
        }
    }

    fn set(&mut self, _: &AccessContext, _: &AttributeDescriptor, _: Data) -> DataAccessResult {
        DataAccessResult::ReadWriteDenied
    }

    fn action(
        &mut self,
        _: &AccessContext,
        _: &MethodDescriptor,
        _: Option<Data>,
    ) -> ActionOutcome {
        ActionOutcome {
            result: ActionResult::ReadWriteDenied,
            return_parameters: None,
        }
    }
}

pub fn options(max_pdu: u16) -> ServerOptions {
    let config = ServerConfig {
        conformance: Conformance::GET
            | Conformance::SET
            | Conformance::ACTION
            | Conformance::SELECTIVE_ACCESS
            | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
            | Conformance::MULTIPLE_REFERENCES,
        max_receive_pdu: max_pdu,
        security: Some(SecuritySetup {
            system_title: SystemTitle::from_hex(METER_TITLE).unwrap(),
            keys: Keys::from_hex(EK, AK).unwrap(),
            invocation_counter: 1,
        }),
        clients: vec![
            ClientPolicy {
                sap: 16,
                authentication: Authentication::None,
                ciphered: false,
            },
            ClientPolicy {
                sap: 32,
                authentication: Authentication::Low {
                    password: b"12345678".to_vec(),
                },
                ciphered: false,
            },
            ClientPolicy {
                sap: 1,
                authentication: Authentication::HighGmac,
                ciphered: true,
            },
        ],
        inactivity_timeout: Duration::from_secs(30),
    };
    ServerOptions {
        config: Arc::new(config),
        logical_devices: vec![1],
        idle_timeout: Duration::from_secs(30),
    }
}

/// Starts the lab meter on 127.0.0.1 in a background thread and returns its address.
pub fn start_lab_meter(max_pdu: u16) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            reanimator::net::serve(listener, Arc::new(options(max_pdu)), || LabMeter)
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}
