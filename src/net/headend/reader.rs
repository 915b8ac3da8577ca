//! One cycle's read of one meter over the TCP wrapper: associate, GET the profile by range,
//! check the rows, release. Maps every failure onto what the diagnosis needs to know.

use std::time::Duration;

use tokio::net::TcpStream;

use super::access::MeterAccess;
use crate::dlms::xdlms::GetDataResult;
use crate::headend::orchestrator::{ReadFailure, ReadOutcome};
use crate::headend::profile_read::{self, session_failure};
use crate::net::client::{ClientError, DlmsClient};
use crate::session::Response;
use crate::time::Timestamp;

/// Timeouts of one read.
#[derive(Debug, Clone, Copy)]
pub struct ReadTimeouts {
    pub connect: Duration,
    pub response: Duration,
}

/// A read's outcome and the invocation counter to use next time (if ciphered).
pub struct Read {
    pub outcome: ReadOutcome,
    pub next_counter: Option<u32>,
}

/// Connects to the meter and reads `[from, to]`.
pub async fn read_direct(
    access: &MeterAccess,
    from: Timestamp,
    to: Timestamp,
    counter: u32,
    t: ReadTimeouts,
) -> Read {
    let config = access.client_config(counter, t.response);
    match DlmsClient::connect(
        &access.address,
        access.client_sap,
        access.server_sap,
        config,
        t.connect,
    )
    .await
    {
        Ok(client) => read_with(client, access, from, to).await,
        Err(e) => failed(&e, None),
    }
}

/// Reads `[from, to]` over a connection the meter opened to the head-end.
pub async fn read_inbound(
    stream: TcpStream,
    access: &MeterAccess,
    from: Timestamp,
    to: Timestamp,
    counter: u32,
    t: ReadTimeouts,
) -> Read {
    let config = access.client_config(counter, t.response);
    match DlmsClient::from_stream(stream, access.client_sap, access.server_sap, config) {
        Ok(client) => read_with(client, access, from, to).await,
        Err(e) => failed(&e, None),
    }
}

async fn read_with(
    mut client: DlmsClient,
    access: &MeterAccess,
    from: Timestamp,
    to: Timestamp,
) -> Read {
    if let Err(e) = client.associate().await {
        return failed(&e, client.next_invocation_counter());
    }
    let range = profile_read::range(from, to, access.utc_offset_minutes, access.convention);
    let response = client.get(profile_read::buffer(), Some(range)).await;
    let next_counter = client.next_invocation_counter();
    let outcome = match response {
        Ok(Response::Get(GetDataResult::Data(buffer))) => {
            match profile_read::rows(&buffer, access.convention) {
                Ok(rows) => ReadOutcome::Read(rows),
                Err(e) => ReadOutcome::Failed(ReadFailure::Invalid(e)),
            }
        }
        Ok(other) => ReadOutcome::Failed(ReadFailure::Invalid(format!(
            "the meter answered the profile read with {other:?}"
        ))),
        Err(e) => return failed(&e, next_counter),
    };
    // The reading is in hand: a failed release costs nothing but the meter's idle timeout.
    client.release().await.ok();
    Read {
        outcome,
        next_counter,
    }
}

fn failed(e: &ClientError, next_counter: Option<u32>) -> Read {
    Read {
        outcome: ReadOutcome::Failed(failure(e)),
        next_counter,
    }
}

/// What the diagnosis should make of a client error.
pub fn failure(e: &ClientError) -> ReadFailure {
    match e {
        ClientError::Connect { .. } | ClientError::Closed | ClientError::Wrapper(_) => {
            ReadFailure::Unreachable
        }
        ClientError::Session(s) => session_failure(s),
    }
}
