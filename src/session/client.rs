//! The client (head-end) end of an association.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::cipher::{is_ciphered_tag, Cipher};
use super::{Authentication, Negotiated, SecuritySetup, SessionError};
use crate::dlms::acse::{
    Aare, Aarq, ApplicationContext, Conformance, InitiateRequest, Mechanism, Rlre, Rlrq,
    UserInformation,
};
use crate::dlms::codec::{Codec, DecodeResult};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::{verify_hls_gmac, GloCiphered, SystemTitle};
use crate::dlms::xdlms::{
    ActionOutcome, ActionRequest, ActionResponse, ActionResult, AttributeDescriptor,
    ConfirmedServiceError, DataAccessResult, DataNotification, EventNotification,
    ExceptionResponse, GetDataResult, GetRequest, GetResponse, InvokeIdAndPriority,
    MethodDescriptor, RawOrResult, SelectiveAccess, SetRequest, SetResponse,
};

/// What a client session needs to know before it starts.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub authentication: Authentication,
    /// Keys and system title: needed for HLS-GMAC and for ciphering.
    pub security: Option<SecuritySetup>,
    /// Use the LN-with-ciphering context: every xDLMS APDU glo-ciphered.
    pub ciphered: bool,
    pub conformance: Conformance,
    pub max_receive_pdu: u16,
    pub response_timeout: Duration,
    /// The HLS challenge CtoS (8 to 64 bytes), drawn by the driver.
    pub challenge: Vec<u8>,
    /// The largest reassembled block-transfer response accepted.
    pub max_response_size: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            authentication: Authentication::None,
            security: None,
            ciphered: false,
            conformance: Conformance::GET
                | Conformance::SET
                | Conformance::ACTION
                | Conformance::SELECTIVE_ACCESS
                | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                | Conformance::MULTIPLE_REFERENCES
                | Conformance::DATA_NOTIFICATION
                | Conformance::EVENT_NOTIFICATION,
            max_receive_pdu: 0xFFFF,
            response_timeout: Duration::from_secs(5),
            challenge: Vec::new(),
            max_response_size: 4 << 20,
        }
    }
}

/// Identifies one request's answer among the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Get(GetDataResult),
    GetList(Vec<GetDataResult>),
    Set(DataAccessResult),
    Action(ActionOutcome),
    /// The server refused to start the service.
    Exception(ExceptionResponse),
    ServiceError(ConfirmedServiceError),
}

/// What a client session reports to its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Associated(Negotiated),
    Response {
        id: RequestId,
        response: Response,
    },
    DataNotification(DataNotification),
    EventNotification(EventNotification),
    Released,
    /// The session is over: refused, timed out or broken.
    Failed(SessionError),
}

#[derive(Debug)]
enum Pending {
    Get {
        id: RequestId,
        invoke: u8,
        list: bool,
        next_block: u32,
        raw: Vec<u8>,
    },
    Set {
        id: RequestId,
        invoke: u8,
    },
    Action {
        id: RequestId,
        invoke: u8,
    },
}

#[derive(Debug)]
enum State {
    Idle,
    ExpectAare,
    ExpectHlsReply { server_title: SystemTitle },
    Associated,
    ExpectResponse(Pending),
    ExpectRlre,
    Closed,
}

/// A client association, sans-I/O.
///
/// Call order: [`associate`](Self::associate), then after every input (`handle_apdu`,
/// `handle_timeout`, or a request such as [`get`](Self::get)) drain `poll_transmit` (send each
/// APDU), `poll_event`, and re-arm the timer with `poll_timeout`.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    cipher: Option<Cipher>,
    negotiated: Option<Negotiated>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ClientEvent>,
    deadline: Option<(Instant, &'static str)>,
    next_request: u64,
    next_invoke: u8,
}

impl ClientSession {
    pub fn new(config: ClientConfig) -> Result<Self, SessionError> {
        let needs_keys = config.ciphered || config.authentication == Authentication::HighGmac;
        if needs_keys && config.security.is_none() {
            return Err(SessionError::Config(
                "HLS-GMAC and ciphering need a system title and keys".into(),
            ));
        }
        if config.authentication == Authentication::HighGmac
            && !(8..=64).contains(&config.challenge.len())
        {
            return Err(SessionError::Config(
                "the HLS challenge must be 8 to 64 bytes".into(),
            ));
        }
        let cipher = config.security.clone().map(Cipher::new);
        Ok(ClientSession {
            config,
            state: State::Idle,
            cipher,
            negotiated: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            deadline: None,
            next_request: 0,
            next_invoke: 1,
        })
    }

    /// Sends the AARQ.
    pub fn associate(&mut self, now: Instant) -> Result<(), SessionError> {
        if !matches!(self.state, State::Idle) {
            return Err(SessionError::Protocol("associate called twice".into()));
        }
        let aarq = self.build_aarq()?;
        self.transmit.push_back(aarq.to_bytes());
        self.expect(State::ExpectAare, now, "the AARE");
        Ok(())
    }

    pub fn negotiated(&self) -> Option<Negotiated> {
        self.negotiated
    }

    pub fn is_associated(&self) -> bool {
        matches!(self.state, State::Associated | State::ExpectResponse(_))
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The invocation counter the next ciphered APDU will carry (persist it across sessions).
    pub fn next_invocation_counter(&self) -> Option<u32> {
        self.cipher.as_ref().and_then(Cipher::peek_counter)
    }

    /// Reads one attribute, with optional selective access.
    pub fn get(
        &mut self,
        now: Instant,
        attribute: AttributeDescriptor,
        access: Option<SelectiveAccess>,
    ) -> Result<RequestId, SessionError> {
        let (id, invoke) = self.begin_request()?;
        self.send_xdlms(&GetRequest::Normal {
            invoke: invoke_byte(invoke),
            attribute,
            access,
        })?;
        self.expect(
            State::ExpectResponse(Pending::Get {
                id,
                invoke,
                list: false,
                next_block: 1,
                raw: Vec::new(),
            }),
            now,
            "a GET response",
        );
        Ok(id)
    }

    /// Reads several attributes in one request.
    pub fn get_list(
        &mut self,
        now: Instant,
        items: Vec<(AttributeDescriptor, Option<SelectiveAccess>)>,
    ) -> Result<RequestId, SessionError> {
        let (id, invoke) = self.begin_request()?;
        self.send_xdlms(&GetRequest::WithList {
            invoke: invoke_byte(invoke),
            items,
        })?;
        self.expect(
            State::ExpectResponse(Pending::Get {
                id,
                invoke,
                list: true,
                next_block: 1,
                raw: Vec::new(),
            }),
            now,
            "a GET response",
        );
        Ok(id)
    }

    /// Writes one attribute.
    pub fn set(
        &mut self,
        now: Instant,
        attribute: AttributeDescriptor,
        value: Data,
    ) -> Result<RequestId, SessionError> {
        let (id, invoke) = self.begin_request()?;
        self.send_xdlms(&SetRequest::Normal {
            invoke: invoke_byte(invoke),
            attribute,
            access: None,
            value,
        })?;
        self.expect(
            State::ExpectResponse(Pending::Set { id, invoke }),
            now,
            "a SET response",
        );
        Ok(id)
    }

    /// Invokes one method.
    pub fn action(
        &mut self,
        now: Instant,
        method: MethodDescriptor,
        parameters: Option<Data>,
    ) -> Result<RequestId, SessionError> {
        let (id, invoke) = self.begin_request()?;
        self.send_xdlms(&ActionRequest::Normal {
            invoke: invoke_byte(invoke),
            method,
            parameters,
        })?;
        self.expect(
            State::ExpectResponse(Pending::Action { id, invoke }),
            now,
            "an ACTION response",
        );
        Ok(id)
    }

    /// Sends the RLRQ.
    pub fn release(&mut self, now: Instant) -> Result<(), SessionError> {
        if !matches!(self.state, State::Associated) {
            return Err(SessionError::NotAssociated);
        }
        self.transmit.push_back(Rlrq::normal().to_bytes());
        self.expect(State::ExpectRlre, now, "the RLRE");
        Ok(())
    }

    /// One APDU from the server (the wrapper frame's payload).
    pub fn handle_apdu(&mut self, now: Instant, apdu: &[u8]) {
        if let Err(e) = self.on_apdu(now, apdu) {
            self.fail(e);
        }
    }

    /// The time passed `poll_timeout`'s deadline: the awaited answer is late.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((deadline, waiting_for)) = self.deadline {
            if now >= deadline {
                self.fail(SessionError::Timeout {
                    waiting_for,
                    after: self.config.response_timeout,
                });
            }
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.map(|(at, _)| at)
    }

    fn build_aarq(&mut self) -> Result<Aarq, SessionError> {
        let initiate = InitiateRequest::new(self.config.conformance, self.config.max_receive_pdu);
        let (context, user_information) =
            match self.cipher.as_mut().filter(|_| self.config.ciphered) {
                Some(cipher) => {
                    let content = cipher.seal_content(&initiate.to_bytes())?;
                    (
                        ApplicationContext::LogicalNameCiphered,
                        UserInformation::Ciphered(GloCiphered { tag: 0x21, content }),
                    )
                }
                None => (
                    ApplicationContext::LogicalName,
                    UserInformation::InitiateRequest(initiate),
                ),
            };
        let mut aarq = match &self.config.authentication {
            Authentication::None => Aarq::new(context, user_information),
            Authentication::Low { password } => Aarq::new(context, user_information)
                .with_authentication(Mechanism::Low, password.clone()),
            Authentication::HighGmac => Aarq::new(context, user_information)
                .with_authentication(Mechanism::HighGmac, self.config.challenge.clone()),
        };
        if let Some(cipher) = &self.cipher {
            aarq = aarq.with_calling_ap_title(cipher.own().system_title.0.to_vec());
        }
        Ok(aarq)
    }

    fn on_apdu(&mut self, now: Instant, apdu: &[u8]) -> Result<(), SessionError> {
        let plain;
        let apdu = match apdu.first() {
            Some(&tag) if is_ciphered_tag(tag) => {
                let cipher = self.cipher.as_mut().ok_or_else(|| {
                    SessionError::Protocol("ciphered APDU but no keys configured".into())
                })?;
                plain = cipher.open(apdu)?;
                &plain[..]
            }
            _ => apdu,
        };
        match apdu.first() {
            Some(0x0F) => {
                self.events
                    .push_back(ClientEvent::DataNotification(DataNotification::from_bytes(
                        apdu,
                    )?));
                return Ok(());
            }
            Some(0xC2) => {
                self.events.push_back(ClientEvent::EventNotification(
                    EventNotification::from_bytes(apdu)?,
                ));
                return Ok(());
            }
            _ => {}
        }
        match std::mem::replace(&mut self.state, State::Closed) {
            State::ExpectAare => self.on_aare(now, Aare::from_bytes(apdu)?),
            State::ExpectHlsReply { server_title } => self.on_hls_reply(apdu, server_title),
            State::ExpectResponse(pending) => self.on_response(now, apdu, pending),
            State::ExpectRlre => {
                Rlre::from_bytes(apdu)?;
                self.deadline = None;
                self.events.push_back(ClientEvent::Released);
                Ok(())
            }
            other => {
                self.state = other;
                Err(SessionError::Protocol(format!(
                    "unexpected APDU 0x{:02X} while nothing was asked",
                    apdu.first().copied().unwrap_or(0)
                )))
            }
        }
    }

    fn on_aare(&mut self, now: Instant, aare: Aare) -> Result<(), SessionError> {
        let user_information = match aare.user_information.clone() {
            Some(UserInformation::Ciphered(GloCiphered { content, .. })) => {
                let title = responding_title(&aare)?;
                let cipher = self.cipher.as_mut().ok_or_else(|| {
                    SessionError::Protocol("ciphered AARE but no keys configured".into())
                })?;
                let plain = cipher.open_content(&content, Some(title))?;
                Some(UserInformation::from_bytes(&plain)?)
            }
            other => other,
        };
        if !aare.is_accepted() {
            let mut why = aare.describe();
            if let Some(UserInformation::ConfirmedServiceError(error)) = &user_information {
                why = format!("{why}; {}", error.describe());
            }
            return Err(SessionError::Refused(why));
        }
        let Some(UserInformation::InitiateResponse(initiate)) = user_information else {
            return Err(SessionError::Protocol(
                "the AARE accepted but carries no InitiateResponse".into(),
            ));
        };
        self.negotiated = Some(Negotiated {
            conformance: initiate.negotiated_conformance,
            peer_max_pdu: initiate.server_max_receive_pdu_size,
            dlms_version: initiate.negotiated_dlms_version,
        });
        if let (Some(cipher), Some(title)) =
            (self.cipher.as_mut(), aare.responding_ap_title.as_deref())
        {
            cipher.set_peer_title(SystemTitle::from_slice(title)?);
        }
        if self.config.authentication == Authentication::HighGmac {
            return self.send_hls_reply(now, &aare);
        }
        self.associated();
        Ok(())
    }

    /// HLS pass 3: prove we hold the keys by answering the server's challenge StoC.
    fn send_hls_reply(&mut self, now: Instant, aare: &Aare) -> Result<(), SessionError> {
        let Some(crate::dlms::acse::AuthenticationValue::CharString(stoc)) =
            &aare.responding_authentication_value
        else {
            return Err(SessionError::Protocol(
                "HLS-GMAC AARE without a server challenge".into(),
            ));
        };
        let server_title = responding_title(aare)?;
        let cipher = self
            .cipher
            .as_mut()
            .expect("checked in new: HLS needs keys");
        let ic = cipher.next_counter()?;
        let own = cipher.own();
        let proof = crate::dlms::security::hls_gmac_proof(stoc, &own.system_title, ic, &own.keys);
        let method = MethodDescriptor {
            class_id: 15,
            instance: Obis::CURRENT_ASSOCIATION,
            method: 1,
        };
        let invoke = self.take_invoke();
        self.send_xdlms(&ActionRequest::Normal {
            invoke: invoke_byte(invoke),
            method,
            parameters: Some(Data::OctetString(proof)),
        })?;
        self.expect(State::ExpectHlsReply { server_title }, now, "the HLS reply");
        Ok(())
    }

    /// HLS pass 4: check the server's proof of our challenge CtoS.
    fn on_hls_reply(&mut self, apdu: &[u8], server_title: SystemTitle) -> Result<(), SessionError> {
        let outcome = match ActionResponse::from_bytes(apdu)? {
            ActionResponse::Normal { outcome, .. } => outcome,
            other => {
                return Err(SessionError::Protocol(format!(
                    "expected an ACTION response to the HLS reply, got {other:?}"
                )))
            }
        };
        let proof = match (&outcome.result, &outcome.return_parameters) {
            (ActionResult::Success, Some(GetDataResult::Data(Data::OctetString(proof)))) => proof,
            (result, _) => {
                return Err(SessionError::AuthenticationFailed(format!(
                    "the meter rejected our HLS-GMAC proof ({}): its authentication key or system title differs from ours",
                    result.name()
                )))
            }
        };
        let keys = &self.cipher.as_ref().expect("HLS needs keys").own().keys;
        verify_hls_gmac(proof, &self.config.challenge, &server_title, keys).map_err(|e| {
            SessionError::AuthenticationFailed(format!(
                "the meter's HLS-GMAC proof is wrong ({e}): it does not hold our keys"
            ))
        })?;
        self.associated();
        Ok(())
    }

    fn on_response(
        &mut self,
        now: Instant,
        apdu: &[u8],
        pending: Pending,
    ) -> Result<(), SessionError> {
        match apdu.first() {
            Some(0xD8) => {
                return self.complete(
                    Response::Exception(ExceptionResponse::from_bytes(apdu)?),
                    pending_id(&pending),
                )
            }
            Some(0x0E) => {
                return self.complete(
                    Response::ServiceError(ConfirmedServiceError::from_bytes(apdu)?),
                    pending_id(&pending),
                )
            }
            _ => {}
        }
        match pending {
            Pending::Get {
                id,
                invoke,
                list,
                next_block,
                raw,
            } => self.on_get_response(
                now,
                GetResponse::from_bytes(apdu)?,
                id,
                invoke,
                list,
                next_block,
                raw,
            ),
            Pending::Set { id, invoke } => match SetResponse::from_bytes(apdu)? {
                SetResponse::Normal { invoke: i, result } if i.invoke_id() == invoke => {
                    self.complete(Response::Set(result), id)
                }
                other => Err(mismatch("SET response", &other)),
            },
            Pending::Action { id, invoke } => match ActionResponse::from_bytes(apdu)? {
                ActionResponse::Normal { invoke: i, outcome } if i.invoke_id() == invoke => {
                    self.complete(Response::Action(outcome), id)
                }
                other => Err(mismatch("ACTION response", &other)),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_get_response(
        &mut self,
        now: Instant,
        response: GetResponse,
        id: RequestId,
        invoke: u8,
        list: bool,
        next_block: u32,
        mut raw: Vec<u8>,
    ) -> Result<(), SessionError> {
        if response.invoke().invoke_id() != invoke {
            return Err(mismatch("GET response for our invoke id", &response));
        }
        match response {
            GetResponse::Normal { result, .. } if !list => self.complete(Response::Get(result), id),
            GetResponse::WithList { results, .. } if list => {
                self.complete(Response::GetList(results), id)
            }
            GetResponse::WithDataBlock { block, .. } => {
                if block.block_number != next_block {
                    return Err(SessionError::Protocol(format!(
                        "expected block {next_block}, got block {}",
                        block.block_number
                    )));
                }
                let chunk = match block.result {
                    RawOrResult::RawData(chunk) => chunk,
                    RawOrResult::DataAccessResult(dar) => {
                        return self
                            .complete(Response::Get(GetDataResult::DataAccessResult(dar)), id)
                    }
                };
                if raw.len() + chunk.len() > self.config.max_response_size {
                    return Err(SessionError::ResponseTooLarge {
                        limit: self.config.max_response_size,
                    });
                }
                raw.extend_from_slice(&chunk);
                if block.last_block {
                    return self.complete(assemble(&raw, list)?, id);
                }
                self.send_xdlms(&GetRequest::Next {
                    invoke: invoke_byte(invoke),
                    block_number: next_block,
                })?;
                self.expect(
                    State::ExpectResponse(Pending::Get {
                        id,
                        invoke,
                        list,
                        next_block: next_block + 1,
                        raw,
                    }),
                    now,
                    "the next GET block",
                );
                Ok(())
            }
            other => Err(mismatch("GET response of the kind requested", &other)),
        }
    }

    fn complete(&mut self, response: Response, id: RequestId) -> Result<(), SessionError> {
        self.state = State::Associated;
        self.deadline = None;
        self.events
            .push_back(ClientEvent::Response { id, response });
        Ok(())
    }

    fn associated(&mut self) {
        self.state = State::Associated;
        self.deadline = None;
        let negotiated = self
            .negotiated
            .expect("set from the AARE before association");
        self.events.push_back(ClientEvent::Associated(negotiated));
    }

    fn begin_request(&mut self) -> Result<(RequestId, u8), SessionError> {
        match self.state {
            State::Associated => {}
            State::ExpectResponse(_) => return Err(SessionError::Busy),
            _ => return Err(SessionError::NotAssociated),
        }
        let id = RequestId(self.next_request);
        self.next_request += 1;
        Ok((id, self.take_invoke()))
    }

    fn take_invoke(&mut self) -> u8 {
        let invoke = self.next_invoke;
        self.next_invoke = (self.next_invoke + 1) & 0x0F;
        invoke
    }

    fn send_xdlms(&mut self, apdu: &impl Codec) -> Result<(), SessionError> {
        let plain = apdu.to_bytes();
        let bytes = match self.cipher.as_mut().filter(|_| self.config.ciphered) {
            Some(cipher) => cipher.seal(&plain)?,
            None => plain,
        };
        if let Some(n) = self.negotiated {
            if bytes.len() > n.peer_max_pdu as usize {
                return Err(SessionError::Protocol(format!(
                    "request of {} bytes exceeds the meter's {}-byte PDU size",
                    bytes.len(),
                    n.peer_max_pdu
                )));
            }
        }
        self.transmit.push_back(bytes);
        Ok(())
    }

    fn expect(&mut self, state: State, now: Instant, waiting_for: &'static str) {
        self.state = state;
        self.deadline = Some((now + self.config.response_timeout, waiting_for));
    }

    fn fail(&mut self, error: SessionError) {
        self.state = State::Closed;
        self.deadline = None;
        self.events.push_back(ClientEvent::Failed(error));
    }
}

fn invoke_byte(invoke: u8) -> InvokeIdAndPriority {
    InvokeIdAndPriority::new(invoke, true, true)
}

fn pending_id(pending: &Pending) -> RequestId {
    match pending {
        Pending::Get { id, .. } | Pending::Set { id, .. } | Pending::Action { id, .. } => *id,
    }
}

fn responding_title(aare: &Aare) -> Result<SystemTitle, SessionError> {
    let title = aare.responding_ap_title.as_deref().ok_or_else(|| {
        SessionError::Protocol(
            "the AARE has no responding AP title (the meter's system title)".into(),
        )
    })?;
    Ok(SystemTitle::from_slice(title)?)
}

fn mismatch(expected: &str, got: &impl std::fmt::Debug) -> SessionError {
    SessionError::Protocol(format!("expected a {expected}, got {got:?}"))
}

/// Decodes the reassembled raw data of a block transfer as what was asked for.
fn assemble(raw: &[u8], list: bool) -> DecodeResult<Response> {
    use crate::dlms::codec::Reader;
    if list {
        let mut r = Reader::new(raw);
        let n = r.count(2, "result list")?;
        let mut results = Vec::with_capacity(n);
        for _ in 0..n {
            results.push(GetDataResult::read(&mut r)?);
        }
        r.expect_end()?;
        return Ok(Response::GetList(results));
    }
    Ok(Response::Get(GetDataResult::Data(Data::from_bytes(raw)?)))
}
