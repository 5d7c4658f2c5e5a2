//! TwiML documents as the simulator understands them: `<Response>` holding
//! `Say`, `Play`, `Pause`, `Gather`, `Dial` (one `Number`), `Redirect`,
//! `Hangup`, `Reject`.
//!
//! Owns: parsing a document into verbs (pure, no I/O), including the
//! daemon's choices hint inside `<Gather>`. Does not own: running the verbs
//! (see `call`).

use roxmltree::{Document, Node};

/// How to request a URL from TwiML (`method` attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// The keys the daemon says are valid for a Gather, from the comment
/// `<!-- sampark:choices=12 opt_out=9 -->` it puts first inside `<Gather>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChoicesHint {
    pub choices: String,
    pub opt_out: Option<char>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gather {
    pub action: Option<String>,
    pub method: Method,
    pub num_digits: Option<u32>,
    pub timeout_secs: u32,
    pub finish_on_key: String,
    /// Whether `input` includes `dtmf`; a speech-only Gather hears no keys.
    pub dtmf: bool,
    pub action_on_empty_result: bool,
    pub hint: Option<ChoicesHint>,
    /// Nested `Say`/`Play`/`Pause`, played while waiting for keys.
    pub prompts: Vec<Verb>,
}

/// `<Dial>` of one number: connect the call to a second party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dial {
    /// The number dialled (the `<Number>`'s text, or the `<Dial>`'s own).
    pub number: String,
    /// `callerId`: what the dialled party sees; Twilio shows the caller's
    /// own number when absent.
    pub caller_id: Option<String>,
    pub timeout_secs: u32,
    /// Where to report the leg's end; without it the document continues.
    pub action: Option<String>,
    pub method: Method,
    /// `record` asked for a recording (any value but `do-not-record`).
    pub record: bool,
    /// `<Number url>`: a document played to the dialled party first.
    pub whisper: Option<(String, Method)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Say {
        text: String,
        voice: Option<String>,
        language: Option<String>,
        loops: u32,
    },
    Play {
        url: String,
        loops: u32,
    },
    Pause {
        secs: u32,
    },
    Gather(Gather),
    Dial(Dial),
    Redirect {
        url: String,
        method: Method,
    },
    Hangup,
    Reject,
}

/// Why a document is not TwiML the simulator can run (Twilio would answer
/// with an application error, 12100 and friends).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TwimlError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("the root element is <{0}>, not <Response>")]
    NotResponse(String),
    #[error("<{0}> is not a verb this simulator supports")]
    UnknownVerb(String),
    #[error("<{parent}> cannot contain <{child}>")]
    BadNesting { parent: String, child: String },
    #[error("<{verb}> has an invalid {attribute}={value:?}")]
    BadAttribute {
        verb: String,
        attribute: &'static str,
        value: String,
    },
    #[error("<Redirect> has no URL")]
    EmptyRedirect,
}

/// Parses a TwiML document into its top-level verbs.
pub(crate) fn parse(text: &str) -> Result<Vec<Verb>, TwimlError> {
    let doc = Document::parse(text).map_err(|e| TwimlError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(TwimlError::NotResponse(root.tag_name().name().to_owned()));
    }
    root.children().filter(Node::is_element).map(verb).collect()
}

fn verb(node: Node<'_, '_>) -> Result<Verb, TwimlError> {
    let name = node.tag_name().name();
    Ok(match name {
        "Say" => Verb::Say {
            text: text_of(node),
            voice: node.attribute("voice").map(str::to_owned),
            language: node.attribute("language").map(str::to_owned),
            loops: loops(node)?,
        },
        "Play" => Verb::Play {
            url: text_of(node),
            loops: loops(node)?,
        },
        "Pause" => Verb::Pause {
            secs: number_attr(node, "length")?.unwrap_or(1),
        },
        "Gather" => Verb::Gather(gather(node)?),
        "Dial" => Verb::Dial(dial(node)?),
        "Redirect" => {
            let url = text_of(node);
            if url.is_empty() {
                return Err(TwimlError::EmptyRedirect);
            }
            Verb::Redirect {
                url,
                method: method(node)?,
            }
        }
        "Hangup" => Verb::Hangup,
        "Reject" => Verb::Reject,
        other => return Err(TwimlError::UnknownVerb(other.to_owned())),
    })
}

fn gather(node: Node<'_, '_>) -> Result<Gather, TwimlError> {
    let mut prompts = Vec::new();
    for child in node.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "Say" | "Play" | "Pause" => prompts.push(verb(child)?),
            other => {
                return Err(TwimlError::BadNesting {
                    parent: "Gather".into(),
                    child: other.to_owned(),
                });
            }
        }
    }
    let action_on_empty_result = match node.attribute("actionOnEmptyResult") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(bad(node, "actionOnEmptyResult", other)),
    };
    let input = node.attribute("input").unwrap_or("dtmf");
    Ok(Gather {
        action: node
            .attribute("action")
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        method: method(node)?,
        num_digits: number_attr(node, "numDigits")?,
        timeout_secs: number_attr(node, "timeout")?.unwrap_or(5),
        finish_on_key: node.attribute("finishOnKey").unwrap_or("#").to_owned(),
        dtmf: input.split_whitespace().any(|i| i == "dtmf"),
        action_on_empty_result,
        hint: node
            .children()
            .filter(Node::is_comment)
            .find_map(|c| parse_hint(c.text().unwrap_or(""))),
        prompts,
    })
}

/// Reads `sampark:choices=12 opt_out=9` (opt_out optional).
fn parse_hint(comment: &str) -> Option<ChoicesHint> {
    let body = comment.trim().strip_prefix("sampark:")?;
    let mut choices = None;
    let mut opt_out = None;
    for token in body.split_whitespace() {
        match token.split_once('=') {
            Some(("choices", keys)) => choices = Some(keys.to_owned()),
            Some(("opt_out", key)) => opt_out = key.chars().next(),
            _ => {}
        }
    }
    Some(ChoicesHint {
        choices: choices?,
        opt_out,
    })
}

fn dial(node: Node<'_, '_>) -> Result<Dial, TwimlError> {
    let mut numbers = node.children().filter(Node::is_element);
    let (number, whisper) = match (numbers.next(), numbers.next()) {
        (None, _) => (text_of(node), None),
        (Some(n), None) if n.tag_name().name() == "Number" => {
            let whisper = match n.attribute("url") {
                Some(url) if !url.is_empty() => Some((url.to_owned(), method(n)?)),
                _ => None,
            };
            (text_of(n), whisper)
        }
        (Some(other), _) => {
            return Err(TwimlError::BadNesting {
                parent: "Dial".into(),
                child: other.tag_name().name().to_owned(),
            });
        }
    };
    if number.is_empty() {
        return Err(bad(node, "number", ""));
    }
    Ok(Dial {
        number,
        caller_id: node.attribute("callerId").map(str::to_owned),
        timeout_secs: number_attr(node, "timeout")?.unwrap_or(30),
        action: node
            .attribute("action")
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        method: method(node)?,
        record: node
            .attribute("record")
            .is_some_and(|r| r != "do-not-record"),
        whisper,
    })
}

fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn method(node: Node<'_, '_>) -> Result<Method, TwimlError> {
    match node.attribute("method") {
        None => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("POST") => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("GET") => Ok(Method::Get),
        Some(other) => Err(bad(node, "method", other)),
    }
}

/// `loop`: how often to repeat; Twilio reads 0 as "until the call ends",
/// which the simulator caps at ten rounds of simulated time.
fn loops(node: Node<'_, '_>) -> Result<u32, TwimlError> {
    Ok(match number_attr(node, "loop")? {
        None => 1,
        Some(0) => 10,
        Some(n) => n,
    })
}

fn number_attr(node: Node<'_, '_>, attribute: &'static str) -> Result<Option<u32>, TwimlError> {
    node.attribute(attribute)
        .map(|v| v.trim().parse().map_err(|_| bad(node, attribute, v)))
        .transpose()
}

fn bad(node: Node<'_, '_>, attribute: &'static str, value: &str) -> TwimlError {
    TwimlError::BadAttribute {
        verb: node.tag_name().name().to_owned(),
        attribute,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_gather_with_the_daemon_hint() {
        let verbs = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <Response>
              <Say voice="Polly.Aditi" language="en-IN" loop="2">Hello</Say>
              <Gather action="/twilio/gather?job=1" method="POST" numDigits="1" timeout="7"
                      finishOnKey="" actionOnEmptyResult="true" input="dtmf">
                <!-- sampark:choices=12 opt_out=9 -->
                <Play>https://x/q1.mp3</Play>
                <Pause length="2"/>
              </Gather>
              <Redirect method="GET">/next</Redirect>
              <Hangup/>
            </Response>"#,
        )
        .unwrap();
        assert_eq!(verbs.len(), 4);
        assert_eq!(
            verbs[0],
            Verb::Say {
                text: "Hello".into(),
                voice: Some("Polly.Aditi".into()),
                language: Some("en-IN".into()),
                loops: 2
            }
        );
        let Verb::Gather(g) = &verbs[1] else {
            panic!("expected Gather, got {:?}", verbs[1])
        };
        assert_eq!(g.action.as_deref(), Some("/twilio/gather?job=1"));
        assert_eq!((g.num_digits, g.timeout_secs), (Some(1), 7));
        assert_eq!(g.finish_on_key, "");
        assert!(g.action_on_empty_result && g.dtmf);
        assert_eq!(
            g.hint,
            Some(ChoicesHint {
                choices: "12".into(),
                opt_out: Some('9')
            })
        );
        assert_eq!(g.prompts.len(), 2);
        assert_eq!(
            verbs[2],
            Verb::Redirect {
                url: "/next".into(),
                method: Method::Get
            }
        );
        assert_eq!(verbs[3], Verb::Hangup);
    }

    #[test]
    fn gather_defaults_follow_twilio() {
        let verbs = parse("<Response><Gather><Say>q</Say></Gather></Response>").unwrap();
        let Verb::Gather(g) = &verbs[0] else {
            panic!("expected Gather")
        };
        assert_eq!(g.action, None);
        assert_eq!(g.method, Method::Post);
        assert_eq!((g.num_digits, g.timeout_secs), (None, 5));
        assert_eq!(g.finish_on_key, "#");
        assert!(!g.action_on_empty_result);
        assert_eq!(g.hint, None);
    }

    #[test]
    fn hint_without_opt_out() {
        assert_eq!(
            parse_hint(" sampark:choices=12345 "),
            Some(ChoicesHint {
                choices: "12345".into(),
                opt_out: None
            })
        );
        assert_eq!(parse_hint("just a comment"), None);
    }

    #[test]
    fn a_dial_reads_its_number_caller_id_action_recording_and_whisper() {
        let verbs = parse(
            r#"<Response><Dial callerId="+916742100100" timeout="25" action="/bridge?step=1" method="POST" record="record-from-answer-dual"><Number url="/whisper" method="POST">+919800000001</Number></Dial></Response>"#,
        )
        .unwrap();
        assert_eq!(
            verbs,
            vec![Verb::Dial(Dial {
                number: "+919800000001".into(),
                caller_id: Some("+916742100100".into()),
                timeout_secs: 25,
                action: Some("/bridge?step=1".into()),
                method: Method::Post,
                record: true,
                whisper: Some(("/whisper".into(), Method::Post)),
            })]
        );
        let verbs = parse("<Response><Dial>+919800000001</Dial></Response>").unwrap();
        let [Verb::Dial(dial)] = verbs.as_slice() else {
            panic!("{verbs:?}");
        };
        assert_eq!(
            (dial.timeout_secs, dial.record, dial.action.as_deref()),
            (30, false, None)
        );
    }

    #[test]
    fn bad_documents_are_refused() {
        assert!(matches!(parse("<Response><Say>"), Err(TwimlError::Xml(_))));
        assert!(matches!(
            parse("<html><body/></html>"),
            Err(TwimlError::NotResponse(_))
        ));
        assert!(matches!(
            parse("<Response><Enqueue>support</Enqueue></Response>"),
            Err(TwimlError::UnknownVerb(_))
        ));
        assert!(matches!(
            parse("<Response><Dial><Conference>x</Conference></Dial></Response>"),
            Err(TwimlError::BadNesting { .. })
        ));
        assert!(matches!(
            parse("<Response><Dial> </Dial></Response>"),
            Err(TwimlError::BadAttribute { .. })
        ));
        assert!(matches!(
            parse("<Response><Gather><Hangup/></Gather></Response>"),
            Err(TwimlError::BadNesting { .. })
        ));
        assert!(matches!(
            parse(r#"<Response><Pause length="soon"/></Response>"#),
            Err(TwimlError::BadAttribute { .. })
        ));
        assert!(matches!(
            parse("<Response><Redirect> </Redirect></Response>"),
            Err(TwimlError::EmptyRedirect)
        ));
    }
}
