//! The data channel's reliability layer, without I/O: sequence numbers both ways, acks,
//! retransmission of the oldest unacknowledged message with the plugin's RTO, an out-of-order
//! buffer, duplicates re-acked and dropped, and pause/start flow control (ssm-protocol.md §4).
//! The session task feeds it frames and the clock; it answers with frames to send.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::message::{ClientMessage, PayloadType, types};
use super::payloads::Acknowledge;

/// Which end of the channel this is: it decides the stream type sent and the buffer policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// fleetdeck's side: sends `input_stream_data`; a full outgoing buffer evicts its oldest.
    Client,
    /// The (simulated) agent: sends `output_stream_data`; a full buffer refuses the new message.
    Agent,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub outgoing_capacity: usize,
    pub incoming_capacity: usize,
    /// Resends of one message before the session is declared dead (≈ 5 minutes at 100 ms).
    pub give_up_after: u32,
}

impl Limits {
    pub fn for_role(role: Role) -> Limits {
        match role {
            Role::Client => Limits {
                outgoing_capacity: 10_000,
                incoming_capacity: 10_000,
                give_up_after: 3000,
            },
            Role::Agent => Limits {
                outgoing_capacity: 100_000,
                incoming_capacity: 100_000,
                give_up_after: u32::MAX,
            },
        }
    }
}

pub const INITIAL_RTO: Duration = Duration::from_millis(200);
const INITIAL_RTT: Duration = Duration::from_millis(100);
const MAX_RTO: Duration = Duration::from_secs(1);
const MIN_RTO_VARIANCE: Duration = Duration::from_millis(10);
/// How often the plugin looks at the head of its outgoing buffer.
pub const RESEND_SCAN: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Unacked {
    sequence_number: i64,
    frame: Bytes,
    last_sent: Instant,
    resends: u32,
}

/// What one received frame produced.
#[derive(Debug, Default)]
pub struct Received {
    /// Acks to send back, already encoded.
    pub replies: Vec<Bytes>,
    /// Stream messages now in order, oldest first.
    pub delivered: Vec<ClientMessage>,
    /// Non-stream messages for the session to act on (channel_closed, unknown types).
    pub control: Vec<ClientMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReliabilityError {
    #[error("message {0} was resent {1} times without an acknowledgement: the peer is gone")]
    GaveUp(i64, u32),
}

#[derive(Debug)]
pub struct Reliable {
    role: Role,
    limits: Limits,
    next_outgoing: i64,
    next_expected: i64,
    outgoing: VecDeque<Unacked>,
    incoming: BTreeMap<i64, ClientMessage>,
    rtt: Duration,
    rttvar: Duration,
    rto: Duration,
    paused: bool,
}

impl Reliable {
    pub fn new(role: Role) -> Reliable {
        Reliable::with_limits(role, Limits::for_role(role))
    }

    pub fn with_limits(role: Role, limits: Limits) -> Reliable {
        Reliable {
            role,
            limits,
            next_outgoing: 0,
            next_expected: 0,
            outgoing: VecDeque::new(),
            incoming: BTreeMap::new(),
            rtt: INITIAL_RTT,
            rttvar: Duration::ZERO,
            rto: INITIAL_RTO,
            paused: false,
        }
    }

    fn stream_type(&self) -> &'static str {
        match self.role {
            Role::Client => types::INPUT_STREAM_DATA,
            Role::Agent => types::OUTPUT_STREAM_DATA,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn unacked(&self) -> usize {
        self.outgoing.len()
    }

    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// Sequences, encodes and buffers one stream message; returns the frame to transmit now.
    pub fn send(
        &mut self,
        payload_type: PayloadType,
        payload: impl Into<Bytes>,
        now: Instant,
    ) -> Bytes {
        let seq = self.next_outgoing;
        self.next_outgoing += 1;
        // The agent marks its first message SYN; nobody acts on flags when reading.
        let flags = u64::from(self.role == Role::Agent && seq == 0);
        let frame: Bytes =
            ClientMessage::new(self.stream_type(), seq, flags, payload_type, payload)
                .encode()
                .into();
        if self.outgoing.len() >= self.limits.outgoing_capacity {
            match self.role {
                Role::Client => {
                    self.outgoing.pop_front();
                }
                Role::Agent => return frame,
            }
        }
        self.outgoing.push_back(Unacked {
            sequence_number: seq,
            frame: frame.clone(),
            last_sent: now,
            resends: 0,
        });
        frame
    }

    /// The oldest unacknowledged frame if its RTO has passed (only the head is ever resent).
    pub fn due(&mut self, now: Instant) -> Result<Option<Bytes>, ReliabilityError> {
        if self.paused {
            return Ok(None);
        }
        let rto = self.rto;
        let Some(head) = self.outgoing.front_mut() else {
            return Ok(None);
        };
        if now.duration_since(head.last_sent) < rto {
            return Ok(None);
        }
        if head.resends >= self.limits.give_up_after {
            return Err(ReliabilityError::GaveUp(head.sequence_number, head.resends));
        }
        head.resends += 1;
        head.last_sent = now;
        Ok(Some(head.frame.clone()))
    }

    /// Every unacknowledged frame whose RTO has passed, oldest first (not only the head): the
    /// simulated agent's faster recovery when frames are lost, not what AWS's peers do.
    pub fn due_all(&mut self, now: Instant) -> Vec<Bytes> {
        if self.paused {
            return Vec::new();
        }
        let rto = self.rto;
        self.outgoing
            .iter_mut()
            .filter(|u| now.duration_since(u.last_sent) >= rto)
            .map(|u| {
                u.resends = u.resends.saturating_add(1);
                u.last_sent = now;
                u.frame.clone()
            })
            .collect()
    }

    /// The earliest moment `due_all` returns something.
    pub fn next_deadline_any(&self) -> Option<Instant> {
        if self.paused {
            return None;
        }
        self.outgoing
            .iter()
            .map(|u| u.last_sent)
            .min()
            .map(|t| t + self.rto)
    }

    /// Every unacknowledged frame, oldest first, marked as sent now: after a reconnect the frames
    /// sent on the old socket may never have arrived, so both of our peers resend them all at
    /// once instead of one per round trip (duplicates are re-acked and dropped by the receiver).
    pub fn resend_all(&mut self, now: Instant) -> Vec<Bytes> {
        self.outgoing
            .iter_mut()
            .map(|u| {
                u.last_sent = now;
                u.frame.clone()
            })
            .collect()
    }

    /// When `due` could next return a frame: the session's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.paused {
            return None;
        }
        self.outgoing.front().map(|h| h.last_sent + self.rto)
    }

    pub fn receive(&mut self, message: ClientMessage, now: Instant) -> Received {
        let mut out = Received::default();
        match message.message_type.as_str() {
            types::ACKNOWLEDGE => {
                self.paused = false;
                self.on_ack(&message, now);
            }
            types::PAUSE_PUBLICATION => self.paused = true,
            types::START_PUBLICATION => self.paused = false,
            types::INPUT_STREAM_DATA | types::OUTPUT_STREAM_DATA => {
                self.paused = false;
                self.on_stream(message, &mut out);
            }
            _ => out.control.push(message),
        }
        out
    }

    fn on_ack(&mut self, message: &ClientMessage, now: Instant) {
        let Ok(ack) = serde_json::from_slice::<Acknowledge>(&message.payload) else {
            tracing::debug!("ignoring an acknowledge whose payload is not an ack");
            return;
        };
        // Matched by sequence number only, as both AWS peers do.
        if let Some(pos) = self
            .outgoing
            .iter()
            .position(|u| u.sequence_number == ack.sequence_number)
            && let Some(entry) = self.outgoing.remove(pos)
        {
            self.update_rto(now.duration_since(entry.last_sent));
        }
    }

    fn update_rto(&mut self, sample: Duration) {
        let diff = self.rtt.abs_diff(sample);
        self.rttvar = self.rttvar * 3 / 4 + diff / 4;
        self.rtt = self.rtt * 7 / 8 + sample / 8;
        self.rto = (self.rtt + (self.rttvar * 4).max(MIN_RTO_VARIANCE)).min(MAX_RTO);
    }

    fn on_stream(&mut self, message: ClientMessage, out: &mut Received) {
        let seq = message.sequence_number;
        if seq < self.next_expected {
            // A duplicate: its ack was probably lost. Ack again so the peer stops resending.
            out.replies.push(ack_frame(&message));
            return;
        }
        if seq > self.next_expected {
            if self.incoming.len() < self.limits.incoming_capacity {
                out.replies.push(ack_frame(&message));
                self.incoming.insert(seq, message);
            }
            return;
        }
        out.replies.push(ack_frame(&message));
        out.delivered.push(message);
        self.next_expected += 1;
        while let Some(next) = self.incoming.remove(&self.next_expected) {
            out.delivered.push(next);
            self.next_expected += 1;
        }
    }
}

pub fn ack_frame(message: &ClientMessage) -> Bytes {
    let ack = Acknowledge {
        message_type: message.message_type.clone(),
        message_id: message.message_id.to_string(),
        sequence_number: message.sequence_number,
        is_sequential: true,
    };
    let payload = serde_json::to_vec(&ack).unwrap_or_default();
    ClientMessage::new(types::ACKNOWLEDGE, 0, 3, PayloadType::Null, payload)
        .encode()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(frame: &Bytes) -> ClientMessage {
        ClientMessage::decode(frame).expect("our own frames decode")
    }

    /// Frames from an agent, numbered 0..n.
    fn agent_frames(n: usize) -> Vec<ClientMessage> {
        let mut agent = Reliable::new(Role::Agent);
        let now = Instant::now();
        (0..n)
            .map(|i| decode(&agent.send(PayloadType::Output, format!("m{i}"), now)))
            .collect()
    }

    fn texts(messages: &[ClientMessage]) -> Vec<String> {
        messages
            .iter()
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
            .collect()
    }

    #[test]
    fn in_order_messages_are_delivered_and_acked() {
        let mut client = Reliable::new(Role::Client);
        let frames = agent_frames(2);
        let now = Instant::now();
        let r = client.receive(frames[0].clone(), now);
        assert_eq!(texts(&r.delivered), ["m0"]);
        let ack = decode(&r.replies[0]);
        assert_eq!(ack.message_type, types::ACKNOWLEDGE);
        let body: Acknowledge = serde_json::from_slice(&ack.payload).expect("ack json");
        assert_eq!(body.sequence_number, 0);
        assert_eq!(body.message_id, frames[0].message_id.to_string());
    }

    #[test]
    fn out_of_order_is_buffered_then_drained_in_order() {
        let mut client = Reliable::new(Role::Client);
        let f = agent_frames(4);
        let now = Instant::now();
        assert!(client.receive(f[2].clone(), now).delivered.is_empty());
        assert!(client.receive(f[1].clone(), now).delivered.is_empty());
        let r = client.receive(f[0].clone(), now);
        assert_eq!(texts(&r.delivered), ["m0", "m1", "m2"]);
        assert_eq!(texts(&client.receive(f[3].clone(), now).delivered), ["m3"]);
    }

    #[test]
    fn duplicates_are_reacked_and_dropped() {
        let mut client = Reliable::new(Role::Client);
        let f = agent_frames(1);
        let now = Instant::now();
        client.receive(f[0].clone(), now);
        let again = client.receive(f[0].clone(), now);
        assert!(again.delivered.is_empty());
        assert_eq!(again.replies.len(), 1, "a duplicate is acked again");
    }

    #[tokio::test(start_paused = true)]
    async fn head_is_resent_after_rto_until_acked() {
        let mut client = Reliable::new(Role::Client);
        let start = Instant::now();
        let first = client.send(PayloadType::Output, "a", start);
        client.send(PayloadType::Output, "b", start);
        assert_eq!(client.due(start), Ok(None));
        let later = start + INITIAL_RTO;
        assert_eq!(client.due(later), Ok(Some(first.clone())), "only the head");
        assert_eq!(client.due(later), Ok(None), "not twice within one RTO");

        // The agent acks the head: the next one becomes due, and the RTO adapts.
        let mut agent = Reliable::new(Role::Agent);
        let r = agent.receive(decode(&first), later);
        client.receive(decode(&r.replies[0]), later + Duration::from_millis(50));
        assert_eq!(client.unacked(), 1);
        assert!(client.rto() < INITIAL_RTO, "{:?}", client.rto());
    }

    #[test]
    fn resend_all_returns_every_unacked_frame_in_order() {
        let mut client = Reliable::new(Role::Client);
        let now = Instant::now();
        let a = client.send(PayloadType::Output, "a", now);
        let b = client.send(PayloadType::Output, "b", now);
        assert_eq!(client.resend_all(now + INITIAL_RTO), vec![a, b]);
        assert_eq!(client.due(now + INITIAL_RTO), Ok(None), "just resent");
    }

    #[test]
    fn due_all_resends_every_expired_frame() {
        let mut agent = Reliable::new(Role::Agent);
        let now = Instant::now();
        let a = agent.send(PayloadType::Output, "a", now);
        let b = agent.send(PayloadType::Output, "b", now + Duration::from_millis(50));
        assert!(agent.due_all(now).is_empty());
        assert_eq!(agent.next_deadline_any(), Some(now + INITIAL_RTO));
        assert_eq!(agent.due_all(now + MAX_RTO), vec![a, b]);
    }

    #[test]
    fn gives_up_after_the_limit() {
        let limits = Limits {
            give_up_after: 2,
            ..Limits::for_role(Role::Client)
        };
        let mut client = Reliable::with_limits(Role::Client, limits);
        let mut now = Instant::now();
        client.send(PayloadType::Output, "x", now);
        for _ in 0..2 {
            now += MAX_RTO;
            assert!(matches!(client.due(now), Ok(Some(_))));
        }
        now += MAX_RTO;
        assert_eq!(client.due(now), Err(ReliabilityError::GaveUp(0, 2)));
    }

    #[test]
    fn paused_channel_resends_nothing() {
        let mut agent = Reliable::new(Role::Agent);
        let now = Instant::now();
        agent.send(PayloadType::Output, "x", now);
        let pause = ClientMessage::new(types::PAUSE_PUBLICATION, 0, 3, PayloadType::Null, "");
        agent.receive(pause, now);
        assert!(agent.is_paused());
        assert_eq!(agent.due(now + MAX_RTO), Ok(None));
        let start = ClientMessage::new(types::START_PUBLICATION, 0, 3, PayloadType::Null, "");
        agent.receive(start, now);
        assert!(matches!(agent.due(now + MAX_RTO), Ok(Some(_))));
    }

    #[test]
    fn full_client_buffer_evicts_the_oldest() {
        let limits = Limits {
            outgoing_capacity: 2,
            ..Limits::for_role(Role::Client)
        };
        let mut client = Reliable::with_limits(Role::Client, limits);
        let now = Instant::now();
        client.send(PayloadType::Output, "a", now);
        let b = client.send(PayloadType::Output, "b", now);
        client.send(PayloadType::Output, "c", now);
        assert_eq!(client.unacked(), 2);
        assert_eq!(client.due(now + MAX_RTO), Ok(Some(b)));
    }

    #[test]
    fn unknown_types_are_handed_up_not_fatal() {
        let mut client = Reliable::new(Role::Client);
        let odd = ClientMessage::new("agent_job_reply", 0, 0, PayloadType::Other(99), "?");
        let r = client.receive(odd, Instant::now());
        assert_eq!(r.control.len(), 1);
        assert!(r.delivered.is_empty());
    }
}
