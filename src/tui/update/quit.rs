//! Quitting ends every shell session and tunnel this console holds: with any open, the first
//! `q` (or Ctrl-C, or `:quit`) says what would end and a second one within a few seconds quits.

use std::time::{Duration, Instant};

use crate::channel::SessionState;
use crate::tui::app::App;
use crate::tui::state::Level;
use crate::tui::state::run::plural;

/// How long the first `q` stays armed.
const AGAIN_WITHIN: Duration = Duration::from_secs(5);

impl App {
    pub(super) fn quit_or_ask(&mut self) {
        let open = self.open_work();
        let asked = self
            .state
            .quit_asked
            .is_some_and(|at| at.elapsed() < AGAIN_WITHIN);
        if open.is_empty() || asked {
            self.state.quit = true;
            return;
        }
        self.state.quit_asked = Some(Instant::now());
        self.state.flash(
            Level::Warn,
            format!(
                "{} open: q again within {} s quits, and ends {}",
                open.join(", "),
                AGAIN_WITHIN.as_secs(),
                if open.len() == 1 && open[0].starts_with("1 ") {
                    "it"
                } else {
                    "them"
                }
            ),
        );
    }

    /// What quitting would end, as counted phrases. Runs are not among them: a run goes on in
    /// AWS (and its audit line is written before the process goes).
    fn open_work(&self) -> Vec<String> {
        let shells = self
            .state
            .shells
            .values()
            .filter(|s| !matches!(s.state, SessionState::Closed { .. }))
            .count();
        let tunnels = self.state.tunnels.rows.len();
        let mut open = Vec::new();
        if shells > 0 {
            open.push(format!("{shells} session{}", plural(shells)));
        }
        if tunnels > 0 {
            open.push(format!("{tunnels} tunnel{}", plural(tunnels)));
        }
        open
    }
}
