//! The detail pane's "Recent sessions" section: who, when, how long, status and whether a log
//! exists, for the host shown; reading, empty and failed states said as such.

use ratatui::text::{Line, Span};

use super::Ctx;
use super::sessions::span;
use crate::model::Instance;
use crate::replay::SessionState;
use crate::tui::keymap::Mode;
use crate::tui::state::{HostKey, Recent};
use crate::tui::theme::Role;

pub fn lines(i: &Instance, ctx: &Ctx) -> Vec<Line<'static>> {
    let (s, t) = (ctx.state, ctx.theme);
    let key = |run: &str| ctx.keymap.key_for(Mode::Fleet, run).unwrap_or_default();
    let mut out = vec![Line::from(vec![
        Span::styled("Recent sessions ", t.style(Role::Title)),
        Span::styled(
            format!(
                "{} lists them · {} replays the newest logged one",
                key("host.sessions"),
                key("host.replay_newest")
            ),
            t.style(Role::Hint),
        ),
    ])];
    let muted = |text: String| Line::from(Span::styled(text, t.style(Role::Muted)));
    match s.recent.get(&HostKey::of(i)) {
        None | Some(Recent::Loading) => out.push(muted("reading DescribeSessions …".into())),
        Some(Recent::Failed(e)) => out.push(Line::from(Span::styled(
            format!("cannot read its sessions: {e}"),
            t.style(Role::Error),
        ))),
        Some(Recent::Loaded { sessions, .. }) if sessions.is_empty() => {
            out.push(muted("no sessions in the history".into()));
        }
        Some(Recent::Loaded { sessions, total }) => {
            for x in sessions {
                let (end, role) = match x.state {
                    SessionState::Active => ("active".to_owned(), Role::Ok),
                    SessionState::History => (span(x.duration(s.now)), Role::Base),
                };
                out.push(Line::from(vec![
                    Span::raw(format!("{:<12} ", super::fit(x.who(), 12))),
                    Span::styled(format!("{} ", started(x.start)), t.style(Role::Muted)),
                    Span::raw(format!("{end:>8} ")),
                    Span::styled(format!("{:<12}", x.status), t.style(role)),
                    Span::styled(
                        if x.has_log() { "log" } else { "" }.to_owned(),
                        t.style(Role::Muted),
                    ),
                ]));
            }
            if *total > sessions.len() {
                out.push(muted(format!(
                    "… and {} older ({} lists them all)",
                    total - sessions.len(),
                    key("host.sessions")
                )));
            }
        }
    }
    out
}

/// `11-26 07:40` (UTC): the pane is narrow; the Sessions tab has the full times.
fn started(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "—".into(), |t| t.format("%m-%d %H:%M").to_string())
}
