//! The host a shell, ssh tab or tunnel would open on: the selected one, unless its diagnosis
//! says no session can start, in which case the message line says why instead.

use crate::diagnosis::{Outlook, diagnose};
use crate::model::Instance;
use crate::tui::app::App;
use crate::tui::state::Level;

/// Why no session target came back.
pub(super) enum NoTarget {
    NothingSelected,
    /// The host's diagnosis blocks every session; the message line says why.
    Blocked,
}

impl App {
    /// The selected host and the name to show for it, or why not (already said on the message
    /// line as `{host}: no {what}: {why}`).
    pub(super) fn session_target(&mut self, what: &str) -> Result<(Instance, String), NoTarget> {
        let Some(instance) = self.state.fleet.selected_instance().cloned() else {
            self.state.flash(Level::Warn, "no host selected");
            return Err(NoTarget::NothingSelected);
        };
        let host = instance
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| instance.instance_id.clone());
        let diagnosis = diagnose(&instance, self.state.now);
        if diagnosis.outlook == Outlook::Blocked {
            let why = diagnosis
                .headline()
                .map_or_else(|| diagnosis.summary().to_owned(), |s| s.sentence.clone());
            self.state
                .flash(Level::Error, format!("{host}: no {what}: {why}"));
            return Err(NoTarget::Blocked);
        }
        Ok((instance, host))
    }
}
