//! The numbers RADIUS puts on the wire: packet codes, attribute types and enumerated values.
//!
//! Every enum keeps values it does not name (`Unknown`), so decoding and re-encoding a packet
//! gives back the same bytes. Sources: RFC 2865 §3 and §5, RFC 2866 §5, RFC 3579 §3.2,
//! 3GPP TS 29.061 §16.4.7 (vendor 10415).

/// Declares a wire enum over `$repr` with named values plus `Unknown($repr)`.
macro_rules! radius_enum {
    ($(#[$meta:meta])* pub enum $name:ident: $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this implementation does not name, kept as it was on the wire.
            Unknown($repr),
        }

        impl $name {
            pub fn from_wire(value: $repr) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }

            pub fn to_wire(self) -> $repr {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other,
                }
            }

            /// The name FreeRADIUS's dictionaries use for the value.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(_) => "unknown",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    Self::Unknown(v) => write!(f, "unknown ({v})"),
                    known => f.write_str(known.name()),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                match text.as_str() {
                    $($text => Ok(Self::$variant),)*
                    other => Err(serde::de::Error::custom(format!(
                        "{other:?} is not a known {} name", stringify!($name)
                    ))),
                }
            }
        }
    };
}

radius_enum! {
    /// The packet code (RFC 2865 §3, RFC 2866 §3).
    pub enum Code: u8 {
        AccessRequest = 1 => "Access-Request",
        AccessAccept = 2 => "Access-Accept",
        AccessReject = 3 => "Access-Reject",
        AccountingRequest = 4 => "Accounting-Request",
        AccountingResponse = 5 => "Accounting-Response",
        AccessChallenge = 11 => "Access-Challenge",
        StatusServer = 12 => "Status-Server",
    }
}

impl Code {
    /// The codes a server sends back.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            Code::AccessAccept
                | Code::AccessReject
                | Code::AccessChallenge
                | Code::AccountingResponse
        )
    }
}

radius_enum! {
    /// The attribute type byte (RFC 2865 §5, RFC 2866 §5, RFC 3579 §3.2).
    pub enum AttributeType: u8 {
        UserName = 1 => "User-Name",
        UserPassword = 2 => "User-Password",
        ChapPassword = 3 => "CHAP-Password",
        NasIpAddress = 4 => "NAS-IP-Address",
        NasPort = 5 => "NAS-Port",
        ServiceType = 6 => "Service-Type",
        FramedProtocol = 7 => "Framed-Protocol",
        FramedIpAddress = 8 => "Framed-IP-Address",
        ReplyMessage = 18 => "Reply-Message",
        State = 24 => "State",
        Class = 25 => "Class",
        VendorSpecific = 26 => "Vendor-Specific",
        SessionTimeout = 27 => "Session-Timeout",
        CalledStationId = 30 => "Called-Station-Id",
        CallingStationId = 31 => "Calling-Station-Id",
        NasIdentifier = 32 => "NAS-Identifier",
        ProxyState = 33 => "Proxy-State",
        AcctStatusType = 40 => "Acct-Status-Type",
        AcctDelayTime = 41 => "Acct-Delay-Time",
        AcctInputOctets = 42 => "Acct-Input-Octets",
        AcctOutputOctets = 43 => "Acct-Output-Octets",
        AcctSessionId = 44 => "Acct-Session-Id",
        AcctSessionTime = 46 => "Acct-Session-Time",
        AcctInputPackets = 47 => "Acct-Input-Packets",
        AcctOutputPackets = 48 => "Acct-Output-Packets",
        AcctTerminateCause = 49 => "Acct-Terminate-Cause",
        EventTimestamp = 55 => "Event-Timestamp",
        NasPortType = 61 => "NAS-Port-Type",
        MessageAuthenticator = 80 => "Message-Authenticator",
    }
}

radius_enum! {
    /// Acct-Status-Type values (RFC 2866 §5.1).
    pub enum AcctStatusType: u32 {
        Start = 1 => "Start",
        Stop = 2 => "Stop",
        InterimUpdate = 3 => "Interim-Update",
        AccountingOn = 7 => "Accounting-On",
        AccountingOff = 8 => "Accounting-Off",
    }
}

radius_enum! {
    /// Acct-Terminate-Cause values (RFC 2866 §5.10).
    pub enum TerminateCause: u32 {
        UserRequest = 1 => "User-Request",
        LostCarrier = 2 => "Lost-Carrier",
        LostService = 3 => "Lost-Service",
        IdleTimeout = 4 => "Idle-Timeout",
        SessionTimeout = 5 => "Session-Timeout",
        AdminReset = 6 => "Admin-Reset",
        AdminReboot = 7 => "Admin-Reboot",
        PortError = 8 => "Port-Error",
        NasError = 9 => "NAS-Error",
        NasRequest = 10 => "NAS-Request",
        NasReboot = 11 => "NAS-Reboot",
        PortUnneeded = 12 => "Port-Unneeded",
        PortPreempted = 13 => "Port-Preempted",
        PortSuspended = 14 => "Port-Suspended",
        ServiceUnavailable = 15 => "Service-Unavailable",
        Callback = 16 => "Callback",
        UserError = 17 => "User-Error",
        HostRequest = 18 => "Host-Request",
    }
}

/// The 3GPP's IANA enterprise number, the vendor of the TS 29.061 attributes.
pub const VENDOR_3GPP: u32 = 10415;

radius_enum! {
    /// 3GPP vendor-specific attribute types (TS 29.061 §16.4.7, vendor 10415).
    pub enum ThreeGppType: u8 {
        Imsi = 1 => "3GPP-IMSI",
        ChargingId = 2 => "3GPP-Charging-ID",
        ImeiSv = 20 => "3GPP-IMEISV",
        RatType = 21 => "3GPP-RAT-Type",
        UserLocationInfo = 22 => "3GPP-User-Location-Info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_round_trip_every_code_value() {
        for value in 0..=u8::MAX {
            assert_eq!(Code::from_wire(value).to_wire(), value);
            assert_eq!(AttributeType::from_wire(value).to_wire(), value);
            assert_eq!(ThreeGppType::from_wire(value).to_wire(), value);
        }
    }

    #[test]
    fn names_follow_the_freeradius_dictionary() {
        for (value, name) in [
            (TerminateCause::LostCarrier, "Lost-Carrier"),
            (TerminateCause::from_wire(18), "Host-Request"),
            (TerminateCause::from_wire(99), "unknown (99)"),
        ] {
            assert_eq!(value.to_string(), name);
        }
        assert_eq!(AcctStatusType::from_wire(3), AcctStatusType::InterimUpdate);
        assert_eq!(AttributeType::from_wire(80).name(), "Message-Authenticator");
    }
}
