//! The memory pool of a session with a memory limit ([`bounded_pool`], in [`bounded_runtime`],
//! used with the settings of [`fit_config`]): DataFusion's `FairSpillPool`, so that sorts, joins and aggregations spill
//! to temporary files beyond the limit, with one exception: `RepartitionExec`'s reservations are
//! counted but never refused.
//!
//! DataFusion 55 makes `RepartitionExec` spill the batches it cannot reserve memory for into a
//! spill pool, and that pool can stop a query for ever when two input partitions spill at once
//! (every thread idle, no error: apache/datafusion#24883, fixed after 55.2). `diagnose` over
//! 1 GiB under its default limit stopped that way. A repartition never spills here: its
//! in-flight batches are bounded by the partitions' channels, as before DataFusion added the
//! spilling, and the other operators see its memory as used.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::error::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionConfig;

/// How many of the largest consumers an out-of-memory error names.
const CONSUMERS_NAMED: usize = 5;

/// A pool of `bytes` for one session: fair shares for the operators that spill, errors that
/// name the largest consumers, and repartitions never refused (see the module's docs).
pub fn bounded_pool(bytes: usize) -> Arc<dyn MemoryPool> {
    let named = NonZeroUsize::new(CONSUMERS_NAMED).unwrap_or(NonZeroUsize::MIN);
    Arc::new(TrackConsumersPool::new(
        RepartitionNeverRefused(FairSpillPool::new(bytes)),
        named,
    ))
}

/// The most spilled runs one merge pass of a sort reads at once under a memory limit (DataFusion
/// merges them all at once by default: converting 4 GiB of logs under 1 GiB then failed, its
/// merges holding a batch of each of many runs; capped, runs are merged in passes).
pub const SPILL_MERGE_FAN_IN: usize = 16;

/// The runtime of a session of `bytes`: [`bounded_pool`], and sorts that merge their spilled
/// runs [`SPILL_MERGE_FAN_IN`] at a time. Use it with [`fit_config`].
pub fn bounded_runtime(bytes: usize) -> Result<Arc<RuntimeEnv>> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(bounded_pool(bytes))
        .build_arc()?;
    runtime
        .disk_manager
        .set_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN);
    Ok(runtime)
}

/// The least that a sort keeps back for merging its spilled runs, however small the limit.
const MIN_MERGE_RESERVATION: usize = 256 << 10;

/// `config` fitted to a pool of `bytes` ([`bounded_pool`]). Each sort of each partition keeps
/// back `datafusion.execution.sort_spill_reservation_bytes` (10 MB unless set) for merging what
/// it spilled, memory no other operator can use; under a small limit these reservations alone
/// would fill the pool and the first sort to need a batch would fail. They are lowered to an
/// eighth of a partition's share of `bytes` (never below 256 KiB, never above what `config`
/// says).
pub fn fit_config(mut config: SessionConfig, bytes: usize) -> SessionConfig {
    let share = bytes / config.target_partitions().max(1) / 8;
    let execution = &mut config.options_mut().execution;
    execution.sort_spill_reservation_bytes = execution
        .sort_spill_reservation_bytes
        .min(share.max(MIN_MERGE_RESERVATION));
    config
}

/// Whether `consumer` is a `RepartitionExec`'s (`RepartitionExec[0]`, `RepartitionExec[Merge 0]`).
fn is_repartition(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("RepartitionExec[")
}

/// `pool`, growing a repartition's reservation whatever it holds.
#[derive(Debug)]
struct RepartitionNeverRefused<P>(P);

impl<P: MemoryPool> fmt::Display for RepartitionNeverRefused<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (repartitions never refused)", self.0)
    }
}

impl<P: MemoryPool> MemoryPool for RepartitionNeverRefused<P> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.0.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.0.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.0.grow(reservation, additional)
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.0.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if is_repartition(reservation.consumer()) {
            self.0.grow(reservation, additional);
            return Ok(());
        }
        self.0.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.0.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.0.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_reservations_shrink_with_the_limit_and_never_grow() {
        let reservation = |partitions: usize, bytes: usize| {
            let config = SessionConfig::new().with_target_partitions(partitions);
            fit_config(config, bytes)
                .options()
                .execution
                .sort_spill_reservation_bytes
        };
        let default = SessionConfig::new()
            .options()
            .execution
            .sort_spill_reservation_bytes;
        assert_eq!(reservation(4, 32 << 20), 1 << 20);
        assert_eq!(reservation(2, 32 << 20), 2 << 20);
        assert_eq!(reservation(4, 1 << 20), MIN_MERGE_RESERVATION);
        assert_eq!(reservation(2, 4 << 30), default);
    }
}
