//! fleetdeck: a keyboard-driven terminal console for fleets managed by AWS Systems Manager.
//!
//! The library holds everything but the binary's `main`; see `docs/ARCHITECTURE.md` for the map.

pub mod sim;
pub mod aws;
pub mod cache;
pub mod config;
pub mod diagnosis;
pub mod model;
pub mod search;
pub mod cli;
pub mod format;
pub mod output;
pub mod tui;
