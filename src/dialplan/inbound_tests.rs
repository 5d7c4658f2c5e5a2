//! Unit tests for inbound attribution, one per branch of the flow, plus the
//! property test.

use proptest::prelude::*;

use super::action::{Action, Event, SessionStatus};
use super::inbound::{
    Attribution, InboundOutput, InboundSession, Visit, start_inbound, step_inbound,
};
use super::model::Dialplan;
use super::testing::{Shape, inbound_plan, inbound_sample, sample};

fn visit(office: &str, language: Option<&str>) -> Visit {
    Visit {
        office: office.into(),
        service: format!("{office} service"),
        language: language.map(str::to_owned),
    }
}

fn digits(d: &str) -> Event {
    Event::Digits(d.into())
}

fn run(plan: &Dialplan, first: InboundOutput, events: &[&str]) -> InboundOutput {
    let mut out = first;
    for e in events {
        out = step_inbound(plan, &out.session, &digits(e));
    }
    out
}

/// The final gather's prompt texts and choices.
fn gather(out: &InboundOutput) -> (Vec<String>, String) {
    match out.actions.last() {
        Some(Action::Gather {
            prompts, choices, ..
        }) => (
            prompts.iter().map(|p| p.text.clone()).collect(),
            choices.clone(),
        ),
        other => panic!("expected a final Gather, got {other:?}"),
    }
}

/// The id of the question the survey is asking.
fn asking(plan: &Dialplan, s: &InboundSession) -> Option<String> {
    let i = s.survey()?.question()?;
    Some(plan.questions()[i].id.clone())
}

fn shape(max_retries: u32) -> Shape {
    Shape {
        questions: vec![2, 3],
        max_retries,
        menu: true,
        opt_out: true,
    }
}

#[test]
fn no_visits_runs_the_whole_survey_unattributed() {
    let plan = inbound_sample();
    let out = start_inbound(&plan, &[]);
    assert_eq!(out.session.attribution(), &Attribution::Unattributed);
    assert_eq!(out.session.status(), SessionStatus::InProgress);
    let (_, choices) = gather(&out);
    assert_eq!(choices, "123", "the language menu");
    let out = step_inbound(&plan, &out.session, &digits("3"));
    assert!(
        matches!(&out.actions[0], Action::Say(p) if p.text.starts_with("Thank you for calling"))
    );
    assert_eq!(asking(&plan, &out.session).as_deref(), Some("department"));
    let out = step_inbound(&plan, &out.session, &digits("2"));
    assert_eq!(out.new_answers[0].question, "department");
    assert_eq!(out.new_answers[0].value, "health");
}

#[test]
fn a_plan_without_inbound_starts_the_survey_unattributed() {
    let plan = sample();
    let out = start_inbound(&plan, &[visit("Puri PS", Some("en"))]);
    assert_eq!(out.session.attribution(), &Attribution::Unattributed);
    let survey = out.session.survey().map(|s| s.language().to_owned());
    assert_eq!(survey.as_deref(), Some("or"), "menu open, default language");
    assert_eq!(gather(&out).1, "123");
}

#[test]
fn one_visit_is_confirmed_in_its_language() {
    let plan = inbound_sample();
    let out = start_inbound(&plan, &[visit("Puri PS", Some("hi"))]);
    assert_eq!(out.actions.len(), 1);
    let Some(Action::Gather {
        prompts,
        choices,
        opt_out,
        num_digits,
        timeout_secs,
    }) = out.actions.last()
    else {
        panic!("{:?}", out.actions)
    };
    assert_eq!(
        (choices.as_str(), *opt_out, *num_digits, *timeout_secs),
        ("12", Some('9'), 1, 8)
    );
    assert_eq!(prompts.len(), 1);
    assert!(
        prompts[0]
            .text
            .starts_with("क्या आप Puri PS में Puri PS service")
    );
    assert_eq!(prompts[0].tts_language, "hi-IN");
    assert_eq!(out.session.attribution(), &Attribution::Pending);
    assert!(out.session.survey().is_none());

    let yes = step_inbound(&plan, &out.session, &digits("1"));
    assert_eq!(yes.session.attribution(), &Attribution::Visit(0));
    assert_eq!(yes.session.survey().map(|s| s.language()), Some("hi"));
    assert!(matches!(&yes.actions[0], Action::Say(p) if p.text.starts_with("मो सरकार")));
    assert_eq!(
        asking(&plan, &yes.session).as_deref(),
        Some("treated_well"),
        "department is skipped"
    );
}

#[test]
fn one_visit_denied_runs_the_survey_unattributed() {
    let plan = inbound_sample();
    let out = start_inbound(&plan, &[visit("Puri PS", Some("en"))]);
    let no = step_inbound(&plan, &out.session, &digits(" 2 "));
    assert_eq!(no.session.attribution(), &Attribution::Unattributed);
    assert_eq!(gather(&no).1, "123", "the language menu, as for no visits");
}

#[test]
fn bad_input_retries_then_runs_the_survey_unattributed() {
    let plan = inbound_sample();
    let first = start_inbound(&plan, &[visit("Puri PS", Some("en"))]);
    let once = step_inbound(&plan, &first.session, &digits("7"));
    let (prompts, choices) = gather(&once);
    assert_eq!(choices, "12");
    assert!(prompts[0].starts_with("Sorry, we did not get"));
    assert!(prompts[1].starts_with("Are you calling about your visit to Puri PS"));
    let twice = step_inbound(&plan, &once.session, &digits(""));
    assert_eq!(twice.session.attribution(), &Attribution::Pending);
    let out = step_inbound(&plan, &twice.session, &digits("12"));
    assert_eq!(out.session.attribution(), &Attribution::Unattributed);
    assert_eq!(out.session.status(), SessionStatus::InProgress);
    assert!(!out.actions.contains(&Action::Hangup));
    assert_eq!(gather(&out).1, "123");
}

#[test]
fn zero_retries_decides_at_the_first_bad_input() {
    let plan = inbound_plan(&shape(0), false);
    let first = start_inbound(&plan, &[visit("A", None), visit("B", None)]);
    let out = step_inbound(&plan, &first.session, &digits("#"));
    assert_eq!(out.session.attribution(), &Attribution::Unattributed);
}

#[test]
fn several_visits_are_offered_by_key_and_one_is_chosen() {
    let plan = inbound_sample();
    let visits = [
        visit("Puri PS", Some("en")),
        visit("Cuttack RTO", Some("hi")),
        visit("Khurda Tahasil", None),
    ];
    let out = start_inbound(&plan, &visits);
    let (prompts, choices) = gather(&out);
    assert_eq!(choices, "1230");
    assert_eq!(
        prompts,
        [
            "For your visit to Puri PS for Puri PS service, press 1.",
            "For your visit to Cuttack RTO for Cuttack RTO service, press 2.",
            "For your visit to Khurda Tahasil for Khurda Tahasil service, press 3.",
            "If it was none of these, press 0.",
        ]
    );
    let chosen = step_inbound(&plan, &out.session, &digits("2"));
    assert_eq!(chosen.session.attribution(), &Attribution::Visit(1));
    assert_eq!(chosen.session.visits()[1].office, "Cuttack RTO");
    assert_eq!(chosen.session.survey().map(|s| s.language()), Some("hi"));
    assert_eq!(
        asking(&plan, &chosen.session).as_deref(),
        Some("treated_well")
    );
    let none = step_inbound(&plan, &out.session, &digits("0"));
    assert_eq!(none.session.attribution(), &Attribution::Unattributed);
    let beyond = step_inbound(&plan, &out.session, &digits("4"));
    assert_eq!(beyond.session.attribution(), &Attribution::Pending);
}

#[test]
fn at_most_eight_visits_are_offered() {
    let plan = inbound_sample();
    let visits: Vec<Visit> = (0..10).map(|i| visit(&format!("O{i}"), None)).collect();
    let out = start_inbound(&plan, &visits);
    let (prompts, choices) = gather(&out);
    assert_eq!(choices, "123456780");
    assert_eq!(prompts.len(), 9);
    assert_eq!(out.session.visits().len(), 8);
    // No language on the first visit: the plan's default (Odia, audio).
    let Some(Action::Gather { prompts, .. }) = out.actions.last() else {
        panic!()
    };
    assert!(prompts[0].audio_url.is_some() && prompts[0].text.starts_with("O0"));
    let last = step_inbound(&plan, &out.session, &digits("8"));
    assert_eq!(last.session.attribution(), &Attribution::Visit(7));
}

#[test]
fn an_unknown_visit_language_speaks_the_default() {
    let plan = inbound_sample();
    let out = start_inbound(&plan, &[visit("Puri PS", Some("ta"))]);
    let Some(Action::Gather { prompts, .. }) = out.actions.last() else {
        panic!()
    };
    assert_eq!(prompts[0].tts_language, "or");
    // Confirmed: the survey opens the language menu, as `start` does.
    let yes = step_inbound(&plan, &out.session, &digits("1"));
    assert_eq!(gather(&yes).1, "123");
}

#[test]
fn opt_out_during_attribution_ends_the_call() {
    let plan = inbound_sample();
    for visits in [vec![visit("A", Some("en"))], vec![visit("A", None); 3]] {
        let first = start_inbound(&plan, &visits);
        let out = step_inbound(&plan, &first.session, &digits("9"));
        assert_eq!(out.session.status(), SessionStatus::OptedOut);
        assert_eq!(out.session.attribution(), &Attribution::Pending);
        assert!(matches!(&out.actions[..], [Action::Say(_), Action::Hangup]));
        assert!(out.session.survey().is_none());
    }
    let first = start_inbound(&plan, &[visit("A", Some("en"))]);
    let out = step_inbound(&plan, &first.session, &digits("9"));
    assert!(
        matches!(&out.actions[0], Action::Say(p) if p.text.contains("will not call you again"))
    );
}

#[test]
fn hang_up_during_attribution_abandons_and_finished_sessions_absorb_events() {
    let plan = inbound_sample();
    let first = start_inbound(&plan, &[visit("A", Some("en"))]);
    let hung = step_inbound(&plan, &first.session, &Event::HungUp);
    assert_eq!(hung.session.status(), SessionStatus::Abandoned);
    assert_eq!(hung.session.attribution(), &Attribution::Pending);
    assert!(hung.actions.is_empty() && hung.new_answers.is_empty());
    for event in [digits("1"), digits("9"), Event::HungUp] {
        let after = step_inbound(&plan, &hung.session, &event);
        assert_eq!(after.session, hung.session);
        assert!(after.actions.is_empty() && after.new_answers.is_empty());
    }
}

#[test]
fn the_survey_runs_through_step_and_completes() {
    let plan = inbound_sample();
    let first = start_inbound(&plan, &[visit("Puri PS", Some("en"))]);
    let out = run(&plan, first, &["1", "2", "1", "4"]);
    assert_eq!(out.new_answers[0].question, "rating");
    let out = step_inbound(&plan, &out.session, &digits("1"));
    assert_eq!(out.session.status(), SessionStatus::Completed);
    assert_eq!(
        out.new_answers[0].flag.as_deref(),
        Some("callback_requested")
    );
    assert!(matches!(&out.actions[..], [Action::Say(_), Action::Hangup]));
    assert_eq!(out.session.attribution(), &Attribution::Visit(0));
}

#[test]
fn the_session_round_trips_through_json() {
    let plan = inbound_sample();
    for events in [&[][..], &["x"], &["2", "3"]] {
        let first = start_inbound(&plan, &[visit("A", None), visit("B", Some("hi"))]);
        let out = run(&plan, first, events);
        let json = serde_json::to_string(&out.session).unwrap();
        let back: InboundSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, out.session);
        assert_eq!(back.dialplan(), "mo-sarkar-inbound");
    }
}

fn visit_strategy() -> impl Strategy<Value = Visit> {
    let language = prop::option::of(prop_oneof![Just("or"), Just("hi"), Just("en"), Just("ta")]);
    ("[A-Za-z {}]{1,8}", language).prop_map(|(office, language)| visit(&office, language))
}

fn event_strategy() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => "[0-9*#]{0,2}".prop_map(Event::Digits),
        1 => Just(Event::HungUp),
    ]
}

/// Checks the invariants of one transition from `before`.
fn check_transition(
    before: &InboundSession,
    event: &Event,
    out: &InboundOutput,
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
    } else {
        prop_assert_eq!(gathers, 0);
        prop_assert_eq!(out.actions.last(), Some(&Action::Hangup));
    }
    if *before.attribution() != Attribution::Pending {
        prop_assert_eq!(out.session.attribution(), before.attribution());
    }
    if let Attribution::Visit(i) = out.session.attribution() {
        prop_assert!(*i < out.session.visits().len());
        prop_assert!(out.new_answers.iter().all(|a| a.question != "department"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn attribution_is_total_bounded_absorbing_and_final(
        retries in 0u32..=3,
        use_sample in any::<bool>(),
        visits in prop::collection::vec(visit_strategy(), 0..10),
        events in prop::collection::vec(event_strategy(), 0..60),
    ) {
        let plan = if use_sample { inbound_sample() } else { inbound_plan(&shape(retries), true) };
        let per_gather = plan.max_retries() as usize + 1;
        let bound = (1 + plan.questions().len() + 1) * per_gather;
        let mut out = start_inbound(&plan, &visits);
        prop_assert!(out.session.visits().len() <= 8);
        let ends_in_gather = matches!(out.actions.last(), Some(Action::Gather { .. }));
        prop_assert!(ends_in_gather, "last action: {:?}", out.actions.last());
        let mut gathers = 1;
        for event in &events {
            let json = serde_json::to_string(&out.session).unwrap();
            let before: InboundSession = serde_json::from_str(&json).unwrap();
            out = step_inbound(&plan, &before, event);
            check_transition(&before, event, &out)?;
            gathers += out.actions.iter().filter(|a| matches!(a, Action::Gather { .. })).count();
        }
        prop_assert!(gathers <= bound, "{gathers} gathers > bound {bound}");
        let mut steps = 0;
        while !out.session.status().is_finished() {
            let before = out.session.clone();
            out = step_inbound(&plan, &before, &digits(""));
            check_transition(&before, &digits(""), &out)?;
            steps += 1;
            prop_assert!(steps <= bound, "no end after {steps} silent steps");
        }
    }
}
