//! GET-Request and GET-Response (0xC0 / 0xC4): normal, next block, with list.

use serde::Serialize;

use super::{
    put_seq, read_choice, read_seq, tag, AttributeDescriptor, DataAccessResult,
    InvokeIdAndPriority, SelectiveAccess,
};
use crate::dlms::codec::{put_length_prefixed, Codec, DecodeResult, Reader};
use crate::dlms::data::Data;
use crate::dlms::data_view::DataView;
use crate::dlms::serde_hex;

/// GET-Request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum GetRequest {
    Normal {
        invoke: InvokeIdAndPriority,
        attribute: AttributeDescriptor,
        access: Option<SelectiveAccess>,
    },
    /// Asks for the block after `block_number` of a long GET.
    Next {
        invoke: InvokeIdAndPriority,
        block_number: u32,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        items: Vec<(AttributeDescriptor, Option<SelectiveAccess>)>,
    },
}

impl GetRequest {
    pub fn invoke(&self) -> InvokeIdAndPriority {
        match self {
            GetRequest::Normal { invoke, .. }
            | GetRequest::Next { invoke, .. }
            | GetRequest::WithList { invoke, .. } => *invoke,
        }
    }
}

impl Codec for GetRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::GET_REQUEST);
        match self {
            GetRequest::Normal {
                invoke,
                attribute,
                access,
            } => {
                out.push(1);
                invoke.encode(out);
                attribute.encode(out);
                SelectiveAccess::encode_optional(access, out);
            }
            GetRequest::Next {
                invoke,
                block_number,
            } => {
                out.push(2);
                invoke.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            GetRequest::WithList { invoke, items } => {
                out.push(3);
                invoke.encode(out);
                put_seq(out, items, |(attribute, access), out| {
                    attribute.encode(out);
                    SelectiveAccess::encode_optional(access, out);
                });
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::GET_REQUEST, "get-request tag")?;
        let choice = read_choice(r, "get-request choice", &[1, 2, 3])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => GetRequest::Normal {
                invoke,
                attribute: AttributeDescriptor::read(r)?,
                access: SelectiveAccess::read_optional(r)?,
            },
            2 => GetRequest::Next {
                invoke,
                block_number: r.u32("block number")?,
            },
            _ => GetRequest::WithList {
                invoke,
                items: read_seq(r, 10, "attribute descriptor list", |r| {
                    Ok((
                        AttributeDescriptor::read(r)?,
                        SelectiveAccess::read_optional(r)?,
                    ))
                })?,
            },
        })
    }
}

/// Get-Data-Result: the value, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GetDataResult {
    Data(Data),
    DataAccessResult(DataAccessResult),
}

impl Codec for GetDataResult {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            GetDataResult::Data(data) => {
                out.push(0);
                data.encode(out);
            }
            GetDataResult::DataAccessResult(dar) => {
                out.push(1);
                dar.encode(out);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(match read_choice(r, "get-data-result choice", &[0, 1])? {
            0 => GetDataResult::Data(Data::read(r)?),
            _ => GetDataResult::DataAccessResult(DataAccessResult::read(r)?),
        })
    }
}

/// The raw bytes of one block of an encoded result, or why the block is missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawOrResult {
    RawData(#[serde(serialize_with = "serde_hex::bytes")] Vec<u8>),
    DataAccessResult(DataAccessResult),
}

/// DataBlock-G: one block of a long GET.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataBlockG {
    pub last_block: bool,
    pub block_number: u32,
    pub result: RawOrResult,
}

impl Codec for DataBlockG {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.last_block as u8);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        match &self.result {
            RawOrResult::RawData(raw) => {
                out.push(0);
                put_length_prefixed(out, raw);
            }
            RawOrResult::DataAccessResult(dar) => {
                out.push(1);
                dar.encode(out);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let last_block = r.bool("last-block")?;
        let block_number = r.u32("block number")?;
        let result = match read_choice(r, "data block result choice", &[0, 1])? {
            0 => RawOrResult::RawData(r.length_prefixed("raw-data")?.to_vec()),
            _ => RawOrResult::DataAccessResult(DataAccessResult::read(r)?),
        };
        Ok(DataBlockG {
            last_block,
            block_number,
            result,
        })
    }
}

/// GET-Response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum GetResponse {
    Normal {
        invoke: InvokeIdAndPriority,
        result: GetDataResult,
    },
    WithDataBlock {
        invoke: InvokeIdAndPriority,
        block: DataBlockG,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        results: Vec<GetDataResult>,
    },
}

impl GetResponse {
    pub fn invoke(&self) -> InvokeIdAndPriority {
        match self {
            GetResponse::Normal { invoke, .. }
            | GetResponse::WithDataBlock { invoke, .. }
            | GetResponse::WithList { invoke, .. } => *invoke,
        }
    }
}

impl Codec for GetResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::GET_RESPONSE);
        match self {
            GetResponse::Normal { invoke, result } => {
                out.push(1);
                invoke.encode(out);
                result.encode(out);
            }
            GetResponse::WithDataBlock { invoke, block } => {
                out.push(2);
                invoke.encode(out);
                block.encode(out);
            }
            GetResponse::WithList { invoke, results } => {
                out.push(3);
                invoke.encode(out);
                put_seq(out, results, |result, out| result.encode(out));
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::GET_RESPONSE, "get-response tag")?;
        let choice = read_choice(r, "get-response choice", &[1, 2, 3])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => GetResponse::Normal {
                invoke,
                result: GetDataResult::read(r)?,
            },
            2 => GetResponse::WithDataBlock {
                invoke,
                block: DataBlockG::read(r)?,
            },
            _ => GetResponse::WithList {
                invoke,
                results: read_seq(r, 2, "result list", GetDataResult::read)?,
            },
        })
    }
}

/// A GET-Response read in place: data results are views into the input, nothing is copied.
#[derive(Debug, Clone, PartialEq)]
pub enum GetResponseRef<'a> {
    Normal {
        invoke: InvokeIdAndPriority,
        result: Result<DataView<'a>, DataAccessResult>,
    },
    WithDataBlock {
        invoke: InvokeIdAndPriority,
        last_block: bool,
        block_number: u32,
        raw: Result<&'a [u8], DataAccessResult>,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        results: Vec<Result<DataView<'a>, DataAccessResult>>,
    },
}

impl<'a> GetResponseRef<'a> {
    /// Reads a whole GET-Response, rejecting trailing bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes);
        r.expect_u8(tag::GET_RESPONSE, "get-response tag")?;
        let choice = read_choice(&mut r, "get-response choice", &[1, 2, 3])?;
        let invoke = InvokeIdAndPriority::read(&mut r)?;
        let response = match choice {
            1 => GetResponseRef::Normal {
                invoke,
                result: read_result_ref(&mut r)?,
            },
            2 => {
                let last_block = r.bool("last-block")?;
                let block_number = r.u32("block number")?;
                let raw = match read_choice(&mut r, "data block result choice", &[0, 1])? {
                    0 => Ok(r.length_prefixed("raw-data")?),
                    _ => Err(DataAccessResult::read(&mut r)?),
                };
                GetResponseRef::WithDataBlock {
                    invoke,
                    last_block,
                    block_number,
                    raw,
                }
            }
            _ => {
                let n = r.count(2, "result list")?;
                let results = (0..n)
                    .map(|_| read_result_ref(&mut r))
                    .collect::<DecodeResult<_>>()?;
                GetResponseRef::WithList { invoke, results }
            }
        };
        r.expect_end()?;
        Ok(response)
    }
}

fn read_result_ref<'a>(r: &mut Reader<'a>) -> DecodeResult<Result<DataView<'a>, DataAccessResult>> {
    Ok(match read_choice(r, "get-data-result choice", &[0, 1])? {
        0 => Ok(DataView::read(r)?),
        _ => Err(DataAccessResult::read(r)?),
    })
}
