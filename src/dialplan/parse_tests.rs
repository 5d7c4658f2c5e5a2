//! Tests of the loader and validator: the sample loads clean, every rule
//! reports a located problem, and a broken file reports all its problems.

use std::path::Path;

use super::load::{Dialplans, check_file, load_dir};
use super::problem::Position;
use super::testing::{
    Shape, assert_has, inbound_sample, inbound_toml, plan_toml, problems_of, sample,
};

fn shape() -> Shape {
    Shape {
        questions: vec![2, 5],
        max_retries: 2,
        menu: true,
        opt_out: true,
    }
}

#[test]
fn the_shipped_sample_loads_without_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
    let plans = match load_dir(&dir) {
        Ok(plans) => plans,
        Err(problems) => panic!("{problems:#?}"),
    };
    assert!(plans.contains("mo-sarkar-feedback"));
    let plan = sample();
    let codes: Vec<&str> = plan.languages().iter().map(|l| l.code.as_str()).collect();
    assert_eq!(codes, ["or", "hi", "en"], "languages keep file order");
    assert_eq!(plan.default_language().code, "or");
    assert_eq!(plan.opt_out_key(), Some('9'));
    let ids: Vec<&str> = plan.questions().iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["treated_well", "asked_money", "rating"]);
    assert_eq!(
        plan.questions()[1]
            .choice('1')
            .and_then(|c| c.flag.as_deref()),
        Some("bribe_asked")
    );
    assert_eq!(plan.questions()[2].keys(), "12345");
    assert_eq!(plan.language_menu().len(), 3);
}

#[test]
fn generated_plans_are_valid() {
    assert!(problems_of(&plan_toml(&shape())).is_empty());
}

#[test]
fn a_broken_file_reports_every_problem_with_its_location() {
    let src = r#"name = "other"
default_language = "fr"
max_retries = 9
opt_out_key = "9"
colour = "blue"
[languages.en]
tts = "en-IN"
[messages]
intro = { en = { text = "Hello {name}" } }
retry = { en = { text = "Again" }, de = { text = "Noch mal" } }
closing = { en = { audio = "not a url" } }
sorry = { en = { text = "Bye" } }
[[questions]]
id = "q"
prompt = { en = { text = "Q?" } }
choices = [ { digits = "12", value = "a", label = "A" }, { digits = "9", value = "b", label = "B" } ]
[[questions]]
id = "q"
prompt = { en = { text = "Q2?" } }
choices = []
"#;
    let problems = problems_of(src);
    assert_has(&problems, "name", "does not match the file name");
    assert_has(&problems, "default_language", "unknown language `fr`");
    assert_has(&problems, "max_retries", "between 0 and 5");
    assert_has(&problems, "colour", "unknown key");
    assert_has(
        &problems,
        "messages.intro.en.text",
        "unknown placeholder {name}",
    );
    assert_has(&problems, "messages.retry.de", "unknown language `de`");
    assert_has(&problems, "messages.closing.en.audio", "http");
    assert_has(&problems, "messages.opted_out", "missing");
    assert_has(
        &problems,
        "questions[0].choices[0].digits",
        "single keypad key",
    );
    assert_has(&problems, "questions[0].choices[1].digits", "opt-out key");
    assert_has(&problems, "questions[1].id", "duplicate question id");
    assert_has(&problems, "questions[1].choices", "at least one choice");
    assert!(problems.len() >= 12, "{problems:#?}");
    // Locations point at the offending value.
    let at = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .and_then(|p| p.position)
    };
    assert_eq!(
        at("max_retries"),
        Some(Position {
            line: 3,
            column: 15
        })
    );
    assert_eq!(at("colour"), Some(Position { line: 5, column: 1 }));
    assert_eq!(
        at("questions[1].id"),
        Some(Position {
            line: 18,
            column: 6
        })
    );
    let line = problems
        .iter()
        .find(|p| p.path == "max_retries")
        .map(ToString::to_string);
    assert_eq!(
        line.as_deref(),
        Some("t.toml:3:15: max_retries: must be between 0 and 5, found 9")
    );
}

#[test]
fn syntax_errors_are_located() {
    let problems = problems_of("name = \"t\"\nmax_retries = = 2\n");
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p.path.is_empty()));
    assert_eq!(problems[0].position.map(|p| p.line), Some(2));
}

#[test]
fn wrong_types_are_reported_each_with_its_path() {
    let src = plan_toml(&shape())
        .replace("gather_timeout_secs = 5", "gather_timeout_secs = \"5\"")
        .replace("max_retries = 2", "max_retries = [2]");
    let problems = problems_of(&src);
    assert_has(
        &problems,
        "gather_timeout_secs",
        "expected an integer, found string",
    );
    assert_has(&problems, "max_retries", "expected an integer, found array");
}

#[test]
fn digits_must_be_unique_within_a_question_and_the_menu() {
    let src = plan_toml(&shape()).replacen(
        "digits = \"2\", value = \"v2\"",
        "digits = \"1\", value = \"v2\"",
        1,
    );
    assert_has(
        &problems_of(&src),
        "questions[0].choices[1].digits",
        "duplicate key `1`",
    );
    let src = plan_toml(&shape()).replace("digits = \"3\"\nlanguage", "digits = \"2\"\nlanguage");
    assert_has(
        &problems_of(&src),
        "language_menu[2].digits",
        "another menu option",
    );
    let src = plan_toml(&shape()).replace("digits = \"3\"\nlanguage", "digits = \"9\"\nlanguage");
    assert_has(&problems_of(&src), "language_menu[2].digits", "opt-out key");
}

#[test]
fn prompts_must_cover_every_declared_language() {
    let src = plan_toml(&shape()).replacen(", hi = { text = \"hi q0\" }", "", 1);
    assert_has(
        &problems_of(&src),
        "questions[0].prompt",
        "declared language `hi`",
    );
}

#[test]
fn a_language_without_tts_needs_audio_unless_it_opts_into_a_fallback() {
    let no_audio = plan_toml(&shape()).replacen(
        "{ text = \"or intro {office}\", audio = \"https://m.example/or/intro.mp3\" }",
        "{ text = \"or intro {office}\" }",
        1,
    );
    assert_has(
        &problems_of(&no_audio),
        "messages.intro.or",
        "needs `audio`",
    );
    let with_fallback = no_audio.replace(
        "languages.or = {}",
        "languages.or = { fallback_tts = \"hi-IN\" }",
    );
    assert!(problems_of(&with_fallback).is_empty());
}

#[test]
fn language_settings_are_checked() {
    let src = plan_toml(&shape())
        .replace(
            "languages.or = {}",
            "languages.or = { voice = \"x\", fallback_tts = \"hindi\" }",
        )
        .replace(
            "tts = \"hi-IN\"",
            "tts = \"hi-IN\", fallback_tts = \"en-IN\"",
        );
    let problems = problems_of(&src);
    assert_has(&problems, "languages.or.voice", "needs `tts`");
    assert_has(&problems, "languages.or.fallback_tts", "not a BCP-47");
    assert_has(
        &problems,
        "languages.hi.fallback_tts",
        "only for a language without `tts`",
    );
}

#[test]
fn opted_out_message_without_an_opt_out_key_is_reported() {
    let src = plan_toml(&shape()).replace("opt_out_key = \"9\"\n", "");
    assert_has(
        &problems_of(&src),
        "messages.opted_out",
        "without `opt_out_key`",
    );
}

#[test]
fn empty_questions_and_blank_fields_are_reported() {
    let src = "name = \"t\"\ndefault_language = \"en\"\nquestions = []\n[languages.en]\ntts = \"en-IN\"\n";
    let problems = problems_of(src);
    assert_has(&problems, "questions", "at least one question");
    assert_has(&problems, "messages", "missing");
    let blank = plan_toml(&shape()).replacen("label = \"L1\"", "label = \" \"", 1);
    assert_has(
        &problems_of(&blank),
        "questions[0].choices[0].label",
        "must not be empty",
    );
}

#[test]
fn check_file_and_load_dir_report_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("t.toml");
    std::fs::write(&good, plan_toml(&shape())).unwrap();
    assert!(check_file(&good).is_empty());
    assert_eq!(
        load_dir(dir.path()).unwrap().names().collect::<Vec<_>>(),
        ["t"]
    );
    let renamed = dir.path().join("u.toml");
    std::fs::write(&renamed, plan_toml(&shape())).unwrap();
    let problems = load_dir(dir.path()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .to_string()
            .contains("u.toml:1:8: name: \"t\" does not match"),
        "{}",
        problems[0]
    );
    assert!(load_dir(&dir.path().join("missing")).is_err());
}

#[test]
fn from_plans_indexes_by_name() {
    let plans = Dialplans::from_plans([sample()]).unwrap();
    assert!(plans.get("mo-sarkar-feedback").is_some());
    assert!(!plans.contains("nope"));
    assert_eq!(plans.len(), 1);
}

#[test]
fn the_example_in_the_docs_is_valid() {
    let doc = include_str!("../../docs/dialplan.md");
    let start = doc.find("### Example").unwrap();
    let end = doc.find("## The engine").unwrap();
    let src: String = doc[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(|l| format!("{l}\n"))
        .collect();
    let problems = problems_of(&src.replace("clinic-check", "t"));
    assert!(problems.is_empty(), "{problems:#?}");
    // The `[inbound]` snippet fits the same example.
    let start = doc.find("### The `[inbound]` section").unwrap();
    let end = doc.find("### Attribution").unwrap();
    let inbound: String = doc[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(|l| format!("{l}\n"))
        .collect();
    let problems = problems_of(&(src.replace("clinic-check", "t") + &inbound));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_inbound_sample_adds_department_and_callback_to_the_survey() {
    let plan = inbound_sample();
    let ids: Vec<&str> = plan.questions().iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "department",
            "treated_well",
            "asked_money",
            "rating",
            "callback"
        ]
    );
    let values: Vec<&str> = plan.questions()[0]
        .choices
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(values, ["home", "health", "revenue", "transport", "other"]);
    let feedback = sample();
    for (inbound, outbound) in plan.questions()[1..4].iter().zip(feedback.questions()) {
        assert_eq!(
            (&inbound.id, &inbound.choices),
            (&outbound.id, &outbound.choices)
        );
    }
    let callback = plan.questions()[4].choice('1');
    assert_eq!(
        callback.map(|c| (c.value.as_str(), c.flag.as_deref())),
        Some(("yes", Some("callback_requested")))
    );
    assert!(plan.inbound().is_some() && feedback.inbound().is_none());
    assert_eq!(plan.languages(), feedback.languages());
}

#[test]
fn the_inbound_section_is_checked() {
    let base = plan_toml(&shape()) + &inbound_toml();
    assert!(problems_of(&base).is_empty(), "{:#?}", problems_of(&base));
    let renamed = base.replace("\nnone = ", "\nnothing = ");
    let problems = problems_of(&renamed);
    assert_has(&problems, "inbound.none", "missing");
    assert_has(&problems, "inbound.nothing", "unknown key");
    let placeholders = base
        .replacen("hi confirm", "hi confirm {key}", 1)
        .replacen("hi intro", "hi intro {key}", 1)
        .replacen("hi none", "hi none {office}", 1)
        .replacen("hi {key}", "hi {keys}", 1);
    let problems = problems_of(&placeholders);
    assert_has(&problems, "inbound.confirm.hi.text", "{key} is not allowed");
    assert_has(&problems, "messages.intro.hi.text", "{key} is not allowed");
    assert_has(&problems, "inbound.none.hi.text", "{office} is not allowed");
    assert_has(
        &problems,
        "inbound.option.hi.text",
        "unknown placeholder {keys}",
    );
    let colliding = problems_of(&base.replace("opt_out_key = \"9\"", "opt_out_key = \"0\""));
    assert_has(&colliding, "opt_out_key", "fixed `[inbound]` keys");
    let at = colliding.iter().find(|p| p.path == "opt_out_key");
    assert_eq!(
        at.and_then(|p| p.position),
        Some(Position {
            line: 5,
            column: 15
        })
    );
    let not_a_table = format!("inbound = 1\n{}", plan_toml(&shape()));
    assert_has(&problems_of(&not_a_table), "inbound", "expected a table");
}
