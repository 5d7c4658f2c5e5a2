//! Unit tests for the IVR engine, one per rule, plus the property test.

use proptest::prelude::*;

use super::action::{Action, Event, SessionStatus};
use super::engine::{CallContext, Session, StepOutput, start, start_skipping, step};
use super::model::Dialplan;
use super::testing::{Shape, plan, sample};

fn ctx(language: Option<&str>) -> CallContext {
    CallContext {
        language: language.map(str::to_owned),
        office: "Dhenkanal Town PS".into(),
        service: "FIR registration".into(),
    }
}

fn digits(d: &str) -> Event {
    Event::Digits(d.into())
}

fn gather_prompts(out: &StepOutput) -> Vec<String> {
    match out.actions.last() {
        Some(Action::Gather { prompts, .. }) => prompts.iter().map(|p| p.text.clone()).collect(),
        other => panic!("expected a final Gather, got {other:?}"),
    }
}

fn run(plan: &Dialplan, first: StepOutput, events: &[&str]) -> StepOutput {
    let mut out = first;
    for e in events {
        out = step(plan, &out.session, &digits(e));
    }
    out
}

#[test]
fn known_language_skips_the_menu_and_fills_placeholders() {
    let plan = sample();
    let out = start(&plan, &ctx(Some("en")));
    assert_eq!(out.session.language(), "en");
    let Action::Say(intro) = &out.actions[0] else {
        panic!("intro first: {:?}", out.actions)
    };
    assert!(
        intro
            .text
            .contains("FIR registration service at Dhenkanal Town PS")
    );
    assert_eq!(intro.tts_language, "en-IN");
    assert_eq!(intro.voice.as_deref(), Some("Polly.Aditi"));
    let Some(Action::Gather {
        choices,
        opt_out,
        num_digits,
        timeout_secs,
        ..
    }) = out.actions.last()
    else {
        panic!("gather last")
    };
    assert_eq!(
        (choices.as_str(), *opt_out, *num_digits, *timeout_secs),
        ("12", Some('9'), 1, 8)
    );
    assert_eq!(out.actions.len(), 2);
}

#[test]
fn odia_prompts_carry_audio() {
    let plan = sample();
    let out = start(&plan, &ctx(Some("or")));
    let Action::Say(intro) = &out.actions[0] else {
        panic!()
    };
    assert!(
        intro
            .audio_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/or/intro.mp3"))
    );
    assert_eq!(intro.voice, None);
}

#[test]
fn unknown_language_opens_the_menu_each_option_in_its_own_language() {
    let plan = sample();
    for language in [None, Some("ta")] {
        let out = start(&plan, &ctx(language));
        assert_eq!(out.actions.len(), 1);
        let Some(Action::Gather {
            prompts, choices, ..
        }) = out.actions.last()
        else {
            panic!()
        };
        assert_eq!(choices, "123");
        let langs: Vec<&str> = prompts.iter().map(|p| p.tts_language.as_str()).collect();
        assert_eq!(langs, ["or", "hi-IN", "en-IN"]);
        let chosen = step(&plan, &out.session, &digits("2"));
        assert_eq!(chosen.session.language(), "hi");
        assert!(matches!(&chosen.actions[0], Action::Say(p) if p.text.starts_with("नमस्ते")));
        assert_eq!(chosen.session.question(), Some(0));
    }
}

#[test]
fn without_a_menu_an_unknown_language_uses_the_default() {
    let plan = plan(&Shape {
        questions: vec![2],
        max_retries: 1,
        menu: false,
        opt_out: false,
    });
    let out = start(&plan, &ctx(Some("ta")));
    assert_eq!(out.session.language(), "en");
    assert_eq!(out.session.question(), Some(0));
}

#[test]
fn answers_then_closing_then_hangup() {
    let plan = sample();
    let out = start(&plan, &ctx(Some("en")));
    let out = step(&plan, &out.session, &digits("2"));
    assert_eq!(out.new_answers.len(), 1);
    assert_eq!(
        (
            out.new_answers[0].question.as_str(),
            out.new_answers[0].value.as_str()
        ),
        ("treated_well", "no")
    );
    let out = step(&plan, &out.session, &digits(" 1 "));
    assert_eq!(out.new_answers[0].flag.as_deref(), Some("bribe_asked"));
    assert_eq!(out.new_answers[0].at_ms, 0);
    let out = step(&plan, &out.session, &digits("5"));
    assert_eq!(out.session.status(), SessionStatus::Completed);
    assert_eq!(out.new_answers[0].value, "5");
    assert!(
        matches!(&out.actions[..], [Action::Say(p), Action::Hangup] if p.text.starts_with("Thank you"))
    );
}

#[test]
fn invalid_and_empty_input_reprompt_then_give_up() {
    let plan = sample();
    let first = start(&plan, &ctx(Some("en")));
    let once = step(&plan, &first.session, &digits("7"));
    assert_eq!(once.session.status(), SessionStatus::InProgress);
    let prompts = gather_prompts(&once);
    assert!(prompts[0].starts_with("Sorry, we did not get"));
    assert!(prompts[1].starts_with("Were you treated well"));
    let twice = step(&plan, &once.session, &digits(""));
    assert_eq!(twice.session.status(), SessionStatus::InProgress);
    let out = step(&plan, &twice.session, &digits("12"));
    assert_eq!(out.session.status(), SessionStatus::Abandoned);
    assert!(
        matches!(&out.actions[..], [Action::Say(p), Action::Hangup] if p.text.contains("could not understand"))
    );
    assert!(out.new_answers.is_empty());
}

#[test]
fn retries_are_counted_per_question() {
    let plan = sample();
    // Two bad inputs on question 1, an answer, then two bad on question 2: still going.
    let out = run(
        &plan,
        start(&plan, &ctx(Some("en"))),
        &["", "0", "1", "#", "*"],
    );
    assert_eq!(out.session.status(), SessionStatus::InProgress);
    assert_eq!(out.session.question(), Some(1));
    // The menu has its own count too.
    let out = run(&plan, start(&plan, &ctx(None)), &["", "", "3", "", ""]);
    assert_eq!(out.session.status(), SessionStatus::InProgress);
    let out = step(&plan, &out.session, &digits(""));
    assert_eq!(out.session.status(), SessionStatus::Abandoned);
}

#[test]
fn zero_retries_gives_up_at_the_first_bad_input() {
    let plan = plan(&Shape {
        questions: vec![2],
        max_retries: 0,
        menu: false,
        opt_out: true,
    });
    let out = step(&plan, &start(&plan, &ctx(Some("hi"))).session, &digits(""));
    assert_eq!(out.session.status(), SessionStatus::Abandoned);
}

#[test]
fn opt_out_works_at_any_gather_including_the_menu() {
    let plan = sample();
    for first in [start(&plan, &ctx(None)), start(&plan, &ctx(Some("hi")))] {
        let out = step(&plan, &first.session, &digits("9"));
        assert_eq!(out.session.status(), SessionStatus::OptedOut);
        assert!(matches!(&out.actions[..], [Action::Say(_), Action::Hangup]));
    }
    let later = run(&plan, start(&plan, &ctx(Some("en"))), &["1", "2", "9"]);
    assert_eq!(later.session.status(), SessionStatus::OptedOut);
    assert!(
        matches!(&later.actions[0], Action::Say(p) if p.text.contains("will not call you again"))
    );
}

#[test]
fn without_an_opt_out_key_nine_is_just_invalid() {
    let plan = plan(&Shape {
        questions: vec![2],
        max_retries: 1,
        menu: false,
        opt_out: false,
    });
    let out = step(&plan, &start(&plan, &ctx(None)).session, &digits("9"));
    assert_eq!(out.session.status(), SessionStatus::InProgress);
}

#[test]
fn hang_up_abandons_silently_and_finished_sessions_absorb_events() {
    let plan = sample();
    let first = start(&plan, &ctx(Some("or")));
    let hung = step(&plan, &first.session, &Event::HungUp);
    assert_eq!(hung.session.status(), SessionStatus::Abandoned);
    assert!(hung.actions.is_empty() && hung.new_answers.is_empty());
    let done = run(&plan, start(&plan, &ctx(Some("en"))), &["1", "1", "1"]);
    assert_eq!(done.session.status(), SessionStatus::Completed);
    for event in [digits("1"), digits("9"), Event::HungUp] {
        let after = step(&plan, &done.session, &event);
        assert_eq!(after.session, done.session);
        assert!(after.actions.is_empty() && after.new_answers.is_empty());
    }
}

#[test]
fn the_session_round_trips_through_json() {
    let plan = sample();
    let out = run(&plan, start(&plan, &ctx(None)), &["1", "x"]);
    let json = serde_json::to_string(&out.session).unwrap();
    let back: Session = serde_json::from_str(&json).unwrap();
    assert_eq!(back, out.session);
    assert_eq!(back.dialplan(), "mo-sarkar-feedback");
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    (
        prop::collection::vec(1usize..=4, 1..=4),
        0u32..=5,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(questions, max_retries, menu, opt_out)| Shape {
            questions,
            max_retries,
            menu,
            opt_out,
        })
}

fn event_strategy() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => "[0-9*#]{0,2}".prop_map(Event::Digits),
        1 => Just(Event::HungUp),
    ]
}

/// Checks the invariants of one transition from `before`.
fn check_transition(
    before: &Session,
    event: &Event,
    out: &StepOutput,
) -> Result<(), TestCaseError> {
    let gathers = out
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Gather { .. }))
        .count();
    if before.status().is_finished() {
        prop_assert_eq!(&out.session, before);
        prop_assert!(out.actions.is_empty() && out.new_answers.is_empty());
    } else if out.session.status() == SessionStatus::InProgress {
        prop_assert_eq!(gathers, 1);
        let ends_in_gather = matches!(out.actions.last(), Some(Action::Gather { .. }));
        prop_assert!(ends_in_gather, "last action: {:?}", out.actions.last());
    } else if *event == Event::HungUp {
        prop_assert!(out.actions.is_empty());
        prop_assert_eq!(out.session.status(), SessionStatus::Abandoned);
    } else {
        prop_assert_eq!(gathers, 0);
        prop_assert_eq!(out.actions.last(), Some(&Action::Hangup));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_engine_is_total_bounded_and_absorbing(
        shape in shape_strategy(),
        use_sample in any::<bool>(),
        language in prop::option::of(prop_oneof![Just("or"), Just("hi"), Just("en"), Just("ta")]),
        events in prop::collection::vec(event_strategy(), 0..80),
    ) {
        let plan = if use_sample { sample() } else { plan(&shape) };
        let menu = usize::from(!plan.language_menu().is_empty());
        let per_gather = plan.max_retries() as usize + 1;
        let bound = (plan.questions().len() + menu) * per_gather;
        let mut out = start(&plan, &ctx(language));
        let ends_in_gather = matches!(out.actions.last(), Some(Action::Gather { .. }));
        prop_assert!(ends_in_gather, "last action: {:?}", out.actions.last());
        let mut gathers = 1;
        let mut answered: Vec<String> = Vec::new();
        for event in &events {
            // Stored as JSON between webhooks: step from the stored form.
            let json = serde_json::to_string(&out.session).unwrap();
            let before: Session = serde_json::from_str(&json).unwrap();
            out = step(&plan, &before, event);
            check_transition(&before, event, &out)?;
            gathers += out.actions.iter().filter(|a| matches!(a, Action::Gather { .. })).count();
            for a in &out.new_answers {
                prop_assert!(!answered.contains(&a.question), "answered twice: {}", a.question);
                answered.push(a.question.clone());
            }
        }
        prop_assert!(gathers <= bound, "{gathers} gathers > bound {bound}");
        if out.session.status() == SessionStatus::Completed {
            prop_assert_eq!(answered.len(), plan.questions().len());
        }
        // Silence forever still ends the call within the bound.
        let mut steps = 0;
        while !out.session.status().is_finished() {
            out = step(&plan, &out.session, &digits(""));
            steps += 1;
            prop_assert!(steps <= bound, "no end after {steps} silent steps");
        }
    }
}

#[test]
fn skipped_questions_are_not_asked_and_old_sessions_load() {
    let plan = plan(&Shape {
        questions: vec![2, 2, 2],
        max_retries: 1,
        menu: false,
        opt_out: false,
    });
    let skip = ["q0", "q2", "nope"].map(String::from);
    let out = start_skipping(&plan, &ctx(Some("en")), &skip);
    assert_eq!(out.session.question(), Some(1));
    let out = step(&plan, &out.session, &digits("1"));
    assert_eq!(out.new_answers[0].question, "q1");
    assert_eq!(out.session.status(), SessionStatus::Completed);
    let all = ["q0", "q1", "q2"].map(String::from);
    let out = start_skipping(&plan, &ctx(Some("en")), &all);
    assert_eq!(out.session.status(), SessionStatus::Completed);
    assert!(matches!(
        &out.actions[..],
        [Action::Say(_), Action::Say(_), Action::Hangup]
    ));
    // A session stored before `skip` existed has none.
    let out = start(&plan, &ctx(Some("en")));
    let mut json = serde_json::to_value(&out.session).unwrap();
    json.as_object_mut().unwrap().remove("skip");
    assert_eq!(
        serde_json::from_value::<Session>(json).unwrap(),
        out.session
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn skipped_questions_are_never_asked(
        shape in shape_strategy(),
        mask in prop::collection::vec(any::<bool>(), 4),
        events in prop::collection::vec(event_strategy(), 0..40),
    ) {
        let plan = plan(&shape);
        let skip: Vec<String> = plan.questions().iter().zip(&mask)
            .filter(|(_, skipped)| **skipped).map(|(q, _)| q.id.clone()).collect();
        let asked = |s: &Session| s.question().map(|i| plan.questions()[i].id.clone());
        let mut out = start_skipping(&plan, &ctx(Some("en")), &skip);
        let mut answered = 0;
        for event in &events {
            prop_assert!(asked(&out.session).is_none_or(|id| !skip.contains(&id)));
            let before = out.session.clone();
            out = step(&plan, &before, event);
            check_transition(&before, event, &out)?;
            prop_assert!(out.new_answers.iter().all(|a| !skip.contains(&a.question)));
            answered += out.new_answers.len();
        }
        if out.session.status() == SessionStatus::Completed {
            prop_assert_eq!(answered, plan.questions().len() - skip.len());
        }
    }
}
