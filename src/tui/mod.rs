//! The console: `fleetdeck` with no command, and `fleetdeck demo`. The only module that knows
//! ratatui and crossterm. Map: `app` (owner and event loop), `action` (every state change),
//! `keymap` + `keymap.toml` (keys as data), `theme` + `themes/*.toml`, `state` (what is shown),
//! `update` (how actions change state), `views` (pure drawing), `tasks` (background work),
//! `terminal` (raw mode, alternate screen, panic hook).

pub mod action;
pub mod app;
pub mod headless;
pub mod keydoc;
pub mod keymap;
mod run_tasks;
pub mod ssh;
pub mod state;
pub mod tasks;
pub mod terminal;
pub mod theme;
pub mod tunnel_tasks;
mod update;
pub mod views;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::aws::{CallStats, ClientOptions, Clients};
use crate::cache::Cache;
use crate::config::Config;

use app::{App, Services};
use keymap::Keymap;
use state::{AppState, FleetState, Level};
use tasks::InventoryWorker;
use theme::{DEFAULT_THEME, Theme};

/// What the console is started with. `fleetdeck` builds it from flags and config.toml;
/// `fleetdeck demo` from the embedded simulator's endpoint.
pub struct Launch {
    /// One set of clients per (profile, region) to show.
    pub clients: Vec<Clients>,
    /// How clients are built, for regions and profiles picked later with `:region`/`:profile`.
    pub options: ClientOptions,
    pub stats: Arc<CallStats>,
    pub config: Config,
    /// Where the last inventory is kept between runs; `None` keeps nothing on disk.
    pub cache: Option<Cache>,
    /// A word for the header, such as "demo".
    pub label: Option<String>,
    /// A first message for the message line (the demo says where its database is).
    pub notice: Option<String>,
}

/// Builds the app: keymap with the user's overrides, theme, empty fleet, task handles.
/// Problems with the keymap or theme are flashed, never fatal.
pub fn build_app(launch: Launch, worker: Option<InventoryWorker>) -> App {
    let Launch {
        clients,
        options,
        config,
        label,
        notice,
        ..
    } = launch;
    let mut problems: Vec<String> = Vec::new();
    let mut keymap = Keymap::builtin();
    let config_file = config
        .path
        .as_ref()
        .map_or_else(|| "config.toml".to_owned(), |p| p.display().to_string());
    problems.extend(
        keymap
            .apply(&config.keymap, &config_file, false)
            .into_iter()
            .map(|e| format!("{e} (binding skipped)")),
    );
    let theme_dir = config
        .path
        .as_ref()
        .and_then(|p| p.parent().map(|d| d.join("themes")))
        .or_else(|| {
            crate::config::default_path().and_then(|p| p.parent().map(|d| d.join("themes")))
        });
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme_name = config
        .theme
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_THEME.to_owned());
    let (theme, theme_problems) = Theme::load(
        &theme_name,
        theme_dir.as_deref(),
        &config.theme.roles,
        no_color,
    );
    problems.extend(theme_problems);

    let mut state = AppState::new(FleetState::new(Vec::new()), Utc::now());
    state.tag_columns = config.tui_tag_columns().to_vec();
    state.scope.label = label;
    state.theme_name = theme.name.clone();
    let targets: Vec<_> = clients.iter().map(|c| c.target.clone()).collect();
    let services = Services {
        worker,
        endpoint: options.endpoint_url.clone(),
        clients,
        start_targets: targets.clone(),
        targets,
        theme_dir,
        theme_overrides: config.theme.roles.clone(),
        no_color,
        tx: None,
        sessions: Default::default(),
        next_shell: 0,
        replays: Default::default(),
        next_replay: 0,
        export_dir: None,
        runs: tasks::RunLinks {
            policy: crate::run::GuardPolicy {
                threshold: config.run.confirm_threshold.unwrap_or(10),
                ..Default::default()
            },
            ..Default::default()
        },
        tunnels: Default::default(),
        ssh: ssh::SshSettings::new(
            &config.ssh,
            options.endpoint_url.clone(),
            options.static_credentials.clone(),
        ),
    };
    let mut app = App::new(state, keymap, theme, services);
    app.sync_scope();
    app.state.notice = notice;
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 {
            format!(" (and {} more)", problems.len() - 1)
        } else {
            String::new()
        };
        app.state.flash(Level::Warn, format!("{first}{more}"));
    }
    app
}

/// Runs the console until the user quits. The terminal is restored on every way out.
pub async fn run(launch: Launch) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let root = CancellationToken::new();
    let worker = InventoryWorker::new(
        tx.clone(),
        launch.options.clone(),
        launch.stats.clone(),
        launch.cache.clone(),
        root.clone(),
    );
    let mut app = build_app(launch, Some(worker));
    app.services.tx = Some(tx);
    app.start();

    let mut guard = terminal::enter().map_err(|e| {
        anyhow::anyhow!("cannot set up the terminal ({e}): the console needs an interactive terminal; use `fleetdeck list` in scripts")
    })?;
    let result = app.run(&mut guard.terminal, rx).await;
    // Every open session gets its TerminateSession before the process goes.
    let tunnels = app.services.tunnels.close_all();
    if app.end_sessions() + tunnels > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    root.cancel();
    drop(guard);
    // Runs sent just before quitting still get their audit line (with the terminal back).
    app.wait_for_audits().await;
    result
}
