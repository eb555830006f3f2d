//! Merge iteration: combining sorted sources, and turning the combined stream
//! of internal keys into what a user sees at a snapshot.
//!
//! A read view stacks them: `UserIter::new(MergingIter::new(sources), seq)`,
//! with sources newest first (memtable, immutable memtables, L0 tables newest
//! first, then one iterator per deeper level).

mod merging;
mod user_view;

pub use merging::MergingIter;
pub use user_view::UserIter;
