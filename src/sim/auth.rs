//! The SigV4 check: a structural one. The simulator has no secrets to verify signatures against,
//! but it insists that requests look signed, so a client that forgets to sign fails here as it
//! would against AWS, and it learns the region and service from the credential scope.

use hyper::HeaderMap;

/// What the `Credential=` part of the `Authorization` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialScope {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// No `Authorization` header at all.
    Missing,
    /// A header is there but is not a well-formed SigV4 one; the text says what is wrong.
    Malformed(String),
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn malformed(text: impl Into<String>) -> AuthError {
    AuthError::Malformed(text.into())
}

pub(crate) fn check(headers: &HeaderMap) -> Result<CredentialScope, AuthError> {
    let Some(auth) = header(headers, "authorization") else {
        return Err(AuthError::Missing);
    };
    let auth = auth.trim();
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        return Err(malformed(format!(
            "Authorization header must use the {ALGORITHM} algorithm"
        )));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(malformed(format!(
                "Authorization header element '{}' is not of the form key=value",
                part.trim()
            )));
        };
        match key.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let credential = credential
        .ok_or_else(|| malformed("Authorization header requires 'Credential' parameter"))?;
    let signed_headers = signed_headers
        .ok_or_else(|| malformed("Authorization header requires 'SignedHeaders' parameter"))?;
    let signature = signature
        .ok_or_else(|| malformed("Authorization header requires 'Signature' parameter"))?;

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope[..] else {
        return Err(malformed(format!(
            "Credential '{credential}' must be AKID/yyyymmdd/region/service/aws4_request"
        )));
    };
    if access_key.is_empty() || !access_key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(malformed("Credential has an invalid access key id"));
    }
    if date.len() != 8 || !date.chars().all(|c| c.is_ascii_digit()) {
        return Err(malformed(format!(
            "Credential date '{date}' is not yyyymmdd"
        )));
    }
    if region.is_empty() || service.is_empty() || terminator != "aws4_request" {
        return Err(malformed(format!(
            "Credential '{credential}' must be AKID/yyyymmdd/region/service/aws4_request"
        )));
    }

    let names: Vec<&str> = signed_headers.split(';').collect();
    if names
        .iter()
        .any(|n| n.is_empty() || n.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(malformed(
            "SignedHeaders must be lower-case names separated by ';'",
        ));
    }
    if !names.contains(&"host") {
        return Err(malformed("SignedHeaders must include 'host'"));
    }
    if let Some(absent) = names.iter().find(|n| !headers.contains_key(**n)) {
        return Err(malformed(format!(
            "signed header '{absent}' is not present in the request"
        )));
    }
    if signature.len() != 64 || !signature.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(malformed("Signature must be 64 hexadecimal characters"));
    }

    let amz_date = header(headers, "x-amz-date")
        .ok_or_else(|| malformed("Authorization requires the X-Amz-Date header"))?;
    let well_formed = amz_date.len() == 16
        && amz_date.as_bytes()[8] == b'T'
        && amz_date.ends_with('Z')
        && amz_date[..8].chars().all(|c| c.is_ascii_digit())
        && amz_date[9..15].chars().all(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(malformed(format!(
            "X-Amz-Date '{amz_date}' is not of the form yyyymmddThhmmssZ"
        )));
    }
    if &amz_date[..8] != date {
        return Err(malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{date}' != '{}'",
            &amz_date[..8]
        )));
    }

    Ok(CredentialScope {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const SIG: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn headers(auth: Option<&str>, date: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:1"));
        if let Some(a) = auth {
            h.insert("authorization", HeaderValue::from_str(a).expect("ascii"));
        }
        if let Some(d) = date {
            h.insert("x-amz-date", HeaderValue::from_str(d).expect("ascii"));
        }
        h
    }

    fn auth(credential: &str, signed: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature={SIG}")
    }

    #[test]
    fn accepts_a_well_formed_header() {
        let h = headers(
            Some(&auth(
                "testing/20250102/eu-west-1/ssm/aws4_request",
                "host;x-amz-date",
            )),
            Some("20250102T030405Z"),
        );
        let scope = check(&h).expect("well formed");
        assert_eq!(scope.region, "eu-west-1");
        assert_eq!(scope.service, "ssm");
        assert_eq!(scope.access_key, "testing");
    }

    #[test]
    fn missing_header_is_missing() {
        assert_eq!(check(&headers(None, None)), Err(AuthError::Missing));
    }

    #[test]
    fn rejects_malformed_headers() {
        let date = Some("20250102T030405Z");
        let cases = [
            "Bearer abc".to_string(),
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00".to_string(),
            auth("testing/20250102/eu-west-1/ssm", "host;x-amz-date"),
            auth(
                "testing/2025012/eu-west-1/ssm/aws4_request",
                "host;x-amz-date",
            ),
            auth("testing/20250102/eu-west-1/ssm/aws4_request", "x-amz-date"),
            auth(
                "testing/20250102/eu-west-1/ssm/aws4_request",
                "host;x-missing",
            ),
            auth(
                "testing/20250103/eu-west-1/ssm/aws4_request",
                "host;x-amz-date",
            ),
            "AWS4-HMAC-SHA256 Credential=testing/20250102/eu-west-1/ssm/aws4_request, \
             SignedHeaders=host, Signature=xyz"
                .to_string(),
        ];
        for case in cases {
            let r = check(&headers(Some(&case), date));
            assert!(matches!(r, Err(AuthError::Malformed(_))), "{case}: {r:?}");
        }
        let no_date = headers(
            Some(&auth("testing/20250102/eu-west-1/ssm/aws4_request", "host")),
            None,
        );
        assert!(matches!(check(&no_date), Err(AuthError::Malformed(_))));
    }
}
