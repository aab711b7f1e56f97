//! time: RFC 3339 strings at the edges, Unix seconds inside; the service clock.
//!
//! Policies compare Unix seconds (Cedar `Long`), so this module is the only place
//! that parses or prints a date. It must not decide anything about licences.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds in a day, the unit notices count in.
pub(crate) const DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp (`2026-01-31T09:00:00Z`, offsets allowed) into Unix seconds.
pub fn parse(s: &str) -> Result<i64, String> {
    // A leap second (`23:59:60`) would be read as `23:59:59`: refuse it
    // rather than change what the caller said.
    if let Some((_, time)) = s.split_once(['T', 't', ' '])
        && time.get(6..8) == Some("60")
        && time.get(5..6) == Some(":")
    {
        return Err(format!(
            "`{s}` is a leap second (`:60`), which this service does not take"
        ));
    }
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => Ok(t.as_second()),
        Err(_) => {
            let looks_like_a_time = s.len() >= 20
                && s.as_bytes().get(4) == Some(&b'-')
                && s.contains(['T', 't'])
                && !s.starts_with(['-', '+']);
            if looks_like_a_time
                && jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s.get(..19).unwrap_or(s)).is_ok()
            {
                Err(format!(
                    "`{s}` is outside the times this service takes: from 0001-01-01T00:00:00Z to 9999-12-30T22:00:00Z"
                ))
            } else {
                Err(format!(
                    "`{s}` is not an RFC 3339 time such as `2026-01-31T09:00:00Z`"
                ))
            }
        }
    }
}

/// Formats Unix seconds as an RFC 3339 UTC string.
pub fn format(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.to_string(),
        Err(_) => secs.to_string(),
    }
}

/// Serde helpers for `Option<i64>` seconds written as RFC 3339 strings.
pub mod rfc3339_opt {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        v.map(|s| super::parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Serde helpers for `i64` seconds written as RFC 3339 strings.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        super::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The clock every decision and ledger change reads. The server uses the system
/// clock; scenarios pin it so that their answers never change.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `i64::MIN` means "follow the system clock"; anything else is a pinned time.
    pinned: Arc<AtomicI64>,
}

impl Clock {
    /// A clock that follows the system time.
    pub fn system() -> Self {
        Self {
            pinned: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// A clock pinned at `secs` until [`Clock::set`] moves it.
    pub fn fixed(secs: i64) -> Self {
        Self {
            pinned: Arc::new(AtomicI64::new(secs)),
        }
    }

    /// Pins the clock at `secs`.
    pub fn set(&self, secs: i64) {
        self.pinned.store(secs, Ordering::SeqCst);
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        match self.pinned.load(Ordering::SeqCst) {
            i64::MIN => jiff::Timestamp::now().as_second(),
            pinned => pinned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let secs = parse("2026-01-31T09:00:00Z").unwrap();
        assert_eq!(format(secs), "2026-01-31T09:00:00Z");
        assert_eq!(parse("2026-01-31T10:00:00+01:00").unwrap(), secs);
    }

    #[test]
    fn a_leap_second_is_refused_and_far_years_get_the_range() {
        assert!(parse("9999-12-30T21:59:59Z").is_ok());
        let leap = parse("2026-06-30T23:59:60Z").unwrap_err();
        assert!(leap.contains("leap second"), "{leap}");
        let far = parse("9999-12-31T23:59:59Z").unwrap_err();
        assert!(far.contains("9999-12-30T22:00:00Z"), "{far}");
        let bad = parse("2026-13-01T00:00:00Z").unwrap_err();
        assert!(bad.contains("RFC 3339"), "{bad}");
    }

    #[test]
    fn parse_names_the_bad_value() {
        let err = parse("yesterday").unwrap_err();
        assert!(err.contains("`yesterday`"), "{err}");
    }

    #[test]
    fn a_fixed_clock_moves_only_when_set() {
        let clock = Clock::fixed(100);
        assert_eq!(clock.now(), 100);
        clock.set(200);
        assert_eq!(clock.now(), 200);
    }
}
