//! [`Runners`]: the tasks a connection's calls run in.
//!
//! Every call runs in a tokio task of its own, so a handler that blocks its
//! thread holds up only its own call. Spawning a task per call would cost an
//! aligned allocation, a registration with the runtime and a release for
//! every call; instead a *runner* task runs one call to its end and then
//! waits for the connection to hand it the next one. Handing a call to a
//! waiting runner costs two short locks and a wake-up.
//!
//! A connection's first call is spawned as a task of its own: runners are
//! for connections that carry more than one call.
//!
//! A call never waits for a runner: when none is waiting, the connection
//! spawns a new one, so there are as many runners as calls in flight at the
//! busiest moment. When a call ends the connection starts a timer, and
//! [`RETIRE_AFTER`] later it ends the runners still waiting (see
//! [`Runners::retire_idle`]), so a connection that falls quiet soon holds
//! none; all of them end with the connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio_util::task::TaskTracker;

/// How long after a call ended a connection ends the runners waiting for a
/// call: a runner waits about twice this long at most before it ends.
pub(crate) const RETIRE_AFTER: Duration = Duration::from_millis(100);

/// A connection's runners, of calls of type `C`. Dropping it ends the
/// waiting runners; busy ones end after their call. Holds no memory while
/// no runner lives.
pub(crate) struct Runners<C> {
    pool: Option<Arc<Pool<C>>>,
}

struct Pool<C> {
    state: Mutex<PoolState<C>>,
}

struct PoolState<C> {
    /// Runners waiting for a call, the last to finish first.
    idle: Vec<Arc<Slot<C>>>,
    /// Runners not yet told to end.
    live: usize,
    /// The connection is gone: runners end after their call.
    closed: bool,
}

/// Where the connection puts a waiting runner's next call.
struct Slot<C> {
    state: Mutex<SlotState<C>>,
}

struct SlotState<C> {
    call: Option<C>,
    /// The runner, waiting for a call.
    waker: Option<Waker>,
    /// The runner should end.
    retired: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The critical sections run no user code and cannot panic midway.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<C> Slot<C> {
    fn new() -> Slot<C> {
        Slot {
            state: Mutex::new(SlotState {
                call: None,
                waker: None,
                retired: false,
            }),
        }
    }

    /// Puts `call` (or, with `None`, the order to end) in the slot and wakes
    /// its runner.
    fn hand(&self, call: Option<C>) {
        let waker = {
            let mut s = lock(&self.state);
            match call {
                Some(call) => s.call = Some(call),
                None => s.retired = true,
            }
            s.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<C> Runners<C>
where
    C: Future<Output = ()> + Send + 'static,
{
    /// No runners yet.
    pub(crate) const fn new() -> Runners<C> {
        Runners { pool: None }
    }

    /// Runs `call` in a runner of its own: one that is waiting, or a new
    /// one spawned onto `tasks` (so that a shutdown waits for it). `true`
    /// if a runner was spawned.
    pub(crate) fn run(&mut self, tasks: &TaskTracker, call: C) -> bool {
        let pool = self.pool.get_or_insert_with(|| {
            Arc::new(Pool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    live: 0,
                    closed: false,
                }),
            })
        });
        let waiting = {
            let mut pool = lock(&pool.state);
            let slot = pool.idle.pop();
            if slot.is_none() {
                pool.live += 1;
            }
            slot
        };
        match waiting {
            Some(slot) => {
                slot.hand(Some(call));
                false
            }
            None => {
                tasks.spawn(Runner {
                    pool: pool.clone(),
                    slot: Arc::new(Slot::new()),
                    call: Some(call),
                });
                true
            }
        }
    }

    /// Ends the runners waiting for a call; how many runners are left,
    /// busy with a call.
    pub(crate) fn retire_idle(&mut self) -> usize {
        let Some(pool) = &self.pool else {
            return 0;
        };
        let (idle, busy) = {
            let mut pool = lock(&pool.state);
            let idle = std::mem::take(&mut pool.idle);
            pool.live -= idle.len();
            (idle, pool.live)
        };
        for slot in idle {
            slot.hand(None);
        }
        if busy == 0 {
            // The retired runners let go of it as they end.
            self.pool = None;
        }
        busy
    }
}

impl<C> Drop for Runners<C> {
    fn drop(&mut self) {
        let Some(pool) = &self.pool else {
            return;
        };
        let idle = {
            let mut pool = lock(&pool.state);
            pool.closed = true;
            std::mem::take(&mut pool.idle)
        };
        for slot in idle {
            slot.hand(None);
        }
    }
}

pin_project! {
    /// One runner task: runs its call, offers itself for the next one, and
    /// waits.
    struct Runner<C> {
        pool: Arc<Pool<C>>,
        slot: Arc<Slot<C>>,
        #[pin]
        call: Option<C>,
    }
}

impl<C: Future<Output = ()>> Future for Runner<C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            if let Some(call) = this.call.as_mut().as_pin_mut() {
                std::task::ready!(call.poll(cx));
                // A call contains the panics of the user code it runs, its
                // `Drop` included.
                this.call.set(None);
                let mut pool = lock(&this.pool.state);
                if pool.closed {
                    return Poll::Ready(());
                }
                pool.idle.push(this.slot.clone());
            }
            let mut slot = lock(&this.slot.state);
            if let Some(call) = slot.call.take() {
                drop(slot);
                this.call.set(Some(call));
                continue;
            }
            if slot.retired {
                return Poll::Ready(());
            }
            match &slot.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => slot.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

    /// A call that waits for a permit from `gate`, then counts itself done.
    fn call(done: &Arc<AtomicUsize>, gate: &Arc<Semaphore>) -> Call {
        let (done, gate) = (done.clone(), gate.clone());
        Box::pin(async move {
            gate.acquire().await.expect("gate open").forget();
            done.fetch_add(1, Ordering::SeqCst);
        })
    }

    /// A task tracker, no runners yet, a count of calls done and a closed
    /// gate.
    fn setup() -> (TaskTracker, Runners<Call>, Arc<AtomicUsize>, Arc<Semaphore>) {
        (
            TaskTracker::new(),
            Runners::new(),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Semaphore::new(0)),
        )
    }

    async fn until(what: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !what() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("runners make progress");
    }

    fn idle(runners: &Runners<Call>) -> usize {
        runners
            .pool
            .as_ref()
            .map_or(0, |pool| lock(&pool.state).idle.len())
    }

    #[tokio::test]
    async fn a_waiting_runner_takes_the_next_call_and_idle_ones_end() {
        let (tasks, mut runners, done, gate) = setup();
        // Two calls at once: two runners.
        assert!(runners.run(&tasks, call(&done, &gate)));
        assert!(runners.run(&tasks, call(&done, &gate)));
        gate.add_permits(2);
        until(|| idle(&runners) == 2).await;
        assert_eq!(done.load(Ordering::SeqCst), 2);
        // The next calls go to the waiting runners; a third needs a new one.
        assert!(!runners.run(&tasks, call(&done, &gate)));
        assert!(!runners.run(&tasks, call(&done, &gate)));
        assert!(runners.run(&tasks, call(&done, &gate)));
        assert_eq!(tasks.len(), 3);
        gate.add_permits(3);
        until(|| idle(&runners) == 3).await;
        assert_eq!(done.load(Ordering::SeqCst), 5);
        // Ending the waiting runners leaves none busy, and they end.
        assert_eq!(runners.retire_idle(), 0);
        assert!(runners.pool.is_none(), "no runner left, no pool kept");
        tasks.close();
        until(|| tasks.is_empty()).await;
    }

    #[tokio::test]
    async fn busy_runners_are_counted_and_end_after_their_call_once_dropped() {
        let (tasks, mut runners, done, gate) = setup();
        runners.run(&tasks, call(&done, &gate));
        runners.run(&tasks, Box::pin(async {}));
        until(|| idle(&runners) == 1).await;
        // One waiting runner ends; the busy one is left.
        assert_eq!(runners.retire_idle(), 1);
        until(|| tasks.len() == 1).await;
        drop(runners);
        tasks.close();
        tokio::task::yield_now().await;
        assert_eq!(tasks.len(), 1, "a busy runner ends only after its call");
        gate.add_permits(1);
        until(|| tasks.is_empty()).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    /// Blocks its thread in `Drop` until the test lets it go.
    struct BlockingDrop(std::sync::mpsc::Receiver<()>);

    impl Drop for BlockingDrop {
        fn drop(&mut self) {
            let _ = self.0.recv_timeout(Duration::from_secs(10));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runner_dropping_its_finished_call_is_still_busy() {
        let tasks = TaskTracker::new();
        let mut runners: Runners<Call> = Runners::new();
        let (release, held) = std::sync::mpsc::channel();
        let (dropping, started) = std::sync::mpsc::channel();
        let guard = BlockingDrop(held);
        // A call that is over once polled, and whose drop blocks: the
        // window in which a connection has already forgotten the call.
        runners.run(
            &tasks,
            Box::pin(async move {
                let _guard = guard;
                dropping.send(()).expect("test waits");
            }),
        );
        tokio::task::spawn_blocking(move || started.recv().expect("call ran"))
            .await
            .expect("waiting");
        // The runner is busy: ending the waiting runners leaves it, and
        // says so, so that its connection looks again later.
        assert_eq!(runners.retire_idle(), 1);
        release.send(()).expect("runner waits");
        until(|| idle(&runners) == 1).await;
        assert_eq!(runners.retire_idle(), 0);
        tasks.close();
        until(|| tasks.is_empty()).await;
    }

    #[tokio::test]
    async fn dropping_the_runners_ends_the_waiting_ones() {
        let tasks = TaskTracker::new();
        let mut runners: Runners<Call> = Runners::new();
        runners.run(&tasks, Box::pin(async {}));
        until(|| idle(&runners) == 1).await;
        drop(runners);
        tasks.close();
        until(|| tasks.is_empty()).await;
    }
}
