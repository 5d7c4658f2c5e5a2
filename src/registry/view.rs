//! Officials as people read them, the same for `sampark officials` and the
//! admin API: the number always masked (`+91******0001`).

use serde_json::{Value, json};

use crate::accountability::columns::aligned;
use crate::domain::Official;

/// `{"officials": [...]}`, each official as [`Official::masked_json`].
pub fn list_json(officials: &[Official]) -> Value {
    json!({"officials": officials.iter().map(Official::masked_json).collect::<Vec<_>>()})
}

/// A listing as an aligned table, one official per line.
pub fn table(officials: &[Official]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "official_id",
            "name",
            "phone",
            "office",
            "department",
            "languages",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    ];
    for o in officials {
        rows.push(vec![
            o.official_id().to_string(),
            o.name().to_owned(),
            o.phone().masked(),
            o.office().to_owned(),
            o.department().to_owned(),
            languages(o),
        ]);
    }
    aligned(&rows)
}

/// One official, a field per line.
pub fn detail(o: &Official) -> String {
    let rows = [
        ("official_id", o.official_id().to_string()),
        ("name", o.name().to_owned()),
        ("phone", o.phone().masked()),
        ("office", o.office().to_owned()),
        ("department", o.department().to_owned()),
        ("languages", languages(o)),
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(k, v)| vec![format!("{k}:"), v])
        .collect();
    aligned(&rows)
}

fn languages(o: &Official) -> String {
    if o.languages().is_empty() {
        "-".to_owned()
    } else {
        o.languages().join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OfficialFields;

    fn official() -> Official {
        Official::new(&OfficialFields {
            official_id: "col-khordha".into(),
            name: "ସୁଜାତା ମହାନ୍ତି".into(),
            phone: "9861000001".into(),
            office: "Collectorate".into(),
            department: "Revenue".into(),
            languages: vec!["or".into(), "en".into()],
        })
        .unwrap()
    }

    #[test]
    fn every_view_masks_the_number() {
        let o = official();
        let list = list_json(std::slice::from_ref(&o));
        assert_eq!(list["officials"][0]["phone"], "+91******0001");
        assert_eq!(list["officials"][0]["languages"], json!(["or", "en"]));
        let table = table(std::slice::from_ref(&o));
        assert!(table.starts_with("official_id  name"), "{table}");
        assert!(
            table.contains("+91******0001  Collectorate  Revenue     or;en"),
            "{table}"
        );
        let detail = detail(&o);
        assert!(detail.contains("phone:        +91******0001\n"), "{detail}");
        for text in [list.to_string(), table, detail] {
            assert!(!text.contains("9861000001"), "{text}");
        }
    }
}
