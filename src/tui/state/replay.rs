//! A replay tab: a session's log played through the same terminal screen as live shells. A task
//! reads the log (`tui::tasks::spawn_replay`); the app's frame tick advances the position
//! ([`ReplayTab::advance`]), and the screen replays frames up to it (rebuilt on a seek back).

use std::sync::Arc;
use std::time::Duration;

use crate::replay::{Match, Timeline};
use crate::terminal::TermScreen;

/// Speeds `+` and `-` step through.
pub const SPEEDS: [f64; 6] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
/// What `←` and `→` move by.
pub const SEEK_STEP: Duration = Duration::from_secs(5);
/// Idle stretches at least this long show on the timeline.
pub const MIN_GAP: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct ReplayTab {
    pub id: u64,
    pub session_id: String,
    /// The host's name, else its instance id.
    pub host: String,
    pub who: String,
    /// Events read so far while loading.
    pub loaded_events: usize,
    pub timeline: Option<Arc<Timeline>>,
    pub error: Option<String>,
    pub position: Duration,
    pub playing: bool,
    speed: usize,
    pub screen: TermScreen,
    /// Frames of the timeline the screen has processed.
    shown: usize,
    /// `/` is being typed.
    pub searching: bool,
    pub query: String,
    pub matches: Vec<Match>,
    /// The match last jumped to.
    pub current_match: Option<usize>,
    /// When the frame tick last advanced the position (None: paused).
    pub ticked: Option<std::time::Instant>,
}

impl ReplayTab {
    pub fn new(
        id: u64,
        session_id: String,
        host: String,
        who: String,
        rows: u16,
        cols: u16,
    ) -> Self {
        ReplayTab {
            id,
            session_id,
            host,
            who,
            loaded_events: 0,
            timeline: None,
            error: None,
            position: Duration::ZERO,
            playing: true,
            speed: 1,
            screen: TermScreen::new(rows, cols),
            shown: 0,
            searching: false,
            query: String::new(),
            matches: Vec::new(),
            current_match: None,
            ticked: None,
        }
    }

    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed + 1).min(SPEEDS.len() - 1);
    }

    pub fn slower(&mut self) {
        self.speed = self.speed.saturating_sub(1);
    }

    pub fn loaded(&mut self, timeline: Timeline) {
        self.timeline = Some(Arc::new(timeline));
        self.position = Duration::ZERO;
        self.shown = 0;
        self.sync();
    }

    pub fn duration(&self) -> Duration {
        self.timeline
            .as_ref()
            .map_or(Duration::ZERO, |t| t.duration())
    }

    pub fn finished(&self) -> bool {
        self.timeline.is_some() && self.position >= self.duration()
    }

    /// `elapsed` of wall time at the current speed; stops at the end. True if anything changed.
    pub fn advance(&mut self, elapsed: Duration) -> bool {
        if !self.playing || self.timeline.is_none() {
            return false;
        }
        let to = self.position + elapsed.mul_f64(self.speed());
        self.seek(to);
        if self.finished() {
            self.playing = false;
        }
        true
    }

    /// Space: pause, resume, or play again from the start once finished.
    pub fn toggle(&mut self) {
        if self.finished() {
            self.seek(Duration::ZERO);
            self.playing = true;
        } else {
            self.playing = !self.playing;
        }
    }

    pub fn seek_by(&mut self, forward: bool) {
        let to = if forward {
            self.position + SEEK_STEP
        } else {
            self.position.saturating_sub(SEEK_STEP)
        };
        self.seek(to);
    }

    /// Moves to `t` (clamped to the log) and brings the screen there: the frames in between,
    /// or, going back, every frame from the start.
    pub fn seek(&mut self, t: Duration) {
        let Some(timeline) = self.timeline.clone() else {
            return;
        };
        self.position = t.min(timeline.duration());
        let until = timeline.frames_until(self.position);
        if until < self.shown {
            let (rows, cols) = self.screen.size();
            self.screen = TermScreen::new(rows, cols);
            self.shown = 0;
        }
        for frame in &timeline.frames()[self.shown..until] {
            self.screen.process(frame.terminal_bytes().as_bytes());
        }
        self.shown = until;
    }

    /// Re-plays up to the position (after a resize).
    pub fn sync(&mut self) {
        let t = self.position;
        self.shown = usize::MAX;
        self.seek(t);
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        if self.screen.size() != (rows, cols) {
            self.screen = TermScreen::new(rows, cols);
            self.sync();
        }
    }

    /// To the next command typed after the position; false if there is none.
    pub fn next_command(&mut self) -> bool {
        let Some(at) = self
            .timeline
            .as_ref()
            .and_then(|t| t.next_command(self.position).map(|l| l.at))
        else {
            return false;
        };
        self.seek(at);
        true
    }

    pub fn set_query(&mut self, query: String) {
        self.matches = self
            .timeline
            .as_ref()
            .map(|t| t.search(&query))
            .unwrap_or_default();
        self.query = query;
        self.current_match = None;
    }

    /// To the next (or previous) match after (before) the position, wrapping; paused there.
    pub fn goto_match(&mut self, forward: bool) -> bool {
        if self.matches.is_empty() {
            return false;
        }
        let n = self.matches.len();
        let i = match (self.current_match, forward) {
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
            (None, true) => self
                .matches
                .iter()
                .position(|m| m.at >= self.position)
                .unwrap_or(0),
            (None, false) => self
                .matches
                .iter()
                .rposition(|m| m.at <= self.position)
                .unwrap_or(n - 1),
        };
        self.current_match = Some(i);
        self.playing = false;
        self.seek(self.matches[i].at);
        true
    }
}
