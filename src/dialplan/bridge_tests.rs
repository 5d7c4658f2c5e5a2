//! Unit tests for the official's call: one per row of the flow in
//! `bridge.rs`, and the `[bridge]` section's checks.

use std::path::Path;

use super::action::{Action, Event, SessionStatus};
use super::bridge::{
    Leg, OfficialContext, OfficialOutput, after_bridge, consent, start_official, step_official,
};
use super::parse::parse_str;
use super::testing::{official_sample, sample};

fn ctx(record: bool) -> OfficialContext {
    OfficialContext {
        language: Some("en".into()),
        citizen_language: Some("hi".into()),
        office: "Khordha PS".into(),
        service: "FIR registration".into(),
        citizen: Some("Sunita".into()),
        visit_date: Some("2026-11-27".into()),
        to: "+919800000001".into(),
        caller_id: "+916742100100".into(),
        record,
    }
}

fn said(out: &OfficialOutput) -> Vec<String> {
    let mut texts = Vec::new();
    for action in &out.actions {
        match action {
            Action::Say(p) => texts.push(p.text.clone()),
            Action::Gather { prompts, .. } => texts.extend(prompts.iter().map(|p| p.text.clone())),
            _ => {}
        }
    }
    texts
}

#[test]
fn the_official_hears_the_brief_then_the_citizen_is_dialled_with_the_programme_number() {
    let plan = official_sample();
    let out = start_official(&plan, &ctx(false)).unwrap();
    assert_eq!(
        said(&out),
        vec![
            "Namaskar. You are about to speak with Sunita, who used the FIR registration \
             service at Khordha PS on 2026-11-27. Connecting you now."
        ]
    );
    let Some(Action::Dial(bridge)) = out.actions.last() else {
        panic!("{:?}", out.actions);
    };
    assert_eq!(bridge.to, "+919800000001");
    assert_eq!(bridge.caller_id, "+916742100100");
    assert_eq!(bridge.timeout_secs, 30);
    assert!(!bridge.record && !bridge.whisper);
    assert_eq!(out.session.status(), SessionStatus::InProgress);
    assert_eq!(out.session.leg(), None);
    // A plan without `[bridge]` cannot run an official's call.
    assert!(start_official(&sample(), &ctx(false)).is_none());
}

#[test]
fn a_recorded_call_plays_the_consent_notice_to_the_citizen_in_their_language() {
    let plan = official_sample();
    let out = start_official(&plan, &ctx(true)).unwrap();
    let Some(Action::Dial(bridge)) = out.actions.last() else {
        panic!("{:?}", out.actions);
    };
    assert!(bridge.record && bridge.whisper);
    let notice = consent(&plan, &out.session);
    let [Action::Say(prompt)] = notice.as_slice() else {
        panic!("{notice:?}");
    };
    assert_eq!(
        prompt.text,
        "मो सरकार की यह कॉल गुणवत्ता के लिए रिकॉर्ड की जाएगी।"
    );
    assert_eq!(prompt.tts_language, "hi-IN");
}

#[test]
fn after_a_conversation_the_official_keys_the_disposition_and_a_rating() {
    let plan = official_sample();
    let start = start_official(&plan, &ctx(false)).unwrap();
    let out = after_bridge(&plan, &start.session, Leg::Connected);
    assert_eq!(out.session.leg(), Some(Leg::Connected));
    let texts = said(&out);
    assert!(texts[0].starts_with("The call has ended."), "{texts:?}");
    assert!(
        texts
            .last()
            .unwrap()
            .starts_with("Press 1 if the citizen was satisfied")
    );
    let out = step_official(&plan, &out.session, &Event::Digits("2".into()));
    assert_eq!(out.new_answers.len(), 1);
    assert_eq!(out.new_answers[0].question, "disposition");
    assert_eq!(out.new_answers[0].value, "grievance");
    assert_eq!(out.new_answers[0].flag.as_deref(), Some("grievance"));
    let out = step_official(&plan, &out.session, &Event::Digits("4".into()));
    assert_eq!(out.new_answers[0].value, "4");
    assert_eq!(out.session.status(), SessionStatus::Completed);
    assert_eq!(out.actions.last(), Some(&Action::Hangup));
    // The bridge's report comes once: a repeat changes nothing.
    let again = after_bridge(&plan, &out.session, Leg::NoAnswer);
    assert_eq!(again.session, out.session);
    assert!(again.actions.is_empty());
}

#[test]
fn a_citizen_not_reached_is_offered_again_later_only_on_the_retry_key() {
    let plan = official_sample();
    let start = start_official(&plan, &ctx(false)).unwrap();
    for leg in [Leg::Busy, Leg::NoAnswer, Leg::Failed] {
        let out = after_bridge(&plan, &start.session, leg);
        assert_eq!(
            said(&out),
            vec!["The citizen did not answer. Press 1 to try again later."]
        );
        assert_eq!(out.session.status(), SessionStatus::InProgress);
        for (keys, retry) in [("1", true), ("2", false), ("", false)] {
            let end = step_official(&plan, &out.session, &Event::Digits(keys.into()));
            assert_eq!(end.session.retry_later(), retry, "{leg:?} {keys:?}");
            assert_eq!(end.session.leg(), Some(leg));
            assert_eq!(end.actions.last(), Some(&Action::Hangup));
            assert!(end.new_answers.is_empty());
        }
    }
}

#[test]
fn the_official_in_an_unknown_language_is_briefed_in_the_plans_default() {
    let plan = official_sample();
    let mut c = ctx(false);
    c.language = Some("ta".into());
    c.citizen = None;
    c.visit_date = None;
    let out = start_official(&plan, &c).unwrap();
    let [Action::Say(brief), Action::Dial(_)] = out.actions.as_slice() else {
        panic!("{:?}", out.actions);
    };
    assert_eq!(
        brief.tts_language, "hi-IN",
        "Odia text through the Hindi voice"
    );
    assert!(!brief.text.contains('{'), "{}", brief.text);
}

fn problems(src: &str) -> Vec<String> {
    match parse_str(Path::new("plan.toml"), src, None) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

const BASE: &str = r#"
name = "p"
default_language = "en"
[languages.en]
tts = "en-IN"
[messages]
intro.en = { text = "i" }
retry.en = { text = "r" }
closing.en = { text = "c" }
sorry.en = { text = "s" }
[[questions]]
id = "disposition"
choices = [{ digits = "1", value = "ok", label = "OK" }]
prompt.en = { text = "q" }
"#;

#[test]
fn the_bridge_section_is_checked_with_line_and_path() {
    let good = format!(
        "{BASE}[bridge]\nbrief.en = {{ text = \"Call {{citizen}} about {{service}} on {{visit_date}}\" }}\n\
         not_reached.en = {{ text = \"n\" }}\nconsent.en = {{ text = \"c\" }}\n"
    );
    assert_eq!(problems(&good), Vec::<String>::new());
    let cases = [
        (
            "[bridge]\nnot_reached.en = { text = \"n\" }\nconsent.en = { text = \"c\" }\n",
            "bridge.brief",
        ),
        (
            "[bridge]\nbrief.en = { text = \"b\" }\nnot_reached.en = { text = \"n\" }\n\
             consent.en = { text = \"hello {citizen}\" }\n",
            "placeholder {citizen} is not allowed",
        ),
        (
            "[bridge]\nbrief.en = { text = \"b\" }\nnot_reached.en = { text = \"n\" }\n\
             consent.en = { text = \"c\" }\nring_timeout_secs = 500\n",
            "bridge.ring_timeout_secs",
        ),
        (
            "[bridge]\nbrief.en = { text = \"b\" }\nnot_reached.en = { text = \"n\" }\n\
             consent.en = { text = \"c\" }\nretry_key = \"12\"\n",
            "bridge.retry_key",
        ),
        (
            "[bridge]\nbrief.en = { text = \"b\" }\nnot_reached.en = { text = \"n\" }\n\
             consent.en = { text = \"c\" }\nwhisper = true\n",
            "whisper",
        ),
    ];
    for (section, expected) in cases {
        let found = problems(&format!("{BASE}{section}"));
        assert!(
            found
                .iter()
                .any(|p| p.contains(expected) && p.contains("plan.toml:")),
            "{expected}: {found:#?}"
        );
    }
    let opt_out = format!("opt_out_key = \"9\"\n{good}").replace(
        "sorry.en = { text = \"s\" }",
        "sorry.en = { text = \"s\" }\nopted_out.en = { text = \"o\" }",
    );
    let found = problems(&opt_out);
    assert!(
        found
            .iter()
            .any(|p| p.contains("cannot opt the citizen out")),
        "{found:#?}"
    );
}
