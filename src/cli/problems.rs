//! Problems met while reading the fleet, on stderr, each once: warnings when part of the fleet
//! was read; when nothing at all was, the first one is the error and is not also a warning.

use crate::aws::inventory::InventoryProblem;

use super::Failure;

pub(super) fn report(problems: &[InventoryProblem], nothing_read: bool) -> Result<(), Failure> {
    let (fatal, warnings) = match problems.split_first() {
        Some((first, rest)) if nothing_read => (Some(first), rest),
        _ => (None, problems),
    };
    for problem in warnings {
        eprintln!("warning: {}", problem.error);
    }
    match fatal {
        Some(problem) => Err(Failure::Other(problem.error.to_string())),
        None => Ok(()),
    }
}
