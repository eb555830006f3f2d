//! The background jobs of the engine: flush (memtable → table file) and
//! compaction (tables → tables). Each runs to completion on whatever thread
//! calls it; the bindings call them off the JS thread.

mod compaction;
mod flush;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::table::Properties;

pub use compaction::{run_compaction, CompactionJob, CompactionOutput};
pub use flush::flush_memtable;

/// What writing a table produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenTable {
    pub file_size: u64,
    pub properties: Properties,
}

/// Writes `bytes` to a new file at `path` and, with `sync`, fsyncs it before
/// returning: a table must be durable before the manifest edit that names it
/// is written (without `sync` the caller fsyncs it later). The file must not
/// exist yet (a file number is never reused); a partly written file is
/// removed when writing fails.
pub fn write_new_file(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let named = |e: std::io::Error| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(named)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| if sync { file.sync_all() } else { Ok(()) });
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(named(e));
    }
    Ok(())
}
