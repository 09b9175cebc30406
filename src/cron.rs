//! CronJob schedule arithmetic: robfig/cron v3 `ParseStandard` and `Next`, and upstream's
//! `mostRecentScheduleTime`.
//!
//! Kubernetes delegates all schedule arithmetic to github.com/robfig/cron/v3, so this file is
//! a port of it rather than a cron implementation of its own: the parser keeps robfig's
//! error messages, and `next` replays robfig's field-by-field search on Go's `time`
//! semantics (`time.Date` normalisation across DST gaps, `Truncate` on absolute time), so
//! that a CronJob fires at the same instants here as on a cluster, quirks included.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// robfig's `starBit`: set when a field was written `*` or `?` (or a step-1 range of it).
/// `dayMatches` uses it to choose between AND and OR for day-of-month and day-of-week.
const STAR_BIT: u64 = 1 << 63;

/// The range and names of one field (robfig `bounds`).
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
// robfig v3 bounds day-of-week to 0-6: `7` is rejected ("end of range (7) above maximum
// (6)"), unlike Vixie cron, and Kubernetes inherits that.
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// Upstream's "too many missed start times" threshold (`numberOfMissedSchedules > 100`).
const TOO_MANY_MISSED: u64 = 100;

/// robfig's `Next` never returns where a time zone skips a whole day (Pacific/Apia on
/// 2011-12-30): Go's `AddDate` lands back on the day before, forever. No legitimate search
/// takes more than a few thousand steps in five years, so this many means "no activation".
const NEXT_STEP_LIMIT: u32 = 100_000;

/// After this many `next` steps, `most_recent_schedule_time` stops walking and bisects:
/// upstream's estimate keeps the walk to two or three steps for regular schedules, but an
/// irregular one (`* * * * 1-5`) can leave years of activations between the estimate and
/// now.
const WALK_LIMIT: usize = 1000;

/// A parsed schedule (robfig/cron ParseStandard): 5 fields (minute hour dom month dow) with
/// `*`, `?`, lists, ranges, steps (`*/5`, `1-10/2`, `5/15`), month names (jan–dec) and
/// weekday names (sun–sat; robfig v3 accepts 0–6 only, so `7` is an error, as on a
/// cluster), and descriptors @yearly @annually @monthly @weekly @daily @midnight @hourly
/// and `@every <go duration>` (e.g. `@every 1h30m`, `@every 5s`; robfig rounds down to whole
/// seconds with a minimum of 1 s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// robfig `SpecSchedule`: one bit per allowed value, plus `STAR_BIT`.
    Spec(Spec),
    /// robfig `ConstantDelaySchedule`, already rounded to whole seconds.
    Every { delay_seconds: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spec {
    second: u64,
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

/// Why a schedule does not parse. Messages are robfig's (and, inside them, Go's `strconv`
/// and `time` messages), because Kubernetes shows them verbatim in
/// `spec.schedule: Invalid value: "...": <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The schedule is the empty string.
    #[error("empty spec string")]
    Empty,
    /// Not exactly 5 whitespace-separated fields.
    #[error("expected exactly 5 fields, found {found}: [{}]", .fields.join(" "))]
    FieldCount {
        /// How many fields there were.
        found: usize,
        /// The fields, as Go prints a `[]string`.
        fields: Vec<String>,
    },
    /// A value, range end or step is not an integer (nor a name, where names are allowed).
    #[error("failed to parse int from {expr}: strconv.Atoi: parsing {}: {reason}", crate::go::quote(.expr))]
    NotAnInteger {
        /// The text that was not a number.
        expr: String,
        /// `strconv.Atoi`'s reason.
        reason: crate::go::IntError,
    },
    /// A negative step (`*/-1`).
    #[error("negative number ({number}) not allowed: {expr}")]
    Negative {
        /// The parsed number.
        number: i64,
        /// The text it came from.
        expr: String,
    },
    /// `a-b-c`.
    #[error("too many hyphens: {expr}")]
    TooManyHyphens {
        /// The offending range.
        expr: String,
    },
    /// `a/b/c`.
    #[error("too many slashes: {expr}")]
    TooManySlashes {
        /// The offending range.
        expr: String,
    },
    /// A range starting below the field's minimum (day-of-month or month `0`).
    #[error("beginning of range ({start}) below minimum ({min}): {expr}")]
    BelowMinimum {
        /// The start of the range.
        start: u64,
        /// The field's minimum.
        min: u64,
        /// The offending range.
        expr: String,
    },
    /// A range ending above the field's maximum (`0-60`).
    #[error("end of range ({end}) above maximum ({max}): {expr}")]
    AboveMaximum {
        /// The end of the range.
        end: u64,
        /// The field's maximum.
        max: u64,
        /// The offending range.
        expr: String,
    },
    /// A range whose start is after its end (`10-5`).
    #[error("beginning of range ({start}) beyond end of range ({end}): {expr}")]
    BeyondEnd {
        /// The start of the range.
        start: u64,
        /// The end of the range.
        end: u64,
        /// The offending range.
        expr: String,
    },
    /// A step of zero (`*/0`).
    #[error("step of range should be a positive number: {expr}")]
    ZeroStep {
        /// The offending range.
        expr: String,
    },
    /// `@every` with something Go's `time.ParseDuration` rejects.
    #[error("failed to parse duration {spec}: {message}")]
    Duration {
        /// The whole descriptor, `@every ...`.
        spec: String,
        /// Go's `time.ParseDuration` message.
        message: String,
    },
    /// An `@` word that is not a descriptor.
    #[error("unrecognized descriptor: {spec}")]
    UnrecognizedDescriptor {
        /// The whole descriptor.
        spec: String,
    },
    /// `TZ=`/`CRON_TZ=` naming a zone Go's `time.LoadLocation` does not know.
    #[error("provided bad location {name}: {message}")]
    BadLocation {
        /// The zone name.
        name: String,
        /// Go's `time.LoadLocation` message.
        message: String,
    },
    /// A valid schedule with a `TZ=`/`CRON_TZ=` prefix. robfig accepts it, but Kubernetes
    /// rejects it on create (`validateScheduleFormat`), and the controller adds the zone
    /// itself from `spec.timeZone`, so it is never a schedule here.
    #[error("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")]
    TimeZoneInSchedule,
}

/// Whether the validator must add `cannot use TZ or CRON_TZ in schedule, use timeZone field
/// instead`. Despite the name this is upstream's exact test in `validateScheduleFormat`,
/// `strings.Contains(schedule, "TZ")`, not a prefix check: `* * * * TZ` gets the message
/// too (next to its parse error).
pub fn has_timezone_prefix(spec: &str) -> bool {
    spec.contains("TZ")
}

impl Schedule {
    /// Parses `spec` as robfig's `ParseStandard` does. A `TZ=`/`CRON_TZ=` prefix is an error:
    /// a bad zone or a bad rest gives robfig's message, a valid one gives
    /// [`ParseError::TimeZoneInSchedule`], so a validator that reports every error except
    /// that one, plus its own message when [`has_timezone_prefix`], matches upstream.
    pub fn parse(spec: &str) -> Result<Schedule, ParseError> {
        if spec.is_empty() {
            return Err(ParseError::Empty);
        }
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            // robfig cuts the zone at the first ASCII space; without one Go panics on a
            // slice bound, which we report as a zone followed by an empty schedule.
            let eq = spec.find('=').map_or(0, |i| i + 1);
            let (name, rest) = match spec.find(' ') {
                Some(space) => (&spec[eq..space], spec[space..].trim()),
                None => (&spec[eq..], ""),
            };
            load_location(name)?;
            parse_without_zone(rest)?;
            return Err(ParseError::TimeZoneInSchedule);
        }
        parse_without_zone(spec)
    }

    /// The first activation strictly after `after`, evaluated in `tz` (robfig `Next`):
    /// wall-clock fields in that zone, DST gaps skipped as robfig does. `@every d` returns
    /// after + d rounded down to whole seconds as robfig's ConstantDelaySchedule. `None`
    /// when nothing matches within five years (robfig's zero time).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let next = self.next_second(floor_second(after), tz)?;
        Timestamp::from_second(next).ok()
    }

    /// `next` on whole Unix seconds: robfig only looks at `after` rounded down to the
    /// second, and always answers on a whole second.
    fn next_second(&self, after: i64, tz: &TimeZone) -> Option<i64> {
        match &self.kind {
            Kind::Spec(spec) => spec.next(after, Zone(tz)),
            Kind::Every { delay_seconds } => after.checked_add(*delay_seconds),
        }
    }
}

fn parse_without_zone(spec: &str) -> Result<Schedule, ParseError> {
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    // Go's strings.Fields and Rust's split_whitespace both split on Unicode White_Space.
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(ParseError::FieldCount {
            found: fields.len(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        });
    }
    Ok(Schedule {
        kind: Kind::Spec(Spec {
            // ParseStandard has no seconds field; its default is "0".
            second: 1,
            minute: get_field(fields[0], &MINUTES)?,
            hour: get_field(fields[1], &HOURS)?,
            dom: get_field(fields[2], &DOM)?,
            month: get_field(fields[3], &MONTHS)?,
            dow: get_field(fields[4], &DOW)?,
        }),
    })
}

fn parse_descriptor(spec: &str) -> Result<Schedule, ParseError> {
    let all = |b: &Bounds| get_bits(b.min, b.max, 1) | STAR_BIT;
    let at_midnight = |dom: u64, month: u64, dow: u64| Spec {
        second: 1,
        minute: 1,
        hour: 1,
        dom,
        month,
        dow,
    };
    let spec_schedule = match spec {
        "@yearly" | "@annually" => Some(at_midnight(1 << DOM.min, 1 << MONTHS.min, all(&DOW))),
        "@monthly" => Some(at_midnight(1 << DOM.min, all(&MONTHS), all(&DOW))),
        "@weekly" => Some(at_midnight(all(&DOM), all(&MONTHS), 1 << DOW.min)),
        "@daily" | "@midnight" => Some(at_midnight(all(&DOM), all(&MONTHS), all(&DOW))),
        "@hourly" => Some(Spec {
            hour: all(&HOURS),
            ..at_midnight(all(&DOM), all(&MONTHS), all(&DOW))
        }),
        _ => None,
    };
    if let Some(spec) = spec_schedule {
        return Ok(Schedule {
            kind: Kind::Spec(spec),
        });
    }
    if let Some(duration) = spec.strip_prefix("@every ") {
        let nanos =
            crate::go::parse_duration(duration).map_err(|message| ParseError::Duration {
                spec: spec.to_string(),
                message,
            })?;
        // robfig `Every`: under a second becomes a second, then sub-second parts go.
        return Ok(Schedule {
            kind: Kind::Every {
                delay_seconds: nanos.max(1_000_000_000) / 1_000_000_000,
            },
        });
    }
    Err(ParseError::UnrecognizedDescriptor {
        spec: spec.to_string(),
    })
}

/// robfig `getField`: a comma-separated list of ranges; empty items are dropped, as Go's
/// `strings.FieldsFunc` does, so `,` alone is a field that never matches.
fn get_field(field: &str, bounds: &Bounds) -> Result<u64, ParseError> {
    field
        .split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0, |bits, r| Ok(bits | get_range(r, bounds)?))
}

/// robfig `getRange`: `number | number "-" number [ "/" number ]`, with `*`/`?` for the
/// whole range. The order of the checks decides which message wins, so it is upstream's.
fn get_range(expr: &str, bounds: &Bounds) -> Result<u64, ParseError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let mut extra = 0;
    let start;
    let mut end;
    // Only the first part is looked at, so `*-5` is a plain `*`, as in robfig.
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        start = bounds.min;
        end = bounds.max;
        extra = STAR_BIT;
    } else {
        start = parse_int_or_name(low_and_high[0], bounds)?;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], bounds)?,
            _ => {
                return Err(ParseError::TooManyHyphens {
                    expr: expr.to_string(),
                });
            }
        };
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = bounds.max;
            }
            // `*/2` no longer counts as a star for dayMatches, but `*/1` still does.
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => {
            return Err(ParseError::TooManySlashes {
                expr: expr.to_string(),
            });
        }
    };
    if start < bounds.min {
        return Err(ParseError::BelowMinimum {
            start,
            min: bounds.min,
            expr: expr.to_string(),
        });
    }
    if end > bounds.max {
        return Err(ParseError::AboveMaximum {
            end,
            max: bounds.max,
            expr: expr.to_string(),
        });
    }
    if start > end {
        return Err(ParseError::BeyondEnd {
            start,
            end,
            expr: expr.to_string(),
        });
    }
    if step == 0 {
        return Err(ParseError::ZeroStep {
            expr: expr.to_string(),
        });
    }
    Ok(get_bits(start, end, step) | extra)
}

fn parse_int_or_name(expr: &str, bounds: &Bounds) -> Result<u64, ParseError> {
    let lower = expr.to_lowercase();
    match bounds.names.iter().find(|(name, _)| *name == lower) {
        Some((_, value)) => Ok(*value),
        None => must_parse_int(expr),
    }
}

/// robfig `mustParseInt`: `strconv.Atoi`, then no negatives.
fn must_parse_int(expr: &str) -> Result<u64, ParseError> {
    match crate::go::atoi(expr) {
        Err(reason) => Err(ParseError::NotAnInteger {
            expr: expr.to_string(),
            reason,
        }),
        Ok(number) if number < 0 => Err(ParseError::Negative {
            number,
            expr: expr.to_string(),
        }),
        Ok(number) => Ok(number.unsigned_abs()),
    }
}

/// robfig `getBits`: every `step`th value in `[min, max]`.
fn get_bits(min: u64, max: u64, step: u64) -> u64 {
    if step == 1 {
        return !(u64::MAX << (max + 1)) & (u64::MAX << min);
    }
    let mut bits = 0;
    let mut i = min;
    while i <= max {
        bits |= 1 << i;
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    bits
}

/// Go's `time.LoadLocation`, as far as its outcome: `""` is UTC, `Local` the local zone,
/// anything else must be in the tz database.
fn load_location(name: &str) -> Result<(), ParseError> {
    let bad = |message: String| ParseError::BadLocation {
        name: name.to_string(),
        message,
    };
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(());
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return Err(bad("time: invalid location name".to_string()));
    }
    TimeZone::get(name)
        .map(|_| ())
        .map_err(|_| bad(format!("unknown time zone {name}")))
}

/// Wall-clock fields of an instant in a zone, as Go's `Time` accessors give them.
#[derive(Clone, Copy, Debug)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// 0 = Sunday, as Go's `Weekday`.
    weekday: i64,
}

/// The few operations of Go's `time` package that robfig's `Next` uses, on Unix seconds.
/// Instants outside jiff's range (years ±9999) are `None`, which ends the search.
#[derive(Clone, Copy)]
struct Zone<'a>(&'a TimeZone);

impl Zone<'_> {
    /// UTC offset in seconds at an instant (Go `Location.lookup`).
    fn offset(self, unix: i64) -> Option<i64> {
        let ts = Timestamp::from_second(unix).ok()?;
        Some(i64::from(self.0.to_offset(ts).seconds()))
    }

    fn civil(self, unix: i64) -> Option<Civil> {
        let local = unix + self.offset(unix)?;
        let days = local.div_euclid(86_400);
        let seconds = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(Civil {
            year,
            month,
            day,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7),
        })
    }

    /// Go's `time.Date`: fields overflow into the next larger one, and a wall-clock time
    /// in a DST gap or overlap resolves the way Go's two-lookup algorithm does (the offset
    /// in force at `local - offset(local)`), which decides where robfig lands around DST.
    fn date(
        self,
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
    ) -> Option<i64> {
        let month0 = month - 1;
        let (year, month) = (year + month0.div_euclid(12), month0.rem_euclid(12) + 1);
        let local = (days_from_civil(year, month, 1) + day - 1) * 86_400
            + hour * 3600
            + minute * 60
            + second;
        let guess = self.offset(local)?;
        Some(local - self.offset(local - guess)?)
    }

    /// Go's `Time.AddDate`: add to the wall-clock date, keep the wall-clock time, normalise.
    fn add_date(self, unix: i64, months: i64, days: i64) -> Option<i64> {
        let c = self.civil(unix)?;
        self.date(
            c.year,
            c.month + months,
            c.day + days,
            c.hour,
            c.minute,
            c.second,
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of `days_from_civil`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn has(bits: u64, value: i64) -> bool {
    (0..63).contains(&value) && bits & (1 << value) != 0
}

impl Spec {
    /// robfig `SpecSchedule.Next`, step for step: find the first matching month, then day,
    /// hour, minute and second, resetting the smaller fields the first time one moves and
    /// starting over ("WRAP") whenever a field rolls over, for at most five years. Whole
    /// months, days and hours are skipped at once, so sparse schedules stay cheap.
    fn next(&self, after: i64, zone: Zone) -> Option<i64> {
        if self.never_matches() {
            // robfig would search the full five years to find nothing; the answer is the same.
            return None;
        }
        // Start at the earliest possible time (the upcoming second).
        let mut t = after.checked_add(1)?;
        // Whether a field has been incremented, i.e. the smaller fields were reset.
        let mut added = false;
        let mut steps = 0;
        let mut step = || {
            steps += 1;
            (steps <= NEXT_STEP_LIMIT).then_some(())
        };
        let year_limit = zone.civil(t)?.year + 5;
        'wrap: loop {
            if zone.civil(t)?.year > year_limit {
                return None;
            }
            loop {
                step()?;
                let c = zone.civil(t)?;
                if has(self.month, c.month) {
                    break;
                }
                if !added {
                    added = true;
                    t = zone.date(c.year, c.month, 1, 0, 0, 0)?;
                }
                t = zone.add_date(t, 1, 0)?;
                if zone.civil(t)?.month == 1 {
                    continue 'wrap;
                }
            }
            loop {
                step()?;
                let c = zone.civil(t)?;
                if self.day_matches(&c) {
                    break;
                }
                if !added {
                    added = true;
                    t = zone.date(c.year, c.month, c.day, 0, 0, 0)?;
                }
                t = zone.add_date(t, 0, 1)?;
                // Where DST moves midnight, robfig pulls the time back to the nearest
                // midnight: forward from 23h, back from 1h.
                let hour = zone.civil(t)?.hour;
                if hour > 12 {
                    t += (24 - hour) * 3600;
                } else {
                    t -= hour * 3600;
                }
                if zone.civil(t)?.day == 1 {
                    continue 'wrap;
                }
            }
            loop {
                step()?;
                let c = zone.civil(t)?;
                if has(self.hour, c.hour) {
                    break;
                }
                if !added {
                    added = true;
                    t = zone.date(c.year, c.month, c.day, c.hour, 0, 0)?;
                }
                t += 3600;
                if zone.civil(t)?.hour == 0 {
                    continue 'wrap;
                }
            }
            loop {
                step()?;
                let c = zone.civil(t)?;
                if has(self.minute, c.minute) {
                    break;
                }
                if !added {
                    added = true;
                    // Go's Truncate works on absolute time, not on the wall clock.
                    t -= t.rem_euclid(60);
                }
                t += 60;
                if zone.civil(t)?.minute == 0 {
                    continue 'wrap;
                }
            }
            loop {
                step()?;
                let c = zone.civil(t)?;
                if has(self.second, c.second) {
                    break;
                }
                // robfig's Truncate(Second) is a no-op on whole seconds, but the flag
                // still matters after a wrap (e.g. when DST moves the clock back).
                added = true;
                t += 1;
                if zone.civil(t)?.second == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }

    /// robfig `dayMatches`: if either day field is a star, both must match (so only the
    /// other one restricts); if both are restricted, either may match.
    fn day_matches(&self, c: &Civil) -> bool {
        let dom = has(self.dom, c.day);
        let dow = has(self.dow, c.weekday);
        if (self.dom | self.dow) & STAR_BIT != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// A field with no value at all (written `,`) can never match.
    fn never_matches(&self) -> bool {
        let [minute, hour, dom, month, dow] =
            [self.minute, self.hour, self.dom, self.month, self.dow].map(|b| b & !STAR_BIT);
        let days_never = if (self.dom | self.dow) & STAR_BIT != 0 {
            dom == 0 || dow == 0
        } else {
            dom == 0 && dow == 0
        };
        minute == 0 || hour == 0 || month == 0 || days_never
    }
}

/// Unix seconds of `t` rounded down, as robfig's `t.Add(1s - t.Nanosecond())` sees it.
fn floor_second(t: Timestamp) -> i64 {
    t.as_second() - i64::from(t.subsec_nanosecond() < 0)
}

/// What the CronJob controller's `mostRecentScheduleTime` returns: the most recent
/// activation in (earliest, now], how many activations were missed in that interval, and
/// whether there were more than 100 (upstream's "too many missed start times" cut-off;
/// when more than 100, still return the most recent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The activation to run now, if any.
    pub most_recent: Option<Timestamp>,
    /// 0 when nothing is due, 1 when only the first activation is, else upstream's
    /// `numberOfMissedSchedules`: exact for regular schedules, an estimate (the interval
    /// divided by the gap between the first two activations) for irregular ones.
    pub count: u64,
    /// `count > 100`: the controller records the `TooManyMissedTimes` warning.
    pub too_many: bool,
}

/// `earliest` = max(lastScheduleTime or creationTimestamp, now - startingDeadlineSeconds)
/// as the controller computes it in `mostRecentScheduleTime`.
pub fn earliest_time(
    last_schedule: Option<Timestamp>,
    created: Timestamp,
    starting_deadline_seconds: Option<i64>,
    now: Timestamp,
) -> Timestamp {
    let earliest = last_schedule.unwrap_or(created);
    let deadline =
        starting_deadline_seconds.and_then(|s| now.checked_sub(SignedDuration::from_secs(s)).ok());
    match deadline {
        Some(deadline) if deadline > earliest => deadline,
        _ => earliest,
    }
}

/// Upstream `mostRecentScheduleTime` (pkg/controller/cronjob/utils.go), given `earliest`
/// from [`earliest_time`]. With `t1`, `t2` the first two activations after `earliest`:
/// nothing before `t1`; just `t1` (count 1) before `t2`; otherwise upstream estimates
/// `count = (now - t1) / (t2 - t1) + 1` in whole seconds and walks from
/// `t1 + (count - 2)(t2 - t1)` to the last activation at or before `now`. For irregular
/// schedules that start can already be past the last activation, and then upstream (and
/// so this) returns no time although `count > 0`: the controller creates nothing and
/// requeues at the next activation after `now`.
///
/// A schedule with no activation within five years of `earliest` or of `t1` gives nothing:
/// upstream reports that as an error ("time difference between two schedules is less than
/// 1 second", event `InvalidSchedule`) and creates nothing either.
pub fn most_recent_schedule_time(
    schedule: &Schedule,
    tz: &TimeZone,
    earliest: Timestamp,
    now: Timestamp,
) -> Missed {
    let nothing = Missed {
        most_recent: None,
        count: 0,
        too_many: false,
    };
    let now_second = floor_second(now);
    let Some(t1) = schedule.next_second(floor_second(earliest), tz) else {
        return nothing;
    };
    if now_second < t1 {
        return nothing;
    }
    let Some(t2) = schedule.next_second(t1, tz) else {
        return nothing;
    };
    if now_second < t2 {
        return Missed {
            most_recent: Timestamp::from_second(t1).ok(),
            count: 1,
            too_many: false,
        };
    }
    let between = t2 - t1;
    if between < 1 {
        return nothing;
    }
    // Go: int64(now.Sub(t1).Seconds()). Sub saturates at about 292 years, and Seconds()
    // is float64 arithmetic, which can round up to the next second: kept for the count.
    let elapsed_nanos = (i128::from(now.as_second() - t1) * 1_000_000_000
        + i128::from(now.subsec_nanosecond()))
    .min(i128::from(i64::MAX));
    let elapsed = ((elapsed_nanos / 1_000_000_000) as f64
        + (elapsed_nanos % 1_000_000_000) as f64 / 1e9) as i64;
    let count = elapsed / between + 1;
    // One interval before the estimated last activation, so that the walk corrects
    // schedules whose gaps are not all equal.
    let start = t1 + (count - 2) * between;
    let most_recent = last_activation(schedule, tz, start, now_second);
    Missed {
        most_recent: most_recent.and_then(|t| Timestamp::from_second(t).ok()),
        count: count.unsigned_abs(),
        too_many: count.unsigned_abs() > TOO_MANY_MISSED,
    }
}

/// The last of `next(start)`, `next(next(start))`, ... that is at or before `now`, as
/// upstream's loop finds it; after `WALK_LIMIT` steps, found by bisection instead, which
/// gives the same answer because `next` is monotonic.
fn last_activation(schedule: &Schedule, tz: &TimeZone, start: i64, now: i64) -> Option<i64> {
    let due = |after: i64| schedule.next_second(after, tz).filter(|&t| t <= now);
    let mut last = None;
    let mut from = start;
    for _ in 0..WALK_LIMIT {
        match due(from) {
            Some(t) => {
                last = Some(t);
                from = t;
            }
            None => return last,
        }
    }
    // Invariant: something is due after `low`, nothing after `high` (next(now) > now).
    let (mut low, mut high) = (from, now);
    if due(low).is_none() {
        return last;
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if due(mid).is_some() {
            low = mid;
        } else {
            high = mid;
        }
    }
    due(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn spec_of(spec: &str) -> Spec {
        match Schedule::parse(spec).expect("valid spec").kind {
            Kind::Spec(s) => s,
            Kind::Every { .. } => panic!("{spec} is not a field schedule"),
        }
    }

    fn bits(values: &[u64]) -> u64 {
        values.iter().fold(0, |b, v| b | 1 << v)
    }

    #[test]
    fn each_field_syntax_parses_to_robfig_bits() {
        type Field = fn(&Spec) -> u64;
        let cases: &[(&str, Field, u64)] = &[
            ("5 * * * *", |s| s.minute, bits(&[5])),
            ("1,2,40 * * * *", |s| s.minute, bits(&[1, 2, 40])),
            ("10-13 * * * *", |s| s.minute, bits(&[10, 11, 12, 13])),
            ("*/15 * * * *", |s| s.minute, bits(&[0, 15, 30, 45])),
            ("1-10/3 * * * *", |s| s.minute, bits(&[1, 4, 7, 10])),
            ("5/20 * * * *", |s| s.minute, bits(&[5, 25, 45])),
            ("0 */1 * * *", |s| s.hour, get_bits(0, 23, 1) | STAR_BIT),
            ("0 0 * * *", |s| s.dom, get_bits(1, 31, 1) | STAR_BIT),
            ("0 0 ? * *", |s| s.dom, get_bits(1, 31, 1) | STAR_BIT),
            ("0 0 */2 * *", |s| s.dom, get_bits(1, 31, 2)),
            ("0 0 * JAN-mar *", |s| s.month, bits(&[1, 2, 3])),
            ("0 0 * dec,1 *", |s| s.month, bits(&[1, 12])),
            ("0 0 * * MON,wed,0", |s| s.dow, bits(&[0, 1, 3])),
            ("0 0 * * sun-sat", |s| s.dow, get_bits(0, 6, 1)),
            ("0 0 * * *-3", |s| s.dow, get_bits(0, 6, 1) | STAR_BIT),
            ("0 0 * * 1,,2", |s| s.dow, bits(&[1, 2])),
            ("0 0 * * +2", |s| s.dow, bits(&[2])),
        ];
        for (spec, field, want) in cases {
            assert_eq!(field(&spec_of(spec)), *want, "{spec}");
        }
    }

    #[test]
    fn descriptors_parse_like_their_five_field_forms() {
        let cases = [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ];
        for (descriptor, fields) in cases {
            let (d, f) = (spec_of(descriptor), spec_of(fields));
            // Only the star bit of a single-value field differs; compare activations.
            let after = ts("2024-02-27T13:14:15Z");
            let (mut a, mut b) = (after, after);
            for _ in 0..5 {
                a = Schedule {
                    kind: Kind::Spec(d),
                }
                .next(a, &utc())
                .unwrap();
                b = Schedule {
                    kind: Kind::Spec(f),
                }
                .next(b, &utc())
                .unwrap();
                assert_eq!(a, b, "{descriptor}");
            }
        }
    }

    #[test]
    fn every_rounds_down_to_whole_seconds_with_a_minimum_of_one() {
        let cases = [
            ("@every 1h30m", 5400),
            ("@every 5s", 5),
            ("@every 90s", 90),
            ("@every 1.5s", 1),
            ("@every 2500ms", 2),
            ("@every 100ms", 1),
            ("@every 0", 1),
            ("@every -5m", 1),
            ("@every 1h0.5m", 3630),
            ("@every 1\u{b5}s", 1),
        ];
        for (spec, want) in cases {
            let got = Schedule::parse(spec).unwrap().kind;
            assert_eq!(
                got,
                Kind::Every {
                    delay_seconds: want
                },
                "{spec}"
            );
        }
    }

    #[test]
    fn invalid_schedules_give_robfigs_messages() {
        let cases = [
            ("", "empty spec string"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            (
                "* * * * * *",
                "expected exactly 5 fields, found 6: [* * * * * *]",
            ),
            ("   ", "expected exactly 5 fields, found 0: []"),
            (" @daily", "expected exactly 5 fields, found 1: [@daily]"),
            (
                "x * * * *",
                "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "-1 * * * *",
                "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax",
            ),
            (
                "99999999999999999999 * * * *",
                "failed to parse int from 99999999999999999999: strconv.Atoi: parsing \
                 \"99999999999999999999\": value out of range",
            ),
            ("*/-1 * * * *", "negative number (-1) not allowed: -1"),
            ("0-60 * * * *", "end of range (60) above maximum (59): 0-60"),
            ("* 24 * * *", "end of range (24) above maximum (23): 24"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            ("* * * 13 *", "end of range (13) above maximum (12): 13"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
            (
                "10-5 * * * *",
                "beginning of range (10) beyond end of range (5): 10-5",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("*/2/3 * * * *", "too many slashes: */2/3"),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            (
                "* * * foo *",
                "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax",
            ),
            ("@foo", "unrecognized descriptor: @foo"),
            ("@every", "unrecognized descriptor: @every"),
            ("@daily ", "unrecognized descriptor: @daily "),
            (
                "@every 1x",
                "failed to parse duration @every 1x: time: unknown unit \"x\" in duration \"1x\"",
            ),
            (
                "@every 10",
                "failed to parse duration @every 10: time: missing unit in duration \"10\"",
            ),
            (
                "@every ",
                "failed to parse duration @every : time: invalid duration \"\"",
            ),
            (
                "@every .s",
                "failed to parse duration @every .s: time: invalid duration \".s\"",
            ),
            (
                "TZ=America/New_York 0 9 * * *",
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ),
            (
                "CRON_TZ=UTC @daily",
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ),
            (
                "CRON_TZ=Not/AZone * * * * *",
                "provided bad location Not/AZone: unknown time zone Not/AZone",
            ),
            (
                "TZ=UTC * * * *",
                "expected exactly 5 fields, found 4: [* * * *]",
            ),
        ];
        for (spec, want) in cases {
            let got = Schedule::parse(spec).expect_err(spec).to_string();
            assert_eq!(got, want, "{spec:?}");
        }
    }

    #[test]
    fn the_time_zone_check_is_upstreams_contains_tz() {
        assert!(has_timezone_prefix("TZ=UTC 0 * * * *"));
        assert!(has_timezone_prefix("CRON_TZ=UTC 0 * * * *"));
        assert!(has_timezone_prefix("0 * * * TZ"));
        assert!(!has_timezone_prefix("0 * * * *"));
        assert!(!has_timezone_prefix("tz=UTC 0 * * * *"));
    }

    #[test]
    fn next_matches_robfig_for_common_schedules_in_utc() {
        let cases = [
            (
                "*/1 * * * *",
                "2024-03-10T10:00:00Z",
                "2024-03-10T10:01:00Z",
            ),
            (
                "*/1 * * * *",
                "2024-03-10T10:00:59.999Z",
                "2024-03-10T10:01:00Z",
            ),
            ("* * * * *", "2024-12-31T23:59:30Z", "2025-01-01T00:00:00Z"),
            ("0 * * * *", "2024-03-10T10:00:00Z", "2024-03-10T11:00:00Z"),
            ("0 * * * *", "2024-03-10T10:59:59Z", "2024-03-10T11:00:00Z"),
            // Friday evening to Monday morning, then Monday to Tuesday.
            (
                "30 2 * * 1-5",
                "2024-03-08T03:00:00Z",
                "2024-03-11T02:30:00Z",
            ),
            (
                "30 2 * * 1-5",
                "2024-03-11T02:30:00Z",
                "2024-03-12T02:30:00Z",
            ),
            ("0 0 1 * *", "2024-01-31T12:00:00Z", "2024-02-01T00:00:00Z"),
            ("0 0 1 * *", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            ("@hourly", "2024-03-10T10:30:00Z", "2024-03-10T11:00:00Z"),
            ("@daily", "2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z"),
            ("@weekly", "2024-03-10T00:00:00Z", "2024-03-17T00:00:00Z"),
            ("@monthly", "2024-03-10T00:00:00Z", "2024-04-01T00:00:00Z"),
            ("@yearly", "2024-03-10T00:00:00Z", "2025-01-01T00:00:00Z"),
            ("@every 90s", "2024-03-10T10:00:00Z", "2024-03-10T10:01:30Z"),
            (
                "@every 90s",
                "2024-03-10T10:00:00.7Z",
                "2024-03-10T10:01:30Z",
            ),
            // Leap day: 2025-2027 have none.
            ("0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
            ("0 0 29 2 *", "2023-06-15T08:00:00Z", "2024-02-29T00:00:00Z"),
            // Both day fields restricted: the 13th OR any Friday.
            ("0 0 13 * 5", "2024-09-01T00:00:00Z", "2024-09-06T00:00:00Z"),
            ("0 0 13 * 5", "2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"),
            ("0 0 13 * 5", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z"),
            ("0 0 13 * 5", "2024-10-11T00:00:00Z", "2024-10-13T00:00:00Z"),
            // A star (even `*/1`) on one side makes the other the only restriction.
            (
                "0 0 */1 * 5",
                "2024-09-06T00:00:00Z",
                "2024-09-13T00:00:00Z",
            ),
            ("0 0 13 * *", "2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"),
            // Names: Monday and Wednesday 09:00, January to March only.
            (
                "0 9 * jan-mar mon,wed",
                "2024-03-27T09:00:00Z",
                "2025-01-01T09:00:00Z",
            ),
            (
                "0 9 * jan-mar mon,wed",
                "2025-01-01T09:00:00Z",
                "2025-01-06T09:00:00Z",
            ),
            (
                "0 9 * jan-mar MON,WED",
                "2025-01-06T08:59:59Z",
                "2025-01-06T09:00:00Z",
            ),
        ];
        for (spec, after, want) in cases {
            let schedule = Schedule::parse(spec).unwrap();
            assert_eq!(
                schedule.next(ts(after), &utc()),
                Some(ts(want)),
                "{spec} after {after}"
            );
        }
    }

    #[test]
    fn next_gives_up_after_five_years_as_robfig_does() {
        for spec in ["0 0 30 2 *", "0 0 31 4 *", ", * * * *", "0 0 , , *"] {
            let schedule = Schedule::parse(spec).unwrap();
            assert_eq!(
                schedule.next(ts("2024-01-01T00:00:00Z"), &utc()),
                None,
                "{spec}"
            );
        }
        // 2100 is not a leap year: from 2096 the next 29 February is 8 years away.
        let leap = Schedule::parse("0 0 29 2 *").unwrap();
        assert_eq!(leap.next(ts("2096-03-01T00:00:00Z"), &utc()), None);
    }

    #[test]
    fn next_follows_wall_clock_across_new_york_dst_changes() {
        let Ok(ny) = TimeZone::get("America/New_York") else {
            eprintln!("skipped: America/New_York is not in the tz database");
            return;
        };
        let nine = Schedule::parse("0 9 * * *").unwrap();
        let cases = [
            // 09:00 EST is 14:00 UTC; after the 10 March 2024 change 09:00 EDT is 13:00 UTC.
            ("2024-03-09T14:00:00Z", "2024-03-10T13:00:00Z"),
            ("2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z"),
            ("2024-11-02T13:00:00Z", "2024-11-03T14:00:00Z"),
        ];
        for (after, want) in cases {
            assert_eq!(nine.next(ts(after), &ny), Some(ts(want)), "after {after}");
        }
        // 02:30 does not exist on 10 March 2024: robfig skips that day.
        let gap = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            gap.next(ts("2024-03-09T07:30:00Z"), &ny),
            Some(ts("2024-03-11T06:30:00Z"))
        );
        // 01:30 happens twice on 3 November 2024: robfig fires at both.
        let twice = Schedule::parse("30 1 * * *").unwrap();
        let first = twice.next(ts("2024-11-03T04:00:00Z"), &ny).unwrap();
        assert_eq!(first, ts("2024-11-03T05:30:00Z"));
        assert_eq!(twice.next(first, &ny), Some(ts("2024-11-03T06:30:00Z")));
    }

    #[test]
    fn next_gives_up_where_robfig_would_loop_forever_on_a_skipped_day() {
        let Ok(apia) = TimeZone::get("Pacific/Apia") else {
            eprintln!("skipped: Pacific/Apia is not in the tz database");
            return;
        };
        // Samoa skipped 30 December 2011; robfig's day search never gets past it.
        let monthly = Schedule::parse("@monthly").unwrap();
        assert_eq!(monthly.next(ts("2011-12-11T00:00:00Z"), &apia), None);
        assert_eq!(
            monthly.next(ts("2012-01-15T00:00:00Z"), &apia),
            Some(ts("2012-01-31T10:00:00Z"))
        );
    }

    #[test]
    fn earliest_time_is_the_later_of_last_schedule_and_the_starting_deadline() {
        let created = ts("2024-01-01T00:00:00Z");
        let last = ts("2024-01-01T10:00:00Z");
        let now = ts("2024-01-01T12:00:00Z");
        let cases = [
            (None, None, created),
            (Some(last), None, last),
            (Some(last), Some(3600), ts("2024-01-01T11:00:00Z")),
            (Some(last), Some(3 * 3600), last),
            (None, Some(60), ts("2024-01-01T11:59:00Z")),
        ];
        for (last_schedule, deadline, want) in cases {
            assert_eq!(earliest_time(last_schedule, created, deadline, now), want);
        }
    }

    #[test]
    fn most_recent_schedule_time_counts_missed_activations_like_upstream() {
        struct Case {
            name: &'static str,
            spec: &'static str,
            earliest: &'static str,
            now: &'static str,
            most_recent: Option<&'static str>,
            count: u64,
            too_many: bool,
        }
        let cases = [
            Case {
                name: "nothing missed before the first activation",
                spec: "0 * * * *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-01T10:59:59Z",
                most_recent: None,
                count: 0,
                too_many: false,
            },
            Case {
                name: "one missed activation",
                spec: "0 * * * *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-01T11:00:30Z",
                most_recent: Some("2024-05-01T11:00:00Z"),
                count: 1,
                too_many: false,
            },
            Case {
                name: "five missed activations",
                spec: "0 * * * *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-01T15:20:00Z",
                most_recent: Some("2024-05-01T15:00:00Z"),
                count: 5,
                too_many: false,
            },
            Case {
                name: "exactly one hundred missed is not too many",
                spec: "*/1 * * * *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-01T11:40:00Z",
                most_recent: Some("2024-05-01T11:40:00Z"),
                count: 100,
                too_many: false,
            },
            Case {
                name: "one hundred and one missed is too many",
                spec: "*/1 * * * *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-01T11:41:00Z",
                most_recent: Some("2024-05-01T11:41:00Z"),
                count: 101,
                too_many: true,
            },
            Case {
                name: "years of a per-minute schedule are computed, not walked",
                spec: "*/1 * * * *",
                earliest: "2019-05-01T10:00:00Z",
                now: "2024-05-01T10:00:30.5Z",
                most_recent: Some("2024-05-01T10:00:00Z"),
                count: 2_630_880,
                too_many: true,
            },
            Case {
                name: "every schedules count from the earliest time",
                spec: "@every 90s",
                earliest: "2024-05-01T10:00:10Z",
                now: "2024-05-01T12:00:00Z",
                most_recent: Some("2024-05-01T11:58:40Z"),
                count: 79,
                too_many: false,
            },
            Case {
                name: "weekday schedules find the last weekday activation",
                spec: "30 6-16/4 * * 1-5",
                earliest: "2024-05-03T14:30:00Z",
                now: "2024-05-07T11:00:00Z",
                most_recent: Some("2024-05-07T10:30:00Z"),
                count: 8,
                too_many: false,
            },
            Case {
                // Upstream's estimate starts past Monday 10:00, so it returns no time.
                name: "an estimate past the last activation returns no time as upstream does",
                spec: "0 9,10 * * 1-5",
                earliest: "2024-05-03T10:00:00Z",
                now: "2024-05-06T23:00:00Z",
                most_recent: None,
                count: 15,
                too_many: false,
            },
            Case {
                name: "an impossible schedule has nothing to run",
                spec: "0 0 30 2 *",
                earliest: "2024-05-01T10:00:00Z",
                now: "2024-05-07T11:00:00Z",
                most_recent: None,
                count: 0,
                too_many: false,
            },
        ];
        for c in cases {
            let schedule = Schedule::parse(c.spec).unwrap();
            let got = most_recent_schedule_time(&schedule, &utc(), ts(c.earliest), ts(c.now));
            let want = Missed {
                most_recent: c.most_recent.map(ts),
                count: c.count,
                too_many: c.too_many,
            };
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn a_long_irregular_gap_is_bisected_to_the_same_answer_as_walking() {
        // From a Friday 23:59, t1 and t2 are two days apart, so upstream's estimate starts
        // years early and the per-minute weekday activations must be bisected.
        let schedule = Schedule::parse("* * * * 1-5").unwrap();
        let earliest = ts("2019-05-03T23:58:30Z");
        let now = ts("2024-05-08T10:00:30Z");
        let got = most_recent_schedule_time(&schedule, &utc(), earliest, now);
        assert_eq!(got.most_recent, Some(ts("2024-05-08T10:00:00Z")));
        assert_eq!((got.count, got.too_many), (916, true));
        // Walking and bisecting agree on a short window too.
        let start = floor_second(ts("2024-05-03T12:00:00Z"));
        let end = floor_second(ts("2024-05-06T00:00:30Z"));
        let mut walked = None;
        let mut t = start;
        while let Some(n) = schedule.next_second(t, &utc()).filter(|&n| n <= end) {
            walked = Some(n);
            t = n;
        }
        assert_eq!(last_activation(&schedule, &utc(), start, end), walked);
    }
}
