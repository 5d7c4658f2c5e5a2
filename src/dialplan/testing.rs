//! Test support: dialplans built from a few knobs, so tests and property
//! tests can cover many valid shapes without hand-writing TOML each time.

use std::path::Path;

use super::model::Dialplan;
use super::parse::parse_str;
use super::problem::Problem;

/// The knobs of a generated plan.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Number of choices of each question (keys `1`..=n).
    pub questions: Vec<usize>,
    pub max_retries: u32,
    pub menu: bool,
    pub opt_out: bool,
}

fn localized(what: &str) -> String {
    format!(
        "{{ or = {{ text = \"or {what} {{office}}\", audio = \"https://m.example/or/{what}.mp3\" }}, \
         hi = {{ text = \"hi {what}\" }}, en = {{ text = \"en {what} at {{office}} for {{service}}\" }} }}"
    )
}

/// The TOML of a valid plan named `t` with the given shape.
pub fn plan_toml(shape: &Shape) -> String {
    let mut s = String::from("name = \"t\"\ndefault_language = \"en\"\ngather_timeout_secs = 5\n");
    s += &format!("max_retries = {}\n", shape.max_retries);
    if shape.opt_out {
        s += "opt_out_key = \"9\"\n";
    }
    s += "languages.or = {}\nlanguages.hi = { tts = \"hi-IN\" }\n";
    s += "languages.en = { tts = \"en-IN\", voice = \"Polly.Aditi\" }\n";
    if shape.menu {
        for (key, code) in [("1", "or"), ("2", "hi"), ("3", "en")] {
            s += &format!(
                "[[language_menu]]\ndigits = \"{key}\"\nlanguage = \"{code}\"\n\
                 prompt = {{ text = \"{code} menu\", audio = \"https://m.example/{code}.mp3\" }}\n"
            );
        }
    }
    s += "[messages]\n";
    for m in ["intro", "retry", "closing", "sorry"] {
        s += &format!("{m} = {}\n", localized(m));
    }
    if shape.opt_out {
        s += &format!("opted_out = {}\n", localized("opted_out"));
    }
    for (i, n) in shape.questions.iter().enumerate() {
        s += &format!(
            "[[questions]]\nid = \"q{i}\"\nprompt = {}\nchoices = [\n",
            localized(&format!("q{i}"))
        );
        for k in 1..=*n {
            let flag = if k == 1 { ", flag = \"first\"" } else { "" };
            s += &format!("  {{ digits = \"{k}\", value = \"v{k}\", label = \"L{k}\"{flag} }},\n");
        }
        s += "]\n";
    }
    s
}

/// A parsed plan with the given shape; panics (in tests) if it is invalid.
pub fn plan(shape: &Shape) -> Dialplan {
    let src = plan_toml(shape);
    match parse_str(Path::new("t.toml"), &src, Some("t")) {
        Ok(plan) => plan,
        Err(problems) => panic!("generated plan invalid: {problems:#?}\n{src}"),
    }
}

/// Every problem of `src` as a file `t.toml` (none when it is valid).
pub fn problems_of(src: &str) -> Vec<Problem> {
    match parse_str(Path::new("t.toml"), src, Some("t")) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    }
}

/// Asserts one problem has `path` and a message containing `needle`.
pub fn assert_has(problems: &[Problem], path: &str, needle: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.path == path && p.message.contains(needle)),
        "no problem at {path:?} containing {needle:?} in:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}\n"))
            .collect::<String>()
    );
}

/// An `[inbound]` section for `plan_toml`'s languages.
pub fn inbound_toml() -> String {
    let audio = |what: &str| format!("audio = \"https://m.example/or/{what}.mp3\"");
    format!(
        "[inbound]\nconfirm = {}\n\
         option = {{ or = {{ text = \"or {{office}} {{key}}\", {} }}, hi = {{ text = \"hi {{key}}\" }}, \
         en = {{ text = \"en {{office}} for {{service}}: press {{key}}\" }} }}\n\
         none = {{ or = {{ text = \"or none\", {} }}, hi = {{ text = \"hi none\" }}, en = {{ text = \"en none: 0\" }} }}\n\
         busy = {{ or = {{ text = \"or busy\", {} }}, hi = {{ text = \"hi busy\" }}, en = {{ text = \"en busy\" }} }}\n",
        localized("confirm"),
        audio("option"),
        audio("none"),
        audio("busy"),
    )
}

/// A parsed plan with the given shape and an `[inbound]` section; its first
/// question is `department` when `department` is set.
pub fn inbound_plan(shape: &Shape, department: bool) -> Dialplan {
    let mut src = plan_toml(shape) + &inbound_toml();
    if department {
        src = src.replacen("id = \"q0\"", "id = \"department\"", 1);
    }
    match parse_str(Path::new("t.toml"), &src, Some("t")) {
        Ok(plan) => plan,
        Err(problems) => panic!("generated inbound plan invalid: {problems:#?}\n{src}"),
    }
}

/// The shipped sample plan.
pub fn sample() -> Dialplan {
    shipped("mo-sarkar-feedback")
}

/// The shipped inbound sample plan.
pub fn inbound_sample() -> Dialplan {
    shipped("mo-sarkar-inbound")
}

/// The shipped officials' call plan.
pub fn official_sample() -> Dialplan {
    shipped("official-call")
}

fn shipped(name: &str) -> Dialplan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("dialplans/{name}.toml"));
    match super::load::load_file(&path) {
        Ok(plan) => plan,
        Err(problems) => panic!("sample {name} invalid: {problems:#?}"),
    }
}
