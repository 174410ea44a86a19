//! The Tunnels tab and the open-tunnel form. Tunnels run as tasks the app owns
//! (`tui::tunnel_tasks`); this holds what they reported and what the frame tick copied from
//! their live counters, so views stay pure.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};

use crate::tunnel::{TunnelState, TunnelStats};

/// Common destinations, selectable by key in the form (Alt-1 … Alt-5, or Up/Down).
pub const PRESETS: [(&str, u16); 5] = [
    ("ssh", 22),
    ("mysql", 3306),
    ("postgres", 5432),
    ("redis", 6379),
    ("https", 443),
];

/// Counters copied from the tunnel on the frame tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TunnelCounts {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub open: u64,
    pub total: u64,
    pub connect_errors: u64,
    pub restarts: u64,
}

impl From<&TunnelStats> for TunnelCounts {
    fn from(s: &TunnelStats) -> Self {
        TunnelCounts {
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            open: s.connections_open,
            total: s.connections_total,
            connect_errors: s.connect_errors,
            restarts: s.restarts,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRow {
    pub id: u64,
    /// The host's Name, else its instance id.
    pub host: String,
    pub instance_id: String,
    pub remote_host: Option<String>,
    pub remote_port: u16,
    /// The port asked for (0: any free one).
    pub local_port: u16,
    /// Where it listens, once bound.
    pub local_addr: Option<SocketAddr>,
    pub state: TunnelState,
    pub counts: TunnelCounts,
    pub last_error: Option<String>,
    /// When the tunnel (or its last restart from a failed state) was opened.
    pub opened: DateTime<Utc>,
}

impl TunnelRow {
    /// `db.internal:5432`, or `localhost:22` for the instance itself.
    pub fn destination(&self) -> String {
        format!(
            "{}:{}",
            self.remote_host.as_deref().unwrap_or("localhost"),
            self.remote_port
        )
    }

    /// The state as the table shows it.
    pub fn state_label(&self) -> String {
        match &self.state {
            TunnelState::Starting => "starting".into(),
            TunnelState::Listening => "listening".into(),
            TunnelState::Reconnecting { attempt, .. } if *attempt > 1 => {
                format!("reconnecting ({attempt})")
            }
            TunnelState::Reconnecting { .. } => "reconnecting".into(),
            TunnelState::Failed { .. } => "failed".into(),
            TunnelState::Closed => "closed".into(),
        }
    }

    /// What went wrong last: the failure, the reason of a reconnect, or the tunnel's own error.
    pub fn problem(&self) -> Option<&str> {
        match &self.state {
            TunnelState::Failed { why } | TunnelState::Reconnecting { why, .. } => Some(why),
            _ => self.last_error.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TunnelsState {
    pub rows: Vec<TunnelRow>,
    pub selected: usize,
}

impl TunnelsState {
    pub fn selected_row(&self) -> Option<&TunnelRow> {
        self.rows.get(self.selected)
    }

    pub fn row_mut(&mut self, id: u64) -> Option<&mut TunnelRow> {
        self.rows.iter_mut().find(|r| r.id == id)
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    pub fn remove(&mut self, id: u64) -> Option<TunnelRow> {
        let i = self.rows.iter().position(|r| r.id == id)?;
        let row = self.rows.remove(i);
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Some(row)
    }

    /// Tunnels starting or reconnecting (the tab shows a spinner).
    pub fn busy(&self) -> bool {
        self.rows.iter().any(|r| {
            matches!(
                r.state,
                TunnelState::Starting | TunnelState::Reconnecting { .. }
            )
        })
    }

    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.state, TunnelState::Failed { .. }))
            .count()
    }
}

/// The form's fields, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    RemotePort,
    RemoteHost,
    LocalPort,
}

impl FormField {
    pub const ALL: [FormField; 3] = [Self::RemotePort, Self::RemoteHost, Self::LocalPort];

    pub fn label(self) -> &'static str {
        match self {
            Self::RemotePort => "remote port",
            Self::RemoteHost => "remote host",
            Self::LocalPort => "local port",
        }
    }
}

/// What a valid form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRequest {
    pub local_port: u16,
    pub remote_port: u16,
    pub remote_host: Option<String>,
}

/// The open-tunnel overlay for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelForm {
    pub host: String,
    pub instance_id: String,
    pub profile: String,
    pub region: String,
    pub remote_port: String,
    pub remote_host: String,
    /// Empty or 0: a free port.
    pub local_port: String,
    pub focus: FormField,
    pub error: Option<String>,
}

impl TunnelForm {
    pub fn new(host: String, instance_id: String, profile: String, region: String) -> TunnelForm {
        TunnelForm {
            host,
            instance_id,
            profile,
            region,
            remote_port: String::new(),
            remote_host: String::new(),
            local_port: "0".into(),
            focus: FormField::RemotePort,
            error: None,
        }
    }

    pub fn field(&self, f: FormField) -> &str {
        match f {
            FormField::RemotePort => &self.remote_port,
            FormField::RemoteHost => &self.remote_host,
            FormField::LocalPort => &self.local_port,
        }
    }

    pub fn focused(&self) -> &str {
        self.field(self.focus)
    }

    /// Sets the focused field (ports take digits only; anything else says so).
    pub fn set_focused(&mut self, value: String) {
        let port = self.focus != FormField::RemoteHost;
        if port && !value.chars().all(|c| c.is_ascii_digit()) {
            self.error = Some(format!("the {} is a number", self.focus.label()));
            return;
        }
        self.error = None;
        match self.focus {
            FormField::RemotePort => self.remote_port = value,
            FormField::RemoteHost => self.remote_host = value,
            FormField::LocalPort => self.local_port = value,
        }
    }

    pub fn next_field(&mut self, forward: bool) {
        let all = FormField::ALL;
        let i = all.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = all.len();
        self.focus = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// Preset `index` (0-based) as the remote port.
    pub fn preset(&mut self, index: usize) {
        if let Some((_, port)) = PRESETS.get(index) {
            self.remote_port = port.to_string();
            self.error = None;
        }
    }

    /// The next (or previous) preset after the current remote port.
    pub fn cycle_preset(&mut self, forward: bool) {
        let n = PRESETS.len();
        let now = PRESETS
            .iter()
            .position(|(_, p)| p.to_string() == self.remote_port);
        let next = match (now, forward) {
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
            (None, true) => 0,
            (None, false) => n - 1,
        };
        self.preset(next);
    }

    /// The preset whose port is in the remote port field, if any.
    pub fn preset_name(&self) -> Option<&'static str> {
        PRESETS
            .iter()
            .find(|(_, p)| p.to_string() == self.remote_port)
            .map(|(n, _)| *n)
    }

    pub fn validate(&self) -> Result<TunnelRequest, String> {
        let remote_port = match self.remote_port.trim() {
            "" => return Err("type a remote port, or pick a preset (Alt-1 … Alt-5)".into()),
            p => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("remote port '{p}' is not a port: use 1–65535")),
            },
        };
        let local_port = match self.local_port.trim() {
            "" => 0,
            p => p.parse::<u16>().map_err(|_| {
                format!("local port '{p}' is not a port: use 0–65535 (0 picks a free one)")
            })?,
        };
        let host = self.remote_host.trim();
        let remote_host = if host.is_empty() {
            None
        } else if host.len() > 253
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        {
            return Err(format!(
                "remote host '{host}' is not a host name or address"
            ));
        } else {
            Some(host.to_owned())
        };
        Ok(TunnelRequest {
            local_port,
            remote_port,
            remote_host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> TunnelForm {
        TunnelForm::new(
            "web-1".into(),
            "i-1".into(),
            "default".into(),
            "us-east-1".into(),
        )
    }

    #[test]
    fn validation_says_what_is_wrong() {
        let mut f = form();
        assert!(f.validate().unwrap_err().contains("type a remote port"));
        f.remote_port = "70000".into();
        assert!(f.validate().unwrap_err().contains("'70000' is not a port"));
        f.remote_port = "0".into();
        assert!(f.validate().unwrap_err().contains("'0' is not a port"));
        f.remote_port = "5432".into();
        f.remote_host = "db host".into();
        assert!(f.validate().unwrap_err().contains("not a host name"));
        f.remote_host = "db.internal".into();
        f.local_port = String::new();
        assert_eq!(
            f.validate(),
            Ok(TunnelRequest {
                local_port: 0,
                remote_port: 5432,
                remote_host: Some("db.internal".into())
            })
        );
    }

    #[test]
    fn ports_take_digits_and_presets_cycle() {
        let mut f = form();
        f.set_focused("2x".into());
        assert_eq!(f.remote_port, "");
        assert!(f.error.as_deref().unwrap_or("").contains("is a number"));
        f.set_focused("22".into());
        assert_eq!((f.remote_port.as_str(), f.error.as_ref()), ("22", None));
        f.cycle_preset(true);
        assert_eq!(f.preset_name(), Some("mysql"));
        f.cycle_preset(false);
        f.cycle_preset(false);
        assert_eq!(f.preset_name(), Some("https"));
        f.preset(2);
        assert_eq!(f.remote_port, "5432");
        f.next_field(true);
        f.set_focused("db.internal".into());
        assert_eq!(f.remote_host, "db.internal");
        f.next_field(true);
        assert_eq!(f.focus, FormField::LocalPort);
        f.next_field(true);
        assert_eq!(f.focus, FormField::RemotePort);
    }
}
