//! The calendar view's pages: a month (its whole weeks, Monday first) or one
//! week of days, as day numbers since 1970-01-01. Days are UTC days, as due
//! dates are shown and edited everywhere in the app (`dates`).

use prost_types::Timestamp;

use super::dates::{civil_from_days, days_from_civil};

/// What a calendar page spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Month,
    Week,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Weekday names, Monday first, as the grid's column headers.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The day number of a timestamp's (UTC) day.
pub fn day_of(timestamp: &Timestamp) -> i64 {
    timestamp.seconds.div_euclid(86_400)
}

/// The Monday of `day`'s week (1970-01-01 was a Thursday).
fn monday(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

fn first_of_month(day: i64, months_later: i64) -> i64 {
    let (year, month, _) = civil_from_days(day);
    let months = year * 12 + month - 1 + months_later;
    days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1, 1)
}

/// The days a page shows: the weeks that hold `anchor`'s month, or
/// `anchor`'s week.
pub fn page_days(span: Span, anchor: i64) -> std::ops::Range<i64> {
    match span {
        Span::Week => monday(anchor)..monday(anchor) + 7,
        Span::Month => monday(first_of_month(anchor, 0))..monday(first_of_month(anchor, 1) - 1) + 7,
    }
}

/// The anchor of the page `by` pages away (-1: the previous one).
pub fn step(span: Span, anchor: i64, by: i64) -> i64 {
    match span {
        Span::Week => anchor + 7 * by,
        Span::Month => first_of_month(anchor, by),
    }
}

/// A page's heading: "December 2026", or "Week of 7 December 2026".
pub fn title(span: Span, anchor: i64) -> String {
    let (day, when) = match span {
        Span::Month => (first_of_month(anchor, 0), ""),
        Span::Week => (monday(anchor), "Week of "),
    };
    let (year, month, date) = civil_from_days(day);
    let month = MONTHS[(month - 1) as usize];
    if span == Span::Month { format!("{month} {year}") } else { format!("{when}{date} {month} {year}") }
}

/// A day's accessible name: "Monday 7 December 2026".
pub fn day_name(day: i64) -> String {
    let (year, month, date) = civil_from_days(day);
    let weekday = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        [(day + 3).rem_euclid(7) as usize];
    format!("{weekday} {date} {} {year}", MONTHS[(month - 1) as usize])
}

/// The day of the month of `day`.
pub fn date_of_month(day: i64) -> i64 {
    civil_from_days(day).2
}

/// `due` moved to `day`, keeping its time of day.
pub fn moved_to(due: &Timestamp, day: i64) -> Timestamp {
    Timestamp { seconds: day * 86_400 + due.seconds.rem_euclid(86_400), nanos: due.nanos }
}

/// The ListTasks filter of the tasks due on `days`.
pub fn filter(days: &std::ops::Range<i64>) -> String {
    let day = |d: i64| {
        let (year, month, date) = civil_from_days(d);
        format!("{year:04}-{month:02}-{date:02}")
    };
    format!("due_time >= {} AND due_time < {}", day(days.start), day(days.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEC_7_2026: i64 = 20_794;

    #[test]
    fn day_numbers_are_utc_days() {
        assert_eq!(days_from_civil(2026, 12, 7), DEC_7_2026);
        assert_eq!(day_of(&Timestamp { seconds: DEC_7_2026 * 86_400 + 86_399, nanos: 0 }), DEC_7_2026);
        assert_eq!(day_of(&Timestamp { seconds: -1, nanos: 0 }), -1);
        assert_eq!(day_name(DEC_7_2026), "Monday 7 December 2026");
    }

    #[test]
    fn a_month_page_is_whole_weeks_around_the_month() {
        // December 2026 starts on a Tuesday and ends on a Thursday.
        let days = page_days(Span::Month, DEC_7_2026);
        assert_eq!(days.start, days_from_civil(2026, 11, 30));
        assert_eq!(days.end, days_from_civil(2027, 1, 4));
        assert_eq!(days.clone().count() % 7, 0);
        // February 2027 starts on a Monday and ends on a Sunday: four weeks.
        let february = page_days(Span::Month, days_from_civil(2027, 2, 14));
        assert_eq!((february.start, february.clone().count()), (days_from_civil(2027, 2, 1), 28));
        assert_eq!(title(Span::Month, DEC_7_2026), "December 2026");
    }

    #[test]
    fn pages_step_by_month_and_week_across_years() {
        assert_eq!(step(Span::Month, DEC_7_2026, 1), days_from_civil(2027, 1, 1));
        assert_eq!(step(Span::Month, days_from_civil(2027, 1, 31), -1), days_from_civil(2026, 12, 1));
        assert_eq!(step(Span::Month, DEC_7_2026, -12), days_from_civil(2025, 12, 1));
        assert_eq!(step(Span::Week, DEC_7_2026, -1), DEC_7_2026 - 7);
        let week = page_days(Span::Week, days_from_civil(2026, 12, 10));
        assert_eq!(week, DEC_7_2026..DEC_7_2026 + 7);
        assert_eq!(title(Span::Week, DEC_7_2026 + 3), "Week of 7 December 2026");
    }

    #[test]
    fn a_dropped_task_keeps_its_time_of_day_and_the_filter_spans_the_page() {
        let due = Timestamp { seconds: DEC_7_2026 * 86_400 + 9 * 3_600, nanos: 5 };
        assert_eq!(
            moved_to(&due, DEC_7_2026 + 2),
            Timestamp { seconds: (DEC_7_2026 + 2) * 86_400 + 9 * 3_600, nanos: 5 }
        );
        assert_eq!(date_of_month(DEC_7_2026 + 2), 9);
        assert_eq!(filter(&page_days(Span::Week, DEC_7_2026)), "due_time >= 2026-12-07 AND due_time < 2026-12-14");
    }
}
