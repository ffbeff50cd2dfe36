//! EventBridge rule schedule expressions: `rate(value unit)` and
//! `cron(minutes hours day-of-month month day-of-week year)`, evaluated in UTC.
//!
//! The grammar is deliberately the one AWS EventBridge accepts for scheduled
//! rules, so an expression copied from an AWS template behaves the same here
//! and one AWS would reject is rejected with a reason a user can act on.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

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
    fn contains(&self, value: u32) -> bool {
        let index = value
            .checked_sub(self.min)
            .and_then(|i| usize::try_from(i).ok());
        index.and_then(|index| self.allowed.get(index)) == Some(&true)
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
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let Ok(fields) = <[&str; 6]>::try_from(parts.as_slice()) else {
        let shape = "minutes hours day-of-month month day-of-week year";
        let count = parts.len();
        bail!("a cron expression has 6 fields ({shape}), got {count}");
    };
    let [minutes, hours, dom, months, dow, years] = fields;
    let days = pick_days(parse_day_of_month(dom)?, parse_day_of_week(dow)?)?;
    Ok(Cron {
        text: fields.join(" "),
        minutes: MINUTES.set(minutes)?,
        hours: HOURS.set(hours)?,
        months: MONTH.set(months)?,
        years: YEAR.set(years)?,
        days,
    })
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

// ---------------------------------------------------------------- cron search

/// One month's shape, enough to resolve L, W and # with arithmetic alone.
struct MonthCalendar {
    len: u32,
    /// Weekday of the 1st, 0 = Sunday.
    first_weekday: u32,
}

impl MonthCalendar {
    fn new(year: i32, month: u32) -> Option<Self> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let len = u32::from(first.num_days_in_month());
        let first_weekday = first.weekday().num_days_from_sunday();
        Some(MonthCalendar { len, first_weekday })
    }

    /// AWS weekday number of `day`: 1 = Sunday ... 7 = Saturday.
    fn weekday(&self, day: u32) -> u32 {
        (self.first_weekday + day - 1) % 7 + 1
    }

    /// Weekday (Mon-Fri) nearest `day`, never leaving the month.
    fn nearest_weekday(&self, day: u32) -> u32 {
        match self.weekday(day) {
            7 if day == 1 => 3,
            7 => day - 1,
            1 if day == self.len => day - 2,
            1 => day + 1,
            _ => day,
        }
    }
}

impl Days {
    /// Whether `day` (1..=cal.len) of the month `cal` describes matches.
    fn matches(&self, cal: &MonthCalendar, day: u32) -> bool {
        let is = |weekday: u32| cal.weekday(day) == weekday;
        match *self {
            Days::OfMonth(ref set) => set.contains(day),
            Days::LastOfMonth => day == cal.len,
            Days::LastWeekdayOfMonth => day == cal.nearest_weekday(cal.len),
            Days::NearestWeekday(n) => n <= cal.len && day == cal.nearest_weekday(n),
            Days::OfWeek(ref set) => set.contains(cal.weekday(day)),
            // Days 1-7 hold each weekday's 1st occurrence, 8-14 its 2nd, ...
            Days::NthOfWeek { weekday, nth } => is(weekday) && (day - 1) / 7 + 1 == nth,
            Days::LastOfWeek(weekday) => is(weekday) && day + 7 > cal.len,
        }
    }
}

/// Where a search starts, while the walk is still inside the unit holding that
/// instant; None once it has moved past (then the unit is walked from its top).
type Floor = Option<NaiveDateTime>;

/// The search walks year → month → day → hour → minute, skipping whole units
/// that cannot match, so even a never-matching expression costs at most a
/// month's worth of day checks per allowed month up to 2199.
impl Cron {
    /// First matching whole minute strictly after `after`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minute = after.naive_utc().with_second(0)?.with_nanosecond(0)?;
        let start = minute.checked_add_signed(TimeDelta::try_minutes(1)?)?;
        // Before 1970 the walk simply starts at 1970 with no floor.
        let first_year = u32::try_from(start.year()).unwrap_or(0).max(FIRST_YEAR);
        let mut years = (first_year..=LAST_YEAR).filter(|year| self.years.contains(*year));
        let found = years.find_map(|year| {
            let year = i32::try_from(year).ok()?;
            self.next_in_year(year, Some(start).filter(|s| s.year() == year))
        });
        found.map(|found| found.and_utc())
    }

    fn next_in_year(&self, year: i32, floor: Floor) -> Option<NaiveDateTime> {
        let mut months = (floor.map_or(1, |f| f.month())..=12).filter(|m| self.months.contains(*m));
        months
            .find_map(|month| self.next_in_month(year, month, floor.filter(|f| f.month() == month)))
    }

    /// Walks the days of the month that the day field matches.
    fn next_in_month(&self, year: i32, month: u32, floor: Floor) -> Option<NaiveDateTime> {
        let cal = MonthCalendar::new(year, month)?;
        let from = floor.map_or(1, |f| f.day());
        let mut days = (from..=cal.len).filter(|day| self.days.matches(&cal, *day));
        days.find_map(|day| {
            let (hour, minute) = self.next_in_day(floor.filter(|f| f.day() == day))?;
            NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, minute, 0)
        })
    }

    /// The first matching (hour, minute) at or after the floor's time (or midnight).
    fn next_in_day(&self, floor: Floor) -> Option<(u32, u32)> {
        let mut hours = (floor.map_or(0, |f| f.hour())..24).filter(|h| self.hours.contains(*h));
        hours.find_map(|hour| {
            let from = floor.filter(|f| f.hour() == hour).map_or(0, |f| f.minute());
            let minute = (from..60).find(|minute| self.minutes.contains(*minute))?;
            Some((hour, minute))
        })
    }
}

#[cfg(test)]
mod tests;
