//! The objects a simulated meter exposes, and who may do what with them.

use crate::dlms::data::Data;
use crate::dlms::obis::Obis;

/// Interface classes used by the simulated meter.
pub mod class {
    pub const DATA: u16 = 1;
    pub const REGISTER: u16 = 3;
    pub const PROFILE_GENERIC: u16 = 7;
    pub const CLOCK: u16 = 8;
    pub const ASSOCIATION_LN: u16 = 15;
    pub const AUTO_CONNECT: u16 = 29;
    pub const PUSH_SETUP: u16 = 40;
}

/// Auto connect 0.0.2.1.0.255.
pub const AUTO_CONNECT: Obis = Obis::new(0, 0, 2, 1, 0, 255);
/// Push setup "on connectivity" 0.0.25.9.0.255.
pub const PUSH_ON_CONNECTIVITY: Obis = Obis::new(0, 0, 25, 9, 0, 255);

/// One object in the association's object list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectDef {
    pub class_id: u16,
    pub version: u8,
    pub obis: Obis,
    pub attributes: i8,
    pub methods: i8,
}

/// Every object of the simulated meter, in object-list order.
pub const OBJECTS: &[ObjectDef] = &[
    ObjectDef {
        class_id: class::ASSOCIATION_LN,
        version: 2,
        obis: Obis::CURRENT_ASSOCIATION,
        attributes: 11,
        methods: 4,
    },
    ObjectDef {
        class_id: class::DATA,
        version: 0,
        obis: Obis::LOGICAL_DEVICE_NAME,
        attributes: 2,
        methods: 0,
    },
    ObjectDef {
        class_id: class::DATA,
        version: 0,
        obis: Obis::INVOCATION_COUNTER,
        attributes: 2,
        methods: 0,
    },
    ObjectDef {
        class_id: class::CLOCK,
        version: 0,
        obis: Obis::CLOCK,
        attributes: 9,
        methods: 6,
    },
    ObjectDef {
        class_id: class::REGISTER,
        version: 0,
        obis: Obis::ACTIVE_ENERGY_IMPORT,
        attributes: 3,
        methods: 1,
    },
    ObjectDef {
        class_id: class::REGISTER,
        version: 0,
        obis: Obis::ACTIVE_ENERGY_EXPORT,
        attributes: 3,
        methods: 1,
    },
    ObjectDef {
        class_id: class::REGISTER,
        version: 0,
        obis: Obis::ACTIVE_POWER_IMPORT,
        attributes: 3,
        methods: 1,
    },
    ObjectDef {
        class_id: class::DATA,
        version: 0,
        obis: Obis::PROFILE_STATUS,
        attributes: 2,
        methods: 0,
    },
    ObjectDef {
        class_id: class::PROFILE_GENERIC,
        version: 1,
        obis: Obis::LOAD_PROFILE_1,
        attributes: 8,
        methods: 4,
    },
    ObjectDef {
        class_id: class::AUTO_CONNECT,
        version: 2,
        obis: AUTO_CONNECT,
        attributes: 6,
        methods: 1,
    },
    ObjectDef {
        class_id: class::PUSH_SETUP,
        version: 0,
        obis: PUSH_ON_CONNECTIVITY,
        attributes: 7,
        methods: 1,
    },
];

/// The object with this class and logical name.
pub fn find(class_id: u16, obis: Obis) -> Option<&'static ObjectDef> {
    OBJECTS
        .iter()
        .find(|o| o.class_id == class_id && o.obis == obis)
}

/// Attribute access modes of the Blue Book's object list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None = 0,
    Read = 1,
    ReadWrite = 3,
}

/// Who is asking: the public client reads without authentication; the management client
/// authenticated and may also write settings and invoke methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Public,
    Management,
}

/// What `role` may do with attribute `attribute` of `object`.
pub fn attribute_access(role: Role, object: &ObjectDef, attribute: i8) -> Access {
    if attribute < 1 || attribute > object.attributes {
        return Access::None;
    }
    let writable = matches!(
        (object.class_id, attribute),
        (class::CLOCK, 2) | (class::AUTO_CONNECT, 2..=6) | (class::PUSH_SETUP, 3..=7)
    );
    match role {
        Role::Management if writable => Access::ReadWrite,
        Role::Management => Access::Read,
        Role::Public if matches!(object.class_id, class::AUTO_CONNECT | class::PUSH_SETUP) => {
            Access::None
        }
        Role::Public => Access::Read,
    }
}

/// Whether `role` may invoke `method` of `object`.
pub fn method_access(role: Role, object: &ObjectDef, method: i8) -> bool {
    let hls_reply = object.class_id == class::ASSOCIATION_LN && method == 1;
    (1..=object.methods).contains(&method) && (hls_reply || role == Role::Management)
}

/// Association LN attribute 2: the object list with each object's access rights for `role`.
pub fn object_list(role: Role) -> Data {
    Data::Array(OBJECTS.iter().map(|o| object_list_entry(role, o)).collect())
}

fn object_list_entry(role: Role, o: &ObjectDef) -> Data {
    let attributes = (1..=o.attributes)
        .map(|a| {
            Data::Structure(vec![
                Data::Integer(a),
                Data::Enum(attribute_access(role, o, a) as u8),
                Data::Null,
            ])
        })
        .collect();
    let methods = (1..=o.methods)
        .map(|m| {
            Data::Structure(vec![
                Data::Integer(m),
                Data::Enum(method_access(role, o, m) as u8),
            ])
        })
        .collect();
    Data::Structure(vec![
        Data::LongUnsigned(o.class_id),
        Data::Unsigned(o.version),
        Data::OctetString(o.obis.0.to_vec()),
        Data::Structure(vec![Data::Array(attributes), Data::Array(methods)]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_client_reads_but_never_writes() {
        for o in OBJECTS {
            for a in 1..=o.attributes {
                assert_ne!(
                    attribute_access(Role::Public, o, a),
                    Access::ReadWrite,
                    "{} {a}",
                    o.obis
                );
            }
        }
        let clock = find(class::CLOCK, Obis::CLOCK).unwrap();
        assert_eq!(attribute_access(Role::Public, clock, 2), Access::Read);
        assert_eq!(
            attribute_access(Role::Management, clock, 2),
            Access::ReadWrite
        );
        assert_eq!(attribute_access(Role::Management, clock, 10), Access::None);
    }

    #[test]
    fn only_management_invokes_methods_except_the_hls_reply() {
        let association = find(class::ASSOCIATION_LN, Obis::CURRENT_ASSOCIATION).unwrap();
        let push = find(class::PUSH_SETUP, PUSH_ON_CONNECTIVITY).unwrap();
        assert!(method_access(Role::Public, association, 1));
        assert!(!method_access(Role::Public, push, 1));
        assert!(method_access(Role::Management, push, 1));
        assert!(!method_access(Role::Management, push, 2));
    }

    #[test]
    fn the_object_list_names_every_object() {
        let list = object_list(Role::Public);
        assert_eq!(list.as_elements().unwrap().len(), OBJECTS.len());
    }
}
