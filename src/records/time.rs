//! Time for the records layer: instants, calendar periods and clocks.
//!
//! Retention dates are UTC instants in `i64` milliseconds since the Unix
//! epoch (about ±292 million years, far beyond the 400 years RECORDS.md
//! asks for). Periods are calendar-aware: "7 years" moves the civil date,
//! so it lands on the same day of the month whatever the leap years.
//!
//! Invariants:
//! 1. Nothing here panics, on any input: every date computation is checked
//!    or saturating, and `Display` handles `i64::MIN` and `i64::MAX`.
//! 2. `from_utc` and `to_utc` are inverse on every representable instant
//!    (proleptic Gregorian calendar, Howard Hinnant's algorithms).
//! 3. `Period`'s `Display` is canonical and `FromStr` parses it back to the
//!    same value; the policy text (`policy.rs`) relies on both.
//! 4. Dates come from a [`Clock`], never from the caller (RECORDS.md rule 8);
//!    a clock that cannot be read returns `Err`, and callers fail closed.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_SECOND: u64 = 1_000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

/// A UTC instant, milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The latest representable instant (year 292,278,994).
    pub const MAX: Timestamp = Timestamp(i64::MAX);
    /// The earliest representable instant (year −292,275,055).
    pub const MIN: Timestamp = Timestamp(i64::MIN);

    /// The instant `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// A civil UTC date-time; None if any field is out of range (month
    /// 1..=12, day valid for the month incl. leap years, hour<24, min<60,
    /// sec<60) or the result overflows.
    pub fn from_utc(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Timestamp> {
        let year = i64::from(year);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if hour >= 24 || minute >= 60 || second >= 60 {
            return None;
        }
        let seconds = u64::from(hour) * 3600 + u64::from(minute) * 60 + u64::from(second);
        instant(days_from_civil(year, month, day), seconds * MS_PER_SECOND)
    }

    /// Midnight UTC of a civil date; None if the date is invalid or overflows.
    pub fn from_date(year: i32, month: u32, day: u32) -> Option<Timestamp> {
        Timestamp::from_utc(year, month, day, 0, 0, 0)
    }

    /// (year, month, day, hour, minute, second, millisecond)
    pub fn to_utc(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let (days, ms_of_day) = split_days(self.0);
        let (year, month, day) = civil_from_days(days);
        // ms_of_day < 86_400_000, so every field below fits its range.
        let ms = ms_of_day as u32;
        let (hour, minute) = (ms / 3_600_000, ms / 60_000 % 60);
        (year, month, day, hour, minute, ms / 1000 % 60, ms % 1000)
    }

    /// Calendar-aware: months/years move the civil date (Jan 31 + 1 month =
    /// Feb 28/29, Feb 29 2028 + 1 year = Feb 28 2029), then the fixed part
    /// (days/ms) is added. None on overflow.
    pub fn checked_add(self, period: Period) -> Option<Timestamp> {
        let (days, ms_of_day) = split_days(self.0);
        let days = if period.months == 0 {
            days
        } else {
            add_months(days, period.months)
        };
        let base = instant(days, ms_of_day)?;
        let sum = i128::from(base.0) + i128::from(period.millis);
        i64::try_from(sum).ok().map(Timestamp)
    }

    /// Like [`Timestamp::checked_add`], but `Timestamp::MAX` on overflow.
    pub fn saturating_add(self, period: Period) -> Timestamp {
        self.checked_add(period).unwrap_or(Timestamp::MAX)
    }
}

/// RFC 3339 with milliseconds and `Z`, e.g. `2026-11-24T17:12:39.000Z`.
/// Years outside 0..=9999 are written with a sign and at least six digits
/// (ISO 8601 expanded form), e.g. `+292278994-08-17T07:12:55.807Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day, hour, minute, second, ms) = self.to_utc();
        if (0..=9999).contains(&year) {
            write!(f, "{year:04}")?;
        } else {
            write!(f, "{year:+07}")?;
        }
        write!(
            f,
            "-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z"
        )
    }
}

/// The day `months` calendar months after `days` (clamped to the month's
/// last day). Memoized for the last day and count on each thread: every
/// record a policy dates on one day asks the same question, and the
/// calendar arithmetic cost about a tenth of a retention put's checks.
fn add_months(days: i64, months: u32) -> i64 {
    thread_local! {
        static LAST: Cell<(i64, u32, i64)> = const { Cell::new((i64::MIN, 0, 0)) };
    }
    let (last_days, last_months, last_result) = LAST.get();
    if (last_days, last_months) == (days, months) {
        return last_result;
    }
    let (year, month, day) = civil_from_days(days);
    // |year| < 3e8 and months < 4.3e9: no i64 overflow is possible.
    let total = year * 12 + i64::from(month) - 1 + i64::from(months);
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let result = days_from_civil(year, month, day.min(days_in_month(year, month)));
    LAST.set((days, months, result));
    result
}

/// Days since the epoch and the millisecond of that day (always in range).
fn split_days(ms: i64) -> (i64, u64) {
    let day = MS_PER_DAY as i64;
    (ms.div_euclid(day), ms.rem_euclid(day) as u64)
}

/// The instant `ms_of_day` milliseconds into day `days`; None on overflow.
fn instant(days: i64, ms_of_day: u64) -> Option<Timestamp> {
    let ms = i128::from(days) * i128::from(MS_PER_DAY) + i128::from(ms_of_day);
    i64::try_from(ms).ok().map(Timestamp)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`; 0 for a month out of range.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Hinnant's `days_from_civil`: days since 1970-01-01 of a valid civil date.
/// Exact for |year| up to ~10^13; callers stay below 10^9.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    debug_assert!((1..=12).contains(&month) && (1..=31).contains(&day));
    let year = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (year.div_euclid(400), year.rem_euclid(400)); // yoe in [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Hinnant's `civil_from_days`: the civil date of a day since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // |days| < 1.1e11 for any i64 millisecond instant
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A span of calendar time: whole months plus a fixed number of milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    months: u32,
    millis: u64,
}

impl Period {
    /// The calendar part, in months.
    pub const fn months_part(&self) -> u32 {
        self.months
    }

    /// The fixed part, in milliseconds.
    pub const fn millis_part(&self) -> u64 {
        self.millis
    }

    /// The sum of both periods; None if either part overflows.
    pub fn checked_add(self, other: Period) -> Option<Period> {
        Some(Period {
            months: self.months.checked_add(other.months)?,
            millis: self.millis.checked_add(other.millis)?,
        })
    }
}

/// Units in the order `FromStr` accepts them, with their size (months for
/// `y` and `mo`, milliseconds for the rest).
const UNITS: [(&str, u64); 7] = [
    ("y", 12),
    ("mo", 1),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// Canonical: `7y`, `18mo`, `30d`, `7y30d`, `1500ms`, `0ms`. Years are shown
/// when months % 12 == 0; milliseconds in the largest exact unit.
impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.months != 0 {
            if self.months.is_multiple_of(12) {
                write!(f, "{}y", self.months / 12)?;
            } else {
                write!(f, "{}mo", self.months)?;
            }
        }
        if self.millis == 0 && self.months == 0 {
            f.write_str("0ms")?;
        } else if self.millis != 0 {
            let (unit, size) = UNITS[2..]
                .iter()
                .copied()
                .find(|&(_, size)| self.millis.is_multiple_of(size))
                .unwrap_or(("ms", 1));
            write!(f, "{}{unit}", self.millis / size)?;
        }
        Ok(())
    }
}

/// Parses what `Display` writes, and any sum of terms `<digits><unit>` with
/// units in the order y, mo, d, h, m, s, ms, each at most once. No signs,
/// spaces or leading zeros; overflow is an error.
impl FromStr for Period {
    type Err = String;

    fn from_str(text: &str) -> Result<Period, String> {
        let fail = |why: &str| Err(format!("invalid period {text:?}: {why}"));
        if text.is_empty() {
            return fail("empty");
        }
        let mut period = millis(0);
        let mut rest = text;
        let mut next_unit = 0; // index into UNITS of the first unit still allowed
        while !rest.is_empty() {
            // Both counts are of ASCII bytes, so every slice below falls on
            // a char boundary within `rest`: no slicing here can panic.
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let letters = rest[digits..]
                .bytes()
                .take_while(u8::is_ascii_lowercase)
                .count();
            let (number, unit) = (&rest[..digits], &rest[digits..digits + letters]);
            rest = &rest[digits + letters..];
            if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
                return fail("each term needs a number without leading zeros");
            }
            let Ok(n) = number.parse::<u64>() else {
                return fail("number too large");
            };
            let Some(index) = UNITS.iter().position(|&(name, _)| name == unit) else {
                return fail("unknown unit (use y, mo, d, h, m, s, ms)");
            };
            if index < next_unit {
                return fail("units must appear once each, in the order y mo d h m s ms");
            }
            next_unit = index + 1;
            let term = n.checked_mul(UNITS[index].1);
            let term = match index {
                0 | 1 => term.and_then(|m| u32::try_from(m).ok()).map(months),
                _ => term.map(millis),
            };
            let Some(sum) = term.and_then(|t| period.checked_add(t)) else {
                return fail("overflow");
            };
            period = sum;
        }
        Ok(period)
    }
}

/// `n` years, i.e. `n * 12` months (saturating).
pub const fn years(n: u32) -> Period {
    months(n.saturating_mul(12))
}

/// `n` calendar months.
pub const fn months(n: u32) -> Period {
    Period {
        months: n,
        millis: 0,
    }
}

/// `n` days of exactly 86,400,000 ms (UTC has no leap seconds here).
pub const fn days(n: u32) -> Period {
    millis(n as u64 * MS_PER_DAY)
}

/// `n` hours.
pub const fn hours(n: u32) -> Period {
    millis(n as u64 * MS_PER_HOUR)
}

/// `n` minutes.
pub const fn minutes(n: u32) -> Period {
    millis(n as u64 * MS_PER_MINUTE)
}

/// `n` seconds.
pub const fn seconds(n: u32) -> Period {
    millis(n as u64 * MS_PER_SECOND)
}

/// `n` milliseconds.
pub const fn millis(n: u64) -> Period {
    Period {
        months: 0,
        millis: n,
    }
}

/// The engine's source of time. `now` returns Err(reason) when the clock
/// cannot be read; the records layer then fails closed.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, or why it cannot be read.
    fn now(&self) -> Result<Timestamp, String>;
}

/// The operating system's clock (`std::time::SystemTime`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Err if the system time is before the epoch or past `Timestamp::MAX`.
    fn now(&self) -> Result<Timestamp, String> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("system clock is before the Unix epoch: {e}"))?;
        i64::try_from(since.as_millis())
            .map(Timestamp)
            .map_err(|_| "system clock is past the representable range".to_string())
    }
}

/// A clock for tests: set by hand.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<Result<Timestamp, String>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            state: Mutex::new(Ok(start)),
        }
    }

    /// Sets the time (backwards too) and clears any failure.
    pub fn set(&self, t: Timestamp) {
        *self.lock() = Ok(t);
    }

    /// Moves the time forward by `p`, saturating; a failed clock stays failed.
    pub fn advance(&self, p: Period) {
        let mut state = self.lock();
        if let Ok(t) = *state {
            *state = Ok(t.saturating_add(p));
        }
    }

    /// Makes `now()` return Err(reason) until the next `set()`.
    pub fn fail(&self, reason: impl Into<String>) {
        *self.lock() = Err(reason.into());
    }

    /// The state; a panic while it was held cannot leave it torn (every
    /// write is one assignment), so a poisoned lock is simply recovered.
    fn lock(&self) -> std::sync::MutexGuard<'_, Result<Timestamp, String>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Result<Timestamp, String> {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEARS: [i32; 9] = [1969, 1970, 1971, 1972, 1973, 2000, 2024, 2100, 2400];

    /// Midnight of "YYYY-MM-DD" (years 0..=9999).
    fn date(text: &str) -> Timestamp {
        let field = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap();
        Timestamp::from_date(field(0..4) as i32, field(5..7), field(8..10)).unwrap()
    }

    #[test]
    fn every_day_round_trips_and_is_one_day_after_the_previous() {
        for year in YEARS {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let mut previous = Timestamp::from_date(year - 1, 12, 31).unwrap();
            let mut days_in_year = 0;
            for month in 1..=12u32 {
                for day in 1..=32u32 {
                    let valid = day
                        <= match month {
                            2 => 28 + u32::from(leap),
                            4 | 6 | 9 | 11 => 30,
                            _ => 31,
                        };
                    let t = Timestamp::from_utc(year, month, day, 13, 59, 58);
                    assert_eq!(t.is_some(), valid, "{year}-{month}-{day}");
                    let Some(t) = t else { continue };
                    let y = i64::from(year);
                    assert_eq!(t.to_utc(), (y, month, day, 13, 59, 58, 0));
                    let midnight = Timestamp::from_date(year, month, day).unwrap();
                    assert_eq!(midnight.as_millis() - previous.as_millis(), 86_400_000);
                    assert_eq!(midnight.to_utc(), (y, month, day, 0, 0, 0, 0));
                    let (.., h, m, s, ms) = Timestamp::from_millis(midnight.0 - 1).to_utc();
                    assert_eq!((h, m, s, ms), (23, 59, 59, 999));
                    previous = midnight;
                    days_in_year += 1;
                }
            }
            assert_eq!(days_in_year, if leap { 366 } else { 365 }, "{year}");
        }
    }

    #[test]
    fn known_instants_and_invalid_fields() {
        assert_eq!(date("1970-01-01").as_millis(), 0);
        assert_eq!(date("2000-03-01").as_millis(), 951_868_800_000);
        assert_eq!(date("2400-02-29").as_millis(), 13_574_563_200_000);
        let t = Timestamp::from_utc(2026, 11, 24, 17, 12, 39).unwrap();
        assert_eq!(t.as_millis(), 1_795_540_359_000);
        assert_eq!(t.to_string(), "2026-11-24T17:12:39.000Z");
        let t = Timestamp::from_millis(-1);
        assert_eq!(t.to_string(), "1969-12-31T23:59:59.999Z");
        for (y, mo, d, h, mi, s) in [
            (2100, 2, 29, 0, 0, 0),
            (2024, 1, 1, 24, 0, 0),
            (2024, 1, 1, 0, 60, 0),
            (2024, 1, 1, 0, 0, 60),
            (2024, 0, 1, 0, 0, 0),
            (2024, 13, 1, 0, 0, 0),
            (2024, 4, 31, 0, 0, 0),
            (2024, 1, 0, 0, 0, 0),
            (i32::MAX, 12, 31, 23, 59, 59),
            (i32::MIN, 1, 1, 0, 0, 0),
        ] {
            assert_eq!(Timestamp::from_utc(y, mo, d, h, mi, s), None);
        }
    }

    #[test]
    fn months_and_years_clamp_to_the_end_of_the_month() {
        for (start, period, end) in [
            ("2028-02-29", years(1), "2029-02-28"),
            ("2028-02-29", years(4), "2032-02-29"),
            ("2096-02-29", years(4), "2100-02-28"),
            ("2396-02-29", years(4), "2400-02-29"),
            ("2000-01-01", years(400), "2400-01-01"),
            ("2024-01-31", months(1), "2024-02-29"),
            ("2023-01-31", months(1), "2023-02-28"),
            ("2023-01-31", months(3), "2023-04-30"),
            ("2023-12-31", months(14), "2025-02-28"),
            ("1969-12-15", months(1), "1970-01-15"),
            ("2100-02-28", days(1), "2100-03-01"),
            ("2400-02-28", days(1), "2400-02-29"),
        ] {
            assert_eq!(date(start).checked_add(period), Some(date(end)), "{start}");
        }
        // Months first, then the fixed part; the time of day is kept.
        let t = Timestamp::from_utc(2024, 1, 31, 10, 0, 0).unwrap();
        let p = months(1)
            .checked_add(days(1))
            .and_then(|p| p.checked_add(hours(2)));
        assert_eq!(
            t.checked_add(p.unwrap()),
            Timestamp::from_utc(2024, 3, 1, 12, 0, 0)
        );
        for year in YEARS {
            for month in 1..=12 {
                for add in 0..30 {
                    let t = Timestamp::from_utc(year, month, 1, 5, 6, 7).unwrap();
                    let (y, m, d, h, ..) = t.checked_add(months(add)).unwrap().to_utc();
                    let total = i64::from(year) * 12 + i64::from(month - 1 + add);
                    let expected = (total / 12, (total % 12) as u32 + 1, 1, 5);
                    assert_eq!((y, m, d, h), expected);
                }
            }
        }
    }

    #[test]
    fn extremes_never_panic() {
        assert_eq!(Timestamp::MAX.to_string(), "+292278994-08-17T07:12:55.807Z");
        assert_eq!(Timestamp::MIN.to_string(), "-292275055-05-16T16:47:04.192Z");
        let t = Timestamp::from_date(10_000, 1, 1).unwrap();
        assert_eq!(t.to_string(), "+010000-01-01T00:00:00.000Z");
        let t = Timestamp::from_date(-1, 1, 1).unwrap();
        assert_eq!(t.to_string(), "-000001-01-01T00:00:00.000Z");
        assert_eq!(date("0000-01-01").to_string(), "0000-01-01T00:00:00.000Z");
        let periods = [
            millis(0),
            millis(1),
            millis(u64::MAX),
            years(u32::MAX),
            months(1),
        ];
        for ms in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let t = Timestamp::from_millis(ms);
            let (y, m, d, h, mi, s, milli) = t.to_utc();
            assert!((1..=12).contains(&m) && (1..=31).contains(&d) && y.abs() < 300_000_000);
            assert!(h < 24 && mi < 60 && s < 60 && milli < 1000);
            for p in periods.into_iter().chain([days(u32::MAX)]) {
                let sum = t.checked_add(p);
                assert!(sum.is_none_or(|s| s >= t));
                assert_eq!(t.saturating_add(p), sum.unwrap_or(Timestamp::MAX));
            }
        }
        assert_eq!(Timestamp::MAX.checked_add(millis(1)), None);
        assert_eq!(Timestamp::MAX.checked_add(millis(0)), Some(Timestamp::MAX));
        let min_plus_all = Timestamp::MIN.checked_add(millis(u64::MAX));
        assert_eq!(min_plus_all, Some(Timestamp::MAX));
        let near_max = Timestamp::from_millis(i64::MAX - 1000);
        assert_eq!(near_max.checked_add(months(1)), None);
    }

    #[test]
    fn period_display_is_canonical_and_round_trips() {
        let seven_years_thirty_days = years(7).checked_add(days(30)).unwrap();
        for (period, text) in [
            (years(7), "7y"),
            (months(18), "18mo"),
            (days(30), "30d"),
            (millis(1500), "1500ms"),
            (millis(0), "0ms"),
            (seven_years_thirty_days, "7y30d"),
            (hours(48), "2d"),
            (minutes(90), "90m"),
            (seconds(3600), "1h"),
            (months(24), "2y"),
            (years(u32::MAX), "4294967295mo"),
            (millis(u64::MAX), "18446744073709551615ms"),
        ] {
            assert_eq!(period.to_string(), text);
            assert_eq!(text.parse::<Period>(), Ok(period));
        }
        let mut n: u64 = 0;
        for months in (0..40).chain([u32::MAX - 1, u32::MAX]) {
            for step in 0..200u64 {
                n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let unit = [1, 1000, 60_000, 3_600_000, MS_PER_DAY][step as usize % 5];
                let millis = (n >> (step % 64)) / unit * unit;
                let p = Period { months, millis };
                assert_eq!(p.to_string().parse::<Period>(), Ok(p), "{p}");
            }
        }
    }

    #[test]
    fn period_parses_sums_and_rejects_garbage() {
        let all = "1y2mo3d4h5m6s7ms".parse::<Period>().unwrap();
        let fixed = 3 * MS_PER_DAY + 4 * MS_PER_HOUR + 5 * MS_PER_MINUTE + 6007;
        assert_eq!((all.months_part(), all.millis_part()), (14, fixed));
        assert_eq!("1y12mo".parse(), Ok(years(2)));
        assert_eq!("0d".parse(), Ok(millis(0)));
        assert_eq!("357913941y3mo".parse(), Ok(months(u32::MAX)));
        let bad = "|7|7x|y7|-1d|+1d|99999999999999999999d| 1d|1d |1 d|1D|01d|1d1y|1d1d|1mo1mo\
                   |1ms1s|ms|1d2|1.5d|1dd|١d|1y_|357913942y|4294967296mo|357913941y4mo\
                   |213503982336d|1s18446744073709551615ms";
        for bad in bad.split('|') {
            assert!(bad.parse::<Period>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(years(1).checked_add(months(u32::MAX)), None);
        assert_eq!(millis(1).checked_add(millis(u64::MAX)), None);
    }

    #[test]
    fn clocks() {
        let now = SystemClock.now().unwrap();
        assert!(now > date("2020-01-01") && now < date("2200-01-01"));
        let clock = ManualClock::new(date("2024-01-31"));
        clock.advance(months(1));
        assert_eq!(clock.now(), Ok(date("2024-02-29")));
        clock.fail("unplugged");
        clock.advance(days(1));
        assert_eq!(clock.now(), Err("unplugged".to_string()));
        clock.set(Timestamp::from_millis(i64::MAX - 1));
        clock.advance(days(1));
        let dynamic: &dyn Clock = &clock;
        assert_eq!(dynamic.now(), Ok(Timestamp::MAX));
    }
}
