//! Flush: writes every entry of a memtable that no longer changes to a new
//! table file. The bytes equal what the TypeScript core writes for the same
//! entries (same builder rules), which the cross-engine tests check.

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::iter::KvIter;
use crate::jobs::{write_new_file, WrittenTable};
use crate::memtable::MemTable;
use crate::table::{TableBuilder, TableOptions};

/// Writes `mem` to a new table at `path`, fsynced when `sync` (else the
/// caller must fsync it before naming it in the manifest). An empty memtable
/// is refused: tables are never empty.
pub fn flush_memtable(
    mem: &Arc<MemTable>,
    path: &Path,
    opts: TableOptions,
    sync: bool,
) -> Result<WrittenTable> {
    let mut builder = TableBuilder::new(opts)?;
    let mut it = mem.iter();
    it.seek_to_first()?;
    while it.valid() {
        builder.add(it.key(), it.value())?;
        it.next()?;
    }
    let (bytes, properties) = builder.finish_with_properties()?;
    write_new_file(path, &bytes, sync)?;
    Ok(WrittenTable {
        file_size: bytes.len() as u64,
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteGroupBuilder;
    use crate::error::Error;
    use crate::table::Table;
    use crate::testutil::TempDir;

    #[test]
    fn flushed_table_holds_every_version() {
        let dir = TempDir::new("flush");
        let mem = Arc::new(MemTable::new());
        let mut g = WriteGroupBuilder::new(1).unwrap();
        for i in 0..500u32 {
            let k = format!("k{:04}", i % 200);
            if i % 7 == 3 {
                g.delete(k.as_bytes()).unwrap();
            } else {
                g.put(k.as_bytes(), &i.to_le_bytes()).unwrap();
            }
        }
        mem.apply(&g.finish().unwrap()).unwrap();
        let path = dir.join("000005.sst");
        let opts = TableOptions {
            block_size: 512,
            ..TableOptions::default()
        };
        let w = flush_memtable(&mem, &path, opts, true).unwrap();
        assert_eq!(w.file_size, std::fs::metadata(&path).unwrap().len());
        assert_eq!(w.properties.entry_count, 500);
        assert_eq!((w.properties.min_seq, w.properties.max_seq), (1, 500));
        let t = Table::open_file(&path, None).unwrap();
        assert_eq!(t.properties(), &w.properties);
        for i in 0..200u32 {
            let k = format!("k{i:04}");
            for snap in [1u64, 100, 250, 500] {
                assert_eq!(
                    t.get(k.as_bytes(), snap).unwrap(),
                    mem.get(k.as_bytes(), snap)
                );
            }
        }
        // The same bytes as building from the memtable's entries in memory.
        let mut it = mem.iter();
        it.seek_to_first().unwrap();
        let entries = crate::iter::collect_forward(&mut it).unwrap();
        let bytes = crate::table::build_table(opts, &entries).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // A file number is never reused: an existing file is an I/O error.
        assert!(matches!(
            flush_memtable(&mem, &path, opts, true),
            Err(Error::Io(_))
        ));
    }

    #[test]
    fn empty_memtable_is_refused_and_leaves_no_file() {
        let dir = TempDir::new("flush");
        let path = dir.join("000006.sst");
        let e = flush_memtable(
            &Arc::new(MemTable::new()),
            &path,
            TableOptions::default(),
            true,
        );
        assert!(matches!(e, Err(Error::InvalidArgument(_))));
        assert!(!path.exists());
    }
}
