//! CRC-32C and the checksum masking of `docs/FORMAT.md` §1.1.
//!
//! CRC-32C (Castagnoli) is used because x86 (SSE4.2) and ARMv8 compute it in
//! hardware; the `crc32c` crate picks the instruction at run time and falls
//! back to a table-driven loop elsewhere.
//!
//! Stored checksums are *masked*: a CRC over bytes that themselves embed CRCs
//! (a WAL record inside a stored value, a block inside a copied file) would
//! otherwise be trivially self-consistent. Masking rotates and offsets the CRC so
//! such embedded data does not look like a valid record.

/// Constant added by [`mask`] (FORMAT.md §1.1; never change).
pub const MASK_DELTA: u32 = 0xA282_EAD8;

/// CRC-32C of `data` (init `0xFFFFFFFF`, final xor `0xFFFFFFFF`).
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Continues a finished CRC over more bytes:
/// `crc32c_extend(crc32c(a), b) == crc32c(a ‖ b)`. Lets a writer checksum
/// `contents ‖ type byte` without building the concatenation.
pub fn crc32c_extend(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}

/// `mask(c) = rotr(c, 15) + 0xA282EAD8 (mod 2^32)`.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// `mask(crc32c(data))`: the form every checksum takes on disk.
pub fn mcrc(data: &[u8]) -> u32 {
    mask(crc32c(data))
}

/// Masked CRC of the concatenation of `parts`, without concatenating them.
pub fn mcrc_parts(parts: &[&[u8]]) -> u32 {
    let crc = parts
        .iter()
        .fold(0u32, |crc, part| crc32c_extend(crc, part));
    mask(crc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_from_the_spec() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn rfc3720_vectors() {
        // iSCSI (RFC 3720 B.4) test patterns for CRC-32C.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        let descending: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113F_DB5C);
    }

    #[test]
    fn extend_equals_concatenation() {
        let a = b"hello, ";
        let b = b"world";
        assert_eq!(crc32c_extend(crc32c(a), b), crc32c(b"hello, world"));
        assert_eq!(crc32c_extend(0, a), crc32c(a));
        assert_eq!(mcrc_parts(&[a, b]), mcrc(b"hello, world"));
        assert_eq!(mcrc_parts(&[]), mask(0));
    }

    #[test]
    fn mask_is_invertible_and_changes_the_value() {
        for c in [0u32, 1, 0xE306_9283, u32::MAX, 0x8000_0000, MASK_DELTA] {
            assert_eq!(unmask(mask(c)), c);
            assert_ne!(mask(c), c);
        }
        // mask(c) = rotr(c, 15) + delta, spelled out for one value.
        let c = 0x1234_5678u32;
        #[allow(clippy::manual_rotate)] // spelled out on purpose: this is the spec's formula
        let expected = ((c >> 15) | (c << 17)).wrapping_add(0xA282_EAD8);
        assert_eq!(mask(c), expected);
        // Masking twice differs from masking once (embedded CRCs stay distinct).
        assert_ne!(mask(mask(c)), mask(c));
    }
}
