//! Fuzzes Go duration parsing as CronJob's `@every <duration>` reaches it.
#![no_main]

use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use wasmjob::cron::Schedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(schedule) = Schedule::parse(&format!("@every {text}")) {
        let after = Timestamp::from_second(1_767_225_600).expect("2026-01-01");
        if let Some(next) = schedule.next(after, &TimeZone::UTC) {
            assert!(next > after, "@every {text:?}: {next} is not after {after}");
        }
    }
});
