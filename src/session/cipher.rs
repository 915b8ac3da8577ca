//! The ciphering context of one association: seals what this side sends and opens what the peer
//! sends with glo-ciphering (suite 0, authenticated and encrypted), refusing replayed counters.

use super::{SecuritySetup, SessionError};
use crate::dlms::codec::{Codec, Reader};
use crate::dlms::security::{
    CipheringKey, GeneralGloCiphering, GloCiphered, InvocationCounter, InvocationCounterGuard,
    SecurityControl, SystemTitle,
};

/// Security control for every ciphered APDU we send: suite 0, authenticated and encrypted.
pub(crate) const SC_AUTH_ENC: SecurityControl = SecurityControl(0x30);

#[derive(Debug, Clone)]
pub(crate) struct Cipher {
    own: SecuritySetup,
    counter: InvocationCounter,
    peer_title: Option<SystemTitle>,
    guard: InvocationCounterGuard,
}

impl Cipher {
    pub(crate) fn new(own: SecuritySetup) -> Self {
        let counter = InvocationCounter::new(own.invocation_counter);
        Cipher {
            own,
            counter,
            peer_title: None,
            guard: InvocationCounterGuard::new(),
        }
    }

    pub(crate) fn own(&self) -> &SecuritySetup {
        &self.own
    }

    pub(crate) fn peer_title(&self) -> Option<SystemTitle> {
        self.peer_title
    }

    pub(crate) fn set_peer_title(&mut self, title: SystemTitle) {
        self.peer_title = Some(title);
    }

    /// The next invocation counter, consumed.
    pub(crate) fn next_counter(&mut self) -> Result<u32, SessionError> {
        Ok(self.counter.next()?)
    }

    /// The counter the next message will carry (for the driver to persist).
    pub(crate) fn peek_counter(&self) -> Option<u32> {
        self.counter.peek()
    }

    /// The last counter accepted from the peer.
    pub(crate) fn peer_counter(&self) -> Option<u32> {
        self.guard.last()
    }

    /// Restores the peer's last counter from an earlier association, so replays across associations fail.
    pub(crate) fn restore_peer_counter(&mut self, last: u32) {
        self.guard = InvocationCounterGuard::with_last(last);
    }

    /// Seals a plain xDLMS APDU as its glo- form.
    pub(crate) fn seal(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let ic = self.next_counter()?;
        let sealed = GloCiphered::seal(
            CipheringKey::Global,
            plain,
            SC_AUTH_ENC,
            &self.own.system_title,
            ic,
            &self.own.keys,
        )?;
        Ok(sealed.to_bytes())
    }

    /// Seals a plain xDLMS APDU as general-glo-ciphering (carrying our system title).
    pub(crate) fn seal_general(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let ic = self.next_counter()?;
        let sealed = GeneralGloCiphering::seal(
            CipheringKey::Global,
            plain,
            SC_AUTH_ENC,
            &self.own.system_title,
            ic,
            &self.own.keys,
        )?;
        Ok(sealed.to_bytes())
    }

    /// Seals the content of a glo-initiate APDU (the tag is the caller's).
    pub(crate) fn seal_content(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let ic = self.next_counter()?;
        Ok(crate::dlms::security::protect(
            SC_AUTH_ENC,
            &self.own.system_title,
            ic,
            &self.own.keys,
            plain,
        )?)
    }

    /// Opens ciphered content from the peer, refusing a counter already seen.
    pub(crate) fn open_content(
        &mut self,
        content: &[u8],
        title: Option<SystemTitle>,
    ) -> Result<Vec<u8>, SessionError> {
        self.open_owned(content.to_vec(), title)
    }

    /// [`open_content`](Self::open_content), deciphering in the content's own buffer.
    fn open_owned(
        &mut self,
        content: Vec<u8>,
        title: Option<SystemTitle>,
    ) -> Result<Vec<u8>, SessionError> {
        let title = title.or(self.peer_title).ok_or_else(|| {
            SessionError::Protocol("ciphered APDU before the peer's system title is known".into())
        })?;
        let counter = crate::dlms::security::CipheredContent::parse(&content)?.invocation_counter;
        self.guard.check(counter)?;
        let opened = crate::dlms::security::unprotect_in_place(&title, &self.own.keys, content)?;
        if !opened.sc.encrypted() || !opened.sc.authenticated() {
            return Err(SessionError::Protocol(format!(
                "security control 0x{:02X} is weaker than the association requires",
                opened.sc.0
            )));
        }
        self.guard.accept(opened.invocation_counter);
        Ok(opened.plaintext)
    }

    /// Opens a glo- or general-glo-ciphered APDU from the peer into the plain APDU.
    pub(crate) fn open(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SessionError> {
        match apdu.first() {
            Some(0xDB) => {
                let general = GeneralGloCiphering::from_bytes(apdu)?;
                let title = SystemTitle::from_slice(&general.system_title)?;
                self.open_owned(general.content, Some(title))
            }
            _ => {
                let glo = GloCiphered::read(&mut Reader::new(apdu))?;
                self.open_owned(glo.content, None)
            }
        }
    }
}

/// Whether an APDU tag is a glo-/ded-/general ciphered form.
pub(crate) fn is_ciphered_tag(tag: u8) -> bool {
    crate::dlms::security::plain_tag_for(tag).is_some() || matches!(tag, 0xDB | 0xDC)
}
