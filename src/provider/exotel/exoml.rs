//! ExoML rendering: the IVR engine's `Action`s as the call-control markup
//! Exotel fetches from sampark's URLs (`<Response>` with `<Say>`, `<Play>`,
//! `<Gather>`, `<Redirect>`, `<Hangup>`).
//!
//! Owns: the exact markup and its escaping. Does not own: the URLs (the
//! caller passes them already signed, see `token`).
//!
//! Differences from the TwiML renderer, each from Exotel's verb reference:
//!
//! | engine asks | ExoML | why |
//! |---|---|---|
//! | `Say` in `hi-IN` | `<Say language="hi">` | Exotel's `language` is the bare language code |
//! | `Say` with a voice | `voice` only when it is `man` or `woman` | Exotel's only voices; a Twilio voice name would be refused |
//! | `Pause` | `<Say><break time="Ns"/></Say>` | ExoML has no `<Pause>`; `<Say>` takes SSML `break` |
//! | `Gather` | `<Gather … method="POST" finishOnKey="">` then `<Redirect>` to the same URL | Exotel goes on to the next verb when nothing is pressed (there is no `actionOnEmptyResult`); the redirect tells the engine the citizen stayed silent |
//! | `Dial` | `<Dial callerId timeout record action method="POST">number</Dial>` | Exotel's `<Dial>` takes the number as its text |
//! | `Dial` with a whisper | the same, **not recorded** | Exotel's `<Dial>` cannot play anything to the called party before connecting, so the consent notice a recording needs cannot be given: the conversation is connected unrecorded rather than recorded without notice |

use crate::provider::xml::escape;
use std::fmt::Write as _;

use crate::dialplan::{Action, Bridge, Prompt};
use crate::provider::ActionUrls;

/// The `Content-Type` of an ExoML reply.
pub const CONTENT_TYPE: &str = "application/xml; charset=utf-8";

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Renders `actions` as one ExoML document; every gather posts to
/// `urls.gather`, a dial's outcome to `urls.bridge` (both already carrying
/// their tokens). With `choice_hints`, each gather carries its valid keys
/// in a comment for the simulator (as the TwiML renderer does).
pub fn render(actions: &[Action], urls: &ActionUrls<'_>, choice_hints: bool) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(XML_DECLARATION);
    out.push_str("<Response>");
    for action in actions {
        render_action(&mut out, action, urls, choice_hints);
    }
    out.push_str("</Response>");
    out
}

/// Keeps the call waiting `seconds`, then fetches `redirect_url` (POST).
pub fn hold(seconds: u32, redirect_url: &str) -> String {
    let mut out = String::with_capacity(192);
    out.push_str(XML_DECLARATION);
    out.push_str("<Response>");
    pause(&mut out, seconds);
    redirect(&mut out, redirect_url);
    out.push_str("</Response>");
    out
}

fn pause(out: &mut String, seconds: u32) {
    // INVARIANT (all `write!` here): writing to a String cannot fail.
    let _ = write!(out, r#"<Say><break time="{seconds}s"/></Say>"#);
}

fn redirect(out: &mut String, url: &str) {
    let _ = write!(out, r#"<Redirect method="POST">{}</Redirect>"#, escape(url));
}

fn render_action(out: &mut String, action: &Action, urls: &ActionUrls<'_>, choice_hints: bool) {
    let gather_url = urls.gather;
    match action {
        Action::Dial(bridge) => render_dial(out, bridge, urls.bridge),
        Action::Say(prompt) => render_prompt(out, prompt),
        Action::Pause { seconds } => pause(out, *seconds),
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
                r#"<Gather action="{}" method="POST" numDigits="{num_digits}" timeout="{timeout_secs}" finishOnKey="">"#,
                escape(gather_url)
            );
            if choice_hints {
                render_hint(out, choices, *opt_out);
            }
            for prompt in prompts {
                render_prompt(out, prompt);
            }
            out.push_str("</Gather>");
            redirect(out, gather_url);
        }
    }
}

/// `<Dial>`; the call goes on with the reply to `bridge_url` when the
/// connected party hangs up (or never answers).
fn render_dial(out: &mut String, bridge: &Bridge, bridge_url: &str) {
    // See the module header: no whisper on Exotel, so no recording with one.
    let record = bridge.record && !bridge.whisper;
    let _ = write!(
        out,
        r#"<Dial callerId="{}" timeout="{}" record="{record}" action="{}" method="POST">{}</Dial>"#,
        escape(&bridge.caller_id),
        bridge.timeout_secs,
        escape(bridge_url),
        escape(&bridge.to)
    );
}

/// The simulator's hint; only DTMF characters are written, so the comment
/// can never close early.
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

fn render_prompt(out: &mut String, prompt: &Prompt) {
    if let Some(url) = &prompt.audio_url {
        let _ = write!(out, "<Play>{}</Play>", escape(url));
        return;
    }
    let language = prompt
        .tts_language
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let _ = write!(out, r#"<Say language="{}""#, escape(&language));
    if let Some(voice) = prompt
        .voice
        .as_deref()
        .filter(|v| matches!(*v, "man" | "woman"))
    {
        let _ = write!(out, r#" voice="{voice}""#);
    }
    let _ = write!(out, ">{}</Say>", escape(&prompt.text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(gather: &str) -> ActionUrls<'_> {
        ActionUrls {
            gather,
            bridge: "https://x/exotel/bridge?job=c%2F1&shard=0&attempt=1&step=1&sig=b",
            whisper: "https://x/exotel/whisper?job=c%2F1&shard=0&attempt=1&sig=w",
        }
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#;

    fn tts(text: &str, lang: &str, voice: Option<&str>) -> Prompt {
        Prompt {
            text: text.into(),
            tts_language: lang.into(),
            voice: voice.map(Into::into),
            audio_url: None,
        }
    }

    #[test]
    fn say_play_pause_hangup_golden() {
        let mut audio = tts("x", "or-IN", None);
        audio.audio_url = Some("https://cdn.example/or/q1.mp3?a=1&b=2".into());
        let xml = render(
            &[
                Action::Say(tts("Hello", "en-IN", Some("Polly.Aditi"))),
                Action::Say(tts("नमस्ते", "hi-IN", Some("woman"))),
                Action::Say(audio),
                Action::Pause { seconds: 2 },
                Action::Hangup,
            ],
            &urls("https://x/g"),
            false,
        );
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Say language=\"en\">Hello</Say><Say language=\"hi\" voice=\"woman\">नमस्ते</Say>\
                 <Play>https://cdn.example/or/q1.mp3?a=1&amp;b=2</Play>\
                 <Say><break time=\"2s\"/></Say><Hangup/></Response>"
            )
        );
    }

    #[test]
    fn gather_posts_keys_and_silence_to_the_same_url() {
        let gather = Action::Gather {
            prompts: vec![tts("Press 1 for yes", "en-IN", None)],
            num_digits: 1,
            timeout_secs: 7,
            choices: "12".into(),
            opt_out: Some('9'),
        };
        let url =
            "https://ivr.example/exotel/gather?job=p-1%2Fc-1&shard=0&attempt=2&step=1&sig=abc";
        let xml = render(std::slice::from_ref(&gather), &urls(url), true);
        let escaped = url.replace('&', "&amp;");
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Gather action=\"{escaped}\" method=\"POST\" numDigits=\"1\" timeout=\"7\" finishOnKey=\"\">\
                 <!-- sampark:choices=12 opt_out=9 --><Say language=\"en\">Press 1 for yes</Say></Gather>\
                 <Redirect method=\"POST\">{escaped}</Redirect></Response>"
            )
        );
        let production = render(&[gather], &urls(url), false);
        assert!(!production.contains("sampark:"), "{production}");
        let doc = roxmltree::Document::parse(&production).unwrap();
        let action = doc
            .descendants()
            .find(|n| n.has_tag_name("Gather"))
            .unwrap();
        assert_eq!(action.attribute("action"), Some(url));
    }

    #[test]
    fn hold_pauses_then_redirects() {
        assert_eq!(
            hold(2, "https://x/exotel/answer?a=1&sig=s"),
            format!(
                "{HEAD}<Say><break time=\"2s\"/></Say>\
                 <Redirect method=\"POST\">https://x/exotel/answer?a=1&amp;sig=s</Redirect></Response>"
            )
        );
    }

    #[test]
    fn text_is_escaped() {
        let xml = render(
            &[Action::Say(tts("A<&>\"'\u{0}", "en\"x", None))],
            &ActionUrls::NONE,
            false,
        );
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Say language=\"en&quot;x\">A&lt;&amp;&gt;&quot;&apos;</Say></Response>"
            )
        );
    }

    #[test]
    fn dial_golden_and_no_recording_without_a_whisper() {
        let mut bridge = Bridge {
            to: "+919800000001".into(),
            caller_id: "+916742000000".into(),
            timeout_secs: 25,
            record: true,
            whisper: false,
        };
        let xml = render(&[Action::Dial(bridge.clone())], &urls(""), false);
        assert_eq!(
            xml,
            format!(
                "{HEAD}<Dial callerId=\"+916742000000\" timeout=\"25\" record=\"true\" \
                 action=\"https://x/exotel/bridge?job=c%2F1&amp;shard=0&amp;attempt=1&amp;step=1&amp;sig=b\" \
                 method=\"POST\">+919800000001</Dial></Response>"
            )
        );
        bridge.whisper = true;
        let xml = render(&[Action::Dial(bridge)], &urls(""), false);
        assert!(xml.contains(r#"record="false""#), "{xml}");
        assert!(!xml.contains("whisper"), "{xml}");
    }
}
