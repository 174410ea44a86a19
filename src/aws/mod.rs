//! Talking to AWS: per-(profile, region) SDK clients, the joined inventory, and errors turned into
//! sentences that say what to do. Nothing here knows about the TUI.

pub mod clients;
pub mod errors;
pub mod inventory;

pub use clients::{CallStats, ClientOptions, Clients, Target};
pub use errors::AwsError;
pub use inventory::{Inventory, InventoryProblem};
