//! fleetdeck: a keyboard-driven terminal console for fleets managed by AWS Systems Manager.
//!
//! The library holds everything but the binary's `main`; see `docs/ARCHITECTURE.md` for the map.

pub mod aws;
pub mod cache;
pub mod channel;
pub mod cli;
pub mod config;
pub mod diagnosis;
pub mod format;
pub mod model;
pub mod output;
pub mod private_fs;
pub mod replay;
pub mod run;
pub mod search;
pub mod sim;
pub mod terminal;
pub mod tui;
pub mod tunnel;
