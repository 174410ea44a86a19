//! The host table. Only the visible rows are built, so 100,000 hosts cost what 50 do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::columns::{self, Spec, width};
use super::{Ctx, fit, highlighted};
use crate::format::age;
use crate::model::{Instance, InstanceState, PingStatus};
use crate::search::Highlighter;
use crate::tui::action::SortColumn;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Id,
    Region,
    State,
    Ping,
    LastPing,
    Agent,
    Platform,
    PrivateIp,
    Tag(usize),
}

impl Col {
    fn title(self, tags: &[String]) -> String {
        match self {
            Col::Name => "NAME".into(),
            Col::Id => "ID".into(),
            Col::Region => "REGION".into(),
            Col::State => "STATE".into(),
            Col::Ping => "PING".into(),
            Col::LastPing => "LAST PING".into(),
            Col::Agent => "AGENT".into(),
            Col::Platform => "PLATFORM".into(),
            Col::PrivateIp => "PRIVATE IP".into(),
            Col::Tag(i) => tags.get(i).map(|t| t.to_uppercase()).unwrap_or_default(),
        }
    }

    /// The most a column gets before leftover room is shared out; the platform then gets its
    /// whole text back before the name column grows.
    fn cap(self) -> usize {
        match self {
            Col::Name => 40,
            Col::Id => 20,
            Col::Region => 14,
            Col::State => 10,
            Col::Ping => 16,
            Col::LastPing => 9,
            Col::Agent => 14,
            Col::Platform => 24,
            Col::PrivateIp => 15,
            Col::Tag(_) => 16,
        }
    }

    /// The cell's text width (the name's check mark included), for measuring.
    fn content(self, i: &Instance, now: chrono::DateTime<chrono::Utc>, tags: &[String]) -> usize {
        match self {
            Col::Name => width(i.display_name()),
            Col::Id => width(&i.instance_id),
            Col::Region => width(&i.region),
            Col::State => width(i.state.as_str()),
            Col::Ping => 2 + width(ping_label(i.ping_status)),
            Col::LastPing => i.last_ping.map_or(1, |p| width(&age(p, now))),
            Col::Agent => match &i.agent_version {
                Some(v) if i.agent_outdated() => width(v) + 2,
                Some(v) => width(v),
                None => 1,
            },
            Col::Platform => width(&i.platform),
            Col::PrivateIp => i.private_ip.as_deref().map_or(1, width),
            Col::Tag(n) => tags
                .get(n)
                .and_then(|k| i.tags.get(k))
                .map_or(0, |v| width(v)),
        }
    }

    fn sort(self) -> Option<SortColumn> {
        Some(match self {
            Col::Name => SortColumn::Name,
            Col::Id => SortColumn::Id,
            Col::Region => SortColumn::Region,
            Col::State => SortColumn::State,
            Col::Ping => SortColumn::Ping,
            Col::LastPing => SortColumn::LastPing,
            Col::Agent => SortColumn::Agent,
            Col::Platform => SortColumn::Platform,
            Col::PrivateIp => SortColumn::PrivateIp,
            Col::Tag(_) => return None,
        })
    }
}

/// Every column in table order, with its rank: lower is kept first when the line is short.
fn all_columns(tags: usize) -> Vec<(Col, usize)> {
    let priority = [
        Col::Name,
        Col::Ping,
        Col::Id,
        Col::State,
        Col::LastPing,
        Col::PrivateIp,
        Col::Agent,
        Col::Region,
        Col::Platform,
    ];
    let rank = |c: Col| match c {
        Col::Tag(n) => priority.len() + n,
        c => priority.iter().position(|&p| p == c).unwrap_or(usize::MAX),
    };
    [
        Col::Name,
        Col::Id,
        Col::Region,
        Col::State,
        Col::Ping,
        Col::LastPing,
        Col::Agent,
        Col::Platform,
        Col::PrivateIp,
    ]
    .into_iter()
    .chain((0..tags).map(Col::Tag))
    .map(|c| (c, rank(c)))
    .collect()
}

pub fn ping_role(p: PingStatus) -> Role {
    match p {
        PingStatus::Online => Role::HealthOnline,
        PingStatus::ConnectionLost => Role::HealthLost,
        PingStatus::Inactive => Role::HealthInactive,
        PingStatus::NotManaged => Role::HealthUnmanaged,
        PingStatus::Unknown => Role::HealthUnknown,
    }
}

pub fn ping_label(p: PingStatus) -> &'static str {
    match p {
        PingStatus::NotManaged => "not managed",
        other => other.as_str(),
    }
}

pub fn table(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let f = &s.fleet;
    if f.rows().is_empty() {
        let text = if f.instances().is_empty() {
            if s.refresh.in_flight.is_some() {
                "Reading the fleet…"
            } else if !s.refresh.problems.is_empty() {
                "Nothing could be read: the error is on the last line. Press r to try again."
            } else {
                "No instances in these profiles and regions. Press r to refresh, or : to pick regions."
            }
        } else {
            "No host matches the filter. Esc clears it."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), t.style(Role::Muted))),
            Rect {
                y: area.y + 1,
                height: area.height.saturating_sub(1),
                ..area
            },
        );
        return;
    }
    let visible = usize::from(area.height.saturating_sub(1)).max(1);
    // The state keeps the selection in view; this only guards a size the state has not seen.
    let mut offset = f.offset;
    if f.selected < offset {
        offset = f.selected;
    } else if f.selected >= offset + visible {
        offset = f.selected + 1 - visible;
    }
    let shown = &f.rows()[offset..(offset + visible).min(f.rows().len())];
    let title = |c: Col| {
        let mut title = c.title(&s.tag_columns);
        if let Some(sc) = c.sort()
            && f.sort.column == Some(sc)
        {
            title.push(if f.sort.reverse { '▼' } else { '▲' });
        }
        title
    };
    // Widths from the visible rows only: 100,000 hosts cost what a screenful does.
    let mark = if f.marked.is_empty() { 0 } else { 2 };
    let all = all_columns(s.tag_columns.len());
    let specs: Vec<Spec> = all
        .iter()
        .map(|&(c, rank)| {
            let cells = shown
                .iter()
                .map(|&idx| c.content(&f.instances()[idx], s.now, &s.tag_columns));
            let spec = match c {
                Col::Name => Spec::flexible(&title(c), cells.map(|w| w + mark), 24),
                _ => Spec::fixed(&title(c), cells, c.cap()),
            };
            spec.rank(rank)
        })
        .collect();
    let plan = columns::plan(&specs, usize::from(area.width), 1);
    let cols: Vec<(Col, usize)> = all
        .iter()
        .zip(&plan)
        .filter_map(|(&(c, _), w)| w.map(|w| (c, w)))
        .collect();
    let mut hl = Highlighter::new(f.query());
    let header =
        Row::new(cols.iter().map(|&(c, _)| Cell::from(title(c)))).style(t.style(Role::Title));
    let rows = shown.iter().enumerate().map(|(n, &idx)| {
        let inst = &f.instances()[idx];
        let selected = offset + n == f.selected;
        let row_style = if selected {
            t.style(Role::Selection)
        } else {
            Style::default()
        };
        let mark = if f.marked.is_empty() {
            None
        } else {
            Some(f.is_marked(&inst.instance_id))
        };
        Row::new(cols.iter().map(|&(c, w)| match (c, mark) {
            (Col::Name, Some(marked)) => marked_name(inst, marked, w, &mut hl, t, row_style),
            _ => cell(c, w, inst, &mut hl, t, s.now, &s.tag_columns, row_style),
        }))
        .style(row_style)
    });
    frame.render_widget(
        Table::new(rows, columns::constraints(&plan))
            .header(header)
            .column_spacing(1),
        area,
    );
}

/// The name cell while some hosts are marked: a check mark before marked hosts.
fn marked_name<'a>(
    i: &Instance,
    marked: bool,
    width: usize,
    hl: &mut Highlighter,
    t: &Theme,
    row: Style,
) -> Cell<'a> {
    let text = fit(i.display_name(), width.saturating_sub(2));
    let pos = hl.positions(&text);
    let mut spans = vec![if marked {
        Span::styled("✓ ", row.patch(fg_only(t, Role::Accent)))
    } else {
        Span::styled("  ", row)
    }];
    spans.extend(highlighted(&text, &pos, row, t.style(Role::Match)));
    Cell::from(Line::from(spans))
}

#[allow(clippy::too_many_arguments)]
fn cell<'a>(
    col: Col,
    w: usize,
    i: &Instance,
    hl: &mut Highlighter,
    t: &Theme,
    now: chrono::DateTime<chrono::Utc>,
    tags: &[String],
    row: Style,
) -> Cell<'a> {
    let base = row;
    let matched = |hl: &mut Highlighter, text: &str, width: usize| {
        let text = fit(text, width);
        let pos = hl.positions(&text);
        Line::from(highlighted(&text, &pos, base, t.style(Role::Match)))
    };
    match col {
        Col::Name => Cell::from(matched(hl, i.display_name(), w)),
        Col::Id => Cell::from(matched(hl, &i.instance_id, w)),
        Col::Region => Cell::from(fit(&i.region, w)),
        Col::State => {
            let role = match i.state {
                InstanceState::Running | InstanceState::Hybrid => Role::Base,
                InstanceState::Stopped | InstanceState::Stopping | InstanceState::Terminated => {
                    Role::Muted
                }
                _ => Role::Warn,
            };
            Cell::from(Span::styled(
                fit(i.state.as_str(), w),
                base.patch(fg_only(t, role)),
            ))
        }
        Col::Ping => Cell::from(Line::from(vec![
            Span::styled("● ", base.patch(fg_only(t, ping_role(i.ping_status)))),
            Span::styled(
                ping_label(i.ping_status),
                base.patch(fg_only(t, ping_role(i.ping_status))),
            ),
        ])),
        Col::LastPing => Cell::from(
            i.last_ping
                .map(|p| age(p, now))
                .unwrap_or_else(|| "-".into()),
        ),
        Col::Agent => match &i.agent_version {
            Some(v) if i.agent_outdated() => Cell::from(Line::from(vec![
                Span::raw(fit(v, w.saturating_sub(2))),
                Span::styled(" ↑", base.patch(fg_only(t, Role::Warn))),
            ])),
            Some(v) => Cell::from(fit(v, w)),
            None => Cell::from(Span::styled("-", base.patch(fg_only(t, Role::Muted)))),
        },
        Col::Platform => Cell::from(fit(&i.platform, w)),
        Col::PrivateIp => Cell::from(matched(hl, i.private_ip.as_deref().unwrap_or("-"), w)),
        Col::Tag(n) => Cell::from(fit(
            tags.get(n)
                .and_then(|k| i.tags.get(k))
                .map_or("", String::as_str),
            w,
        )),
    }
}

/// A role's foreground and attributes without its background, so a selected row keeps its bar.
fn fg_only(t: &Theme, role: Role) -> Style {
    let mut s = t.style(role);
    s.bg = None;
    s
}
