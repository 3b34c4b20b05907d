//! Peer payloads: a version byte, then postcard. Nodes of different releases refuse each
//! other's payloads by name instead of misreading them.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The payload format of this release. Bump it whenever a type sent between nodes
/// changes shape.
pub const WIRE_VERSION: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("empty peer payload")]
    Empty,
    #[error("peer payload of wire version {0}; this node speaks {WIRE_VERSION}")]
    Version(u8),
    #[error("undecodable peer payload: {0}")]
    Decode(String),
    #[error("unencodable peer payload: {0}")]
    Encode(String),
}

pub fn pack<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    postcard::to_extend(value, vec![WIRE_VERSION]).map_err(|e| WireError::Encode(e.to_string()))
}

/// Checks the version byte only: lets the server refuse a foreign payload before decoding.
pub fn check_version(bytes: &[u8]) -> Result<(), WireError> {
    match bytes.first() {
        None => Err(WireError::Empty),
        Some(&WIRE_VERSION) => Ok(()),
        Some(&other) => Err(WireError::Version(other)),
    }
}

pub fn unpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    check_version(bytes)?;
    postcard::from_bytes(&bytes[1..]).map_err(|e| WireError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_version_and_foreign_ones_are_refused() {
        let packed = pack(&(7u64, "x".to_string())).unwrap();
        assert_eq!(packed[0], WIRE_VERSION);
        assert_eq!(unpack::<(u64, String)>(&packed).unwrap(), (7, "x".to_string()));
        let mut foreign = packed.clone();
        foreign[0] = WIRE_VERSION + 1;
        assert_eq!(unpack::<(u64, String)>(&foreign), Err(WireError::Version(WIRE_VERSION + 1)));
        assert_eq!(unpack::<(u64, String)>(&[]), Err(WireError::Empty));
        assert!(matches!(unpack::<(u64, String)>(&[WIRE_VERSION, 0xff]), Err(WireError::Decode(_))));
    }
}
