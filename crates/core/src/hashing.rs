//! Password hashing on threads of its own, at a lower CPU priority than request handling.
//!
//! Argon2id is deliberately expensive. At most one hash per core runs at a time (more would
//! only slow each one down and multiply its 19 MiB), and the threads run at a raised nice
//! value: when the machine is idle a sign-in costs the same as a bare hash, but under a flood
//! of sign-in attempts the scheduler gives the rest of the server the CPU first, so other
//! requests keep flowing while the guesses wait their turn.

use crate::CoreError;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Where the hashing threads sit on thread-priority's 0–99 scale (about nice 9 on Linux).
const HASHING_PRIORITY: u8 = 25;

#[derive(Debug)]
pub(crate) struct HashingPool {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// One per thread: waiting sign-ins queue here, on the async side.
    permits: tokio::sync::Semaphore,
}

fn lower_priority() -> Result<(), String> {
    let value = thread_priority::ThreadPriorityValue::try_from(HASHING_PRIORITY)
        .map_err(|e| e.to_owned())?;
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(
        value,
    ))
    .map_err(|e| e.to_string())
}

impl HashingPool {
    pub(crate) fn start(threads: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    if let Err(e) = lower_priority() {
                        tracing::warn!(error = %e, "hashing thread keeps normal priority");
                    }
                    loop {
                        let job = receiver
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        match job {
                            Ok(job) => job(),
                            // The pool was dropped: the server is stopping.
                            Err(_) => break,
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a hashing thread"),
            }
        }
        Self {
            jobs: Mutex::new(sender),
            permits: tokio::sync::Semaphore::new(started),
        }
    }

    /// Runs `work` on a hashing thread once one is free.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CoreError::Internal("password hashing is shut down"))?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| CoreError::Internal("password hashing is shut down"))?;
        result
            .await
            .map_err(|_| CoreError::Internal("password hashing task failed"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The calling thread's nice value (Linux: field 19 of /proc/thread-self/stat).
    fn own_nice() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn runs_work_on_named_low_priority_threads_one_per_permit() {
        let pool = HashingPool::start(2);
        let (name, nice) = pool
            .run(|| (std::thread::current().name().map(str::to_owned), own_nice()))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("argon2-"));
        assert!(nice > own_nice(), "hashing nice {nice} above the caller's");
        let pool = Arc::new(pool);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run(move || i * 2).await })
            })
            .collect();
        let mut values = Vec::new();
        for task in tasks {
            values.push(task.await.unwrap().unwrap());
        }
        assert_eq!(values, (0..8).map(|i| i * 2).collect::<Vec<_>>());
    }
}
