//! `fleetdeck connect TARGET [--engine native|plugin]`: a shell session in the current terminal.
//! TARGET is an instance id, a Name, or a query that matches exactly one instance. The native
//! engine speaks the data channel itself (raw mode, SIGWINCH → Size, terminal restored on every
//! path); the plugin engine hands over to AWS's session-manager-plugin with the AWS CLI's argv
//! contract (ssm-protocol.md §1).

use std::io::{Read, Write};
use std::sync::Arc;

use bytes::Bytes;

use crate::aws::{self, CallStats, ClientOptions, clients::Clients};
use crate::channel::{SessionEvent, SessionState, ShellSession};
use crate::config::Config;
use crate::model::Instance;
use crate::search::{TargetMatch, resolve_target as resolve_instance};
use crate::terminal::raw::{RawMode, terminal_size};

use super::{Cli, CliResult, ConnectArgs, Engine, Failure, not_connected, problems, targets};

const PLUGIN: &str = "session-manager-plugin";

pub async fn run(cli: &Cli, args: &ConnectArgs) -> CliResult {
    let resolved = resolve_target(cli, &args.target).await?;
    let started = match args.engine {
        Engine::Native => native(&resolved.clients, &resolved.instance_id).await,
        Engine::Plugin => plugin(&resolved.clients, &resolved.instance_id).await,
    };
    match started {
        Err(Failure::Other(why)) => Err(not_connected::explain(&resolved, &args.target, why).await),
        other => other,
    }
}

/// TARGET resolved: the clients of its profile and region, its id, and its inventory entry
/// when the inventory was read to find it (an id given with one region skips that read).
pub(super) struct Resolved {
    pub clients: Clients,
    pub instance_id: String,
    pub instance: Option<Instance>,
}

/// TARGET (an id, a Name, or a query matching exactly one instance) resolved; shared by
/// `connect`, `tunnel` and `proxy`.
pub(super) async fn resolve_target(cli: &Cli, target: &str) -> Result<Resolved, Failure> {
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let stats = Arc::new(CallStats::default());
    let all = aws::clients::build_all(&targets, &options, stats).await;
    resolve(&all, target).await
}

fn looks_like_id(text: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    text.strip_prefix("i-").is_some_and(hex) || text.strip_prefix("mi-").is_some_and(hex)
}

async fn resolve(all: &[Clients], target: &str) -> Result<Resolved, Failure> {
    if all.len() == 1 && looks_like_id(target) {
        return Ok(Resolved {
            clients: all[0].clone(),
            instance_id: target.to_string(),
            instance: None,
        });
    }
    let inventory = aws::inventory::fetch(all).await;
    problems::report(&inventory.problems, inventory.instances.is_empty())?;
    let instances = &inventory.instances;
    let matched = resolve_instance(instances, target).map_err(|e| Failure::Usage(e.to_string()))?;
    let chosen = match matched {
        TargetMatch::One(n) => &instances[n],
        TargetMatch::None => {
            return Err(Failure::Other(format!(
                "no instance matches '{target}': check the id, Name or query with `fleetdeck list {target}`"
            )));
        }
        TargetMatch::Ambiguous(many) => {
            let names: Vec<String> = many
                .iter()
                .take(5)
                .map(|&n| {
                    let i = &instances[n];
                    format!("{} ({})", i.instance_id, i.name.as_deref().unwrap_or("-"))
                })
                .collect();
            return Err(Failure::Usage(format!(
                "'{target}' matches {} instances ({}{}); give an instance id or a narrower query",
                many.len(),
                names.join(", "),
                if many.len() > 5 { ", …" } else { "" }
            )));
        }
    };
    let clients = all
        .iter()
        .find(|c| c.target.region == chosen.region && c.target.profile_label() == chosen.profile)
        .or_else(|| all.iter().find(|c| c.target.region == chosen.region))
        .cloned()
        .ok_or_else(|| Failure::Other(format!("no client for {}", chosen.region)))?;
    Ok(Resolved {
        clients,
        instance_id: chosen.instance_id.clone(),
        instance: Some(chosen.clone()),
    })
}

async fn native(clients: &Clients, instance_id: &str) -> CliResult {
    let (handle, mut events) = ShellSession::start(clients, instance_id, terminal_size())
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    let raw = RawMode::enable();

    // stdin is read on a plain thread: a blocking read must not hold the runtime at exit.
    let input = handle.clone();
    let _ = std::thread::Builder::new()
        .name("connect-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => input.send_input(Bytes::copy_from_slice(&buf[..n])),
                }
            }
        });

    #[cfg(unix)]
    let mut winch =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok();
    let mut stdout = std::io::stdout();
    let reason = loop {
        #[cfg(unix)]
        let resized = async {
            match winch.as_mut() {
                Some(w) => w.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let resized = std::future::pending::<Option<()>>();
        tokio::select! {
            event = events.recv() => match event {
                Some(SessionEvent::Output(bytes)) => {
                    if stdout.write_all(&bytes).and_then(|()| stdout.flush()).is_err() {
                        handle.terminate();
                    }
                }
                Some(SessionEvent::State(SessionState::Closed { reason })) => break reason,
                Some(SessionEvent::State(_)) => {}
                None => break String::from("the session ended"),
            },
            _ = resized => handle.resize(terminal_size()),
        }
    };
    drop(raw);
    if handle.failed() {
        // The contract: status 1 and the reason on stderr (the terminal is already restored).
        println!();
        return Err(Failure::Other(reason));
    }
    println!("\n\n{reason}\n");
    Ok(())
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

async fn plugin(clients: &Clients, instance_id: &str) -> CliResult {
    let Some(binary) = find_on_path(PLUGIN) else {
        return Err(Failure::Other(format!(
            "{PLUGIN} is not installed (not found on PATH); install AWS's Session Manager plugin, \
             or use `--engine native` (the default), which needs nothing else"
        )));
    };
    let out = clients
        .ssm
        .start_session()
        .target(instance_id)
        .send()
        .await
        .map_err(|e| {
            aws::errors::AwsError::from_sdk(
                e,
                &clients.target,
                "ssm:StartSession",
                clients.endpoint_for("ssm"),
            )
        })?;
    let response = serde_json::json!({
        "SessionId": out.session_id(),
        "TokenValue": out.token_value(),
        "StreamUrl": out.stream_url(),
    })
    .to_string();
    let request = serde_json::json!({ "Target": instance_id }).to_string();
    let endpoint = clients.endpoint_for("ssm");
    let profile = clients.target.profile.clone().unwrap_or_default();
    // The CLI's contract: argv 1 response JSON (handed over in the env var of that name), 2
    // region, 3 "StartSession", 4 profile, 5 request JSON, 6 SSM endpoint.
    let mut command = std::process::Command::new(binary);
    command
        .arg("AWS_SSM_START_SESSION_RESPONSE")
        .arg(&clients.target.region)
        .arg("StartSession")
        .arg(profile)
        .arg(request)
        .arg(endpoint)
        .env("AWS_SSM_START_SESSION_RESPONSE", response);
    // Ctrl-C belongs to the remote shell while the plugin runs: catch it here so it does not
    // kill fleetdeck (the CLI ignores SIGINT the same way).
    let _ignore = tokio::spawn(async {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                break;
            }
        }
    });
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .map_err(|e| Failure::Other(e.to_string()))?
        .map_err(|e| Failure::Other(format!("cannot run {PLUGIN}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Other(format!("{PLUGIN} exited with {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recognised() {
        assert!(looks_like_id("i-0123456789abcdef0"));
        assert!(looks_like_id("mi-0123456789abcdef0"));
        assert!(!looks_like_id("web-1"));
        assert!(!looks_like_id("i-"));
    }
}
