//! The one error type of the core.
//!
//! The set of variants is closed on purpose: the TypeScript side maps each to a
//! stable error code (`LEVEL_CORRUPTION`, `LEVEL_INVALID_ARGUMENT`, ...), so a new
//! kind of failure must be a deliberate decision, not a stray `String`.
//!
//! `Display` starts with the code (`CORRUPTION: ...`) because the N-API layer
//! passes the message through unchanged and TypeScript recognises the prefix.
//!
//! Rule for every decoder in this crate: bytes read from disk are untrusted.
//! A decoder checks every length and offset and returns [`Error::Corruption`];
//! it never indexes out of bounds and never calls `unwrap()` on them.

use std::fmt;

/// Everything that can go wrong inside the core.
#[derive(Debug)]
pub enum Error {
    /// Stored bytes do not follow `docs/FORMAT.md`: a bad checksum, a length that
    /// runs past its buffer, an unknown tag. `file` names the file when known.
    Corruption { file: Option<String>, msg: String },
    /// The caller passed something the core refuses (an empty table, keys out of
    /// order, a sequence number beyond 2^45 − 1, ...). Not a property of the data
    /// on disk, so it is never reported as corruption.
    InvalidArgument(String),
    /// The operating system failed a read or write.
    Io(std::io::Error),
}

/// Shorthand used by every fallible function of the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Corruption whose file is not known at the point of detection; callers
    /// that know it attach it with [`Error::in_file`].
    pub fn corruption(msg: impl Into<String>) -> Self {
        Error::Corruption {
            file: None,
            msg: msg.into(),
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// Names the file a corruption was found in, unless a more precise name is
    /// already attached (the innermost decoder knows best). Other variants pass
    /// through untouched.
    pub fn in_file(self, file: Option<&str>) -> Self {
        match (self, file) {
            (Error::Corruption { file: None, msg }, Some(name)) => Error::Corruption {
                file: Some(name.to_string()),
                msg,
            },
            (other, _) => other,
        }
    }

    /// Prefixes a corruption message with where it was found (e.g. "block at
    /// 4096"), so a report says both what and where.
    pub fn context(self, what: impl fmt::Display) -> Self {
        match self {
            Error::Corruption { file, msg } => Error::Corruption {
                file,
                msg: format!("{what}: {msg}"),
            },
            other => other,
        }
    }

    /// The stable code TypeScript maps to its own error codes.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Corruption { .. } => "CORRUPTION",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Io(_) => "IO_ERROR",
        }
    }

    /// True for [`Error::Corruption`]; handy in tests and recovery code.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Corruption {
                file: Some(file),
                msg,
            } => write!(f, "CORRUPTION: {file}: {msg}"),
            Error::Corruption { file: None, msg } => write!(f, "CORRUPTION: {msg}"),
            Error::InvalidArgument(msg) => write!(f, "INVALID_ARGUMENT: {msg}"),
            Error::Io(e) => write!(f, "IO_ERROR: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_starts_with_the_code() {
        assert_eq!(
            Error::corruption("bad crc").to_string(),
            "CORRUPTION: bad crc"
        );
        assert_eq!(
            Error::corruption("bad crc")
                .in_file(Some("000003.log"))
                .to_string(),
            "CORRUPTION: 000003.log: bad crc"
        );
        assert_eq!(
            Error::invalid("empty table").to_string(),
            "INVALID_ARGUMENT: empty table"
        );
        let io = Error::from(std::io::Error::other("disk on fire"));
        assert!(io.to_string().starts_with("IO_ERROR: "));
        assert_eq!(io.code(), "IO_ERROR");
    }

    #[test]
    fn in_file_keeps_the_innermost_name() {
        let e = Error::corruption("x")
            .in_file(Some("a.sst"))
            .in_file(Some("b.sst"));
        match e {
            Error::Corruption { file, .. } => assert_eq!(file.as_deref(), Some("a.sst")),
            _ => panic!("variant changed"),
        }
        // Non-corruption errors are not turned into corruption.
        assert!(matches!(
            Error::invalid("x").in_file(Some("a")),
            Error::InvalidArgument(_)
        ));
    }

    #[test]
    fn context_prefixes_corruption_only() {
        let e = Error::corruption("crc mismatch").context("block at 4096");
        assert_eq!(e.to_string(), "CORRUPTION: block at 4096: crc mismatch");
        let e = Error::invalid("no").context("ignored");
        assert_eq!(e.to_string(), "INVALID_ARGUMENT: no");
        assert!(Error::corruption("x").is_corruption());
        assert_eq!(Error::corruption("x").code(), "CORRUPTION");
    }
}
