//! SDK errors turned into variants a caller can act on, each with a sentence that says what to do.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Target;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials for profile '{profile}': run `aws configure --profile {profile}`, `aws sso login --profile {profile}`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials { profile: String },
    #[error(
        "the SSO session for profile '{profile}' has expired: run `aws sso login --profile {profile}`"
    )]
    SsoExpired { profile: String },
    #[error(
        "the credentials of profile '{profile}' have expired ({code}): refresh them (`aws sso login --profile {profile}` for SSO profiles) and try again"
    )]
    CredentialsExpired { profile: String, code: String },
    #[error(
        "AWS rejected the credentials of profile '{profile}' in {region} ({code}: {message}): check the access key, or that {region} is enabled for the account"
    )]
    CredentialsRejected {
        profile: String,
        region: String,
        code: String,
        message: String,
    },
    #[error(
        "access denied for {operation} in {target} ({message}): the IAM identity needs {action}"
    )]
    AccessDenied {
        target: String,
        operation: &'static str,
        action: String,
        message: String,
    },
    #[error(
        "{operation} in {target} was throttled and retries ran out: try again in a minute, or read fewer regions at once"
    )]
    Throttled {
        target: String,
        operation: &'static str,
    },
    #[error(
        "cannot reach {endpoint} ({detail}): check the network, the proxy, or that {}",
        regions_phrase(.regions)
    )]
    Unreachable {
        endpoint: String,
        /// Every region that failed the same way (one endpoint for all of them, as with
        /// `--endpoint-url`): they are named in one sentence, not one sentence each.
        regions: Vec<String>,
        detail: String,
    },
    #[error("{operation} in {target} failed: {code}: {message}")]
    Service {
        target: String,
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error(
        "{operation} in {target}: the answer from {endpoint} was not an AWS response ({detail}); the endpoint may not implement {operation}"
    )]
    Malformed {
        target: String,
        operation: &'static str,
        endpoint: String,
        detail: String,
    },
}

const THROTTLING_CODES: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottledException",
];

impl AwsError {
    pub fn is_throttled(&self) -> bool {
        matches!(self, AwsError::Throttled { .. })
    }

    /// Credential problems are the same for every region of a profile: report them once.
    pub fn is_credentials(&self) -> bool {
        matches!(
            self,
            AwsError::NoCredentials { .. }
                | AwsError::SsoExpired { .. }
                | AwsError::CredentialsExpired { .. }
        )
    }

    /// Folds `other` into `self` when both say the same thing about different regions (an
    /// unreachable endpoint shared by every region); false when they differ.
    pub fn absorb(&mut self, other: &AwsError) -> bool {
        match (self, other) {
            (
                AwsError::Unreachable {
                    endpoint,
                    regions,
                    detail,
                },
                AwsError::Unreachable {
                    endpoint: e,
                    regions: more,
                    detail: d,
                },
            ) if endpoint == e && detail == d => {
                for region in more {
                    if !regions.contains(region) {
                        regions.push(region.clone());
                    }
                }
                true
            }
            (this, other) => *this == *other,
        }
    }

    /// Classifies an SDK error of `operation` (e.g. "ec2:DescribeInstances") for `target`.
    pub fn from_sdk<E>(
        err: SdkError<E, HttpResponse>,
        target: &Target,
        operation: &'static str,
        endpoint: String,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let profile = target.profile_label();
        let where_ = target.to_string();
        if let SdkError::ServiceError(service) = &err {
            let e = service.err();
            let message = e.message().unwrap_or_default().to_owned();
            return match e.code() {
                Some(code) => from_code(code.to_owned(), message, target, operation),
                // No AWS error code at all: an HTML error page, a proxy, an endpoint that
                // does not implement the operation.
                None => AwsError::Malformed {
                    target: where_,
                    operation,
                    endpoint,
                    detail: format!(
                        "HTTP {} with no AWS error code",
                        service.raw().status().as_u16()
                    ),
                },
            };
        }
        let chain = error_chain(&err);
        let lower = chain.to_lowercase();
        if lower.contains("sso") && (lower.contains("expired") || lower.contains("token")) {
            return AwsError::SsoExpired { profile };
        }
        if lower.contains("credential") {
            return AwsError::NoCredentials { profile };
        }
        match err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Unreachable {
                endpoint,
                regions: vec![target.region.clone()],
                detail: short(&chain),
            },
            SdkError::ResponseError(_) => AwsError::Malformed {
                target: where_,
                operation,
                endpoint,
                detail: short(&chain),
            },
            _ => AwsError::Service {
                target: where_,
                operation,
                code: "ClientError".into(),
                message: short(&chain),
            },
        }
    }
}

fn from_code(code: String, message: String, target: &Target, operation: &'static str) -> AwsError {
    let profile = target.profile_label();
    match code.as_str() {
        c if THROTTLING_CODES.contains(&c) => AwsError::Throttled {
            target: target.to_string(),
            operation,
        },
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            AwsError::CredentialsExpired { profile, code }
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "AuthFailure"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationTokenException"
        | "InvalidSignatureException" => AwsError::CredentialsRejected {
            profile,
            region: target.region.clone(),
            code,
            message,
        },
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            AwsError::AccessDenied {
                target: target.to_string(),
                operation,
                action: operation.to_owned(),
                message,
            }
        }
        _ => AwsError::Service {
            target: target.to_string(),
            operation,
            code,
            message,
        },
    }
}

/// "'us-east-1' is a real region", "'us-east-1' and 'eu-west-1' are real regions": the regions
/// an unreachable endpoint was asked about.
fn regions_phrase(regions: &[String]) -> String {
    let quoted: Vec<String> = regions.iter().map(|r| format!("'{r}'")).collect();
    match quoted.as_slice() {
        [] => "the region is a real one".to_owned(),
        [one] => format!("{one} is a real region"),
        [rest @ .., last] => format!("{} and {last} are real regions", rest.join(", ")),
    }
}

/// The error and its sources on one line: the SDK's top-level Display is often just "dispatch failure".
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn short(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            profile: Some("prod".into()),
            region: "eu-west-1".into(),
        }
    }

    #[test]
    fn throttling_codes_are_throttles() {
        for code in THROTTLING_CODES {
            let e = from_code(code.into(), "Rate exceeded".into(), &target(), "ssm:X");
            assert!(e.is_throttled(), "{code}");
        }
    }

    #[test]
    fn one_unreachable_endpoint_is_one_sentence_naming_every_region() {
        let unreachable = |region: &str| AwsError::Unreachable {
            endpoint: "http://127.0.0.1:9".into(),
            regions: vec![region.into()],
            detail: "connection refused".into(),
        };
        let mut first = unreachable("us-east-1");
        assert!(first.absorb(&unreachable("us-east-1")));
        assert!(first.absorb(&unreachable("eu-west-1")));
        let text = first.to_string();
        assert!(
            text.ends_with("or that 'us-east-1' and 'eu-west-1' are real regions"),
            "{text}"
        );
        let mut elsewhere = AwsError::Unreachable {
            endpoint: "https://ssm.eu-west-1.amazonaws.com".into(),
            regions: vec!["eu-west-1".into()],
            detail: "connection refused".into(),
        };
        assert!(!elsewhere.absorb(&unreachable("us-east-1")));
        let throttled = AwsError::Throttled {
            target: "default/us-east-1".into(),
            operation: "ssm:X",
        };
        assert!(!elsewhere.absorb(&throttled));
        assert!(throttled.clone().absorb(&throttled));
    }

    #[test]
    fn expired_token_says_which_login_to_run() {
        let e = from_code(
            "ExpiredTokenException".into(),
            String::new(),
            &target(),
            "ssm:X",
        );
        assert!(
            e.to_string().contains("aws sso login --profile prod"),
            "{e}"
        );
    }
}
