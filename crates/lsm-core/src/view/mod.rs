//! Reading across sources: the read view (memtables + levels), the level
//! iterator for sorted levels, and the chunked user cursor.

mod cursor;
mod level_iter;
mod read_view;
#[cfg(test)]
mod tests;

pub use cursor::{ChunkSink, Cursor, CursorOptions};
pub use level_iter::LevelIter;
pub use read_view::ReadView;
