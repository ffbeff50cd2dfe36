//! Expected fire times were worked out by hand from a calendar (2026-11-01 is
//! a Sunday, 2026-12-01 a Tuesday, 2027-01-01 a Friday), not copied from the
//! implementation's output. Tables are `|`-separated text so that each case
//! stays on one readable line.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};

use super::{Days, Fields, ValueSet, parse_fields};
use super::{Rate, RateUnit, Schedule};

/// A Friday morning: `now` in the tables.
const NOW: &str = "2026-11-27 09:21";
/// Rate anchor: a Friday 08:00, so NOW is itself a whole-minute fire.
const ANCHOR: &str = "2026-11-20 08:00";

/// Parses "YYYY-MM-DD HH:MM[:SS[.fff]]" (or "now") as UTC.
fn at(text: &str) -> DateTime<Utc> {
    let text = if text == "now" { NOW } else { text };
    let full = if text.len() == 16 {
        format!("{text}:00")
    } else {
        text.to_string()
    };
    let parsed = chrono::NaiveDateTime::parse_from_str(&full, "%Y-%m-%d %H:%M:%S%.f");
    parsed
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
        .and_utc()
}

fn schedule(expr: &str) -> Schedule {
    Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr} should parse: {e}"))
}

/// Up to `n` successive fire times after `after`, joined by ", "; fewer when
/// the schedule ends.
fn fires(expr: &str, after: &str, n: usize) -> String {
    let (schedule, anchor) = (schedule(expr), at(ANCHOR));
    let mut now = at(after);
    let mut out = Vec::new();
    while out.len() < n {
        let Some(next) = schedule.next_after(now, anchor) else {
            break;
        };
        assert!(next > now, "{expr}: {next} is not after {now}");
        out.push(next.format("%Y-%m-%d %H:%M").to_string());
        now = next;
    }
    out.join(", ")
}

/// The cells of each row of a `|`-separated table, skipping blank lines and
/// `//` comments.
fn rows(table: &str) -> Vec<Vec<&str>> {
    let lines = table.lines().map(str::trim);
    let lines = lines.filter(|line| !line.is_empty() && !line.starts_with("//"));
    lines
        .map(|line| line.split('|').map(str::trim).collect())
        .collect()
}

/// Checks rows of `expr | after | fire, fire, ...`, with a fourth cell `end`
/// when nothing may fire after those.
fn check_fires(table: &str) {
    for row in rows(table) {
        let (expr, after, expected, ends) = match row[..] {
            [expr, after, expected] => (expr, after, expected, false),
            [expr, after, expected, "end"] => (expr, after, expected, true),
            _ => panic!("bad row {row:?}"),
        };
        let count = expected.split(", ").filter(|s| !s.is_empty()).count();
        let got = fires(expr, after, if ends { count + 3 } else { count });
        assert_eq!(got, expected, "{expr} after {after}");
    }
}

#[test]
fn documented_examples_fire_when_expected() {
    check_fires(
        "
        cron(0 10 * * ? *)           | now | 2026-11-27 10:00, 2026-11-28 10:00, 2026-11-29 10:00
        cron(15 12 * * ? *)          | now | 2026-11-27 12:15, 2026-11-28 12:15, 2026-11-29 12:15
        // Friday evening, then over the weekend to Monday 30th and Tuesday 1st.
        cron(0 18 ? * MON-FRI *)     | now | 2026-11-27 18:00, 2026-11-30 18:00, 2026-12-01 18:00
        cron(0 8 1 * ? *)            | now | 2026-12-01 08:00, 2027-01-01 08:00, 2027-02-01 08:00
        cron(0/15 * * * ? *)         | now | 2026-11-27 09:30, 2026-11-27 09:45, 2026-11-27 10:00
        cron(0/10 * ? * MON-FRI *)   | now | 2026-11-27 09:30, 2026-11-27 09:40, 2026-11-27 09:50
        cron(0/5 8-17 ? * MON-FRI *) | now | 2026-11-27 09:25, 2026-11-27 09:30, 2026-11-27 09:35
        // First Monday: Nov 2 has passed; Dec 7, Jan 4, and Feb 1 (a Monday).
        cron(0 9 ? * 2#1 *)          | now | 2026-12-07 09:00, 2027-01-04 09:00, 2027-02-01 09:00
        cron(0 0 L * ? *)            | now | 2026-11-30 00:00, 2026-12-31 00:00, 2027-01-31 00:00
        // Last Friday: Nov 27 00:00 has passed; Dec 25, Jan 29, Feb 26.
        cron(0 0 ? * 6L *)           | now | 2026-12-25 00:00, 2027-01-29 00:00, 2027-02-26 00:00
        // The 15ths of Dec, Jan and Feb are a Tue, Fri and Mon: already weekdays.
        cron(0 12 15W * ? *)         | now | 2026-12-15 12:00, 2027-01-15 12:00, 2027-02-15 12:00
        // Nov 30 is a Monday, Dec 31 a Thursday, Jan 31 2027 a Sunday (so Fri 29).
        cron(0 12 LW * ? *)          | now | 2026-11-30 12:00, 2026-12-31 12:00, 2027-01-29 12:00
        // Anchored at 2026-11-20 08:00: 09:21 is itself a fire, so next is 09:22.
        rate(1 minute)               | now | 2026-11-27 09:22, 2026-11-27 09:23, 2026-11-27 09:24
        rate(5 minutes)              | now | 2026-11-27 09:25, 2026-11-27 09:30, 2026-11-27 09:35
        rate(1 hour)                 | now | 2026-11-27 10:00, 2026-11-27 11:00, 2026-11-27 12:00
        // Anchor + 2k days: the 22nd, 24th, 26th, 28th ...
        rate(2 days)                 | now | 2026-11-28 08:00, 2026-11-30 08:00, 2026-12-02 08:00
        ",
    );
}

/// Invalid expressions and a part each one's error must contain.
const INVALID: &str = "
    rate(1 minutes)          | rate(1 minutes): the unit must be singular when the value is 1
    rate(1 minutes)          | is 1 (rate(1 minute))
    rate(5 minute)           | must be plural when the value is not 1 (rate(5 minutes))
    rate(0 minutes)          | the value must be a positive whole number, got 0
    rate(-1 minutes)         | the value must be a positive whole number, got -1
    rate(+1 minute)          | the value must be a positive whole number, got +1
    rate(5 seconds)          | the unit must be minute(s), hour(s) or day(s), got seconds
    rate(5 Minutes)          | the unit must be minute(s), hour(s) or day(s)
    rate(1.5 hours)          | the value must be a positive whole number, got 1.5
    rate(5minutes)           | expected a value and a unit separated by a space
    rate(5 minutes 2)        | expected a value and a unit separated by a space
    rate(99999999999 days)   | the period must be at most 100 years
    rate(36526 days)         | the period must be at most 100 years
    cron(0 10 * * * *)       | one of day-of-month and day-of-week must be ?, the other a value or *
    cron(0 10 ? * ? *)       | only one of day-of-month and day-of-week can be ?
    cron(0 10 * * ?)         | a cron expression has 6 fields (minutes hours day-of-month month
    cron(0 10 * * ?)         | day-of-week year), got 5
    cron(0 10 * * ? * *)     | a cron expression has 6 fields
    cron(0 10 * * ? * *)     | got 7
    cron(60 * * * ? *)       | cron(60 * * * ? *): minutes must be 0-59, got 60
    cron(0 24 * * ? *)       | hours must be 0-23, got 24
    cron(0 0 32 * ? *)       | day-of-month must be 1-31, got 32
    cron(0 0 0 * ? *)        | day-of-month must be 1-31, got 0
    cron(0 0 ? 13 * *)       | month must be 1-12 or JAN-DEC, got 13
    cron(0 0 ? * 8 *)        | day-of-week must be 1-7 or SUN-SAT, got 8
    cron(0 0 ? * 0 *)        | day-of-week must be 1-7 or SUN-SAT, got 0
    cron(0 0 * * ? 2200)     | year must be 1970-2199, got 2200
    cron(0 0 * * ? 1969)     | year must be 1970-2199, got 1969
    cron(0 0 ? * 3#1,6#3 *)  | day-of-week 3#1,6#3: # and L cannot be combined with lists
    cron(0 0 ? * 3#6 *)      | the occurrence after # must be 1-5, got 6
    cron(0 0 ? * 3#0 *)      | the occurrence after # must be 1-5, got 0
    cron(0/0 * * * ? *)      | minutes step must be a whole number 1 or more, got 0/0
    cron(*/ * * * ? *)       | minutes step must be a whole number 1 or more, got */
    cron(5-2 * * * ? *)      | minutes range 5-2 must run from low to high
    cron(0 0 ? * FRI-MON *)  | day-of-week range FRI-MON must run from low to high
    cron(0 0 ? * FOO *)      | day-of-week must be 1-7 or SUN-SAT, got FOO
    cron(0 0 L,5 * ? *)      | day-of-month L,5: L and W cannot be combined with lists
    cron(0 0 1-5W * ? *)     | L and W cannot be combined
    cron(0 0 ? * 5L,6 *)     | # and L cannot be combined
    cron(0 0 ? * */2 *)      | day-of-week does not allow steps (/), got */2
    cron(? 0 * * ? *)        | minutes: ? is only allowed in day-of-month or day-of-week
    cron(0 0 32W * ? *)      | day-of-month must be 1-31, got 32
    cron(0 0 L5 * ? *)       | day-of-month must be 1-31, L, LW or nW, got L5
    cron(0 0 5- * ? *)       | day-of-month must be 1-31, got an empty value
    cron(0 0 1 * ? *         | a schedule expression is rate(value unit)
    cron((0 0 1 * ? *))      | a schedule expression is rate(value unit)
    at(2026-01-01T00:00:00)  | at(2026-01-01T00:00:00): a schedule expression is rate(value unit)
    at(2026-01-01T00:00:00)  | or cron(minutes hours day-of-month month day-of-week year)
    cron()                   | cron(): a schedule expression is rate(value unit)
    rate()                   | rate(): a schedule expression is rate(value unit)
    RATE(5 minutes)          | a schedule expression is rate(value unit)
                             | the schedule expression is empty; a schedule expression is rate(
";

#[test]
fn invalid_expressions_say_why() {
    let table = rows(INVALID);
    assert_eq!(table.len(), 52);
    for row in table {
        let [expr, needle] = row[..] else {
            panic!("bad row {row:?}")
        };
        match Schedule::parse(expr) {
            Ok(parsed) => panic!("{expr:?} should be invalid, parsed as {parsed}"),
            Err(reason) => assert!(
                reason.contains(needle),
                "{expr:?}: {reason:?} lacks {needle:?}"
            ),
        }
    }
    let blank = Schedule::parse(" \t ");
    assert!(blank.is_err_and(|e| e.starts_with("the schedule expression is empty")));
}

#[test]
fn cron_days_past_a_months_end_skip_that_month() {
    check_fires(
        "
        // November and April have 30 days; February never has 31.
        cron(0 0 31 * ? *)  | now | 2026-12-31 00:00, 2027-01-31 00:00, 2027-03-31 00:00
        cron(0 12 29 2 ? *) | now | 2028-02-29 12:00, 2032-02-29 12:00
        ",
    );
}

#[test]
fn cron_last_day_of_february_follows_leap_years() {
    check_fires(
        "
        cron(0 0 L 2 ? *)    | now | 2027-02-28 00:00, 2028-02-29 00:00, 2029-02-28 00:00
        // 2100 is not a leap year (divisible by 100 but not 400); 2000 was.
        cron(0 0 L 2 ? 2100) | now              | 2100-02-28 00:00 | end
        cron(0 0 L 2 ? 2000) | 1999-06-01 00:00 | 2000-02-29 00:00 | end
        ",
    );
}

#[test]
fn cron_nearest_weekday_stays_in_the_month() {
    check_fires(
        "
        // 2027-05-01 is a Saturday: not back to April 30th, on to Monday the 3rd.
        cron(0 0 1W 5 ? 2027)  | now | 2027-05-03 00:00 | end
        // 2027-01-31 is a Sunday: not on to February, back to Friday the 29th.
        cron(0 0 31W 1 ? 2027) | now | 2027-01-29 00:00 | end
        // 2027-10-02 is a Saturday: back to Friday the 1st.
        cron(0 0 2W 10 ? 2027) | now | 2027-10-01 00:00 | end
        // 2026-11-15 is a Sunday: Monday the 16th; Dec 15 is a Tuesday, itself.
        cron(0 0 15W * ? *) | 2026-11-01 00:00 | 2026-11-16 00:00, 2026-12-15 00:00
        // Only 31-day months: Dec 31 (Thu), Jan 29 (the 31st is a Sun), Mar 31 (Wed).
        cron(0 0 31W * ? *) | now | 2026-12-31 00:00, 2027-01-29 00:00, 2027-03-31 00:00
        ",
    );
}

#[test]
fn cron_last_weekday_of_the_month() {
    check_fires(
        "
        // 2027-07-31 is a Saturday: Friday the 30th.
        cron(0 0 LW 7 ? 2027) | now | 2027-07-30 00:00 | end
        // 2027-01-31 is a Sunday: Friday the 29th. Lowercase is accepted.
        cron(0 0 lw 1 ? 2027) | now | 2027-01-29 00:00 | end
        ",
    );
}

#[test]
fn cron_nth_and_last_weekday_forms() {
    check_fires(
        "
        // Fridays: Nov and Dec 2026, Feb and Mar 2027 have four; Jan 2027 has
        // a fifth on the 29th, Apr 2027 on the 30th.
        cron(0 0 ? * 6#5 *)   | now | 2027-01-29 00:00, 2027-04-30 00:00
        // A name before #: the second Tuesday.
        cron(0 0 ? * TUE#2 *) | now | 2026-12-08 00:00, 2027-01-12 00:00
        // 6L from early November is Nov 27 itself.
        cron(0 0 ? * 6L *)    | 2026-11-01 00:00 | 2026-11-27 00:00, 2026-12-25 00:00
        cron(0 0 ? * FRIL *)  | now | 2026-12-25 00:00
        // L alone is the last day of the week: Saturday.
        cron(0 0 ? * L *)     | now | 2026-11-28 00:00, 2026-12-05 00:00
        // Last Sunday: Nov 29, Dec 27, and Jan 31, the month's very last day.
        cron(0 0 ? * 1L *)    | now | 2026-11-29 00:00, 2026-12-27 00:00, 2027-01-31 00:00
        ",
    );
}

#[test]
fn cron_stops_at_the_last_year() {
    check_fires(
        "
        cron(0 0 1 1 ? 2199)      | now | 2199-01-01 00:00 | end
        cron(0 0 * * ? 1970-1971) | now |                  | end
        cron(59 23 31 12 ? 2199)  | now | 2199-12-31 23:59 | end
        cron(* * * * ? *)         | 2199-12-31 23:58 | 2199-12-31 23:59 | end
        cron(* * * * ? *)         | 2250-01-01 00:00 |                  | end
        ",
    );
}

#[test]
fn cron_before_1970_starts_at_1970() {
    check_fires(
        "
        cron(0 0 1 1 ? *)     | 1960-05-05 00:00 | 1970-01-01 00:00
        cron(30 * * * ? 1970) | 1969-12-31 23:59 | 1970-01-01 00:30
        ",
    );
}

#[test]
fn cron_that_never_matches_returns_none_quickly() {
    let started = Instant::now();
    check_fires(
        "
        cron(0 0 30 2 ? *)         | 1970-01-01 00:00 | | end
        cron(0 0 31 4,6,9,11 ? *)  | 1970-01-01 00:00 | | end
        cron(0 0 ? 2 1#5 2027)     | 1970-01-01 00:00 | | end
        ",
    );
    let far_past = DateTime::<Utc>::MIN_UTC;
    assert_eq!(
        schedule("cron(0 0 30 2 ? *)").next_after(far_past, far_past),
        None
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn cron_fires_strictly_after_and_rolls_over() {
    check_fires(
        "
        cron(0 10 * * ? *) | 2026-11-27 10:00        | 2026-11-28 10:00
        cron(0 10 * * ? *) | 2026-11-27 10:00:00.5   | 2026-11-28 10:00
        cron(0 10 * * ? *) | 2026-11-27 09:59:59.999 | 2026-11-27 10:00
        cron(0 0 1 1 ? *)  | 2026-12-31 23:59        | 2027-01-01 00:00
        // After Friday's window closes: Monday.
        cron(0/5 8-17 ? * MON-FRI *) | 2026-11-27 17:55 | 2026-11-30 08:00
        cron(0/10 * ? * MON-FRI *)   | 2026-11-27 23:55 | 2026-11-30 00:00
        ",
    );
}

#[test]
fn cron_steps_names_and_lists() {
    check_fires(
        "
        cron(0 0 1 1 ? 2030/5)          | now | 2030-01-01 00:00, 2035-01-01 00:00
        cron(0 0 1 jan,Jul ? *)         | now | 2027-01-01 00:00, 2027-07-01 00:00
        cron(30 6-12/3 ? * sat *)       | now | 2026-11-28 06:30, 2026-11-28 09:30, 2026-11-28 12:30
        cron(0 0 ? JAN-MAR/2 MON#1 2027) | now | 2027-01-04 00:00, 2027-03-01 00:00 | end
        cron(0 0 1,15-16 * ? *)         | now | 2026-12-01 00:00, 2026-12-15 00:00, 2026-12-16 00:00
        cron(0 0 */10 * ? *)            | now | 2026-12-01 00:00, 2026-12-11 00:00, 2026-12-21 00:00
        ",
    );
}

#[test]
fn rate_counts_whole_periods_from_the_anchor() {
    let table = "
        // expr         | after                   | anchor                 | next
        // Before the anchor: one period after it.
        rate(5 minutes) | 2020-01-01 00:00        | 2026-11-20 08:00       | 2026-11-20 08:05
        // At the anchor, and exactly at a fire: strictly the next one.
        rate(5 minutes) | 2026-11-20 08:00        | 2026-11-20 08:00       | 2026-11-20 08:05
        rate(5 minutes) | 2026-11-20 08:05        | 2026-11-20 08:00       | 2026-11-20 08:10
        rate(5 minutes) | 2026-11-20 08:04:59.999 | 2026-11-20 08:00       | 2026-11-20 08:05
        // Big gaps: weekly from Thursday 1970-01-01 lands on the next Thursday.
        rate(7 days)    | now                     | 1970-01-01 00:00       | 2026-12-03 00:00
        rate(1 day)     | now                     | 2000-01-01 06:00       | 2026-11-28 06:00
        // An anchor off the minute keeps its offset.
        rate(1 hour)    | now                     | 2026-11-27 09:30:00.25 | 2026-11-27 10:30:00.25
    ";
    for row in rows(table) {
        let [expr, after, anchor, next] = row[..] else {
            panic!("bad row {row:?}")
        };
        let got = schedule(expr).next_after(at(after), at(anchor));
        assert_eq!(got, Some(at(next)), "{expr} after {after} from {anchor}");
    }
}

#[test]
fn rate_period_and_extremes() {
    let rate = |value, unit| Schedule::Rate(Rate { value, unit });
    assert_eq!(schedule("rate(36525 days)"), rate(36525, RateUnit::Day));
    let two_hours = Rate {
        value: 2,
        unit: RateUnit::Hour,
    };
    assert_eq!(two_hours.period(), TimeDelta::hours(2));
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    let century = schedule("rate(36525 days)");
    assert_eq!(century.next_after(max, min), None);
    assert!(century.next_after(min, min).is_some());
    assert_eq!(rate(0, RateUnit::Day).next_after(at(NOW), at(ANCHOR)), None);
    // Past chrono's range from any instant: None, not a panic.
    assert_eq!(rate(u32::MAX, RateUnit::Day).next_after(min, min), None);
    assert_eq!(schedule("cron(* * * * ? *)").next_after(max, min), None);
}

#[test]
fn display_is_canonical_and_round_trips() {
    let table = "
        rate(5 minutes)                       | rate(5 minutes)
        rate(1   day)                         | rate(1 day)
        rate(007 hours)                       | rate(7 hours)
        cron(0 10 * * ? *)                    | cron(0 10 * * ? *)
        cron( 0/5   8-17 ? *  mon-FRI * )     | cron(0/5 8-17 ? * mon-FRI *)
        cron(0 0 ? * 6L *)                    | cron(0 0 ? * 6L *)
    ";
    for row in rows(table) {
        let [input, canonical] = row[..] else {
            panic!("bad row {row:?}")
        };
        let parsed = schedule(&format!("  {input}\t"));
        assert_eq!(parsed.to_string(), canonical);
        assert_eq!(schedule(canonical), parsed);
        assert_eq!(canonical.parse::<Schedule>(), Ok(parsed));
    }
}

/// A tiny deterministic generator (an LCG) so the fuzz needs no dependency.
fn next_random(state: &mut u64) -> usize {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    usize::try_from(*state >> 33).unwrap_or(0)
}

/// Random cron fields, each from its own mostly-valid list, so the fuzz
/// reaches next_after with many combinations.
fn random_cron(state: &mut u64) -> String {
    let fields: [&[&str]; 6] = [
        &["0", "*/15", "5-10", "59", "60", "*", "5/0"],
        &["*", "0-23/6", "10", "24", "23"],
        &[
            "?", "*", "L", "LW", "15W", "1W", "31", "1,15", "0", "L,5", "29",
        ],
        &["*", "JAN-MAR", "2", "13", "jan,Jul", "*/5"],
        &["?", "*", "MON-FRI", "6#5", "6L", "L", "3#1,6#3", "8", "1#1"],
        &["*", "2026", "2199", "1970-1971", "2030/5", "2200"],
    ];
    let fields = fields.map(|options| options[next_random(state) % options.len()]);
    format!("cron({})", fields.join(" "))
}

/// Random pieces of syntax glued together: mostly invalid.
fn random_text(state: &mut u64) -> String {
    let pieces = [
        "cron(",
        "rate(",
        ")",
        "(",
        " ",
        "*",
        "?",
        "/",
        "-",
        ",",
        "#",
        "L",
        "W",
        "l",
        "0",
        "1",
        "5",
        "12",
        "60",
        "2199",
        "4294967296",
        "MON",
        "minute",
        "days",
        "é",
        "\u{0}",
        "\t",
        "+",
        ".",
        "🦀",
    ];
    let count = next_random(state) % 14;
    (0..count)
        .map(|_| pieces[next_random(state) % pieces.len()])
        .collect()
}

#[test]
fn weird_strings_never_panic() {
    let (now, anchor) = (at(NOW), at(ANCHOR));
    let mut state = 7;
    let mut valid = 0;
    for round in 0..20_000 {
        let text = match round % 2 {
            0 => random_cron(&mut state),
            _ => random_text(&mut state),
        };
        if let Ok(parsed) = Schedule::parse(&text) {
            valid += 1;
            let _ = parsed.next_after(now, anchor);
            assert_eq!(schedule(&parsed.to_string()), parsed, "{text:?}");
        }
    }
    assert!(valid > 100, "only {valid} random expressions were valid");
    assert!(Schedule::parse(&"x".repeat(100_000)).is_err_and(|e| e.len() < 400));
    assert!(Schedule::parse(&format!("cron({})", "1,".repeat(50_000))).is_err());
}

/// The checked fields of a cron expression, as the module hands them to croner.
fn croner_pattern(expr: &str) -> String {
    let inner = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')'));
    let inner = inner.unwrap_or_else(|| panic!("{expr} is not cron(...)"));
    let (_, fields) = parse_fields(inner).unwrap_or_else(|e| panic!("{expr}: {e}"));
    fields.to_croner()
}

#[test]
fn cron_is_handed_to_croner_in_its_own_terms() {
    let table = "
        // Seconds always 0; names, steps and * spelled out; years kept to AWS's.
        cron(0 10 * * ? *)           | 0 0 10 1-31 1-12 * 1970-2199
        cron(0/15 * * * ? *)         | 0 0,15,30,45 0-23 1-31 1-12 * 1970-2199
        cron(0 0 1 jan,Jul ? 2030/50)  | 0 0 0 1 1,7 * 2030,2080,2130,2180
        // Weekdays from AWS's 1 = SUN to croner's 0 = SUN; ? becomes *.
        cron(0 18 ? * MON-FRI *)     | 0 0 18 * 1-12 1-5 1970-2199
        cron(0 0 ? * 7,1 *)          | 0 0 0 * 1-12 0,6 1970-2199
        cron(0 9 ? * 2#1 *)          | 0 0 9 * 1-12 1#1 1970-2199
        cron(0 0 ? * 1L *)           | 0 0 0 * 1-12 0L 1970-2199
        // L alone in day-of-week is Saturday: croner would match no day.
        cron(0 0 ? * L *)            | 0 0 0 * 1-12 6 1970-2199
        cron(0 0 L * ? *)            | 0 0 0 L 1-12 * 1970-2199
        cron(0 12 lw * ? *)          | 0 0 12 LW 1-12 * 1970-2199
        cron(0 12 15W * ? *)         | 0 0 12 15W 1-12 * 1970-2199
    ";
    for row in rows(table) {
        let [expr, pattern] = row[..] else {
            panic!("bad row {row:?}")
        };
        assert_eq!(croner_pattern(expr), pattern, "{expr}");
    }
}

/// The first whole minute after `after` that the fields match, found by
/// reading each field literally, one day at a time from 1970 to 2199: far
/// too slow for the server, and too plain to share a bug with croner.
fn reference_next(fields: &Fields, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let has = |set: &ValueSet, value: u32| {
        let index = value
            .checked_sub(set.min)
            .and_then(|i| usize::try_from(i).ok());
        index.and_then(|i| set.allowed.get(i)) == Some(&true)
    };
    let first = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let mut day = after.date_naive().max(first);
    while day.year() <= 2199 {
        let year = u32::try_from(day.year()).ok()?;
        if !has(&fields.years, year) {
            day = NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)?;
            continue;
        }
        if has(&fields.months, day.month()) && reference_day(&fields.days, day) {
            for (hour, minute) in (0..24).flat_map(|h| (0..60).map(move |m| (h, m))) {
                let time = day.and_hms_opt(hour, minute, 0)?.and_utc();
                if time > after && has(&fields.hours, hour) && has(&fields.minutes, minute) {
                    return Some(time);
                }
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// Whether `date` is one of the days `days` names in its month, per AWS's docs.
fn reference_day(days: &Days, date: NaiveDate) -> bool {
    let has = |set: &ValueSet, value: u32| set.allowed[(value - set.min) as usize];
    let month: Vec<NaiveDate> = (1..=31)
        .filter_map(|d| NaiveDate::from_ymd_opt(date.year(), date.month(), d))
        .collect();
    let aws_weekday = |d: &NaiveDate| d.weekday().num_days_from_sunday() + 1;
    let workday = |d: &&NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let on = |weekday: u32| month.iter().filter(move |d| aws_weekday(d) == weekday);
    match *days {
        Days::OfMonth(ref set) => has(set, date.day()),
        Days::LastOfMonth => month.last() == Some(&date),
        Days::LastWeekdayOfMonth => month.iter().rev().find(workday) == Some(&date),
        // The Mon-Fri of this month nearest day n (never a tie), if it has a day n.
        Days::NearestWeekday(n) => {
            let nearest = month
                .iter()
                .filter(workday)
                .min_by_key(|d| d.day().abs_diff(n));
            n <= month.len() as u32 && nearest == Some(&date)
        }
        Days::OfWeek(ref set) => has(set, aws_weekday(&date)),
        Days::NthOfWeek { weekday, nth } => on(weekday).nth(nth as usize - 1) == Some(&date),
        Days::LastOfWeek(weekday) => on(weekday).next_back() == Some(&date),
    }
}

/// Random cron expressions rich in L, W, # and edge values; nearly all valid.
fn random_special_cron(state: &mut u64) -> String {
    let mut pick = |options: &[&'static str]| options[next_random(state) % options.len()];
    let minutes = pick(&["0", "*", "*/15", "5-10", "59", "0/20", "7,23", "30-35/2"]);
    let hours = pick(&["*", "0", "23", "0-23/6", "9-17", "22/5", "1,13"]);
    let months = pick(&[
        "*", "2", "JAN-MAR", "jan,Jul", "*/5", "2-3", "4,6,9,11", "DEC",
    ]);
    let years = pick(&[
        "*",
        "*",
        "*",
        "2026",
        "2027-2029",
        "2100",
        "2199",
        "1970-1971",
        "2030/5",
        "2098-2101",
    ]);
    let day_of_month = [
        "*", "L", "LW", "lw", "1W", "2W", "15W", "30W", "31W", "1", "29", "31", "1,15", "*/10",
        "28-31", "2/3",
    ];
    let day_of_week = [
        "*", "MON-FRI", "1", "7", "SUN,SAT", "L", "l", "6L", "1L", "7L", "fril", "2#1", "6#5",
        "1#5", "TUE#2", "7#4", "3-5",
    ];
    let (dom, dow) = match pick(&["dom", "dow"]) {
        "dom" => (pick(&day_of_month), "?"),
        _ => ("?", pick(&day_of_week)),
    };
    format!("cron({minutes} {hours} {dom} {months} {dow} {years})")
}

#[test]
fn croner_agrees_with_a_plain_reading_of_the_fields() {
    // 1969-07-01 to 2200-07-01, so both ends of AWS's years are crossed.
    let (low, high) = (at("1969-07-01 00:00"), at("2200-07-01 00:00"));
    let span = u64::try_from((high - low).num_seconds()).unwrap_or(1);
    let mut state = 11;
    let (mut fires, mut ends) = (0, 0);
    for _ in 0..600 {
        let expr = random_special_cron(&mut state);
        let Schedule::Cron(cron) = schedule(&expr) else {
            panic!("{expr} is not a cron")
        };
        let (_, fields) = parse_fields(&cron.text).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let offset = next_random(&mut state) as u64 * 1_000_003 % span;
        let mut after = low + TimeDelta::seconds(i64::try_from(offset).unwrap_or(0));
        if next_random(&mut state).is_multiple_of(2) {
            after += TimeDelta::milliseconds(next_random(&mut state) as i64 % 60_000);
        }
        for _ in 0..3 {
            let got = Schedule::Cron(cron.clone()).next_after(after, after);
            assert_eq!(got, reference_next(&fields, after), "{expr} after {after}");
            let Some(next) = got else {
                ends += 1;
                break;
            };
            fires += 1;
            after = next;
        }
    }
    assert!(
        fires > 1000 && ends > 50,
        "{fires} fires and {ends} ends checked"
    );
}
