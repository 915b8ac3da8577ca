//! The load-profile read the head-end makes each cycle: the GET it sends (buffer by range on the
//! clock column) and the checks on the rows it gets back. Pure, shared by the tokio driver and
//! the simulator.
//!
//! The head-end expects the columns of the standard interval profile (clock, profile status,
//! A+, A-; `cosem::load_profile::capture_objects`): reading the capture objects every cycle
//! would cost a fourth round trip per meter.

use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::datetime::{DateTime, DeviationConvention};
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{AttributeDescriptor, CaptureObject, RangeDescriptor, SelectiveAccess};
use crate::session::SessionError;
use crate::time::Timestamp;

use super::orchestrator::ReadFailure;
use super::reading::Reading;

/// Profile Generic 1.0.99.1.0.255, attribute 2 (buffer).
pub fn buffer() -> AttributeDescriptor {
    AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2)
}

/// Rows captured in `[from, to]`, every column; times in the meter's clock (`offset` minutes).
pub fn range(
    from: Timestamp,
    to: Timestamp,
    offset_minutes: i16,
    convention: DeviationConvention,
) -> SelectiveAccess {
    let at = |t: Timestamp| {
        let secs = (t.as_millis() / 1000) as i64;
        Data::OctetString(DateTime::from_unix(secs, offset_minutes, convention).to_bytes())
    };
    SelectiveAccess::from(RangeDescriptor {
        restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
        from: at(from),
        to: at(to),
        selected_values: vec![],
    })
}

/// The rows of a buffer, each checked: four columns of the expected types, a valid clock.
pub fn rows(buffer: &Data, convention: DeviationConvention) -> Result<Vec<Reading>, String> {
    let rows = buffer
        .as_elements()
        .ok_or_else(|| format!("the profile buffer is not an array: {buffer}"))?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| row_of(row, convention).map_err(|e| format!("row {i}: {e}")))
        .collect()
}

fn row_of(row: &Data, convention: DeviationConvention) -> Result<Reading, String> {
    let [clock, status, import, export] = row.as_elements().unwrap_or_default() else {
        return Err(format!(
            "expected 4 columns (clock, status, A+, A-), got {row}"
        ));
    };
    let secs = clock
        .as_date_time()
        .and_then(|dt| dt.to_unix(convention))
        .ok_or_else(|| format!("the clock column is not a complete date-time: {clock}"))?;
    let interval = u64::try_from(secs)
        .map(Timestamp::from_secs)
        .map_err(|_| format!("the capture time is before 1970: {clock}"))?;
    let status = match status {
        Data::Unsigned(s) => *s,
        other => return Err(format!("the status column is not an unsigned: {other}")),
    };
    let energy = |d: &Data, name: &str| {
        d.as_i128()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| format!("the {name} column is not a non-negative integer: {d}"))
    };
    Ok(Reading {
        interval,
        status,
        import_wh: energy(import, "A+")?,
        export_wh: energy(export, "A-")?,
    })
}

/// What the diagnosis should make of a failed client session.
pub fn session_failure(e: &SessionError) -> ReadFailure {
    match e {
        SessionError::Refused(_)
        | SessionError::AuthenticationFailed(_)
        | SessionError::Security(_) => ReadFailure::AuthenticationFailed,
        SessionError::Timeout { .. } => ReadFailure::Silent,
        other => ReadFailure::Invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosem::load_profile::LoadProfile;
    use crate::cosem::readings::LoadModel;

    const CONVENTION: DeviationConvention = DeviationConvention::LocalToUtc;

    fn profile(model: &LoadModel) -> LoadProfile<'_> {
        LoadProfile {
            model,
            newest: 1_764_115_200,
            period: 900,
            retention: 96,
            utc_offset_minutes: 60,
            convention: CONVENTION,
            gaps: &[],
        }
    }

    #[test]
    fn reads_the_meters_rows_in_a_range_as_the_load_model_says() {
        let model = LoadModel::new(7, 42, 60);
        let p = profile(&model);
        let (from, to) = (
            Timestamp::from_secs(1_764_111_600),
            Timestamp::from_secs(1_764_115_200),
        );
        let buffer = p.buffer(Some(&range(from, to, 60, CONVENTION))).unwrap();
        let got = rows(&buffer, CONVENTION).unwrap();
        assert_eq!(got.len(), 5);
        for r in &got {
            let e = model.energy_at((r.interval.as_millis() / 1000) as i64);
            assert_eq!((r.import_wh, r.export_wh), (e.import_wh, e.export_wh));
        }
        assert_eq!(got[0].interval, from);
        assert_eq!(got[4].interval, to);
    }

    #[test]
    fn rejects_rows_of_another_shape() {
        let bad = [
            Data::Unsigned(1),
            Data::Array(vec![Data::Structure(vec![Data::Unsigned(1)])]),
            Data::Array(vec![Data::Structure(vec![
                Data::OctetString(vec![0xFF; 12]),
                Data::Unsigned(0),
                Data::DoubleLongUnsigned(1),
                Data::DoubleLongUnsigned(2),
            ])]),
            Data::Array(vec![Data::Structure(vec![
                Data::OctetString(DateTime::from_unix(1_764_115_200, 0, CONVENTION).to_bytes()),
                Data::Unsigned(0),
                Data::Integer(-1),
                Data::DoubleLongUnsigned(2),
            ])]),
        ];
        for b in bad {
            assert!(rows(&b, CONVENTION).is_err(), "{b}");
        }
    }
}
