//! Codec throughput, ours beside dlms-cosem-rs 0.1 on the same bytes.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.
//!
//! What is measured, so the two libraries do the same work:
//! - decode: bytes to a value from which every field can be read, then every leaf value read
//!   (summed into a checksum). dlms-cosem-rs decodes lazily (it validates an array by walking
//!   it and re-parses elements on iteration), so reading the values is part of its decode;
//!   `theirs-lazy` (validate only, values not read) and `theirs-owned` (its owned `DataBuf`
//!   tree, the same shape as ours) are shown beside it for reference.
//! - encode: an already-built message value to bytes, into a reused buffer. For the load
//!   profile the value is an owned tree on both sides (ours `Data`, theirs `DataBuf`), since
//!   their borrowed `Data` re-encodes an array as one copy of its raw bytes.
//!
//! Before measuring, each group checks that both libraries accept the bytes, read the same
//! checksum from them and encode them back byte for byte.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

use dlms_cosem_rs::acse::Aarq as TheirAarq;
use dlms_cosem_rs::axdr::{Data as TheirData, DataBuf};
use dlms_cosem_rs::codec::{Decode as _, Encode as _, Writer as _};
use dlms_cosem_rs::security::{
    KeyRing, Protector, RustCryptoProvider, SecurityPolicy, SecuritySuite,
    SystemTitle as TheirSystemTitle,
};
use dlms_cosem_rs::xdlms::{
    ApduTag, CipheredService, GetDataResult as TheirGetDataResult, GetRequest as TheirGetRequest,
    GetResponse as TheirGetResponse, Protection, SecurityControl as TheirSecurityControl,
};
use dlms_cosem_rs::Apdu;

use reanimator::dlms::acse::{Aarq, UserInformation};
use reanimator::dlms::codec::{hex, Codec};
use reanimator::dlms::data::Data;
use reanimator::dlms::data_view::DataView;
use reanimator::dlms::security::{CipheringKey, GloCiphered, Keys, SecurityControl, SystemTitle};
use reanimator::dlms::xdlms::{GetDataResult, GetRequest, GetResponse, GetResponseRef};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// GET-Request normal for the invocation counter 0.0.43.1.0.255 (REFERENCE.md §1).
const GET_REQUEST_NORMAL: &str = "C001C1000100002B0100FF0200";
/// GET-Request normal for 1.0.99.1.0.255 buffer with a range on the clock (u9n/dlms-cosem
/// tests/test_xdlms/test_selective_access.py, test_parse_range_descriptor).
const GET_REQUEST_RANGE: &str = "C001C100070100630100FF0201010204020412000809060000010000FF0F02120000090C07E10A010700000000FFC480090C07E10A010701000000FFC4800100";

/// AARQ, LN referencing, no security (REFERENCE.md §1; u9n/dlms-cosem test_aarq.py).
const AARQ_LN_NO_SECURITY: &str = "601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF";

/// Green Book suite 0 example keys and the server system title of the ciphered response.
const EK: [u8; 16] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
];
const AK: [u8; 16] = [
    0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
];
const SERVER_TITLE: [u8; 8] = [0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E];
const INVOCATION_COUNTER: u32 = 0x0001_2345;
/// Security suite 0, authenticated and encrypted.
const SC: u8 = 0x30;

// --- reading every value, the same way on both sides ---

fn octets_sum(b: &[u8]) -> u64 {
    b.iter()
        .fold(b.len() as u64, |s, &x| s.wrapping_add(x as u64))
}

fn our_sum(d: &Data) -> u64 {
    match d {
        Data::Array(v) | Data::Structure(v) => v.iter().fold(0, |s, e| s.wrapping_add(our_sum(e))),
        _ => match d.as_octets() {
            Some(b) => octets_sum(b),
            None => d.as_i128().map_or(0, |v| v as u64),
        },
    }
}

fn our_view_sum(d: DataView<'_>) -> u64 {
    match d.tag() {
        1 | 2 => d.elements().fold(0, |s, e| s.wrapping_add(our_view_sum(e))),
        _ => match d.as_octets() {
            Some(b) => octets_sum(b),
            None => d.as_i128().map_or(0, |v| v as u64),
        },
    }
}

fn our_view_response_sum(bytes: &[u8]) -> u64 {
    match GetResponseRef::from_bytes(bytes).unwrap() {
        GetResponseRef::Normal {
            result: Ok(view), ..
        } => our_view_sum(view),
        other => panic!("not a get-response normal with data: {other:?}"),
    }
}

fn their_sum(d: &TheirData) -> u64 {
    match d {
        TheirData::Array(s) | TheirData::Structure(s) => s.iter().fold(0, |sum, e| {
            sum.wrapping_add(their_sum(&e.expect("validated when decoded")))
        }),
        _ => match d.as_bytes() {
            Some(b) => octets_sum(b),
            None => d.as_i64().map_or(0, |v| v as u64),
        },
    }
}

fn our_request_sum(req: &GetRequest) -> u64 {
    match req {
        GetRequest::Normal {
            attribute, access, ..
        } => {
            let params = access.as_ref().map_or(0, |a| our_sum(&a.parameters));
            params.wrapping_add(attribute.class_id as u64)
        }
        _ => unreachable!("the benchmark only sends normal requests"),
    }
}

fn their_request_sum(apdu: &Apdu) -> u64 {
    match apdu {
        Apdu::GetRequest(TheirGetRequest::Normal {
            descriptor, access, ..
        }) => {
            let params = access.as_ref().map_or(0, |a| their_sum(&a.parameters));
            params.wrapping_add(descriptor.class_id as u64)
        }
        other => panic!("not a get-request normal: {other:?}"),
    }
}

fn our_response_data(resp: &GetResponse) -> &Data {
    match resp {
        GetResponse::Normal {
            result: GetDataResult::Data(d),
            ..
        } => d,
        other => panic!("not a get-response normal with data: {other:?}"),
    }
}

fn their_response_data<'a>(apdu: &Apdu<'a>) -> TheirData<'a> {
    match apdu {
        Apdu::GetResponse(TheirGetResponse::Normal {
            result: TheirGetDataResult::Data(d),
            ..
        }) => *d,
        other => panic!("not a get-response normal with data: {other:?}"),
    }
}

fn their_encode(apdu: &Apdu, out: &mut Vec<u8>) {
    out.clear();
    apdu.encode(out).expect("encodes into a Vec");
}

// --- the groups ---

fn get_request(c: &mut Criterion, name: &str, hex_text: &str) {
    let bytes = hex::decode(hex_text).unwrap();
    let ours = GetRequest::from_bytes(&bytes).unwrap();
    let theirs = Apdu::from_bytes(&bytes).unwrap();
    assert_eq!(our_request_sum(&ours), their_request_sum(&theirs));
    assert_eq!(ours.to_bytes(), bytes);
    let mut out = Vec::new();
    their_encode(&theirs, &mut out);
    assert_eq!(out, bytes);

    let mut g = c.benchmark_group(format!("{name}/decode"));
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| our_request_sum(&GetRequest::from_bytes(black_box(&bytes)).unwrap()))
    });
    g.bench_function("theirs", |b| {
        b.iter(|| their_request_sum(&Apdu::from_bytes(black_box(&bytes)).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{name}/encode"));
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    bench_encode_ours(&mut g, &ours);
    g.bench_function("theirs", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| their_encode(black_box(&theirs), &mut out))
    });
    g.finish();
}

fn bench_encode_ours<T: Codec>(g: &mut Group, value: &T) {
    g.bench_function("ours", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            black_box(value).encode(&mut out);
        })
    });
}

fn get_request_normal(c: &mut Criterion) {
    get_request(c, "get-request-normal", GET_REQUEST_NORMAL);
}

fn get_request_range(c: &mut Criterion) {
    get_request(c, "get-request-range", GET_REQUEST_RANGE);
}

fn get_response_profile(c: &mut Criterion) {
    let ours = fixtures::load_profile_response();
    let bytes = ours.to_bytes();
    let theirs = Apdu::from_bytes(&bytes).unwrap();
    let their_tree = DataBuf::from_data(&their_response_data(&theirs)).unwrap();
    let expected = our_sum(our_response_data(&ours));
    assert_eq!(their_sum(&their_response_data(&theirs)), expected);
    assert_eq!(our_view_response_sum(&bytes), expected);
    let mut out = Vec::new();
    their_encode_owned_response(&their_tree, &mut out);
    assert_eq!(out, bytes);

    let mut g = c.benchmark_group("get-response-96-rows/decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| {
            our_sum(our_response_data(
                &GetResponse::from_bytes(black_box(&bytes)).unwrap(),
            ))
        })
    });
    g.bench_function("ours-view", |b| {
        b.iter(|| our_view_response_sum(black_box(&bytes)))
    });
    g.bench_function("theirs", |b| {
        b.iter(|| {
            their_sum(&their_response_data(
                &Apdu::from_bytes(black_box(&bytes)).unwrap(),
            ))
        })
    });
    g.bench_function("theirs-lazy", |b| {
        b.iter(|| Apdu::from_bytes(black_box(&bytes)).unwrap())
    });
    g.bench_function("theirs-owned", |b| {
        b.iter(|| {
            let apdu = Apdu::from_bytes(black_box(&bytes)).unwrap();
            DataBuf::from_data(&their_response_data(&apdu)).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("get-response-96-rows/encode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    bench_encode_ours(&mut g, &ours);
    g.bench_function("theirs", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| their_encode_owned_response(black_box(&their_tree), &mut out))
    });
    g.finish();
}

/// A GET-Response normal around an owned value: their `GetResponse` only holds borrowed
/// `Data`, so the four header bytes are written as its encoder writes them.
fn their_encode_owned_response(tree: &DataBuf, out: &mut Vec<u8>) {
    out.clear();
    out.write_bytes(&[0xC4, 0x01, 0xC1, 0x00]).unwrap();
    tree.encode(out).unwrap();
}

fn our_max_pdu(aarq: &Aarq) -> u16 {
    match &aarq.user_information {
        Some(UserInformation::InitiateRequest(ir)) => ir.client_max_receive_pdu_size,
        other => panic!("not an InitiateRequest: {other:?}"),
    }
}

/// Their AARQ keeps user-information as bytes; the InitiateRequest inside is decoded here so
/// that both sides read the same fields.
fn their_max_pdu(apdu: &Apdu) -> u16 {
    let Apdu::Aarq(aarq) = apdu else {
        panic!("not an AARQ: {apdu:?}")
    };
    match Apdu::from_bytes(aarq.user_information.expect("has user-information")) {
        Ok(Apdu::InitiateRequest(ir)) => ir.client_max_receive_pdu_size,
        other => panic!("not an InitiateRequest: {other:?}"),
    }
}

fn aarq(c: &mut Criterion) {
    let bytes = hex::decode(AARQ_LN_NO_SECURITY).unwrap();
    let ours = Aarq::from_bytes(&bytes).unwrap();
    let theirs = Apdu::from_bytes(&bytes).unwrap();
    assert_eq!(our_max_pdu(&ours), their_max_pdu(&theirs));
    assert_eq!(ours.to_bytes(), bytes);
    let Apdu::Aarq(their_aarq) = theirs else {
        unreachable!()
    };
    let Ok(Apdu::InitiateRequest(their_ir)) =
        Apdu::from_bytes(their_aarq.user_information.unwrap())
    else {
        unreachable!()
    };
    let mut out = Vec::new();
    their_encode_aarq(&their_aarq, &their_ir, &mut out);
    assert_eq!(out, bytes);

    let mut g = c.benchmark_group("aarq/decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| our_max_pdu(&Aarq::from_bytes(black_box(&bytes)).unwrap()))
    });
    g.bench_function("theirs", |b| {
        b.iter(|| their_max_pdu(&Apdu::from_bytes(black_box(&bytes)).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("aarq/encode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    bench_encode_ours(&mut g, &ours);
    g.bench_function("theirs", |b| {
        let mut out = Vec::with_capacity(bytes.len());
        b.iter(|| their_encode_aarq(black_box(&their_aarq), black_box(&their_ir), &mut out))
    });
    g.finish();
}

/// Their AARQ value holds the InitiateRequest as bytes, so it is encoded first, as ours does
/// inside its AARQ encoder.
fn their_encode_aarq(
    aarq: &TheirAarq,
    ir: &dlms_cosem_rs::xdlms::InitiateRequest,
    out: &mut Vec<u8>,
) {
    let mut user_information = [0u8; 32];
    let mut w = dlms_cosem_rs::SliceWriter::new(&mut user_information);
    Apdu::InitiateRequest(*ir).encode(&mut w).unwrap();
    let n = w.written();
    let aarq = TheirAarq {
        user_information: Some(&user_information[..n]),
        ..*aarq
    };
    out.clear();
    aarq.encode(out).unwrap();
}

/// The frame's content is copied out of the input once (as theirs copies it into `scratch`),
/// then deciphered in that buffer.
fn our_open(bytes: &[u8], title: &SystemTitle, keys: &Keys) -> u64 {
    let plain = GloCiphered::from_bytes(bytes)
        .unwrap()
        .open_in_place(title, keys)
        .unwrap()
        .plaintext;
    our_sum(our_response_data(&GetResponse::from_bytes(&plain).unwrap()))
}

fn our_open_view(bytes: &[u8], title: &SystemTitle, keys: &Keys) -> u64 {
    let plain = GloCiphered::from_bytes(bytes)
        .unwrap()
        .open_in_place(title, keys)
        .unwrap()
        .plaintext;
    our_view_response_sum(&plain)
}

fn our_seal(response: &GetResponse, title: &SystemTitle, keys: &Keys, out: &mut Vec<u8>) {
    let plain = response.to_bytes();
    let sc = SecurityControl(SC);
    let frame = GloCiphered::seal(
        CipheringKey::Global,
        &plain,
        sc,
        title,
        INVOCATION_COUNTER,
        keys,
    )
    .unwrap();
    out.clear();
    frame.encode(out);
}

type TheirProtector = Protector<RustCryptoProvider>;

/// Their decryption works in place, so the payload is copied into `scratch` first.
fn their_open(
    bytes: &[u8],
    protector: &TheirProtector,
    title: &TheirSystemTitle,
    scratch: &mut Vec<u8>,
) -> u64 {
    let Apdu::Ciphered { body, .. } = Apdu::from_bytes(bytes).unwrap() else {
        panic!("not a ciphered APDU")
    };
    scratch.clear();
    scratch.extend_from_slice(body.payload);
    let ak = protector.auth_key().unwrap();
    let plain = protector
        .unprotect(
            body.security_control,
            title,
            body.invocation_counter,
            ak,
            scratch,
        )
        .unwrap();
    their_sum(&their_response_data(&Apdu::from_bytes(plain).unwrap()))
}

fn their_seal(
    tree: &DataBuf,
    protector: &TheirProtector,
    title: &TheirSystemTitle,
    plain: &mut Vec<u8>,
    payload: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    their_encode_owned_response(tree, plain);
    payload.resize(plain.len() + SecuritySuite::TAG_LEN, 0);
    let ak = protector.auth_key().unwrap();
    let payload = protector
        .protect(title, INVOCATION_COUNTER, ak, plain, payload)
        .unwrap();
    let apdu = Apdu::Ciphered {
        protection: Protection::Global,
        service: ApduTag::GetResponse,
        body: CipheredService {
            security_control: TheirSecurityControl(SC),
            invocation_counter: INVOCATION_COUNTER,
            payload,
        },
    };
    their_encode(&apdu, out);
}

fn get_response_profile_ciphered(c: &mut Criterion) {
    let response = fixtures::load_profile_response();
    let keys = Keys::new(EK, AK);
    let title = SystemTitle(SERVER_TITLE);
    let protector = Protector::new(
        RustCryptoProvider::new(KeyRing::new(EK, AK)),
        SecurityPolicy::authenticated_encrypted(SecuritySuite::Suite0),
    );
    let their_title = TheirSystemTitle::new(SERVER_TITLE);
    let plain = response.to_bytes();
    let their_tree =
        DataBuf::from_data(&their_response_data(&Apdu::from_bytes(&plain).unwrap())).unwrap();

    let mut bytes = Vec::new();
    our_seal(&response, &title, &keys, &mut bytes);
    assert_eq!(bytes[0], 0xCC, "glo-get-response");
    let (mut p, mut q, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    their_seal(
        &their_tree,
        &protector,
        &their_title,
        &mut p,
        &mut q,
        &mut theirs,
    );
    assert_eq!(theirs, bytes, "both seal to the same frame");
    let expected = our_sum(our_response_data(&response));
    assert_eq!(our_open(&bytes, &title, &keys), expected);
    assert_eq!(
        their_open(&bytes, &protector, &their_title, &mut p),
        expected
    );

    let mut g = c.benchmark_group("get-response-96-rows-glo/decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| our_open(black_box(&bytes), &title, &keys))
    });
    g.bench_function("ours-view", |b| {
        b.iter(|| our_open_view(black_box(&bytes), &title, &keys))
    });
    g.bench_function("theirs", |b| {
        let mut scratch = Vec::with_capacity(bytes.len());
        b.iter(|| their_open(black_box(&bytes), &protector, &their_title, &mut scratch))
    });
    g.finish();

    let mut g = c.benchmark_group("get-response-96-rows-glo/encode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ours", |b| {
        let mut out = Vec::new();
        b.iter(|| our_seal(black_box(&response), &title, &keys, &mut out))
    });
    g.bench_function("theirs", |b| {
        let (mut plain, mut payload, mut out) = (Vec::new(), Vec::new(), Vec::new());
        b.iter(|| {
            their_seal(
                black_box(&their_tree),
                &protector,
                &their_title,
                &mut plain,
                &mut payload,
                &mut out,
            )
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    aarq,
    get_request_normal,
    get_request_range,
    get_response_profile,
    get_response_profile_ciphered
);
criterion_main!(benches);
