//! The binary ClientMessage of the SSM data channel (docs: ssm-protocol.md §3). Big-endian
//! integers; MessageId's 8-byte halves are swapped on the wire; the payload is everything after
//! the PayloadLength field, as the plugin reads it.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const HEADER_LENGTH: u32 = 116;
/// HeaderLength (4) + header (116) + PayloadLength... the fixed part before the payload.
pub const PAYLOAD_OFFSET: usize = 120;
const TYPE_LEN: usize = 32;
/// Frames larger than this are not something either peer sends (payloads are ≤ 1024 B, smux
/// frames ≤ 32 KiB); reading them would only let a broken peer make us allocate.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

pub mod types {
    pub const INPUT_STREAM_DATA: &str = "input_stream_data";
    pub const OUTPUT_STREAM_DATA: &str = "output_stream_data";
    pub const ACKNOWLEDGE: &str = "acknowledge";
    pub const CHANNEL_CLOSED: &str = "channel_closed";
    pub const START_PUBLICATION: &str = "start_publication";
    pub const PAUSE_PUBLICATION: &str = "pause_publication";
    pub const AGENT_SESSION_STATE: &str = "agent_session_state";
}

pub mod flags {
    pub const SYN: u64 = 1;
    pub const FIN: u64 = 2;
}

/// What a stream message's payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    Null,
    Output,
    Error,
    Size,
    Parameter,
    HandshakeRequest,
    HandshakeResponse,
    HandshakeComplete,
    EncChallengeRequest,
    EncChallengeResponse,
    Flag,
    StdErr,
    ExitCode,
    /// A type this client does not know: kept so it can be logged and ignored, never fatal.
    Other(u32),
}

impl PayloadType {
    pub fn code(self) -> u32 {
        match self {
            Self::Null => 0,
            Self::Output => 1,
            Self::Error => 2,
            Self::Size => 3,
            Self::Parameter => 4,
            Self::HandshakeRequest => 5,
            Self::HandshakeResponse => 6,
            Self::HandshakeComplete => 7,
            Self::EncChallengeRequest => 8,
            Self::EncChallengeResponse => 9,
            Self::Flag => 10,
            Self::StdErr => 11,
            Self::ExitCode => 12,
            Self::Other(n) => n,
        }
    }

    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Null,
            1 => Self::Output,
            2 => Self::Error,
            3 => Self::Size,
            4 => Self::Parameter,
            5 => Self::HandshakeRequest,
            6 => Self::HandshakeResponse,
            7 => Self::HandshakeComplete,
            8 => Self::EncChallengeRequest,
            9 => Self::EncChallengeResponse,
            10 => Self::Flag,
            11 => Self::StdErr,
            12 => Self::ExitCode,
            n => Self::Other(n),
        }
    }
}

/// Payload of a `Flag` message (u32 big-endian).
pub mod flag {
    pub const DISCONNECT_TO_PORT: u32 = 1;
    pub const TERMINATE_SESSION: u32 = 2;
    pub const CONNECT_TO_PORT_ERROR: u32 = 3;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    pub message_type: String,
    pub schema_version: u32,
    /// Unix epoch milliseconds.
    pub created_date: u64,
    pub sequence_number: i64,
    pub flags: u64,
    pub message_id: Uuid,
    pub payload_type: PayloadType,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {0} bytes is shorter than the {PAYLOAD_OFFSET}-byte header")]
    Short(usize),
    #[error("frame of {0} bytes is larger than any peer sends")]
    TooLarge(usize),
    #[error("header length {header} does not fit a frame of {frame} bytes")]
    BadHeaderLength { header: u32, frame: usize },
    #[error("payload length {declared} is more than the {available} bytes in the frame")]
    BadPayloadLength { declared: u32, available: usize },
    #[error("message type is empty or not text")]
    BadType,
    #[error("created date is zero")]
    NoDate,
    #[error("payload digest does not match its SHA-256")]
    BadDigest,
}

impl ClientMessage {
    pub fn new(
        message_type: &str,
        sequence_number: i64,
        flags: u64,
        payload_type: PayloadType,
        payload: impl Into<Bytes>,
    ) -> Self {
        ClientMessage {
            message_type: message_type.to_owned(),
            schema_version: 1,
            created_date: now_millis(),
            sequence_number,
            flags,
            message_id: Uuid::new_v4(),
            payload_type,
            payload: payload.into(),
        }
    }

    pub fn is_stream_data(&self) -> bool {
        self.message_type == types::INPUT_STREAM_DATA
            || self.message_type == types::OUTPUT_STREAM_DATA
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PAYLOAD_OFFSET + self.payload.len());
        out.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
        let mut kind = [b' '; TYPE_LEN];
        let name = self.message_type.as_bytes();
        let n = name.len().min(TYPE_LEN);
        kind[..n].copy_from_slice(&name[..n]);
        out.extend_from_slice(&kind);
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        out.extend_from_slice(&self.created_date.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.extend_from_slice(&message_id_to_wire(self.message_id));
        out.extend_from_slice(&Sha256::digest(&self.payload));
        out.extend_from_slice(&self.payload_type.code().to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes and validates a frame as the plugin does: flow-control messages are taken as they
    /// are; others need a type, a date and (when they carry a payload) a matching digest.
    pub fn decode(frame: &[u8]) -> Result<ClientMessage, DecodeError> {
        Self::decode_checked(frame, true)
    }

    /// Decodes as the SSM agent does: every check but the payload digest, which the agent never
    /// verifies (ssm-protocol.md §3). Some clients in the wild send digests the agent ignores.
    pub fn decode_as_agent(frame: &[u8]) -> Result<ClientMessage, DecodeError> {
        Self::decode_checked(frame, false)
    }

    fn decode_checked(frame: &[u8], check_digest: bool) -> Result<ClientMessage, DecodeError> {
        if frame.len() > MAX_FRAME {
            return Err(DecodeError::TooLarge(frame.len()));
        }
        if frame.len() < PAYLOAD_OFFSET {
            return Err(DecodeError::Short(frame.len()));
        }
        let header_length = be_u32(frame, 0);
        let payload_start = header_length as usize + 4;
        if header_length == 0 || payload_start > frame.len() || payload_start < PAYLOAD_OFFSET {
            return Err(DecodeError::BadHeaderLength {
                header: header_length,
                frame: frame.len(),
            });
        }
        let raw_type = &frame[4..4 + TYPE_LEN];
        let message_type = std::str::from_utf8(raw_type)
            .map_err(|_| DecodeError::BadType)?
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        let payload = &frame[payload_start..];
        let payload_length = be_u32(frame, 116);
        if payload_length as usize > payload.len() {
            return Err(DecodeError::BadPayloadLength {
                declared: payload_length,
                available: payload.len(),
            });
        }
        let message = ClientMessage {
            schema_version: be_u32(frame, 36),
            created_date: be_u64(frame, 40),
            sequence_number: be_u64(frame, 48) as i64,
            flags: be_u64(frame, 56),
            message_id: message_id_from_wire(&frame[64..80]),
            payload_type: PayloadType::from_code(be_u32(frame, 112)),
            payload: Bytes::copy_from_slice(payload),
            message_type,
        };
        let flow_control = message.message_type == types::START_PUBLICATION
            || message.message_type == types::PAUSE_PUBLICATION;
        if !flow_control {
            if message.message_type.is_empty() {
                return Err(DecodeError::BadType);
            }
            if message.created_date == 0 {
                return Err(DecodeError::NoDate);
            }
            if check_digest
                && payload_length != 0
                && Sha256::digest(payload).as_slice() != &frame[80..112]
            {
                return Err(DecodeError::BadDigest);
            }
        }
        Ok(message)
    }
}

/// RFC 4122 byte order with the 8-byte halves swapped.
pub fn message_id_to_wire(id: Uuid) -> [u8; 16] {
    let b = id.as_bytes();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&b[8..]);
    out[8..].copy_from_slice(&b[..8]);
    out
}

pub fn message_id_from_wire(wire: &[u8]) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&wire[8..16]);
    b[8..].copy_from_slice(&wire[..8]);
    Uuid::from_bytes(b)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame laid out by hand from the protocol table, independently of `encode`.
    fn hand_made_frame() -> Vec<u8> {
        let payload = b"ls\r";
        let mut f = Vec::new();
        f.extend_from_slice(&[0, 0, 0, 116]); // HeaderLength
        let mut t = b"input_stream_data".to_vec();
        t.resize(32, b' ');
        f.extend_from_slice(&t); // MessageType, space padded
        f.extend_from_slice(&[0, 0, 0, 1]); // SchemaVersion
        f.extend_from_slice(&[0, 0, 0x01, 0x94, 0x24, 0x5c, 0x3a, 0x00]); // CreatedDate ms
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]); // SequenceNumber 7
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // Flags
        // MessageId 00112233-4455-6677-8899-aabbccddeeff, halves swapped.
        f.extend_from_slice(&[
            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
            0x66, 0x77,
        ]);
        // SHA-256("ls\r"), computed outside this code.
        f.extend_from_slice(
            &hex::decode("1d887ce0f8672e4914d9000e801cd74ecd805dd9366c0bc42dc16adc0197dc2f")
                .expect("hex literal"),
        );
        f.extend_from_slice(&[0, 0, 0, 1]); // PayloadType Output
        f.extend_from_slice(&[0, 0, 0, 3]); // PayloadLength
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn decodes_a_hand_made_frame() {
        let m = ClientMessage::decode(&hand_made_frame()).expect("valid frame");
        assert_eq!(m.message_type, "input_stream_data");
        assert_eq!(m.schema_version, 1);
        assert_eq!(m.created_date, 0x0194_245c_3a00);
        assert_eq!(m.sequence_number, 7);
        assert_eq!(
            m.message_id.to_string(),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
        assert_eq!(m.payload_type, PayloadType::Output);
        assert_eq!(&m.payload[..], b"ls\r");
    }

    #[test]
    fn encodes_to_the_same_bytes() {
        let m = ClientMessage::decode(&hand_made_frame()).expect("valid frame");
        assert_eq!(m.encode(), hand_made_frame());
    }

    #[test]
    fn sha256_of_empty_payload_is_written() {
        let m = ClientMessage::new(types::ACKNOWLEDGE, 0, 3, PayloadType::Null, Bytes::new());
        let wire = m.encode();
        assert_eq!(
            hex::encode(&wire[80..112]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(wire.len(), PAYLOAD_OFFSET);
    }

    #[test]
    fn round_trips() {
        let m = ClientMessage::new(
            types::OUTPUT_STREAM_DATA,
            42,
            flags::SYN,
            PayloadType::Size,
            Bytes::from_static(br#"{"cols":80,"rows":24}"#),
        );
        assert_eq!(ClientMessage::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn rejects_bad_frames_with_errors() {
        let good = hand_made_frame();
        assert_eq!(
            ClientMessage::decode(&good[..50]),
            Err(DecodeError::Short(50))
        );

        let mut bad_digest = good.clone();
        let last = bad_digest.len() - 1;
        bad_digest[last] ^= 0xff;
        assert_eq!(
            ClientMessage::decode(&bad_digest),
            Err(DecodeError::BadDigest)
        );

        let mut huge_header = good.clone();
        huge_header[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            ClientMessage::decode(&huge_header),
            Err(DecodeError::BadHeaderLength { .. })
        ));

        let mut huge_payload = good.clone();
        huge_payload[116..120].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            ClientMessage::decode(&huge_payload),
            Err(DecodeError::BadPayloadLength { .. })
        ));

        let mut no_date = good;
        no_date[40..48].fill(0);
        assert_eq!(ClientMessage::decode(&no_date), Err(DecodeError::NoDate));
    }

    #[test]
    fn flow_control_is_taken_without_checks() {
        let mut m = ClientMessage::new(types::PAUSE_PUBLICATION, 0, 3, PayloadType::Null, "x");
        m.created_date = 0;
        let mut wire = m.encode();
        wire[80] ^= 1; // digest no longer matches
        let decoded = ClientMessage::decode(&wire).expect("flow control is not validated");
        assert_eq!(decoded.message_type, types::PAUSE_PUBLICATION);
    }
}
