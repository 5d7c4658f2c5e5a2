//! The per-official table of `sampark campaign status`: one row per
//! official, sorted by official id, with the contacts still waiting (in any
//! state that is not terminal) and a column per state the campaign has.
//!
//! A campaign may have thousands of officials, so unless `--officials` asks
//! for all of them, the table shows the `TOP` officials with the most
//! contacts still waiting (ties by official id) and says how many it left
//! out.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::domain::{JobState, OfficialId, Outcome};
use crate::store::CampaignStatus;

/// Officials shown without `--officials`.
pub const TOP: usize = 20;

/// Live states first, in lifecycle order, then the outcomes.
fn state_order(state: &str) -> usize {
    const LIVE: [&str; 4] = ["queued", "dialing", "in_call", "retry_wait"];
    LIVE.iter()
        .position(|s| *s == state)
        .or_else(|| {
            Outcome::ALL
                .iter()
                .position(|o| o.as_str() == state)
                .map(|i| LIVE.len() + i)
        })
        .unwrap_or(usize::MAX)
}

fn waiting(per_state: &BTreeMap<String, u64>) -> u64 {
    per_state
        .iter()
        .filter(|(state, _)| !state.parse::<JobState>().is_ok_and(JobState::is_terminal))
        .map(|(_, n)| n)
        .sum()
}

/// The table, or `None` when the campaign has no per-official counts.
pub fn officials_table(status: &CampaignStatus, all: bool) -> Option<String> {
    if status.officials.is_empty() {
        return None;
    }
    let mut rows: Vec<(&OfficialId, &BTreeMap<String, u64>)> = status.officials.iter().collect();
    let hidden = if all || rows.len() <= TOP {
        0
    } else {
        rows.sort_by(|a, b| waiting(b.1).cmp(&waiting(a.1)).then_with(|| a.0.cmp(b.0)));
        let hidden = rows.len() - TOP;
        rows.truncate(TOP);
        rows.sort_by(|a, b| a.0.cmp(b.0));
        hidden
    };
    let mut states: Vec<&str> = status
        .officials
        .values()
        .flat_map(|per_state| per_state.keys().map(String::as_str))
        .collect();
    states.sort_by_key(|s| (state_order(s), *s));
    states.dedup();
    let width = rows
        .iter()
        .map(|(o, _)| o.as_str().len())
        .max()
        .unwrap_or(0)
        .max("official".len());
    let mut out = String::new();
    let mut line = format!("{:<width$}  {:>7}", "official", "waiting");
    for state in &states {
        let _ = write!(line, "  {state:>w$}", w = state.len().max(4));
    }
    out.push_str(line.trim_end());
    out.push('\n');
    for (official, per_state) in &rows {
        let mut line = format!("{:<width$}  {:>7}", official.as_str(), waiting(per_state));
        for state in &states {
            let n = per_state.get(*state).copied().unwrap_or(0);
            let _ = write!(line, "  {n:>w$}", w = state.len().max(4));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "… and {hidden} more official(s) with fewer contacts waiting (--officials shows all)"
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignHeader, CampaignId, PhoneNumber};
    use crate::store::CampaignState;

    fn status(officials: &[(&str, &[(&str, u64)])]) -> CampaignStatus {
        CampaignStatus {
            header: CampaignHeader {
                calling_window: None,
                machine_detection: false,
                kind: crate::domain::CampaignKind::Survey,
                priority: Default::default(),
                id: CampaignId::parse("c").unwrap(),
                name: "n".into(),
                dialplan: "d".into(),
                caller_id: PhoneNumber::parse("+916742000000").unwrap(),
                department: "home".into(),
                freshness: Default::default(),
                sample_rate: None,
                sample_max_per_office_per_day: None,
                retry: None,
            },
            state: CampaignState::Active,
            counts: BTreeMap::new(),
            officials: officials
                .iter()
                .map(|(o, states)| {
                    let states = states.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect();
                    (OfficialId::parse(o).unwrap(), states)
                })
                .collect(),
        }
    }

    #[test]
    fn rows_by_official_and_columns_in_lifecycle_order() {
        let table = officials_table(
            &status(&[
                ("off-2", &[("completed", 4), ("queued", 1)]),
                (
                    "off-10",
                    &[("no_answer", 2), ("in_call", 1), ("retry_wait", 3)],
                ),
            ]),
            false,
        )
        .unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "official  waiting  queued  in_call  retry_wait  completed  no_answer",
                "off-10          4       0        1           3          0          2",
                "off-2           1       1        0           0          4          0",
            ]
        );
        assert_eq!(officials_table(&status(&[]), false), None);
    }

    #[test]
    fn many_officials_show_the_most_waiting_unless_all_are_asked_for() {
        let names: Vec<String> = (0..25).map(|i| format!("off-{i:02}")).collect();
        let rows: Vec<(&str, Vec<(&str, u64)>)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                // off-00 has nothing waiting; the others i contacts queued.
                (name.as_str(), vec![("queued", i as u64), ("completed", 1)])
            })
            .collect();
        let rows: Vec<(&str, &[(&str, u64)])> =
            rows.iter().map(|(n, s)| (*n, s.as_slice())).collect();
        let top = officials_table(&status(&rows), false).unwrap();
        let shown: Vec<&str> = top
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.starts_with("off-"))
            .collect();
        let expected: Vec<String> = (5..25).map(|i| format!("off-{i:02}")).collect();
        assert_eq!(shown, expected, "the 20 with most waiting, by official");
        assert!(
            top.lines()
                .last()
                .unwrap()
                .starts_with("… and 5 more official(s)"),
            "{top}"
        );
        let all = officials_table(&status(&rows), true).unwrap();
        assert_eq!(all.lines().count(), 26, "{all}");
        assert!(!all.contains("more official"));
    }
}
