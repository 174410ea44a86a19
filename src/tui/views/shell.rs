//! A shell tab: the emulated screen (tui-term's `PseudoTerminal` over the tab's vt100 screen),
//! and a line saying why when the session has closed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Clear, Paragraph};
use tui_term::widget::{Cursor, PseudoTerminal};

use super::{Ctx, fit};
use crate::channel::SessionState;
use crate::tui::keymap::Mode;
use crate::tui::state::ShellTab;
use crate::tui::theme::Role;

pub fn terminal(frame: &mut Frame, area: Rect, shell: &ShellTab, ctx: &Ctx) {
    let t = ctx.theme;
    let mut cursor = Cursor::default();
    if shell.scrolling || shell.is_closed() || shell.screen.scrollback() > 0 {
        cursor.hide();
    }
    frame.render_widget(
        PseudoTerminal::new(shell.screen.screen())
            .cursor(cursor)
            .style(t.style(Role::Base)),
        area,
    );
    let banner = match &shell.state {
        SessionState::Closed { reason } => {
            let key = ctx
                .keymap
                .key_for(Mode::Shell, "tab.close")
                .unwrap_or_else(|| "tab.close".into());
            Some((
                Role::Warn,
                format!(" session closed: {reason} · {key} closes the tab "),
            ))
        }
        SessionState::Connecting if shell.first_output.is_none() => Some((
            Role::Muted,
            format!(" connecting to {} ({}) … ", shell.host, shell.instance_id),
        )),
        SessionState::Reconnecting => Some((Role::Warn, " reconnecting … ".to_owned())),
        _ => None,
    };
    if let Some((role, text)) = banner
        && area.height > 0
    {
        let text = fit(&text, usize::from(area.width));
        let width = u16::try_from(text.chars().count()).unwrap_or(area.width);
        let line = Rect {
            x: area.x + area.width.saturating_sub(width),
            y: area.y + area.height - 1,
            width,
            height: 1,
        };
        frame.render_widget(Clear, line);
        frame.render_widget(Paragraph::new(Span::styled(text, t.style(role))), line);
    }
}
