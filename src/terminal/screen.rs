//! A terminal tab's emulated screen: a vt100 parser sized to the tab, with scrollback.

use super::keys::KeyModes;

/// Most lines kept above the screen for scroll mode (narrow tabs).
pub const SCROLLBACK: usize = 5_000;
/// Fewest lines kept, however wide the tab.
pub const MIN_SCROLLBACK: usize = 500;
/// What one tab's scrollback may hold in memory. vt100 keeps every line at the full width, 32
/// bytes a cell, so 5,000 lines of a 200-column tab are 32 MB: ten such tabs were 400 MB of
/// resident memory (docs/performance.md; the goal is 150 MB with 10 tabs and 10k instances).
pub const SCROLLBACK_BYTES: usize = 6 * 1024 * 1024;
/// vt100's cell size (asserted by vt100 itself).
const CELL_BYTES: usize = 32;

/// Lines of scrollback a tab `cols` wide keeps: [`SCROLLBACK_BYTES`] worth, between
/// [`MIN_SCROLLBACK`] and [`SCROLLBACK`] (about 980 lines at 200 columns, 2,450 at 80).
pub fn scrollback_lines(cols: u16) -> usize {
    (SCROLLBACK_BYTES / (usize::from(cols.max(1)) * CELL_BYTES)).clamp(MIN_SCROLLBACK, SCROLLBACK)
}

/// The smallest screen emulated: vt100 0.16 panics on a line that wraps in a 1-row screen and on
/// a wide character in a 1-column one (found by tests/fuzz.rs), so a smaller pane gets a 2x2
/// screen, of which it shows what fits.
pub const MIN_SIZE: u16 = 2;

/// The emulator failed on some output and the screen was reset (the session goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the terminal emulator failed on this output and the screen was reset; the session goes on \
     (Ctrl-L redraws)"
)]
pub struct ScreenReset;

thread_local! {
    static CONTAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside a call whose panic is caught and recovered from: the console's
/// panic hook then leaves the terminal as it is (the console goes on) and prints nothing.
pub fn panic_is_contained() -> bool {
    CONTAINED.with(std::cell::Cell::get)
}

fn contain_panic<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result
}

pub struct TermScreen {
    parser: vt100::Parser,
}

impl std::fmt::Debug for TermScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, cols) = self.size();
        write!(f, "TermScreen({rows}x{cols})")
    }
}

/// A saved terminal state (see [`TermScreen::snapshot`]).
#[derive(Clone)]
pub struct Snapshot(vt100::Screen);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, cols) = self.0.size();
        write!(f, "Snapshot({rows}x{cols})")
    }
}

impl TermScreen {
    pub fn new(rows: u16, cols: u16) -> TermScreen {
        TermScreen {
            parser: vt100::Parser::new(
                rows.max(MIN_SIZE),
                cols.max(MIN_SIZE),
                scrollback_lines(cols),
            ),
        }
    }

    /// A screen that keeps no lines above it (replays: nothing scrolls back, and snapshots stay
    /// small).
    pub fn without_scrollback(rows: u16, cols: u16) -> TermScreen {
        TermScreen {
            parser: vt100::Parser::new(rows.max(1), cols.max(1), 0),
        }
    }

    /// The whole terminal state (both grids, cursor, modes, scroll region, scrollback) as a
    /// value that [`TermScreen::restore`] turns back into a screen.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.parser.screen().clone())
    }

    /// A screen in the state of `snapshot`. The byte parser starts fresh, so restore only at a
    /// point where the stream was not inside an escape sequence (e.g. after a whole frame).
    pub fn restore(snapshot: &Snapshot) -> TermScreen {
        let (rows, cols) = snapshot.0.size();
        let mut parser = vt100::Parser::new(rows, cols, 0);
        *parser.screen_mut() = snapshot.0.clone();
        TermScreen { parser }
    }

    /// Bytes from the remote shell. vt100 0.16 can panic on some screens (a wide character cut
    /// by a narrowing resize, then written over: docs/security.md); the session must outlive its
    /// emulator, so such a panic is caught and the screen starts again blank at the same size.
    pub fn process(&mut self, bytes: &[u8]) -> Result<(), ScreenReset> {
        if contain_panic(|| self.parser.process(bytes)).is_ok() {
            return Ok(());
        }
        let (rows, cols) = self.parser.screen().size();
        self.parser = vt100::Parser::new(rows, cols, scrollback_lines(cols));
        tracing::warn!("the terminal emulator failed on this output; the screen was reset");
        Err(ScreenReset)
    }

    /// (rows, cols).
    pub fn size(&self) -> (u16, u16) {
        self.parser.screen().size()
    }

    /// Resizes the emulated screen; the caller sends the same size to the remote PTY.
    /// Returns whether the size changed.
    pub fn resize(&mut self, rows: u16, cols: u16) -> bool {
        let (rows, cols) = (rows.max(MIN_SIZE), cols.max(MIN_SIZE));
        if self.size() == (rows, cols) {
            return false;
        }
        self.parser.screen_mut().set_size(rows, cols);
        true
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    pub fn key_modes(&self) -> KeyModes {
        KeyModes {
            application_cursor: self.parser.screen().application_cursor(),
        }
    }

    pub fn bracketed_paste(&self) -> bool {
        self.parser.screen().bracketed_paste()
    }

    /// Rows scrolled back from the live screen (0: live).
    pub fn scrollback(&self) -> usize {
        self.parser.screen().scrollback()
    }

    /// Scrolls back (positive) or forward (negative) by `rows`, clamped to what is kept.
    pub fn scroll_by(&mut self, rows: isize) {
        let now = self.scrollback();
        let to = now.saturating_add_signed(rows);
        self.parser.screen_mut().set_scrollback(to);
    }

    pub fn scroll_to_live(&mut self) {
        self.parser.screen_mut().set_scrollback(0);
    }

    /// The screen's text, rows trimmed (for tests and the closing message).
    pub fn text(&self) -> String {
        self.parser.screen().contents()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_text_and_clamps_the_cursor() {
        let mut s = TermScreen::new(5, 20);
        s.process(b"hello\r\nworld\r\n").expect("emulated");
        assert_eq!(s.size(), (5, 20));
        assert!(s.resize(10, 40));
        assert_eq!(s.size(), (10, 40));
        assert!(!s.resize(10, 40), "same size: no change");
        assert!(s.text().contains("hello\nworld"), "{:?}", s.text());
        s.process(b"0123456789012345678901234567890123456789XYZ")
            .expect("emulated");
        assert!(s.text().contains("XYZ"));
        // Narrower: the cursor stays inside the new screen.
        assert!(s.resize(3, 10));
        let (row, col) = s.screen().cursor_position();
        assert!(row < 3 && col < 10, "cursor at {row},{col}");
        assert!(s.resize(0, 0), "clamped to 2x2");
        assert_eq!(s.size(), (2, 2));
    }

    #[test]
    fn scrollback_fits_its_memory_budget() {
        assert_eq!(scrollback_lines(20), SCROLLBACK);
        assert_eq!(scrollback_lines(80), 2457);
        assert_eq!(scrollback_lines(200), 983);
        assert_eq!(scrollback_lines(u16::MAX), MIN_SCROLLBACK);
        assert_eq!(scrollback_lines(0), SCROLLBACK);
        for cols in [80, 120, 200, 300] {
            assert!(scrollback_lines(cols) * usize::from(cols) * CELL_BYTES <= SCROLLBACK_BYTES);
        }
    }

    #[test]
    fn scrollback_and_scroll() {
        let mut s = TermScreen::new(4, 20);
        for i in 0..30 {
            s.process(format!("line {i}\r\n").as_bytes())
                .expect("emulated");
        }
        assert_eq!(s.scrollback(), 0);
        assert!(!s.text().contains("line 0\n"));
        s.scroll_by(100);
        assert_eq!(s.scrollback(), 27, "clamped to the lines kept");
        assert!(s.text().starts_with("line 0\n"), "{:?}", s.text());
        s.scroll_by(-20);
        assert_eq!(s.scrollback(), 7);
        s.scroll_to_live();
        assert!(s.text().contains("line 29"));
    }

    #[test]
    fn a_restored_snapshot_continues_like_the_original() {
        let mut s = TermScreen::without_scrollback(5, 20);
        // A scroll region, colours and a saved cursor: state the text alone would not keep.
        s.process(b"\x1b[2;4r\x1b[31mred\x1b7\r\nnext\x1b[?2004h")
            .expect("emulated");
        let snap = s.snapshot();
        let mut copy = TermScreen::restore(&snap);
        for t in [&mut s, &mut copy] {
            t.process(b"\x1b8 back\r\n1\r\n2\r\n3\r\n4\r\n")
                .expect("emulated");
        }
        assert_eq!(
            copy.screen().contents_formatted(),
            s.screen().contents_formatted()
        );
        assert_eq!(
            copy.screen().cursor_position(),
            s.screen().cursor_position()
        );
        assert!(copy.bracketed_paste());
    }

    #[test]
    fn modes_follow_the_remote() {
        let mut s = TermScreen::new(4, 20);
        assert!(!s.bracketed_paste());
        s.process(b"\x1b[?2004h\x1b[?1h").expect("emulated");
        assert!(s.bracketed_paste());
        assert!(s.key_modes().application_cursor);
    }

    #[test]
    fn a_panic_of_the_emulator_resets_the_screen_and_the_tab_goes_on() {
        // A wide character in the last columns, cut by a narrowing resize, then written over:
        // vt100 0.16 panics there.
        let mut s = TermScreen::new(4, 12);
        s.process("abcdefghij中\r\n".repeat(3).as_bytes())
            .expect("fits");
        s.resize(4, 11);
        assert!(!panic_is_contained());
        let reset = s.process(b"\x1b[1;1Hxyz more text here\r\n");
        assert_eq!(reset, Err(ScreenReset));
        assert!(!panic_is_contained(), "the flag is cleared after the call");
        assert_eq!(s.size(), (4, 11), "same size after the reset");
        s.process(b"still here").expect("a fresh screen");
        assert!(s.screen().contents().contains("still here"));
    }
}
