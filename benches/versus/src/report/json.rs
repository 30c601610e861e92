//! `results.json`: the [`Report`] as it is.

use crate::results::Report;

/// Pretty JSON of the report.
///
/// # Errors
/// Serialization failure (a non-finite float has no JSON form).
pub fn to_string(report: &Report) -> Result<String, String> {
    serde_json::to_string_pretty(report).map_err(|e| e.to_string())
}

/// Parses a `results.json`.
///
/// # Errors
/// Malformed JSON or a shape that is not a [`Report`].
pub fn from_str(text: &str) -> Result<Report, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}
