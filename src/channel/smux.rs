//! smux protocol version 1 (ssm-protocol.md §7): the framing port sessions use in mux mode, and a
//! small multiplexer over a byte stream. A frame is `version (1) | cmd (1) | length (u16 LE) |
//! stream id (u32 LE) | data`; cmds SYN 0, FIN 1, PSH 2, NOP 3. The client opens odd stream ids
//! from 1. Keepalive is off (NOPs are never sent and are ignored when received).
//!
//! The multiplexer is transport-agnostic: bytes from the peer go in through
//! [`MuxIo::incoming`], bytes for the peer come out of [`MuxIo::outgoing`]. Version 1 has no
//! per-stream flow control: a stream whose reader is slow holds back the whole session, bounded
//! by [`STREAM_QUEUE`] chunks per stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 8;
/// The largest data part of one frame (smux default MaxFrameSize).
pub const MAX_FRAME_SIZE: usize = 32768;
/// Data chunks buffered per stream before the session stops reading.
pub const STREAM_QUEUE: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Syn,
    Fin,
    Psh,
    Nop,
}

impl Cmd {
    pub fn code(self) -> u8 {
        match self {
            Cmd::Syn => 0,
            Cmd::Fin => 1,
            Cmd::Psh => 2,
            Cmd::Nop => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Cmd> {
        Some(match code {
            0 => Cmd::Syn,
            1 => Cmd::Fin,
            2 => Cmd::Psh,
            3 => Cmd::Nop,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub cmd: Cmd,
    pub stream: u32,
    pub data: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmuxError {
    #[error("smux: unsupported protocol version {0}")]
    Version(u8),
    #[error("smux: unknown command {0}")]
    Cmd(u8),
    #[error("smux: the session is closed")]
    Closed,
}

impl Frame {
    pub fn new(cmd: Cmd, stream: u32, data: impl Into<Bytes>) -> Frame {
        Frame {
            cmd,
            stream,
            data: data.into(),
        }
    }

    /// Appends the wire form. `data` must not exceed `u16::MAX` bytes.
    pub fn encode_into(&self, out: &mut BytesMut) {
        debug_assert!(self.data.len() <= usize::from(u16::MAX));
        out.reserve(HEADER_LEN + self.data.len());
        out.put_u8(VERSION);
        out.put_u8(self.cmd.code());
        out.put_u16_le(u16::try_from(self.data.len()).unwrap_or(u16::MAX));
        out.put_u32_le(self.stream);
        out.put_slice(&self.data);
    }

    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode_into(&mut out);
        out.freeze()
    }
}

/// Reassembles frames from arbitrarily cut byte chunks.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SmuxError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        if self.buf[0] != VERSION {
            return Err(SmuxError::Version(self.buf[0]));
        }
        let cmd = Cmd::from_code(self.buf[1]).ok_or(SmuxError::Cmd(self.buf[1]))?;
        let len = usize::from(u16::from_le_bytes([self.buf[2], self.buf[3]]));
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let stream = u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
        self.buf.advance(HEADER_LEN);
        let data = self.buf.split_to(len).freeze();
        Ok(Some(Frame { cmd, stream, data }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Opens odd stream ids (the plugin's side).
    Client,
    /// Accepts streams (the agent's side).
    Server,
}

type Streams = Arc<Mutex<HashMap<u32, mpsc::Sender<Bytes>>>>;

/// Opens and accepts streams. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Mux {
    streams: Streams,
    out: mpsc::Sender<Bytes>,
    next_id: Arc<Mutex<u32>>,
}

/// The transport side of a [`Mux`]: feed it the peer's bytes, forward what it produces.
#[derive(Debug)]
pub struct MuxIo {
    pub incoming: mpsc::Sender<Bytes>,
    pub outgoing: mpsc::Receiver<Bytes>,
}

impl Mux {
    /// A multiplexer and its transport ends; a task reads `incoming` until it closes. The
    /// returned receiver yields streams the peer opens.
    pub fn new(side: Side) -> (Mux, MuxIo, mpsc::Receiver<Stream>) {
        let (in_tx, in_rx) = mpsc::channel(256);
        let (out_tx, out_rx) = mpsc::channel(256);
        let (accept_tx, accept_rx) = mpsc::channel(64);
        let mux = Mux {
            streams: Arc::default(),
            out: out_tx,
            next_id: Arc::new(Mutex::new(match side {
                Side::Client => 1,
                Side::Server => 2,
            })),
        };
        tokio::spawn(mux.clone().read_loop(in_rx, accept_tx));
        (
            mux,
            MuxIo {
                incoming: in_tx,
                outgoing: out_rx,
            },
            accept_rx,
        )
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<u32, mpsc::Sender<Bytes>>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, id: u32) -> Stream {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        self.streams().insert(id, tx);
        Stream {
            id,
            rx,
            out: self.out.clone(),
            fin_sent: false,
        }
    }

    /// Opens a stream (SYN).
    pub async fn open(&self) -> Result<Stream, SmuxError> {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            let id = *next;
            *next = next.wrapping_add(2);
            id
        };
        let stream = self.register(id);
        self.out
            .send(Frame::new(Cmd::Syn, id, Bytes::new()).encode())
            .await
            .map_err(|_| SmuxError::Closed)?;
        Ok(stream)
    }

    /// Streams open right now.
    pub fn open_streams(&self) -> usize {
        self.streams().len()
    }

    async fn read_loop(self, mut incoming: mpsc::Receiver<Bytes>, accept: mpsc::Sender<Stream>) {
        let mut decoder = Decoder::default();
        while let Some(bytes) = incoming.recv().await {
            decoder.push(&bytes);
            loop {
                let frame = match decoder.next_frame() {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::debug!(%error, "smux: ending the session");
                        self.streams().clear();
                        return;
                    }
                };
                match frame.cmd {
                    Cmd::Syn => {
                        let stream = self.register(frame.stream);
                        let _ = accept.send(stream).await;
                    }
                    Cmd::Psh => {
                        let tx = self.streams().get(&frame.stream).cloned();
                        if let Some(tx) = tx
                            && !frame.data.is_empty()
                            && tx.send(frame.data).await.is_err()
                        {
                            // The reader is gone; nothing more to deliver on this stream.
                            self.streams().remove(&frame.stream);
                        }
                    }
                    Cmd::Fin => {
                        self.streams().remove(&frame.stream);
                    }
                    Cmd::Nop => {}
                }
            }
        }
        self.streams().clear();
    }
}

/// One stream: read the peer's data in order, write yours, `close` sends FIN.
#[derive(Debug)]
pub struct Stream {
    id: u32,
    rx: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<Bytes>,
    fin_sent: bool,
}

impl Stream {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The next chunk from the peer; `None` after its FIN (or when the session ended).
    pub async fn read(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    /// Sends `data` as PSH frames of at most [`MAX_FRAME_SIZE`].
    pub async fn write(&mut self, data: &[u8]) -> Result<(), SmuxError> {
        write_frames(&self.out, self.id, data).await
    }

    /// Sends FIN once.
    pub async fn close(&mut self) {
        if !self.fin_sent {
            self.fin_sent = true;
            let _ = self
                .out
                .send(Frame::new(Cmd::Fin, self.id, Bytes::new()).encode())
                .await;
        }
    }

    /// Copies both ways between this stream and `io` until both directions ended; each side's
    /// EOF closes the other's write half. Returns (bytes to the peer, bytes from the peer).
    pub async fn splice<T>(self, io: T) -> (u64, u64)
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.splice_metered(io, |_| {}, |_| {}).await
    }

    /// [`Stream::splice`], reporting each chunk as it goes (`up`: from `io` to the peer,
    /// `down`: from the peer to `io`), so counters are live while the connection is open.
    pub async fn splice_metered<T>(
        self,
        io: T,
        up_meter: impl Fn(u64),
        down_meter: impl Fn(u64),
    ) -> (u64, u64)
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let Stream {
            id, mut rx, out, ..
        } = self;
        let (mut read, mut write) = tokio::io::split(io);
        let up = async {
            let mut sent = 0u64;
            let mut buf = vec![0u8; MAX_FRAME_SIZE];
            loop {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if write_frames(&out, id, &buf[..n]).await.is_err() {
                            break;
                        }
                        sent += n as u64;
                        up_meter(n as u64);
                    }
                }
            }
            let _ = out
                .send(Frame::new(Cmd::Fin, id, Bytes::new()).encode())
                .await;
            sent
        };
        let down = async {
            let mut got = 0u64;
            while let Some(chunk) = rx.recv().await {
                if write.write_all(&chunk).await.is_err() {
                    break;
                }
                got += chunk.len() as u64;
                down_meter(chunk.len() as u64);
            }
            let _ = write.shutdown().await;
            // Keep draining so one dead local reader cannot stall the session.
            while rx.recv().await.is_some() {}
            got
        };
        tokio::join!(up, down)
    }
}

async fn write_frames(out: &mpsc::Sender<Bytes>, id: u32, data: &[u8]) -> Result<(), SmuxError> {
    for part in data.chunks(MAX_FRAME_SIZE) {
        out.send(Frame::new(Cmd::Psh, id, Bytes::copy_from_slice(part)).encode())
            .await
            .map_err(|_| SmuxError::Closed)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_encode_little_endian() {
        let f = Frame::new(Cmd::Psh, 3, Bytes::from_static(b"hi"));
        assert_eq!(&f.encode()[..], &[1, 2, 2, 0, 3, 0, 0, 0, b'h', b'i']);
        let syn = Frame::new(Cmd::Syn, 0x0102_0304, Bytes::new());
        assert_eq!(&syn.encode()[..], &[1, 0, 0, 0, 4, 3, 2, 1]);
        let big = Frame::new(Cmd::Psh, 1, vec![7u8; 300]);
        assert_eq!(&big.encode()[..4], &[1, 2, 0x2c, 0x01]);
    }

    #[test]
    fn decoder_reassembles_frames_cut_anywhere() {
        let wire: Vec<u8> = vec![
            1, 0, 0, 0, 1, 0, 0, 0, // SYN 1
            1, 2, 3, 0, 1, 0, 0, 0, b'a', b'b', b'c', // PSH 1 "abc"
            1, 3, 0, 0, 0, 0, 0, 0, // NOP
            1, 1, 0, 0, 1, 0, 0, 0, // FIN 1
        ];
        for cut in 1..wire.len() {
            let mut d = Decoder::default();
            let mut frames = Vec::new();
            for piece in [&wire[..cut], &wire[cut..]] {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            assert_eq!(
                frames,
                [
                    Frame::new(Cmd::Syn, 1, Bytes::new()),
                    Frame::new(Cmd::Psh, 1, Bytes::from_static(b"abc")),
                    Frame::new(Cmd::Nop, 0, Bytes::new()),
                    Frame::new(Cmd::Fin, 1, Bytes::new()),
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn decoder_rejects_other_versions_and_commands() {
        let mut d = Decoder::default();
        d.push(&[2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(SmuxError::Version(2)));
        let mut d = Decoder::default();
        d.push(&[1, 4, 0, 0, 1, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(SmuxError::Cmd(4)));
    }

    /// Wires two muxes together through their transport ends.
    fn pipe(a: MuxIo, b: MuxIo) {
        let MuxIo {
            incoming: a_in,
            outgoing: mut a_out,
        } = a;
        let MuxIo {
            incoming: b_in,
            outgoing: mut b_out,
        } = b;
        tokio::spawn(async move {
            while let Some(x) = a_out.recv().await {
                // Cut frames apart as the data channel does.
                for piece in x.chunks(1000) {
                    let _ = b_in.send(Bytes::copy_from_slice(piece)).await;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(x) = b_out.recv().await {
                let _ = a_in.send(x).await;
            }
        });
    }

    #[tokio::test]
    async fn client_opens_odd_streams_and_data_flows_both_ways() {
        let (client, cio, _) = Mux::new(Side::Client);
        let (_server, sio, mut accept) = Mux::new(Side::Server);
        pipe(cio, sio);
        let mut s1 = client.open().await.unwrap();
        let mut s3 = client.open().await.unwrap();
        assert_eq!((s1.id(), s3.id()), (1, 3));
        let mut a1 = accept.recv().await.unwrap();
        let mut a3 = accept.recv().await.unwrap();
        assert_eq!((a1.id(), a3.id()), (1, 3));
        let big = vec![9u8; MAX_FRAME_SIZE + 5];
        s3.write(&big).await.unwrap();
        s1.write(b"one").await.unwrap();
        s1.close().await;
        let mut got = Vec::new();
        while got.len() < big.len() {
            got.extend_from_slice(&a3.read().await.unwrap());
        }
        assert_eq!(got, big);
        assert_eq!(a1.read().await.unwrap(), Bytes::from_static(b"one"));
        assert_eq!(a1.read().await, None, "FIN ends the stream");
        a3.write(b"back").await.unwrap();
        assert_eq!(s3.read().await.unwrap(), Bytes::from_static(b"back"));
    }
}
