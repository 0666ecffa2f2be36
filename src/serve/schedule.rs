//! When `serve`'s next cycle starts. After a successful cycle, the interval, moved by up to
//! ±10 % at random so that replicas (or many tools restarted together) do not reconcile in
//! step. After failed cycles, an exponential backoff from one second, doubling, up to the
//! interval: a server that was down for a moment is retried soon, one that stays down is
//! not hammered. Pure: the random draw is passed in, so the arithmetic is tested exactly.

use std::time::Duration;

/// The shortest `--interval`: below it a cycle would be mostly overhead, and a server
/// would be read continuously.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest `--interval` (a week): longer is a mistake (or a job for `drift` in a CronJob).
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The wait after the first failed cycle; it doubles with each further failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How far a wait may move either way, as a fraction of it.
pub const JITTER: f64 = 0.10;

/// `--interval`: a human duration (`30s`, `5m`, `1h 30m`) between [`MIN_INTERVAL`] and
/// [`MAX_INTERVAL`].
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}): write it like 30s, 5m or 1h"))?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "{text} is shorter than the shortest interval, {}",
            humantime::format_duration(MIN_INTERVAL)
        ));
    }
    if interval > MAX_INTERVAL {
        return Err(format!(
            "{text} is longer than the longest interval, {} (for a rare check, run `drift` from a scheduled job)",
            humantime::format_duration(MAX_INTERVAL)
        ));
    }
    Ok(interval)
}

/// The wait before the next cycle, after `consecutive_errors` failed cycles in a row
/// (0: the last one succeeded). `draw` is a random number in [-1, 1] (clamped): the
/// jitter's direction and size.
pub fn next_wait(interval: Duration, consecutive_errors: u32, draw: f64) -> Duration {
    let base = match consecutive_errors {
        0 => interval,
        n => {
            // 1 s, 2 s, 4 s, ... (the exponent is capped: 2^20 s is past any interval).
            let factor = 1u32 << (n - 1).min(20);
            FIRST_RETRY.saturating_mul(factor).min(interval)
        }
    };
    base.mul_f64(1.0 + JITTER * draw.clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn intervals_are_human_durations_within_bounds() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(FIVE_MINUTES));
        assert_eq!(parse_interval("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_interval("500ms"),
            Err("500ms is shorter than the shortest interval, 1s".into())
        );
        assert_eq!(
            parse_interval("8days"),
            Err("8days is longer than the longest interval, 7days (for a rare check, run `drift` from a scheduled job)".into())
        );
        assert!(parse_interval("soon")
            .unwrap_err()
            .starts_with("`soon` is not a duration"));
    }

    #[test]
    fn after_a_success_the_wait_is_the_interval_within_ten_percent() {
        assert_eq!(next_wait(FIVE_MINUTES, 0, 0.0), FIVE_MINUTES);
        assert_eq!(next_wait(FIVE_MINUTES, 0, 1.0), Duration::from_secs(330));
        assert_eq!(next_wait(FIVE_MINUTES, 0, -1.0), Duration::from_secs(270));
        // A draw outside [-1, 1] cannot move it further.
        assert_eq!(next_wait(FIVE_MINUTES, 0, 7.0), Duration::from_secs(330));
    }

    #[test]
    fn failures_back_off_from_one_second_up_to_the_interval() {
        let waits: Vec<u64> = (1..=11)
            .map(|n| next_wait(FIVE_MINUTES, n, 0.0).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(next_wait(FIVE_MINUTES, u32::MAX, 0.0), FIVE_MINUTES);
        assert_eq!(
            next_wait(Duration::from_secs(1), 3, 0.0),
            Duration::from_secs(1)
        );
    }
}
