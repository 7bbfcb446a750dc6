//! R9.3: image and PDF work within a memory budget. Decoding a photo, rendering a PDF and
//! burning a watermark in take memory in proportion to the pixels, not to the bytes sent: a
//! 300 KB PNG can claim half a gigabyte. Each job states its cost from the file's header
//! ([`kumanet_media::work_bytes`]) and waits for that much of one budget shared by every
//! request, so eight parallel 40-megapixel uploads run one or two at a time instead of all at
//! once, and a job that cannot start within [`MEDIA_WAIT`] is answered 503 (nothing stored).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::WebError;

/// How long a job waits for its share of the budget before the request is answered 503.
pub const MEDIA_WAIT: Duration = Duration::from_secs(30);

const MIB: u64 = 1024 * 1024;

/// The memory all image and PDF work may use at once, in MiB, shared by every request.
#[derive(Debug, Clone)]
pub struct MediaBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    wait: Duration,
}

impl MediaBudget {
    /// A budget of `total_mib` MiB (at least 64).
    pub fn new(total_mib: u32) -> MediaBudget {
        MediaBudget::with_wait(total_mib, MEDIA_WAIT)
    }

    fn with_wait(total_mib: u32, wait: Duration) -> MediaBudget {
        let total_mib = total_mib.max(64);
        MediaBudget { permits: Arc::new(Semaphore::new(total_mib as usize)), total_mib, wait }
    }

    /// The whole budget, in MiB.
    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    /// The part of the budget not in use now, in MiB.
    pub fn free_mib(&self) -> u32 {
        u32::try_from(self.permits.available_permits()).unwrap_or(u32::MAX)
    }

    /// Runs `job` on a blocking thread once the memory the file needs is free. A job that needs
    /// more than the whole budget runs alone.
    pub async fn run<T, F>(&self, bytes: Vec<u8>, job: F) -> Result<T, WebError>
    where
        F: FnOnce(Vec<u8>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let cost = kumanet_media::work_bytes(&bytes).div_ceil(MIB);
        let cost = u32::try_from(cost).unwrap_or(u32::MAX).clamp(1, self.total_mib);
        let permit = match tokio::time::timeout(self.wait, self.permits.clone().acquire_many_owned(cost)).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(closed)) => return Err(WebError::Internal(format!("media budget: {closed}"))),
            Err(_) => {
                tracing::warn!(cost_mib = cost, total_mib = self.total_mib, "image work waited too long for memory");
                return Err(WebError::Busy);
            }
        };
        tokio::task::spawn_blocking(move || {
            let out = job(bytes);
            drop(permit);
            out
        })
        .await
        .map_err(|e| WebError::Internal(format!("media worker: {e}")))
    }
}

/// The default budget: a sixteenth of the machine's memory, between 256 MiB and 1 GiB.
pub fn default_budget_mib() -> u32 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(4096, |kib| kib / 1024);
    u32::try_from((total / 16).clamp(256, 1024)).unwrap_or(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kumanet_media::fixtures::black_png;

    #[test]
    fn r9_3_the_default_budget_follows_the_machine() {
        let b = default_budget_mib();
        assert!((256..=1024).contains(&b), "{b}");
        assert_eq!(MediaBudget::new(10).total_mib(), 64);
    }

    /// How many of `n` jobs of this file ran at once at most, within `budget`.
    async fn most_at_once(budget: &MediaBudget, png: &[u8], n: usize) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut jobs = Vec::new();
        for _ in 0..n {
            let (b, png, running, most) = (budget.clone(), png.to_vec(), running.clone(), most.clone());
            jobs.push(tokio::spawn(async move {
                b.run(png, move |_| {
                    most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                    // A blocking thread, as every media job runs on.
                    #[allow(clippy::disallowed_methods)]
                    std::thread::sleep(Duration::from_millis(150));
                    running.fetch_sub(1, SeqCst);
                })
                .await
            }));
        }
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        most.load(SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r9_3_jobs_beyond_the_budget_wait_their_turn() {
        // Each 8-bit 40-megapixel PNG counts about 376 MiB: two cannot run at once in 600.
        let budget = MediaBudget::new(600);
        assert_eq!(most_at_once(&budget, &black_png(8000, 5000, 8, 2), 3).await, 1);
        assert_eq!(budget.free_mib(), 600);
        // Small ones run side by side.
        assert_eq!(most_at_once(&budget, &black_png(100, 100, 8, 2), 2).await, 2);
        assert_eq!(budget.free_mib(), 600);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r9_3_a_job_that_cannot_start_in_time_is_busy_and_nothing_runs() {
        let budget = MediaBudget::with_wait(100, Duration::from_millis(200));
        let hold = budget.permits.clone().acquire_many_owned(100).await.unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let got =
            budget.run(black_png(100, 100, 8, 2), move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst)).await;
        assert!(matches!(got, Err(WebError::Busy)), "{got:?}");
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        drop(hold);
        assert_eq!(budget.free_mib(), 100);
    }
}
