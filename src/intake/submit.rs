//! Submitting campaign documents: large campaigns are split into chunks that
//! repeat the header, so no single Redis value holds a million contacts.

use serde_json::Value;

use crate::store::{Store, StoreError};

/// Why a document could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the document must be an object with a `contacts` array")]
    Shape,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Splits a document into documents of at most `chunk_size` contacts, each
/// carrying the same header. A document that already fits is returned as is.
pub fn chunk_document(doc: &str, chunk_size: usize) -> Result<Vec<String>, SubmitError> {
    let value: Value = serde_json::from_str(doc)?;
    let Value::Object(mut obj) = value else {
        return Err(SubmitError::Shape);
    };
    let Some(Value::Array(contacts)) = obj.remove("contacts") else {
        return Err(SubmitError::Shape);
    };
    let chunk_size = chunk_size.max(1);
    if contacts.len() <= chunk_size {
        return Ok(vec![doc.to_owned()]);
    }
    contacts
        .chunks(chunk_size)
        .map(|chunk| {
            let mut part = obj.clone();
            part.insert("contacts".into(), Value::Array(chunk.to_vec()));
            Ok(serde_json::to_string(&Value::Object(part))?)
        })
        .collect()
}

/// Puts a document on the intake stream, chunked; returns the entry ids.
pub async fn submit_document(
    store: &dyn Store,
    doc: &str,
    chunk_size: usize,
) -> Result<Vec<String>, SubmitError> {
    let mut ids = Vec::new();
    for part in chunk_document(doc, chunk_size)? {
        ids.push(store.submit(&part).await?);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_repeat_the_header() {
        let doc = r#"{"version":1,"id":"c","contacts":[{"id":"1"},{"id":"2"},{"id":"3"}]}"#;
        let parts = chunk_document(doc, 2).unwrap();
        assert_eq!(parts.len(), 2);
        let second: Value = serde_json::from_str(&parts[1]).unwrap();
        assert_eq!(second["id"], "c");
        assert_eq!(second["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(chunk_document(doc, 10).unwrap(), vec![doc.to_owned()]);
        assert!(matches!(chunk_document("[]", 2), Err(SubmitError::Shape)));
    }
}
