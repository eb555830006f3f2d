//! Data and index blocks (`docs/FORMAT.md` §4.2).
//!
//! A block is a run of prefix-compressed entries followed by an array of
//! restart offsets. Every `restartInterval`-th entry stores its whole key, so a
//! reader binary-searches those restart keys and then decodes at most
//! `restartInterval` entries: a 4 KiB block costs a handful of comparisons per
//! seek while shared prefixes keep it small on disk.

mod builder;
mod reader;
#[cfg(test)]
mod tests;

pub use builder::BlockBuilder;
pub use reader::{Block, BlockIter, Comparator};

/// Restart interval of data blocks (§4.2).
pub const DATA_RESTART_INTERVAL: usize = 16;
/// Restart interval of index blocks: every key whole, so the binary search
/// over restarts alone finds the block (§4.2).
pub const INDEX_RESTART_INTERVAL: usize = 1;
