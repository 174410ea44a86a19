//! The terminal side of sessions: the local terminal for `connect`, and a tab's emulated
//! terminal (vt100 screen with scrollback, key and paste encoding). One of the two modules
//! allowed to use crossterm.

pub mod keys;
pub mod raw;
pub mod screen;

pub use keys::{KeyModes, encode_key, encode_paste};
pub use screen::TermScreen;
