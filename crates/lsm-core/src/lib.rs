//! `lsm-core`: the storage-engine core of lsm-rust, free of any N-API code.
//!
//! It does the work on bytes (`docs/FORMAT.md` is the contract): primitive
//! coding, checksums, internal keys, write groups, the log framing shared by
//! WAL and MANIFEST, bloom filters, blocks, block compression (the Snappy raw
//! format), tables, version edits, the memtable, merge iteration, the block
//! cache, read views with chunked cursors, and the flush and compaction jobs.
//! Deciding *what* to do and *when* (write queue, manifest, compaction
//! picking, file deletion) belongs to the TypeScript side.
//!
//! Every decoder treats its input as untrusted and returns
//! [`Error::Corruption`] rather than panicking.

mod arena;
pub mod batch;
pub mod block;
pub mod bloom;
pub mod cache;
pub mod checksum;
pub mod coding;
pub mod current;
pub mod error;
pub mod file_pool;
pub mod iter;
pub mod jobs;
pub mod key;
pub mod log;
pub mod manifest;
pub mod memtable;
pub mod merge;
pub mod mmap;
mod skiplist;
pub mod snappy;
pub mod table;
#[cfg(test)]
mod testutil;
pub mod view;
pub mod wal;

pub use error::{Error, Result};
pub use iter::KvIter;
pub use key::{Kind, Lookup};

/// Version of this crate, reported by the bindings as `coreVersion()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// On-disk format version this core reads and writes (FORMAT.md).
pub const FORMAT_VERSION: u32 = 1;
