//! One table of (APDU, bytes) vectors drives both directions for every xDLMS service.

use proptest::prelude::*;

use super::*;
use crate::dlms::codec::{hex, Codec};
use crate::dlms::data::Data;
use crate::dlms::datetime::DateTime;
use crate::dlms::obis::Obis;

/// Every xDLMS APDU this module knows, for the table.
#[derive(Debug, Clone, PartialEq)]
enum Any {
    GetRequest(GetRequest),
    GetResponse(GetResponse),
    SetRequest(SetRequest),
    SetResponse(SetResponse),
    ActionRequest(ActionRequest),
    ActionResponse(ActionResponse),
    DataNotification(DataNotification),
    EventNotification(EventNotification),
    ExceptionResponse(ExceptionResponse),
    ConfirmedServiceError(ConfirmedServiceError),
}

impl Any {
    fn encode(&self) -> Vec<u8> {
        match self {
            Any::GetRequest(a) => a.to_bytes(),
            Any::GetResponse(a) => a.to_bytes(),
            Any::SetRequest(a) => a.to_bytes(),
            Any::SetResponse(a) => a.to_bytes(),
            Any::ActionRequest(a) => a.to_bytes(),
            Any::ActionResponse(a) => a.to_bytes(),
            Any::DataNotification(a) => a.to_bytes(),
            Any::EventNotification(a) => a.to_bytes(),
            Any::ExceptionResponse(a) => a.to_bytes(),
            Any::ConfirmedServiceError(a) => a.to_bytes(),
        }
    }

    /// Decodes `bytes` as the same kind of APDU as `self`.
    fn decode_like(&self, bytes: &[u8]) -> Any {
        let r = match self {
            Any::GetRequest(_) => GetRequest::from_bytes(bytes).map(Any::GetRequest),
            Any::GetResponse(_) => GetResponse::from_bytes(bytes).map(Any::GetResponse),
            Any::SetRequest(_) => SetRequest::from_bytes(bytes).map(Any::SetRequest),
            Any::SetResponse(_) => SetResponse::from_bytes(bytes).map(Any::SetResponse),
            Any::ActionRequest(_) => ActionRequest::from_bytes(bytes).map(Any::ActionRequest),
            Any::ActionResponse(_) => ActionResponse::from_bytes(bytes).map(Any::ActionResponse),
            Any::DataNotification(_) => {
                DataNotification::from_bytes(bytes).map(Any::DataNotification)
            }
            Any::EventNotification(_) => {
                EventNotification::from_bytes(bytes).map(Any::EventNotification)
            }
            Any::ExceptionResponse(_) => {
                ExceptionResponse::from_bytes(bytes).map(Any::ExceptionResponse)
            }
            Any::ConfirmedServiceError(_) => {
                ConfirmedServiceError::from_bytes(bytes).map(Any::ConfirmedServiceError)
            }
        };
        r.unwrap_or_else(|e| panic!("{}: {e}", hex::encode(bytes)))
    }
}

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

const C1: InvokeIdAndPriority = InvokeIdAndPriority(0xC1);
const C0: InvokeIdAndPriority = InvokeIdAndPriority(0xC0);

fn clock_range(from: &str, to: &str) -> SelectiveAccess {
    RangeDescriptor {
        restricting_object: CaptureObject::new(8, Obis::CLOCK, 2),
        from: Data::OctetString(h(from)),
        to: Data::OctetString(h(to)),
        selected_values: vec![],
    }
    .into()
}

fn vectors() -> Vec<(&'static str, Any, Vec<u8>)> {
    let ic = AttributeDescriptor::new(1, Obis::INVOCATION_COUNTER, 2);
    let hls_method = MethodDescriptor {
        class_id: 15,
        instance: Obis::CURRENT_ASSOCIATION,
        method: 1,
    };
    let dt = DateTime::from_bytes(&h("07EA0B1A040D000000FFC400")).unwrap();
    vec![
        // REFERENCE.md §1 and u9n/dlms-cosem tests/test_xdlms/test_get.py.
        (
            "get-request-normal",
            Any::GetRequest(GetRequest::Normal { invoke: C1, attribute: ic, access: None }),
            h("C001C1000100002B0100FF0200"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_get.py (TestGetRequestNext).
        ("get-request-next", Any::GetRequest(GetRequest::Next { invoke: C1, block_number: 1 }), h("C002C100000001")),
        // u9n/dlms-cosem tests/test_xdlms/test_get.py (TestGetRequestWithList).
        (
            "get-request-with-list",
            Any::GetRequest(GetRequest::WithList {
                invoke: C1,
                items: vec![
                    (AttributeDescriptor::new(1, Obis::LOGICAL_DEVICE_NAME, 2), None),
                    (AttributeDescriptor::new(8, Obis::CLOCK, 2), None),
                ],
            }),
            h("C003C102000100002A0000FF020000080000010000FF0200"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_selective_access.py (test_parse_range_descriptor).
        (
            "get-request-range",
            Any::GetRequest(GetRequest::Normal {
                invoke: C1,
                attribute: AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2),
                access: Some(clock_range("07E10A010700000000FFC480", "07E10A010701000000FFC480")),
            }),
            h("C001C100070100630100FF0201010204020412000809060000010000FF0F02120000090C07E10A010700000000FFC480090C07E10A010701000000FFC4800100"),
        ),
        // Blue Book entry_descriptor layout (REFERENCE.md §1): rows 1..=96, all columns.
        (
            "get-request-entry",
            Any::GetRequest(GetRequest::Normal {
                invoke: C1,
                attribute: AttributeDescriptor::new(7, Obis::LOAD_PROFILE_1, 2),
                access: Some(EntryDescriptor { from_entry: 1, to_entry: 96, from_selected_value: 1, to_selected_value: 0 }.into()),
            }),
            h("C001C100070100630100FF0201020204060000000106000000601200011200 00"),
        ),
        // REFERENCE.md §1 and dlms-cosem test_get.py (TestGetResponseNormal).
        (
            "get-response-normal",
            Any::GetResponse(GetResponse::Normal { invoke: C1, result: GetDataResult::Data(Data::DoubleLongUnsigned(5009)) }),
            h("C401C1000600001391"),
        ),
        // REFERENCE.md §1 and dlms-cosem test_get.py (TestGetRequestNormalWithError).
        (
            "get-response-error",
            Any::GetResponse(GetResponse::Normal {
                invoke: C1,
                result: GetDataResult::DataAccessResult(DataAccessResult::HardwareFault),
            }),
            h("C401C10101"),
        ),
        // Green Book DataBlock-G layout: block 1, not last, three raw bytes.
        (
            "get-response-with-datablock",
            Any::GetResponse(GetResponse::WithDataBlock {
                invoke: C1,
                block: DataBlockG { last_block: false, block_number: 1, result: RawOrResult::RawData(vec![1, 2, 3]) },
            }),
            h("C402C1 00 00000001 00 03 010203"),
        ),
        (
            "get-response-with-list",
            Any::GetResponse(GetResponse::WithList {
                invoke: C1,
                results: vec![
                    GetDataResult::Data(Data::VisibleString(b"MMM0001".to_vec())),
                    GetDataResult::DataAccessResult(DataAccessResult::ObjectUndefined),
                ],
            }),
            h("C403C102 00 0A074D4D4D30303031 01 04"),
        ),
        // Green Book SET-Request-Normal layout: set the clock.
        (
            "set-request-normal",
            Any::SetRequest(SetRequest::Normal {
                invoke: C1,
                attribute: AttributeDescriptor::new(8, Obis::CLOCK, 2),
                access: None,
                value: Data::OctetString(dt.to_bytes()),
            }),
            h("C101C1 0008 0000010000FF 02 00 090C07EA0B1A040D000000FFC400"),
        ),
        (
            "set-request-with-datablock",
            Any::SetRequest(SetRequest::WithDataBlock {
                invoke: C1,
                block: DataBlockSA { last_block: true, block_number: 2, raw_data: vec![0xAA] },
            }),
            h("C103C1 01 00000002 01AA"),
        ),
        ("set-response-normal", Any::SetResponse(SetResponse::Normal { invoke: C1, result: DataAccessResult::ReadWriteDenied }), h("C501C103")),
        ("set-response-datablock", Any::SetResponse(SetResponse::DataBlock { invoke: C1, block_number: 7 }), h("C502C100000007")),
        // u9n/dlms-cosem tests/test_xdlms/test_action.py: reply_to_HLS_authentication with f(StoC).
        (
            "action-request-hls",
            Any::ActionRequest(ActionRequest::Normal {
                invoke: C0,
                method: hls_method,
                parameters: Some(Data::OctetString(h("1000001A90E6D2221FA2FD85EED61ACC22"))),
            }),
            h("C301C0000F0000280000FF010109111000001A90E6D2221FA2FD85EED61ACC22"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_action.py (without data).
        (
            "action-request-no-parameters",
            Any::ActionRequest(ActionRequest::Normal { invoke: C0, method: hls_method, parameters: None }),
            h("C301C0000F0000280000FF0100"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_action.py (TestActionResponseNormal).
        (
            "action-response-normal",
            Any::ActionResponse(ActionResponse::Normal {
                invoke: C0,
                outcome: ActionOutcome { result: ActionResult::Success, return_parameters: None },
            }),
            h("C701C00000"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_action.py (TestActionResponseNormalWithData).
        (
            "action-response-with-data",
            Any::ActionResponse(ActionResponse::Normal {
                invoke: C0,
                outcome: ActionOutcome {
                    result: ActionResult::Success,
                    return_parameters: Some(GetDataResult::Data(Data::OctetString(h("1000001AFDE8857B728A3499106AA665D1")))),
                },
            }),
            h("C701C000010009111000001AFDE8857B728A3499106AA665D1"),
        ),
        // u9n/dlms-cosem tests/test_xdlms/test_action.py (TestActionResponseWithError).
        (
            "action-response-with-error",
            Any::ActionResponse(ActionResponse::Normal {
                invoke: C0,
                outcome: ActionOutcome {
                    result: ActionResult::Success,
                    return_parameters: Some(GetDataResult::DataAccessResult(DataAccessResult::OtherReason)),
                },
            }),
            h("C701C0000101FA"),
        ),
        // REFERENCE.md §1 and dlms-cosem tests/test_xdlms/test_data_notification.py.
        (
            "data-notification",
            Any::DataNotification(DataNotification {
                invoke: LongInvokeIdAndPriority(475),
                date_time: None,
                body: Data::OctetString(h("125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100")),
            }),
            h("0F000001DB000922125A8591360000000049000000110000000A5A8513D014800000000D0000000A0100"),
        ),
        // Green Book Data-Notification layout with a date-time and a structure body.
        (
            "data-notification-with-date-time",
            Any::DataNotification(DataNotification {
                invoke: LongInvokeIdAndPriority::new(1, false, false),
                date_time: Some(dt),
                body: Data::Structure(vec![Data::OctetString(b"MMM0000000001".to_vec())]),
            }),
            h("0F00000001 0C07EA0B1A040D000000FFC400 0201 090D4D4D4D30303030303030303031"),
        ),
        (
            "event-notification",
            Any::EventNotification(EventNotification {
                time: None,
                attribute: AttributeDescriptor::new(1, Obis::new(0, 0, 97, 98, 0, 255), 2),
                value: Data::DoubleLongUnsigned(0x10),
            }),
            h("C200 0001 00006162 00FF 02 0600000010"),
        ),
        // Green Book ExceptionResponse: service not allowed / service not supported.
        (
            "exception-response",
            Any::ExceptionResponse(ExceptionResponse {
                state_error: StateError::ServiceNotAllowed,
                service_error: ServiceError::ServiceNotSupported,
            }),
            h("D80102"),
        ),
        (
            "exception-response-invocation-counter",
            Any::ExceptionResponse(ExceptionResponse {
                state_error: StateError::ServiceUnknown,
                service_error: ServiceError::InvocationCounterError(5),
            }),
            h("D8020600000005"),
        ),
        // Green Book ConfirmedServiceError: initiateError, initiate, dlms-version-too-low.
        (
            "confirmed-service-error",
            Any::ConfirmedServiceError(ConfirmedServiceError { service: ConfirmedService::InitiateError, error_kind: 6, error_value: 1 }),
            h("0E010601"),
        ),
    ]
}

#[test]
fn decodes_every_vector() {
    for (name, value, bytes) in vectors() {
        assert_eq!(value.decode_like(&bytes), value, "{name}");
    }
}

#[test]
fn encodes_every_vector() {
    for (name, value, bytes) in vectors() {
        assert_eq!(hex::encode(&value.encode()), hex::encode(&bytes), "{name}");
    }
}

#[test]
fn rejects_truncation_of_every_vector() {
    for (name, value, bytes) in vectors() {
        for cut in 0..bytes.len() {
            let truncated = &bytes[..cut];
            let result = std::panic::catch_unwind(|| value.decode_like(truncated));
            assert!(result.is_err(), "{name} decoded from its first {cut} bytes");
        }
    }
}

#[test]
fn borrowed_responses_agree_with_owned_ones() {
    for (name, value, bytes) in vectors() {
        let Any::GetResponse(owned) = value else {
            continue;
        };
        let borrowed = GetResponseRef::from_bytes(&bytes).unwrap();
        match (&owned, &borrowed) {
            (
                GetResponse::Normal {
                    result: GetDataResult::Data(d),
                    ..
                },
                GetResponseRef::Normal {
                    result: Ok(view), ..
                },
            ) => {
                assert_eq!(&view.to_data().unwrap(), d, "{name}")
            }
            (
                GetResponse::Normal {
                    result: GetDataResult::DataAccessResult(a),
                    ..
                },
                GetResponseRef::Normal { result: Err(b), .. },
            ) => assert_eq!(a, b),
            (
                GetResponse::WithDataBlock { block, .. },
                GetResponseRef::WithDataBlock { block_number, .. },
            ) => assert_eq!(block.block_number, *block_number),
            (
                GetResponse::WithList { results, .. },
                GetResponseRef::WithList { results: views, .. },
            ) => assert_eq!(results.len(), views.len()),
            other => panic!("{name}: {other:?}"),
        }
        for cut in 0..bytes.len() {
            assert!(
                GetResponseRef::from_bytes(&bytes[..cut]).is_err(),
                "{name} cut at {cut}"
            );
        }
    }
}

#[test]
fn rejects_trailing_bytes() {
    let err = GetRequest::from_bytes(&h("C001C1000100002B0100FF020000")).unwrap_err();
    assert_eq!(err.offset, 13);
    assert!(err.message.contains("trailing"), "{err}");
}

#[test]
fn rejects_unknown_choice_naming_it() {
    let err = GetRequest::from_bytes(&h("C004C100000001")).unwrap_err();
    assert_eq!(err.offset, 1);
    assert!(err.message.contains("found 4"), "{err}");
}

#[test]
fn keeps_unknown_data_access_results() {
    let response = GetResponse::from_bytes(&h("C401C10177")).unwrap();
    assert_eq!(
        response,
        GetResponse::Normal {
            invoke: C1,
            result: GetDataResult::DataAccessResult(DataAccessResult::Unknown(0x77))
        }
    );
    assert_eq!(response.to_bytes(), h("C401C10177"));
}

#[test]
fn typed_descriptors_read_back_from_the_wire() {
    let Any::GetRequest(GetRequest::Normal {
        access: Some(access),
        ..
    }) = &vectors()[3].1
    else {
        panic!()
    };
    let range = access.range().unwrap();
    assert_eq!(range.restricting_object.logical_name, Obis::CLOCK);
    assert_eq!(range.from.as_date_time().unwrap().date.year, 2017);
    assert!(access.entry().is_err());
}

#[test]
fn invoke_id_bits() {
    let i = InvokeIdAndPriority::new(5, true, true);
    assert_eq!(
        (i.0, i.invoke_id(), i.confirmed(), i.high_priority()),
        (0xC5, 5, true, true)
    );
    let l = LongInvokeIdAndPriority::new(475, true, false);
    assert_eq!(
        (l.invoke_id(), l.confirmed(), l.high_priority()),
        (475, true, false)
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(tag in prop::sample::select(vec![0x0E, 0x0F, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7, 0xD8]),
                                    body in proptest::collection::vec(any::<u8>(), 0..128)) {
        let bytes = [&[tag][..], &body].concat();
        let _ = GetRequest::from_bytes(&bytes);
        let _ = GetResponse::from_bytes(&bytes);
        let _ = SetRequest::from_bytes(&bytes);
        let _ = SetResponse::from_bytes(&bytes);
        let _ = ActionRequest::from_bytes(&bytes);
        let _ = ActionResponse::from_bytes(&bytes);
        let _ = DataNotification::from_bytes(&bytes);
        let _ = EventNotification::from_bytes(&bytes);
        let _ = ExceptionResponse::from_bytes(&bytes);
        let _ = ConfirmedServiceError::from_bytes(&bytes);
    }

    #[test]
    fn can_round_trip_generated_get_responses(data in crate::dlms::data::tests::arb_data(), id in any::<u8>()) {
        let response = GetResponse::Normal { invoke: InvokeIdAndPriority(id), result: GetDataResult::Data(data) };
        let bytes = response.to_bytes();
        prop_assert_eq!(GetResponse::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    }

    #[test]
    fn can_round_trip_generated_set_and_action(data in crate::dlms::data::tests::arb_data(), class_id in any::<u16>(),
                                               obis in any::<[u8; 6]>(), attr in any::<i8>()) {
        let set = SetRequest::Normal { invoke: C1, attribute: AttributeDescriptor::new(class_id, Obis(obis), attr), access: None, value: data.clone() };
        let bytes = set.to_bytes();
        prop_assert_eq!(SetRequest::from_bytes(&bytes).unwrap().to_bytes(), bytes);
        let action = ActionRequest::Normal { invoke: C1, method: MethodDescriptor { class_id, instance: Obis(obis), method: attr }, parameters: Some(data) };
        let bytes = action.to_bytes();
        prop_assert_eq!(ActionRequest::from_bytes(&bytes).unwrap().to_bytes(), bytes);
    }
}
