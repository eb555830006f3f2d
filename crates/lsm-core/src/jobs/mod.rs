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
    write_table_file(path, bytes, sync, None)
}

/// [`write_new_file`], but first renames `recycle` (a dead table file the
/// caller hands over) to `path` and overwrites it in place, cut to
/// `bytes.len()`: the kernel then writes into page-cache pages the file
/// already has instead of allocating fresh ones, several times faster here
/// (docs/PERFORMANCE.md, thirty-second session). The file that results is
/// the same. When the rename fails (the old file is gone, say) a new file is
/// created as without `recycle`; `path` itself is never replaced.
pub fn write_table_file(
    path: &Path,
    bytes: &[u8],
    sync: bool,
    recycle: Option<&Path>,
) -> Result<()> {
    let named = |e: std::io::Error| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let reused = match recycle {
        Some(old) if std::fs::symlink_metadata(path).is_err() => std::fs::rename(old, path)
            .ok()
            .and_then(|()| OpenOptions::new().write(true).open(path).ok()),
        _ => None,
    };
    let recycled = reused.is_some();
    let mut file = match reused {
        Some(f) => f,
        None => OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(named)?,
    };
    let written = file.write_all(bytes).and_then(|()| {
        if recycled {
            file.set_len(bytes.len() as u64)?;
        }
        if sync {
            file.sync_all()
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(named(e));
    }
    Ok(())
}
