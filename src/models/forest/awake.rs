//! Keeps a rayon pool's other threads awake while work made of many short parallel steps runs.
//!
//! Boosting hands a node's work to the threads several times per split, thousands of times per fit, in
//! steps of tens of microseconds. Between two steps rayon's idle threads go to sleep, and waking one again
//! costs about what the step saves: on 100k rows the fit ran barely faster on two threads than on one. So
//! during such work each other thread of the pool runs a helper that takes any job offered and otherwise
//! spins, as the OpenMP threads of scikit-learn do. The price: the other cores stay busy during the serial
//! steps too, for the length of the fit.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long `work` waits for the helpers to start before it goes on without them.
const START_TIMEOUT: Duration = Duration::from_millis(5);

/// Pause instructions between two looks for a job: a look touches the other threads' queues.
const SPINS: usize = 32;

/// Runs `work` on a thread of the current rayon pool, with every other thread of the pool looking for its jobs
/// without sleeping until it returns (or panics).
pub fn with_threads_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let helpers = rayon::current_num_threads().saturating_sub(1);
    let done = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    rayon::scope(|scope| {
        // Set however `work` ends, a panic included, so that the scope can end.
        let _stop = SetOnDrop(&done);
        for _ in 0..helpers {
            scope.spawn(|_| {
                started.fetch_add(1, Ordering::AcqRel);
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        for _ in 0..SPINS {
                            std::hint::spin_loop();
                        }
                    }
                }
            });
        }
        // Go on only once every helper runs on a thread of its own: one still queued could be picked up by
        // this thread while it waits for a step, and spin here for ever. Helpers that have not started in
        // time are sent home by `done`, and the work runs as without them.
        let deadline = Instant::now() + START_TIMEOUT;
        while started.load(Ordering::Acquire) < helpers {
            if Instant::now() > deadline {
                done.store(true, Ordering::Release);
                break;
            }
            std::thread::yield_now();
        }
        work()
    })
}

struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool")
    }

    #[test]
    fn work_runs_with_its_parallel_steps_on_any_pool_size() {
        for threads in [1, 2, 3] {
            let sum = pool(threads).install(|| {
                with_threads_awake(|| {
                    (0..200).map(|i| (0..1000u64).into_par_iter().map(|x| x * i).sum::<u64>()).sum::<u64>()
                })
            });
            assert_eq!(sum, (0..200).sum::<u64>() * (0..1000).sum::<u64>(), "{threads} threads");
        }
    }

    #[test]
    fn nested_calls_and_a_busy_pool_do_not_hang() {
        let total: usize =
            pool(2).install(|| (0..8).into_par_iter().map(|i| with_threads_awake(|| with_threads_awake(|| i))).sum());
        assert_eq!(total, 28);
    }

    #[test]
    fn a_panic_in_the_work_ends_the_helpers() {
        let result = pool(2).install(|| std::panic::catch_unwind(|| with_threads_awake(|| panic!("boom"))));
        assert!(result.is_err());
        assert_eq!(pool(2).install(|| with_threads_awake(|| 7)), 7);
    }
}
