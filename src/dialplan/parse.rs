//! Parsing and validating one dialplan file into a `Dialplan`, reporting
//! every problem found (syntax, types, unknown keys, and the semantic rules
//! in `docs/dialplan.md`), each with its line, column and dotted path.
//!
//! Owns: the file's structure and its cross-field rules (declared languages,
//! the opt-out key against every other key, the name against the file
//! stem). Does not own: prompt-level rules (see `prompts`), questions (see
//! `questions`), the `[inbound]` section (see `inbound_section`),
//! `[escalations]` and `rating_question` (see `scoring`), directories (see
//! `load`).

use std::path::Path;

use toml::de::DeTable;

use super::bridge_section::read_bridge;
use super::inbound_section::read_inbound;
use super::model::{Dialplan, Language, MenuOption, Messages};
use super::placeholder::PLACEHOLDERS;
use super::problem::Problem;
use super::prompts::{
    is_bcp47, is_identifier, is_language_code, read_key, read_localized, read_prompt,
};
use super::questions::read_questions;
use super::scoring::{read_escalations, read_rating_question};
use super::tree::{Reader, Table, index_path, key_path};

const ROOT_KEYS: [&str; 13] = [
    "name",
    "default_language",
    "gather_timeout_secs",
    "max_retries",
    "opt_out_key",
    "languages",
    "language_menu",
    "messages",
    "questions",
    "inbound",
    "bridge",
    "escalations",
    "rating_question",
];
const DEFAULT_GATHER_TIMEOUT_SECS: u32 = 6;
const DEFAULT_MAX_RETRIES: u32 = 2;

/// Parses `src` (the contents of `file`). `expected_name` is the file stem
/// when loading from a directory: the plan's `name` must equal it.
pub fn parse_str(
    file: &Path,
    src: &str,
    expected_name: Option<&str>,
) -> Result<Dialplan, Vec<Problem>> {
    if src.len() as u64 > super::limits::MAX_FILE_BYTES {
        return Err(vec![super::limits::too_large(file)]);
    }
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        // Semantic checks on a half-parsed tree would only add noise.
        return Err(errors
            .iter()
            .map(|e| match e.span() {
                Some(span) => Problem::at(file, src, span, "", e.message().to_owned()),
                None => Problem::whole_file(file, e.message().to_owned()),
            })
            .collect());
    }
    let mut r = Reader::new(file, src);
    super::limits::check_tree(&mut r, root.get_ref());
    if !r.problems.is_empty() {
        // The plan's rules on a tree over its bounds would only add noise.
        return Err(r.problems);
    }
    let root = Table {
        table: root.get_ref(),
        span: 0..0,
        path: String::new(),
    };
    r.unknown_keys(&root, &ROOT_KEYS);
    let plan = read_root(&mut r, &root, expected_name);
    match plan {
        Some(plan) if r.problems.is_empty() => Ok(plan),
        _ => Err(r.problems),
    }
}

fn read_root(r: &mut Reader<'_>, root: &Table<'_, '_>, expected: Option<&str>) -> Option<Dialplan> {
    let name = read_name(r, root, expected);
    let languages = read_languages(r, root);
    let langs = languages.as_deref().unwrap_or(&[]);
    let default_language = read_language_ref(r, root, "default_language", langs);
    let gather_timeout_secs = read_int_or(
        r,
        root,
        "gather_timeout_secs",
        1,
        60,
        DEFAULT_GATHER_TIMEOUT_SECS,
    );
    let max_retries = read_int_or(r, root, "max_retries", 0, 5, DEFAULT_MAX_RETRIES);
    let opt_out_key = match root.get("opt_out_key") {
        None => Some(None),
        Some(v) => read_key(r, v, "opt_out_key").map(Some),
    };
    let opt_out_declared = root.get("opt_out_key").is_some();
    let out = opt_out_key.flatten();
    let language_menu = read_menu(r, root, langs, out);
    let messages = read_messages(r, root, langs, opt_out_declared);
    let questions = read_questions(r, root, langs, out);
    let inbound = read_inbound(r, root, langs, out);
    let bridge = read_bridge(r, root, langs);
    let escalations = read_escalations(r, root, questions.as_deref());
    let rating_question = read_rating_question(r, root, questions.as_deref());
    Some(Dialplan {
        name: name?,
        default_language: default_language?,
        languages: languages?,
        gather_timeout_secs: gather_timeout_secs?,
        max_retries: max_retries?,
        opt_out_key: opt_out_key?,
        language_menu: language_menu?,
        messages: messages?,
        questions: questions?,
        inbound: inbound?,
        bridge: bridge?,
        escalations: escalations?,
        rating_question: rating_question?,
    })
}

fn read_name(r: &mut Reader<'_>, root: &Table<'_, '_>, expected: Option<&str>) -> Option<String> {
    let v = r.required(root, "name")?;
    let name = r.as_string(v, "name")?;
    if !is_identifier(&name) {
        r.problem(
            v.span(),
            "name",
            format!("{name:?} is not a valid name (lower-case letters, digits, `-`, `_`)"),
        );
        return None;
    }
    match expected {
        Some(stem) if stem != name => {
            r.problem(
                v.span(),
                "name",
                format!("{name:?} does not match the file name {stem:?}"),
            );
            None
        }
        _ => Some(name),
    }
}

fn read_int_or(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    key: &str,
    min: u32,
    max: u32,
    default: u32,
) -> Option<u32> {
    match root.get(key) {
        None => Some(default),
        Some(v) => r.as_int_in(v, key, min, max),
    }
}

/// `[languages.<code>]` tables, in file order.
fn read_languages(r: &mut Reader<'_>, root: &Table<'_, '_>) -> Option<Vec<Language>> {
    let v = r.required(root, "languages")?;
    let t = r.as_table(v, "languages")?;
    if t.table.is_empty() {
        r.problem(t.range(), "languages", "declare at least one language");
        return None;
    }
    let before = r.problems.len();
    let mut languages = Vec::new();
    for (code, span, value) in t.entries() {
        let path = key_path("languages", code);
        if !is_language_code(code) {
            r.problem(
                span,
                &path,
                format!(
                    "{code:?} is not a language code (two or three lower-case letters, e.g. `or`)"
                ),
            );
        }
        if let Some(lang) = read_language(r, code, value, &path) {
            languages.push(lang);
        }
    }
    (r.problems.len() == before).then_some(languages)
}

fn read_language(
    r: &mut Reader<'_>,
    code: &str,
    v: &super::tree::Value<'_>,
    path: &str,
) -> Option<Language> {
    let t = r.as_table(v, path)?;
    r.unknown_keys(&t, &["tts", "voice", "fallback_tts"]);
    let tag = |key: &str, r: &mut Reader<'_>| {
        let value = r.opt_string(&t, key)?;
        if is_bcp47(&value) {
            Some(value)
        } else {
            let span = t.get(key).map_or(t.range(), |v| v.span());
            r.problem(
                span,
                &key_path(path, key),
                format!("{value:?} is not a BCP-47 language tag (e.g. `en-IN`)"),
            );
            None
        }
    };
    let tts = tag("tts", r);
    let fallback_tts = tag("fallback_tts", r);
    let voice = r.opt_string(&t, "voice");
    if t.get("voice").is_some() && t.get("tts").is_none() {
        r.problem(
            t.range(),
            &key_path(path, "voice"),
            "`voice` needs `tts` (it names a voice for that TTS language)",
        );
    }
    if t.get("fallback_tts").is_some() && t.get("tts").is_some() {
        r.problem(
            t.range(),
            &key_path(path, "fallback_tts"),
            "`fallback_tts` is only for a language without `tts`",
        );
    }
    Some(Language {
        code: code.to_owned(),
        tts,
        voice,
        fallback_tts,
    })
}

/// A field naming a declared language; returns its index.
fn read_language_ref(
    r: &mut Reader<'_>,
    t: &Table<'_, '_>,
    key: &str,
    languages: &[Language],
) -> Option<usize> {
    let path = key_path(&t.path, key);
    let v = r.required(t, key)?;
    let code = r.as_string(v, &path)?;
    let index = languages.iter().position(|l| l.code == code);
    if index.is_none() && !languages.is_empty() {
        let declared: Vec<&str> = languages.iter().map(|l| l.code.as_str()).collect();
        r.problem(
            v.span(),
            &path,
            format!(
                "unknown language `{code}` (declared: {})",
                declared.join(", ")
            ),
        );
    }
    index
}

/// `[[language_menu]]` options; an absent menu is an empty list.
fn read_menu(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    languages: &[Language],
    opt_out: Option<char>,
) -> Option<Vec<MenuOption>> {
    let Some(v) = root.get("language_menu") else {
        return Some(Vec::new());
    };
    let items = r.as_array(v, "language_menu")?;
    if items.is_empty() {
        r.problem(
            v.span(),
            "language_menu",
            "an empty menu: remove it or add options",
        );
        return None;
    }
    let before = r.problems.len();
    let mut options: Vec<MenuOption> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index_path("language_menu", i);
        let Some(t) = r.as_table(item, &path) else {
            continue;
        };
        r.unknown_keys(&t, &["digits", "language", "prompt"]);
        let key = r.required(&t, "digits").and_then(|d| {
            let dpath = key_path(&path, "digits");
            let key = read_key(r, d, &dpath)?;
            if Some(key) == opt_out {
                r.problem(d.span(), &dpath, format!("`{key}` is the opt-out key"));
            } else if options.iter().any(|o| o.key == key) {
                r.problem(
                    d.span(),
                    &dpath,
                    format!("`{key}` is used by another menu option"),
                );
            }
            Some(key)
        });
        let language = read_language_ref(r, &t, "language", languages);
        if let (Some(l), Some(lv)) = (language, t.get("language"))
            && options.iter().any(|o| o.language == l)
        {
            r.problem(
                lv.span(),
                &key_path(&path, "language"),
                "this language is already on the menu",
            );
        }
        let prompt = r.required(&t, "prompt").and_then(|p| {
            let lang = language.and_then(|l| languages.get(l));
            read_prompt(r, p, &key_path(&path, "prompt"), lang, &PLACEHOLDERS)
        });
        if let (Some(key), Some(language), Some(prompt)) = (key, language, prompt) {
            options.push(MenuOption {
                key,
                language,
                prompt,
            });
        }
    }
    (r.problems.len() == before).then_some(options)
}

/// `[messages]`: intro, retry, closing, sorry, and opted_out exactly when
/// the plan has an opt-out key.
fn read_messages(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    languages: &[Language],
    has_opt_out: bool,
) -> Option<Messages> {
    let v = r.required(root, "messages")?;
    let t = r.as_table(v, "messages")?;
    r.unknown_keys(&t, &["intro", "retry", "closing", "sorry", "opted_out"]);
    let message = |key: &str, r: &mut Reader<'_>| {
        let value = r.required(&t, key)?;
        read_localized(r, value, &key_path("messages", key), languages)
    };
    let intro = message("intro", r);
    let retry = message("retry", r);
    let closing = message("closing", r);
    let sorry = message("sorry", r);
    let opted_out = match (has_opt_out, t.get("opted_out")) {
        (true, _) => message("opted_out", r).map(Some),
        (false, None) => Some(None),
        (false, Some(v)) => {
            r.problem(
                v.span(),
                "messages.opted_out",
                "has no effect without `opt_out_key`",
            );
            None
        }
    };
    Some(Messages {
        intro: intro?,
        retry: retry?,
        closing: closing?,
        sorry: sorry?,
        opted_out: opted_out?,
    })
}
