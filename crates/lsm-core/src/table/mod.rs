//! Table files (`NNNNNN.sst`, `docs/FORMAT.md` §4): immutable sorted runs of
//! internal keys, written once by a flush or compaction and then only read.
//!
//! Layout: data blocks, filter block, properties block, index block, footer.
//! Every block is followed by a trailer with its compression type and a masked
//! CRC-32C; the footer has its own checksum, version and magic. Data blocks are
//! stored Snappy-compressed (type 1) when that saves at least an eighth;
//! readers verify the checksum of the stored bytes, then decompress, and the
//! block cache holds blocks decompressed.

mod builder;
#[cfg(test)]
mod file_tests;
mod format;
mod iter;
mod point;
mod reader;
mod source;

pub use builder::{
    build_table, worth_compressing, Compression, TableBuilder, TableOptions, MAX_BLOCK_SIZE,
};
pub use format::{
    append_block, append_stored_block, check_block, check_block_typed, uncompress_block,
    verify_block, BlockHandle, Footer, Properties, BLOCK_TRAILER_LEN, COMPRESSION_NONE,
    COMPRESSION_SNAPPY, FOOTER_LEN, TABLE_FORMAT_VERSION, TABLE_MAGIC,
};
pub use iter::TableIter;
pub use reader::{Table, TableCaches};
