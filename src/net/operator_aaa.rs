//! Where the operator's RADIUS step goes when it runs on tokio: behind [`AaaBackend`], the
//! embedded in-process credentials check or a RADIUS client on the wire.

use std::sync::Mutex;

use futures_util::future::BoxFuture;

use crate::operator::aaa::{
    AccountingRequest, AuthOutcome, AuthRequest, CredentialChange, InProcessAaa,
};
use crate::operator::time::Timestamp;

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
