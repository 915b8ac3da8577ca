//! Data-Access-Result, Exception-Response and Confirmed-Service-Error.

use serde::Serialize;

use crate::dlms::codec::{Codec, DecodeResult, Reader};

wire_enum! {
    /// The result of accessing one attribute.
    pub enum DataAccessResult {
        Success = 0 => "success",
        HardwareFault = 1 => "hardware-fault",
        TemporaryFailure = 2 => "temporary-failure",
        ReadWriteDenied = 3 => "read-write-denied",
        ObjectUndefined = 4 => "object-undefined",
        ObjectClassInconsistent = 9 => "object-class-inconsistent",
        ObjectUnavailable = 11 => "object-unavailable",
        TypeUnmatched = 12 => "type-unmatched",
        ScopeOfAccessViolated = 13 => "scope-of-access-violated",
        DataBlockUnavailable = 14 => "data-block-unavailable",
        LongGetAborted = 15 => "long-get-aborted",
        NoLongGetInProgress = 16 => "no-long-get-in-progress",
        LongSetAborted = 17 => "long-set-aborted",
        NoLongSetInProgress = 18 => "no-long-set-in-progress",
        DataBlockNumberInvalid = 19 => "data-block-number-invalid",
        OtherReason = 250 => "other-reason",
    }
}

wire_enum! {
    /// Exception-Response state-error.
    pub enum StateError {
        ServiceNotAllowed = 1 => "service-not-allowed",
        ServiceUnknown = 2 => "service-unknown",
    }
}

/// Exception-Response service-error; `invocation-counter-error` carries the expected counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceError {
    OperationNotPossible,
    ServiceNotSupported,
    OtherReason,
    PduTooLong,
    DecipheringError,
    InvocationCounterError(u32),
    Unknown(u8),
}

impl ServiceError {
    fn code(self) -> u8 {
        match self {
            ServiceError::OperationNotPossible => 1,
            ServiceError::ServiceNotSupported => 2,
            ServiceError::OtherReason => 3,
            ServiceError::PduTooLong => 4,
            ServiceError::DecipheringError => 5,
            ServiceError::InvocationCounterError(_) => 6,
            ServiceError::Unknown(v) => v,
        }
    }
}

/// ExceptionResponse (0xD8): the server could not even start the requested service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExceptionResponse {
    pub state_error: StateError,
    pub service_error: ServiceError,
}

impl Codec for ExceptionResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(super::tag::EXCEPTION_RESPONSE);
        self.state_error.encode(out);
        out.push(self.service_error.code());
        if let ServiceError::InvocationCounterError(ic) = self.service_error {
            out.extend_from_slice(&ic.to_be_bytes());
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(super::tag::EXCEPTION_RESPONSE, "exception-response tag")?;
        let state_error = StateError::read(r)?;
        let service_error = match r.u8("service-error")? {
            1 => ServiceError::OperationNotPossible,
            2 => ServiceError::ServiceNotSupported,
            3 => ServiceError::OtherReason,
            4 => ServiceError::PduTooLong,
            5 => ServiceError::DecipheringError,
            6 => ServiceError::InvocationCounterError(r.u32("expected invocation counter")?),
            other => ServiceError::Unknown(other),
        };
        Ok(ExceptionResponse {
            state_error,
            service_error,
        })
    }
}

wire_enum! {
    /// Which service a Confirmed-Service-Error answers.
    pub enum ConfirmedService {
        InitiateError = 1 => "initiate-error",
        GetStatus = 2 => "get-status",
        GetNameList = 3 => "get-name-list",
        GetVariableAttribute = 4 => "get-variable-attribute",
        Read = 5 => "read",
        Write = 6 => "write",
        GetDataSetAttribute = 7 => "get-data-set-attribute",
        GetTiAttribute = 8 => "get-ti-attribute",
        ChangeScope = 9 => "change-scope",
        Start = 10 => "start",
        Stop = 11 => "stop",
        Resume = 12 => "resume",
        MakeUsable = 13 => "make-usable",
        InitiateLoad = 14 => "initiate-load",
        LoadSegment = 15 => "load-segment",
        TerminateLoad = 16 => "terminate-load",
        InitiateUpLoad = 17 => "initiate-up-load",
        UpLoadSegment = 18 => "up-load-segment",
        TerminateUpLoad = 19 => "terminate-up-load",
    }
}

/// ConfirmedServiceError (0x0E), e.g. an AARE refusing the InitiateRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConfirmedServiceError {
    pub service: ConfirmedService,
    /// ServiceError CHOICE: 0 application-reference, 1 hardware-resource, 2 vde-state-error,
    /// 3 service, 4 definition, 5 access, 6 initiate, 7 load-data-set, 8 change-scope, 9 task, 10 other.
    pub error_kind: u8,
    pub error_value: u8,
}

impl ConfirmedServiceError {
    /// The refusal in words, e.g. "initiate: dlms-version-too-low".
    pub fn describe(&self) -> String {
        let kind = match self.error_kind {
            0 => "application-reference",
            1 => "hardware-resource",
            2 => "vde-state-error",
            3 => "service",
            4 => "definition",
            5 => "access",
            6 => "initiate",
            7 => "load-data-set",
            8 => "change-scope",
            9 => "task",
            10 => "other",
            _ => "unknown",
        };
        let value = match (self.error_kind, self.error_value) {
            (6, 0) => "other".to_string(),
            (6, 1) => "dlms-version-too-low".to_string(),
            (6, 2) => "incompatible-conformance".to_string(),
            (6, 3) => "pdu-size-too-short".to_string(),
            (6, 4) => "refused-by-the-VDE-handler".to_string(),
            (_, v) => v.to_string(),
        };
        format!("{}: {kind}: {value}", self.service.name())
    }
}

impl Codec for ConfirmedServiceError {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(super::tag::CONFIRMED_SERVICE_ERROR);
        self.service.encode(out);
        out.extend_from_slice(&[self.error_kind, self.error_value]);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(
            super::tag::CONFIRMED_SERVICE_ERROR,
            "confirmed-service-error tag",
        )?;
        Ok(ConfirmedServiceError {
            service: ConfirmedService::read(r)?,
            error_kind: r.u8("service-error choice")?,
            error_value: r.u8("service-error value")?,
        })
    }
}
