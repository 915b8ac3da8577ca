//! SET-Request and SET-Response (0xC1 / 0xC5), including block transfer.

use serde::Serialize;

use super::{
    put_seq, read_choice, read_seq, tag, AttributeDescriptor, DataAccessResult,
    InvokeIdAndPriority, SelectiveAccess,
};
use crate::dlms::codec::{put_length_prefixed, Codec, DecodeResult, Reader};
use crate::dlms::data::Data;
use crate::dlms::serde_hex;

/// DataBlock-SA: one block of a long SET or ACTION.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataBlockSA {
    pub last_block: bool,
    pub block_number: u32,
    #[serde(serialize_with = "serde_hex::bytes")]
    pub raw_data: Vec<u8>,
}

impl Codec for DataBlockSA {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.last_block as u8);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        put_length_prefixed(out, &self.raw_data);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(DataBlockSA {
            last_block: r.bool("last-block")?,
            block_number: r.u32("block number")?,
            raw_data: r.length_prefixed("raw-data")?.to_vec(),
        })
    }
}

type AttributeList = Vec<(AttributeDescriptor, Option<SelectiveAccess>)>;

/// SET-Request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SetRequest {
    Normal {
        invoke: InvokeIdAndPriority,
        attribute: AttributeDescriptor,
        access: Option<SelectiveAccess>,
        value: Data,
    },
    WithFirstDataBlock {
        invoke: InvokeIdAndPriority,
        attribute: AttributeDescriptor,
        access: Option<SelectiveAccess>,
        block: DataBlockSA,
    },
    WithDataBlock {
        invoke: InvokeIdAndPriority,
        block: DataBlockSA,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        items: AttributeList,
        values: Vec<Data>,
    },
    WithListAndFirstDataBlock {
        invoke: InvokeIdAndPriority,
        items: AttributeList,
        block: DataBlockSA,
    },
}

fn encode_attribute_list(items: &AttributeList, out: &mut Vec<u8>) {
    put_seq(out, items, |(attribute, access), out| {
        attribute.encode(out);
        SelectiveAccess::encode_optional(access, out);
    });
}

fn read_attribute_list(r: &mut Reader<'_>) -> DecodeResult<AttributeList> {
    read_seq(r, 10, "attribute descriptor list", |r| {
        Ok((
            AttributeDescriptor::read(r)?,
            SelectiveAccess::read_optional(r)?,
        ))
    })
}

impl Codec for SetRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::SET_REQUEST);
        match self {
            SetRequest::Normal {
                invoke,
                attribute,
                access,
                value,
            } => {
                out.push(1);
                invoke.encode(out);
                attribute.encode(out);
                SelectiveAccess::encode_optional(access, out);
                value.encode(out);
            }
            SetRequest::WithFirstDataBlock {
                invoke,
                attribute,
                access,
                block,
            } => {
                out.push(2);
                invoke.encode(out);
                attribute.encode(out);
                SelectiveAccess::encode_optional(access, out);
                block.encode(out);
            }
            SetRequest::WithDataBlock { invoke, block } => {
                out.push(3);
                invoke.encode(out);
                block.encode(out);
            }
            SetRequest::WithList {
                invoke,
                items,
                values,
            } => {
                out.push(4);
                invoke.encode(out);
                encode_attribute_list(items, out);
                put_seq(out, values, |v, out| v.encode(out));
            }
            SetRequest::WithListAndFirstDataBlock {
                invoke,
                items,
                block,
            } => {
                out.push(5);
                invoke.encode(out);
                encode_attribute_list(items, out);
                block.encode(out);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::SET_REQUEST, "set-request tag")?;
        let choice = read_choice(r, "set-request choice", &[1, 2, 3, 4, 5])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => SetRequest::Normal {
                invoke,
                attribute: AttributeDescriptor::read(r)?,
                access: SelectiveAccess::read_optional(r)?,
                value: Data::read(r)?,
            },
            2 => SetRequest::WithFirstDataBlock {
                invoke,
                attribute: AttributeDescriptor::read(r)?,
                access: SelectiveAccess::read_optional(r)?,
                block: DataBlockSA::read(r)?,
            },
            3 => SetRequest::WithDataBlock {
                invoke,
                block: DataBlockSA::read(r)?,
            },
            4 => SetRequest::WithList {
                invoke,
                items: read_attribute_list(r)?,
                values: read_seq(r, 1, "value list", Data::read)?,
            },
            _ => SetRequest::WithListAndFirstDataBlock {
                invoke,
                items: read_attribute_list(r)?,
                block: DataBlockSA::read(r)?,
            },
        })
    }
}

/// SET-Response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SetResponse {
    Normal {
        invoke: InvokeIdAndPriority,
        result: DataAccessResult,
    },
    /// Block `block_number` received; send the next.
    DataBlock {
        invoke: InvokeIdAndPriority,
        block_number: u32,
    },
    LastDataBlock {
        invoke: InvokeIdAndPriority,
        result: DataAccessResult,
        block_number: u32,
    },
    LastDataBlockWithList {
        invoke: InvokeIdAndPriority,
        results: Vec<DataAccessResult>,
        block_number: u32,
    },
    WithList {
        invoke: InvokeIdAndPriority,
        results: Vec<DataAccessResult>,
    },
}

impl Codec for SetResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::SET_RESPONSE);
        match self {
            SetResponse::Normal { invoke, result } => {
                out.push(1);
                invoke.encode(out);
                result.encode(out);
            }
            SetResponse::DataBlock {
                invoke,
                block_number,
            } => {
                out.push(2);
                invoke.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDataBlock {
                invoke,
                result,
                block_number,
            } => {
                out.push(3);
                invoke.encode(out);
                result.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDataBlockWithList {
                invoke,
                results,
                block_number,
            } => {
                out.push(4);
                invoke.encode(out);
                put_seq(out, results, |v, out| v.encode(out));
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::WithList { invoke, results } => {
                out.push(5);
                invoke.encode(out);
                put_seq(out, results, |v, out| v.encode(out));
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.expect_u8(tag::SET_RESPONSE, "set-response tag")?;
        let choice = read_choice(r, "set-response choice", &[1, 2, 3, 4, 5])?;
        let invoke = InvokeIdAndPriority::read(r)?;
        Ok(match choice {
            1 => SetResponse::Normal {
                invoke,
                result: DataAccessResult::read(r)?,
            },
            2 => SetResponse::DataBlock {
                invoke,
                block_number: r.u32("block number")?,
            },
            3 => SetResponse::LastDataBlock {
                invoke,
                result: DataAccessResult::read(r)?,
                block_number: r.u32("block number")?,
            },
            4 => SetResponse::LastDataBlockWithList {
                invoke,
                results: read_seq(r, 1, "result list", DataAccessResult::read)?,
                block_number: r.u32("block number")?,
            },
            _ => SetResponse::WithList {
                invoke,
                results: read_seq(r, 1, "result list", DataAccessResult::read)?,
            },
        })
    }
}
