//! The server (meter) end of an association: checks the AARQ against the policy for the calling
//! client, runs HLS pass 3/4, serves GET/SET/ACTION through a [`CosemServer`], and splits long GET
//! responses into blocks that fit the client's PDU size.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cipher::{is_ciphered_tag, Cipher};
use super::{Authentication, SecuritySetup, SessionError, CIPHER_OVERHEAD, DATABLOCK_OVERHEAD};
use crate::dlms::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContext, AssociationResult,
    AuthenticationValue, Conformance, InitiateRequest, InitiateResponse, Mechanism,
    ResultSourceDiagnostic, Rlre, Rlrq, UserInformation,
};
use crate::dlms::codec::Codec;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::{
    hls_gmac_proof, verify_hls_gmac, GloCiphered, SecurityError, SystemTitle,
};
use crate::dlms::xdlms::{
    ActionOutcome, ActionRequest, ActionResponse, ActionResult, AttributeDescriptor,
    ConfirmedService, ConfirmedServiceError, DataAccessResult, DataBlockG, ExceptionResponse,
    GetDataResult, GetRequest, GetResponse, InvokeIdAndPriority, MethodDescriptor, RawOrResult,
    SelectiveAccess, ServiceError, SetRequest, SetResponse, StateError,
};

/// Who is asking, for the application's access rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessContext {
    pub client_sap: u16,
    pub mechanism: Mechanism,
}

/// The COSEM application behind a server session: the meter's objects.
pub trait CosemServer {
    fn get(
        &mut self,
        ctx: &AccessContext,
        attribute: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult>;
    fn set(
        &mut self,
        ctx: &AccessContext,
        attribute: &AttributeDescriptor,
        value: Data,
    ) -> DataAccessResult;
    fn action(
        &mut self,
        ctx: &AccessContext,
        method: &MethodDescriptor,
        parameters: Option<Data>,
    ) -> ActionOutcome;
}

/// What one client SAP must present to associate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    pub sap: u16,
    pub authentication: Authentication,
    pub ciphered: bool,
}

/// The server's side of the negotiation, shared by all its sessions.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub conformance: Conformance,
    pub max_receive_pdu: u16,
    pub security: Option<SecuritySetup>,
    pub clients: Vec<ClientPolicy>,
    pub inactivity_timeout: Duration,
}

/// What a server session reports to its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Associated {
        client_sap: u16,
        mechanism: Mechanism,
    },
    Refused {
        client_sap: u16,
        reason: String,
    },
    Released,
    /// Nothing arrived for the inactivity timeout: close the connection.
    IdleTimeout,
    /// A request was answered with an exception (malformed, refused, not allowed).
    Rejected(String),
}

#[derive(Debug)]
enum State {
    ExpectAarq,
    ExpectHlsReply {
        ctx: AccessContext,
        challenge: Vec<u8>,
        client_title: SystemTitle,
    },
    Associated {
        ctx: AccessContext,
        blocks: Option<OutgoingBlocks>,
    },
    Closed,
}

/// A long GET response being sent block by block.
#[derive(Debug)]
struct OutgoingBlocks {
    invoke: InvokeIdAndPriority,
    raw: Vec<u8>,
    block_size: usize,
    sent: u32,
}

impl OutgoingBlocks {
    fn block(&self, number: u32) -> DataBlockG {
        let start = (number as usize - 1) * self.block_size;
        let end = (start + self.block_size).min(self.raw.len());
        DataBlockG {
            last_block: end == self.raw.len(),
            block_number: number,
            result: RawOrResult::RawData(self.raw[start..end].to_vec()),
        }
    }
}

/// One association (or attempt) from one client SAP, sans-I/O.
///
/// Call order: `handle_apdu` for every APDU from this client (with the application), then drain
/// `poll_transmit` and `poll_event`; arm a timer from `poll_timeout` and call `handle_timeout`.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    client_sap: u16,
    /// The StoC for the next HLS association, drawn by the driver.
    challenge: Vec<u8>,
    state: State,
    cipher: Option<Cipher>,
    ciphered: bool,
    /// Whether the APDU being handled arrived ciphered.
    last_was_ciphered: bool,
    /// Whether it arrived as general-glo-ciphering: the answer then takes the same form.
    last_was_general: bool,
    /// The longest APDU this side sends: the smaller of the client's and the meter's max PDU.
    client_max_pdu: usize,
    conformance: Conformance,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ServerEvent>,
    deadline: Instant,
}

impl ServerSession {
    pub fn new(
        config: Arc<ServerConfig>,
        client_sap: u16,
        challenge: Vec<u8>,
        now: Instant,
    ) -> Self {
        let cipher = config.security.clone().map(Cipher::new);
        let deadline = now + config.inactivity_timeout;
        ServerSession {
            config,
            client_sap,
            challenge,
            state: State::ExpectAarq,
            cipher,
            ciphered: false,
            last_was_ciphered: false,
            last_was_general: false,
            client_max_pdu: 0,
            conformance: Conformance::default(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            deadline,
        }
    }

    pub fn is_associated(&self) -> bool {
        matches!(self.state, State::Associated { .. })
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The invocation counter the next ciphered APDU will carry (persist it across sessions).
    pub fn next_invocation_counter(&self) -> Option<u32> {
        self.cipher.as_ref().and_then(Cipher::peek_counter)
    }

    /// The last invocation counter accepted from the client (persist it across associations).
    pub fn peer_invocation_counter(&self) -> Option<u32> {
        self.cipher.as_ref().and_then(Cipher::peer_counter)
    }

    /// Refuses from now on any client counter not above `last`, remembered from earlier associations.
    pub fn restore_peer_invocation_counter(&mut self, last: u32) {
        if let Some(cipher) = self.cipher.as_mut() {
            cipher.restore_peer_counter(last);
        }
    }

    pub fn handle_apdu(&mut self, now: Instant, apdu: &[u8], app: &mut impl CosemServer) {
        if self.is_closed() {
            return;
        }
        self.deadline = now + self.config.inactivity_timeout;
        self.last_was_ciphered = apdu.first().is_some_and(|&t| is_ciphered_tag(t));
        self.last_was_general = apdu.first() == Some(&0xDB);
        let plain = match self.unwrap(apdu) {
            Ok(plain) => plain,
            Err(exception) => return self.reject(exception, "could not open a ciphered APDU"),
        };
        match plain.first() {
            Some(0x60) => self.on_aarq(&plain),
            Some(0x62) => self.on_rlrq(&plain),
            Some(_) => self.on_xdlms(&plain, app),
            None => self.reject(
                exception(
                    StateError::ServiceNotAllowed,
                    ServiceError::OperationNotPossible,
                ),
                "empty APDU",
            ),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.deadline && !self.is_closed() {
            self.state = State::Closed;
            self.events.push_back(ServerEvent::IdleTimeout);
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.is_closed()).then_some(self.deadline)
    }

    /// Opens a ciphered APDU, or returns a plain one as it is (refused later if the association is ciphered).
    fn unwrap(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ExceptionResponse> {
        match (apdu.first(), self.cipher.as_mut()) {
            (Some(&tag), Some(cipher)) if is_ciphered_tag(tag) => {
                cipher.open(apdu).map_err(|e| match e {
                    SessionError::Security(SecurityError::Replay { last, .. }) => exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::InvocationCounterError(last.saturating_add(1)),
                    ),
                    _ => exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::DecipheringError,
                    ),
                })
            }
            (Some(&tag), None) if is_ciphered_tag(tag) => Err(exception(
                StateError::ServiceNotAllowed,
                ServiceError::DecipheringError,
            )),
            _ => Ok(apdu.to_vec()),
        }
    }

    fn on_aarq(&mut self, bytes: &[u8]) {
        let aarq = match Aarq::from_bytes(bytes) {
            Ok(aarq) => aarq,
            Err(e) => {
                return self.refuse(
                    ApplicationContext::LogicalName,
                    AcseServiceUserDiagnostic::NoReasonGiven,
                    None,
                    format!("malformed AARQ: {e}"),
                )
            }
        };
        let context = aarq
            .application_context_name
            .unwrap_or(ApplicationContext::LogicalName);
        match self.check_aarq(&aarq) {
            Ok((initiate, ctx)) => self.accept(&aarq, context, initiate, ctx),
            Err((diagnostic, user_information, reason)) => {
                self.refuse(context, diagnostic, user_information, reason)
            }
        }
    }

    /// Checks the AARQ against this client's policy, returning the initiate request and access context.
    #[allow(clippy::type_complexity)]
    fn check_aarq(
        &mut self,
        aarq: &Aarq,
    ) -> Result<
        (InitiateRequest, AccessContext),
        (AcseServiceUserDiagnostic, Option<UserInformation>, String),
    > {
        use AcseServiceUserDiagnostic as D;
        let policy = self
            .config
            .clients
            .iter()
            .find(|p| p.sap == self.client_sap)
            .cloned()
            .ok_or((
                D::NoReasonGiven,
                None,
                format!(
                    "no association is configured for client SAP {}",
                    self.client_sap
                ),
            ))?;
        let wanted = if policy.ciphered {
            ApplicationContext::LogicalNameCiphered
        } else {
            ApplicationContext::LogicalName
        };
        if aarq.application_context_name != Some(wanted) {
            return Err((
                D::ApplicationContextNameNotSupported,
                None,
                format!("client {} must use the {wanted:?} context", policy.sap),
            ));
        }
        let mechanism = aarq.mechanism();
        let value = match &aarq.calling_authentication_value {
            Some(AuthenticationValue::CharString(v)) => v.clone(),
            _ => Vec::new(),
        };
        match (&policy.authentication, mechanism) {
            (Authentication::None, Mechanism::Lowest)
            | (Authentication::HighGmac, Mechanism::HighGmac) => {}
            (Authentication::Low { password }, Mechanism::Low) if *password == value => {}
            (Authentication::Low { .. }, Mechanism::Low) => {
                return Err((D::AuthenticationFailure, None, "wrong LLS password".into()))
            }
            (_, Mechanism::Lowest) => {
                return Err((
                    D::AuthenticationMechanismNameRequired,
                    None,
                    "authentication required".into(),
                ))
            }
            (wanted, got) => {
                return Err((
                    D::AuthenticationMechanismNameNotRecognised,
                    None,
                    format!(
                        "client {} must use {}, not {got:?}",
                        policy.sap,
                        wanted.name()
                    ),
                ))
            }
        }
        if mechanism == Mechanism::HighGmac && !(8..=64).contains(&value.len()) {
            return Err((
                D::AuthenticationFailure,
                None,
                "HLS challenge must be 8 to 64 bytes".into(),
            ));
        }
        if let Some(title) = aarq.calling_ap_title.as_deref() {
            if let (Some(cipher), Ok(title)) =
                (self.cipher.as_mut(), SystemTitle::from_slice(title))
            {
                cipher.set_peer_title(title);
            }
        }
        let initiate = self
            .open_initiate(aarq)
            .map_err(|(diagnostic, reason)| (diagnostic, None, reason))?;
        if initiate.proposed_dlms_version < 6 {
            let error = ConfirmedServiceError {
                service: ConfirmedService::InitiateError,
                error_kind: 6,
                error_value: 1,
            };
            return Err((
                D::NoReasonGiven,
                Some(UserInformation::ConfirmedServiceError(error)),
                "DLMS version below 6".into(),
            ));
        }
        self.ciphered = policy.ciphered;
        Ok((
            initiate,
            AccessContext {
                client_sap: self.client_sap,
                mechanism,
            },
        ))
    }

    /// The InitiateRequest, deciphered if needed; a decipher failure means the keys differ.
    fn open_initiate(
        &mut self,
        aarq: &Aarq,
    ) -> Result<InitiateRequest, (AcseServiceUserDiagnostic, String)> {
        use AcseServiceUserDiagnostic as D;
        let bytes = match (&aarq.user_information, self.cipher.as_mut()) {
            (Some(UserInformation::InitiateRequest(i)), _) => return Ok(i.clone()),
            (Some(UserInformation::Ciphered(GloCiphered { content, .. })), Some(cipher)) => {
                cipher.open_content(content, None).map_err(|e| {
                    (
                        D::AuthenticationFailure,
                        format!("cannot open the glo-initiateRequest (keys differ?): {e}"),
                    )
                })?
            }
            (Some(UserInformation::Ciphered(_)), None) => {
                return Err((
                    D::ApplicationContextNameNotSupported,
                    "ciphered AARQ but this meter has no keys".into(),
                ))
            }
            _ => {
                return Err((
                    D::NoReasonGiven,
                    "the AARQ carries no InitiateRequest".into(),
                ))
            }
        };
        InitiateRequest::from_bytes(&bytes)
            .map_err(|e| (D::NoReasonGiven, format!("malformed InitiateRequest: {e}")))
    }

    fn accept(
        &mut self,
        aarq: &Aarq,
        context: ApplicationContext,
        initiate: InitiateRequest,
        ctx: AccessContext,
    ) {
        self.conformance = Conformance(initiate.proposed_conformance.0 & self.config.conformance.0);
        // A meter never sends an APDU longer than its own PDU buffer, whatever the client accepts.
        self.client_max_pdu = initiate
            .client_max_receive_pdu_size
            .min(self.config.max_receive_pdu) as usize;
        let response = InitiateResponse::new(self.conformance, self.config.max_receive_pdu);
        let user_information = match self.cipher.as_mut().filter(|_| self.ciphered) {
            Some(cipher) => match cipher.seal_content(&response.to_bytes()) {
                Ok(content) => UserInformation::Ciphered(GloCiphered { tag: 0x28, content }),
                Err(e) => {
                    return self.refuse(
                        context,
                        AcseServiceUserDiagnostic::NoReasonGiven,
                        None,
                        e.to_string(),
                    )
                }
            },
            None => UserInformation::InitiateResponse(response),
        };
        let mut aare = Aare::accepted(context, user_information);
        let own_title = self.cipher.as_ref().map(|c| c.own().system_title);
        match ctx.mechanism {
            Mechanism::Lowest => {}
            Mechanism::HighGmac => {
                aare = aare.with_authentication(Mechanism::HighGmac, Some(self.challenge.clone()))
            }
            other => aare = aare.with_authentication(other, None),
        }
        if let Some(title) = own_title {
            aare = aare.with_responding_ap_title(title.0.to_vec());
        }
        self.transmit.push_back(aare.to_bytes());
        self.state = match ctx.mechanism {
            Mechanism::HighGmac => {
                let Some(AuthenticationValue::CharString(challenge)) =
                    aarq.calling_authentication_value.clone()
                else {
                    unreachable!("checked")
                };
                match self.cipher.as_ref().and_then(Cipher::peer_title) {
                    Some(client_title) => State::ExpectHlsReply {
                        ctx,
                        challenge,
                        client_title,
                    },
                    None => {
                        return self.refuse(
                            context,
                            AcseServiceUserDiagnostic::CallingApTitleNotRecognized,
                            None,
                            "HLS-GMAC needs the client's system title".into(),
                        )
                    }
                }
            }
            _ => {
                self.events.push_back(ServerEvent::Associated {
                    client_sap: ctx.client_sap,
                    mechanism: ctx.mechanism,
                });
                State::Associated { ctx, blocks: None }
            }
        };
    }

    fn refuse(
        &mut self,
        context: ApplicationContext,
        diagnostic: AcseServiceUserDiagnostic,
        user_information: Option<UserInformation>,
        reason: String,
    ) {
        let aare = Aare::rejected(
            context,
            AssociationResult::RejectedPermanent,
            ResultSourceDiagnostic::ServiceUser(diagnostic),
            user_information,
        );
        self.transmit.push_back(aare.to_bytes());
        self.state = State::ExpectAarq;
        self.events.push_back(ServerEvent::Refused {
            client_sap: self.client_sap,
            reason,
        });
    }

    fn on_rlrq(&mut self, bytes: &[u8]) {
        if let Err(e) = Rlrq::from_bytes(bytes) {
            return self.reject(
                exception(
                    StateError::ServiceNotAllowed,
                    ServiceError::OperationNotPossible,
                ),
                &format!("malformed RLRQ: {e}"),
            );
        }
        self.transmit.push_back(Rlre::normal().to_bytes());
        self.state = State::ExpectAarq;
        self.events.push_back(ServerEvent::Released);
    }

    fn on_xdlms(&mut self, apdu: &[u8], app: &mut impl CosemServer) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::ExpectHlsReply {
                ctx,
                challenge,
                client_title,
            } => self.on_hls_reply(apdu, ctx, &challenge, client_title),
            State::Associated { ctx, blocks } => {
                self.state = State::Associated { ctx, blocks };
                if self.ciphered && !self.last_was_ciphered {
                    return self.reject(
                        exception(
                            StateError::ServiceNotAllowed,
                            ServiceError::DecipheringError,
                        ),
                        "plain APDU in a ciphered association",
                    );
                }
                self.serve(apdu, app);
            }
            other => {
                self.state = other;
                self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::ServiceNotSupported,
                    ),
                    "request before association",
                );
            }
        }
    }

    /// HLS pass 3 from the client; answer pass 4.
    fn on_hls_reply(
        &mut self,
        apdu: &[u8],
        ctx: AccessContext,
        client_challenge: &[u8],
        client_title: SystemTitle,
    ) {
        let request = match ActionRequest::from_bytes(apdu) {
            Ok(ActionRequest::Normal {
                invoke,
                method,
                parameters,
            }) if method.class_id == 15
                && method.instance == Obis::CURRENT_ASSOCIATION
                && method.method == 1 =>
            {
                (invoke, parameters)
            }
            _ => {
                self.state = State::ExpectAarq;
                return self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::ServiceNotSupported,
                    ),
                    "expected reply_to_HLS_authentication",
                );
            }
        };
        let (invoke, parameters) = request;
        let cipher = self.cipher.as_mut().expect("HLS associations need keys");
        let verified = match &parameters {
            Some(Data::OctetString(proof)) => {
                verify_hls_gmac(proof, &self.challenge, &client_title, &cipher.own().keys).is_ok()
            }
            _ => false,
        };
        if !verified {
            self.state = State::ExpectAarq;
            let outcome = ActionOutcome {
                result: ActionResult::ReadWriteDenied,
                return_parameters: None,
            };
            self.send(&ActionResponse::Normal { invoke, outcome });
            self.events.push_back(ServerEvent::Refused {
                client_sap: ctx.client_sap,
                reason: "wrong HLS-GMAC proof: the client's keys differ".into(),
            });
            return;
        }
        let proof = match cipher.next_counter() {
            Ok(ic) => hls_gmac_proof(
                client_challenge,
                &cipher.own().system_title,
                ic,
                &cipher.own().keys,
            ),
            Err(e) => {
                return self.reject(
                    exception(StateError::ServiceNotAllowed, ServiceError::OtherReason),
                    &e.to_string(),
                )
            }
        };
        let outcome = ActionOutcome {
            result: ActionResult::Success,
            return_parameters: Some(GetDataResult::Data(Data::OctetString(proof))),
        };
        self.send(&ActionResponse::Normal { invoke, outcome });
        self.state = State::Associated { ctx, blocks: None };
        self.events.push_back(ServerEvent::Associated {
            client_sap: ctx.client_sap,
            mechanism: ctx.mechanism,
        });
    }

    fn serve(&mut self, apdu: &[u8], app: &mut impl CosemServer) {
        let State::Associated { ctx, .. } = self.state else {
            return;
        };
        let allowed = |bit: Conformance| self.conformance.contains(bit);
        match apdu.first() {
            Some(0xC0) if allowed(Conformance::GET) => match GetRequest::from_bytes(apdu) {
                Ok(request) => self.serve_get(&ctx, request, app),
                Err(e) => self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::OperationNotPossible,
                    ),
                    &e.to_string(),
                ),
            },
            Some(0xC1) if allowed(Conformance::SET) => match SetRequest::from_bytes(apdu) {
                Ok(SetRequest::Normal {
                    invoke,
                    attribute,
                    value,
                    ..
                }) => {
                    let result = app.set(&ctx, &attribute, value);
                    self.send(&SetResponse::Normal { invoke, result });
                }
                Ok(_) => self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::ServiceNotSupported,
                    ),
                    "SET with blocks or lists is not supported",
                ),
                Err(e) => self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::OperationNotPossible,
                    ),
                    &e.to_string(),
                ),
            },
            Some(0xC3) if allowed(Conformance::ACTION) => match ActionRequest::from_bytes(apdu) {
                Ok(ActionRequest::Normal {
                    invoke,
                    method,
                    parameters,
                }) => {
                    let outcome = app.action(&ctx, &method, parameters);
                    self.send(&ActionResponse::Normal { invoke, outcome });
                }
                Ok(_) => self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::ServiceNotSupported,
                    ),
                    "ACTION with blocks or lists is not supported",
                ),
                Err(e) => self.reject(
                    exception(
                        StateError::ServiceNotAllowed,
                        ServiceError::OperationNotPossible,
                    ),
                    &e.to_string(),
                ),
            },
            Some(0xC0 | 0xC1 | 0xC3) => self.reject(
                exception(
                    StateError::ServiceNotAllowed,
                    ServiceError::ServiceNotSupported,
                ),
                "service not in the negotiated conformance",
            ),
            _ => self.reject(
                exception(
                    StateError::ServiceUnknown,
                    ServiceError::ServiceNotSupported,
                ),
                "unknown service",
            ),
        }
    }

    fn serve_get(&mut self, ctx: &AccessContext, request: GetRequest, app: &mut impl CosemServer) {
        match request {
            GetRequest::Normal {
                invoke,
                attribute,
                access,
            } => {
                let result = read(app, ctx, &attribute, access.as_ref());
                self.send_get(GetResponse::Normal { invoke, result });
            }
            GetRequest::WithList { invoke, items } => {
                let results = items
                    .iter()
                    .map(|(attribute, access)| read(app, ctx, attribute, access.as_ref()))
                    .collect();
                self.send_get(GetResponse::WithList { invoke, results });
            }
            GetRequest::Next {
                invoke,
                block_number,
            } => self.next_block(invoke, block_number),
        }
    }

    /// Sends a GET response whole, or its first block when it does not fit the client's PDU size.
    fn send_get(&mut self, response: GetResponse) {
        let invoke = response.invoke();
        let plain = response.to_bytes();
        let overhead = if self.ciphered { CIPHER_OVERHEAD } else { 0 };
        if plain.len() + overhead <= self.client_max_pdu {
            return self.send(&response);
        }
        let block_size = self
            .client_max_pdu
            .saturating_sub(DATABLOCK_OVERHEAD + overhead);
        if !self
            .conformance
            .contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
            || block_size == 0
        {
            let result = GetDataResult::DataAccessResult(DataAccessResult::OtherReason);
            return self.send(&GetResponse::Normal { invoke, result });
        }
        // The raw data is the response body after tag, choice and invoke id (and, for a
        // normal response, after the data/result choice).
        let skip = if matches!(response, GetResponse::Normal { .. }) {
            4
        } else {
            3
        };
        let blocks = OutgoingBlocks {
            invoke,
            raw: plain[skip..].to_vec(),
            block_size,
            sent: 1,
        };
        let first = blocks.block(1);
        if let State::Associated { blocks: slot, .. } = &mut self.state {
            *slot = Some(blocks);
        }
        self.send(&GetResponse::WithDataBlock {
            invoke,
            block: first,
        });
    }

    /// GET-Request-Next: the client has block `number` and wants the one after it.
    fn next_block(&mut self, invoke: InvokeIdAndPriority, number: u32) {
        let State::Associated { blocks, .. } = &mut self.state else {
            return;
        };
        let failure = |dar| GetResponse::WithDataBlock {
            invoke,
            block: DataBlockG {
                last_block: true,
                block_number: number,
                result: RawOrResult::DataAccessResult(dar),
            },
        };
        let response = match blocks.as_mut() {
            None => failure(DataAccessResult::NoLongGetInProgress),
            Some(b) if b.sent != number || b.invoke.invoke_id() != invoke.invoke_id() => {
                *blocks = None;
                failure(DataAccessResult::LongGetAborted)
            }
            Some(b) => {
                b.sent += 1;
                let block = b.block(b.sent);
                if block.last_block {
                    *blocks = None;
                }
                GetResponse::WithDataBlock { invoke, block }
            }
        };
        self.send(&response);
    }

    /// Queues an xDLMS APDU, glo-ciphered when the association is.
    fn send(&mut self, apdu: &impl Codec) {
        let plain = apdu.to_bytes();
        let bytes = match self.cipher.as_mut().filter(|_| self.ciphered) {
            Some(cipher) => match if self.last_was_general {
                cipher.seal_general(&plain)
            } else {
                cipher.seal(&plain)
            } {
                Ok(sealed) => sealed,
                Err(e) => {
                    self.events.push_back(ServerEvent::Rejected(format!(
                        "cannot cipher a response: {e}"
                    )));
                    return;
                }
            },
            None => plain,
        };
        self.transmit.push_back(bytes);
    }

    fn reject(&mut self, exception: ExceptionResponse, why: &str) {
        self.transmit.push_back(exception.to_bytes());
        self.events
            .push_back(ServerEvent::Rejected(why.to_string()));
    }
}

fn read(
    app: &mut impl CosemServer,
    ctx: &AccessContext,
    attribute: &AttributeDescriptor,
    access: Option<&SelectiveAccess>,
) -> GetDataResult {
    match app.get(ctx, attribute, access) {
        Ok(data) => GetDataResult::Data(data),
        Err(dar) => GetDataResult::DataAccessResult(dar),
    }
}

fn exception(state_error: StateError, service_error: ServiceError) -> ExceptionResponse {
    ExceptionResponse {
        state_error,
        service_error,
    }
}
