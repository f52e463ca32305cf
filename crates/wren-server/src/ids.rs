//! [`StreamIds`]: which stream ids a client may open next.
//!
//! Go's server requires every new stream id to be odd and greater than the
//! last (`StreamID cannot be re-used and must increment`). Clients that
//! take ids in one task and write frames from another (the ttrpc-rust async
//! client does) sometimes put a lower id on the wire after a higher one. By
//! default a wren server also accepts such an id, as long as it was skipped
//! over recently and never used: it remembers the gaps below the highest id
//! seen, within a bounded window.

use std::collections::VecDeque;

/// How far below the highest id seen a skipped id may still be opened.
pub(crate) const ID_WINDOW: u32 = 1 << 16;
/// The most separate gaps remembered; the oldest are forgotten first.
const MAX_GAPS: usize = 64;

/// Why a stream id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdError {
    /// Even ids belong to the server.
    Even,
    /// Used before, or too old to tell.
    Reused,
}

impl IdError {
    /// Go's words for it.
    pub(crate) fn message(self) -> &'static str {
        match self {
            IdError::Even => "StreamID must be odd for client initiated streams",
            IdError::Reused => "StreamID cannot be re-used and must increment",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct StreamIds {
    strict: bool,
    /// The highest id opened so far; 0 before the first.
    last: u32,
    /// Odd ids skipped over, as inclusive ranges, oldest first. Empty (and
    /// unallocated) while ids arrive in order.
    gaps: VecDeque<(u32, u32)>,
}

impl StreamIds {
    pub(crate) fn new(strict: bool) -> StreamIds {
        StreamIds {
            strict,
            ..StreamIds::default()
        }
    }

    /// Opens `id`: `Ok` if the client may use it now, and it may never be
    /// opened again.
    pub(crate) fn open(&mut self, id: u32) -> Result<(), IdError> {
        if id % 2 == 0 {
            return Err(IdError::Even);
        }
        if id > self.last {
            let next = if self.last == 0 { 1 } else { self.last + 2 };
            if !self.strict && id > next {
                // Remember what was skipped, no further back than the window.
                let low = next.max(id.saturating_sub(ID_WINDOW) | 1);
                self.gaps.push_back((low, id - 2));
                if self.gaps.len() > MAX_GAPS {
                    self.gaps.pop_front();
                }
            }
            self.last = id;
            self.forget_old();
            return Ok(());
        }
        if self.strict {
            return Err(IdError::Reused);
        }
        let Some(i) = self.gaps.iter().position(|&(lo, hi)| lo <= id && id <= hi) else {
            return Err(IdError::Reused);
        };
        let (lo, hi) = self.gaps[i];
        match (id == lo, id == hi) {
            (true, true) => {
                self.gaps.remove(i);
            }
            (true, false) => self.gaps[i].0 = id + 2,
            (false, true) => self.gaps[i].1 = id - 2,
            (false, false) => {
                self.gaps[i].1 = id - 2;
                self.gaps.insert(i + 1, (id + 2, hi));
                if self.gaps.len() > MAX_GAPS {
                    self.gaps.pop_front();
                }
            }
        }
        if self.gaps.is_empty() {
            self.gaps = VecDeque::new();
        }
        Ok(())
    }

    /// Drops gaps that fell out of the window below the highest id.
    fn forget_old(&mut self) {
        let floor = self.last.saturating_sub(ID_WINDOW);
        while let Some(&(lo, hi)) = self.gaps.front() {
            if hi < floor {
                self.gaps.pop_front();
            } else {
                if lo < floor {
                    self.gaps[0].0 = floor | 1;
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_ids_keep_no_gaps() {
        let mut ids = StreamIds::new(false);
        for id in (1..2000).step_by(2) {
            ids.open(id).unwrap();
        }
        assert!(ids.gaps.is_empty());
        assert_eq!(ids.open(1999), Err(IdError::Reused));
        assert_eq!(ids.open(4), Err(IdError::Even));
    }

    #[test]
    fn a_skipped_id_may_arrive_late_once() {
        let mut ids = StreamIds::new(false);
        for id in [1, 3, 7, 5, 9, 15, 11, 13] {
            ids.open(id).unwrap_or_else(|e| panic!("{id}: {e:?}"));
        }
        assert!(ids.gaps.is_empty(), "{:?}", ids.gaps);
        for id in [1, 5, 7, 11, 13, 15] {
            assert_eq!(ids.open(id), Err(IdError::Reused), "{id}");
        }
    }

    #[test]
    fn a_gap_split_in_the_middle_keeps_both_sides() {
        let mut ids = StreamIds::new(false);
        ids.open(1).unwrap();
        ids.open(21).unwrap(); // skips 3..=19
        ids.open(11).unwrap();
        assert_eq!(ids.open(11), Err(IdError::Reused));
        for id in [3, 9, 13, 19] {
            ids.open(id).unwrap();
        }
        assert_eq!(ids.gaps, [(5, 7), (15, 17)]);
    }

    #[test]
    fn strict_ids_refuse_any_lower_id() {
        let mut ids = StreamIds::new(true);
        ids.open(1).unwrap();
        ids.open(7).unwrap();
        assert_eq!(ids.open(5), Err(IdError::Reused));
        assert_eq!(ids.open(7), Err(IdError::Reused));
        ids.open(9).unwrap();
    }

    #[test]
    fn gaps_are_bounded_by_the_window_and_their_count() {
        let mut ids = StreamIds::new(false);
        ids.open(1).unwrap();
        // A jump to near the top of the id space remembers only the window.
        ids.open(u32::MAX).unwrap();
        assert_eq!(ids.gaps.len(), 1);
        let (lo, hi) = ids.gaps[0];
        assert_eq!(hi, u32::MAX - 2);
        assert!(u32::MAX - lo <= ID_WINDOW + 1, "{lo}");
        assert_eq!(ids.open(3), Err(IdError::Reused));
        ids.open(u32::MAX - 2).unwrap();
        // Nothing is above u32::MAX: the next new id cannot exist.
        assert_eq!(ids.open(u32::MAX), Err(IdError::Reused));

        // Many small gaps: only the newest MAX_GAPS are remembered.
        let mut ids = StreamIds::new(false);
        for k in 0..(MAX_GAPS as u32 + 10) {
            ids.open(1 + 4 * k).unwrap(); // skips 3 + 4k each time
        }
        assert_eq!(ids.gaps.len(), MAX_GAPS);
        assert_eq!(
            ids.open(3),
            Err(IdError::Reused),
            "the oldest gap is forgotten"
        );
        ids.open(1 + 4 * (MAX_GAPS as u32 + 8) + 2).unwrap();
    }
}
