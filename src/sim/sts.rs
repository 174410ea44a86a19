//! STS GetCallerIdentity (awsQuery), so that "who" in audit lines and the caller of sessions agree:
//! the ARN is the one the simulator writes as a session's owner, made from the access key id.

use super::api::ApiError;
use super::fleet::ACCOUNT_ID;
use super::sessions::{caller_name, owner_arn};
use super::xml::{XmlWriter, escape};

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The reply body of `action`, or the error STS gives for anything else.
pub(crate) fn handle(action: &str, access_key: &str, request_id: &str) -> Result<String, ApiError> {
    if action != "GetCallerIdentity" {
        return Err(ApiError::client(
            "InvalidAction",
            format!("Could not find operation {action} for version 2011-06-15"),
        ));
    }
    let caller = caller_name(access_key);
    let mut xml = XmlWriter::new();
    xml.open_ns("GetCallerIdentityResponse", XMLNS)
        .open("GetCallerIdentityResult")
        .leaf("Arn", &owner_arn(&caller))
        .leaf("UserId", &format!("AIDA{}", caller.to_ascii_uppercase()))
        .leaf("Account", ACCOUNT_ID)
        .close("GetCallerIdentityResult")
        .open("ResponseMetadata")
        .leaf("RequestId", request_id)
        .close("ResponseMetadata")
        .close("GetCallerIdentityResponse");
    Ok(xml.finish())
}

/// awsQuery's error shape (not EC2's): `ErrorResponse/Error/{Type,Code,Message}`.
pub(crate) fn error_body(err: &ApiError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}\
         </Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(&err.code),
        escape(&err.message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_is_the_session_owner_of_the_same_key() {
        let body = handle("GetCallerIdentity", "AKIDANA", "req-1").expect("answers");
        assert!(
            body.contains(&format!("<Arn>{}</Arn>", owner_arn("AKIDANA"))),
            "{body}"
        );
        assert!(
            body.contains(&format!("<Account>{ACCOUNT_ID}</Account>")),
            "{body}"
        );
        let err = handle("AssumeRole", "AKIDANA", "req-2").expect_err("not served");
        assert_eq!(err.code, "InvalidAction");
        assert!(error_body(&err, "req-2").contains("<Code>InvalidAction</Code>"));
    }
}
