//! EventBridge rule schedule expressions: `rate(value unit)` and
//! `cron(minutes hours day-of-month month day-of-week year)`, evaluated in UTC.
//!
//! The grammar is deliberately the one AWS EventBridge accepts for scheduled
//! rules, so an expression copied from an AWS template behaves the same here
//! and one AWS would reject is rejected with a reason a user can act on.
//!
//! The grammar checks and their error texts are ours; the cron fire times are
//! computed by the `croner` crate from a pattern this module writes out of the
//! checked fields (see "cron evaluation" below), never from the user's text.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use croner::parser::{CronParser, Seconds, Year};

/// Returns early with a formatted reason, like `anyhow::bail!`.
macro_rules! bail {
    ($($reason:tt)*) => {
        return Err(format!($($reason)*))
    };
}

/// Appended to errors for text that is not an expression at all, so the user
/// sees both accepted shapes at once.
const SHAPE: &str = "a schedule expression is rate(value unit), e.g. rate(5 minutes), \
     or cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 10 * * ? *)";

/// About 100 years: longer periods are typos, and capping keeps the
/// arithmetic on far-future timestamps well inside chrono's range.
const MAX_RATE_MINUTES: u64 = 36_525 * 24 * 60;

/// The years AWS accepts in a cron year field; fire times stop after the last.
const FIRST_YEAR: u32 = 1970;
const LAST_YEAR: u32 = 2199;

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate(Rate),
    Cron(Cron),
}

/// `rate(value unit)`: fires every `value` units, counted from an anchor.
/// `Schedule::parse` enforces AWS's limits; a hand-built zero rate never fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub value: u32,
    pub unit: RateUnit,
}

/// The units a rate may be expressed in (AWS has no seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

/// `cron(...)`: fires at every whole UTC minute that all six fields match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The six fields as written, joined by single spaces, for Display.
    text: String,
    /// The same schedule as croner evaluates it, built by `Fields::to_croner`
    /// (boxed: it is some 300 bytes, and a `Schedule` is mostly passed around).
    schedule: Box<croner::Cron>,
}

/// The six fields once our grammar checks have passed.
#[derive(Debug)]
struct Fields {
    minutes: ValueSet,
    hours: ValueSet,
    months: ValueSet,
    years: ValueSet,
    /// Whichever of day-of-month and day-of-week is not `?`.
    days: Days,
}

impl Schedule {
    /// Parses an expression; Err is the reason, a short sentence for a user, e.g.
    /// "rate(1 minutes): the unit must be singular when the value is 1 (rate(1 minute))".
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.is_empty() {
            bail!("the schedule expression is empty; {SHAPE}");
        }
        // Echo at most 80 characters, so a huge paste does not make a huge error.
        let shown: String = text.chars().take(80).collect();
        parse_call(text).map_err(|reason| format!("{shown}: {reason}"))
    }

    /// The first fire time strictly after `after`. A rate fires at anchor + k*period (k >= 1);
    /// a cron fires at whole minutes that match. None when there is no later fire
    /// (cron years end at 2199).
    pub fn next_after(&self, after: DateTime<Utc>, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(rate) => rate.next_after(after, anchor),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Schedule::parse(text)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate(rate) => write!(f, "rate({} {})", rate.value, rate.word()),
            Schedule::Cron(cron) => write!(f, "cron({})", cron.text),
        }
    }
}

/// Dispatches on `name(args)`; the reason carries no input prefix. Anything
/// but one balanced call with something inside (`cron()`, `at(`..., stray
/// parentheses) gets the general shape.
fn parse_call(text: &str) -> Result<Schedule, String> {
    let call = text.strip_suffix(')').and_then(|body| body.split_once('('));
    let call = call.filter(|(_, inner)| !inner.contains(['(', ')']) && !inner.trim().is_empty());
    match call {
        Some(("rate", inner)) => parse_rate(inner).map(Schedule::Rate),
        Some(("cron", inner)) => parse_cron(inner).map(Schedule::Cron),
        _ => Err(SHAPE.to_string()),
    }
}

/// Plain digits only: a lenient parser would accept "+5", which AWS does not.
fn digits<T: FromStr>(text: &str) -> Option<T> {
    let plain = text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
}

// ---------------------------------------------------------------- rate

impl RateUnit {
    /// The singular name and the length in minutes.
    fn info(self) -> (&'static str, u64) {
        match self {
            RateUnit::Minute => ("minute", 1),
            RateUnit::Hour => ("hour", 60),
            RateUnit::Day => ("day", 24 * 60),
        }
    }
}

impl Rate {
    /// The time between two fires.
    pub fn period(&self) -> TimeDelta {
        let minutes = i64::try_from(self.minutes()).unwrap_or(i64::MAX);
        TimeDelta::try_minutes(minutes).unwrap_or(TimeDelta::MAX)
    }

    /// Cannot overflow: u32::MAX days in minutes is far below u64::MAX.
    fn minutes(&self) -> u64 {
        u64::from(self.value) * self.unit.info().1
    }

    /// The unit as AWS requires it spelled: singular exactly when the value is 1.
    fn word(&self) -> String {
        let (name, _) = self.unit.info();
        let plural = if self.value == 1 { "" } else { "s" };
        format!("{name}{plural}")
    }

    /// Closed-form so a schedule that was idle for years costs the same as one
    /// checked every minute; None only for a zero period or chrono overflow.
    fn next_after(&self, after: DateTime<Utc>, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let period_secs = i64::try_from(self.minutes()).ok()?.checked_mul(60)?;
        if period_secs <= 0 {
            return None;
        }
        let periods = if after < anchor {
            1
        } else {
            // Fires sit on whole seconds from the anchor, so dropping the
            // elapsed sub-second part cannot change the floor division.
            let elapsed = after.signed_duration_since(anchor).num_seconds();
            elapsed / period_secs + 1
        };
        let offset = TimeDelta::try_seconds(periods.checked_mul(period_secs)?)?;
        anchor.checked_add_signed(offset)
    }
}

fn parse_rate(inner: &str) -> Result<Rate, String> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value, word] = parts[..] else {
        bail!("expected a value and a unit separated by a space, e.g. rate(5 minutes)");
    };
    let number = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if !number || value.bytes().all(|b| b == b'0') {
        bail!("the value must be a positive whole number, got {value}");
    }
    let stem = word.strip_suffix('s').unwrap_or(word);
    let units = [RateUnit::Minute, RateUnit::Hour, RateUnit::Day];
    let Some(unit) = units.into_iter().find(|unit| unit.info().0 == stem) else {
        bail!("the unit must be minute(s), hour(s) or day(s), got {word}");
    };
    // Too many digits for a u32 is far past the cap checked next.
    let value = digits(value).unwrap_or(u32::MAX);
    let rate = Rate { value, unit };
    if rate.minutes() > MAX_RATE_MINUTES {
        bail!("the period must be at most 100 years (36525 days)");
    }
    if rate.word() != word {
        let rule = match value {
            1 => "singular when the value is 1",
            _ => "plural when the value is not 1",
        };
        bail!("the unit must be {rule} ({})", Schedule::Rate(rate));
    }
    Ok(rate)
}

// ---------------------------------------------------------------- cron fields

/// The values a field allows, as flags indexed from the field's minimum.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValueSet {
    min: u32,
    allowed: Vec<bool>,
}

impl ValueSet {
    /// The allowed values as croner's comma list of `a` and `a-b` runs, each
    /// value passed through `map` (weekdays are renumbered, see `posix_weekday`).
    fn to_croner(&self, map: fn(u32) -> u32) -> String {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let allowed = (self.min..)
            .zip(&self.allowed)
            .filter(|(_, allowed)| **allowed);
        for (value, _) in allowed {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == value => *last = value,
                _ => runs.push((value, value)),
            }
        }
        let run = |&(first, last): &(u32, u32)| match (map(first), map(last)) {
            (first, last) if first == last => first.to_string(),
            (first, last) => format!("{first}-{last}"),
        };
        runs.iter().map(run).collect::<Vec<_>>().join(",")
    }
}

/// What one cron field accepts, and how to describe it in an error.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Three-letter names for min, min+1, ... (months and weekdays).
    names: &'static [&'static str],
}

const MINUTES: Field = Field::new("minutes", 0, 59, &[]);
const HOURS: Field = Field::new("hours", 0, 23, &[]);
const DAY_OF_MONTH: Field = Field::new("day-of-month", 1, 31, &[]);
const MONTH: Field = Field::new("month", 1, 12, &MONTH_NAMES);
const DAY_OF_WEEK: Field = Field::new("day-of-week", 1, 7, &WEEKDAY_NAMES);
const YEAR: Field = Field::new("year", FIRST_YEAR, LAST_YEAR, &[]);
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    const fn new(name: &'static str, min: u32, max: u32, names: &'static [&str]) -> Self {
        Field {
            name,
            min,
            max,
            names,
        }
    }

    fn out_of_range(&self, got: &str) -> String {
        let (name, min, max) = (self.name, self.min, self.max);
        let names = match (self.names.first(), self.names.last()) {
            (Some(first), Some(last)) => format!(" or {first}-{last}"),
            _ => String::new(),
        };
        let got = Some(got).filter(|got| !got.is_empty());
        let got = got.unwrap_or("an empty value");
        format!("{name} must be {min}-{max}{names}, got {got}")
    }

    /// One value: digits or a case-insensitive name.
    fn value(&self, text: &str) -> Result<u32, String> {
        let value = match self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            Some(index) => u32::try_from(index).ok().map(|index| self.min + index),
            None => digits(text),
        };
        let value = value.filter(|value| (self.min..=self.max).contains(value));
        value.ok_or_else(|| self.out_of_range(text))
    }

    /// A comma-separated list of `*`, `a`, `a-b`, each optionally `/n`.
    fn set(&self, text: &str) -> Result<ValueSet, String> {
        let (name, min) = (self.name, self.min);
        if text == "?" {
            bail!("{name}: ? is only allowed in day-of-month or day-of-week");
        }
        let items = text.split(',').map(|item| self.item(item));
        let items = items.collect::<Result<Vec<_>, _>>()?;
        let in_item = |v: u32, &(first, last, step): &(u32, u32, u32)| {
            (first..=last).contains(&v) && (v - first).is_multiple_of(step)
        };
        let allows = |v: u32| items.iter().any(|item| in_item(v, item));
        let allowed = (min..=self.max).map(allows).collect();
        Ok(ValueSet { min, allowed })
    }

    /// One list item as (first, last, step).
    fn item(&self, item: &str) -> Result<(u32, u32, u32), String> {
        let Some((range, step)) = item.split_once('/') else {
            let (first, last) = self.range(item, false)?;
            return Ok((first, last, 1));
        };
        let Some(step) = digits(step).filter(|n| *n >= 1) else {
            let name = self.name;
            bail!("{name} step must be a whole number 1 or more, got {item}");
        };
        let (first, last) = self.range(range, true)?;
        Ok((first, last, step))
    }

    /// `*`, `a-b`, or `a` (which runs to the field's max when stepped).
    fn range(&self, text: &str, stepped: bool) -> Result<(u32, u32), String> {
        if text == "*" {
            return Ok((self.min, self.max));
        }
        let Some((low, high)) = text.split_once('-') else {
            let value = self.value(text)?;
            return Ok((value, if stepped { self.max } else { value }));
        };
        let (first, last) = (self.value(low)?, self.value(high)?);
        if first > last {
            bail!("{} range {text} must run from low to high", self.name);
        }
        Ok((first, last))
    }
}

/// The day field that is not `?` (AWS requires exactly one to be), resolved
/// per month because L, W and # depend on the month's length and weekdays.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Days {
    /// Day-of-month values, or `*`.
    OfMonth(ValueSet),
    /// Day-of-month `L`.
    LastOfMonth,
    /// Day-of-month `LW`.
    LastWeekdayOfMonth,
    /// Day-of-month `nW`.
    NearestWeekday(u32),
    /// Day-of-week values (1 = Sunday), or `*`; `L` alone is Saturday.
    OfWeek(ValueSet),
    /// Day-of-week `d#n`.
    NthOfWeek { weekday: u32, nth: u32 },
    /// Day-of-week `dL`.
    LastOfWeek(u32),
}

/// Does `text` mix a special form with list, range or step syntax?
fn combined(text: &str) -> bool {
    text.contains([',', '-', '*', '/', '?'])
}

/// None for `?`.
fn parse_day_of_month(text: &str) -> Result<Option<Days>, String> {
    if text == "?" {
        return Ok(None);
    }
    let upper = text.to_ascii_uppercase();
    if !upper.contains(['L', 'W']) {
        return DAY_OF_MONTH.set(text).map(|set| Some(Days::OfMonth(set)));
    }
    if combined(text) {
        bail!("day-of-month {text}: L and W cannot be combined with lists, ranges or steps");
    }
    let days = match (upper.as_str(), upper.strip_suffix('W')) {
        ("L", _) => Days::LastOfMonth,
        ("LW", _) => Days::LastWeekdayOfMonth,
        (_, Some(day)) => Days::NearestWeekday(DAY_OF_MONTH.value(day)?),
        (_, None) => bail!("day-of-month must be 1-31, L, LW or nW, got {text}"),
    };
    Ok(Some(days))
}

/// None for `?`.
fn parse_day_of_week(text: &str) -> Result<Option<Days>, String> {
    if text == "?" {
        return Ok(None);
    }
    if text.contains('/') {
        bail!("day-of-week does not allow steps (/), got {text}");
    }
    if text.contains(['#', 'L', 'l']) && combined(text) {
        bail!("day-of-week {text}: # and L cannot be combined with lists or ranges");
    }
    if let Some((day, nth)) = text.split_once('#') {
        let weekday = DAY_OF_WEEK.value(day)?;
        return match digits(nth) {
            Some(nth @ 1..=5) => Ok(Some(Days::NthOfWeek { weekday, nth })),
            _ => bail!("day-of-week {text}: the occurrence after # must be 1-5, got {nth}"),
        };
    }
    let days = match text.strip_suffix(['L', 'l']) {
        // The last day of the week.
        Some("") => Days::OfWeek(DAY_OF_WEEK.set("SAT")?),
        Some(day) => Days::LastOfWeek(DAY_OF_WEEK.value(day)?),
        None => Days::OfWeek(DAY_OF_WEEK.set(text)?),
    };
    Ok(Some(days))
}

fn parse_cron(inner: &str) -> Result<Cron, String> {
    let (text, fields) = parse_fields(inner)?;
    let pattern = fields.to_croner();
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .build();
    // Unreachable for a pattern `to_croner` wrote; the tests parse thousands.
    let schedule = parser
        .parse(&pattern)
        .map_err(|e| format!("cannot be evaluated (croner pattern {pattern}: {e})"))?;
    Ok(Cron {
        text,
        schedule: Box::new(schedule),
    })
}

/// The fields joined by single spaces, and what they mean.
fn parse_fields(inner: &str) -> Result<(String, Fields), String> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let Ok(fields) = <[&str; 6]>::try_from(parts.as_slice()) else {
        let shape = "minutes hours day-of-month month day-of-week year";
        let count = parts.len();
        bail!("a cron expression has 6 fields ({shape}), got {count}");
    };
    let [minutes, hours, dom, months, dow, years] = fields;
    let days = pick_days(parse_day_of_month(dom)?, parse_day_of_week(dow)?)?;
    let parsed = Fields {
        minutes: MINUTES.set(minutes)?,
        hours: HOURS.set(hours)?,
        months: MONTH.set(months)?,
        years: YEAR.set(years)?,
        days,
    };
    Ok((fields.join(" "), parsed))
}

/// AWS: "If you specify a value or a * in one of the fields, you must use a ? in the other".
fn pick_days(day_of_month: Option<Days>, day_of_week: Option<Days>) -> Result<Days, String> {
    let both = "day-of-month and day-of-week";
    match (day_of_month, day_of_week) {
        (Some(days), None) | (None, Some(days)) => Ok(days),
        (None, None) => bail!("only one of {both} can be ?, the other must be a value or *"),
        (Some(_), Some(_)) => bail!("one of {both} must be ?, the other a value or *"),
    }
}

// ---------------------------------------------------------------- cron evaluation

// croner 4.0.3 evaluates the schedule. It reads cron a little differently from
// AWS, so it is only ever handed a pattern `Fields::to_croner` wrote from our
// parse, in a subset where both read the same:
//
// - seven fields, `second minute hour day-of-month month day-of-week year`,
//   the second always 0 (AWS fires on whole minutes);
// - plain numbers, `a-b` runs and commas only: our parser has already applied
//   names (croner replaces them as substrings anywhere in the pattern), steps
//   (croner 4 rejects AWS's `5/15` unless `sloppy_ranges`) and ranges;
// - weekdays renumbered from AWS's 1 = SUN ... 7 = SAT to croner's 0 = SUN
//   ... 6 = SAT (croner reads 7 as Sunday): see `posix_weekday`;
// - day-of-week `L` alone, which AWS reads as Saturday, already resolved by
//   our parser to 7 (SAT), so croner sees 6; croner 4.0.3 itself takes a bare
//   `L` there as "last" without a weekday and matches no day at all;
// - no `?`: the day field AWS wants `?` is written `*`. croner ORs the two
//   day fields unless one is `*`, and then uses the other alone, which is
//   exactly AWS's rule that one of them is `?`;
// - `L`, `LW`, `nW` (day-of-month), `d#n` and `dL` (day-of-week) as AWS has
//   them: croner 4.0.3 evaluates each the same way (W stays in the month);
// - years: croner allows 1-5000 and AWS 1970-2199. The year field only ever
//   lists years from 1970 to 2199, `next_after` starts no earlier than 1970
//   and gives up from 2200 on.

impl Fields {
    /// croner's pattern for these fields, e.g. `0 0/5 8-17 ? * MON-FRI *` is
    /// `0 0,5,10,...,55 8-17 * 1-12 1-5 1970-2199`.
    fn to_croner(&self) -> String {
        let same = |value| value;
        let (minutes, hours) = (self.minutes.to_croner(same), self.hours.to_croner(same));
        let (months, years) = (self.months.to_croner(same), self.years.to_croner(same));
        let (day_of_month, day_of_week) = self.days.to_croner();
        format!("0 {minutes} {hours} {day_of_month} {months} {day_of_week} {years}")
    }
}

impl Days {
    /// croner's (day-of-month, day-of-week) fields: `*` where AWS has `?`.
    fn to_croner(&self) -> (String, String) {
        let any = || "*".to_string();
        match *self {
            Days::OfMonth(ref set) => (set.to_croner(|day| day), any()),
            Days::LastOfMonth => ("L".to_string(), any()),
            Days::LastWeekdayOfMonth => ("LW".to_string(), any()),
            Days::NearestWeekday(day) => (format!("{day}W"), any()),
            Days::OfWeek(ref set) => (any(), set.to_croner(posix_weekday)),
            Days::NthOfWeek { weekday, nth } => {
                (any(), format!("{}#{nth}", posix_weekday(weekday)))
            }
            Days::LastOfWeek(weekday) => (any(), format!("{}L", posix_weekday(weekday))),
        }
    }
}

/// AWS's weekday number (1 = Sunday ... 7 = Saturday) as croner's (0 = Sunday).
fn posix_weekday(aws: u32) -> u32 {
    aws - 1
}

/// Midnight UTC on January 1st of `year`.
fn start_of_year(year: u32) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

impl Cron {
    /// First matching whole minute strictly after `after`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = start_of_year(LAST_YEAR + 1)?;
        if after >= end {
            return None;
        }
        // croner drops the sub-second part and searches from the next whole
        // second, so from 1969's last second the first candidate is 1970's first.
        let before_first_year = start_of_year(FIRST_YEAR)? - TimeDelta::seconds(1);
        let start = after.max(before_first_year);
        // An Err is croner's search limit (year 5000): no match up to 2199.
        let next = self.schedule.find_next_occurrence(&start, false).ok()?;
        Some(next).filter(|next| *next < end)
    }
}

#[cfg(test)]
mod tests;
