//! Tests of `[escalations]` and `rating_question`: a plan's scoring rules,
//! every rule reporting a located problem, and the loaded plans agreeing on
//! each flag's severity. (Beside `parse_tests` rather than in it, which is
//! at the length the house style keeps files under.)

use std::path::Path;

use crate::domain::{ScoringRules, Severity};

use super::load::{Dialplans, load_dir};
use super::parse::parse_str;
use super::problem::Position;
use super::testing::{Shape, assert_has, plan_toml, problems_of, sample};

/// Two questions (2 and 5 choices); choice 1 of each raises `first`.
fn base() -> String {
    plan_toml(&Shape {
        questions: vec![2, 5],
        max_retries: 2,
        menu: false,
        opt_out: false,
    })
}

/// `base` with integer choice values (`1`, `2`, ...) instead of `v1`, `v2`.
fn with_integer_values() -> String {
    base().replace("value = \"v", "value = \"")
}

/// `src` as a plan named `name`, with root keys `root` and `[escalations]`.
fn plan_src(src: &str, name: &str, root: &str, escalations: &str) -> String {
    let src = src.replace("name = \"t\"", &format!("name = \"{name}\""));
    format!("{root}{src}[escalations]\n{escalations}")
}

#[test]
fn a_plan_without_either_has_no_rules() {
    let plan = parse_str(Path::new("t.toml"), &base(), Some("t")).unwrap();
    assert_eq!(plan.scoring_rules(), ScoringRules::default());
}

#[test]
fn a_valid_plan_gives_its_severities_and_rating_question() {
    let src = plan_src(
        &with_integer_values(),
        "t",
        "rating_question = \"q1\"\n",
        "first = \"high\"\n",
    );
    let plan = match parse_str(Path::new("t.toml"), &src, Some("t")) {
        Ok(plan) => plan,
        Err(problems) => panic!("{problems:#?}"),
    };
    assert_eq!(
        plan.scoring_rules(),
        ScoringRules::new([("first".to_owned(), Severity::High)], ["q1".to_owned()])
    );
}

#[test]
fn the_shipped_plans_agree_on_their_rules() {
    let expected = ScoringRules::new(
        [
            ("bribe_asked".to_owned(), Severity::Urgent),
            ("mistreated".to_owned(), Severity::High),
            ("low_rating".to_owned(), Severity::Watch),
        ],
        ["rating".to_owned()],
    );
    assert_eq!(sample().scoring_rules(), expected);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
    let plans = match load_dir(&dir) {
        Ok(plans) => plans,
        Err(problems) => panic!("{problems:#?}"),
    };
    // The officials' call plan adds its own flag: a grievance the official
    // heard needs acting on this week.
    let with_officials = ScoringRules::new(
        [
            ("bribe_asked".to_owned(), Severity::Urgent),
            ("mistreated".to_owned(), Severity::High),
            ("low_rating".to_owned(), Severity::Watch),
            ("grievance".to_owned(), Severity::High),
        ],
        ["rating".to_owned()],
    );
    assert_eq!(plans.scoring_rules(), with_officials);
    assert_eq!(
        plans.scoring_rules().severity_of("callback_requested"),
        None
    );
}

#[test]
fn a_severity_must_be_one_of_the_three() {
    let src = plan_src(&base(), "t", "", "first = \"critical\"\n");
    let problems = problems_of(&src);
    assert_has(
        &problems,
        "escalations.first",
        "\"critical\" is not a severity (urgent, high or watch)",
    );
    let at = problems.iter().find(|p| p.path == "escalations.first");
    let line = src.lines().count();
    assert_eq!(
        at.and_then(|p| p.position),
        Some(Position { line, column: 9 })
    );
    let src = plan_src(&base(), "t", "", "first = 1\n");
    assert_has(
        &problems_of(&src),
        "escalations.first",
        "expected a severity (urgent, high, watch), found integer",
    );
    let not_a_table = format!("escalations = \"urgent\"\n{}", base());
    assert_has(
        &problems_of(&not_a_table),
        "escalations",
        "expected a table",
    );
}

#[test]
fn an_escalating_flag_must_be_raised_by_some_choice() {
    let src = plan_src(
        &base(),
        "t",
        "",
        "first = \"urgent\"\nbribe_asked = \"urgent\"\n",
    );
    let problems = problems_of(&src);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_has(
        &problems,
        "escalations.bribe_asked",
        "no choice of this plan raises \"bribe_asked\" (flags raised: first)",
    );
    assert_eq!(
        problems[0].position,
        Some(Position {
            line: src.lines().count(),
            column: 1
        })
    );
    let flagless = plan_src(
        &base().replace(", flag = \"first\"", ""),
        "t",
        "",
        "first = \"watch\"\n",
    );
    assert_has(
        &problems_of(&flagless),
        "escalations.first",
        "no choice raises any flag",
    );
    // A question with problems of its own adds no flag problem on top.
    let broken =
        plan_src(&base(), "t", "", "first = \"watch\"\n").replacen("id = \"q1\"", "id = \"q0\"", 1);
    let problems = problems_of(&broken);
    assert_has(&problems, "questions[1].id", "duplicate question id");
    assert!(problems.iter().all(|p| !p.path.starts_with("escalations")));
}

#[test]
fn the_rating_question_must_exist() {
    let src = format!("rating_question = \"stars\"\n{}", with_integer_values());
    let problems = problems_of(&src);
    assert_has(
        &problems,
        "rating_question",
        "unknown question \"stars\" (questions: q0, q1)",
    );
    let at = problems.iter().find(|p| p.path == "rating_question");
    assert_eq!(
        at.and_then(|p| p.position),
        Some(Position {
            line: 1,
            column: 19
        })
    );
    let src = format!("rating_question = 3\n{}", with_integer_values());
    assert_has(&problems_of(&src), "rating_question", "expected a string");
}

#[test]
fn every_value_of_the_rating_question_must_be_an_integer() {
    let src = format!("rating_question = \"q1\"\n{}", base());
    let problems = problems_of(&src);
    assert_eq!(problems.len(), 5, "one per choice: {problems:#?}");
    assert_has(
        &problems,
        "questions[1].choices[0].value",
        "\"v1\" is not an integer, and question \"q1\" is the `rating_question`",
    );
    assert_has(&problems, "questions[1].choices[4].value", "\"v5\"");
    // Located at the offending value (q1's choices come after q0's).
    let q1 = src.find("id = \"q1\"").unwrap();
    let v1 = q1 + src[q1..].find("\"v1\"").unwrap();
    let at = problems
        .iter()
        .find(|p| p.path == "questions[1].choices[0].value");
    assert_eq!(
        at.and_then(|p| p.position),
        Some(Position::of_offset(&src, v1))
    );
    let one_bad = format!("rating_question = \"q1\"\n{}", with_integer_values())
        .replace("value = \"5\"", "value = \"five\"");
    let problems = problems_of(&one_bad);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_has(
        &problems,
        "questions[1].choices[4].value",
        "\"five\" is not an integer",
    );
}

#[test]
fn plans_that_disagree_on_a_severity_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, escalations: &str| {
        let src = plan_src(&base(), name, "", escalations);
        std::fs::write(dir.path().join(format!("{name}.toml")), src).unwrap();
    };
    write("a", "first = \"urgent\"\n");
    write("b", "first = \"urgent\"\n");
    let plans = match load_dir(dir.path()) {
        Ok(plans) => plans,
        Err(problems) => panic!("{problems:#?}"),
    };
    assert_eq!(
        plans.scoring_rules().severity_of("first"),
        Some(Severity::Urgent)
    );

    write("b", "first = \"watch\"\n");
    let problems = load_dir(dir.path()).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let text = problems[0].to_string();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    assert!(
        text.starts_with(&format!("{}: escalations.first: ", b.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\"first\" escalates as watch here but as urgent in {}",
            a.display()
        )),
        "{text}"
    );

    // A broken third file does not hide the disagreement, nor it the file.
    std::fs::write(dir.path().join("c.toml"), "name = \"c\"\n").unwrap();
    let problems = load_dir(dir.path()).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "escalations.first"));
    assert!(problems.iter().any(|p| p.file.ends_with("c.toml")));
}

#[test]
fn from_plans_refuses_plans_that_disagree() {
    let parse = |name: &str, escalations: &str| {
        let src = plan_src(&base(), name, "", escalations);
        parse_str(Path::new("x.toml"), &src, None).unwrap()
    };
    let conflict = Dialplans::from_plans([
        parse("b", "first = \"high\"\n"),
        parse("a", "first = \"watch\"\n"),
    ])
    .unwrap_err();
    assert_eq!(
        conflict.to_string(),
        "flag \"first\" escalates as watch in dialplan a and as high in dialplan b"
    );
    let plans = Dialplans::from_plans([
        parse("a", "first = \"high\"\n"),
        parse("b", "first = \"high\"\n"),
    ])
    .unwrap();
    assert_eq!(
        plans.scoring_rules().severity_of("first"),
        Some(Severity::High)
    );
}
