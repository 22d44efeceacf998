//! Values put in the links of the screens and the API.

/// Percent-encoding of a query-string value.
pub fn encoder(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
