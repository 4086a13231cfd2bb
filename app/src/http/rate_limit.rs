//! Per-tenant rate limiting: a token bucket per API key's tenant, in this process. A tenant may burst up to
//! `burst` requests, refilled at `per_second`; beyond that it is answered 429 with `Retry-After`. The buckets
//! measure the process's own time (throttling is about this server's load, not about the business clock).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use consentry_domain::TenantId;
use tokio::time::Instant;

/// How many requests a tenant may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests refilled per second.
    pub per_second: f64,
    /// Requests a tenant may make at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 20.0,
            burst: 100,
        }
    }
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `tenant`'s bucket, or says how long until one is there.
    pub(crate) fn take(&self, tenant: TenantId) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(tenant).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.per_second).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        let per_second = self.limit.per_second.max(f64::MIN_POSITIVE);
        Err(Duration::from_secs_f64((missing / per_second).min(86_400.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_bursts_then_waits_for_its_refill() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 20.0,
            burst: 3,
        });
        let (a, b) = (TenantId::new(), TenantId::new());
        for _ in 0..3 {
            assert_eq!(limiter.take(a), Ok(()));
        }
        let wait = limiter.take(a).expect_err("the burst is spent");
        assert!(wait <= Duration::from_millis(50), "{wait:?}");
        assert_eq!(limiter.take(b), Ok(()), "another tenant has its own bucket");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(limiter.take(a), Ok(()));
    }
}
