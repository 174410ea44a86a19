//! Screens saved along a replay so that a seek starts from the nearest saved screen instead of
//! re-feeding the log from its start: on a 50 MB log a seek costs at most one interval of bytes,
//! not the whole log. The tab saves them as it plays; its loader task builds them over the whole
//! log once it has loaded ([`Keyframes::build`]).
//!
//! A keyframe is taken after a whole frame (each ends with a line break), where the byte parser
//! is normally between sequences, so restoring one and feeding the following frames gives the
//! same screen as feeding everything (tested in `replay.rs`). The one exception: an escape
//! sequence cut across two log events is cut at the keyframe too, and its tail prints as text.
//! Memory stays bounded: past [`MAX_KEYFRAMES`] every other keyframe is dropped and the
//! interval doubles.

use crate::replay::Timeline;
use crate::terminal::TermScreen;
use crate::terminal::screen::Snapshot;

/// Bytes fed between keyframes at first.
pub const FIRST_EVERY: usize = 256 * 1024;
/// At most this many screens are kept (each rows × cols × 64 bytes or so).
pub const MAX_KEYFRAMES: usize = 64;

#[derive(Debug, Clone)]
pub struct Keyframes {
    every: usize,
    /// Bytes fed since the last keyframe (or since a restore).
    since: usize,
    /// (frames shown, the screen after them), in increasing order of frames.
    list: Vec<(usize, Snapshot)>,
}

impl Default for Keyframes {
    fn default() -> Self {
        Keyframes::every(FIRST_EVERY)
    }
}

impl Keyframes {
    /// Keyframes at least `bytes` apart (tests use small intervals).
    pub fn every(bytes: usize) -> Self {
        Keyframes {
            every: bytes.max(1),
            since: 0,
            list: Vec::new(),
        }
    }

    /// Keyframes over the whole of `timeline` on a `rows`×`cols` screen, built off the event
    /// loop right after a log loads so that even a first jump far forward is cheap. Stops early
    /// (returning `None`) when `stop` says so, checked every few hundred frames.
    pub fn build(
        timeline: &Timeline,
        (rows, cols): (u16, u16),
        every: usize,
        stop: impl Fn() -> bool,
    ) -> Option<Keyframes> {
        let mut screen = TermScreen::without_scrollback(rows, cols);
        let mut keyframes = Keyframes::every(every);
        for (i, frame) in timeline.frames().iter().enumerate() {
            if i % 256 == 0 && stop() {
                return None;
            }
            let bytes = frame.terminal_bytes();
            // A reset (an emulator failure) happens here as it does in playback: same screens.
            let _ = screen.process(bytes.as_bytes());
            keyframes.fed(i + 1, bytes.len(), &screen);
        }
        Some(keyframes)
    }

    /// Frames the last keyframe has shown (0 without any).
    pub fn reach(&self) -> usize {
        self.list.last().map_or(0, |(at, _)| *at)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets every keyframe (a new log, or a new screen size).
    pub fn clear(&mut self) {
        self.list.clear();
        self.since = 0;
    }

    /// `shown` frames have now been fed, the last of them `bytes` long: keeps the screen when an
    /// interval has passed and no later keyframe exists yet.
    pub fn fed(&mut self, shown: usize, bytes: usize, screen: &TermScreen) {
        self.since += bytes;
        if self.since < self.every || self.list.last().is_some_and(|(at, _)| *at >= shown) {
            return;
        }
        self.since = 0;
        self.list.push((shown, screen.snapshot()));
        if self.list.len() > MAX_KEYFRAMES {
            let mut i = 0;
            self.list.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            self.every = self.every.saturating_mul(2);
        }
    }

    /// How many frames the keyframe nearest below `until` has shown, if any.
    pub fn nearest(&self, until: usize) -> Option<usize> {
        let i = self.list.partition_point(|(at, _)| *at <= until);
        self.list.get(i.checked_sub(1)?).map(|(at, _)| *at)
    }

    /// The screen after the most frames, at most `until`: where a seek to `until` starts.
    pub fn restore(&mut self, until: usize) -> Option<(usize, TermScreen)> {
        self.since = 0;
        let i = self.list.partition_point(|(at, _)| *at <= until);
        let (at, snap) = self.list.get(i.checked_sub(1)?)?;
        Some((*at, TermScreen::restore(snap)))
    }
}
