//! Where the operator's RADIUS step goes when it runs on tokio: behind [`AaaBackend`], the
//! embedded in-process credentials check or a RADIUS client on the wire.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::radius_udp::{Completion, RadiusUdpClient, RadiusUdpError};
use crate::operator::aaa::{
    AccountingKind, AccountingRequest, AuthOutcome, AuthRequest, CredentialChange, InProcessAaa,
};
use crate::operator::time::Timestamp;
use crate::radius::{self, AccessOutcome, AcctStatusKind, ClientConfig};

/// The utility's AAA server as the operator's driver reaches it.
pub trait AaaBackend: Send + Sync + 'static {
    /// Sends an Access-Request; resolves to its outcome (timeouts included).
    fn authenticate(&self, req: AuthRequest) -> BoxFuture<'static, AuthOutcome>;
    /// Sends an Accounting-Request; resolves to whether it was answered.
    fn account(&self, req: AccountingRequest) -> BoxFuture<'static, bool>;
    /// Changes a user's password on the server (a scenario's credential change), logged with
    /// who did it; `Err` says why this backend cannot.
    fn change_password(
        &self,
        user: &str,
        password: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(), String>;
    /// The server's credential change logbook, if it keeps one here.
    fn logbook(&self) -> Vec<CredentialChange>;
    /// One line for the startup banner.
    fn describe(&self) -> String;
}

/// The embedded default: [`InProcessAaa`] behind a mutex, answering at once.
#[derive(Debug, Default)]
pub struct InProcessBackend(Mutex<InProcessAaa>);

impl InProcessBackend {
    pub fn new(aaa: InProcessAaa) -> Self {
        InProcessBackend(Mutex::new(aaa))
    }
}

impl AaaBackend for InProcessBackend {
    fn authenticate(&self, req: AuthRequest) -> BoxFuture<'static, AuthOutcome> {
        let outcome = self.0.lock().expect("not poisoned").authenticate(&req);
        Box::pin(async move { outcome })
    }

    fn account(&self, _req: AccountingRequest) -> BoxFuture<'static, bool> {
        Box::pin(async { true })
    }

    fn change_password(
        &self,
        user: &str,
        password: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(), String> {
        self.0
            .lock()
            .expect("not poisoned")
            .set_password(user, password, by, now);
        Ok(())
    }

    fn logbook(&self) -> Vec<CredentialChange> {
        self.0.lock().expect("not poisoned").logbook().to_vec()
    }

    fn describe(&self) -> String {
        "embedded in-process credentials check (from the fleet manifest)".into()
    }
}

/// A real RADIUS server on the wire (the embedded `reanimator radius serve`, FreeRADIUS, ...),
/// reached through [`RadiusUdpClient`]s: one for authentication, one for accounting.
pub struct RadiusBackend {
    auth: RadiusUdpClient,
    acct: RadiusUdpClient,
    describe: String,
}

/// The operator's NAS-IP-Address.
const NAS_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;

impl RadiusBackend {
    /// Starts clients for `auth` (and `acct`, or `auth` again); `config` carries the shared
    /// secret and the retransmission schedule (keep its total under the network's RADIUS
    /// deadline, 10 s by default).
    pub async fn start(
        auth: SocketAddr,
        acct: Option<SocketAddr>,
        config: ClientConfig,
        seed: u64,
    ) -> Result<RadiusBackend, RadiusUdpError> {
        let client = RadiusUdpClient::start(auth, config.clone(), seed).await?;
        let acct_client = match acct {
            Some(a) if a != auth => RadiusUdpClient::start(a, config, seed ^ 1).await?,
            _ => client.clone(),
        };
        let describe = format!(
            "RADIUS server at {auth} (accounting at {})",
            acct.unwrap_or(auth)
        );
        Ok(RadiusBackend {
            auth: client,
            acct: acct_client,
            describe,
        })
    }
}

/// Calling-Station-Id: the MSISDN's digits.
fn calling_station(msisdn: &str) -> String {
    msisdn.trim_start_matches('+').to_string()
}

/// The wire request for an Access-Request of the model.
pub fn access_request(req: &AuthRequest) -> radius::AccessRequest {
    radius::AccessRequest {
        user_name: req.user.clone(),
        password: req.password.clone(),
        msisdn: calling_station(req.msisdn.as_str()),
        apn: req.apn.clone(),
        nas_ip: NAS_IP,
        imsi: Some(req.imsi.to_string()),
        proxy_state: Vec::new(),
    }
}

/// The model's outcome for what the client saw. A challenge cannot be answered by a modem, so
/// it fails the set-up like a reject; a client that cannot send counts as an unreachable server.
pub fn auth_outcome(result: Result<Completion<AccessOutcome>, RadiusUdpError>) -> AuthOutcome {
    match result {
        Ok(Completion {
            outcome: AccessOutcome::Accept { framed_ip, .. },
            ..
        }) => AuthOutcome::Accept { framed_ip },
        Ok(Completion {
            outcome: AccessOutcome::Reject {
                untrusted_reply_message,
            },
            ..
        }) => AuthOutcome::Reject {
            reply_message: untrusted_reply_message,
        },
        Ok(Completion {
            outcome:
                AccessOutcome::Challenge {
                    untrusted_reply_message,
                },
            ..
        }) => AuthOutcome::Reject {
            reply_message: Some(format!(
                "Access-Challenge: {}",
                untrusted_reply_message.unwrap_or_default()
            )),
        },
        Ok(Completion {
            outcome: AccessOutcome::Timeout,
            elapsed,
            ..
        }) => AuthOutcome::Timeout { after: elapsed },
        Err(_) => AuthOutcome::Timeout {
            after: std::time::Duration::ZERO,
        },
    }
}

/// The wire request for an Accounting-Request of the model.
pub fn accounting_request(req: &AccountingRequest) -> radius::AccountingRequest {
    let stop = req.kind == AccountingKind::Stop;
    radius::AccountingRequest {
        status: if stop {
            AcctStatusKind::Stop
        } else {
            AcctStatusKind::Start
        },
        session_id: req.session_id.clone(),
        user_name: req.user.clone(),
        msisdn: calling_station(req.msisdn.as_str()),
        apn: req.apn.clone(),
        nas_ip: NAS_IP,
        imsi: Some(req.imsi.to_string()),
        framed_ip: Some(req.ip),
        session_time: stop.then(|| req.session_time.as_secs().min(u64::from(u32::MAX)) as u32),
        input_octets: stop.then(|| req.octets.min(u64::from(u32::MAX)) as u32),
        output_octets: stop.then_some(0),
        terminate_cause: req
            .terminate_cause
            .map(|c| radius::TerminateCause::from_wire(c.code())),
    }
}

impl AaaBackend for RadiusBackend {
    fn authenticate(&self, req: AuthRequest) -> BoxFuture<'static, AuthOutcome> {
        let client = self.auth.clone();
        Box::pin(async move { auth_outcome(client.access(access_request(&req)).await) })
    }

    fn account(&self, req: AccountingRequest) -> BoxFuture<'static, bool> {
        let client = self.acct.clone();
        Box::pin(async move {
            matches!(
                client.account(accounting_request(&req)).await,
                Ok(Completion {
                    outcome: radius::AccountingOutcome::Answered,
                    ..
                })
            )
        })
    }

    fn change_password(
        &self,
        _user: &str,
        _password: &str,
        _by: &str,
        _now: Timestamp,
    ) -> Result<(), String> {
        Err("the credentials live in that server: use `reanimator radius set-password ICCID --by NAME` for the embedded one, or edit FreeRADIUS's users".into())
    }

    fn logbook(&self) -> Vec<CredentialChange> {
        Vec::new()
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
