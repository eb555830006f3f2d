//! The `CURRENT` file (`docs/FORMAT.md` §6): names the live MANIFEST.
//!
//! `CURRENT` carries a checksum of the name it holds: a torn or stray
//! `CURRENT` must be detected rather than trusted, because it decides which
//! MANIFEST — and so which set of files — the database believes in. It is
//! replaced atomically (write `CURRENT.tmp`, fsync, rename, fsync the
//! directory); that sequence lives on the TypeScript side, this module only
//! encodes and checks the bytes.

use crate::checksum::mcrc;
use crate::coding::MAX_SAFE_INTEGER;
use crate::error::{Error, Result};

/// `MANIFEST-NNNNNN` (at least 6 digits).
pub fn manifest_file_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// Contents of a `CURRENT` naming `manifest_name`: `name ‖ ' ' ‖ 8 hex ‖ '\n'`.
pub fn encode_current(manifest_name: &str) -> Vec<u8> {
    format!("{manifest_name} {:08x}\n", mcrc(manifest_name.as_bytes())).into_bytes()
}

/// Parses `CURRENT`: returns the MANIFEST's name and number. Anything but the
/// exact form of [`encode_current`] with a matching checksum is corruption.
pub fn parse_current(bytes: &[u8]) -> Result<(String, u64)> {
    let bad = |msg: &str| Error::corruption(format!("CURRENT {msg}")).in_file(Some("CURRENT"));
    let body = bytes
        .strip_suffix(b"\n")
        .ok_or_else(|| bad("does not end with a newline"))?;
    let text = std::str::from_utf8(body).map_err(|_| bad("is not text"))?;
    let (name, crc_hex) = text.split_once(' ').ok_or_else(|| bad("has no checksum"))?;
    let hex_ok = crc_hex.len() == 8
        && crc_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let crc = if hex_ok {
        u32::from_str_radix(crc_hex, 16).ok()
    } else {
        None
    };
    let crc = crc.ok_or_else(|| bad("checksum is not 8 lower-case hex digits"))?;
    if crc != mcrc(name.as_bytes()) {
        return Err(bad("checksum mismatch"));
    }
    let digits = name
        .strip_prefix("MANIFEST-")
        .ok_or_else(|| bad("does not name a MANIFEST"))?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("names a malformed MANIFEST file"));
    }
    let number = digits
        .parse::<u64>()
        .ok()
        .filter(|&n| n <= MAX_SAFE_INTEGER)
        .ok_or_else(|| bad("file number too large"))?;
    Ok((name.to_string(), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_round_trip() {
        assert_eq!(manifest_file_name(2), "MANIFEST-000002");
        assert_eq!(manifest_file_name(12_345_678), "MANIFEST-12345678");
        let bytes = encode_current("MANIFEST-000005");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            format!("MANIFEST-000005 {:08x}\n", mcrc(b"MANIFEST-000005"))
        );
        assert_eq!(
            parse_current(&bytes).unwrap(),
            ("MANIFEST-000005".to_string(), 5)
        );
    }

    #[test]
    fn current_rejects_anything_else() {
        let good = encode_current("MANIFEST-000005");
        assert!(
            parse_current(&good[..good.len() - 1]).is_err(),
            "no newline"
        );
        let mut extra = good.clone();
        extra.push(b'\n');
        assert!(parse_current(&extra).is_err(), "extra bytes");
        // Upper-case hex is not the canonical form. Pick a name whose checksum
        // has a letter in it so the test means something.
        let name = (1..100)
            .map(manifest_file_name)
            .find(|n| {
                format!("{:08x}", mcrc(n.as_bytes()))
                    .bytes()
                    .any(|b| b.is_ascii_lowercase())
            })
            .unwrap();
        let upper = format!("{name} {:08X}\n", mcrc(name.as_bytes()));
        assert!(parse_current(upper.as_bytes()).is_err(), "upper-case hex");
        assert!(parse_current(&encode_current(&name)).is_ok());
        let mut flipped = good.clone();
        flipped[10] = b'6';
        assert!(
            parse_current(&flipped).is_err(),
            "name changed, checksum not"
        );
        assert!(
            parse_current(&encode_current("MANIFEST-5")).is_err(),
            "fewer than 6 digits"
        );
        assert!(parse_current(&encode_current("OTHER-000005")).is_err());
        assert!(parse_current(b"").is_err());
        let e = parse_current(b"garbage\n").unwrap_err();
        assert!(e.to_string().starts_with("CORRUPTION: CURRENT: "), "{e}");
    }
}
