//! The scan log: what every scan of IIS files read, and every line it rejected, shared between
//! the scans of a session and whoever reports on them (the CLI's summary, an embedding tool).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use iis_log::{Reject, RejectReason, ScanStats};

/// Most rejects kept in memory; beyond this only their count grows.
pub const MAX_KEPT_REJECTS: usize = 100_000;

/// Shared, thread-safe record of scans. One lives in each iisql session's config (see
/// [`crate::session`]); read it after a query with [`ScanLog::snapshot`]. A query may scan the
/// same file several times (a view used twice, a subquery): each file and each rejected line
/// counts once, so `max_errors` and the summary speak of lines, not of scans.
#[derive(Debug, Default)]
pub struct ScanLog {
    inner: Mutex<Inner>,
    bytes: AtomicU64,
    observer: Option<Observer>,
    /// Per input scanned since the log was made (not cleared by [`ScanLog::reset`]): whether
    /// every scan of it read to its end (a `LIMIT` stops one early).
    ends: Mutex<HashMap<Arc<str>, bool>>,
}

/// Called with each reject a [`ScanLog`] records, once per line and reason, as it is recorded:
/// where nobody reads the log afterwards (a Ballista executor), it writes them to its own log.
pub type RejectObserver = Arc<dyn Fn(&Reject) + Send + Sync>;

struct Observer(RejectObserver);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RejectObserver")
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Per file and byte-range start, the counts of its most complete scan.
    files: HashMap<(Arc<str>, u64), ScanStats>,
    /// Per file and byte-range start, the last place reported (line, byte offset) and the
    /// reasons reported there. A scan reports its lines in order, so a reject before that place
    /// was reported by an earlier scan of the same range: memory grows with the ranges, not
    /// with the rejects.
    /// Value rejects are tracked per column (the third part of the key), line rejects under
    /// "": two scans that read different columns of one range each report their own values.
    reported: HashMap<(Arc<str>, u64, String), Reported>,
    /// Distinct unreadable values reported (each column and line once).
    invalid_values: u64,
    rejects: Vec<Reject>,
    rejects_not_kept: u64,
    rejected_lines: u64,
}

/// The last place (line, byte offset) reported for a file and range, and the reasons reported
/// there.
type Reported = ((u64, u64), Vec<RejectReason>);

/// A copy of the scan log at one moment.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Line accounting summed over the files read to the end (or as far as the query needed).
    pub stats: ScanStats,
    /// Files scanned.
    pub files: u64,
    /// The rejects kept (at most [`MAX_KEPT_REJECTS`]), in the order they were found.
    pub rejects: Vec<Reject>,
    /// Rejects counted but not kept.
    pub rejects_not_kept: u64,
}

impl ScanReport {
    /// Lines rejected (not rows).
    pub fn rejected_lines(&self) -> u64 {
        self.stats.rejected
    }

    /// A one-line summary, e.g. `2,861,208 rows from 24 files; 3 lines rejected`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} rows from {} file{}",
            thousands(self.stats.rows),
            thousands(self.files),
            if self.files == 1 { "" } else { "s" }
        );
        if self.stats.rejected > 0 {
            s.push_str(&format!(
                "; {} line{} rejected",
                thousands(self.stats.rejected),
                if self.stats.rejected == 1 { "" } else { "s" }
            ));
        }
        if self.stats.invalid_values > 0 {
            s.push_str(&format!(
                "; {} unreadable value{} read as NULL",
                thousands(self.stats.invalid_values),
                if self.stats.invalid_values == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        if self.rejects_not_kept > 0 {
            s.push_str(&format!(
                "; only the first {} reports kept ({} more not listed)",
                thousands(MAX_KEPT_REJECTS as u64),
                thousands(self.rejects_not_kept)
            ));
        }
        if self.stats.lossy_lines > 0 {
            s.push_str(&format!(
                "; {} line{} with invalid UTF-8",
                thousands(self.stats.lossy_lines),
                if self.stats.lossy_lines == 1 { "" } else { "s" }
            ));
        }
        s
    }
}

/// Formats an integer with `,` between thousands.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl ScanLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same log, calling `observer` with each reject it records.
    pub fn with_observer(mut self, observer: RejectObserver) -> Self {
        self.observer = Some(Observer(observer));
        self
    }

    /// Records the rejects a scan of `file` from byte `start` found, in the order of its lines
    /// (a line already recorded by another scan of the same range is not counted again);
    /// returns the distinct lines rejected so far in this log.
    pub fn add_rejects(&self, start: u64, mut rejects: Vec<Reject>) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Value rejects come column by column: put them in line order.
        rejects.sort_by_key(|r| (r.line, r.byte_offset));
        let g = &mut *g;
        for r in rejects {
            let at = (r.line, r.byte_offset);
            let column = match &r.reason {
                RejectReason::InvalidValue { field } => field.clone(),
                _ => String::new(),
            };
            let (last, reasons) = g
                .reported
                .entry((Arc::clone(&r.file), start, column))
                .or_insert(((0, 0), Vec::new()));
            if at > *last {
                *last = at;
                reasons.clear();
            } else if at < *last || reasons.contains(&r.reason) {
                continue;
            }
            reasons.push(r.reason.clone());
            if !r.reason.row_kept() {
                g.rejected_lines += 1;
            }
            if matches!(r.reason, RejectReason::InvalidValue { .. }) {
                g.invalid_values += 1;
            }
            if let Some(Observer(observe)) = &self.observer {
                observe(&r);
            }
            if g.rejects.len() < MAX_KEPT_REJECTS {
                g.rejects.push(r);
            } else {
                g.rejects_not_kept += 1;
            }
        }
        g.rejected_lines
    }

    /// Counts bytes as they are read (for progress).
    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Records a finished (or abandoned) scan of `file` from byte `start` (0 for a whole file);
    /// the most complete scan of each file and range is kept.
    pub fn finish_file(&self, file: &Arc<str>, start: u64, stats: &ScanStats) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = g.files.entry((Arc::clone(file), start)).or_default();
        if stats.lines >= e.lines {
            *e = *stats;
        }
    }

    /// Records that a scan of `file` ended, having read to its end or not.
    pub fn end_file(&self, file: &Arc<str>, read_to_end: bool) {
        let mut ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.entry(Arc::clone(file))
            .and_modify(|all| *all &= read_to_end)
            .or_insert(read_to_end);
    }

    /// Every input scanned since the log was made, and whether all its scans read to the end.
    pub fn read_to_end(&self) -> Vec<(String, bool)> {
        let ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.iter().map(|(f, all)| (f.to_string(), *all)).collect()
    }

    /// The first kept reject that dropped a row, as `file:line: reason`.
    pub fn first_reject(&self) -> Option<String> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.rejects
            .iter()
            .find(|r| !r.reason.row_kept())
            .map(ToString::to_string)
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> ScanReport {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut stats = ScanStats::default();
        for s in g.files.values() {
            stats.add(s);
        }
        // Each scan counts the values of the columns it reads: the distinct ones reported are
        // the count, whatever scans read them.
        stats.invalid_values = g.invalid_values;
        let files: HashSet<&Arc<str>> = g.files.keys().map(|(f, _)| f).collect();
        ScanReport {
            stats,
            files: files.len() as u64,
            rejects: g.rejects.clone(),
            rejects_not_kept: g.rejects_not_kept,
        }
    }

    /// Starts reading the inputs over, for a writer that gave up part way and reads them all
    /// again: forgets where the scans ended and the bytes read. Rejects and file statistics
    /// stay; the second reading does not count them again.
    pub fn rescan(&self) {
        self.ends.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// Forgets everything (the CLI resets before each statement).
    pub fn reset(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *g = Inner::default();
        self.bytes.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_files_count_once_however_often_scanned() {
        let log = ScanLog::new();
        let file: Arc<str> = Arc::from("/x.log");
        let reject = |line| Reject {
            file: Arc::clone(&file),
            line,
            byte_offset: 0,
            reason: RejectReason::FieldCount {
                expected: 3,
                found: 2,
            },
            text: String::new(),
        };
        for _ in 0..3 {
            assert_eq!(log.add_rejects(0, vec![reject(9), reject(4)]), 2);
            log.finish_file(
                &file,
                0,
                &ScanStats {
                    lines: 10,
                    rows: 8,
                    rejected: 2,
                    ..Default::default()
                },
            );
        }
        let r = log.snapshot();
        assert_eq!(
            (r.files, r.stats.rows, r.stats.rejected, r.rejects.len()),
            (1, 8, 2, 2)
        );
    }

    #[test]
    fn the_observer_sees_each_reject_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let log = ScanLog::new().with_observer(Arc::new(move |r: &Reject| {
            sink.lock().unwrap().push(r.line);
        }));
        let file: Arc<str> = Arc::from("/x.log");
        let reject = |line| Reject {
            file: Arc::clone(&file),
            line,
            byte_offset: line * 10,
            reason: RejectReason::FieldCount {
                expected: 3,
                found: 2,
            },
            text: String::new(),
        };
        log.add_rejects(0, vec![reject(7), reject(3)]);
        // A second scan of the same range reports the same lines: not seen again.
        log.add_rejects(0, vec![reject(3), reject(7)]);
        assert_eq!(*seen.lock().unwrap(), vec![3, 7]);
    }

    #[test]
    fn interleaved_ranges_and_repeated_scans_count_each_line_once() {
        let log = ScanLog::new();
        let file: Arc<str> = Arc::from("/big.log");
        let reject = |line, reason: RejectReason| Reject {
            file: Arc::clone(&file),
            line,
            byte_offset: 0,
            reason,
            text: String::new(),
        };
        let count = || RejectReason::FieldCount {
            expected: 3,
            found: 2,
        };
        let value = |f: &str| RejectReason::InvalidValue { field: f.into() };
        // Two scans of each of two ranges, batches interleaved; the second range's lines are
        // higher, and its batches arrive first.
        for _ in 0..2 {
            log.add_rejects(5000, vec![reject(5001, count()), reject(5003, count())]);
            log.add_rejects(0, vec![reject(7, value("sc-status")), reject(3, count())]);
            log.add_rejects(0, vec![reject(7, value("time-taken")), reject(9, count())]);
            log.add_rejects(5000, vec![reject(5003, count()), reject(6000, count())]);
        }
        let r = log.snapshot();
        let lines: Vec<_> = r
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.code()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (5001, "field_count"),
                (5003, "field_count"),
                (3, "field_count"),
                (7, "invalid_value"),
                (7, "invalid_value"),
                (9, "field_count"),
                (6000, "field_count"),
            ]
        );
        assert_eq!(log.add_rejects(0, vec![]), 5);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2_861_208), "2,861,208");
    }
}
