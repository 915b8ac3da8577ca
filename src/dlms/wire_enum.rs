//! `wire_enum!`: one-byte protocol enums that keep unknown values, so decode/encode round-trips.

/// Declares an enum with named values plus `Unknown(u8)`, with `from_u8`, `to_u8`, `name`, a
/// one-byte `Codec` and a `Serialize` that prints the name.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this implementation does not name, kept as it was on the wire.
            Unknown(u8),
        }

        impl $name {
            pub fn from_u8(value: u8) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }

            pub fn to_u8(self) -> u8 {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other,
                }
            }

            /// The standard's name for the value.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(_) => "unknown",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} ({})", self.name(), self.to_u8())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Unknown(v) => s.collect_str(&format_args!("unknown({v})")),
                    known => s.serialize_str(known.name()),
                }
            }
        }

        impl $crate::dlms::codec::Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                out.push(self.to_u8());
            }

            fn read(r: &mut $crate::dlms::codec::Reader<'_>) -> $crate::dlms::codec::DecodeResult<Self> {
                Ok(Self::from_u8(r.u8(stringify!($name))?))
            }
        }
    };
}
