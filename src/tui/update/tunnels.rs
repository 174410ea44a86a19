//! Tunnels in the console: the open-tunnel form, opening tunnels as app-owned tasks
//! (`tui::tunnel_tasks`), their reports, the Tunnels tab's keys, and the frame tick that copies
//! live counters into state. Nothing here waits on the network.

use super::input::edited;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::tabs::{Tab, TabKind, TabStatus};
use crate::tui::state::tunnels::{TunnelCounts, TunnelRow};
use crate::tui::state::{Level, Overlay, TunnelForm};
use crate::tui::tunnel_tasks::{TunnelLink, spawn_tunnel};
use crate::tunnel::{TunnelSpec, TunnelState};

impl App {
    pub(super) fn tunnel_action(&mut self, action: Action) {
        match action {
            Action::OpenTunnels => self.open_tunnels_tab(),
            Action::OpenTunnelForm {
                remote_port,
                remote_host,
            } => self.open_tunnel_form(remote_port, remote_host),
            Action::CloseTunnel => self.close_tunnel(),
            Action::RestartTunnel => self.restart_tunnel(),
            Action::TunnelStarted { id, tunnel } => {
                let Some(link) = self.services.tunnels.links.get_mut(&id) else {
                    // Closed while it was binding.
                    tunnel.close();
                    return;
                };
                if let Some(row) = self.state.tunnels.row_mut(id) {
                    row.local_addr = Some(tunnel.local_addr());
                }
                link.tunnel = Some(tunnel);
            }
            Action::TunnelStartFailed { id, error } => {
                if let Some(row) = self.state.tunnels.row_mut(id) {
                    row.state = TunnelState::Failed { why: error.clone() };
                    self.state.flash(Level::Error, error);
                }
                self.tunnel_tab_status();
            }
            Action::TunnelStateChanged { id, state } => self.tunnel_state(id, state),
            _ => {}
        }
    }

    fn tunnel_state(&mut self, id: u64, state: TunnelState) {
        let Some(row) = self.state.tunnels.row_mut(id) else {
            return;
        };
        let text = match &state {
            TunnelState::Failed { why } => Some((
                Level::Error,
                format!(
                    "tunnel to {} via {} failed: {why}",
                    row.destination(),
                    row.host
                ),
            )),
            TunnelState::Listening if row.state != TunnelState::Starting => Some((
                Level::Info,
                format!("tunnel to {} via {} is back", row.destination(), row.host),
            )),
            TunnelState::Listening => row.local_addr.map(|a| {
                (
                    Level::Info,
                    format!("listening on {a} → {} via {}", row.destination(), row.host),
                )
            }),
            _ => None,
        };
        row.state = state;
        if let Some((level, text)) = text {
            self.state.flash(level, text);
        }
        self.tunnel_tab_status();
    }

    /// The tab's title counts tunnels; a spinner while any starts or reconnects, ✖ on failure.
    fn tunnel_tab_status(&mut self) {
        let t = &self.state.tunnels;
        let status = if t.failed() > 0 {
            TabStatus::Failed(format!("{} failed", t.failed()))
        } else if t.busy() {
            TabStatus::Busy
        } else {
            TabStatus::Idle
        };
        let title = format!("tunnels {}", t.rows.len());
        if let Some(tab) = self.state.tabs.find_mut(&TabKind::Tunnels) {
            tab.status = status;
            tab.title = title;
        }
    }

    /// `T` / `:tunnels`: focus the Tunnels tab, opening it first.
    pub(super) fn open_tunnels_tab(&mut self) {
        if !self.state.tabs.focus(&TabKind::Tunnels) {
            self.state.tabs.open(Tab {
                kind: TabKind::Tunnels,
                title: String::new(),
                status: TabStatus::Idle,
            });
        }
        self.tunnel_tab_status();
    }

    /// `t` / `:tunnel [PORT] [HOST]`: the form for the selected host; a host that cannot take
    /// a session says why instead.
    fn open_tunnel_form(&mut self, remote_port: Option<u16>, remote_host: Option<String>) {
        let Ok((instance, host)) = self.session_target("tunnel") else {
            return;
        };
        let mut form = TunnelForm::new(
            host,
            instance.instance_id,
            instance.profile,
            instance.region,
        );
        if let Some(p) = remote_port {
            form.remote_port = p.to_string();
        }
        if let Some(h) = remote_host {
            form.remote_host = h;
        }
        self.state
            .overlays
            .push(Overlay::TunnelForm(Box::new(form)));
    }

    /// Keys in the form: typing, fields, presets, Enter, Esc.
    pub(super) fn tunnel_form_action(&mut self, action: Action) {
        let Some(form) = self.state.tunnel_form_mut() else {
            return;
        };
        match action {
            Action::InputCancel => {
                self.state.overlays.pop();
            }
            Action::FormField { forward } => form.next_field(forward),
            Action::TunnelPreset(n) => form.preset(n.saturating_sub(1)),
            Action::TunnelPresetCycle { forward } => form.cycle_preset(forward),
            Action::InputAccept => match form.validate() {
                Ok(request) => {
                    let form = form.clone();
                    self.state.overlays.pop();
                    let spec = TunnelSpec {
                        local_port: request.local_port,
                        remote_host: request.remote_host,
                        ..TunnelSpec::new(form.instance_id.clone(), request.remote_port)
                    };
                    self.open_tunnel(&form, spec);
                }
                Err(e) => form.error = Some(e),
            },
            other => {
                if let Some(value) = edited(form.focused(), &other) {
                    form.set_focused(value);
                }
            }
        }
    }

    /// Starts a tunnel task for `spec` and lists it; the Tunnels tab shows it.
    pub fn open_tunnel(&mut self, form: &TunnelForm, spec: TunnelSpec) -> u64 {
        self.services.tunnels.next += 1;
        let id = self.services.tunnels.next;
        let clients = self.clients_of(&form.profile, &form.region);
        self.state.tunnels.rows.push(TunnelRow {
            id,
            host: form.host.clone(),
            instance_id: form.instance_id.clone(),
            remote_host: spec.remote_host.clone(),
            remote_port: spec.remote_port,
            local_port: spec.local_port,
            local_addr: None,
            state: TunnelState::Starting,
            counts: TunnelCounts::default(),
            last_error: None,
            opened: self.state.now,
        });
        self.state.tunnels.selected = self.state.tunnels.rows.len() - 1;
        if clients.is_none() && self.services.tx.is_some() {
            let error = format!(
                "no clients for profile {} in {}: refresh and try again",
                form.profile, form.region
            );
            self.tunnel_state(id, TunnelState::Failed { why: error });
        }
        if let (Some(tx), Some(c)) = (self.services.tx.clone(), clients.clone()) {
            spawn_tunnel(tx, c, spec.clone(), id);
        }
        self.services.tunnels.links.insert(
            id,
            TunnelLink {
                spec,
                clients,
                tunnel: None,
            },
        );
        self.open_tunnels_tab();
        id
    }

    /// `d`/`x`: closes the selected tunnel (its session is terminated) and drops it from the list.
    fn close_tunnel(&mut self) {
        let Some(id) = self.state.tunnels.selected_row().map(|r| r.id) else {
            self.state.flash(Level::Warn, "no tunnel selected");
            return;
        };
        if let Some(link) = self.services.tunnels.links.remove(&id)
            && let Some(t) = link.tunnel
        {
            t.close();
        }
        if let Some(row) = self.state.tunnels.remove(id) {
            let at = row
                .local_addr
                .map_or_else(String::new, |a| format!(" on {a}"));
            self.state.flash(
                Level::Info,
                format!(
                    "closed the tunnel{at} → {} via {}",
                    row.destination(),
                    row.host
                ),
            );
        }
        self.tunnel_tab_status();
    }

    /// `r`: a live tunnel gets a new session in place (same local port); a failed or closed one
    /// starts again, on the port it had when it had one.
    fn restart_tunnel(&mut self) {
        let Some(row) = self.state.tunnels.selected_row().cloned() else {
            self.state.flash(Level::Warn, "no tunnel selected");
            return;
        };
        let Some(link) = self.services.tunnels.links.get_mut(&row.id) else {
            return;
        };
        match &link.tunnel {
            Some(t) if !row.state.is_over() => {
                t.restart();
                self.state.flash(
                    Level::Info,
                    format!(
                        "restarting the tunnel to {} via {}",
                        row.destination(),
                        row.host
                    ),
                );
            }
            _ => {
                if let Some(addr) = row.local_addr {
                    link.spec.local_port = addr.port();
                }
                link.tunnel = None;
                if let (Some(tx), Some(c)) = (self.services.tx.clone(), link.clients.clone()) {
                    spawn_tunnel(tx, c, link.spec.clone(), row.id);
                }
                let now = self.state.now;
                if let Some(r) = self.state.tunnels.row_mut(row.id) {
                    r.state = TunnelState::Starting;
                    r.opened = now;
                }
                self.tunnel_tab_status();
            }
        }
    }

    pub(super) fn tunnels_movement(&mut self, action: &Action) {
        let t = &mut self.state.tunnels;
        match action {
            Action::MoveDown | Action::PageDown | Action::HalfPageDown => t.move_by(1),
            Action::MoveUp | Action::PageUp | Action::HalfPageUp => t.move_by(-1),
            Action::MoveTop => t.selected = 0,
            Action::MoveBottom => t.move_by(isize::MAX),
            _ => {}
        }
    }

    /// The launch's notice, once, after the first inventory read's own message.
    pub(super) fn show_notice(&mut self) {
        let Some(notice) = self.state.notice.take() else {
            return;
        };
        let text = match &self.state.message {
            Some(m) if m.level == Level::Info => format!("{} · {notice}", m.text),
            Some(_) => {
                // A problem is more urgent: keep the notice for the next read.
                self.state.notice = Some(notice);
                return;
            }
            None => notice,
        };
        self.state.flash(Level::Info, text);
    }

    /// On the frame tick: copies each running tunnel's live counters; true if any changed.
    pub fn tick_tunnels(&mut self) -> bool {
        let mut changed = false;
        for row in &mut self.state.tunnels.rows {
            let Some(t) = self
                .services
                .tunnels
                .links
                .get(&row.id)
                .and_then(|l| l.tunnel.as_ref())
            else {
                continue;
            };
            let stats = t.stats();
            let counts = TunnelCounts::from(&stats);
            if counts != row.counts || stats.last_error != row.last_error {
                row.counts = counts;
                row.last_error = stats.last_error;
                changed = true;
            }
        }
        changed
    }
}
