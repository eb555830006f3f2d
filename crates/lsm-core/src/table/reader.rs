//! Opens a table and answers point reads (§4).
//!
//! `open` validates the footer and loads the properties, index and filter
//! (each checksummed) once and keeps them in memory; data blocks are verified
//! each time they are read from the file, or come verified from the block
//! cache. A point read goes bloom → index → one data block, so a miss usually
//! costs one hash and a few bit tests.
//!
//! `Table` is a cheap handle (`Arc` inside): iterators own a clone, so they can
//! outlive the caller's reference and move across threads. The file closes
//! when the last handle (table, iterator or read view) is dropped.

use std::path::Path;
use std::sync::Arc;

use crate::block::Block;
use crate::bloom::{bloom_hash, may_contain, may_contain_hash};
use crate::cache::{next_table_id, BlockCache};
use crate::coding::get_varint32;
use crate::error::{Error, Result};
use crate::file_pool::{open_for_read, FilePool};
use crate::iter::KvIter;
use crate::key::{
    compare_bytes, compare_internal, parse_internal_key, user_key, Kind, Lookup, LookupKey, Probe,
};
use crate::mmap::{MapBudget, Mapping};
use crate::snappy::{self, PartialDecode};
use crate::table::format::{BlockHandle, Footer, Properties, COMPRESSION_NONE, COMPRESSION_SNAPPY};
use crate::table::iter::TableIter;
use crate::table::point::PointIndex;
use crate::table::source::Source;

/// The caches a database's tables share: a block cache bounded in bytes and
/// a pool bounding open file descriptors. Either may be absent (reads then
/// go to the file each time / the table keeps its own descriptor).
#[derive(Clone, Debug, Default)]
pub struct TableCaches {
    pub blocks: Option<Arc<BlockCache>>,
    pub files: Option<Arc<FilePool>>,
    /// When set, tables are memory-mapped while this budget has room (see
    /// `crate::mmap`); the others are read with `pread`.
    pub maps: Option<Arc<MapBudget>>,
}

/// An open table.
#[derive(Clone, Debug)]
pub struct Table {
    inner: Arc<TableInner>,
}

#[derive(Debug)]
struct TableInner {
    /// Process-unique; the block cache key's first half.
    id: u64,
    source: Source,
    cache: Option<Arc<BlockCache>>,
    file_name: Option<String>,
    footer: Footer,
    properties: Properties,
    /// The index block, decoded (the block itself is dropped after).
    point: PointIndex,
    /// Filter contents (its own buffer for file tables, shared for memory ones).
    filter: Option<(Arc<[u8]>, std::ops::Range<usize>)>,
}

/// When the last handle goes, so do the table's cached blocks and pooled
/// descriptor: nothing will ask for them again (ids are never reused).
impl Drop for TableInner {
    fn drop(&mut self) {
        if let Some(cache) = &self.cache {
            cache.erase_table(self.id);
        }
        if let Source::Pooled { pool, id, .. } = &self.source {
            pool.forget(*id);
        }
    }
}

impl Table {
    /// Opens a whole table held in memory. `file_name` is used in corruption
    /// reports.
    pub fn open(data: impl Into<Arc<[u8]>>, file_name: Option<&str>) -> Result<Table> {
        let source = Source::Memory(data.into());
        Table::open_source(next_table_id(), source, None, file_name)
            .map_err(|e| e.in_file(file_name))
    }

    /// Opens a table file, reading through `caches` when given. Corruption
    /// reports name the file by its base name (as the TypeScript core does).
    pub fn open_file(path: &Path, caches: Option<&TableCaches>) -> Result<Table> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        let file = open_for_read(path)?;
        let size = file.metadata()?.len();
        let size = usize::try_from(size)
            .map_err(|_| Error::corruption(format!("table of {size} bytes is too large")))
            .map_err(|e| e.in_file(Some(&name)))?;
        let id = next_table_id();
        let caches = caches.cloned().unwrap_or_default();
        let mapping = match &caches.maps {
            Some(budget) => {
                Mapping::new(&file, size, budget).map_err(|e| e.in_file(Some(&name)))?
            }
            None => None,
        };
        let source = match (&caches.files, mapping) {
            // The mapping keeps the bytes; the descriptor closes here.
            (_, Some(map)) => Source::Mapped(map),
            (Some(pool), None) => {
                pool.insert(id, Arc::new(file));
                Source::Pooled {
                    pool: Arc::clone(pool),
                    id,
                    path: path.to_path_buf(),
                    size,
                }
            }
            (None, None) => Source::File { file, size },
        };
        let pooled = matches!(source, Source::Pooled { .. });
        Table::open_source(id, source, caches.blocks, Some(&name)).map_err(|e| {
            // The table never came to be: release its pooled descriptor.
            if let (true, Some(pool)) = (pooled, &caches.files) {
                pool.forget(id);
            }
            e.in_file(Some(&name))
        })
    }

    fn open_source(
        id: u64,
        source: Source,
        cache: Option<Arc<BlockCache>>,
        file_name: Option<&str>,
    ) -> Result<Table> {
        let footer = Footer::decode_tail(&source.read_tail()?, source.size())?;
        let (buf, range) = source
            .read_block(footer.properties)
            .map_err(|e| e.context("properties block"))?;
        let properties =
            Properties::decode(&buf[range]).map_err(|e| e.context("properties block"))?;
        let (buf, range) = source
            .read_block(footer.index)
            .map_err(|e| e.context("index block"))?;
        let index = Block::new(buf, range).map_err(|e| e.context("index block"))?;
        let point = PointIndex::build(&index).map_err(|e| e.context("index block"))?;
        let filter = if footer.filter.size == 0 {
            None
        } else {
            Some(
                source
                    .read_block(footer.filter)
                    .map_err(|e| e.context("filter block"))?,
            )
        };
        let inner = TableInner {
            id,
            source,
            cache,
            file_name: file_name.map(str::to_string),
            footer,
            properties,
            point,
            filter,
        };
        Ok(Table {
            inner: Arc::new(inner),
        })
    }

    pub fn properties(&self) -> &Properties {
        &self.inner.properties
    }

    pub fn footer(&self) -> &Footer {
        &self.inner.footer
    }

    pub fn file_size(&self) -> usize {
        self.inner.source.size()
    }

    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name.as_deref()
    }

    /// The block cache this table reads through, if any.
    pub fn block_cache(&self) -> Option<&Arc<BlockCache>> {
        self.inner.cache.as_ref()
    }

    /// Process-unique id of this open table.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// User key of the first entry.
    pub fn smallest_user_key(&self) -> &[u8] {
        user_key(&self.inner.properties.smallest)
    }

    /// User key of the last entry.
    pub fn largest_user_key(&self) -> &[u8] {
        user_key(&self.inner.properties.largest)
    }

    /// True when `user_key` lies within the table's user-key range.
    pub fn covers(&self, user_key: &[u8]) -> bool {
        // Inline word compares: on every point read, for every L0 table.
        compare_bytes(self.smallest_user_key(), user_key).is_le()
            && compare_bytes(user_key, self.largest_user_key()).is_le()
    }

    /// The filter block's contents, if the table has one.
    pub fn filter(&self) -> Option<&[u8]> {
        self.inner.filter.as_ref().map(|(buf, r)| &buf[r.clone()])
    }

    /// False when the filter proves `user_key` is absent; true otherwise
    /// (including for tables without a filter).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter().map_or(true, |f| may_contain(f, user_key))
    }

    /// The decoded index: one separator and handle per data block.
    pub(crate) fn point_index(&self) -> &PointIndex {
        &self.inner.point
    }

    /// Reads and verifies the data block at `handle`, through the block cache
    /// when the table has one.
    pub(crate) fn read_block_at(&self, handle: BlockHandle) -> Result<Block> {
        let key = (self.inner.id, handle.offset);
        if let Some(cache) = &self.inner.cache {
            if let Some(block) = cache.get(key) {
                return Ok(block);
            }
        }
        let block = self.load_block(handle)?;
        if let Some(cache) = &self.inner.cache {
            cache.insert(key, block.clone());
        }
        Ok(block)
    }

    /// Reads, verifies and decodes the data block at `handle` (no cache).
    fn load_block(&self, handle: BlockHandle) -> Result<Block> {
        let (buf, range) = self.inner.source.read_block(handle)?;
        Block::new(buf, range).map_err(|e| e.context(format!("data block at {}", handle.offset)))
    }

    /// Attaches this table's name to a corruption error.
    pub(crate) fn annotate(&self, e: crate::Error) -> crate::Error {
        e.in_file(self.file_name())
    }

    /// An iterator over every entry, in internal-key order.
    pub fn iter(&self) -> TableIter {
        TableIter::new(self.clone())
    }

    /// The newest version of `user_key` with sequence ≤ `snapshot`, or `None`
    /// when this table holds no visible version.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Result<Option<Lookup>> {
        Ok(self
            .get_with(user_key, snapshot, Lookup::from_entry)?
            .found())
    }

    /// [`Table::get`] that hands `(seq, kind, value)` of the entry found to
    /// `visit` without copying the value out of its block.
    pub fn get_with<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        user_key: &[u8],
        snapshot: u64,
        visit: F,
    ) -> Result<Probe<R, F>> {
        let lookup = LookupKey::new(user_key, snapshot);
        self.probe(user_key, lookup.as_bytes(), bloom_hash(user_key), visit)
    }

    /// The point read itself, for callers that probe many tables with one
    /// key: `lookup` is `lookup_key(user_key, snapshot)` and `hash` is
    /// `bloom_hash(user_key)`, computed once per read. Filter → decoded
    /// index → one data block (from the cache or the file) → block seek.
    pub fn probe<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        user_key: &[u8],
        lookup: &[u8],
        hash: u32,
        visit: F,
    ) -> Result<Probe<R, F>> {
        if let Some(f) = self.filter() {
            if !may_contain_hash(f, hash) {
                return Ok(Probe::Missing(visit));
            }
        }
        let point = &self.inner.point;
        let mut i = point.find(lookup);
        let Some(handle) = point.handle(i) else {
            return Ok(Probe::Missing(visit));
        };
        // The block the read lands in: from the cache; else read whole into
        // it when the cache admits it; else scanned without caching.
        let mut visit = visit;
        let key = (self.inner.id, handle.offset);
        let mut first = self.inner.cache.as_ref().and_then(|c| c.get(key));
        if first.is_none() {
            match &self.inner.cache {
                // The stored size stands in for the decoded one, which is not
                // known before the read (Snappy rarely shrinks data blocks
                // below half).
                Some(cache) if cache.admit_miss(key, (handle.size as usize).saturating_mul(2)) => {
                    let block = self.load_block(handle).map_err(|e| self.annotate(e))?;
                    cache.insert_admitted(key, block.clone());
                    first = Some(block);
                }
                _ => match self.scan_point(handle, user_key, lookup, visit)? {
                    Ok(probe) => return Ok(probe),
                    Err(v) => visit = v,
                },
            }
        }
        // The block iterator decodes keys into this thread's buffer, handed
        // back when the probe ends (on every path but an error's), so a probe
        // allocates nothing for them.
        let mut key_buf = KEY_BUF.take();
        let it = loop {
            let block = match first.take() {
                Some(block) => block,
                None => {
                    let Some(handle) = point.handle(i) else {
                        KEY_BUF.set(key_buf);
                        return Ok(Probe::Missing(visit));
                    };
                    self.read_block_at(handle).map_err(|e| self.annotate(e))?
                }
            };
            let mut it = block.iter_reusing(compare_internal, key_buf);
            it.seek(lookup).map_err(|e| self.annotate(e))?;
            if it.valid() {
                break it;
            }
            key_buf = it.into_key_buf();
            // A separator may lie above its block's last key, so the first
            // entry ≥ `lookup` can open the next block.
            i += 1;
        };
        let parsed =
            parse_internal_key(it.key()).map_err(|e| self.annotate(e.context("data block key")))?;
        let probe = if parsed.user_key != user_key {
            Probe::Missing(visit)
        } else {
            Probe::Found(visit(parsed.seq, parsed.kind, it.value()))
        };
        KEY_BUF.set(it.into_key_buf());
        Ok(probe)
    }
}

impl Table {
    /// The point read of a data block the cache does not hold and will not
    /// keep (or of any block, without a cache): the block is verified whole,
    /// as always, but decoded only as far as its first entry ≥ `lookup`, about
    /// half of it on average, into this thread's scratch memory; nothing is
    /// allocated. Entries are scanned from the first, without the restart
    /// array at the block's end (FORMAT.md §4.2 bounds where each may end).
    ///
    /// A failed checksum is an error, as on the whole-block path. `Err(visit)`
    /// hands the visitor back when the block must be read whole instead: one
    /// over [`SCAN_MAX_BYTES`], or one the scan finds anything unexpected in
    /// (the whole-block path then reports the damage precisely).
    fn scan_point<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        handle: BlockHandle,
        user_key: &[u8],
        lookup: &[u8],
        visit: F,
    ) -> Result<std::result::Result<Probe<R, F>, F>> {
        if handle.size > SCAN_MAX_BYTES as u64 {
            return Ok(Err(visit));
        }
        let mut scratch = SCAN_SCRATCH.take();
        let r = self.scan_point_in(&mut scratch, handle, user_key, lookup, visit);
        SCAN_SCRATCH.set(scratch);
        r
    }

    fn scan_point_in<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        s: &mut ScanScratch,
        handle: BlockHandle,
        user_key: &[u8],
        lookup: &[u8],
        visit: F,
    ) -> Result<std::result::Result<Probe<R, F>, F>> {
        let (stored, ty) = self
            .inner
            .source
            .stored_block(handle, &mut s.stored)
            .map_err(|e| self.annotate(e))?;
        match ty {
            COMPRESSION_NONE => Ok(scan_entries(
                &mut Plain(stored),
                &mut s.key,
                user_key,
                lookup,
                visit,
            )),
            COMPRESSION_SNAPPY => {
                let n = match snappy::decompressed_len(stored) {
                    Ok(n) if n <= SCAN_MAX_BYTES => n,
                    _ => return Ok(Err(visit)),
                };
                if s.out.len() < n {
                    s.out.resize(n, 0);
                }
                match PartialDecode::new(stored, &mut s.out) {
                    Ok(mut dec) => Ok(scan_entries(&mut dec, &mut s.key, user_key, lookup, visit)),
                    Err(_) => Ok(Err(visit)),
                }
            }
            _ => Ok(Err(visit)),
        }
    }
}

/// Largest block (stored or decoded) [`Table::scan_point`] reads into its
/// scratch memory, which it keeps; larger ones are read whole.
const SCAN_MAX_BYTES: usize = 256 << 10;

/// [`Table::scan_point`]'s reused memory: the stored block (file-backed
/// tables read without a mapping), its decoded bytes, the current key.
#[derive(Default)]
struct ScanScratch {
    stored: Vec<u8>,
    out: Vec<u8>,
    key: Vec<u8>,
}

thread_local! {
    /// Key memory for [`Table::probe`]'s block iterators (see there).
    static KEY_BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    /// Memory for [`Table::scan_point`].
    static SCAN_SCRATCH: std::cell::Cell<ScanScratch> = const {
        std::cell::Cell::new(ScanScratch { stored: Vec::new(), out: Vec::new(), key: Vec::new() })
    };
}

/// A data block's contents as a scan sees them: decoded up to some point.
trait Decoded {
    /// The block's whole length.
    fn len(&self) -> usize;
    /// Makes at least `upto` bytes available (fewer only when the block
    /// ends first); `None` when its compressed form is malformed.
    fn fill(&mut self, upto: usize) -> Option<usize>;
    /// The bytes available.
    fn bytes(&self) -> &[u8];
}

/// A block stored uncompressed: all of it is available.
struct Plain<'a>(&'a [u8]);

impl Decoded for Plain<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn fill(&mut self, _upto: usize) -> Option<usize> {
        Some(self.0.len())
    }
    fn bytes(&self) -> &[u8] {
        self.0
    }
}

impl Decoded for PartialDecode<'_> {
    fn len(&self) -> usize {
        PartialDecode::len(self)
    }
    fn fill(&mut self, upto: usize) -> Option<usize> {
        PartialDecode::fill(self, upto).ok()
    }
    fn bytes(&self) -> &[u8] {
        self.decoded()
    }
}

/// Restart interval of data blocks (FORMAT.md §4.2).
const DATA_RESTARTS_EVERY: usize = 16;

/// Scans a data block's entries from the first, making available only as
/// much as it reads, up to the first entry whose key is ≥ `lookup`, and
/// visits it when its user key is `user_key`. Entry `i` of a well-formed
/// block ends before a restart array of at least ⌈(i + 1) / 16⌉ offsets and
/// its count, and entries 0, 16, 32, … share nothing with the key before;
/// anything else, or running out of block, gives the visitor back
/// (`Err`) for a whole-block read. (An index key is its block's last key,
/// so a well-formed block always holds an entry ≥ `lookup`.)
fn scan_entries<D: Decoded, R, F: FnOnce(u64, Kind, &[u8]) -> R>(
    d: &mut D,
    key: &mut Vec<u8>,
    user_key: &[u8],
    lookup: &[u8],
    visit: F,
) -> std::result::Result<Probe<R, F>, F> {
    let n = d.len();
    key.clear();
    let mut p = 0usize;
    for i in 0usize.. {
        let Some(limit) = n.checked_sub(4 + 4 * (i / DATA_RESTARTS_EVERY + 1)) else {
            break;
        };
        if p + 3 > limit {
            break;
        }
        // The three varints take at most 15 bytes.
        let Some(have) = d.fill((p + 15).min(limit)) else {
            break;
        };
        let avail = have.min(limit);
        if avail < p {
            break;
        }
        let Some((shared, unshared, value_len, header)) = entry_header(&d.bytes()[p..avail]) else {
            break;
        };
        let key_start = p + header;
        let key_end = key_start.saturating_add(unshared);
        let end = key_end.saturating_add(value_len);
        if end > limit || shared > key.len() || (i % DATA_RESTARTS_EVERY == 0 && shared != 0) {
            break;
        }
        match d.fill(end) {
            Some(have) if have >= end => {}
            _ => break,
        }
        let bytes = d.bytes();
        key.truncate(shared);
        key.extend_from_slice(&bytes[key_start..key_end]);
        if compare_internal(key, lookup) != std::cmp::Ordering::Less {
            let Ok(parsed) = parse_internal_key(key) else {
                break;
            };
            return Ok(if parsed.user_key != user_key {
                Probe::Missing(visit)
            } else {
                Probe::Found(visit(parsed.seq, parsed.kind, &bytes[key_end..end]))
            });
        }
        p = end;
    }
    Err(visit)
}

/// An entry's `shared`, `unshared` and value lengths, and the header's size.
fn entry_header(b: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let (shared, a) = get_varint32(b).ok()?;
    let (unshared, c) = get_varint32(b.get(a..)?).ok()?;
    let (value_len, e) = get_varint32(b.get(a + c..)?).ok()?;
    Some((
        shared as usize,
        unshared as usize,
        value_len as usize,
        a + c + e,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::mcrc_parts;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::make_internal_key;
    use crate::table::builder::{build_table, Compression, TableOptions};
    use crate::table::format::{
        check_block_typed, COMPRESSION_NONE, COMPRESSION_SNAPPY, FOOTER_LEN,
    };

    fn sample() -> Vec<u8> {
        build_table(
            TableOptions {
                block_size: 512,
                ..TableOptions::default()
            },
            &sample_entries(),
        )
        .unwrap()
    }

    fn sample_plain() -> Vec<u8> {
        build_table(
            TableOptions {
                block_size: 512,
                compression: Compression::None,
                ..TableOptions::default()
            },
            &sample_entries(),
        )
        .unwrap()
    }

    fn sample_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries = Vec::new();
        for i in 0..300u64 {
            let k = format!("user{i:04}");
            // Three versions for every key: 3i+3 (put), 3i+2 (delete on odd keys), 3i+1 (put).
            entries.push((
                make_internal_key(k.as_bytes(), 3 * i + 3, Kind::Put),
                format!("new{i}").into_bytes(),
            ));
            if i % 2 == 1 {
                entries.push((
                    make_internal_key(k.as_bytes(), 3 * i + 2, Kind::Delete),
                    vec![],
                ));
            }
            entries.push((
                make_internal_key(k.as_bytes(), 3 * i + 1, Kind::Put),
                format!("old{i}").into_bytes(),
            ));
        }
        entries
    }

    #[test]
    fn get_honours_snapshots() {
        let table = Table::open(sample(), Some("000004.sst")).unwrap();
        assert!(table.properties().data_block_count > 10);
        for i in [0u64, 1, 2, 150, 299] {
            let k = format!("user{i:04}");
            let k = k.as_bytes();
            assert_eq!(
                table.get(k, 3 * i).unwrap(),
                None,
                "before the first version"
            );
            assert_eq!(
                table.get(k, 3 * i + 1).unwrap(),
                Some(Lookup::Put {
                    seq: 3 * i + 1,
                    value: format!("old{i}").into_bytes()
                })
            );
            let mid = table.get(k, 3 * i + 2).unwrap();
            if i % 2 == 1 {
                assert_eq!(mid, Some(Lookup::Delete { seq: 3 * i + 2 }));
            } else {
                assert_eq!(
                    mid,
                    Some(Lookup::Put {
                        seq: 3 * i + 1,
                        value: format!("old{i}").into_bytes()
                    })
                );
            }
            let latest = Some(Lookup::Put {
                seq: 3 * i + 3,
                value: format!("new{i}").into_bytes(),
            });
            assert_eq!(table.get(k, u64::MAX).unwrap(), latest);
        }
        assert_eq!(table.get(b"user0000x", u64::MAX).unwrap(), None);
        assert_eq!(table.get(b"zzz", u64::MAX).unwrap(), None);
        assert_eq!(table.get(b"", u64::MAX).unwrap(), None);
    }

    #[test]
    fn filter_rejects_most_absent_keys() {
        let table = Table::open(sample(), None).unwrap();
        assert!(table.filter().is_some());
        let misses = (0..1000)
            .filter(|i| !table.may_contain(format!("absent{i}").as_bytes()))
            .count();
        assert!(misses > 950, "{misses}");
        assert!((0..300).all(|i| table.may_contain(format!("user{i:04}").as_bytes())));
    }

    #[test]
    fn open_reports_damage_with_the_file_name() {
        let good = sample();
        assert!(Table::open(good[..FOOTER_LEN - 1].to_vec(), Some("x.sst")).is_err());
        let footer = Footer::decode(&good).unwrap();
        for (name, h) in [
            ("properties", footer.properties),
            ("index", footer.index),
            ("filter", footer.filter),
        ] {
            let mut bad = good.clone();
            bad[h.offset as usize] ^= 0x55;
            let e = Table::open(bad, Some("000004.sst")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with("CORRUPTION: 000004.sst: ") && msg.contains(name),
                "{msg}"
            );
        }
    }

    #[test]
    fn damaged_data_block_is_reported_on_read() {
        let mut bad = sample();
        bad[10] ^= 0x01; // inside the first data block
        let table = Table::open(bad, Some("000004.sst")).unwrap();
        let e = table.get(b"user0000", u64::MAX).unwrap_err();
        assert!(e.to_string().starts_with("CORRUPTION: 000004.sst: "), "{e}");
        // Other blocks stay readable.
        assert!(table.get(b"user0299", u64::MAX).unwrap().is_some());
    }

    /// The first data block's handle and type.
    fn first_data_block(table: &[u8]) -> (crate::table::format::BlockHandle, u8) {
        let t = Table::open(table.to_vec(), None).unwrap();
        let h = t.point_index().handle(0).unwrap();
        let (_, ty) = check_block_typed(table, h).unwrap();
        (h, ty)
    }

    #[test]
    fn compressed_and_plain_tables_read_alike() {
        let plain = build_table(
            TableOptions {
                block_size: 512,
                compression: Compression::None,
                ..TableOptions::default()
            },
            &sample_entries(),
        )
        .unwrap();
        let packed = sample();
        assert!(
            packed.len() < plain.len(),
            "{} vs {}",
            packed.len(),
            plain.len()
        );
        assert_eq!(first_data_block(&packed).1, COMPRESSION_SNAPPY);
        assert_eq!(first_data_block(&plain).1, COMPRESSION_NONE);
        let (a, b) = (
            Table::open(plain, None).unwrap(),
            Table::open(packed, None).unwrap(),
        );
        let (mut x, mut y) = (a.iter(), b.iter());
        x.seek_to_first().unwrap();
        y.seek_to_first().unwrap();
        assert_eq!(
            collect_forward(&mut x).unwrap(),
            collect_forward(&mut y).unwrap()
        );
        x.seek_to_last().unwrap();
        y.seek_to_last().unwrap();
        assert_eq!(
            collect_backward(&mut x).unwrap(),
            collect_backward(&mut y).unwrap()
        );
        for i in 0..300u64 {
            let k = format!("user{i:04}");
            for snap in [3 * i + 1, 3 * i + 2, u64::MAX] {
                assert_eq!(
                    a.get(k.as_bytes(), snap).unwrap(),
                    b.get(k.as_bytes(), snap).unwrap()
                );
            }
        }
        // Blocks are handed out decompressed: same entry area as the plain table.
        let (hp, _) = first_data_block(&sample_plain());
        let (hc, _) = first_data_block(&sample());
        assert!(hc.size < hp.size);
        let (ba, bb) = (a.read_block_at(hp).unwrap(), b.read_block_at(hc).unwrap());
        assert_eq!(ba.contents(), bb.contents());
        assert_eq!(bb.size() as u64, hp.size);
    }

    /// Point reads that miss the cache scan a block from its first entry
    /// (`Table::scan_point`); blocks whose restart points are not every 16
    /// entries make the scan give up part-way, for a whole-block read. Every
    /// answer, at every snapshot and for absent keys, must match a model of
    /// the entries, whatever the restart interval and compression.
    #[test]
    fn point_reads_agree_with_the_entries_for_any_restart_interval() {
        let entries = sample_entries();
        let model = |k: &[u8], snap: u64| -> Option<Lookup> {
            entries.iter().find_map(|(ik, v)| {
                let p = parse_internal_key(ik).unwrap();
                (p.user_key == k && p.seq <= snap).then(|| match p.kind {
                    Kind::Put => Lookup::Put {
                        seq: p.seq,
                        value: v.clone(),
                    },
                    Kind::Delete => Lookup::Delete { seq: p.seq },
                })
            })
        };
        for restart_interval in [1, 3, 8, 16, 17, 32] {
            for compression in [Compression::None, Compression::Snappy] {
                let bytes = build_table(
                    TableOptions {
                        block_size: 300,
                        restart_interval,
                        compression,
                        ..TableOptions::default()
                    },
                    &entries,
                )
                .unwrap();
                let table = Table::open(bytes, None).unwrap();
                for i in 0..300u64 {
                    let k = format!("user{i:04}");
                    let between = format!("user{i:04}x");
                    for snap in [3 * i, 3 * i + 1, 3 * i + 2, 3 * i + 3, u64::MAX] {
                        assert_eq!(
                            table.get(k.as_bytes(), snap).unwrap(),
                            model(k.as_bytes(), snap),
                            "{k} at {snap}, restart interval {restart_interval}"
                        );
                        assert_eq!(table.get(between.as_bytes(), snap).unwrap(), None);
                    }
                }
                assert_eq!(table.get(b"user", u64::MAX).unwrap(), None);
                assert_eq!(table.get(b"user9999", u64::MAX).unwrap(), None);
            }
        }
    }

    #[test]
    fn a_compressed_block_is_checked_by_crc_first_then_decoded_strictly() {
        let good = sample();
        let (h, ty) = first_data_block(&good);
        assert_eq!(ty, COMPRESSION_SNAPPY);
        let (start, end) = (h.offset as usize, (h.offset + h.size) as usize);
        // A flipped bit in the compressed bytes: the checksum catches it before
        // the decompressor sees anything.
        let mut bad = good.clone();
        bad[start + 3] ^= 0x04;
        let e = Table::open(bad, Some("000009.sst"))
            .unwrap()
            .get(b"user0000", u64::MAX)
            .unwrap_err();
        assert!(e.to_string().starts_with("CORRUPTION: 000009.sst: "), "{e}");
        assert!(e.to_string().contains("checksum"), "{e}");
        // Garbage under a valid checksum: the decompressor reports it.
        let reseal = |m: &mut Vec<u8>| {
            let crc = mcrc_parts(&[&m[start..end], &[m[end]]]);
            m[end + 1..end + 5].copy_from_slice(&crc.to_le_bytes());
        };
        let mut cases: Vec<Vec<u8>> = Vec::new();
        // Declared length one too large / one too small.
        let mut longer = good.clone();
        longer[start] += 1;
        cases.push(longer);
        let mut shorter = good.clone();
        shorter[start] -= 1;
        cases.push(shorter);
        // Elements replaced by copy-4 tags reaching before the output's start.
        let mut junk = good.clone();
        junk[start + 2..end].fill(0xff);
        cases.push(junk);
        for (i, mut m) in cases.into_iter().enumerate() {
            reseal(&mut m);
            let t = Table::open(m, Some("000009.sst")).unwrap();
            let check = |e: crate::Error| {
                let msg = e.to_string();
                assert!(msg.starts_with("CORRUPTION: 000009.sst: "), "{msg}");
                assert!(
                    msg.contains("compressed block at 0") && msg.contains("snappy"),
                    "{msg}"
                );
            };
            // Reading the block whole reports it.
            let mut it = t.iter();
            check(it.seek_to_first().unwrap_err());
            // A point read decodes only up to its entry: one that lies before
            // a wrong declared length is answered (the stored bytes passed
            // their checksum); damage it reaches is reported.
            match t.get(b"user0000", u64::MAX) {
                Ok(found) => {
                    assert!(i < 2, "case {i} answered {found:?}");
                    assert_eq!(
                        found,
                        Some(Lookup::Put {
                            seq: 3,
                            value: b"new0".to_vec()
                        })
                    );
                }
                Err(e) => check(e),
            }
        }
        // An unknown type under a valid checksum.
        let mut typed = good.clone();
        typed[end] = 2;
        reseal(&mut typed);
        let t = Table::open(typed, Some("000009.sst")).unwrap();
        let e = t.get(b"user0000", u64::MAX).unwrap_err().to_string();
        assert!(
            e.starts_with("CORRUPTION: 000009.sst: ") && e.contains("unknown compression type 2"),
            "{e}"
        );
        // A plain block relabelled as compressed is not valid Snappy data.
        let plain = sample_plain();
        let (h, _) = first_data_block(&plain);
        let (pstart, pend) = (h.offset as usize, (h.offset + h.size) as usize);
        let mut relabelled = plain.clone();
        relabelled[pend] = COMPRESSION_SNAPPY;
        let crc = mcrc_parts(&[&relabelled[pstart..pend], &[COMPRESSION_SNAPPY]]);
        relabelled[pend + 1..pend + 5].copy_from_slice(&crc.to_le_bytes());
        let t = Table::open(relabelled, Some("000009.sst")).unwrap();
        assert!(t.get(b"user0000", u64::MAX).unwrap_err().is_corruption());
    }

    #[test]
    fn every_single_byte_flip_is_detected_or_harmless() {
        let good = sample();
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            let Ok(table) = Table::open(bad, None) else {
                continue;
            };
            // Opening succeeded: the flip hit a data block, which must fail its crc.
            let mut it = table.iter();
            let walk = it.seek_to_first().and_then(|()| {
                while it.valid() {
                    it.next()?;
                }
                Ok(())
            });
            assert!(
                walk.unwrap_err().is_corruption(),
                "flip at {i} went unnoticed"
            );
        }
    }
}
