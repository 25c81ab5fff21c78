//! Which requests a success follows, computed from the facts without a window: the rows of a
//! slice of time are read once (device, server, time, outcome, `fact_id`), the devices and
//! servers interned to numbers, sorted by device, server and time, and swept backwards. The
//! same answer as [`FOLLOWED_BY_SUCCESS`](crate::activesync::FOLLOWED_BY_SUCCESS)'s window,
//! without sorting strings.
//!
//! What it holds is charged to the session's memory pool (32 bytes a request, plus each
//! distinct device and server once); when the pool refuses, [`answered_in_slice`] returns
//! `None` and the caller runs the window, which spills.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::facts::FACTS_TABLE;

/// How long after a request a success still answers it, in milliseconds (the window's
/// `INTERVAL '60' SECOND FOLLOWING`, both ends included).
const ANSWER_MS: i64 = 60_000;

/// One request of a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    /// Its device and server, as interned numbers (device in the high 32 bits).
    pub key: u64,
    /// Its time, in milliseconds since the epoch.
    pub ms: i64,
    /// Whether it succeeded (HTTP 2xx).
    pub success: bool,
    /// Its `fact_id`.
    pub id: i64,
}

/// The ids of the requests other than successes, of times before `until` (when given), that a
/// success of the same device and server follows at the same time or up to [`ANSWER_MS`]
/// later. Sorts `requests`.
pub(crate) fn answered(requests: &mut [Request], until: Option<i64>) -> Vec<i64> {
    // At one time, successes after the others: the backward sweep meets them first.
    requests.sort_unstable_by_key(|r| (r.key, r.ms, r.success));
    let mut out = Vec::new();
    let mut key = None;
    // The earliest success at or after the request being looked at, of its key.
    let mut next_success: Option<i64> = None;
    for r in requests.iter().rev() {
        if key != Some(r.key) {
            key = Some(r.key);
            next_success = None;
        }
        if r.success {
            next_success = Some(r.ms);
        } else if until.is_none_or(|u| r.ms < u)
            && next_success.is_some_and(|s| s - r.ms <= ANSWER_MS)
        {
            out.push(r.id);
        }
    }
    out
}

/// Interned device keys and servers, and the memory they take.
#[derive(Default)]
struct Names {
    devices: HashMap<Box<str>, u32>,
    servers: HashMap<Box<str>, u32>,
    bytes: usize,
}

impl Names {
    fn id(map: &mut HashMap<Box<str>, u32>, bytes: &mut usize, name: &str) -> u32 {
        if let Some(id) = map.get(name) {
            return *id;
        }
        let id = u32::try_from(map.len()).unwrap_or(u32::MAX);
        *bytes += name.len() + 48;
        map.insert(name.into(), id);
        id
    }

    /// The key of a device and a server (`None`: the server is NULL).
    fn key(&mut self, device: &str, server: Option<&str>) -> u64 {
        let d = Self::id(&mut self.devices, &mut self.bytes, device);
        let s = match server {
            Some(s) => Self::id(&mut self.servers, &mut self.bytes, s),
            None => u32::MAX,
        };
        (u64::from(d) << 32) | u64::from(s)
    }
}

/// The answered requests of the facts whose times pass `filter` (SQL appended to the `WHERE`,
/// such as ` AND timestamp >= ...`), keeping those before `until`; `None` when the memory pool
/// cannot hold the slice. `rows`: about how many requests the slice holds (the vector is sized
/// for them at once, not doubled as it fills: a doubling holds the old and the new vector).
pub(crate) async fn answered_in_slice(
    ctx: &SessionContext,
    filter: &str,
    until: Option<i64>,
    rows: u64,
) -> Result<Option<Vec<i64>>> {
    let sql = format!(
        "SELECT fact_id, device_key, server, timestamp,
                coalesce(sc_status BETWEEN 200 AND 299, false) AS success
         FROM {FACTS_TABLE} WHERE timestamp IS NOT NULL{filter}"
    );
    let pool = Arc::clone(&ctx.runtime_env().memory_pool);
    let mut reservation = MemoryConsumer::new("answered requests").register(&pool);
    let mut names = Names::default();
    let mut requests: Vec<Request> = Vec::new();
    // The minute after the slice comes on top of its own requests.
    let expected = usize::try_from(rows.saturating_add(rows / 32)).unwrap_or(usize::MAX);
    if requests.try_reserve_exact(expected).is_err()
        || !charge(&mut reservation, &requests, &names)?
    {
        return Ok(None);
    }
    let mut stream = ctx.sql(&sql).await?.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        add_batch(&mut requests, &mut names, batch.columns())?;
        if !charge(&mut reservation, &requests, &names)? {
            return Ok(None);
        }
    }
    Ok(Some(answered(&mut requests, until)))
}

/// Grows `reservation` to what `requests` and `names` hold; `false` when the pool refuses.
fn charge(
    reservation: &mut MemoryReservation,
    requests: &Vec<Request>,
    names: &Names,
) -> Result<bool> {
    // The vector's capacity, not its length: that is what it holds.
    let held = requests.capacity() * std::mem::size_of::<Request>() + names.bytes;
    match reservation.try_resize(held) {
        Ok(()) => Ok(true),
        Err(DataFusionError::ResourcesExhausted(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Adds the rows of one batch of `fact_id, device_key, server, timestamp, success`.
fn add_batch(requests: &mut Vec<Request>, names: &mut Names, columns: &[ArrayRef]) -> Result<()> {
    let [ids, devices, servers, times, successes] = columns else {
        return Err(internal("five columns"));
    };
    let ids = ids
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| internal("fact_id as Int64"))?;
    let devices = cast(devices, &DataType::Utf8View)?;
    let devices = devices.as_string_view();
    let servers = cast(servers, &DataType::Utf8View)?;
    let servers = servers.as_string_view();
    let ms = millis(times)?;
    let ms = ms.as_primitive::<Int64Type>();
    let successes = successes
        .as_boolean_opt()
        .ok_or_else(|| internal("success as Boolean"))?;
    // Beyond what was expected, grow by an eighth at a time: less held while the vector moves.
    let missing = ids
        .len()
        .saturating_sub(requests.capacity() - requests.len());
    if missing > 0 {
        requests.reserve_exact(missing.max(requests.len() / 8));
    }
    for row in 0..ids.len() {
        if ms.is_null(row) {
            continue;
        }
        let server = (!servers.is_null(row)).then(|| servers.value(row));
        requests.push(Request {
            key: names.key(devices.value(row), server),
            ms: ms.value(row),
            success: successes.value(row),
            id: ids.value(row),
        });
    }
    Ok(())
}

/// A timestamp column as milliseconds since the epoch (its zone kept, so no shift).
fn millis(times: &ArrayRef) -> Result<ArrayRef> {
    let DataType::Timestamp(_, zone) = times.data_type() else {
        return Err(internal("timestamp as a Timestamp"));
    };
    let ms = cast(
        times,
        &DataType::Timestamp(TimeUnit::Millisecond, zone.clone()),
    )?;
    Ok(cast(&ms, &DataType::Int64)?)
}

fn internal(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("answered requests: expected {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the window says, one request at a time.
    fn by_definition(requests: &[Request], until: Option<i64>) -> Vec<i64> {
        let mut out: Vec<i64> = requests
            .iter()
            .filter(|r| !r.success && until.is_none_or(|u| r.ms < u))
            .filter(|r| {
                requests.iter().any(|s| {
                    s.success && s.key == r.key && s.ms >= r.ms && s.ms - r.ms <= ANSWER_MS
                })
            })
            .map(|r| r.id)
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn the_sweep_agrees_with_the_definition() {
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..300 {
            let n = rng.usize(0..60);
            let mut requests: Vec<Request> = (0..n)
                .map(|i| Request {
                    key: rng.u64(0..3) << 32 | rng.u64(0..2),
                    // Whole seconds, as IIS writes them, with ties and the 60 s edge.
                    ms: rng.i64(0..200) * 1000,
                    success: rng.bool(),
                    id: i as i64,
                })
                .collect();
            let until = (round % 3 == 0).then(|| rng.i64(0..200) * 1000);
            let want = by_definition(&requests, until);
            let mut got = answered(&mut requests, until);
            got.sort_unstable();
            assert_eq!(got, want, "round {round}");
        }
    }

    #[test]
    fn a_slice_the_pool_cannot_hold_is_refused_not_failed() {
        use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryPool};
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let mut reservation = MemoryConsumer::new("test").register(&pool);
        let mut names = Names::default();
        let key = names.key("device", Some("server"));
        let request = Request {
            key,
            ms: 0,
            success: false,
            id: 0,
        };
        let mut requests = Vec::with_capacity(4);
        requests.push(request);
        assert!(charge(&mut reservation, &requests, &names).unwrap());
        assert_eq!(
            reservation.size(),
            4 * std::mem::size_of::<Request>() + names.bytes
        );
        requests.reserve(100);
        assert!(!charge(&mut reservation, &requests, &names).unwrap());
    }

    #[test]
    fn a_success_at_the_same_time_or_a_minute_later_answers() {
        let r = |ms, success, id| Request {
            key: 1,
            ms,
            success,
            id,
        };
        let mut same_time = vec![r(5_000, true, 0), r(5_000, false, 1)];
        assert_eq!(answered(&mut same_time, None), [1]);
        let mut edge = vec![r(0, false, 0), r(60_000, true, 1), r(1, false, 2)];
        let mut got = answered(&mut edge, None);
        got.sort_unstable();
        assert_eq!(got, [0, 2]);
        let mut late = vec![r(0, false, 0), r(60_001, true, 1)];
        assert!(answered(&mut late, None).is_empty());
        let mut before = vec![r(10_000, true, 0), r(20_000, false, 1)];
        assert!(answered(&mut before, None).is_empty());
    }
}
