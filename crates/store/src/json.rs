//! JSON of domain values as the stores keep it in text columns.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::StoreError;

pub fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    // Our domain types serialize to JSON without failing.
    serde_json::to_string(v).expect("domain values serialize to JSON")
}

/// Decodes a JSON column, naming the column when the text is bad.
pub fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("stored {what} is not valid: {e}")))
}
