//! What every service handler shares: the service names, the API error type and typed access to
//! JSON request members.

use serde_json::{Map, Value};

/// The three services, by their SigV4 signing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Ec2,
    Ssm,
    Logs,
}

impl Service {
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Ssm => "ssm",
            Service::Logs => "logs",
        }
    }
}

/// An AWS error as the client will see it; the HTTP layer renders it in the service's protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// A client fault (HTTP 400).
    pub(crate) fn client(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The smithy-style constraint message awsJson services use for model violations.
    pub(crate) fn validation(value: &str, member: &str, constraint: &str) -> Self {
        ApiError::client(
            "ValidationException",
            format!(
                "1 validation error detected: Value {value} at '{member}' failed to satisfy \
                 constraint: {constraint}"
            ),
        )
    }

    /// A numeric member outside its modelled range, in the `ValidationException` shape.
    pub(crate) fn out_of_range(member: &str, value: i64, min: i64, max: i64) -> Self {
        let constraint = if value < min {
            format!("Member must have value greater than or equal to {min}")
        } else {
            format!("Member must have value less than or equal to {max}")
        };
        ApiError::validation(&format!("'{value}'"), member, &constraint)
    }
}

/// Typed access to the members of an awsJson request body. A member of the wrong JSON type is a
/// `SerializationException`, as the real services answer.
pub(crate) struct JsonInput<'a> {
    obj: &'a Map<String, Value>,
}

fn wrong_type(key: &str, expected: &str) -> ApiError {
    ApiError::client(
        "SerializationException",
        format!("member '{key}' must be a {expected}"),
    )
}

impl<'a> JsonInput<'a> {
    pub(crate) fn new(obj: &'a Map<String, Value>) -> Self {
        JsonInput { obj }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(key, "string")),
        }
    }

    pub(crate) fn i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| wrong_type(key, "whole number")),
            Some(_) => Err(wrong_type(key, "number")),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(key, "boolean")),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(wrong_type(key, "list")),
        }
    }

    /// A list of strings, such as filter values.
    pub(crate) fn strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, ApiError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| wrong_type(key, "list of strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A nested structure (or map), wrapped for typed access.
    pub(crate) fn object(&self, key: &str) -> Result<Option<JsonInput<'a>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(JsonInput::new(o))),
            Some(_) => Err(wrong_type(key, "structure")),
        }
    }

    /// The members of a list of structures, each wrapped for typed access.
    pub(crate) fn objects(&self, key: &str) -> Result<Option<Vec<JsonInput<'a>>>, ApiError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| {
                v.as_object()
                    .map(JsonInput::new)
                    .ok_or_else(|| wrong_type(key, "list of structures"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// `*` and `?` wildcard matching, as EC2 filter values and SSM tag filters accept.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much text it has swallowed so far: classic backtracking.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_ec2_filters() {
        assert!(glob_match("pay-*", "pay-api-prod-3"));
        assert!(glob_match("*prod*", "pay-api-prod-3"));
        assert!(glob_match("web-?", "web-1"));
        assert!(glob_match("exact", "exact"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("web-?", "web-12"));
        assert!(!glob_match("pay-*", "auth-api"));
        assert!(!glob_match("a*b", "acbd"));
        assert!(glob_match("a*b*c", "axxbyyc"));
    }

    #[test]
    fn typed_members_reject_wrong_types() {
        let v =
            serde_json::json!({"n": 5, "s": "x", "b": true, "l": ["a"], "bad": "5", "nul": null});
        let obj = v.as_object().expect("object literal");
        let input = JsonInput::new(obj);
        assert_eq!(input.i64("n"), Ok(Some(5)));
        assert_eq!(input.str("s"), Ok(Some("x")));
        assert_eq!(input.bool("b"), Ok(Some(true)));
        assert_eq!(input.strings("l"), Ok(Some(vec!["a"])));
        assert_eq!(input.i64("nul"), Ok(None));
        assert_eq!(input.i64("missing"), Ok(None));
        let err = input.i64("bad").expect_err("string is not a number");
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn range_errors_read_like_aws() {
        let e = ApiError::out_of_range("maxResults", 3, 5, 50);
        assert_eq!(e.code, "ValidationException");
        assert!(
            e.message.contains("Value '3' at 'maxResults'"),
            "{}",
            e.message
        );
        assert!(e.message.contains("greater than or equal to 5"));
    }
}
