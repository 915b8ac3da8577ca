//! Blue Book names of COSEM interface classes, their attributes and their methods, for display.

/// (class id, interface-class name, attributes from 2 on, methods from 1 on).
type ClassNames = (
    u16,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The classes a head-end meets most; attribute 1 is always `logical_name`.
const CLASSES: &[ClassNames] = &[
    (1, "Data", &["value"], &[]),
    (3, "Register", &["value", "scaler_unit"], &["reset"]),
    (
        4,
        "Extended register",
        &["value", "scaler_unit", "status", "capture_time"],
        &["reset"],
    ),
    (
        5,
        "Demand register",
        &[
            "current_average_value",
            "last_average_value",
            "scaler_unit",
            "status",
            "capture_time",
            "start_time_current",
            "period",
            "number_of_periods",
        ],
        &["reset", "next_period"],
    ),
    (
        7,
        "Profile generic",
        &[
            "buffer",
            "capture_objects",
            "capture_period",
            "sort_method",
            "sort_object",
            "entries_in_use",
            "profile_entries",
        ],
        &["reset", "capture"],
    ),
    (
        8,
        "Clock",
        &[
            "time",
            "time_zone",
            "status",
            "daylight_savings_begin",
            "daylight_savings_end",
            "daylight_savings_deviation",
            "daylight_savings_enabled",
            "clock_base",
        ],
        &[
            "adjust_to_quarter",
            "adjust_to_measuring_period",
            "adjust_to_minute",
            "adjust_to_preset_time",
            "preset_adjusting_time",
            "shift_time",
        ],
    ),
    (9, "Script table", &["scripts"], &["execute"]),
    (
        15,
        "Association LN",
        &[
            "object_list",
            "associated_partners_id",
            "application_context_name",
            "xDLMS_context_info",
            "authentication_mechanism_name",
            "secret",
            "association_status",
            "security_setup_reference",
            "user_list",
            "current_user",
        ],
        &[
            "reply_to_HLS_authentication",
            "change_HLS_secret",
            "add_object",
            "remove_object",
            "add_user",
            "remove_user",
        ],
    ),
    (
        28,
        "Auto answer",
        &[
            "mode",
            "listening_window",
            "status",
            "number_of_calls",
            "number_of_rings",
            "list_of_allowed_callers",
        ],
        &[],
    ),
    (
        29,
        "Auto connect",
        &[
            "mode",
            "repetitions",
            "repetition_delay",
            "calling_window",
            "destination_list",
        ],
        &["connect"],
    ),
    (
        40,
        "Push setup",
        &[
            "push_object_list",
            "send_destination_and_method",
            "communication_window",
            "randomisation_start_interval",
            "number_of_retries",
            "repetition_delay",
        ],
        &["push"],
    ),
    (
        41,
        "TCP-UDP setup",
        &[
            "TCP-UDP_port",
            "IP_reference",
            "MSS",
            "nb_of_sim_conn",
            "inactivity_time_out",
        ],
        &[],
    ),
    (
        42,
        "IPv4 setup",
        &[
            "DL_reference",
            "IP_address",
            "multicast_IP_address",
            "IP_options",
            "subnet_mask",
            "gateway_IP_address",
            "use_DHCP_flag",
            "primary_DNS_address",
            "secondary_DNS_address",
        ],
        &[],
    ),
    (
        45,
        "GPRS modem setup",
        &["APN", "PIN_code", "quality_of_service"],
        &[],
    ),
    (
        47,
        "GSM diagnostic",
        &[
            "operator",
            "status",
            "cs_attachment",
            "ps_status",
            "cell_info",
            "adjacent_cells",
            "capture_time",
        ],
        &[],
    ),
    (
        64,
        "Security setup",
        &[
            "security_policy",
            "security_suite",
            "client_system_title",
            "server_system_title",
            "certificates",
        ],
        &[
            "security_activate",
            "key_transfer",
            "key_agreement",
            "generate_key_pair",
            "generate_certificate_request",
            "import_certificate",
            "export_certificate",
            "remove_certificate",
        ],
    ),
    (
        70,
        "Disconnect control",
        &["output_state", "control_state", "control_mode"],
        &["remote_disconnect", "remote_reconnect"],
    ),
];

/// Classes named without their attribute tables.
const OTHER_CLASSES: &[(u16, &str)] = &[
    (6, "Register activation"),
    (10, "Schedule"),
    (11, "Special days table"),
    (12, "Association SN"),
    (17, "SAP assignment"),
    (18, "Image transfer"),
    (19, "IEC local port setup"),
    (20, "Activity calendar"),
    (21, "Register monitor"),
    (22, "Single action schedule"),
    (23, "IEC HDLC setup"),
    (26, "Utility tables"),
    (27, "Modem configuration"),
    (30, "Data protection"),
    (43, "MAC address setup"),
    (44, "PPP setup"),
    (48, "IPv6 setup"),
    (61, "Register table"),
    (62, "Compact data"),
    (63, "Status mapping"),
    (65, "Parameter monitor"),
    (71, "Limiter"),
    (72, "M-Bus client"),
    (100, "NTP setup"),
    (111, "Account"),
    (112, "Credit"),
    (113, "Charge"),
    (115, "Token gateway"),
    (151, "LTE monitoring"),
];

fn class(id: u16) -> Option<&'static ClassNames> {
    CLASSES.iter().find(|c| c.0 == id)
}

/// The interface-class name of a class id, e.g. 8 -> "Clock".
pub fn class_name(id: u16) -> Option<&'static str> {
    class(id).map(|c| c.1).or_else(|| {
        OTHER_CLASSES
            .iter()
            .find(|(other, _)| *other == id)
            .map(|(_, name)| *name)
    })
}

/// The name of attribute `attribute` of class `class_id`, e.g. (3, 3) -> "scaler_unit".
pub fn attribute_name(class_id: u16, attribute: i64) -> Option<&'static str> {
    if attribute == 1 {
        return class_name(class_id).map(|_| "logical_name");
    }
    let index = usize::try_from(attribute.checked_sub(2)?).ok()?;
    class(class_id)?.2.get(index).copied()
}

/// The name of method `method` of class `class_id`, e.g. (15, 1) -> "reply_to_HLS_authentication".
pub fn method_name(class_id: u16, method: i64) -> Option<&'static str> {
    let index = usize::try_from(method.checked_sub(1)?).ok()?;
    class(class_id)?.3.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_classes_of_the_reference() {
        // REFERENCE.md section 1, "Interface classes used here".
        for (id, name) in [
            (1, "Data"),
            (3, "Register"),
            (7, "Profile generic"),
            (8, "Clock"),
            (15, "Association LN"),
            (28, "Auto answer"),
            (29, "Auto connect"),
            (40, "Push setup"),
            (64, "Security setup"),
            (12, "Association SN"),
        ] {
            assert_eq!(class_name(id), Some(name), "class {id}");
        }
        assert_eq!(class_name(9999), None);
    }

    #[test]
    fn names_attributes_and_methods() {
        assert_eq!(attribute_name(3, 3), Some("scaler_unit"));
        assert_eq!(attribute_name(7, 2), Some("buffer"));
        assert_eq!(attribute_name(8, 1), Some("logical_name"));
        assert_eq!(attribute_name(29, 2), Some("mode"));
        assert_eq!(attribute_name(1, 3), None);
        assert_eq!(attribute_name(1, 0), None);
        assert_eq!(attribute_name(1, -5), None);
        assert_eq!(method_name(15, 1), Some("reply_to_HLS_authentication"));
        assert_eq!(method_name(40, 1), Some("push"));
        assert_eq!(method_name(40, 0), None);
        assert_eq!(method_name(1, 1), None);
    }
}
