//! The SSM Session Manager data channel (docs: ../shared ssm-protocol.md): the binary message
//! codec, its JSON payloads, and the reliability layer both peers run. No TUI knowledge.

mod lost;
pub mod message;
pub mod payloads;
pub mod port;
pub mod reliable;
pub mod session;
pub mod smux;
pub mod ws;

pub use message::{ClientMessage, DecodeError, PayloadType};
pub use payloads::Size;
pub use session::{ChannelError, SessionEvent, SessionHandle, SessionState, ShellSession};

/// The version fleetdeck reports: ≥ 1.2.764.0 so agents turn smux keepalive off and accept
/// signed OpenDataChannel requests (ssm-protocol.md §2, §11).
pub const CLIENT_VERSION: &str = "1.2.764.0";
