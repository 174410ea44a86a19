//! The local terminal when fleetdeck hands it to a remote shell (`fleetdeck connect`): raw mode
//! held by a guard, and the size to report to the remote PTY.

use std::io::IsTerminal;

use crate::channel::Size;

/// Raw mode for the life of the session; restored on drop, so on every return and on panic.
pub struct RawMode(bool);

impl RawMode {
    pub fn enable() -> RawMode {
        let on = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        RawMode(on)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

pub fn terminal_size() -> Size {
    match crossterm::terminal::size() {
        Ok((cols, rows)) if cols > 0 && rows > 0 => Size {
            cols: u32::from(cols),
            rows: u32::from(rows),
        },
        // What the plugin sends when it cannot read the size.
        _ => Size {
            cols: 300,
            rows: 100,
        },
    }
}
