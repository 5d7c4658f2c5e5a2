//! TwiML rendering: the IVR engine's `Action`s as Twilio call-control markup.
//!
//! Owns: the exact markup and its XML escaping. Does not own: what to say or
//! ask (the dialplan decides) nor where the gather answer is handled (the
//! caller passes the URL, already carrying its own job id and attempt).

use crate::provider::xml::escape;
use std::fmt::Write as _;

use crate::dialplan::{Action, Bridge, Prompt};
use crate::provider::ActionUrls;

/// The `Content-Type` a TwiML reply must carry.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Renders `actions` as one TwiML document. Every `Gather` posts its result
/// to `urls.gather`, including an empty result on timeout
/// (`actionOnEmptyResult`), so the engine always learns that the citizen
/// stayed silent instead of Twilio moving on to the next verb by itself.
/// `finishOnKey` is empty so `#` and `*` reach the engine as keys (a dialplan
/// may use them as choices) instead of ending the input.
///
/// With `choice_hints`, each gather also carries its valid keys in an XML
/// comment for test tooling (the simulator); production replies leave it out.
/// A `Dial` connects its number with the programme's caller id, reports
/// its end to `urls.bridge` (`action`) and, with a whisper, has the called
/// party hear `urls.whisper` before the two are connected (`<Number url>`).
pub fn render_with(actions: &[Action], urls: &ActionUrls<'_>, choice_hints: bool) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(XML_DECLARATION);
    out.push_str("<Response>");
    for action in actions {
        render_action(&mut out, action, urls, choice_hints);
    }
    out.push_str("</Response>");
    out
}

/// A document that only ends the call (for webhooks that arrive for a call
/// the engine has already finished, or cannot serve).
pub fn hangup_response() -> String {
    render_with(&[Action::Hangup], &ActionUrls::NONE, false)
}

/// A document that holds the call: a pause, then a fetch of `redirect_url`
/// (to ask again once the store is back).
pub fn hold_response(seconds: u32, redirect_url: &str) -> String {
    let mut out = String::with_capacity(192);
    out.push_str(XML_DECLARATION);
    let _ = write!(
        out,
        r#"<Response><Pause length="{seconds}"/><Redirect method="POST">{}</Redirect></Response>"#,
        escape(redirect_url)
    );
    out
}

fn render_action(out: &mut String, action: &Action, urls: &ActionUrls<'_>, choice_hints: bool) {
    match action {
        Action::Dial(bridge) => render_dial(out, bridge, urls),
        Action::Say(prompt) => render_prompt(out, prompt),
        // INVARIANT (all `write!` below): writing to a String cannot fail.
        Action::Pause { seconds } => {
            let _ = write!(out, r#"<Pause length="{seconds}"/>"#);
        }
        Action::Hangup => out.push_str("<Hangup/>"),
        Action::Gather {
            prompts,
            num_digits,
            timeout_secs,
            choices,
            opt_out,
        } => {
            let _ = write!(
                out,
                r#"<Gather input="dtmf" numDigits="{num_digits}" timeout="{timeout_secs}" finishOnKey="" action="{}" method="POST" actionOnEmptyResult="true">"#,
                escape(urls.gather)
            );
            if choice_hints {
                render_hint(out, choices, *opt_out);
            }
            for prompt in prompts {
                render_prompt(out, prompt);
            }
            out.push_str("</Gather>");
        }
    }
}

/// `<Dial>`: the caller stays on the line after the dialled party hangs up
/// (`hangupOnStar` is off, and `action` takes the call on), so the official
/// can key a disposition.
fn render_dial(out: &mut String, bridge: &Bridge, urls: &ActionUrls<'_>) {
    let _ = write!(
        out,
        r#"<Dial callerId="{}" timeout="{}" action="{}" method="POST""#,
        escape(&bridge.caller_id),
        bridge.timeout_secs,
        escape(urls.bridge)
    );
    if bridge.record {
        out.push_str(r#" record="record-from-answer-dual""#);
    }
    out.push_str("><Number");
    if bridge.whisper {
        let _ = write!(out, r#" url="{}" method="POST""#, escape(urls.whisper));
    }
    let _ = write!(out, ">{}</Number></Dial>", escape(&bridge.to));
}

/// The hint comment test tooling (the simulator) reads to know which keys are
/// valid at this gather. Only DTMF characters are written, so the comment can
/// never contain `--` or close itself early, whatever the dialplan holds.
fn render_hint(out: &mut String, choices: &str, opt_out: Option<char>) {
    let choices: String = choices.chars().filter(|c| is_dtmf(*c)).collect();
    let _ = write!(out, "<!-- sampark:choices={choices}");
    if let Some(key) = opt_out.filter(|c| is_dtmf(*c)) {
        let _ = write!(out, " opt_out={key}");
    }
    out.push_str(" -->");
}

fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// Recorded audio when the dialplan has it (Odia has no Twilio TTS voice),
/// otherwise text-to-speech in the prompt's language.
fn render_prompt(out: &mut String, prompt: &Prompt) {
    if let Some(url) = &prompt.audio_url {
        let _ = write!(out, "<Play>{}</Play>", escape(url));
        return;
    }
    let _ = write!(out, r#"<Say language="{}""#, escape(&prompt.tts_language));
    if let Some(voice) = &prompt.voice {
        let _ = write!(out, r#" voice="{}""#, escape(voice));
    }
    let _ = write!(out, ">{}</Say>", escape(&prompt.text));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The goldens below show the simulator's hint; production replies
    /// (`choice_hints` off) are checked in `production_replies_carry_no_hint`.
    fn render(actions: &[Action], url: &str) -> String {
        let urls = ActionUrls {
            gather: url,
            ..ActionUrls::NONE
        };
        render_with(actions, &urls, true)
    }

    #[test]
    fn a_dial_keeps_the_caller_on_the_line_and_hides_their_number() {
        let urls = ActionUrls {
            gather: "https://x/g",
            bridge: "https://x/twilio/bridge?job=c%2F1&shard=0&attempt=1&step=1",
            whisper: "https://x/twilio/whisper?job=c%2F1&shard=0&attempt=1",
        };
        let mut bridge = Bridge {
            to: "+919800000001".into(),
            caller_id: "+916742000000".into(),
            timeout_secs: 25,
            record: false,
            whisper: false,
        };
        let xml = render_with(&[Action::Dial(bridge.clone())], &urls, false);
        assert_eq!(
            xml,
            format!(
                "{XML_DECLARATION}<Response><Dial callerId=\"+916742000000\" timeout=\"25\" \
                 action=\"https://x/twilio/bridge?job=c%2F1&amp;shard=0&amp;attempt=1&amp;step=1\" \
                 method=\"POST\"><Number>+919800000001</Number></Dial></Response>"
            )
        );
        bridge.record = true;
        bridge.whisper = true;
        let xml = render_with(&[Action::Dial(bridge)], &urls, false);
        assert!(
            xml.contains(r#" record="record-from-answer-dual""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<Number url="https://x/twilio/whisper?job=c%2F1&amp;shard=0&amp;attempt=1" method="POST">"#),
            "{xml}"
        );
    }

    #[test]
    fn production_replies_carry_no_hint() {
        let gather = Action::Gather {
            prompts: vec![],
            num_digits: 1,
            timeout_secs: 5,
            choices: "12".into(),
            opt_out: Some('9'),
        };
        let urls = ActionUrls {
            gather: "https://x/g",
            ..ActionUrls::NONE
        };
        let xml = render_with(&[gather], &urls, false);
        assert!(!xml.contains("sampark:"), "{xml}");
        assert!(xml.contains("<Gather "), "{xml}");
    }

    fn tts(text: &str, lang: &str, voice: Option<&str>) -> Prompt {
        Prompt {
            text: text.into(),
            tts_language: lang.into(),
            voice: voice.map(Into::into),
            audio_url: None,
        }
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#;

    #[test]
    fn say_pause_hangup_golden() {
        let xml = render(
            &[
                Action::Say(tts("Hello", "en-IN", Some("Polly.Aditi"))),
                Action::Say(tts("नमस्ते", "hi-IN", None)),
                Action::Pause { seconds: 2 },
                Action::Hangup,
            ],
            "https://x/g",
        );
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Say language=\"en-IN\" voice=\"Polly.Aditi\">Hello</Say>\
                 <Say language=\"hi-IN\">नमस्ते</Say><Pause length=\"2\"/><Hangup/></Response>"
            )
        );
    }

    #[test]
    fn audio_prompt_becomes_play_and_wins_over_tts() {
        let mut prompt = tts("ଆପଣ କିପରି ଅଛନ୍ତି?", "or-IN", Some("v"));
        prompt.audio_url = Some("https://cdn.example/or/q1.mp3?a=1&b=2".into());
        let xml = render(&[Action::Say(prompt)], "");
        assert_eq!(
            xml,
            format!("{HEAD}<Play>https://cdn.example/or/q1.mp3?a=1&amp;b=2</Play></Response>")
        );
    }

    #[test]
    fn gather_golden_with_hint_first_and_escaped_action_url() {
        let xml = render(
            &[Action::Gather {
                prompts: vec![
                    tts("Press 1 for yes, 2 for no.", "en-IN", None),
                    tts("ଦୟାକରି 1 ଦବାନ୍ତୁ", "en-IN", None),
                ],
                num_digits: 1,
                timeout_secs: 7,
                choices: "12".into(),
                opt_out: Some('9'),
            }],
            "https://ivr.example/twilio/gather?job=p-1/c-1&attempt=2",
        );
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Gather input=\"dtmf\" numDigits=\"1\" timeout=\"7\" finishOnKey=\"\" \
                 action=\"https://ivr.example/twilio/gather?job=p-1/c-1&amp;attempt=2\" \
                 method=\"POST\" actionOnEmptyResult=\"true\">\
                 <!-- sampark:choices=12 opt_out=9 -->\
                 <Say language=\"en-IN\">Press 1 for yes, 2 for no.</Say>\
                 <Say language=\"en-IN\">ଦୟାକରି 1 ଦବାନ୍ତୁ</Say></Gather></Response>"
            )
        );
    }

    #[test]
    fn hint_omits_opt_out_when_none_and_drops_non_dtmf() {
        let xml = render(
            &[Action::Gather {
                prompts: vec![],
                num_digits: 1,
                timeout_secs: 5,
                choices: "1-2--3 ><*#".into(),
                opt_out: Some('-'),
            }],
            "u",
        );
        assert!(
            xml.contains("<!-- sampark:choices=123*# --></Gather>"),
            "{xml}"
        );
        let none = render(
            &[Action::Gather {
                prompts: vec![],
                num_digits: 2,
                timeout_secs: 5,
                choices: "12345".into(),
                opt_out: None,
            }],
            "u",
        );
        assert!(none.contains("<!-- sampark:choices=12345 -->"), "{none}");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let xml = render(
            &[Action::Say(tts(
                "Tom & Jerry's <office> said \"hi\"\u{0}\u{7}",
                "en\"><Hangup/>",
                Some("a'b"),
            ))],
            "",
        );
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Say language=\"en&quot;&gt;&lt;Hangup/&gt;\" voice=\"a&apos;b\">\
                 Tom &amp; Jerry&apos;s &lt;office&gt; said &quot;hi&quot;</Say></Response>"
            )
        );
    }

    #[test]
    fn output_is_well_formed_xml_with_the_text_intact() {
        let text = "A<&>\"' ଓଡ଼ିଆ\tend";
        let xml = render(
            &[
                Action::Gather {
                    prompts: vec![tts(text, "or-IN", None)],
                    num_digits: 1,
                    timeout_secs: 5,
                    choices: "12".into(),
                    opt_out: Some('9'),
                },
                Action::Hangup,
            ],
            "https://x/?a=<&>",
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let gather = doc
            .descendants()
            .find(|n| n.has_tag_name("Gather"))
            .unwrap();
        assert_eq!(gather.attribute("action"), Some("https://x/?a=<&>"));
        let first = gather.first_child().unwrap();
        assert!(first.is_comment());
        assert_eq!(first.text(), Some(" sampark:choices=12 opt_out=9 "));
        let say = doc.descendants().find(|n| n.has_tag_name("Say")).unwrap();
        assert_eq!(say.text(), Some(text));
    }

    #[test]
    fn hangup_response_only_hangs_up() {
        assert_eq!(hangup_response(), format!("{HEAD}<Hangup/></Response>"));
        assert_eq!(render(&[], "x"), format!("{HEAD}</Response>"));
    }
}
