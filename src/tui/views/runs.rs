//! The Runs tab: run history (ListCommands across profiles and regions) as a table, newest
//! first, with its filter line. Only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::columns::{self, Spec, kept, width};
use super::{Ctx, SPINNER, fit};
use crate::run::CommandSummary;
use crate::tui::keymap::Mode;
use crate::tui::theme::Role;

pub fn filter_line(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.run_history, ctx.theme);
    let mut spans = vec![Span::styled(" / ", t.style(Role::Key))];
    if s.editing || !s.input.is_empty() {
        spans.push(Span::styled(s.input.clone(), t.style(Role::Base)));
        if s.editing {
            spans.push(Span::styled("▏", t.style(Role::Accent)));
        }
    } else {
        let key = ctx
            .keymap
            .key_for(Mode::Runs, "fleet.filter")
            .unwrap_or_else(|| "/".into());
        spans.push(Span::styled(
            format!("press {key} to filter: command, id, status, region, who"),
            t.style(Role::Hint),
        ));
    }
    let mut right = format!("{} of {} runs ", s.rows().len(), s.commands().len());
    if s.loading.is_some() {
        let spin = SPINNER[ctx.state.refresh.spinner % SPINNER.len()];
        right = format!("{spin} reading ListCommands · {right}");
    }
    let [left_area, right_area] = ratatui::layout::Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(u16::try_from(right.chars().count()).unwrap_or(20)),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(
        Paragraph::new(Span::styled(right, t.style(Role::Muted))),
        right_area,
    );
}

fn status_role(status: &str) -> Role {
    match status {
        "Success" => Role::Ok,
        "Failed" | "TimedOut" => Role::Error,
        "Cancelled" | "Cancelling" => Role::Warn,
        _ => Role::Accent,
    }
}

/// `sh`, `ps`, or the document's own name for the others.
fn document(name: &str) -> &str {
    match name {
        "AWS-RunShellScript" => "sh",
        "AWS-RunPowerShellScript" => "ps",
        other => other,
    }
}

/// The audit log's identity, short: an ARN's last part (`ana` of `…:user/ana`, the name a person
/// recognises), else as written.
fn who(c: &CommandSummary) -> String {
    match c.who.as_deref() {
        Some(w) if w.starts_with("arn:") => w.rsplit([':', '/']).next().unwrap_or(w).to_owned(),
        Some(w) => w.to_owned(),
        None => "—".into(),
    }
}

fn requested(c: &CommandSummary) -> String {
    c.requested
        .map_or_else(|| "—".into(), |t| t.format("%m-%d %H:%M:%S").to_string())
}

fn script(c: &CommandSummary) -> String {
    c.script().replace('\n', "; ")
}

fn place(c: &CommandSummary) -> String {
    if c.profile == "default" {
        c.region.clone()
    } else {
        format!("{}/{}", c.profile, c.region)
    }
}

pub fn table(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.run_history, ctx.theme);
    if s.rows().is_empty() {
        let text = if s.loading.is_some() && !s.loaded {
            "reading the run history (ListCommands) …".to_owned()
        } else if s.commands().is_empty() {
            "no Run Command in the history of these profiles and regions".to_owned()
        } else {
            format!("no run matches '{}'", s.input)
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), t.style(Role::Muted))),
            area,
        );
        return;
    }
    const TITLES: [&str; 10] = [
        "REQUESTED UTC",
        "ID",
        "DOC",
        "COMMAND",
        "HOSTS",
        "STATUS",
        "DONE",
        "ERRORS",
        "WHO",
        "WHERE",
    ];
    let done = |c: &CommandSummary| format!("{}/{}", c.completed, c.target_count);
    let errors = |c: &CommandSummary| c.errors + c.delivery_timed_out;
    // Widths from every filtered row, so they stay put while the selection scrolls.
    let all = || (0..s.rows().len()).filter_map(|i| s.row(i));
    let specs = [
        Spec::fixed(TITLES[0], all().map(|c| width(&requested(c))), 14).rank(0),
        Spec::fixed(TITLES[1], [8], 8).rank(1),
        Spec::fixed(TITLES[2], all().map(|c| width(document(&c.document))), 24).rank(7),
        Spec::flexible(TITLES[3], all().map(|c| width(&script(c))), 12).rank(2),
        Spec::fixed(
            TITLES[4],
            all().map(|c| width(&c.target_count.to_string())),
            6,
        )
        .rank(5),
        Spec::fixed(TITLES[5], all().map(|c| width(&c.status)), 12).rank(3),
        Spec::fixed(TITLES[6], all().map(|c| width(&done(c))), 11).rank(6),
        Spec::fixed(TITLES[7], all().map(|c| width(&errors(c).to_string())), 6).rank(8),
        Spec::fixed(TITLES[8], all().map(|c| width(&who(c))), 32).rank(4),
        Spec::fixed(TITLES[9], all().map(|c| width(&place(c))), 24).rank(9),
    ];
    let plan = columns::plan(&specs, usize::from(area.width), 1);
    let w = |n: usize| plan[n].unwrap_or(0);
    let header = Row::new(kept(
        TITLES.map(|h| Cell::from(Span::styled(h, t.style(Role::Title)))),
        &plan,
    ));
    let view = usize::from(area.height.saturating_sub(1)).max(1);
    let rows = (s.cursor.offset..s.rows().len().min(s.cursor.offset + view)).filter_map(|i| {
        let c = s.row(i)?;
        let errors = errors(c);
        let row = Row::new(kept(
            [
                Cell::from(requested(c)),
                Cell::from(c.command_id.chars().take(8).collect::<String>()),
                Cell::from(fit(document(&c.document), w(2))),
                Cell::from(fit(&script(c), w(3))),
                Cell::from(c.target_count.to_string()),
                Cell::from(Span::styled(
                    fit(&c.status, w(5)),
                    t.style(status_role(&c.status)),
                )),
                Cell::from(done(c)),
                Cell::from(Span::styled(
                    errors.to_string(),
                    t.style(if errors > 0 { Role::Error } else { Role::Muted }),
                )),
                Cell::from(fit(&who(c), w(8))),
                Cell::from(fit(&place(c), w(9))),
            ],
            &plan,
        ));
        Some(if i == s.cursor.selected {
            row.style(t.style(Role::Selection))
        } else {
            row
        })
    });
    frame.render_widget(
        Table::new(rows, columns::constraints(&plan))
            .header(header)
            .column_spacing(1)
            .style(t.style(Role::Base)),
        area,
    );
}
