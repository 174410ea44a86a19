//! The selected host: everything known about it, and whether a session would work.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Ctx;
use super::fleet::{ping_label, ping_role};
use crate::diagnosis::{self, Outlook, Verdict};
use crate::format::age;
use crate::tui::theme::Role;

pub fn pane(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(t.style(Role::Border));
    let Some(i) = s.fleet.selected_instance() else {
        frame.render_widget(
            Paragraph::new(Span::styled(" No host selected.", t.style(Role::Muted))).block(block),
            area,
        );
        return;
    };
    let block = block.title(Span::styled(
        format!(" {} · {} ", i.display_name(), i.instance_id),
        t.style(Role::Title),
    ));
    let muted = t.style(Role::Muted);
    let field = |name: &str, value: Vec<Span<'static>>| {
        let mut spans = vec![Span::styled(format!("{name:<10}"), muted)];
        spans.extend(value);
        Line::from(spans)
    };
    let text = |s: String| vec![Span::raw(s)];
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());

    // The verdict first: it is what an on-call engineer opens the pane for.
    let mut lines = Vec::new();
    let d = diagnosis::diagnose(i, s.now);
    let (role, mark) = match d.outlook {
        Outlook::Ready => (Role::Ok, "✔"),
        Outlook::Blocked => (Role::Error, "✖"),
        Outlook::Unknown => (Role::Warn, "?"),
    };
    lines.push(Line::from(vec![
        Span::styled("Diagnosis ", t.style(Role::Title)),
        Span::styled(format!("{mark} {}", d.summary()), t.style(role)),
    ]));
    for step in &d.steps {
        let (role, mark) = match step.verdict {
            Verdict::Ok => (Role::Ok, "✔"),
            Verdict::Warn => (Role::Warn, "▲"),
            Verdict::Fail => (Role::Error, "✖"),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), t.style(role)),
            Span::styled(format!("{}: ", step.check), t.style(Role::Accent)),
            Span::raw(step.sentence.clone()),
        ]));
    }
    lines.push(Line::default());
    lines.extend(super::recent::lines(i, ctx));
    lines.push(Line::default());

    let mut state = i.state.to_string();
    for extra in [&i.instance_type, &i.availability_zone]
        .into_iter()
        .flatten()
    {
        state.push_str(&format!(" · {extra}"));
    }
    lines.push(field("State", text(state)));
    let mut ping = vec![Span::styled(
        ping_label(i.ping_status).to_owned(),
        t.style(ping_role(i.ping_status)),
    )];
    if let Some(p) = i.last_ping {
        ping.push(Span::raw(format!(
            " · last ping {} ({} ago)",
            p.format("%Y-%m-%d %H:%M UTC"),
            age(p, s.now)
        )));
    }
    lines.push(field("Ping", ping));
    let agent = match (&i.agent_version, i.agent_is_latest) {
        (Some(v), Some(true)) => vec![Span::raw(format!("{v} (latest)"))],
        (Some(v), Some(false)) => vec![
            Span::raw(v.clone()),
            Span::styled(" (outdated: a newer agent exists)", t.style(Role::Warn)),
        ],
        (Some(v), None) => text(v.clone()),
        (None, _) => text("- (no SSM agent seen)".into()),
    };
    lines.push(field("Agent", agent));
    lines.push(field(
        "Platform",
        text(format!(
            "{} ({:?})",
            if i.platform.is_empty() {
                "-"
            } else {
                &i.platform
            },
            i.platform_type
        )),
    ));
    lines.push(field(
        "IPs",
        text(format!(
            "{} private · {} public",
            opt(&i.private_ip),
            opt(&i.public_ip)
        )),
    ));
    lines.push(field("IAM", text(opt(&i.iam_instance_profile))));
    lines.push(field(
        "Account",
        text(format!("{} / {}", i.profile, i.region)),
    ));
    if let Some(host) = &i.computer_name {
        lines.push(field("Hostname", text(host.clone())));
    }
    if i.tags.is_empty() {
        lines.push(field("Tags", text("-".into())));
    }
    for (n, (k, v)) in i.tags.iter().enumerate() {
        let name = if n == 0 { "Tags" } else { "" };
        lines.push(field(
            name,
            vec![Span::styled(format!("{k}="), muted), Span::raw(v.clone())],
        ));
    }

    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
