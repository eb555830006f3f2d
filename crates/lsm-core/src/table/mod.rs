//! Table files (`NNNNNN.sst`, `docs/FORMAT.md` §4): immutable sorted runs of
//! internal keys, written once by a flush or compaction and then only read.
//!
//! Layout: data blocks, filter block, properties block, index block, footer.
//! Every block is followed by a trailer with its compression type and a masked
//! CRC-32C; the footer has its own checksum, version and magic.

mod builder;
#[cfg(test)]
mod file_tests;
mod format;
mod iter;
mod reader;
mod source;

pub use builder::{build_table, TableBuilder, TableOptions, MAX_BLOCK_SIZE};
pub use format::{
    append_block, check_block, verify_block, BlockHandle, Footer, Properties, BLOCK_TRAILER_LEN,
    COMPRESSION_NONE, FOOTER_LEN, TABLE_FORMAT_VERSION, TABLE_MAGIC,
};
pub use iter::TableIter;
pub use reader::{Table, TableCaches};
