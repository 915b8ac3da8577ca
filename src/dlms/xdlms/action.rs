//! ACTION-Request and ACTION-Response (0xC3 / 0xC7): invoke a method of a COSEM object.

use serde::Serialize;

use super::{
    put_seq, read_choice, read_optional_flag, read_seq, tag, DataBlockSA, GetDataResult,
    InvokeIdAndPriority, MethodDescriptor,
};
use crate::dlms::codec::{Codec, DecodeResult, Reader};
use crate::dlms::data::Data;

wire_enum! {
    /// The result of invoking one method.
    pub enum ActionResult {
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
        LongActionAborted = 15 => "long-action-aborted",
        NoLongActionInProgress = 16 => "no-long-action-in-progress",
        OtherReason = 250 => "other-reason",
    }
}

/// ACTION-Request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ActionRequest {
    Normal {
        invoke: InvokeIdAndPriority,
        method: MethodDescriptor,
        parameters: Option<Data>,
    },
    NextPBlock {
        invoke: InvokeIdAndPriority,
        block_number: u32,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        methods: Vec<MethodDescriptor>,
        parameters: Vec<Data>,
    },
    WithFirstPBlock {
        invoke: InvokeIdAndPriority,
        method: MethodDescriptor,
        block: DataBlockSA,
    },
    WithListAndFirstPBlock {
        invoke: InvokeIdAndPriority,
        methods: Vec<MethodDescriptor>,
        block: DataBlockSA,
    },
    WithPBlock {
        invoke: InvokeIdAndPriority,
        block: DataBlockSA,
    },
}

fn encode_optional_data(data: &Option<Data>, out: &mut Vec<u8>) {
    match data {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            d.encode(out);
        }
    }
}

fn read_optional_data(r: &mut Reader<'_>) -> DecodeResult<Option<Data>> {
    Ok(match read_optional_flag(r, "method parameters")? {
        true => Some(Data::read(r)?),
        false => None,
    })
}

impl Codec for ActionRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::ACTION_REQUEST);
        match self {
            ActionRequest::Normal {
                invoke,
                method,
                parameters,
            } => {
                out.push(1);
                invoke.encode(out);
                method.encode(out);
                encode_optional_data(parameters, out);
            }
            ActionRequest::NextPBlock {
                invoke,
                block_number,
            } => {
                out.push(2);
                invoke.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            ActionRequest::WithList {
                invoke,
                methods,
                parameters,
            } => {
                out.push(3);
                invoke.encode(out);
                put_seq(out, methods, |m, out| m.encode(out));
                put_seq(out, parameters, |p, out| p.encode(out));
            }
            ActionRequest::WithFirstPBlock {
                invoke,
                method,
                block,
            } => {
                out.push(4);
                invoke.encode(out);
                method.encode(out);
                block.encode(out);
            }
            ActionRequest::WithListAndFirstPBlock {
                invoke,
                methods,
                block,
            } => {
                out.push(5);
                invoke.encode(out);
                put_seq(out, methods, |m, out| m.encode(out));
                block.encode(out);
            }
            ActionRequest::WithPBlock { invoke, block } => {
                out.push(6);
                invoke.encode(out);
                block.encode(out);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::ACTION_REQUEST, "action-request tag")?;
        let choice = read_choice(r, "action-request choice", &[1, 2, 3, 4, 5, 6])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => ActionRequest::Normal {
                invoke,
                method: MethodDescriptor::read(r)?,
                parameters: read_optional_data(r)?,
            },
            2 => ActionRequest::NextPBlock {
                invoke,
                block_number: r.u32("block number")?,
            },
            3 => ActionRequest::WithList {
                invoke,
                methods: read_seq(r, 9, "method descriptor list", MethodDescriptor::read)?,
                parameters: read_seq(r, 1, "parameter list", Data::read)?,
            },
            4 => ActionRequest::WithFirstPBlock {
                invoke,
                method: MethodDescriptor::read(r)?,
                block: DataBlockSA::read(r)?,
            },
            5 => ActionRequest::WithListAndFirstPBlock {
                invoke,
                methods: read_seq(r, 9, "method descriptor list", MethodDescriptor::read)?,
                block: DataBlockSA::read(r)?,
            },
            _ => ActionRequest::WithPBlock {
                invoke,
                block: DataBlockSA::read(r)?,
            },
        })
    }
}

/// Action-Response-With-Optional-Data: the method's result and what it returned, if anything.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionOutcome {
    pub result: ActionResult,
    pub return_parameters: Option<GetDataResult>,
}

impl Codec for ActionOutcome {
    fn encode(&self, out: &mut Vec<u8>) {
        self.result.encode(out);
        match &self.return_parameters {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                p.encode(out);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let result = ActionResult::read(r)?;
        let return_parameters = match read_optional_flag(r, "return parameters")? {
            true => Some(GetDataResult::read(r)?),
            false => None,
        };
        Ok(ActionOutcome {
            result,
            return_parameters,
        })
    }
}

/// ACTION-Response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ActionResponse {
    Normal {
        invoke: InvokeIdAndPriority,
        outcome: ActionOutcome,
    },
    WithPBlock {
        invoke: InvokeIdAndPriority,
        block: DataBlockSA,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        outcomes: Vec<ActionOutcome>,
    },
    NextPBlock {
        invoke: InvokeIdAndPriority,
        block_number: u32,
    },
}

impl Codec for ActionResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::ACTION_RESPONSE);
        match self {
            ActionResponse::Normal { invoke, outcome } => {
                out.push(1);
                invoke.encode(out);
                outcome.encode(out);
            }
            ActionResponse::WithPBlock { invoke, block } => {
                out.push(2);
                invoke.encode(out);
                block.encode(out);
            }
            ActionResponse::WithList { invoke, outcomes } => {
                out.push(3);
                invoke.encode(out);
                put_seq(out, outcomes, |o, out| o.encode(out));
            }
            ActionResponse::NextPBlock {
                invoke,
                block_number,
            } => {
                out.push(4);
                invoke.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::ACTION_RESPONSE, "action-response tag")?;
        let choice = read_choice(r, "action-response choice", &[1, 2, 3, 4])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => ActionResponse::Normal {
                invoke,
                outcome: ActionOutcome::read(r)?,
            },
            2 => ActionResponse::WithPBlock {
                invoke,
                block: DataBlockSA::read(r)?,
            },
            3 => ActionResponse::WithList {
                invoke,
                outcomes: read_seq(r, 2, "action result list", ActionOutcome::read)?,
            },
            _ => ActionResponse::NextPBlock {
                invoke,
                block_number: r.u32("block number")?,
            },
        })
    }
}
