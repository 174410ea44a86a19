//! The terminal side of sessions: the local terminal for `connect` (and, with the TUI, a tab's
//! emulated terminal). One of the two modules allowed to use crossterm.

pub mod raw;
