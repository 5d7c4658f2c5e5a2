//! Reading and checking what a plan says about its results: `[escalations]`
//! (which flags someone must act on, and how soon) and `rating_question`
//! (the question whose answer is the rating).
//!
//! Owns: the rules that a severity is one of `Severity::ALL`, that an
//! escalating flag is raised by some choice of the plan, and that the rating
//! question is a question of the plan whose choice values are all integers.
//! Does not own: what the rules do to a record (see `domain::escalation`),
//! agreement between plans (see `load`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::de::DeValue;

use crate::domain::Severity;

use super::model::Question;
use super::tree::{Reader, Table, Value, key_path};

/// `[escalations]`: `flag = "<severity>"`; an empty map when absent, `None`
/// when it has problems. `questions` is `None` when they have problems of
/// their own: the flags are then not checked against them, since a choice
/// that failed to read would make its flag look unraised.
pub(super) fn read_escalations(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    questions: Option<&[Question]>,
) -> Option<BTreeMap<String, Severity>> {
    let Some(v) = root.get("escalations") else {
        return Some(BTreeMap::new());
    };
    let t = r.as_table(v, "escalations")?;
    let raised: Option<BTreeSet<&str>> = questions.map(|qs| {
        qs.iter()
            .flat_map(|q| &q.choices)
            .filter_map(|c| c.flag.as_deref())
            .collect()
    });
    let before = r.problems.len();
    let mut escalations = BTreeMap::new();
    for (flag, span, value) in t.entries() {
        let path = key_path("escalations", flag);
        if let Some(raised) = &raised
            && !raised.contains(flag)
        {
            r.problem(span, &path, not_raised(flag, raised));
        }
        if let Some(severity) = read_severity(r, value, &path) {
            escalations.insert(flag.to_owned(), severity);
        }
    }
    (r.problems.len() == before).then_some(escalations)
}

fn not_raised(flag: &str, raised: &BTreeSet<&str>) -> String {
    if raised.is_empty() {
        format!("no choice of this plan raises {flag:?} (no choice raises any flag)")
    } else {
        let list: Vec<&str> = raised.iter().copied().collect();
        format!(
            "no choice of this plan raises {flag:?} (flags raised: {})",
            list.join(", ")
        )
    }
}

fn read_severity(r: &mut Reader<'_>, v: &Value<'_>, path: &str) -> Option<Severity> {
    match v.get_ref() {
        DeValue::String(s) => match s.parse::<Severity>() {
            Ok(severity) => Some(severity),
            Err(message) => {
                r.problem(v.span(), path, message);
                None
            }
        },
        other => {
            let valid: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
            r.problem(
                v.span(),
                path,
                format!(
                    "expected a severity ({}), found {}",
                    valid.join(", "),
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// `rating_question = "<id>"`: `Some(None)` when absent, `None` when it has
/// problems. As with `read_escalations`, it is checked against the questions
/// only when they read cleanly.
pub(super) fn read_rating_question(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    questions: Option<&[Question]>,
) -> Option<Option<String>> {
    let Some(v) = root.get("rating_question") else {
        return Some(None);
    };
    let id = r.as_string(v, "rating_question")?;
    let questions = questions?;
    let Some(index) = questions.iter().position(|q| q.id == id) else {
        let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
        r.problem(
            v.span(),
            "rating_question",
            format!("unknown question {id:?} (questions: {})", ids.join(", ")),
        );
        return None;
    };
    let before = r.problems.len();
    for (j, choice) in questions[index].choices.iter().enumerate() {
        if choice.value.parse::<i64>().is_err() {
            let path = format!("questions[{index}].choices[{j}].value");
            let span = choice_value_span(root, index, j).unwrap_or(v.span());
            r.problem(
                span,
                &path,
                format!(
                    "{:?} is not an integer, and question {id:?} is the `rating_question`",
                    choice.value
                ),
            );
        }
    }
    (r.problems.len() == before).then_some(Some(id))
}

/// Where `questions[i].choices[j].value` is in the file; always found for a
/// plan whose questions read cleanly.
fn choice_value_span(root: &Table<'_, '_>, i: usize, j: usize) -> Option<Range<usize>> {
    let DeValue::Array(questions) = root.get("questions")?.get_ref() else {
        return None;
    };
    let DeValue::Table(question) = questions.get(i)?.get_ref() else {
        return None;
    };
    let DeValue::Array(choices) = question.get("choices")?.get_ref() else {
        return None;
    };
    let DeValue::Table(choice) = choices.get(j)?.get_ref() else {
        return None;
    };
    choice.get("value").map(|v| v.span())
}
