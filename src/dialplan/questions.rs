//! Reading and checking `[[questions]]` and their choices.
//!
//! Owns: the rules for questions (unique ids, a prompt per language, at
//! least one choice) and choices (unique single keys that are not the
//! opt-out key, unique values, a label, an optional flag). Does not own:
//! the prompt rules (see `prompts`).

use super::model::{Choice, Language, Question};
use super::prompts::{is_identifier, read_key, read_localized};
use super::tree::{Reader, Table, Value, index_path, key_path};

/// `[[questions]]`, in order; at least one.
pub(super) fn read_questions(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    languages: &[Language],
    opt_out: Option<char>,
) -> Option<Vec<Question>> {
    let v = r.required(root, "questions")?;
    let items = r.as_array(v, "questions")?;
    if items.is_empty() {
        r.problem(
            v.span(),
            "questions",
            "a dialplan needs at least one question",
        );
        return None;
    }
    let before = r.problems.len();
    let mut questions: Vec<Question> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index_path("questions", i);
        let Some(t) = r.as_table(item, &path) else {
            continue;
        };
        r.unknown_keys(&t, &["id", "prompt", "choices"]);
        let id = r.required(&t, "id").and_then(|idv| {
            let id_path = key_path(&path, "id");
            let id = r.as_string(idv, &id_path)?;
            if !is_identifier(&id) {
                r.problem(
                    idv.span(),
                    &id_path,
                    format!("{id:?} is not an identifier (lower-case letters, digits, `_`)"),
                );
            } else if ids.contains(&id) {
                r.problem(
                    idv.span(),
                    &id_path,
                    format!("duplicate question id {id:?}"),
                );
            }
            ids.push(id.clone());
            Some(id)
        });
        let prompt = r
            .required(&t, "prompt")
            .and_then(|p| read_localized(r, p, &key_path(&path, "prompt"), languages));
        let choices = r
            .required(&t, "choices")
            .and_then(|c| read_choices(r, c, &key_path(&path, "choices"), opt_out));
        if let (Some(id), Some(prompt), Some(choices)) = (id, prompt, choices) {
            questions.push(Question {
                id,
                prompt,
                choices,
            });
        }
    }
    (r.problems.len() == before).then_some(questions)
}

fn read_choices(
    r: &mut Reader<'_>,
    v: &Value<'_>,
    path: &str,
    opt_out: Option<char>,
) -> Option<Vec<Choice>> {
    let items = r.as_array(v, path)?;
    if items.is_empty() {
        r.problem(v.span(), path, "a question needs at least one choice");
        return None;
    }
    let before = r.problems.len();
    let mut choices: Vec<Choice> = Vec::new();
    let mut keys: Vec<char> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = index_path(path, i);
        let Some(t) = r.as_table(item, &path) else {
            continue;
        };
        r.unknown_keys(&t, &["digits", "value", "label", "flag"]);
        let key = r.required(&t, "digits").and_then(|d| {
            let dpath = key_path(&path, "digits");
            let key = read_key(r, d, &dpath)?;
            if Some(key) == opt_out {
                r.problem(
                    d.span(),
                    &dpath,
                    format!("`{key}` collides with the opt-out key"),
                );
            } else if keys.contains(&key) {
                r.problem(
                    d.span(),
                    &dpath,
                    format!("duplicate key `{key}` in this question"),
                );
            }
            keys.push(key);
            Some(key)
        });
        let value = r.req_string(&t, "value");
        if let (Some(value), Some(vv)) = (&value, t.get("value")) {
            if values.contains(value) {
                r.problem(
                    vv.span(),
                    &key_path(&path, "value"),
                    format!("duplicate value {value:?} in this question"),
                );
            }
            values.push(value.clone());
        }
        let label = r.req_string(&t, "label");
        let flag = r.opt_string(&t, "flag");
        if let (Some(flag), Some(fv)) = (&flag, t.get("flag"))
            && !is_identifier(flag)
        {
            r.problem(
                fv.span(),
                &key_path(&path, "flag"),
                format!("{flag:?} is not an identifier (lower-case letters, digits, `_`)"),
            );
        }
        if let (Some(key), Some(value), Some(label)) = (key, value, label) {
            choices.push(Choice {
                key,
                value,
                label,
                flag,
            });
        }
    }
    (r.problems.len() == before).then_some(choices)
}
