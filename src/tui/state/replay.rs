//! A replay tab: a session's log played through the same terminal screen as live shells. A task
//! reads the log (`tui::tasks::spawn_replay`); the app's frame tick advances the position
//! ([`ReplayTab::advance`]), and the screen replays frames up to it. A seek back starts from the
//! nearest saved screen ([`Keyframes`]), not from the log's start.

use std::sync::Arc;
use std::time::Duration;

use super::keyframes::Keyframes;
use crate::replay::{Gap, Match, Timeline};
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
    /// The timeline's idle stretches of at least `MIN_GAP`: fixed once loaded, drawn each frame.
    pub gaps: Vec<Gap>,
    pub error: Option<String>,
    pub position: Duration,
    pub playing: bool,
    speed: usize,
    pub screen: TermScreen,
    /// Frames of the timeline the screen has processed.
    shown: usize,
    keyframes: Keyframes,
    /// Bytes fed to the screen by the last seek (how much a seek back cost).
    pub last_fed: usize,
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
            gaps: Vec::new(),
            error: None,
            position: Duration::ZERO,
            playing: true,
            speed: 1,
            screen: TermScreen::without_scrollback(rows, cols),
            shown: 0,
            keyframes: Keyframes::default(),
            last_fed: 0,
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

    pub fn loaded(&mut self, timeline: impl Into<Arc<Timeline>>) {
        let timeline = timeline.into();
        self.gaps = timeline.gaps(MIN_GAP);
        self.timeline = Some(timeline);
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

    /// Keyframes `bytes` apart instead of the default (tests).
    pub fn set_keyframe_interval(&mut self, bytes: usize) {
        self.keyframes = Keyframes::every(bytes);
    }

    /// Keyframes built for the whole log off the event loop: kept if they were built for this
    /// screen's size and reach further than the ones saved while playing. True if kept.
    pub fn adopt_keyframes(&mut self, size: (u16, u16), keyframes: Keyframes) -> bool {
        if self.screen.size() != size || keyframes.reach() <= self.keyframes.reach() {
            return false;
        }
        self.keyframes = keyframes;
        true
    }

    /// Screens saved so far for seeking back.
    pub fn keyframes(&self) -> usize {
        self.keyframes.len()
    }

    /// Moves to `t` (clamped to the log) and brings the screen there: the frames after the
    /// nearest keyframe when going back or jumping past one, else the frames in between.
    pub fn seek(&mut self, t: Duration) {
        let Some(timeline) = self.timeline.clone() else {
            return;
        };
        self.position = t.min(timeline.duration());
        let until = timeline.frames_until(self.position);
        // Back, or forward past a keyframe (a part played before): start from a saved screen.
        if until < self.shown
            || self
                .keyframes
                .nearest(until)
                .is_some_and(|at| at > self.shown)
        {
            let (rows, cols) = self.screen.size();
            (self.shown, self.screen) = self
                .keyframes
                .restore(until)
                .unwrap_or_else(|| (0, TermScreen::without_scrollback(rows, cols)));
        }
        self.last_fed = 0;
        for (i, frame) in timeline.frames()[self.shown..until].iter().enumerate() {
            let bytes = frame.terminal_bytes();
            // A reset is rare and the replay keeps going from a blank screen; the next frames
            // draw what follows, as they did for the live session's terminal.
            let _ = self.screen.process(bytes.as_bytes());
            self.last_fed += bytes.len();
            self.keyframes
                .fed(self.shown + i + 1, bytes.len(), &self.screen);
        }
        self.shown = until;
    }

    /// Re-plays up to the position from the start, forgetting keyframes (a new log or size).
    pub fn sync(&mut self) {
        let t = self.position;
        let (rows, cols) = self.screen.size();
        self.screen = TermScreen::without_scrollback(rows, cols);
        self.keyframes.clear();
        self.shown = 0;
        self.seek(t);
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        if self.screen.size() != (rows, cols) {
            self.screen = TermScreen::without_scrollback(rows, cols);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::replay::LogEvent;

    /// 600 frames a second apart: coloured lines, a scroll region, the alternate screen and a
    /// saved cursor in places, so a keyframe must keep more than the text.
    fn long_timeline() -> Timeline {
        let events: Vec<LogEvent> = (0..600u32)
            .map(|i| {
                let line = match i % 7 {
                    0 => format!("\x1b[3{}mline {i}\x1b[0m", i % 8),
                    1 => format!("\x1b[2;6r\x1b[4;1Hregion {i}"),
                    2 => "\x1b[r\x1b7".to_owned(),
                    3 if i % 5 == 0 => format!("\x1b[?1049hfull screen {i}"),
                    4 if i % 5 == 1 => "\x1b[?1049l".to_owned(),
                    5 => format!("\x1b8 back {i}"),
                    _ => format!("ssm-user@web-1:~$ echo {i}"),
                };
                let t = chrono::DateTime::from_timestamp(1_800_000_000 + i64::from(i), 0)
                    .unwrap()
                    .to_rfc3339();
                LogEvent {
                    timestamp: 0,
                    message: serde_json::json!({
                        "eventVersion": "1.0", "eventTime": t, "sessionData": [line],
                    })
                    .to_string(),
                }
            })
            .collect();
        Timeline::from_events(&events)
    }

    fn tab(timeline: &Timeline, every: usize) -> ReplayTab {
        let mut r = ReplayTab::new(1, "s".into(), "h".into(), "w".into(), 12, 40);
        r.set_keyframe_interval(every);
        r.loaded(timeline.clone());
        r
    }

    #[test]
    fn seeking_back_gives_the_screen_of_playing_from_the_start() {
        let timeline = long_timeline();
        let total: usize = timeline
            .frames()
            .iter()
            .map(|f| f.terminal_bytes().len())
            .sum();
        let mut r = tab(&timeline, 1_000);
        r.seek(timeline.duration());
        assert!(r.keyframes() > 5, "{} keyframes", r.keyframes());
        for secs in [590, 433, 300, 299, 120, 7, 0, 555] {
            let t = Duration::from_secs(secs);
            r.seek(t);
            let mut fresh = tab(&timeline, usize::MAX);
            fresh.seek(t);
            assert_eq!(fresh.keyframes(), 0);
            assert_eq!(
                r.screen.screen().contents_formatted(),
                fresh.screen.screen().contents_formatted(),
                "screen at {secs} s"
            );
            assert_eq!(
                r.screen.screen().cursor_position(),
                fresh.screen.screen().cursor_position(),
                "cursor at {secs} s"
            );
        }
        // A step back re-feeds about one interval, not the log up to there.
        r.seek(timeline.duration());
        r.seek(Duration::from_secs(580));
        assert!(
            r.last_fed < 2_000 && r.last_fed < total / 10,
            "fed {} of {total} bytes",
            r.last_fed
        );
        // A jump forward over a part played before starts from a keyframe too.
        r.seek(Duration::from_secs(10));
        r.seek(Duration::from_secs(590));
        assert!(r.last_fed < 2_000, "fed {} of {total} bytes", r.last_fed);
        let mut fresh = tab(&timeline, usize::MAX);
        fresh.seek(Duration::from_secs(590));
        assert_eq!(
            r.screen.screen().contents_formatted(),
            fresh.screen.screen().contents_formatted()
        );
    }

    #[test]
    fn keyframes_built_after_loading_make_a_first_jump_forward_cheap() {
        let timeline = long_timeline();
        let mut r = tab(&timeline, usize::MAX);
        let built = Keyframes::build(&timeline, (12, 40), 1_000, || false).unwrap();
        assert!(built.len() > 1);
        assert!(!r.adopt_keyframes((30, 40), built.clone()), "another size");
        assert!(r.adopt_keyframes((12, 40), built));
        r.seek(Duration::from_secs(590));
        let total: usize = timeline
            .frames()
            .iter()
            .map(|f| f.terminal_bytes().len())
            .sum();
        assert!(r.last_fed < total / 4, "fed {} of {total}", r.last_fed);
        let mut fresh = tab(&timeline, usize::MAX);
        fresh.seek(Duration::from_secs(590));
        assert_eq!(
            r.screen.screen().contents_formatted(),
            fresh.screen.screen().contents_formatted()
        );
        assert!(
            Keyframes::build(&timeline, (12, 40), 1_000, || true).is_none(),
            "stops"
        );
    }

    #[test]
    fn keyframes_stay_bounded_on_long_logs() {
        let timeline = long_timeline();
        let mut r = tab(&timeline, 10);
        r.seek(timeline.duration());
        assert!(
            r.keyframes() <= super::super::keyframes::MAX_KEYFRAMES && r.keyframes() > 0,
            "{}",
            r.keyframes()
        );
        // A resize replays from the start and forgets screens of the old size.
        r.resize(20, 60);
        assert_eq!(r.screen.size(), (20, 60));
        let mut fresh = ReplayTab::new(1, "s".into(), "h".into(), "w".into(), 20, 60);
        fresh.loaded(timeline.clone());
        fresh.seek(r.position);
        assert_eq!(
            r.screen.screen().contents_formatted(),
            fresh.screen.screen().contents_formatted()
        );
    }
}
