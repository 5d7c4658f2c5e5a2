//! The trend of a scorecard row: a small bar chart of the negative share
//! per day, as inline SVG (no script, no image request), with its numbers
//! as its `<title>` for screen readers. Built from numbers and dates only,
//! so it needs no escaping.

use std::fmt::Write as _;

use jiff::civil::Date;

use crate::accountability::report::DayPoint;

/// Bar chart of the negative share per day of `range` (one bar a day, none
/// on days without answered calls), with its numbers as the image's text
/// (its `<title>`, which screen readers read as its name).
pub fn svg(points: &[DayPoint], range: &[Date]) -> String {
    // Drawn on a grid of 4 units a day and 100 units of height, so every
    // coordinate is a whole number (short markup), shown 120 × 28 pixels.
    const DAY: usize = 4;
    const H: i64 = 100;
    let n = range.len().max(1);
    let w = n * DAY;
    let mut text = String::from("Negative share by day:");
    let mut bars = String::new();
    let mut p = points.iter().peekable();
    for (i, day) in range.iter().enumerate() {
        while p.peek().is_some_and(|d| d.day < *day) {
            p.next();
        }
        let Some(point) = p.peek().filter(|d| d.day == *day && d.answered > 0) else {
            continue;
        };
        let share = point.negative as f64 / point.answered as f64;
        // At least a sliver, so a day with calls and no complaint shows.
        let h = ((share * (H - 4) as f64).round() as i64).max(3);
        let _ = write!(
            bars,
            r#"<rect x="{}" y="{}" width="3" height="{h}"/>"#,
            i * DAY,
            H - 2 - h,
        );
        let _ = write!(
            text,
            " {day} {:.0}% ({}/{});",
            share * 100.0,
            point.negative,
            point.answered
        );
    }
    if bars.is_empty() {
        text.push_str(" no answered calls.");
    }
    format!(
        r#"<svg class="trend" viewBox="0 0 {w} {H}" width="120" height="28" preserveAspectRatio="none" role="img"><title>{text}</title><line x1="0" y1="{y}" x2="{w}" y2="{y}"/>{bars}</svg>"#,
        y = H - 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_has_a_bar_per_day_with_calls() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let range = [d("2026-11-01"), d("2026-11-02"), d("2026-11-03")];
        let points = [
            DayPoint {
                day: d("2026-11-01"),
                answered: 4,
                negative: 1,
                mean_rating: None,
            },
            DayPoint {
                day: d("2026-11-03"),
                answered: 0,
                negative: 0,
                mean_rating: None,
            },
        ];
        let chart = svg(&points, &range);
        assert_eq!(chart.matches("<rect").count(), 1, "{chart}");
        assert!(chart.contains("2026-11-01 25% (1/4)"), "{chart}");
        assert!(
            chart.contains(r#"<rect x="0" y="74" width="3" height="24"/>"#),
            "{chart}"
        );
        assert!(svg(&[], &range).contains("no answered calls"));
    }
}
