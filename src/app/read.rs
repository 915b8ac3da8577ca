//! `reanimator read`: a one-shot lab client that reads one meter over the TCP wrapper.

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{exit, Failure};
use crate::dlms::data::Data;
use crate::dlms::datetime::{Date, DateTime, DeviationConvention, Time};
use crate::dlms::obis::Obis;
use crate::dlms::security::{Keys, SystemTitle};
use crate::dlms::xdlms::{
    AttributeDescriptor, CaptureObject, GetDataResult, RangeDescriptor, SelectiveAccess,
};
use crate::net::{ClientError, DlmsClient};
use crate::session::{Authentication, ClientConfig, Response, SecuritySetup, SessionError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    None,
    Lls,
    HlsGmac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviationArg {
    /// Blue Book: minutes from local time to UTC (UTC+1 is -60).
    BlueBook,
    /// Inverted sign (UTC+1 is +60), as some meters and gurux's useUtc2NormalTime.
    Inverted,
}

/// Reads one meter: a value (--obis), a profile (--profile) or the object list (--objects).
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The meter's address, host:port (DLMS's port is 4059).
    pub addr: String,
    /// Our wPort: 16 public client, 1 management, 102 pre-established.
    #[arg(long, default_value_t = 16)]
    pub client_sap: u16,
    /// The meter's logical device wPort (1 = management logical device).
    #[arg(long, default_value_t = 1)]
    pub server_sap: u16,
    #[arg(long, value_enum, default_value = "none")]
    pub auth: AuthArg,
    /// The LLS password.
    #[arg(long)]
    pub password: Option<String>,
    /// Our system title (8 bytes hex), for HLS-GMAC and ciphering.
    #[arg(long, default_value = "5245414E494D3031")]
    pub system_title: String,
    /// Global encryption key (16 bytes hex).
    #[arg(long)]
    pub ek: Option<String>,
    /// Authentication key (16 bytes hex).
    #[arg(long)]
    pub ak: Option<String>,
    /// Use the LN-with-ciphering context (every request glo-ciphered); implied by --ek with HLS-GMAC.
    #[arg(long)]
    pub cipher: bool,
    /// Our first invocation counter; must be above the last one the meter saw from us.
    #[arg(long, default_value_t = 1)]
    pub invocation_counter: u32,
    /// The object to read, e.g. 1-0:1.8.0.255.
    #[arg(long, conflicts_with_all = ["profile", "objects"])]
    pub obis: Option<String>,
    /// Its interface class (1 Data, 3 Register, 7 Profile generic, 8 Clock, ...).
    #[arg(long, default_value_t = 1)]
    pub class: u16,
    #[arg(long, default_value_t = 2)]
    pub attr: i8,
    /// A profile generic to read as rows, e.g. 1-0:99.1.0.255.
    #[arg(long, conflicts_with = "objects")]
    pub profile: Option<String>,
    /// First row time (e.g. 2026-11-26T00:00:00+01:00); with --to, reads by range.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// List the association's objects.
    #[arg(long)]
    pub objects: bool,
    #[arg(long)]
    pub json: bool,
    /// How the meter signs date-time deviations.
    #[arg(long, value_enum, default_value = "blue-book")]
    pub deviation: DeviationArg,
    /// Seconds to wait for the connection and for each answer.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
    /// The largest APDU we accept (the meter splits longer answers into blocks).
    #[arg(long, default_value_t = 0xFFFF)]
    pub max_pdu: u16,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let code = match &e {
            ClientError::Connect { .. } => exit::CANNOT_CONNECT,
            ClientError::Session(
                SessionError::Refused(_) | SessionError::AuthenticationFailed(_),
            ) => exit::REFUSED,
            _ => exit::FAILURE,
        };
        Failure::new(code, e.to_string())
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(exit::INVALID_INPUT, message.into())
}

/// Runs the command; returns the exit status after printing the result or one error line.
pub fn run(args: ReadArgs) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(read(&args)) {
        Ok(output) => {
            println!("{output}");
            exit::OK
        }
        Err(Failure {
            status: code,
            message,
        }) => {
            eprintln!("reanimator read: {message}");
            code
        }
    }
}

async fn read(args: &ReadArgs) -> Result<String, Failure> {
    let config = client_config(args)?;
    let convention = match args.deviation {
        DeviationArg::BlueBook => DeviationConvention::LocalToUtc,
        DeviationArg::Inverted => DeviationConvention::UtcToLocal,
    };
    let timeout = Duration::from_secs_f64(args.timeout.max(0.001));
    let mut client = DlmsClient::connect(
        &args.addr,
        args.client_sap,
        args.server_sap,
        config,
        timeout,
    )
    .await?;
    client.associate().await?;
    let output = if args.objects {
        read_objects(&mut client, args.json).await?
    } else if let Some(profile) = &args.profile {
        let range = match (&args.from, &args.to) {
            (Some(from), Some(to)) => {
                Some((parse_time(from, convention)?, parse_time(to, convention)?))
            }
            _ => None,
        };
        read_profile(
            &mut client,
            parse_obis(profile)?,
            range,
            args.json,
            convention,
        )
        .await?
    } else if let Some(obis) = &args.obis {
        read_value(
            &mut client,
            AttributeDescriptor::new(args.class, parse_obis(obis)?, args.attr),
            args.json,
        )
        .await?
    } else {
        return Err(invalid(
            "say what to read: --obis OBIS, --profile OBIS or --objects",
        ));
    };
    client.release().await.ok();
    Ok(output)
}

fn client_config(args: &ReadArgs) -> Result<ClientConfig, Failure> {
    let authentication = match args.auth {
        AuthArg::None => Authentication::None,
        AuthArg::Lls => {
            let password = args
                .password
                .as_ref()
                .ok_or_else(|| invalid("--auth lls needs --password"))?;
            Authentication::Low {
                password: password.as_bytes().to_vec(),
            }
        }
        AuthArg::HlsGmac => Authentication::HighGmac,
    };
    let security = match (&args.ek, &args.ak) {
        (Some(ek), Some(ak)) => Some(SecuritySetup {
            system_title: SystemTitle::from_hex(&args.system_title)
                .map_err(|e| invalid(format!("--system-title: {e}")))?,
            keys: Keys::from_hex(ek, ak).map_err(|e| invalid(format!("--ek/--ak: {e}")))?,
            invocation_counter: args.invocation_counter,
        }),
        (None, None) => None,
        _ => return Err(invalid("--ek and --ak go together")),
    };
    let hls = authentication == Authentication::HighGmac;
    if (hls || args.cipher) && security.is_none() {
        return Err(invalid("HLS-GMAC and --cipher need --ek and --ak"));
    }
    Ok(ClientConfig {
        authentication,
        ciphered: args.cipher || (hls && security.is_some()),
        security,
        max_receive_pdu: args.max_pdu,
        response_timeout: Duration::from_secs_f64(args.timeout.max(0.001)),
        ..ClientConfig::default()
    })
}

fn parse_obis(text: &str) -> Result<Obis, Failure> {
    text.parse()
        .map_err(|e: crate::dlms::obis::ParseObisError| invalid(e.to_string()))
}

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS]` with an optional `Z` or `±HH:MM`; no offset means UTC.
fn parse_time(text: &str, convention: DeviationConvention) -> Result<DateTime, Failure> {
    let bad = || {
        invalid(format!(
            "'{text}' is not a time: write 2026-11-26T00:00:00+01:00"
        ))
    };
    let t = text.trim();
    let (date, rest) = t.split_at_checked(10).ok_or_else(bad)?;
    let rest = rest.strip_prefix(['T', ' ']).ok_or_else(bad)?;
    let split = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let num = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let c: Vec<&str> = clock.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&c.len()) {
        return Err(bad());
    }
    let offset: i16 = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z[1..].split_once(':').ok_or_else(bad)?;
            sign * (num(h)? as i16 * 60 + num(m)? as i16)
        }
    };
    let dt = DateTime {
        date: Date {
            year: num(d[0])?,
            month: num(d[1])? as u8,
            day: num(d[2])? as u8,
            day_of_week: 0xFF,
        },
        time: Time {
            hour: num(c[0])? as u8,
            minute: num(c[1])? as u8,
            second: c.get(2).map_or(Ok(0), |s| num(s))? as u8,
            hundredths: 0,
        },
        deviation: convention.deviation(offset),
        clock_status: 0,
    };
    dt.local_unix().map(|_| dt).ok_or_else(bad)
}

/// Gets one attribute, turning an access error into exit status 5.
async fn get(
    client: &mut DlmsClient,
    attribute: AttributeDescriptor,
    access: Option<SelectiveAccess>,
) -> Result<Data, Failure> {
    let what = format!(
        "{} class {} attribute {}",
        attribute.instance, attribute.class_id, attribute.attribute
    );
    match client.get(attribute, access).await? {
        Response::Get(GetDataResult::Data(data)) => Ok(data),
        Response::Get(GetDataResult::DataAccessResult(dar)) => Err(Failure::new(
            exit::ACCESS_ERROR,
            format!("access error reading {what}: {dar}"),
        )),
        Response::Exception(e) => Err(Failure::new(
            exit::ACCESS_ERROR,
            format!(
                "the meter refused to read {what}: {} / {:?}",
                e.state_error, e.service_error
            ),
        )),
        other => Err(Failure::new(
            exit::FAILURE,
            format!("unexpected answer reading {what}: {other:?}"),
        )),
    }
}

async fn read_value(
    client: &mut DlmsClient,
    attribute: AttributeDescriptor,
    json: bool,
) -> Result<String, Failure> {
    let value = get(client, attribute, None).await?;
    let is_register = matches!(attribute.class_id, 3 | 4) && attribute.attribute == 2;
    let scaler_unit = match is_register {
        true => get(
            client,
            AttributeDescriptor {
                attribute: 3,
                ..attribute
            },
            None,
        )
        .await
        .ok()
        .and_then(|d| scaler_unit(&d)),
        false => None,
    };
    let scaled =
        scaler_unit.and_then(|(scaler, _)| value.as_f64().map(|v| v * 10f64.powi(scaler as i32)));
    let unit = scaler_unit.map(|(_, unit)| unit_name(unit));
    if json {
        let out = json!({ "obis": attribute.instance.to_string(), "class": attribute.class_id, "attribute": attribute.attribute, "value": value, "scaled": scaled, "unit": unit });
        return Ok(out.to_string());
    }
    Ok(match (scaled, unit) {
        (Some(v), Some(u)) => format!("{v} {u}"),
        _ => value.to_string(),
    })
}

/// A register's scaler_unit `{integer scaler, enum unit}`.
fn scaler_unit(data: &Data) -> Option<(i8, u8)> {
    match data.as_elements()? {
        [Data::Integer(scaler), Data::Enum(unit)] => Some((*scaler, *unit)),
        _ => None,
    }
}

/// The Blue Book unit names for the enum values meters use most.
fn unit_name(unit: u8) -> String {
    let name = match unit {
        1 => "a",
        2 => "mo",
        3 => "wk",
        4 => "d",
        5 => "h",
        6 => "min",
        7 => "s",
        8 => "°",
        9 => "°C",
        23 => "Pa",
        27 => "W",
        28 => "VA",
        29 => "var",
        30 => "Wh",
        31 => "VAh",
        32 => "varh",
        33 => "A",
        34 => "C",
        35 => "V",
        44 => "Hz",
        56 => "%",
        255 => "",
        other => return format!("unit({other})"),
    };
    name.to_string()
}

async fn read_profile(
    client: &mut DlmsClient,
    obis: Obis,
    range: Option<(DateTime, DateTime)>,
    json: bool,
    convention: DeviationConvention,
) -> Result<String, Failure> {
    // Read the columns first: the range descriptor restricts on the first capture object.
    let columns_data = get(client, AttributeDescriptor::new(7, obis, 3), None).await?;
    let columns: Vec<CaptureObject> = columns_data
        .as_elements()
        .unwrap_or_default()
        .iter()
        .map(CaptureObject::from_data)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Failure::new(
                exit::FAILURE,
                format!("the profile's capture objects are malformed: {e}"),
            )
        })?;
    let access = match (range, columns.first()) {
        (Some((from, to)), Some(first)) => Some(SelectiveAccess::from(RangeDescriptor {
            restricting_object: *first,
            from: Data::OctetString(crate::dlms::codec::Codec::to_bytes(&from)),
            to: Data::OctetString(crate::dlms::codec::Codec::to_bytes(&to)),
            selected_values: vec![],
        })),
        (Some(_), None) => {
            return Err(Failure::new(
                exit::FAILURE,
                "the profile has no capture objects to select a range on",
            ))
        }
        (None, _) => None,
    };
    let buffer = get(client, AttributeDescriptor::new(7, obis, 2), access).await?;
    let rows = buffer.as_elements().unwrap_or_default();
    let names: Vec<String> = columns
        .iter()
        .map(|c| format!("{}/{}", c.logical_name, c.attribute))
        .collect();
    let cell = |d: &Data| match d.as_date_time() {
        Some(dt) if dt.local_unix().is_some() => dt.to_iso(convention),
        _ => d.to_string(),
    };
    if json {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                r.as_elements()
                    .unwrap_or_default()
                    .iter()
                    .map(cell)
                    .collect()
            })
            .collect();
        return Ok(
            json!({ "profile": obis.to_string(), "columns": names, "rows": rows }).to_string(),
        );
    }
    let mut out = names.join(",");
    for row in rows {
        out.push('\n');
        out.push_str(
            &row.as_elements()
                .unwrap_or_default()
                .iter()
                .map(cell)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    Ok(out)
}

async fn read_objects(client: &mut DlmsClient, json: bool) -> Result<String, Failure> {
    let list = get(
        client,
        AttributeDescriptor::new(15, Obis::CURRENT_ASSOCIATION, 2),
        None,
    )
    .await?;
    let entries: Vec<(u16, u8, Obis)> = list
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| match entry.as_elements()? {
            [Data::LongUnsigned(class), Data::Unsigned(version), Data::OctetString(ln), ..]
                if ln.len() == 6 =>
            {
                Some((*class, *version, Obis(ln[..].try_into().ok()?)))
            }
            _ => None,
        })
        .collect();
    if json {
        let list: Vec<_> = entries
            .iter()
            .map(|(c, v, o)| json!({ "class": c, "version": v, "obis": o.to_string() }))
            .collect();
        return Ok(serde_json::Value::Array(list).to_string());
    }
    let mut out = String::from("class version obis");
    for (class, version, obis) in entries {
        out.push_str(&format!("\n{class:>5} {version:>7} {obis}"));
    }
    Ok(out)
}
