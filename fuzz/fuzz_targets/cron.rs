//! Fuzzes CronJob schedule parsing (five fields, names, steps, `@` macros, `TZ=` prefixes)
//! and the next-run search, which must end and move forward.
#![no_main]

use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use wasmjob::cron::Schedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = Schedule::parse(text) else {
        return;
    };
    let mut after = Timestamp::from_second(1_767_225_600).expect("2026-01-01");
    for tz in [TimeZone::UTC, TimeZone::fixed(jiff::tz::offset(-5))] {
        for _ in 0..3 {
            match schedule.next(after, &tz) {
                Some(next) => {
                    assert!(next > after, "{text:?}: {next} is not after {after}");
                    after = next;
                }
                None => break,
            }
        }
    }
});
