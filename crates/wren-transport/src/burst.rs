//! [`BurstSize`]: how large a connection's tables grew in its last burst
//! of calls, so that the next burst grows them in one step.

/// The most entries a burst's size is remembered as.
const MAX_BURST: usize = 1024;

/// The size a connection's table or list reached in its last burst of
/// calls.
///
/// A connection gives its tables back whenever it falls quiet, so that an
/// idle one holds no memory. With calls arriving in bursts, every burst
/// then grew them again from nothing, doubling and rehashing or copying at
/// each step. With this, the table starts at its smallest size as before
/// (a lone call costs no more), and the first time it fills it grows to
/// the last burst's peak in one step.
///
/// The peak is what the table held, not its capacity (which is at least
/// the previous peak, once grown to it): so the size follows the bursts
/// down as well as up. It is at most 1,024 entries.
///
/// ```
/// use wren_transport::BurstSize;
///
/// let mut size = BurstSize::default();
/// let mut table: Vec<u32> = Vec::new();
/// for id in 0..100 {
///     table.reserve(size.additional(table.len(), table.capacity()));
///     table.push(id);
///     size.note(table.len());
/// }
/// size.end(); // quiet: `table` is given back
/// table = Vec::new();
///
/// table.push(0); // a lone entry: the smallest allocation, as ever
/// assert!(table.capacity() < 100);
/// while table.len() < table.capacity() {
///     table.push(0);
/// }
/// // Full: grown to the last burst's peak in one step.
/// table.reserve(size.additional(table.len(), table.capacity()));
/// assert!(table.capacity() >= 100);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BurstSize {
    /// The peak of the last burst.
    last: u32,
    /// The peak of this burst so far.
    peak: u32,
}

impl BurstSize {
    /// Notes that the table holds `len` entries now.
    pub fn note(&mut self, len: usize) {
        self.peak = self.peak.max(len.min(MAX_BURST) as u32);
    }

    /// The burst is over (the table was given back): its peak is what the
    /// next burst grows to.
    pub fn end(&mut self) {
        self.last = std::mem::take(&mut self.peak);
    }

    /// How many entries to reserve before adding one to a table of `len`
    /// entries and room for `capacity`: enough to hold the last burst's
    /// peak when the table is full (and not empty) and the peak is larger;
    /// otherwise none, and the table grows as it would anyway.
    pub fn additional(&self, len: usize, capacity: usize) -> usize {
        let last = self.last as usize;
        if len == 0 || len < capacity || last <= len {
            return 0;
        }
        last - len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_follows_the_bursts_down_as_well_as_up() {
        let mut size = BurstSize::default();
        let burst = |size: &mut BurstSize, calls: usize| {
            let mut table: Vec<u32> = Vec::new();
            let mut grown = 0;
            for id in 0..calls as u32 {
                let extra = size.additional(table.len(), table.capacity());
                if extra > 0 {
                    grown = grown.max(table.len() + extra);
                }
                table.reserve(extra);
                table.push(id);
                size.note(table.len());
            }
            size.end();
            grown
        };
        assert_eq!(burst(&mut size, 1_000), 0, "nothing remembered yet");
        // After a burst of 1,000, a small burst grows to 1,000 once...
        assert_eq!(burst(&mut size, 5), 1_000);
        // ...and the one after it only to what that burst needed.
        assert_eq!(burst(&mut size, 5), 5);
        // Capped.
        burst(&mut size, 5_000);
        assert_eq!(size.last as usize, MAX_BURST);
    }

    #[test]
    fn a_lone_entry_or_a_table_with_room_reserves_nothing() {
        let size = BurstSize { last: 500, peak: 0 };
        assert_eq!(size.additional(0, 0), 0);
        assert_eq!(size.additional(3, 4), 0);
        assert_eq!(size.additional(4, 4), 496);
        assert_eq!(
            size.additional(600, 600),
            0,
            "past the peak: grows as usual"
        );
    }
}
