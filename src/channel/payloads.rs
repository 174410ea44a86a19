//! JSON payloads carried inside ClientMessages: acknowledgements, the handshake, sizes,
//! channel_closed, and the OpenDataChannel text frame (ssm-protocol.md §2, §3, §5).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledge {
    #[serde(rename = "AcknowledgedMessageType")]
    pub message_type: String,
    #[serde(rename = "AcknowledgedMessageId")]
    pub message_id: String,
    #[serde(rename = "AcknowledgedMessageSequenceNumber")]
    pub sequence_number: i64,
    #[serde(rename = "IsSequentialMessage")]
    pub is_sequential: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub cols: u32,
    pub rows: u32,
}

/// The first (text) frame on a new WebSocket. The token is a credential: `Debug` hides it.
#[derive(Clone, Serialize, Deserialize)]
pub struct OpenDataChannel {
    #[serde(rename = "MessageSchemaVersion")]
    pub message_schema_version: String,
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TokenValue")]
    pub token_value: String,
    #[serde(rename = "ClientId", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(
        rename = "ClientVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_version: Option<String>,
}

impl fmt::Debug for OpenDataChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenDataChannel")
            .field("request_id", &self.request_id)
            .field("token_value", &"***")
            .field("client_id", &self.client_id)
            .field("client_version", &self.client_version)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRequest {
    #[serde(rename = "AgentVersion")]
    pub agent_version: String,
    #[serde(rename = "RequestedClientActions")]
    pub requested_client_actions: Vec<RequestedClientAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestedClientAction {
    #[serde(rename = "ActionType")]
    pub action_type: String,
    #[serde(rename = "ActionParameters")]
    pub action_parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeResponse {
    #[serde(rename = "ClientVersion")]
    pub client_version: String,
    #[serde(rename = "ProcessedClientActions")]
    pub processed_client_actions: Vec<ProcessedClientAction>,
    #[serde(rename = "Errors")]
    pub errors: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessedClientAction {
    #[serde(rename = "ActionType")]
    pub action_type: String,
    /// 1 Success, 2 Failed, 3 Unsupported.
    #[serde(rename = "ActionStatus")]
    pub action_status: u32,
    #[serde(rename = "ActionResult")]
    pub action_result: serde_json::Value,
    #[serde(rename = "Error")]
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeComplete {
    /// A Go duration: integer nanoseconds.
    #[serde(rename = "HandshakeTimeToComplete")]
    pub handshake_time_to_complete: i64,
    #[serde(rename = "CustomerMessage", default)]
    pub customer_message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelClosed {
    #[serde(rename = "MessageId", default)]
    pub message_id: String,
    #[serde(rename = "CreatedDate", default)]
    pub created_date: String,
    #[serde(rename = "DestinationId", default)]
    pub destination_id: String,
    #[serde(rename = "SessionId", default)]
    pub session_id: String,
    #[serde(rename = "MessageType", default)]
    pub message_type: String,
    #[serde(rename = "SchemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "Output", default)]
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_uses_the_wire_names() {
        let ack = Acknowledge {
            message_type: "output_stream_data".into(),
            message_id: "00112233-4455-6677-8899-aabbccddeeff".into(),
            sequence_number: 3,
            is_sequential: true,
        };
        let json = serde_json::to_value(&ack).expect("serialize");
        assert_eq!(json["AcknowledgedMessageType"], "output_stream_data");
        assert_eq!(json["AcknowledgedMessageSequenceNumber"], 3);
        assert_eq!(json["IsSequentialMessage"], true);
    }

    #[test]
    fn handshake_request_from_the_notes_parses() {
        let text = r#"{"AgentVersion":"3.3.987.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"Port","Properties":{"portNumber":"5432","type":"LocalPortForwarding","localPortNumber":"15432"}}}]}"#;
        let req: HandshakeRequest = serde_json::from_str(text).expect("parse");
        assert_eq!(req.agent_version, "3.3.987.0");
        assert_eq!(
            req.requested_client_actions[0].action_parameters["Properties"]["portNumber"],
            "5432"
        );
    }

    #[test]
    fn open_data_channel_debug_hides_the_token() {
        let open = OpenDataChannel {
            message_schema_version: "1.0".into(),
            request_id: "r".into(),
            token_value: "AAEAA-secret-token".into(),
            client_id: None,
            client_version: Some("1.2.764.0".into()),
        };
        assert!(!format!("{open:?}").contains("secret"));
        let json = serde_json::to_string(&open).expect("serialize");
        assert!(json.contains("\"TokenValue\":\"AAEAA-secret-token\""));
        assert!(!json.contains("ClientId"));
    }
}
